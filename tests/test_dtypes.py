"""Integer and bool tensors against torch: exact int64 values (no trip through
double), the operand dtypes torch refuses, bitwise ops, and the nodes that ops
without a derivative record."""

from __future__ import annotations

import ember
import numpy as np
import pytest
import torch
from conftest import assert_same, both, compare, outcome

BIG = 2**62 + 1  # not representable in float64


# ----------------------------------------------------------------- int64 stays exact

EXACT_INT64 = {
    "tensor_tolist": lambda lib: lib.tensor([BIG, -BIG, 2**63 - 1, -(2**63)]),
    "tensor_0d": lambda lib: lib.tensor(BIG),
    "nested_tensors": lambda lib: lib.tensor([lib.tensor(BIG), lib.tensor(3)]),
    "full": lambda lib: lib.full((2,), BIG),
    "full_like": lambda lib: lib.full_like(lib.zeros(2, dtype=lib.int64), BIG),
    "fill_": lambda lib: lib.zeros(3, dtype=lib.int64).fill_(BIG),
    "fill_tensor": lambda lib: lib.zeros(3, dtype=lib.int64).fill_(lib.tensor(BIG)),
    "add_scalar": lambda lib: lib.tensor([2**62]) + 1,
    "radd_scalar": lambda lib: 1 + lib.tensor([2**62]),
    "sub_scalar": lambda lib: lib.tensor([BIG]) - 2**62,
    "mul_scalar": lambda lib: lib.tensor([2**31 + 1]) * (2**31 + 3),
    "add_alpha": lambda lib: lib.add(lib.tensor([1]), 2**60 + 1, alpha=3),
    "iadd_scalar": lambda lib: lib.tensor([2**62]).add_(1),
    "isub_scalar": lambda lib: lib.tensor([BIG]).sub_(2**62),
    "eq_scalar": lambda lib: lib.tensor([2**53 + 1]) == 2**53,
    "gt_scalar": lambda lib: lib.tensor([2**53 + 1]) > 2**53,
    "clamp_min": lambda lib: lib.tensor([BIG]).clamp(min=BIG + 1),
    "max": lambda lib: lib.tensor([BIG, 2**62]).max(),
    "min": lambda lib: lib.tensor([BIG, BIG + 2]).min(),
    "sum_wraps": lambda lib: lib.tensor([BIG, 2**62]).sum(),
    "arange_big": lambda lib: lib.arange(2**62, 2**62 + 3),
    "arange_big_step": lambda lib: lib.arange(BIG, BIG + 10, 3),
    "arange_negative_step": lambda lib: lib.arange(10, -3, -4),
    "floordiv_scalar": lambda lib: lib.tensor([BIG]) // 7,
    "mod_scalar": lambda lib: lib.tensor([BIG]) % 1000,
    "index_big_tensor": lambda lib: lib.arange(10)[lib.tensor([9, -1])],
}


@pytest.mark.parametrize("name", sorted(EXACT_INT64))
def test_int64_values_exact(name):
    compare(EXACT_INT64[name])


def test_item_int_and_index_exact():
    t = ember.tensor(BIG)
    assert t.item() == BIG and int(t) == BIG and t.__index__() == BIG
    assert ember.tensor([BIG]).tolist() == [BIG]
    assert ember.tensor([[BIG, 1]])[0, 0].item() == BIG


# ----------------------------------------------------------------- numbers that do not fit

NOT_FITTING = {
    "tensor_nan": lambda lib: lib.tensor([float("nan")], dtype=lib.int64),
    "tensor_inf": lambda lib: lib.tensor([1.0, float("inf")], dtype=lib.int64),
    "full_nan": lambda lib: lib.full((2,), float("nan"), dtype=lib.int64),
    "full_huge": lambda lib: lib.full((2,), 1e30, dtype=lib.int64),
    "fill_nan": lambda lib: lib.zeros(2, dtype=lib.int64).fill_(float("nan")),
    "fill_inf": lambda lib: lib.zeros(2, dtype=lib.int64).fill_(float("-inf")),
    "fill_below_min": lambda lib: lib.zeros(2, dtype=lib.int64).fill_(-(2.0**63) * 1.5),
    "fill_min_fits": lambda lib: lib.zeros(2, dtype=lib.int64).fill_(-(2.0**63)),
    "tensor_truncates": lambda lib: lib.tensor([1.9, -1.9], dtype=lib.int64),
    "tensor_too_big_int": lambda lib: lib.tensor([2**63]),
    "int_of_nan": lambda lib: int(lib.tensor(float("nan"))),
    "int_of_inf": lambda lib: int(lib.tensor(float("inf"))),
}


