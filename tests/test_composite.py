"""Ops composed from other differentiable ops (python/ember/_composite.py),
against torch: values and gradients (node names differ: see docs/compatibility.md)."""

import numpy as np
import pytest
from conftest import both, capture, compare, ember, torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

X = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7 - 1

CALLS = {
    "masked_fill": lambda lib, x: x.masked_fill(x > 0, 0.5),
    "masked_fill_broadcast": lambda lib, x: lib.masked_fill(
        x, lib.tensor([True, False, False, True]), -1.0
    ),
    "masked_fill_tensor_value": lambda lib, x: x.masked_fill(x < 0, lib.tensor(2.0)),
    "repeat": lambda lib, x: x.repeat(2, 1, 3),
    "repeat_more_dims": lambda lib, x: x.repeat(2, 1, 1, 2),
    "split_int": lambda lib, x: lib.cat(x.split(3, dim=2)[::-1], 2),
    "split_sections": lambda lib, x: x.split([1, 2], 1)[1],
    "chunk": lambda lib, x: lib.chunk(x, 3, -1)[1],
    "unbind": lambda lib, x: lib.stack(x.unbind(1)[::-1], 0),
    "tril": lambda lib, x: x.tril(),
    "triu_offset": lambda lib, x: lib.triu(x, 1),
    "tril_negative": lambda lib, x: x.tril(-1),
    "flip": lambda lib, x: x.flip(2),
    "flip_dims": lambda lib, x: lib.flip(x, [0, -1]),
    # diagonal is a view op in the core; the rest are composed
    "diagonal": lambda lib, x: x.diagonal(),
    "diagonal_offset_dims": lambda lib, x: lib.diagonal(x, 1, 2, 0),
    "diagonal_negative": lambda lib, x: x.diagonal(-1, -1, -2),
    "diagonal_past_the_edge": lambda lib, x: x.diagonal(7),
    "diagonal_written_in_place": lambda lib, x: _write_diagonal(x),
    "trace": lambda lib, x: lib.trace(x[0]),
    "diag_of_matrix": lambda lib, x: lib.diag(x[1], 1),
    "diag_of_vector": lambda lib, x: lib.diag(x[0, 1], -2),
    "addcmul": lambda lib, x: lib.addcmul(x, x[0], x.exp(), value=0.5),
    "addcdiv": lambda lib, x: x.addcdiv(x.sin(), x * x + 1, value=-2),
    "nan_to_num": lambda lib, x: lib.nan_to_num(x.log(), nan=0.25, neginf=-7.0),
    "hypot": lambda lib, x: lib.hypot(x, x.flip(0) + 0.5),
    "logaddexp": lambda lib, x: lib.logaddexp(x, x * 3 - 1),
    "xlogy": lambda lib, x: lib.xlogy(x.relu(), x.abs() + 0.5),
    "logit": lambda lib, x: lib.logit(x.sigmoid()),
    "logit_eps": lambda lib, x: x.sigmoid().logit(eps=0.3),
    "exp2_frac_deg2rad": lambda lib, x: lib.exp2(x) + lib.frac(x * 3) + lib.deg2rad(x),
    "aliases": lambda lib, x: (
        lib.subtract(x, lib.multiply(x, 2), alpha=3)
        + lib.divide(x, 3)
        + lib.true_divide(x, 2)
        + lib.absolute(x)
        + lib.rsub(x, 1, alpha=2)
    ),
    "divide_floor": lambda lib, x: lib.divide(x * 5, 2, rounding_mode="floor") + x,
    "median_dim": lambda lib, x: x.median(1).values,
    "median_all": lambda lib, x: x.median(),
    "diff": lambda lib, x: lib.diff(x, n=2, dim=1),
    "diff_prepend": lambda lib, x: x.diff(prepend=x[..., :1] * 2, append=x[..., :2]),
    "index_add": lambda lib, x: x.index_add(2, lib.tensor([3, 0, 3]), x[..., :3] * 2, alpha=2),
    "take_along_dim": lambda lib, x: lib.take_along_dim(x, x.argsort(2), 2),
    "take_along_dim_flat": lambda lib, x: lib.take_along_dim(x, lib.tensor([5, 0, 23])),
    "baddbmm": lambda lib, x: lib.baddbmm(x[:, :, :3], x, x.transpose(1, 2)[:, :, :3] * 2),
    "hstack": lambda lib, x: lib.hstack([x[0], x[1]]),
    "vstack": lambda lib, x: lib.vstack((x[0, 0], x[1, 1])),
    "dstack": lambda lib, x: lib.dstack([x[0], x[1]]),
    "column_stack": lambda lib, x: lib.column_stack([x[0, 0], x[1].t()]),
    "meshgrid_xy": lambda lib, x: lib.stack(lib.meshgrid(x[0, 0], x[1, 0], indexing="xy")),
    "meshgrid_ij": lambda lib, x: sum(lib.meshgrid(x[0, 0], x[1, 0, :2], x[0, 1], indexing="ij")),
    "atleast_3d": lambda lib, x: lib.atleast_3d(x[0, 0]),
}


