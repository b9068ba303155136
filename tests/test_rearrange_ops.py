"""tril/triu, flip, roll, masked_fill, trace, lerp, addcmul/addcdiv and
logsumexp: one C++ node each, as torch records them. Values, gradients,
node names, errors and forward-mode tangents against torch."""

import math

import ember
import ember.autograd.forward_ad as efw
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

RNG = np.random.default_rng(7)
MASK = RNG.random((3, 4)) > 0.5

# name -> (fn(lib, *tensors), shapes of the float inputs, torch's node name)
CASES = {
    "tril": (lambda L, a: L.tril(a, 1), [(3, 4)], "TrilBackward0"),
    "tril_batched": (lambda L, a: a.tril(-1), [(2, 3, 5)], "TrilBackward0"),
    "triu": (lambda L, a: L.triu(a), [(4, 3)], "TriuBackward0"),
    "triu_far": (lambda L, a: a.triu(7), [(3, 4)], "TriuBackward0"),
    "flip": (lambda L, a: L.flip(a, (0, 2)), [(2, 3, 4)], "FlipBackward0"),
    "flip_method": (lambda L, a: a.flip(-1), [(3, 4)], "FlipBackward0"),
    "flip_strided": (lambda L, a: a.t().flip(0, 1), [(3, 4)], "FlipBackward0"),
    "roll_flat": (lambda L, a: L.roll(a, 5), [(3, 4)], "RollBackward0"),
    "roll_dims": (lambda L, a: L.roll(a, (1, -3), (0, 1)), [(3, 4)], "RollBackward0"),
    "roll_same_dim": (lambda L, a: a.roll((2, 3), (1, 1)), [(3, 4)], "RollBackward0"),
    "masked_fill": (
        lambda L, a: a.masked_fill(L.tensor(MASK), 1.5),
        [(3, 4)],
        "MaskedFillBackward0",
    ),
    "masked_fill_broadcast": (
        lambda L, a: L.masked_fill(a, L.tensor(MASK), -2),
        [(4,)],
        "MaskedFillBackward0",
    ),
    "masked_fill_tensor": (
        lambda L, a, v: a.masked_fill(L.tensor(MASK), v),
        [(3, 4), ()],
        "MaskedFillBackward1",
    ),
    "trace": (lambda L, a: L.trace(a), [(3, 4)], "TraceBackward0"),
    "lerp_scalar": (lambda L, a, b: L.lerp(a, b, 0.3), [(3, 4), (4,)], "LerpBackward0"),
    "lerp_scalar_high": (lambda L, a, b: a.lerp(b, 0.8), [(3, 4), (3, 4)], "LerpBackward0"),
    "lerp_tensor": (lambda L, a, b, w: L.lerp(a, b, w), [(3, 4)] * 3, "LerpBackward1"),
    "lerp_tensor_broadcast": (
        lambda L, a, b, w: L.lerp(a, b, w),
        [(3, 4), (4,), ()],
        "LerpBackward1",
    ),
    "addcmul": (lambda L, a, b, c: L.addcmul(a, b, c, value=0.5), [(3, 4)] * 3, "AddcmulBackward0"),
    "addcmul_broadcast": (
        lambda L, a, b, c: a.addcmul(b, c),
        [(3, 4), (4,), (3, 1)],
        "AddcmulBackward0",
    ),
    "addcdiv": (
        lambda L, a, b, c: L.addcdiv(a, b, c + 3, value=-2),
        [(3, 4)] * 3,
        "AddcdivBackward0",
    ),
    "addcdiv_broadcast": (
        lambda L, a, b, c: a.addcdiv(b, c + 3),
        [(4,), (3, 4), ()],
        "AddcdivBackward0",
    ),
    "logsumexp": (lambda L, a: L.logsumexp(a, 1), [(3, 4)], "LogsumexpBackward0"),
    "logsumexp_dims": (
        lambda L, a: a.logsumexp((0, 2), keepdim=True),
        [(2, 3, 4)],
        "LogsumexpBackward0",
    ),
    "logsumexp_strided": (lambda L, a: L.logsumexp(a.t(), 0), [(3, 4)], "LogsumexpBackward0"),
    "logsumexp_0d": (lambda L, a: L.logsumexp(a, -1), [()], "LogsumexpBackward0"),
    "sort": (lambda L, a: L.sort(a, 1).values, [(3, 4)], "SortBackward0"),
    "sort_descending": (lambda L, a: a.sort(0, descending=True)[0], [(3, 4)], "SortBackward0"),
    "msort": (lambda L, a: L.msort(a), [(3, 4)], "SortBackward0"),
    "topk": (lambda L, a: L.topk(a, 2).values, [(3, 4)], "TopkBackward0"),
    "topk_smallest": (lambda L, a: a.topk(2, 0, largest=False)[0], [(3, 4)], "TopkBackward0"),
    "median_all": (lambda L, a: L.median(a), [(3, 4)], "MedianBackward0"),
    "median_dim": (lambda L, a: a.median(1).values, [(3, 4)], "MedianBackward1"),
    "nanmedian_all": (lambda L, a: L.nanmedian(a), [(3, 5)], "NanmedianBackward0"),
    "nanmedian_dim": (lambda L, a: a.nanmedian(0, keepdim=True)[0], [(3, 4)], "NanmedianBackward1"),
}


