"""Integer and bool tensors against torch: exact int64 values (no trip through
double), the operand dtypes torch refuses, bitwise ops, and the nodes that ops
without a derivative record."""

from __future__ import annotations

import ember
import numpy as np
import pytest
import torch
from conftest import both, compare, outcome

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