def _write_diagonal(x):
    y = x * 1
    y.diagonal(0, 1, 2).mul_(3)
    return y


@pytest.mark.parametrize("name", sorted(CALLS))
def test_composites_match_torch(name):
    def run(lib):
        x = lib.tensor(X, requires_grad=True)
        out = CALLS[name](lib, x)
        (out * out.detach() ** 2).sum().backward()
        return out.detach().numpy(), x.grad.numpy()

    (ev, eg), (tv, tg) = both(run)
    np.testing.assert_allclose(ev, tv, rtol=1e-12)
    np.testing.assert_allclose(eg, tg, rtol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: x.repeat(2),
        lambda lib, x: x.split([1, 1], 1),
        lambda lib, x: x.chunk(0),
        lambda lib, x: x.masked_fill(x.long(), 1.0),
        lambda lib, x: x.flip(5),
        lambda lib, x: lib.tril(x[0, 0]),
        lambda lib, x: x.diagonal(0, 1, 1),
        lambda lib, x: x.diagonal(0, 0, 3),
        lambda lib, x: lib.trace(x),
        lambda lib, x: lib.diag(x),
        lambda lib, x: lib.addcdiv(x.long(), x.long(), x.long()),
        lambda lib, x: lib.meshgrid(x[0, 0], x[0], indexing="ij"),
        lambda lib, x: lib.meshgrid(x[0, 0], indexing="yx"),
        lambda lib, x: x[:, :0].median(1),
        lambda lib, x: lib.bincount(x.long().flatten()),
        lambda lib, x: lib.isclose(x, x.float()),
    ],
)
def test_composite_errors_match_torch(call):
    err_e = capture(lambda lib: call(lib, lib.tensor(X)), ember)
    err_t = capture(lambda lib: call(lib, lib.tensor(X)), torch)
    assert err_t is not None and type(err_e) is type(err_t), (err_e, err_t)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.isclose(
            lib.tensor([1.0, float("inf"), float("nan"), -float("inf"), 1e-9]),
            lib.tensor([1.0 + 1e-7, float("inf"), float("nan"), float("inf"), 0.0]),
        ),
        lambda lib: lib.isclose(
            lib.tensor([float("nan"), 2.0]), lib.tensor([float("nan"), 2.1]), 0.1, equal_nan=True
        ),
        lambda lib: lib.isclose(lib.tensor([3, 4]), lib.tensor([3, 5])),
        lambda lib: lib.count_nonzero(lib.tensor([[0, 1.5], [2, 0]]), dim=0),
        lambda lib: lib.count_nonzero(lib.tensor([[0, 1.5], [2, 0]])),
        lambda lib: lib.unique(lib.tensor([3, 1, 2, 1]), return_inverse=True, return_counts=True),
        lambda lib: lib.unique(lib.tensor([[1, 2], [1, 2], [0, 5]]), dim=0),
        lambda lib: lib.unique(lib.tensor([2.5, -1.0, 2.5])),
        lambda lib: lib.bincount(lib.tensor([0, 1, 1, 4]), minlength=7),
        lambda lib: lib.bincount(lib.tensor([0, 1, 1, 3]), weights=lib.tensor([1.0, 2, 3, 4])),
        lambda lib: lib.argwhere(lib.tensor([[0, 1], [2, 0]])),
        lambda lib: lib.signbit(lib.tensor([-0.0, 0.0, -1.5, float("nan"), 3.0])),
        lambda lib: lib.nan_to_num(lib.tensor([float("nan"), float("inf"), -float("inf"), 1.0])),
        lambda lib: lib.nan_to_num(lib.tensor([1, 2])),
        lambda lib: lib.median(lib.tensor([[3.0, float("nan"), 2.0], [1.0, 2.0, 3.0]]), 1),
        lambda lib: lib.median(lib.tensor([3, 1, 2, 2]), 0),
        lambda lib: lib.median(lib.tensor([3.0, float("nan"), 2.0])),
        lambda lib: lib.median(lib.tensor([])),
        lambda lib: lib.trace(lib.arange(9).reshape(3, 3)),
        lambda lib: lib.diff(lib.tensor([True, False, False])),
        lambda lib: lib.logaddexp(
            lib.tensor([float("inf"), -float("inf")]), lib.tensor([float("inf"), -float("inf")])
        ),
        lambda lib: lib.xlogy(lib.tensor([0.0, 0.0, 2.0]), lib.tensor([float("nan"), 0.0, 3.0])),
        lambda lib: lib.xlogy(2, lib.tensor([3.0])),
    ],
)
def test_composites_without_gradients_match_torch(call):
    compare(call)