def _inputs(shapes, dtype="float64"):
    arrays = [RNG.normal(size=s) for s in shapes]
    return arrays


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_grads_and_node_like_torch(name):
    fn, shapes, node = CASES[name]
    arrays = _inputs(shapes)
    for dtype in ("float32", "float64"):
        e_in = [ember.tensor(a, dtype=getattr(ember, dtype), requires_grad=True) for a in arrays]
        t_in = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
        e_out, t_out = fn(ember, *e_in), fn(torch, *t_in)
        assert type(e_out.grad_fn).__name__ == type(t_out.grad_fn).__name__ == node
        assert str(e_out.dtype) == str(t_out.dtype).replace("torch", "ember")
        tol = 1e-5 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(
            e_out.detach().numpy(), t_out.detach().numpy(), rtol=tol, atol=tol
        )
        g = RNG.normal(size=tuple(t_out.shape))
        e_out.backward(ember.tensor(g, dtype=e_out.dtype))
        t_out.backward(torch.tensor(g, dtype=t_out.dtype))
        for e, t in zip(e_in, t_in):
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_and_gradgradcheck(name):
    fn, shapes, _ = CASES[name]
    inputs = [ember.tensor(a, requires_grad=True) for a in _inputs(shapes)]
    assert ember.autograd.gradcheck(lambda *a: fn(ember, *a), inputs)
    assert ember.autograd.gradgradcheck(lambda *a: fn(ember, *a), inputs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_ad_against_finite_differences_and_torch(name):
    fn, shapes, _ = CASES[name]
    primals, tangents = _inputs(shapes), _inputs(shapes)
    with efw.dual_level():
        duals = [efw.make_dual(ember.tensor(p), ember.tensor(t)) for p, t in zip(primals, tangents)]
        e_tangent = efw.unpack_dual(fn(ember, *duals)).tangent.numpy()
    eps = 1e-6

    def at(step):
        return fn(ember, *[ember.tensor(p + step * t) for p, t in zip(primals, tangents)]).numpy()

    np.testing.assert_allclose(e_tangent, (at(eps) - at(-eps)) / (2 * eps), rtol=1e-5, atol=1e-6)
    t_tangent = torch.func.jvp(
        lambda *a: fn(torch, *a),
        tuple(torch.tensor(p) for p in primals),
        tuple(torch.tensor(t) for t in tangents),
    )[1]
    np.testing.assert_allclose(e_tangent, t_tangent.numpy(), rtol=1e-10, atol=1e-12)


def _same_outcome(fn):
    results = []
    for lib in (ember, torch):
        try:
            results.append(("ok", fn(lib)))
        except Exception as exc:  # noqa: BLE001 - comparing torch's exception with ours
            results.append((type(exc).__name__, str(exc)))
    (e_kind, e_val), (t_kind, t_val) = results
    assert e_kind == t_kind, (e_val, t_val)
    if e_kind == "ok":
        assert str(e_val.dtype).split(".")[-1] == str(t_val.dtype).split(".")[-1]
        np.testing.assert_allclose(e_val.double().numpy(), t_val.double().numpy(), equal_nan=True)
    else:
        assert e_val == t_val


ERRORS_AND_DTYPES = {
    "tril_1d": lambda L: L.tril(L.ones(3)),
    "triu_bool": lambda L: L.triu(L.ones(3, 3, dtype=L.bool)),
    "tril_int16": lambda L: L.ones(2, 3, dtype=L.int16).tril(),
    "flip_repeated": lambda L: L.flip(L.ones(3), (0, -1)),
    "flip_out_of_range": lambda L: L.flip(L.ones(3, 4), (5,)),
    "flip_0d": lambda L: L.flip(L.tensor(3.0), ()),
    "flip_uint8": lambda L: L.arange(6, dtype=L.uint8).reshape(2, 3).flip(1),
    "roll_misaligned": lambda L: L.roll(L.ones(3), (1, 2)),
    "roll_dims_misaligned": lambda L: L.roll(L.ones(3), (1, 2), (0,)),
    "roll_0d_dim": lambda L: L.roll(L.tensor(1.0), 1, -1),
    "roll_0d": lambda L: L.roll(L.tensor(3.0), 1),
    "roll_empty": lambda L: L.roll(L.ones(0, 3), 2, 0),
    "roll_half": lambda L: L.arange(6.0).half().roll(-2),
    "masked_fill_int_mask": lambda L: L.ones(3).masked_fill(L.ones(3, dtype=L.int64), 1.0),
    "masked_fill_value_dims": lambda L: L.ones(3).masked_fill(L.ones(3, dtype=L.bool), L.ones(1)),
    "masked_fill_int": lambda L: L.masked_fill(
        L.ones(3, dtype=L.int64), L.tensor([True, False, True]), 2.7
    ),
    "masked_fill_bool": lambda L: L.zeros(3, dtype=L.bool).masked_fill(
        L.tensor([True, False, True]), True
    ),
    "masked_fill_inplace_grows": lambda L: L.ones(3).masked_fill_(L.ones(2, 3, dtype=L.bool), 1.0),
    "trace_vector": lambda L: L.trace(L.ones(3)),
    "trace_bool": lambda L: L.trace(L.ones(2, 2, dtype=L.bool)),
    "trace_int32": lambda L: L.trace(L.ones(3, 3, dtype=L.int32)),
    "trace_half": lambda L: L.trace(L.ones(3, 3, dtype=L.float16)),
    "lerp_end_dtype": lambda L: L.lerp(L.ones(3), L.ones(3, dtype=L.float64), 0.5),
    "lerp_weight_dtype": lambda L: L.lerp(L.ones(3), L.ones(3), L.ones(3, dtype=L.float64)),
    "lerp_int": lambda L: L.lerp(L.ones(3, dtype=L.int64), L.ones(3, dtype=L.int64), 0.5),
    "lerp_int_tensor": lambda L: L.lerp(*[L.ones(3, dtype=L.int64)] * 3),
    "lerp_inf": lambda L: L.lerp(L.tensor([-math.inf, 1.0]), L.tensor([2.0, math.inf]), 0.7),
    "addcmul_bool": lambda L: L.addcmul(*[L.ones(2, dtype=L.bool)] * 3),
    "addcmul_int_value": lambda L: L.addcmul(*[L.full((2,), 3)] * 3, value=0.5),
    "addcmul_promotes": lambda L: L.addcmul(
        L.ones(2), L.ones(2, dtype=L.float64), L.ones(2, dtype=L.int64)
    ),
    "addcdiv_int": lambda L: L.addcdiv(*[L.ones(2, dtype=L.int64)] * 3),
    "addcmul_zero_dim_promotion": lambda L: L.addcmul(
        L.tensor(3, dtype=L.uint8), L.ones(2, dtype=L.int8), L.tensor(2.0, dtype=L.float64)
    ),
    "addcdiv_half_rounds_once": lambda L: L.addcdiv(
        L.full((3,), 1.1).half(), L.full((3,), 2.3).bfloat16(), L.full((3,), 0.7).bfloat16()
    ),
    "lerp_half_rounds_once": lambda L: L.lerp(
        L.tensor([1.1, -3.3]).half(), L.tensor([2.9, 0.4]).half(), L.tensor([0.3, 0.8]).half()
    ),
    "addcdiv_int_self": lambda L: L.addcdiv(L.ones(2, dtype=L.int64), L.ones(2), L.full((2,), 4.0)),
    "logsumexp_int": lambda L: L.logsumexp(L.arange(4), 0),
    "logsumexp_bool": lambda L: L.logsumexp(L.ones(3, dtype=L.bool), 0),
    "logsumexp_half": lambda L: L.logsumexp(L.arange(6.0).half().reshape(2, 3), 1),
    "logsumexp_infinities": lambda L: L.logsumexp(
        L.tensor([[math.inf, 1.0], [-math.inf, -math.inf], [math.nan, 1.0], [1e30, 1e30]]), 1
    ),
    "logsumexp_empty": lambda L: L.logsumexp(L.ones(2, 0), 1),
    "logsumexp_repeated_dim": lambda L: L.logsumexp(L.ones(2, 3), (1, 1)),
    "sort_bool": lambda L: L.sort(L.tensor([True, False, True]))[1],
    "sort_half_nan": lambda L: L.tensor([2.0, math.nan, 1.0]).half().sort(descending=True)[0],
    "argsort_ties": lambda L: L.argsort(L.tensor([3, 1, 3, 1, 2]), descending=True),
    "topk_out_of_range": lambda L: L.topk(L.ones(3), 4),
    "topk_bool": lambda L: L.topk(L.ones(3, dtype=L.bool), 1),
    "topk_ties": lambda L: L.topk(L.tensor([1, 3, 3, 2, 3, 1, 1, 2]), 4)[1],
    "topk_0d": lambda L: L.topk(L.tensor(5.0), 1)[0],
    "median_bool": lambda L: L.median(L.ones(3, dtype=L.bool)),
    "median_dim_bool": lambda L: L.median(L.ones(3, dtype=L.bool), 0)[0],
    "median_empty_dim": lambda L: L.median(L.ones(2, 0), 1),
    "median_empty": lambda L: L.median(L.ones(0)),
    "median_nan_index": lambda L: L.median(L.tensor([3.0, math.nan, 1.0, math.nan]), 0)[1],
    "nanmedian_index": lambda L: L.nanmedian(L.tensor([3.0, math.nan, 1.0, math.nan, 2, 1]), 0)[1],
    "nanmedian_all_nan": lambda L: L.nanmedian(L.tensor([math.nan, math.nan]), 0)[1],
    "median_int8": lambda L: L.median(L.tensor([[3, 1, 2, 2]], dtype=L.int8), 1)[1],
}


@pytest.mark.parametrize("name", sorted(ERRORS_AND_DTYPES))
def test_errors_and_dtypes_like_torch(name):
    _same_outcome(ERRORS_AND_DTYPES[name])


INPLACE = {
    "tril_": (lambda t: t.tril_(1), "TrilBackward0"),
    "triu_": (lambda t: t.triu_(), "TriuBackward0"),
    "masked_fill_": (lambda t: t.masked_fill_(t > 0, 0.5), "MaskedFillBackward0"),
    "lerp_": (lambda t: t.lerp_(t.detach() * 2, 0.25), "LerpBackward0"),
    "addcmul_": (lambda t: t.addcmul_(t.detach() + 1, t.detach(), value=2), "AddcmulBackward0"),
    "addcdiv_": (lambda t: t.addcdiv_(t.detach(), t.detach() ** 2 + 1), "AddcdivBackward0"),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_forms_record_the_node(name):
    fn, node = INPLACE[name]
    x = RNG.normal(size=(3, 3))
    outs = []
    for lib in (ember, torch):
        leaf = lib.tensor(x, requires_grad=True)
        y = leaf.clone()
        fn(y)
        assert type(y.grad_fn).__name__ == node
        y.sum().backward()
        outs.append((y.detach().numpy(), leaf.grad.numpy()))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-12)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        fn(ember.tensor(x, requires_grad=True))


def test_second_backward_raises_and_saved_input_checked():
    x = ember.tensor(RNG.normal(size=(3, 4)), requires_grad=True)
    y = ember.logsumexp(x * 1, 1).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    a = x * 1
    out = ember.addcmul(x, a, x)
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_large_tensors_match_torch():
    x = RNG.normal(size=(257, 300)).astype(np.float32) * 30
    w = RNG.random((257, 300)).astype(np.float32)
    m = w > 0.5
    for fn in (
        lambda L, a, b: L.tril(a, 3),
        lambda L, a, b: a.flip(1),
        lambda L, a, b: a.roll((7, -5), (0, 1)),
        lambda L, a, b: a.masked_fill(L.tensor(m), 2.0),
        lambda L, a, b: L.lerp(a, b, b),
        lambda L, a, b: L.addcdiv(a, a, b + 1, value=0.3),
        lambda L, a, b: L.logsumexp(a, 1),
        lambda L, a, b: L.logsumexp(a, 0),
    ):
        e = fn(ember, ember.tensor(x), ember.tensor(w)).numpy()
        t = fn(torch, torch.tensor(x), torch.tensor(w)).numpy()
        np.testing.assert_allclose(e, t, rtol=2e-6, atol=1e-5)


def _tie_heavy_values(rng, n, dtype):
    """Values with many ties, both zeros, infinities and NaNs of both signs."""
    if dtype == "bool":
        return rng.integers(0, 2, n).astype(bool)
    if dtype == "int64":
        return rng.integers(-5, 5, n) * rng.choice([1, 1 << 40], n)
    pool = np.array([0.0, -0.0, 1.5, -1.5, np.inf, -np.inf, np.nan, -np.nan, 1e-40, -3.0])
    values = np.where(rng.random(n) < 0.5, rng.choice(pool, n), rng.standard_normal(n))
    return values.astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("n", [0, 1, 2, 47, 48, 49, 256, 5000])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_is_stable_and_orders_like_torch(dtype, n, descending):
    # Rows up to 48 sort by insertion, longer ones by radix (Note [Radix sort]).
    rng = np.random.default_rng(n)
    values = np.stack([_tie_heavy_values(rng, n, dtype) for _ in range(3)])
    got = ember.sort(ember.tensor(values), dim=1, descending=descending, stable=True)
    want = torch.sort(torch.tensor(values), dim=1, descending=descending, stable=True)
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    length=st.integers(1, 300),
    k=st.integers(1, 20),
    kind=st.sampled_from(["normal", "ties", "nan"]),
    largest=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_topk_small_k_values_and_indices_like_torch(length, k, kind, largest, seed):
    # Small k on ties-free rows takes a one-pass selection; rows with ties or
    # NaNs take torch's own algorithm, so the indices match torch's in both.
    rng = np.random.default_rng(seed)
    k = min(k, length)
    x = rng.standard_normal((3, length)).astype(np.float32)
    if kind == "ties":
        x = rng.integers(0, 8, (3, length)).astype(np.float32)
    elif kind == "nan":
        x[rng.random(x.shape) < 0.1] = np.nan
    got = ember.topk(ember.tensor(x), k, -1, largest=largest)
    want = torch.topk(torch.tensor(x), k, -1, largest=largest)
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