@pytest.mark.parametrize("name", sorted(NOT_FITTING))
def test_numbers_that_do_not_fit(name):
    compare(NOT_FITTING[name])


def test_float_2_63_into_int64_raises():
    # torch 2.13 lets 2.0**63 through its range check (int64's max rounds up
    # to it in double) and stores INT64_MIN; Ember raises instead.
    _, err = outcome(lambda lib: lib.zeros(2, dtype=lib.int64).fill_(2.0**63), ember)
    assert isinstance(err, RuntimeError)


def test_nan_into_int64_message():
    _, err = outcome(lambda lib: lib.zeros(2, dtype=lib.int64).fill_(float("nan")), ember)
    assert "cannot be converted to type int64_t without overflow" in str(err)


# ----------------------------------------------------------------- bool and int refusals

B = [True, False, True]
I = [5, -3, 0]  # noqa: E741


def _iop(op):
    def run(x, y):
        return op(x, y) or x

    return run


def isub(x, y):
    x -= y
    return x


def iadd(x, y):
    x += y
    return x


REFUSED = {
    "bool_sub_bool": lambda lib: lib.tensor(B) - lib.tensor(B),
    "bool_sub_int": lambda lib: lib.tensor(B) - 1,
    "int_rsub_bool": lambda lib: 1 - lib.tensor(B),
    "float_sub_bool": lambda lib: lib.tensor([1.0]) - True,
    "float_sub_bool_tensor": lambda lib: lib.ones(3) - lib.tensor(B),
    "bool_isub": lambda lib: isub(lib.tensor(B), lib.tensor(B)),
    "bool_isub_scalar": lambda lib: isub(lib.tensor(B), True),
    "bool_iadd_int": lambda lib: iadd(lib.tensor(B), 1),
    "bool_iadd_bool": lambda lib: iadd(lib.tensor(B), lib.tensor(B)),
    "bool_neg": lambda lib: -lib.tensor(B),
    "bool_floordiv": lambda lib: lib.tensor(B) // lib.tensor(B),
    "bool_floordiv_true": lambda lib: lib.tensor(B) // True,
    "bool_floordiv_int": lambda lib: lib.tensor(B) // 2,
    "bool_mod": lambda lib: lib.tensor(B) % lib.tensor(B),
    "bool_mod_int": lambda lib: lib.tensor(B) % 2,
    "bool_pow_bool": lambda lib: lib.tensor(B) ** lib.tensor(B),
    "bool_pow_int": lambda lib: lib.tensor(B) ** 2,
    "bool_abs": lambda lib: lib.tensor(B).abs(),
    "bool_relu": lambda lib: lib.tensor(B).relu(),
    "bool_sign": lambda lib: lib.tensor(B).sign(),
    "bool_floor": lambda lib: lib.tensor(B).floor(),
    "bool_round": lambda lib: lib.tensor(B).round(),
    "bool_square": lambda lib: lib.tensor(B).square(),
    "bool_exp": lambda lib: lib.tensor(B).exp(),
    "bool_argmax": lambda lib: lib.tensor(B).argmax(),
    "bool_argmin_dim": lambda lib: lib.tensor([B]).argmin(1),
    "int_pow_negative": lambda lib: lib.tensor(I) ** -1,
    "int_pow_negative_fn": lambda lib: lib.pow(lib.tensor(I), -2),
    "int_0d_pow_negative": lambda lib: lib.tensor(2) ** -1,
    "int_pow_negative_tensor": lambda lib: lib.tensor([2, 1, -1]) ** lib.tensor([-1, -2, -3]),
    "int_pow_negative_float": lambda lib: lib.tensor(I) ** -1.0,
    "scalar_pow_int_negative": lambda lib: 2 ** lib.tensor([-1, 2]),
    "int_var": lambda lib: lib.tensor(I).var(),
    "int_norm": lambda lib: lib.tensor(I).norm(),
    "int_mean": lambda lib: lib.tensor(I).mean(),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_operands_match_torch(name):
    compare(REFUSED[name])


@pytest.mark.parametrize(
    "name", ["bool_sub_bool", "bool_sub_int", "bool_floordiv", "bool_abs", "int_pow_negative"]
)
def test_refusal_messages_match_torch(name):
    _, e_err = outcome(REFUSED[name], ember)
    _, t_err = outcome(REFUSED[name], torch)
    assert str(e_err) == str(t_err).splitlines()[0]


# ----------------------------------------------------------------- bitwise and logical ops


def _ints(lib):
    return lib.tensor([5, -3, 0, 2**62 + 7]), lib.tensor([3, 6, -1, 2**40])


def ishift(x):
    x <<= 3
    x >>= 1
    x &= 0xFF
    x |= 0x100
    x ^= 1
    return x


BITWISE = {
    "and": lambda lib: _ints(lib)[0] & _ints(lib)[1],
    "or": lambda lib: _ints(lib)[0] | _ints(lib)[1],
    "xor": lambda lib: _ints(lib)[0] ^ _ints(lib)[1],
    "and_scalar": lambda lib: _ints(lib)[0] & 6,
    "rand_scalar": lambda lib: 6 & _ints(lib)[0],
    "or_bool_scalar": lambda lib: lib.tensor(B) | False,
    "xor_bools": lambda lib: lib.tensor(B) ^ lib.tensor([True, True, False]),
    "and_int_bool": lambda lib: lib.tensor(I) & lib.tensor(B),
    "shift_left": lambda lib: _ints(lib)[0] << 2,
    "shift_right": lambda lib: _ints(lib)[0] >> 1,
    "shift_past_width": lambda lib: lib.tensor([1, -2, 3]) << 64,
    "shift_right_past_width": lambda lib: lib.tensor([1, -2, 3]) >> 64,
    "shift_negative": lambda lib: lib.tensor([1, -2, 3]) << -1,
    "shift_right_negative": lambda lib: lib.tensor([1, -2, 3]) >> -1,
    "shift_by_tensor": lambda lib: lib.tensor([1, 2, 3]) << lib.tensor([0, 1, 62]),
    "invert_int": lambda lib: ~_ints(lib)[0],
    "invert_bool": lambda lib: ~lib.tensor(B),
    "inplace_chain": lambda lib: ishift(lib.tensor(I)),
    "inplace_float_into_int": lambda lib: _iop(lambda x, y: x.__iand__(y))(lib.tensor(I), 1.5),
    "inplace_int_into_bool": lambda lib: _iop(lambda x, y: x.__iand__(y))(lib.tensor(B), 2),
    "float_and": lambda lib: lib.tensor([1.0]) & 1,
    "float_shift": lambda lib: lib.tensor([1.0]) << 1,
    "float_invert": lambda lib: ~lib.tensor([1.0]),
    "fn_and": lambda lib: lib.bitwise_and(lib.tensor(I), 3),
    "fn_or": lambda lib: lib.bitwise_or(lib.tensor(I), lib.tensor(I)),
    "fn_xor": lambda lib: lib.tensor(I).bitwise_xor(7),
    "fn_not": lambda lib: lib.bitwise_not(lib.tensor(I)),
    "fn_left_shift": lambda lib: lib.bitwise_left_shift(lib.tensor(I), 1),
    "logical_and": lambda lib: lib.logical_and(lib.tensor([0.0, 1.5, float("nan")]), lib.tensor(I)),
    "logical_or": lambda lib: lib.tensor(I).logical_or(lib.tensor(B)),
    "logical_xor": lambda lib: lib.logical_xor(lib.tensor(B), lib.tensor([0.0, 0.0, 2.0])),
}


@pytest.mark.parametrize("name", sorted(BITWISE))
def test_bitwise_matches_torch(name):
    compare(BITWISE[name])


# ----------------------------------------------------------------- bool as an index


BOOL_INDEX = {
    "true": lambda lib: lib.tensor([1.0, 2.0])[True],
    "false": lambda lib: lib.tensor([1.0, 2.0])[False],
    "0d_true": lambda lib: lib.tensor(3.0)[True],
    "true_none": lambda lib: lib.tensor(3.0)[True, None],
    "none_true": lambda lib: lib.ones(2, 3)[None, True],
    "with_slice": lambda lib: lib.arange(6).reshape(2, 3)[True, :, 1],
    "tensor_true": lambda lib: lib.tensor([1.0, 2.0])[lib.tensor(True)],
    "tensor_false": lambda lib: lib.tensor([1.0, 2.0])[lib.tensor(False)],
}


@pytest.mark.parametrize("name", sorted(BOOL_INDEX))
def test_python_bool_index(name):
    compare(BOOL_INDEX[name])


def test_bool_index_gradient():
    def grad(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x[True]
        (y * lib.tensor([[3.0, 4.0]])).sum().backward()
        return type(y.grad_fn).__name__, x.grad.tolist()

    assert grad(ember) == grad(torch)


# ----------------------------------------------------------------- ops without a derivative


def test_floor_divide_records_not_implemented():
    def run(lib):
        x = lib.tensor([1.5, -2.5], requires_grad=True)
        names = [
            type(y.grad_fn).__name__
            for y in (x // 2, 2 // x, x // x, lib.floor_divide(x, 3), 3 % x)
        ]
        y = x // 2
        _, err = outcome(lambda _: y.sum().backward(), lib)
        _, err2 = outcome(lambda _: (3 % x).sum().backward(), lib)
        return names, y.requires_grad, y.is_leaf, str(err), str(err2), y.grad_fn.name()

    assert run(ember) == run(torch)


def test_floor_divide_integer_or_detached_has_no_node():
    def run(lib):
        x = lib.tensor([1.5, -2.5], requires_grad=True)
        with lib.no_grad():
            a = x // 2
        return a.grad_fn, (x.detach() // 2).requires_grad, (lib.tensor([3]) // 2).grad_fn

    assert run(ember) == run(torch)


def test_remainder_node_names_and_gradients():
    def run(lib):
        x = lib.tensor([1.5, -2.5, 7.0], requires_grad=True)
        y = lib.tensor([2.0, 2.0, -3.0], requires_grad=True)
        a, b, c = x % 2.0, x % y, lib.remainder(x, 2)
        (a + b + c).sum().backward()
        names = [type(t.grad_fn).__name__ for t in (a, b, c)]
        return names, x.grad.tolist(), y.grad.tolist()

    assert run(ember) == run(torch)


def test_inplace_sub_records_sub_backward():
    def run(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        x = a.clone()
        x -= w
        y = a.clone()
        y -= 1
        z = a.clone()
        z.sub_(w, alpha=2)
        (x + y + z).sum().backward()
        names = [type(t.grad_fn).__name__ for t in (x, y, z)]
        return names, a.grad.tolist(), w.grad.tolist()

    assert run(ember) == run(torch)


@pytest.fixture
def default_float64():
    for lib in (ember, torch):
        lib.set_default_dtype(lib.float64)
    yield
    for lib in (ember, torch):
        lib.set_default_dtype(lib.float32)


DEFAULT_DTYPE_CASES = {
    "tensor_of_floats": lambda L: L.tensor([1.5, 2.0]),
    "empty_tensor": lambda L: L.tensor([]),
    "factories": lambda L: L.stack([L.zeros(2), L.ones(2), L.full((2,), 0.5), L.eye(2)[0]]),
    "arange_and_linspace": lambda L: L.cat([L.arange(0.0, 1.0, 0.5), L.linspace(0, 1, 3)]),
    "integer_true_division": lambda L: L.tensor([1, 2]) / 2,
    "integer_times_float": lambda L: L.tensor([1]) * 1.5,
    "integer_sqrt": lambda L: L.tensor([4]).sqrt(),
    "legacy_constructor": lambda L: L.Tensor([1, 2]),
    "explicit_float32_kept": lambda L: L.ones(2, dtype=L.float32),
    "linear_parameters": lambda L: L.nn.Linear(2, 2).weight.detach() * 0,
}


@pytest.mark.parametrize("name", sorted(DEFAULT_DTYPE_CASES))
def test_set_default_dtype_float64_matches_torch(name, default_float64):
    compare(DEFAULT_DTYPE_CASES[name])


def test_training_under_float64_default_matches_torch(default_float64):
    def run(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
        opt = lib.optim.Adam(model.parameters(), lr=0.1)
        x, y = lib.randn(8, 3), lib.tensor([0, 1] * 4)
        losses = []
        for _ in range(5):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, repr(model[0].weight.dtype).split(".")[-1]

    (el, ed), (tl, td) = both(run)
    assert ed == td == "float64"
    np.testing.assert_allclose(el, tl, rtol=1e-12)


def test_default_dtype_refuses_integers():
    for lib in (ember, torch):
        with pytest.raises(TypeError):
            lib.set_default_dtype(lib.int64)


# ----------------------------------------------------------------- narrow integer and half dtypes

NARROW = ["uint8", "int8", "int16", "int32", "float16", "bfloat16"]
ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64"]
ALL_DTYPES += ["float16", "bfloat16", "float32", "float64"]


def sample(lib, name, shape=(3, 4), seed=0):
    """Values every dtype holds exactly: small integers, or floats for the float types."""
    rng = np.random.default_rng(seed)
    if name == "uint8":
        values = rng.integers(0, 9, size=shape)
    elif name.startswith("int"):
        values = rng.integers(-5, 9, size=shape)
    else:
        values = rng.normal(size=shape) * 3
    return lib.tensor(values.tolist(), dtype=getattr(lib, name))


def _floats_only(fn):
    return lambda L, x: fn(L, x) if x.is_floating_point() else x


F = _floats_only
# One entry per op family a narrow dtype goes through (Note [Compute dtypes]):
# pointwise, reductions, products, movement, indexing, conversion, creation.
NARROW_OPS = {
    "add": lambda L, x: x + x,
    "sub_scalar": lambda L, x: x - 1,
    "mul": lambda L, x: x * x,
    "true_div": lambda L, x: x / 2,
    "floor_div": lambda L, x: x // 2,
    "remainder": lambda L, x: x % 3,
    "pow": lambda L, x: x**2,
    "abs": lambda L, x: x.abs(),
    "exp": lambda L, x: x.exp(),
    "sqrt": lambda L, x: x.abs().sqrt(),
    "sigmoid": lambda L, x: x.sigmoid(),
    "tanh": lambda L, x: L.tanh(x),
    "relu": lambda L, x: L.relu(x),
    "sign": lambda L, x: x.sign(),
    "round": lambda L, x: x.round(),
    "clamp": lambda L, x: x.clamp(0, 3),
    "minimum": lambda L, x: L.minimum(x, x.flip(0)),
    "sum": lambda L, x: x.sum(),
    "sum_dim": lambda L, x: x.sum(0),
    "mean_float": lambda L, x: x.mean(dtype=L.float32),
    "mean": F(lambda L, x: x.mean()),
    "prod": lambda L, x: x.prod(1),
    "max": lambda L, x: x.max(),
    "max_dim": lambda L, x: tuple(x.max(1)),
    "amax": lambda L, x: x.amax(0),
    "argmax": lambda L, x: x.argmax(1),
    "cumsum": lambda L, x: x.cumsum(1),
    "cumprod": lambda L, x: x.cumprod(0),
    "var": F(lambda L, x: x.var()),
    "norm": F(lambda L, x: x.norm()),
    "eq_scalar": lambda L, x: x == 2,
    "lt": lambda L, x: x < x.flip(0),
    "gt_wrapped_scalar": lambda L, x: x > -100,
    "add_wrapped_0d": lambda L, x: x + L.tensor(-100),
    "where": lambda L, x: L.where(x > 1, x, L.zeros_like(x)),
    "masked_fill": lambda L, x: x.masked_fill(x > 1, 0),
    "any": lambda L, x: x.any(),
    "all": lambda L, x: (x > 0).all(),
    "all_of_input": lambda L, x: x.all(),
    "bitwise_and": lambda L, x: x & 3 if not x.is_floating_point() else x,
    "shift": lambda L, x: x << 1 if not x.is_floating_point() else x,
    "matmul": lambda L, x: x @ x.T,
    "bmm": lambda L, x: L.bmm(x[None], x.t()[None]),
    "mv": lambda L, x: L.mv(x, x[0]),
    "dot": lambda L, x: L.dot(x[0], x[1]),
    "linear": lambda L, x: L.nn.functional.linear(x, x),
    "softmax": F(lambda L, x: x.softmax(1)),
    "log_softmax": F(lambda L, x: x.log_softmax(0)),
    "logsumexp": F(lambda L, x: x.logsumexp(1)),
    "layer_norm": F(lambda L, x: L.nn.functional.layer_norm(x, (4,))),
    "cross_entropy": F(lambda L, x: L.nn.functional.cross_entropy(x, L.tensor([0, 1, 2]))),
    "gelu": F(lambda L, x: L.nn.functional.gelu(x)),
    "conv1d": F(lambda L, x: L.nn.functional.conv1d(x[None], x[:2, :, None])),
    "cat": lambda L, x: L.cat([x, x], 1),
    "stack": lambda L, x: L.stack([x, x]),
    "transpose_contiguous": lambda L, x: x.t().contiguous(),
    "flip": lambda L, x: x.flip(1),
    "roll": lambda L, x: x.roll(1, 0),
    "tril": lambda L, x: x.tril(),
    "pad": lambda L, x: L.nn.functional.pad(x, (1, 1)),
    "index_tensor": lambda L, x: x[L.tensor([0, 2])],
    "index_int32": lambda L, x: x[L.tensor([0, 2], dtype=L.int32)],
    "index_mask": lambda L, x: x[x > 1],
    "index_select": lambda L, x: x.index_select(1, L.tensor([3, 0])),
    "gather": lambda L, x: x.gather(1, L.tensor([[0], [1], [2]])),
    "scatter_add": lambda L, x: L.zeros_like(x).scatter_add(1, L.tensor([[0, 1, 2, 3]] * 3), x),
    "setitem": lambda L, x: (lambda y: (y.__setitem__((0, 1), 5), y)[1])(x.clone()),
    "setitem_mask": lambda L, x: (lambda y: (y.__setitem__(y > 1, 0), y)[1])(x.clone()),
    "fill_": lambda L, x: x.clone().fill_(2),
    "add_": lambda L, x: x.clone().add_(1),
    "mul_tensor_": lambda L, x: x.clone().mul_(x),
    "sort": lambda L, x: tuple(x.sort(1)),
    "topk_values": lambda L, x: x.topk(2).values,  # tie order is unspecified
    "unique": lambda L, x: L.unique(x),
    "median": lambda L, x: x.median(),
    "nonzero": lambda L, x: x.nonzero(),
    "embedding_indices": lambda L, x: (
        L.nn.functional.embedding(x.abs().long() % 4, L.eye(4))
        if x.is_floating_point()
        else L.nn.functional.embedding(x.abs() % 4, L.eye(4))
    ),
    "to_float": lambda L, x: x.float(),
    "to_float64": lambda L, x: x.to(L.float64),
    "to_long": lambda L, x: x.long(),
    "to_bool": lambda L, x: x.bool(),
    "view_as_bytes_shape": lambda L, x: L.tensor(x.view(L.uint8).shape),
    "zeros_like": lambda L, x: L.zeros_like(x),
    "full": lambda L, x: L.full((2,), 7, dtype=x.dtype),
    "arange": lambda L, x: L.arange(5, dtype=x.dtype),
    "ones": lambda L, x: L.ones(2, 2, dtype=x.dtype),
    "eye": lambda L, x: L.eye(3, dtype=x.dtype),
    "randint": lambda L, x: (L.manual_seed(0), L.randint(0, 5, (4,), dtype=x.dtype))[1],
    "dropout_eval": lambda L, x: L.nn.functional.dropout(x, 0.5, training=False),
    "fmod": lambda L, x: L.fmod(x, 3),
    "cummax": lambda L, x: tuple(x.cummax(1)),
    "kthvalue": lambda L, x: x.kthvalue(2, 1).values,
    "take": lambda L, x: x.take(L.tensor([0, 5, 11])),
    "rot90": lambda L, x: x.rot90(),
    "index_fill": lambda L, x: x.index_fill(0, L.tensor([1]), 2),
    "scatter_reduce_sum": lambda L, x: x.scatter_reduce(0, L.tensor([[0, 1, 0, 1]] * 3), x, "sum"),
    "unfold": lambda L, x: x.unfold(1, 2, 1),
    "logcumsumexp": F(lambda L, x: x.logcumsumexp(1)),
    "lgamma": F(lambda L, x: x.abs().lgamma()),
}


@pytest.mark.parametrize("name", NARROW)
@pytest.mark.parametrize("op", sorted(NARROW_OPS))
def test_narrow_dtype_ops_match_torch(op, name):
    compare(lambda L: NARROW_OPS[op](L, sample(L, name)))


@pytest.mark.parametrize("name", NARROW)
def test_narrow_dtype_reprs_and_lists_match_torch(name):
    e, t = both(lambda L: sample(L, name))
    assert repr(e) == repr(t).replace("torch.", "ember.")
    assert e.tolist() == t.tolist()
    assert e[1, 2].item() == t[1, 2].item()
    assert type(e[1, 2].item()) is type(t[1, 2].item())


@pytest.mark.parametrize("a", ALL_DTYPES)
@pytest.mark.parametrize("b", ALL_DTYPES)
def test_promotion_of_every_pair_matches_torch(a, b):
    def results(L):
        x, y = L.ones(2, dtype=getattr(L, a)), L.ones(2, dtype=getattr(L, b))
        zero_d = L.ones((), dtype=getattr(L, b))
        return [str(r.dtype).split(".")[-1] for r in (x * y, x * zero_d, zero_d * x)]

    e, t = both(results)
    assert e == t


@pytest.mark.parametrize("name", ALL_DTYPES)
@pytest.mark.parametrize("number", [2, 2.5, True])
def test_promotion_with_python_numbers_matches_torch(name, number):
    e, t = both(lambda L: (L.ones(2, dtype=getattr(L, name)) * number).dtype)
    assert str(e).split(".")[-1] == str(t).split(".")[-1]


FILL_VALUES = [300, -1, -255, -300, 3e9, 1e6, 1e39, float("inf"), float("nan"), 2.7, -2.7]


@pytest.mark.parametrize("name", NARROW + ["float32"])
@pytest.mark.parametrize("value", FILL_VALUES, ids=repr)
def test_storing_a_number_checks_its_range_as_torch(name, value):
    compare(lambda L: L.zeros(2, dtype=getattr(L, name)).fill_(value))


@pytest.mark.parametrize("name", NARROW)
def test_conversion_methods_and_aliases(name):
    method = {"uint8": "byte", "int8": "char", "int16": "short", "int32": "int"}
    method.update({"float16": "half", "bfloat16": "bfloat16"})
    e, t = both(lambda L: getattr(L.tensor([1.5, -2.5, 300.0]), method[name])())
    assert e.dtype == getattr(ember, name)
    assert_same(e, t)
    assert (ember.int, ember.short, ember.half) == (ember.int32, ember.int16, ember.float16)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "float16"])
def test_numpy_arrays_keep_their_dtype_and_memory(name):
    array = np.arange(6, dtype=name).reshape(2, 3)
    shared = ember.from_numpy(array)
    assert shared.dtype == getattr(ember, name)
    shared[0, 0] = 5
    assert array[0, 0] == 5
    copied = ember.tensor(array)
    assert copied.dtype == getattr(ember, name) and copied.tolist() == array.tolist()
    assert shared.numpy().dtype == np.dtype(name)


def test_bfloat16_has_no_numpy_type_as_in_torch():
    e, t = both(lambda L: outcome(lambda _: L.ones(2, dtype=L.bfloat16).numpy(), L)[1])
    assert type(e) is type(t) is TypeError and str(e) == str(t)
    assert ember.tensor(np.ones(2), dtype=ember.bfloat16).dtype == ember.bfloat16


def test_float16_conversion_is_exact_for_every_bit_pattern():
    halves = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    got = ember.from_numpy(halves).float().numpy()
    np.testing.assert_array_equal(got.view(np.uint32), halves.astype(np.float32).view(np.uint32))


def test_float16_rounding_matches_numpy():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 1 << 32, size=200_000, dtype=np.uint64).astype(np.uint32)
    floats = bits.view(np.float32)
    floats = floats[~np.isnan(floats)]  # NaN payloads differ; NaN-ness is checked below
    ties = (np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32)).view(np.uint32)
    floats = np.concatenate([floats, (ties + (1 << 12)).view(np.float32)])  # halfway cases
    floats = floats[np.isfinite(floats) | np.isinf(floats)]
    got = ember.from_numpy(floats).half().numpy()
    np.testing.assert_array_equal(got.view(np.uint16), floats.astype(np.float16).view(np.uint16))
    assert ember.tensor([float("nan")]).half().isnan().item()


def test_bfloat16_rounding_matches_torch():
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 1 << 32, size=200_000, dtype=np.uint64).astype(np.uint32)
    floats = bits.view(np.float32)
    floats = floats[~np.isnan(floats)]
    ties = np.arange(0, 1 << 32, 1 << 16, dtype=np.uint64).astype(np.uint32) + (1 << 15)
    floats = np.concatenate([floats, ties.view(np.float32)[~np.isnan(ties.view(np.float32))]])
    got = ember.from_numpy(floats).bfloat16().view(ember.int16).numpy()
    want = torch.from_numpy(floats).bfloat16().view(torch.int16).numpy()
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", NARROW + ["float32", "float64", "bool"])
def test_finfo_and_iinfo_match_torch(name):
    def info(L):
        d = getattr(L, name)
        kind = L.finfo if d.is_floating_point else L.iinfo
        got = outcome(lambda _: kind(d), L)
        if got[1] is not None:
            return type(got[1]).__name__, str(got[1])
        i = got[0]
        fields = ("bits", "max", "min", "eps", "tiny", "resolution")
        return tuple(getattr(i, f, None) for f in fields), i.dtype

    assert info(ember) == info(torch)


def test_rng_state_is_a_uint8_tensor_that_restores():
    state = ember.get_rng_state()
    assert state.dtype == ember.uint8 and state.tolist() == torch.get_rng_state().tolist()
    first = ember.rand(3)
    ember.set_rng_state(state)
    assert ember.equal(ember.rand(3), first)


def test_uint8_index_is_a_mask_with_torch_warning():
    x = ember.arange(4)
    with pytest.warns(UserWarning, match="torch.uint8 is now deprecated"):
        picked = x[ember.tensor([1, 0, 1, 0], dtype=ember.uint8)]
    assert picked.tolist() == [0, 2]
    with pytest.raises(IndexError, match="long, int, byte or bool"):
        x[ember.tensor([1], dtype=ember.int16)]


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_half_training_step_matches_torch(name):
    def step(L):
        L.manual_seed(0)
        model = L.nn.Sequential(L.nn.Linear(8, 16), L.nn.GELU(), L.nn.LayerNorm(16))
        model = model.to(getattr(L, name))
        head = L.nn.Linear(16, 3).to(getattr(L, name))
        x = L.linspace(-2, 2, 40).reshape(5, 8).to(getattr(L, name))
        loss = L.nn.functional.cross_entropy(head(model(x)), L.tensor([0, 1, 2, 1, 0]))
        loss.backward()
        grads = [p.grad for p in list(model.parameters()) + list(head.parameters())]
        return [loss.detach()] + grads

    e, t = both(step)
    assert [str(g.dtype) for g in e] == [str(g.dtype).replace("torch", "ember") for g in t]
    for a, b in zip(e, t):
        np.testing.assert_allclose(
            a.float().numpy(),
            b.float().numpy(),
            rtol=0.05,
            atol=0.05 if name == "bfloat16" else 0.01,
        )


def test_half_gradients_reach_leaves_with_torch_nodes():
    e, t = both(lambda L: L.tensor([0.5, -1.0, 2.0], dtype=L.float16, requires_grad=True))
    ye, yt = (e * e).sigmoid().sum(), (t * t).sigmoid().sum()
    assert ye.grad_fn.name() == yt.grad_fn.name()
    ye.backward()
    yt.backward()
    assert e.grad.dtype == ember.float16
    assert_same(e.grad, t.grad)


def test_linspace_refuses_bool_as_torch():
    compare(lambda L: L.linspace(0, 1, 3, dtype=L.bool))
    e, t = both(lambda L: outcome(lambda _: L.linspace(0, 1, 3, dtype=L.bool), L)[1])
    assert str(e) == str(t)