def _grad_case(fn, shape=(3, 4)):
    def run(lib):
        x = lib.arange(float(np.prod(shape)), dtype=lib.float64).reshape(shape) - 5.5
        x.requires_grad_()
        y = fn(lib, x)
        (y * lib.arange(float(y.numel()), dtype=y.dtype).reshape(y.shape)).sum().backward()
        return y.detach(), x.grad

    return run


SHAPE_AND_ALIAS_OPS = {
    "ravel": _grad_case(lambda L, x: x.t().ravel()),
    "swapdims": _grad_case(lambda L, x: L.swapdims(x, 0, 1)),
    "moveaxis": _grad_case(lambda L, x: L.moveaxis(x.reshape(3, 2, 2), 0, -1)),
    "fliplr": _grad_case(lambda L, x: L.fliplr(x)),
    "flipud": _grad_case(lambda L, x: x.flipud()),
    "fliplr_of_1d": lambda L: L.fliplr(L.ones(3)),
    "tile": _grad_case(lambda L, x: x.tile((2,))),
    "tile_more_dims": _grad_case(lambda L, x: L.tile(x, (2, 1, 3))),
    "repeat_interleave_int": _grad_case(lambda L, x: x.repeat_interleave(2, dim=1)),
    "repeat_interleave_flat": _grad_case(lambda L, x: L.repeat_interleave(x, 3)),
    "repeat_interleave_tensor": _grad_case(
        lambda L, x: x.repeat_interleave(L.tensor([1, 0, 2]), dim=0)
    ),
    "repeat_interleave_negative": lambda L: L.ones(2).repeat_interleave(-1),
    "inner": _grad_case(lambda L, x: L.inner(x, x[:2] * 2)),
    "inner_mismatch": lambda L: L.inner(L.ones(2, 3), L.ones(4)),
    "equal": lambda L: L.tensor([L.equal(L.ones(2), L.ones(2)), L.ones(2).equal(L.zeros(2))]),
    "equal_shapes_differ": lambda L: L.tensor(L.ones(2).equal(L.ones(3))),
    "is_floating_point": lambda L: L.tensor(
        [L.is_floating_point(L.ones(1)), L.is_floating_point(L.tensor([1]))]
    ),
    "hardshrink": _grad_case(lambda L, x: L.nn.functional.hardshrink(x / 4, 0.5)),
    "softshrink": _grad_case(lambda L, x: L.nn.Softshrink(1.0)(x / 4)),
    "shrinks_keep_nan": lambda L: L.stack(
        [
            L.nn.functional.hardshrink(L.tensor([float("nan"), float("inf")])),
            L.nn.functional.softshrink(L.tensor([float("nan"), -float("inf")])),
        ]
    ),
    "threshold": _grad_case(lambda L, x: L.nn.functional.threshold(x, 0.5, -2.0)),
    "threshold_module": _grad_case(lambda L, x: L.nn.Threshold(0.0, 7.0)(x)),
    "softmin": _grad_case(lambda L, x: L.nn.functional.softmin(x / 10, dim=1)),
    "softmin_module": _grad_case(lambda L, x: L.nn.Softmin(dim=0)(x / 10)),
    "rms_norm": _grad_case(lambda L, x: L.nn.functional.rms_norm(x, (4,))),
    "rms_norm_weight_eps": _grad_case(
        lambda L, x: L.nn.functional.rms_norm(x, [4], L.arange(4.0, dtype=L.float64), 1e-3)
    ),
    "rms_norm_module": _grad_case(lambda L, x: L.nn.RMSNorm([3, 4], dtype=L.float64)(x)),
    "unflatten_module": _grad_case(lambda L, x: L.nn.Unflatten(1, (2, 2))(x)),
}


@pytest.mark.parametrize("name", sorted(SHAPE_AND_ALIAS_OPS))
def test_shape_and_alias_ops_match_torch(name):
    compare(SHAPE_AND_ALIAS_OPS[name], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", ["amax", "amin"])
def test_amax_amin_exact_value_and_shared_gradient_like_torch(op):
    # Ties used to be summed and divided: 3e38 + 3e38 overflowed to inf, and
    # 1000 copies of a number came back rounded.
    sign = 1.0 if op == "amax" else -1.0
    rows = [[3e38, 3e38, 1.0], [2.0, float("nan"), 2.0], [3.8984077] * 3]

    def run(lib):
        x = lib.tensor([[sign * v for v in r] for r in rows], requires_grad=True)
        y = getattr(x, op)(1)
        y.backward(lib.tensor([1.0, 2.0, 3.0]))
        full = lib.full((1000,), 3.8984077)
        same = bool(getattr(full, op)(0) == (full.max() if op == "amax" else full.min()))
        return y.detach().numpy(), x.grad.numpy(), type(y.grad_fn).__name__, same

    e, t = run(ember), run(torch)
    np.testing.assert_array_equal(e[0], t[0])
    np.testing.assert_array_equal(e[1], t[1])
    assert e[2:] == t[2:] == (f"{op.capitalize()}Backward0", True)


def test_the_attention_masking_pattern_stays_finite_like_torch():
    """masked_fill with finfo(float32).min, minus the row max, exponentiated: a fully
    masked row gives equal weights, not NaN."""

    def run(lib):
        scores = lib.tensor(np.random.default_rng(0).normal(size=(4, 4)).astype(np.float32))
        mask = lib.ones(4, 4, dtype=lib.bool).triu(1)
        mask[2] = True  # a row with every position masked
        filled = scores.masked_fill(mask, lib.finfo(lib.float32).min)
        weights = (filled - filled.amax(-1, keepdim=True)).exp()
        return (weights / weights.sum(-1, keepdim=True)).numpy()

    e, t = run(ember), run(torch)
    np.testing.assert_allclose(e, t, rtol=1e-6)
    np.testing.assert_array_equal(e[2], np.full(4, 0.25, dtype=np.float32))


def test_amax_errors_name_the_empty_dim_and_the_modified_output_like_torch():
    def empty(L):
        return L.zeros(3, 0).amax((0, 1))

    e, t = capture(empty, ember), capture(empty, torch)
    assert type(e) is type(t) is IndexError and str(e) == str(t)

    def modified(L):
        a = L.tensor([[1.0, 3.0], [2.0, 0.0]], requires_grad=True)
        y = a.amax(1)
        y.add_(1)
        y.sum().backward()

    e, t = capture(modified, ember), capture(modified, torch)
    assert type(e) is type(t) is RuntimeError
    assert str(e).replace("ember.", "torch.").split(", which")[0] == str(t).split(", which")[0]


UNIQUE_VALUES = [0.0, -0.0, 1.0, 2.5, -3.0, 7.0, float("nan"), float("inf"), float("-inf")]
UNIQUE_DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "bool"]


@settings(max_examples=60, deadline=None)
@example(values=[0.0] * 7 + [float("nan")] * 2 + [0.0] * 8, dtype="float32", columns=1)
@given(
    values=st.lists(st.sampled_from(UNIQUE_VALUES), max_size=24),
    dtype=st.sampled_from(UNIQUE_DTYPES),
    columns=st.sampled_from([1, 2, 3]),
)
def test_unique_matches_torch(values, dtype, columns):
    # torch's order, NaN each its own value, -0.0 and 0.0 one value, inverse in
    # the input's shape; integer dtypes see the finite values only.
    if dtype not in ("float32", "float64", "float16", "bfloat16"):
        values = [abs(v) for v in values if np.isfinite(v)]
    values = values[: len(values) // columns * columns]
    array = np.array(values, dtype=np.float64).reshape(-1, columns)

    def make(lib):
        return lib.tensor(array, dtype=getattr(lib, dtype))

    compare(lambda lib: make(lib).unique(return_counts=True))
    compare(lambda lib: lib.unique(make(lib)))
    # Which of the NaN slots each NaN maps to is torch's sort's business (it
    # differs with the input's length): the NaNs must take those slots, the
    # other elements torch's indices.
    (e_values, e_inverse), (t_values, t_inverse) = (
        [t.double().numpy() for t in lib.unique(make(lib), return_inverse=True)]
        for lib in (ember, torch)
    )
    np.testing.assert_array_equal(e_values, t_values)
    is_nan = np.isnan(array)
    np.testing.assert_array_equal(e_inverse[~is_nan], t_inverse[~is_nan])
    np.testing.assert_array_equal(np.sort(e_inverse[is_nan]), np.sort(t_inverse[is_nan]))


def test_unique_records_torchs_node_without_a_derivative():
    for lib in (ember, torch):
        x = lib.tensor([3.0, 1.0, 3.0], requires_grad=True)
        values = lib.unique(x)
        assert type(values.grad_fn).__name__ == "Unique2Backward0"
        assert values.requires_grad
        with pytest.raises(
            NotImplementedError, match="derivative for '_unique2' is not implemented"
        ):
            values.sum().backward()
    compare(lambda lib: lib.unique(lib.tensor(5.0), return_inverse=True))


@pytest.mark.parametrize(
    "values,dim",
    [
        ([1, 1, 2, 2, 3, 1], None),
        ([[1, 1], [1, 1], [2, 3]], 0),
        ([[1, 1], [1, 1], [2, 3]], 1),
        ([[1, 1], [1, 1], [2, 3]], None),
        ([], None),
        ([2.5, float("nan"), float("nan")], None),
    ],
)
def test_unique_consecutive_matches_torch(values, dim):
    compare(
        lambda lib: lib.unique_consecutive(
            lib.tensor(values), return_inverse=True, return_counts=True, dim=dim
        )
    )
    compare(lambda lib: lib.tensor(values).unique_consecutive(dim=dim))


@pytest.mark.parametrize("p", [0.0, 1.0, 1.5, 2.0, 3.0, float("inf")])
def test_cdist_values_and_gradients_match_torch(p):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 4, 3)), rng.standard_normal((5, 3))

    def run(lib):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        out = lib.cdist(x, y, p=p)
        (
            out * lib.arange(float(out.numel()), dtype=lib.float64).reshape(out.shape)
        ).sum().backward()
        return out.detach(), x.grad, y.grad

    compare(run, rtol=1e-10)


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.cdist(L.ones(3), L.ones(3)),
        lambda L: L.cdist(L.ones(3, 4), L.ones(3, 3)),
        lambda L: L.cdist(L.ones(3, 4), L.ones(3, 4), p=-1),
    ],
)
def test_cdist_refuses_like_torch(call):
    assert str(capture(call, ember)) == str(capture(call, torch))


@pytest.mark.parametrize("bias_shape", [(5,), (1, 5), (3, 1), (3, 5), ()])
def test_addmm_records_torchs_node_and_gradients(bias_shape):
    rng = np.random.default_rng(len(bias_shape))
    arrays = [rng.standard_normal(s) for s in (bias_shape, (3, 4), (4, 5))]
    results = {}
    for lib in (ember, torch):
        inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = lib.addmm(*inputs)
        out.backward(lib.ones_like(out))
        results[lib] = (type(out.grad_fn).__name__, out, [t.grad for t in inputs])
    assert results[ember][0] == results[torch][0] == "AddmmBackward0"
    np.testing.assert_allclose(results[ember][1].detach().numpy(), results[torch][1].detach())
    for got, want in zip(results[ember][2], results[torch][2]):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
