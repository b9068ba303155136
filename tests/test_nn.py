"""ember.nn / ember.nn.functional / ember.optim against PyTorch.

Losses and activations: values, grad_fn names and gradients for the same
numpy inputs. Modules: weights are copied from a torch module, forward and
backward must match. Optimizers: a few steps on copied weights must track
torch's parameters.
"""

from __future__ import annotations

import math
import warnings

import ember  # noqa: E402
import ember.nn.functional as EF  # noqa: E402
import numpy as np
import pytest
import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402
from conftest import (
    LAYOUTS,
    assert_close,
    assert_grad_fn_name,
    assert_grads_close,
    assert_grads_match,
    backward_both,
    capture,
    compare,
    make_pair,
    rand_array,
    to_ember,
)
from hypothesis import given, settings
from hypothesis import strategies as st

FLOATS = ["float32", "float64"]
REDUCTIONS = ["mean", "sum", "none"]


def F_of(L):
    return TF if L is torch else EF


def nn_of(L):
    return torch.nn if L is torch else ember.nn


def const(L, arr):
    """A tensor that does not require grad (targets, weights, class indices)."""
    if arr is None:
        return None
    return torch.tensor(arr) if L is torch else to_ember(arr)


def check(
    fn, arrays, layouts=None, *, consts=(), rtol=None, atol=None, grad=True, name=True, seed=0
):
    """fn(L, *inputs, *consts) for L in (torch, ember): compare outputs, names, grads."""
    layouts = layouts or ["contiguous"] * len(arrays)
    pairs = [make_pair(a, lay) for a, lay in zip(arrays, layouts)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out = fn(torch, *[p.t for p in pairs], *[const(torch, c) for c in consts])
        e_out = fn(ember, *[p.e for p in pairs], *[const(ember, c) for c in consts])
    assert_close(e_out, t_out, rtol, atol)
    if name:
        assert_grad_fn_name(e_out, t_out)
    if grad and t_out.requires_grad:
        backward_both(e_out, t_out, np.random.default_rng(seed))
        assert_grads_close(pairs, rtol, atol)
    return e_out, t_out, pairs


# ==========================================================================
# binary_cross_entropy_with_logits
# ==========================================================================


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5,), (4, 3), (2, 3, 4), (), (0, 3)], ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("use_pos_weight", [False, True])
def test_bce_with_logits(reduction, shape, dtype, use_weight, use_pos_weight):
    rng = np.random.default_rng(0)
    x = rand_array(rng, shape, dtype, -4, 4)
    y = rng.random(size=shape).astype(dtype)  # soft targets in [0, 1]
    last = shape[-1] if shape else 1
    w = (
        rng.uniform(0.2, 2.0, size=shape[-1:] if shape else ()).astype(dtype)
        if use_weight
        else None
    )
    pw = (
        rng.uniform(0.2, 3.0, size=(last,) if shape else ()).astype(dtype)
        if use_pos_weight
        else None
    )

    def fn(L, inp, tgt, weight, pos_weight):
        return F_of(L).binary_cross_entropy_with_logits(
            inp, tgt, weight=weight, reduction=reduction, pos_weight=pos_weight
        )

    check(fn, [x], consts=(y, w, pw))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_bce_with_logits_grad_wrt_target_and_noncontiguous(layout):
    rng = np.random.default_rng(1)
    x = rand_array(rng, (4, 3), "float64", -3, 3)
    y = rng.random(size=(4, 3))
    check(lambda L, a, b: F_of(L).binary_cross_entropy_with_logits(a, b), [x, y], [layout, layout])


def test_bce_with_logits_extreme_logits_stable():
    x = np.array([-100.0, -30.0, 0.0, 30.0, 100.0], np.float32)
    y = np.array([1.0, 0.0, 0.5, 1.0, 0.0], np.float32)
    check(
        lambda L, a, t: F_of(L).binary_cross_entropy_with_logits(a, t, reduction="none"),
        [x],
        consts=(y,),
    )
    pw = np.array([2.0, 2.0, 2.0, 2.0, 2.0], np.float32)
    check(
        lambda L, a, t, p: F_of(L).binary_cross_entropy_with_logits(
            a, t, pos_weight=p, reduction="sum"
        ),
        [x],
        consts=(y, pw),
    )


def test_bce_with_logits_broadcast_weight_2d():
    rng = np.random.default_rng(2)
    x = rand_array(rng, (4, 3), "float32")
    y = (rng.random(size=(4, 3)) < 0.5).astype(np.float32)
    w = rng.uniform(0.5, 2, size=(4, 1)).astype(np.float32)
    check(
        lambda L, a, t, ww: F_of(L).binary_cross_entropy_with_logits(a, t, ww), [x], consts=(y, w)
    )


def test_bce_with_logits_shape_mismatch_raises():
    with pytest.raises(ValueError):
        TF.binary_cross_entropy_with_logits(torch.zeros(3), torch.zeros(4))
    with pytest.raises((ValueError, RuntimeError)):
        EF.binary_cross_entropy_with_logits(ember.zeros(3), ember.zeros(4))


def test_bce_with_logits_module():
    rng = np.random.default_rng(3)
    x = rand_array(rng, (6, 2), "float32")
    y = (rng.random(size=(6, 2)) < 0.5).astype(np.float32)
    pw = np.array([1.5, 0.5], np.float32)
    for red in REDUCTIONS:
        check(
            lambda L, a, t, p: nn_of(L).BCEWithLogitsLoss(reduction=red, pos_weight=p)(a, t),
            [x],
            consts=(y, pw),
        )


# ==========================================================================
# binary_cross_entropy
# ==========================================================================


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5,), (4, 3), (), (0,)], ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("use_weight", [False, True])
def test_bce(reduction, shape, dtype, use_weight):
    rng = np.random.default_rng(4)
    p = rng.uniform(0.05, 0.95, size=shape).astype(dtype)
    y = rng.random(size=shape).astype(dtype)
    w = rng.uniform(0.5, 2, size=shape).astype(dtype) if use_weight else None
    check(
        lambda L, a, t, ww: F_of(L).binary_cross_entropy(a, t, weight=ww, reduction=reduction),
        [p],
        consts=(y, w),
    )


def test_bce_saturated_probabilities_clamped_log():
    # torch clamps log(p) at -100, so p = 0 or 1 gives finite loss
    p = np.array([0.0, 1.0, 0.5, 1e-12], np.float32)
    y = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    check(
        lambda L, a, t: F_of(L).binary_cross_entropy(a, t, reduction="none"),
        [p],
        consts=(y,),
        grad=False,
    )
    check(lambda L, a, t: F_of(L).binary_cross_entropy(a, t), [p], consts=(y,), grad=False)


def test_bce_via_sigmoid_composite():
    rng = np.random.default_rng(5)
    x = rand_array(rng, (8,), "float64")
    y = (rng.random(size=(8,)) < 0.5).astype(np.float64)
    check(lambda L, a, t: F_of(L).binary_cross_entropy(L.sigmoid(a), t), [x], consts=(y,))


def test_bce_out_of_range_raises():
    with pytest.raises(RuntimeError):
        TF.binary_cross_entropy(torch.tensor([1.5]), torch.tensor([1.0]))
    with pytest.raises(Exception):
        EF.binary_cross_entropy(ember.tensor([1.5]), ember.tensor([1.0]))


# ==========================================================================
# mse_loss
# ==========================================================================


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5,), (4, 3), (2, 3, 4), (), (0, 2)], ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_mse_loss(reduction, shape, dtype, layout):
    rng = np.random.default_rng(6)
    x = rand_array(rng, shape, dtype)
    y = rand_array(rng, shape, dtype)
    # gradient w.r.t. both input and target
    check(lambda L, a, b: F_of(L).mse_loss(a, b, reduction=reduction), [x, y], [layout, layout])


@pytest.mark.parametrize(
    "shapes",
    [((3, 4), (3, 1)), ((3,), (3, 1)), ((4, 1), (4,)), ((3, 4), (4,)), ((3, 4), ())],
    ids=str,
)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_broadcast_warns_and_broadcasts(shapes, reduction):
    rng = np.random.default_rng(7)
    x = rand_array(rng, shapes[0], "float32")
    y = rand_array(rng, shapes[1], "float32")
    with pytest.warns(UserWarning):
        TF.mse_loss(torch.tensor(x), torch.tensor(y))
    with pytest.warns(UserWarning):
        EF.mse_loss(to_ember(x), to_ember(y))
    check(lambda L, a, b: F_of(L).mse_loss(a, b, reduction=reduction), [x, y])


def test_mse_loss_same_shape_no_warning():
    x = np.ones((3, 2), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EF.mse_loss(ember.tensor(x), ember.tensor(x * 2))
        TF.mse_loss(torch.tensor(x), torch.tensor(x * 2))


def test_mse_loss_module_and_bad_reduction():
    rng = np.random.default_rng(8)
    x = rand_array(rng, (5, 2), "float32")
    y = rand_array(rng, (5, 2), "float32")
    for red in REDUCTIONS:
        check(lambda L, a, t: nn_of(L).MSELoss(reduction=red)(a, t), [x], consts=(y,))
    with pytest.raises(ValueError):
        TF.mse_loss(torch.tensor(x), torch.tensor(y), reduction="avg")
    with pytest.raises((ValueError, RuntimeError)):
        EF.mse_loss(ember.tensor(x), ember.tensor(y), reduction="avg")


# ==========================================================================
# cross_entropy / nll_loss
# ==========================================================================

CE_CASES = [
    # (input shape, target shape)
    ((4, 5), (4,)),
    ((1, 3), (1,)),
    ((5,), ()),  # unbatched
    ((2, 4, 3), (2, 3)),  # K-dimensional: (N, C, d1)
    ((0, 3), (0,)),
]


def _targets(rng, tshape, C, ignore_index=None):
    t = rng.integers(0, C, size=tshape).astype(np.int64)
    if ignore_index is not None and t.size > 1:
        flat = t.reshape(-1)
        flat[::3] = ignore_index
        t = flat.reshape(tshape)
    return t


@pytest.mark.parametrize("fn_name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("shapes", CE_CASES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("ignore_index", [None, 1, -1])
@pytest.mark.parametrize("dtype", FLOATS)
def test_cross_entropy_nll(fn_name, shapes, reduction, use_weight, ignore_index, dtype):
    ishape, tshape = shapes
    C = ishape[1] if len(ishape) > 1 else ishape[0]
    rng = np.random.default_rng(9)
    x = rand_array(rng, ishape, dtype, -3, 3)
    if fn_name == "nll_loss":
        # log-probabilities, as nll_loss expects
        x = np.asarray(torch.log_softmax(torch.tensor(x), dim=1 if len(ishape) > 1 else 0))
    tgt = _targets(rng, tshape, C, ignore_index)
    w = rng.uniform(0.2, 2.0, size=(C,)).astype(dtype) if use_weight else None
    kw = {} if ignore_index is None else {"ignore_index": ignore_index}

    def fn(L, inp, t, ww):
        return getattr(F_of(L), fn_name)(inp, t, weight=ww, reduction=reduction, **kw)

    check(fn, [x], consts=(tgt, w))


@pytest.mark.parametrize("fn_name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_cross_entropy_nll_noncontiguous(fn_name, layout):
    rng = np.random.default_rng(10)
    x = rand_array(rng, (6, 4), "float32")
    tgt = rng.integers(0, 4, size=(6,)).astype(np.int64)
    check(lambda L, a, t: getattr(F_of(L), fn_name)(a, t), [x], [layout], consts=(tgt,))


def test_cross_entropy_all_ignored():
    # mean over zero non-ignored targets: torch gives nan
    x = np.random.default_rng(11).standard_normal((3, 4)).astype(np.float32)
    t = np.array([2, 2, 2], np.int64)
    for red in REDUCTIONS:
        check(
            lambda L, a, tt: F_of(L).cross_entropy(a, tt, ignore_index=2, reduction=red),
            [x],
            consts=(t,),
        )
        check(
            lambda L, a, tt: F_of(L).nll_loss(a, tt, ignore_index=2, reduction=red),
            [x],
            consts=(t,),
        )


def test_cross_entropy_large_logits_stable():
    x = np.array([[1000.0, 0.0, -1000.0], [-500.0, 500.0, 0.0]], np.float32)
    t = np.array([0, 2], np.int64)
    check(lambda L, a, tt: F_of(L).cross_entropy(a, tt, reduction="none"), [x], consts=(t,))


def test_cross_entropy_label_smoothing():
    rng = np.random.default_rng(12)
    x = rand_array(rng, (4, 5), "float64")
    t = rng.integers(0, 5, size=(4,)).astype(np.int64)
    w = rng.uniform(0.5, 2, size=(5,))
    for red in REDUCTIONS:
        check(
            lambda L, a, tt: F_of(L).cross_entropy(a, tt, label_smoothing=0.2, reduction=red),
            [x],
            consts=(t,),
        )
        check(
            lambda L, a, tt, ww: F_of(L).cross_entropy(
                a, tt, ww, label_smoothing=0.1, reduction=red
            ),
            [x],
            consts=(t, w),
        )


def test_cross_entropy_probability_targets():
    rng = np.random.default_rng(13)
    x = rand_array(rng, (4, 5), "float32")
    p = rng.random(size=(4, 5)).astype(np.float32)
    p /= p.sum(1, keepdims=True)
    check(lambda L, a, pp: F_of(L).cross_entropy(a, pp), [x], consts=(p,))


def test_cross_entropy_target_out_of_range_raises():
    with pytest.raises((IndexError, RuntimeError)):
        TF.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 3]))
    with pytest.raises((IndexError, RuntimeError)):
        EF.cross_entropy(ember.zeros(2, 3), ember.tensor([0, 3]))
    with pytest.raises((IndexError, RuntimeError)):
        TF.nll_loss(torch.zeros(2, 3), torch.tensor([-2, 0]))
    with pytest.raises((IndexError, RuntimeError)):
        EF.nll_loss(ember.zeros(2, 3), ember.tensor([-2, 0]))


def test_cross_entropy_module():
    rng = np.random.default_rng(14)
    x = rand_array(rng, (5, 3), "float32")
    t = np.array([0, 2, 1, 1, 2], np.int64)
    w = np.array([0.5, 1.0, 2.0], np.float32)
    for red in REDUCTIONS:
        check(lambda L, a, tt: nn_of(L).CrossEntropyLoss(reduction=red)(a, tt), [x], consts=(t,))
        check(
            lambda L, a, tt, ww: nn_of(L).CrossEntropyLoss(
                weight=ww, ignore_index=1, reduction=red
            )(a, tt),
            [x],
            consts=(t, w),
        )


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 6),
    c=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    reduction=st.sampled_from(REDUCTIONS),
    use_weight=st.booleans(),
    dtype=st.sampled_from(FLOATS),
)
def test_cross_entropy_hypothesis(n, c, seed, reduction, use_weight, dtype):
    rng = np.random.default_rng(seed)
    x = rand_array(rng, (n, c), dtype, -5, 5)
    t = rng.integers(0, c, size=(n,)).astype(np.int64)
    w = rng.uniform(0.1, 2, size=(c,)).astype(dtype) if use_weight else None
    check(
        lambda L, a, tt, ww: F_of(L).cross_entropy(a, tt, ww, reduction=reduction),
        [x],
        consts=(t, w),
        seed=seed,
    )


# ==========================================================================
# softmax / log_softmax
# ==========================================================================


@pytest.mark.parametrize("fn_name", ["softmax", "log_softmax"])
@pytest.mark.parametrize(
    "shape,dim",
    [
        ((5,), 0),
        ((5,), -1),
        ((3, 4), 0),
        ((3, 4), 1),
        ((3, 4), -1),
        ((2, 3, 4), 1),
        ((2, 3, 4), -3),
        ((), 0),
        ((0, 3), 1),
        ((3, 0), 0),
    ],
    ids=str,
)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("form", ["F", "torch", "method"])
def test_softmax_log_softmax(fn_name, shape, dim, dtype, layout, form):
    rng = np.random.default_rng(15)
    x = rand_array(rng, shape, dtype, -3, 3)

    def fn(L, t):
        if form == "F":
            return getattr(F_of(L), fn_name)(t, dim=dim)
        if form == "torch":
            return getattr(L, fn_name)(t, dim)
        return getattr(t, fn_name)(dim)

    check(fn, [x], [layout])


def test_softmax_large_values_stable():
    x = np.array([[1000.0, 1000.0, -1000.0], [-1e4, 0.0, 1e4]], np.float32)
    for fn_name in ["softmax", "log_softmax"]:
        check(lambda L, t: getattr(F_of(L), fn_name)(t, dim=1), [x])


def test_softmax_dtype_kwarg():
    x = np.random.default_rng(16).standard_normal((3, 4)).astype(np.float32)
    for fn_name in ["softmax", "log_softmax"]:
        check(lambda L, t: getattr(F_of(L), fn_name)(t, dim=1, dtype=L.float64), [x])


def test_softmax_dim_out_of_range_raises():
    with pytest.raises(IndexError):
        TF.softmax(torch.zeros(2, 3), dim=2)
    with pytest.raises((IndexError, RuntimeError)):
        EF.softmax(ember.zeros(2, 3), dim=2)


# ==========================================================================
# linear, activations
# ==========================================================================


@pytest.mark.parametrize("in_shape", [(3,), (4, 3), (2, 5, 3), (0, 3), (2, 1, 4, 3)], ids=str)
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_linear(in_shape, bias, dtype, layout):
    rng = np.random.default_rng(17)
    x = rand_array(rng, in_shape, dtype)
    w = rand_array(rng, (6, 3), dtype)
    b = rand_array(rng, (6,), dtype)
    if bias:
        check(
            lambda L, xx, ww, bb: F_of(L).linear(xx, ww, bb),
            [x, w, b],
            [layout, layout, "contiguous"],
        )
    else:
        check(lambda L, xx, ww: F_of(L).linear(xx, ww), [x, w], [layout, layout])


def test_linear_shape_mismatch_raises():
    with pytest.raises(RuntimeError):
        TF.linear(torch.zeros(2, 3), torch.zeros(4, 5))
    with pytest.raises(Exception):
        EF.linear(ember.zeros(2, 3), ember.zeros(4, 5))


@pytest.mark.parametrize("fn_name", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 4), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_activations(fn_name, shape, dtype, layout):
    rng = np.random.default_rng(18)
    x = rand_array(rng, shape, dtype, -3, 3)
    x = np.where(np.abs(x) < 0.05, 0.5, x).astype(dtype)
    check(lambda L, t: getattr(F_of(L), fn_name)(t), [x], [layout])
    mod = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}[fn_name]
    check(lambda L, t: getattr(nn_of(L), mod)()(t), [x], [layout])


def test_identity_module():
    x = np.arange(4, dtype=np.float32)
    check(lambda L, t: nn_of(L).Identity()(t) * 2, [x])


# ==========================================================================
# dropout
# ==========================================================================


@pytest.mark.parametrize("dtype", FLOATS)
def test_dropout_p0_and_eval_is_identity(dtype):
    rng = np.random.default_rng(19)
    x = rand_array(rng, (4, 5), dtype)
    check(lambda L, t: F_of(L).dropout(t, p=0.0) * 1.5, [x])
    check(lambda L, t: F_of(L).dropout(t, p=0.7, training=False) * 1.5, [x])
    check(lambda L, t: nn_of(L).Dropout(0.4).eval()(t) * 1.5, [x])
    # training=False with p=0.5 returns the input values unchanged
    p = make_pair(x)
    assert_close(EF.dropout(p.e, 0.5, training=False), TF.dropout(p.t, 0.5, training=False))


def test_dropout_p1_zeros():
    x = np.random.default_rng(20).standard_normal((3, 4)).astype(np.float32)
    check(lambda L, t: F_of(L).dropout(t, p=1.0), [x], name=False)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("dtype", FLOATS)
def test_dropout_mask_statistics_and_scaling(p, dtype):
    n = 200_000
    ember.manual_seed(123)
    x_np = np.random.default_rng(21).uniform(0.5, 1.5, size=(n,)).astype(dtype)
    x = ember.tensor(x_np, requires_grad=True)
    out = EF.dropout(x, p=p, training=True)
    assert tuple(out.shape) == (n,)
    assert out.dtype == x.dtype
    o = out.detach().numpy()
    ratio = o / x_np
    scale = 1.0 / (1.0 - p)
    kept = ratio != 0
    # every element is either dropped (0) or scaled by 1/(1-p)
    np.testing.assert_allclose(ratio[kept], scale, rtol=1e-6 if dtype == "float64" else 1e-5)
    assert np.all(o[~kept] == 0)
    # drop fraction ~ Binomial(n, p)/n: within 6 standard deviations
    sd = math.sqrt(p * (1 - p) / n)
    assert abs((~kept).mean() - p) < 6 * sd
    # E[dropout(x)] == x: mean of ratio ~ 1
    assert abs(ratio.mean() - 1.0) < 6 * math.sqrt(p / (1 - p) / n)
    # backward: grad = g * mask / (1 - p), the same mask as the forward
    g = np.random.default_rng(22).standard_normal(n).astype(dtype)
    out.backward(ember.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), g * np.where(kept, scale, 0.0), rtol=1e-5, atol=1e-6)


def test_dropout_grad_fn_name_matches_torch():
    x = np.ones((4, 4), np.float32)
    e = EF.dropout(ember.tensor(x, requires_grad=True), 0.5)
    t = TF.dropout(torch.tensor(x, requires_grad=True), 0.5)
    assert_grad_fn_name(e, t)


def test_dropout_seed_reproducible_and_module():
    x = np.ones((1000,), np.float32)
    ember.manual_seed(7)
    a = EF.dropout(ember.tensor(x), 0.5).numpy()
    ember.manual_seed(7)
    b = ember.nn.Dropout(0.5)(ember.tensor(x)).numpy()
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)).issubset({0.0, 2.0})
    ember.manual_seed(8)
    c = EF.dropout(ember.tensor(x), 0.5).numpy()
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    "layout",
    [((3, 4), (1, 0)), ((2, 3, 4), (2, 0, 1)), ((2, 3, 4), (0, 2, 1)), ((4, 6), None)],
    ids=["transposed", "permuted", "inner_swap", "strided"],
)
def test_dropout_draws_like_torch_on_non_contiguous_input(layout):
    """torch draws a dense input's mask in memory order, a non-dense one's in logical
    order; the same seed gives the same mask."""
    shape, perm = layout
    masks = []
    for lib in (ember, torch):
        x = lib.ones(*shape)
        x = x.permute(*perm) if perm else x[:, ::2]
        lib.manual_seed(3)
        masks.append(lib.nn.functional.dropout(x, 0.3).numpy())
    np.testing.assert_array_equal(*masks)


def test_dropout_invalid_p_raises():
    for p in [-0.1, 1.1]:
        with pytest.raises(ValueError):
            TF.dropout(torch.ones(3), p)
        with pytest.raises(ValueError):
            EF.dropout(ember.ones(3), p)


def test_dropout_noncontiguous_input():
    ember.manual_seed(3)
    base = np.random.default_rng(23).uniform(1, 2, size=(6, 8)).astype(np.float32)
    e = ember.tensor(base).t()
    out = EF.dropout(e, 0.5).numpy()
    ratio = out / base.T
    assert set(np.round(np.unique(ratio), 5)).issubset({0.0, 2.0})


# ==========================================================================
# Modules with weights copied from torch
# ==========================================================================


def copy_params(e_module, t_module):
    e_params = dict(e_module.named_parameters())
    t_params = dict(t_module.named_parameters())
    assert list(e_params) == list(t_params)
    with ember.no_grad():
        for name, tp in t_params.items():
            ep = e_params[name]
            assert tuple(ep.shape) == tuple(tp.shape)
            ep.copy_(ember.tensor(tp.detach().numpy()))


def assert_param_grads(e_module, t_module, rtol=None, atol=None):
    e_params = dict(e_module.named_parameters())
    for name, tp in t_module.named_parameters():
        ep = e_params[name]
        assert ep.grad is not None, f"{name}: ember grad is None"
        assert_close(ep.grad, tp.grad, rtol, atol, msg=name)


def assert_params(e_module, t_module, rtol=None, atol=None):
    e_params = dict(e_module.named_parameters())
    for name, tp in t_module.named_parameters():
        assert_close(e_params[name], tp, rtol, atol, msg=name)


def test_linear_module_default_init_and_attrs():
    ember.manual_seed(0)
    lin = ember.nn.Linear(50, 7)
    tlin = torch.nn.Linear(50, 7)
    assert tuple(lin.weight.shape) == tuple(tlin.weight.shape)
    assert tuple(lin.bias.shape) == tuple(tlin.bias.shape)
    assert lin.weight.requires_grad and lin.weight.is_leaf
    assert isinstance(lin.weight, ember.nn.Parameter)
    bound = 1 / math.sqrt(50)
    w = lin.weight.detach().numpy()
    # torch's init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias
    assert np.all(np.abs(w) <= bound + 1e-7)
    assert np.all(np.abs(lin.bias.detach().numpy()) <= bound + 1e-7)
    assert w.std() > bound / 3  # not degenerate (U(-b, b) has std b/sqrt(3))
    assert [n for n, _ in lin.named_parameters()] == [n for n, _ in tlin.named_parameters()]
    nb = ember.nn.Linear(3, 2, bias=False)
    assert nb.bias is None
    assert len(list(nb.parameters())) == len(list(torch.nn.Linear(3, 2, bias=False).parameters()))


@pytest.mark.parametrize("in_shape", [(4, 3), (3,), (2, 5, 3)], ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_module_matches_torch(in_shape, bias):
    torch.manual_seed(0)
    tlin = torch.nn.Linear(3, 2, bias=bias)
    elin = ember.nn.Linear(3, 2, bias=bias)
    copy_params(elin, tlin)
    x = np.random.default_rng(24).standard_normal(in_shape).astype(np.float32)
    p = make_pair(x)
    to, eo = tlin(p.t), elin(p.e)
    assert_close(eo, to)
    assert_grad_fn_name(eo, to)
    backward_both(eo, to)
    assert_param_grads(elin, tlin)
    assert_grads_close([p])


def _mlp(L, seed=0):
    nn = nn_of(L)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))


def test_sequential_mlp_mse_matches_torch():
    torch.manual_seed(1)
    tm, em = _mlp(torch), _mlp(ember)
    copy_params(em, tm)
    assert len(em) == len(tm)
    assert type(em[1]).__name__ == type(tm[1]).__name__
    rng = np.random.default_rng(25)
    x = rng.standard_normal((10, 4)).astype(np.float32)
    y = rng.standard_normal((10, 3)).astype(np.float32)
    tl = torch.nn.MSELoss()(tm(torch.tensor(x)), torch.tensor(y))
    el = ember.nn.MSELoss()(em(ember.tensor(x)), ember.tensor(y))
    assert_close(el, tl)
    assert_grad_fn_name(el, tl)
    tl.backward()
    el.backward()
    assert_param_grads(em, tm)


def test_sequential_cross_entropy_matches_torch():
    torch.manual_seed(2)
    tm, em = _mlp(torch), _mlp(ember)
    copy_params(em, tm)
    rng = np.random.default_rng(26)
    x = rng.standard_normal((12, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=(12,)).astype(np.int64)
    tl = torch.nn.CrossEntropyLoss()(tm(torch.tensor(x)), torch.tensor(y))
    el = ember.nn.CrossEntropyLoss()(em(ember.tensor(x)), ember.tensor(y))
    assert_close(el, tl)
    tl.backward()
    el.backward()
    assert_param_grads(em, tm)


def test_module_zero_grad_train_eval_state_dict():
    torch.manual_seed(3)
    tm, em = _mlp(torch), _mlp(ember)
    copy_params(em, tm)
    x = np.ones((2, 4), np.float32)
    em(ember.tensor(x)).sum().backward()
    tm(torch.tensor(x)).sum().backward()
    assert_param_grads(em, tm)
    em.zero_grad()
    tm.zero_grad()
    for (n, ep), (_, tp) in zip(em.named_parameters(), tm.named_parameters()):
        assert ep.grad is None and tp.grad is None, n
    assert em.training == tm.training is True
    em.eval()
    tm.eval()
    assert [m.training for m in em.modules()] == [m.training for m in tm.modules()]
    sd_e, sd_t = em.state_dict(), tm.state_dict()
    assert list(sd_e) == list(sd_t)
    for k in sd_t:
        assert_close(sd_e[k], sd_t[k])
    # load_state_dict from a different torch model
    torch.manual_seed(4)
    tm2 = _mlp(torch)
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm2.state_dict().items()})
    assert_params(em, tm2)


# ==========================================================================
# Optimizers
# ==========================================================================


def _train_steps(e_model, t_model, e_opt, t_opt, steps=5, loss="mse"):
    rng = np.random.default_rng(27)
    for step in range(steps):
        x = rng.standard_normal((8, 4)).astype(np.float32)
        if loss == "mse":
            y = rng.standard_normal((8, 3)).astype(np.float32)
            tl = TF.mse_loss(t_model(torch.tensor(x)), torch.tensor(y))
            el = EF.mse_loss(e_model(ember.tensor(x)), ember.tensor(y))
        else:
            y = rng.integers(0, 3, size=(8,)).astype(np.int64)
            tl = TF.cross_entropy(t_model(torch.tensor(x)), torch.tensor(y))
            el = EF.cross_entropy(e_model(ember.tensor(x)), ember.tensor(y))
        assert_close(el, tl, rtol=1e-4, atol=1e-5, msg=f"loss at step {step}")
        t_opt.zero_grad()
        e_opt.zero_grad()
        tl.backward()
        el.backward()
        t_opt.step()
        e_opt.step()
        assert_params(e_model, t_model, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "kw",
    [
        {"lr": 0.1},
        {"lr": 0.05, "momentum": 0.9},
        {"lr": 0.05, "weight_decay": 0.01},
        {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1},
        {"lr": 0.05, "momentum": 0.8, "nesterov": True},
    ],
    ids=str,
)
@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_sgd_matches_torch(kw, loss):
    torch.manual_seed(5)
    tm, em = _mlp(torch), _mlp(ember)
    copy_params(em, tm)
    _train_steps(
        em,
        tm,
        ember.optim.SGD(em.parameters(), **kw),
        torch.optim.SGD(tm.parameters(), **kw),
        steps=5,
        loss=loss,
    )


@pytest.mark.parametrize(
    "kw",
    [
        {"lr": 0.01},
        {"lr": 0.05, "betas": (0.8, 0.95)},
        {"lr": 0.01, "weight_decay": 0.1},
        {"lr": 0.01, "eps": 1e-3},
    ],
    ids=str,
)
@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_adam_matches_torch(kw, loss):
    torch.manual_seed(6)
    tm, em = _mlp(torch), _mlp(ember)
    copy_params(em, tm)
    _train_steps(
        em,
        tm,
        ember.optim.Adam(em.parameters(), **kw),
        torch.optim.Adam(tm.parameters(), **kw),
        steps=6,
        loss=loss,
    )


def test_sgd_param_groups_and_missing_grads():
    torch.manual_seed(7)
    tm, em = _mlp(torch), _mlp(ember)
    copy_params(em, tm)
    # two groups with different lr; the last layer never gets a gradient
    t_opt = torch.optim.SGD(
        [{"params": tm[0].parameters(), "lr": 0.1}, {"params": tm[2].parameters()}],
        lr=0.01,
        momentum=0.5,
    )
    e_opt = ember.optim.SGD(
        [{"params": em[0].parameters(), "lr": 0.1}, {"params": em[2].parameters()}],
        lr=0.01,
        momentum=0.5,
    )
    x = np.random.default_rng(28).standard_normal((5, 4)).astype(np.float32)
    for _ in range(3):
        t_opt.zero_grad()
        e_opt.zero_grad()
        th = torch.tensor(x)
        for i in range(4):
            th = tm[i](th)
        (th**2).sum().backward()
        h = ember.tensor(x)
        for i in range(4):
            h = em[i](h)
        (h**2).sum().backward()
        t_opt.step()
        e_opt.step()
        assert_params(em, tm, rtol=1e-4, atol=1e-5)


def test_optimizer_zero_grad_set_to_none_false():
    torch.manual_seed(8)
    tl = torch.nn.Linear(3, 2)
    el = ember.nn.Linear(3, 2)
    copy_params(el, tl)
    t_opt = torch.optim.SGD(tl.parameters(), lr=0.1)
    e_opt = ember.optim.SGD(el.parameters(), lr=0.1)
    tl(torch.ones(1, 3)).sum().backward()
    el(ember.ones(1, 3)).sum().backward()
    t_opt.zero_grad(set_to_none=False)
    e_opt.zero_grad(set_to_none=False)
    assert_param_grads(el, tl)


def test_optimizer_empty_params_raises():
    with pytest.raises(ValueError):
        torch.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError):
        ember.optim.SGD([], lr=0.1)


@pytest.mark.parametrize(
    "opt, kw",
    [
        ("AdamW", {"lr": 0.01}),
        ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "betas": (0.8, 0.95)}),
        ("RMSprop", {"lr": 0.01}),
        ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "weight_decay": 0.01}),
    ],
    ids=str,
)
@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_adamw_and_rmsprop_match_torch(opt, kw, loss):
    torch.manual_seed(7)
    tm, em = _mlp(torch), _mlp(ember)
    copy_params(em, tm)
    _train_steps(
        em,
        tm,
        getattr(ember.optim, opt)(em.parameters(), **kw),
        getattr(torch.optim, opt)(tm.parameters(), **kw),
        steps=6,
        loss=loss,
    )


MODULES = {
    "Flatten": lambda nn: nn.Flatten(),
    "Flatten(0,1)": lambda nn: nn.Flatten(0, 1),
    "Softmax": lambda nn: nn.Softmax(dim=1),
    "LogSoftmax": lambda nn: nn.LogSoftmax(dim=-1),
    "LeakyReLU": lambda nn: nn.LeakyReLU(0.2),
    "ModuleList": lambda nn: _stack(nn),
}


def _stack(nn):
    """A module built from a ModuleList, as users write them."""

    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(2)])
            self.layers.append(nn.Tanh())

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    return Stack()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_more_modules_match_torch(name):
    torch.manual_seed(3)
    ember.manual_seed(3)
    x = np.random.default_rng(0).standard_normal((2, 4, 1)).astype(np.float32)
    tm, em = MODULES[name](torch.nn), MODULES[name](ember.nn)
    if name == "ModuleList":
        x = x.reshape(2, 4)
        copy_params(em, tm)
        assert len(list(em.parameters())) == len(list(tm.parameters())) == 4
        assert len(em.layers) == len(tm.layers) == 3
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    tout, eout = tm(tx), em(ex)
    assert_close(eout, tout, rtol=1e-5, atol=1e-6)
    (tout * tout).sum().backward()
    (eout * eout).sum().backward()
    assert_close(ex.grad, tx.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss", ["L1Loss", "NLLLoss", "BCELoss"])
def test_more_losses_match_torch(loss, reduction):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    if loss == "L1Loss":
        target = rng.standard_normal((5, 3)).astype(np.float32)
    elif loss == "NLLLoss":
        target = rng.integers(0, 3, 5)
    else:
        x = 1 / (1 + np.exp(-x))
        target = rng.uniform(0, 1, (5, 3)).astype(np.float32)
    outs = []
    for lib in (ember, torch):
        xt = lib.tensor(x, requires_grad=True)
        out = getattr(lib.nn, loss)(reduction=reduction)(xt, lib.tensor(target))
        out.sum().backward()
        outs.append((out.detach().numpy(), xt.grad.numpy()))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-5, atol=1e-6)


def test_leaky_relu_functional_matches_torch():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0], np.float32)
    outs = []
    for lib in (ember, torch):
        xt = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.leaky_relu(xt, 0.1)
        y.sum().backward()
        outs.append((y.detach().numpy(), xt.grad.numpy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


def test_cross_entropy_module_passes_label_smoothing():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((4, 5)).astype(np.float32), rng.integers(0, 5, 4)
    outs = [
        lib.nn.CrossEntropyLoss(label_smoothing=0.2)(lib.tensor(x), lib.tensor(y)).item()
        for lib in (ember, torch)
    ]
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-6)


# ==========================================================================
# Module registry: tied weights, None/deleted parameters, buffers, traversal
# ==========================================================================


def _tied(L):
    lin = nn_of(L).Linear(2, 2)
    return nn_of(L).Sequential(lin, nn_of(L).ReLU(), lin)


def test_tied_weights_deduplicated_like_torch():
    em, tm = _tied(ember), _tied(torch)
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert len(list(em.parameters())) == len(list(tm.parameters())) == 2
    assert list(em.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in em.named_modules()] == [n for n, _ in tm.named_modules()]
    assert [n for n, _ in em.named_children()] == [n for n, _ in tm.named_children()]
    assert len(list(em.modules())) == len(list(tm.modules()))
    names = lambda m: [n for n, _ in m.named_parameters(remove_duplicate=False)]  # noqa: E731
    assert names(em) == names(tm)


def test_tied_weights_optimizer_updates_once():
    torch.manual_seed(11)
    em, tm = _tied(ember), _tied(torch)
    copy_params(em, tm)
    e_opt = ember.optim.SGD(em.parameters(), lr=0.1, momentum=0.9)
    t_opt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    x = np.random.default_rng(3).standard_normal((4, 2)).astype(np.float32)
    for _ in range(3):
        e_opt.zero_grad()
        t_opt.zero_grad()
        (em(ember.tensor(x)) ** 2).sum().backward()
        (tm(torch.tensor(x)) ** 2).sum().backward()
        e_opt.step()
        t_opt.step()
        assert_params(em, tm)


@pytest.mark.parametrize("how", ["none", "del", "register_none"])
def test_removing_bias_like_torch(how):
    def make(L):
        m = nn_of(L).Linear(2, 3)
        if how == "none":
            m.bias = None
        elif how == "del":
            del m.bias
        else:
            m.register_parameter("bias", None)
        return m

    em, tm = make(ember), make(torch)
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert list(em.state_dict()) == list(tm.state_dict())
    assert hasattr(em, "bias") == hasattr(tm, "bias")
    if how == "del":
        with pytest.raises(AttributeError, match="'Linear' object has no attribute 'bias'"):
            em.bias  # noqa: B018
    else:
        assert em.bias is None
    # a new Parameter registers again
    em.bias = ember.nn.Parameter(ember.zeros(3))
    tm.bias = torch.nn.Parameter(torch.zeros(3))
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]


def _member_errors(L):
    nn = nn_of(L)
    m = nn.Linear(1, 1)
    cases = [
        lambda: setattr(m, "weight", L.ones(1, 1)),
        lambda: m.register_parameter("a", L.ones(1)),
        lambda: m.register_buffer("weight", L.ones(1)),
        lambda: m.register_buffer("b", 3),
        lambda: m.add_module("a.b", nn.ReLU()),
        lambda: m.add_module("c", 3),
        lambda: m.nope,
        lambda: delattr(m, "nope"),
    ]
    return [capture(lambda _, c=c: c(), L) for c in cases]


def test_module_member_errors_match_torch():
    for e, t in zip(_member_errors(ember), _member_errors(torch)):
        assert type(e) is type(t), (e, t)
        assert str(e).replace("ember.", "torch.") == str(t)


def _with_buffers(L):
    nn = nn_of(L)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("running", L.arange(3).float())
            self.register_buffer("scratch", L.zeros(2), persistent=False)
            self.register_buffer("counter", L.tensor([4]))
            self.lin = nn.Linear(3, 2)

        def forward(self, x):
            return self.lin(x + self.running)

    return Net()


def test_buffers_like_torch():
    em, tm = _with_buffers(ember), _with_buffers(torch)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in em.named_buffers()] == [n for n, _ in tm.named_buffers()]
    assert len(list(em.buffers())) == len(list(tm.buffers()))
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    em.to(ember.float64)
    tm.to(torch.float64)
    for (n, eb), (_, tb) in zip(em.named_buffers(), tm.named_buffers()):
        assert_close(eb, tb, msg=n)
    copy_params(em, tm)
    x = np.ones((2, 3))
    assert_close(em(ember.tensor(x)), tm(torch.tensor(x)))
    # buffers round-trip through state_dict / load_state_dict
    sd = {k: v.numpy() * 2 for k, v in tm.state_dict().items()}
    tm.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    em.load_state_dict({k: ember.tensor(v) for k, v in sd.items()})
    for (n, eb), (_, tb) in zip(em.named_buffers(), tm.named_buffers()):
        assert_close(eb, tb, msg=n)
    em.running = None
    tm.running = None
    assert list(em.state_dict()) == list(tm.state_dict())


def test_load_state_dict_returns_incompatible_keys():
    results = []
    for L in (ember, torch):
        m = nn_of(L).Linear(2, 2)
        full = m.load_state_dict({k: v.clone() for k, v in m.state_dict().items()})
        partial = m.load_state_dict({"weight": L.ones(2, 2), "extra": L.ones(1)}, strict=False)
        results.append((repr(full), str(full), partial, tuple(partial), m.weight.sum().item()))
        with pytest.raises(RuntimeError, match="Unexpected key"):
            m.load_state_dict({"weight": L.ones(2, 2), "bias": L.ones(2), "extra": L.ones(1)})
        with pytest.raises(RuntimeError, match="size mismatch"):
            m.load_state_dict({"weight": L.ones(3, 2)}, strict=False)
    assert results[0] == results[1]
    assert results[0][2].missing_keys == ["bias"]


def test_apply_requires_grad_children_like_torch():
    logs = []
    for L in (ember, torch):
        m = _mlp(L)
        seen = []
        assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
        m.requires_grad_(False)
        flags = [p.requires_grad for p in m.parameters()]
        m[0].requires_grad_()
        flags += [p.requires_grad for p in m.parameters()]
        logs.append((seen, flags, [type(c).__name__ for c in m.children()]))
        logs[-1] += ([n for n, _ in m.named_children()], m.get_submodule("2") is m[2])
    assert logs[0] == logs[1]


def test_parameter_repr_and_str_like_torch():
    x = np.array([[1.5, -2.0], [0.25, 3.0]], np.float32)
    ep, tp = ember.nn.Parameter(ember.tensor(x)), torch.nn.Parameter(torch.tensor(x))
    assert repr(ep) == repr(tp)
    assert str(ep) == str(tp)
    ep2 = ember.nn.Parameter(ember.tensor(x), requires_grad=False)
    assert repr(ep2) == repr(torch.nn.Parameter(torch.tensor(x), requires_grad=False))


# ==========================================================================
# Sequential and the other containers
# ==========================================================================


def _named_seq(L):
    from collections import OrderedDict

    nn = nn_of(L)
    return nn.Sequential(
        OrderedDict(
            [
                ("fc1", nn.Linear(4, 5)),
                ("act", nn.ReLU()),
                ("fc2", nn.Linear(5, 3)),
                ("t", nn.Tanh()),
            ]
        )
    )


def test_sequential_from_ordered_dict_and_slices():
    torch.manual_seed(12)
    em, tm = _named_seq(ember), _named_seq(torch)
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    copy_params(em, tm)
    assert repr(em) == repr(tm)
    x = np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32)
    assert_close(em(ember.tensor(x)), tm(torch.tensor(x)))
    for sl in (slice(None, 2), slice(1, None), slice(None, None, 2), slice(-2, None)):
        es, ts = em[sl], tm[sl]
        assert type(es) is ember.nn.Sequential
        assert repr(es) == repr(ts)
    assert_close(em[:2](ember.tensor(x)), tm[:2](torch.tensor(x)))
    assert em.fc1 is em[0] and em[-1] is em.t
    assert [type(m).__name__ for m in em] == [type(m).__name__ for m in tm]


def _seq_edits(L):
    nn = nn_of(L)
    s = nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.Identity())
    out = []
    del s[1]
    out.append(repr(s))
    s[0] = nn.Softmax(dim=1)
    s.append(nn.ReLU(inplace=True))
    s.insert(1, nn.Flatten())
    s.insert(-1, nn.Dropout(0.25))
    s.extend([nn.LeakyReLU(0.3)])
    out.append(repr(s))
    out.append(repr(s.pop(2)))
    del s[1:3]
    out.append((repr(s), len(s)))
    for bad in (lambda: s[10], lambda: s.__setitem__(-10, nn.ReLU()), lambda: s.append(3)):
        exc = capture(lambda _, b=bad: b(), L)
        out.append((type(exc).__name__, str(exc)))
    exc = capture(lambda _: s.insert(10, nn.ReLU()), L)
    out.append((type(exc).__name__, str(exc)))
    return out


def test_sequential_edits_like_torch():
    assert _seq_edits(ember) == _seq_edits(torch)


def _list_and_dict(L):
    nn = nn_of(L)
    ml = nn.ModuleList([nn.Linear(2, 2), nn.ReLU()])
    ml += [nn.Tanh()]
    ml.insert(0, nn.Identity())
    del ml[1]
    md = nn.ModuleDict({"b": nn.Linear(2, 3), "a": nn.ReLU()})
    md["c"] = nn.Sigmoid()
    md.update([("d", nn.Tanh())])
    popped = md.pop("a")
    out = [repr(ml), repr(ml[1:]), len(ml), repr(md), list(md), list(md.keys()), "c" in md]
    out += [repr(popped), [n for n, _ in md.named_parameters()]]
    out.append(type(capture(lambda _: ml[5], L)).__name__)
    out.append(type(capture(lambda _: md["zz"], L)).__name__)
    return out


def test_module_list_and_dict_like_torch():
    assert _list_and_dict(ember) == _list_and_dict(torch)


def _param_containers(L):
    nn = nn_of(L)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pl = nn.ParameterList([nn.Parameter(L.ones(2)), L.zeros(2, 3)])
            self.pl.append(nn.Parameter(L.ones(1)))
            self.pd = nn.ParameterDict({"w": L.ones(3)})
            self.pd["v"] = nn.Parameter(L.zeros(1, 2))

        def forward(self, x):
            return (x * self.pl[0]).sum() + self.pl[1].sum() + self.pd["w"].sum()

    m = Net()
    out = [
        [n for n, _ in m.named_parameters()],
        list(m.state_dict()),
        [type(p).__name__ for p in m.pl],
        len(m.pl),
        list(m.pd),
        len(m.pd),
        "w" in m.pd,
        repr(m).replace("torch.", "ember."),
    ]
    y = m(L.ones(2))
    y.backward()
    out.append([p.grad is not None for p in m.parameters()])
    return out


def test_parameter_list_and_dict_like_torch():
    assert _param_containers(ember) == _param_containers(torch)


# ==========================================================================
# inplace flags, reprs, implicit softmax dim
# ==========================================================================


def _zoo(L):
    from collections import OrderedDict

    nn = nn_of(L)
    return nn.Sequential(
        OrderedDict(
            [
                ("fc", nn.Linear(2, 3)),
                ("act", nn.ReLU(inplace=True)),
                ("relu", nn.ReLU()),
                ("dp", nn.Dropout(0.3)),
                ("dpi", nn.Dropout(p=0.1, inplace=True)),
                ("lr", nn.LeakyReLU()),
                ("lr2", nn.LeakyReLU(0.2, True)),
                ("sm", nn.Softmax(dim=1)),
                ("sm0", nn.Softmax()),
                ("lsm", nn.LogSoftmax(1)),
                ("fl", nn.Flatten()),
                ("id", nn.Identity()),
                ("t", nn.Tanh()),
                ("sg", nn.Sigmoid()),
                ("gelu", nn.GELU()),
                ("g2", nn.GELU("tanh")),
                ("silu", nn.SiLU()),
                ("sp", nn.Softplus()),
                ("sp2", nn.Softplus(2, 10)),
                ("losses", nn.ModuleList([nn.MSELoss(), nn.CrossEntropyLoss(), nn.L1Loss()])),
                ("more", nn.ModuleDict({"s": nn.SmoothL1Loss(), "h": nn.HuberLoss()})),
                ("bce", nn.Sequential(nn.BCELoss(), nn.BCEWithLogitsLoss(), nn.NLLLoss())),
            ]
        )
    )


def test_composite_reprs_byte_for_byte():
    assert repr(_zoo(ember)) == repr(_zoo(torch))
    assert repr(_mlp(ember)) == repr(_mlp(torch))
    assert repr(_stack(ember.nn)) == repr(_stack(torch.nn))
    assert repr(_with_buffers(ember)) == repr(_with_buffers(torch))
    assert repr(ember.nn.Sequential()) == repr(torch.nn.Sequential())


@pytest.mark.parametrize("act", ["ReLU", "LeakyReLU", "SiLU"])
def test_inplace_activations_match_torch(act):
    x = np.array([[-2.0, -0.5, 0.0], [0.5, 1.0, 3.0]], np.float32)
    w = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]], np.float32)
    outs = []
    for L in (ember, torch):
        leaf = L.tensor(x, requires_grad=True)
        h = leaf * 2.0
        alias = h
        y = getattr(L.nn, act)(inplace=True)(h)
        assert y is h
        (y * L.tensor(w)).sum().backward()
        outs.append((alias.detach().numpy().copy(), leaf.grad.numpy()))
        # on a leaf that requires grad the in-place write is refused
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            getattr(L.nn, act)(inplace=True)(L.tensor(x, requires_grad=True))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-6)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-6)


def test_inplace_relu_after_op_saving_its_output_raises_like_torch():
    def run(L):
        a = L.tensor([1.0, -2.0], requires_grad=True)
        y = a.exp()
        L.nn.ReLU(inplace=True)(y)
        y.sum().backward()

    e, t = capture(run, ember), capture(run, torch)
    assert type(e) is type(t) is RuntimeError
    assert "modified by an inplace operation" in str(e)


def test_inplace_dropout_matches_torch():
    x = np.random.default_rng(5).standard_normal((6, 7)).astype(np.float32)
    outs = []
    for L in (ember, torch):
        L.manual_seed(9)
        leaf = L.tensor(x, requires_grad=True)
        h = leaf + 0.0
        y = L.nn.Dropout(0.4, inplace=True)(h)
        assert y is h
        y.sum().backward()
        outs.append((y.detach().numpy(), leaf.grad.numpy()))
        L.manual_seed(9)
        y2 = L.nn.functional.dropout(L.tensor(x), 0.4, inplace=True)
        outs.append((y2.numpy(), None))
    np.testing.assert_array_equal(outs[0][0], outs[2][0])
    np.testing.assert_array_equal(outs[0][1], outs[2][1])
    np.testing.assert_array_equal(outs[1][0], outs[3][0])
    assert (
        capture(lambda L: L.nn.Dropout(1.5), ember).args
        == capture(lambda L: L.nn.Dropout(1.5), torch).args
    )


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4), (2, 3, 4, 2)], ids=str)
@pytest.mark.parametrize("form", ["softmax", "log_softmax", "Softmax", "LogSoftmax"])
def test_softmax_implicit_dim_warns_like_torch(shape, form):
    x = np.random.default_rng(6).standard_normal(shape).astype(np.float32)
    outs = []
    for L in (ember, torch):
        xt = L.tensor(x.reshape(-1)).reshape(shape).requires_grad_()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn = getattr(L.nn, form)() if form[0].isupper() else getattr(L.nn.functional, form)
            y = fn(xt)
        (y * y).sum().backward()
        msgs = [(w.category, str(w.message)) for w in caught]
        outs.append((y.detach().numpy(), xt.grad.numpy(), msgs, caught[0].filename))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-5, atol=1e-6)
    assert outs[0][2] == outs[1][2] and len(outs[0][2]) == 1
    if form[0].islower():  # the warning points at the caller, as torch's does
        assert outs[0][3] == outs[1][3] == __file__


# ==========================================================================
# deepcopy and pickle
# ==========================================================================


def test_deepcopy_tensor_like_torch():
    import copy

    x = np.array([[1.0, -2.0], [3.5, 0.0]], np.float32)
    for L in (ember, torch):
        leaf = L.tensor(x, requires_grad=True)
        leaf.grad = L.ones(2, 2)
        c = copy.deepcopy(leaf)
        assert c is not leaf and c.requires_grad and c.is_leaf
        np.testing.assert_array_equal(c.detach().numpy(), x)
        np.testing.assert_array_equal(c.grad.numpy(), np.ones((2, 2), np.float32))
        with L.no_grad():
            c.mul_(2.0)  # independent storage
        np.testing.assert_array_equal(leaf.detach().numpy(), x)
        ints = copy.deepcopy(L.tensor([3, 4]))
        assert repr(ints.dtype).split(".")[-1] == "int64" and not ints.requires_grad
        assert copy.deepcopy(L.tensor(2.5)).shape == ()
    e = capture(lambda L: copy.deepcopy(L.tensor(x, requires_grad=True) * 2), ember)
    t = capture(lambda L: copy.deepcopy(L.tensor(x, requires_grad=True) * 2), torch)
    assert type(e) is type(t) is RuntimeError and str(e) == str(t)


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_module_copy_round_trip_like_torch(how):
    import copy
    import pickle

    def roundtrip(obj):
        return copy.deepcopy(obj) if how == "deepcopy" else pickle.loads(pickle.dumps(obj))

    torch.manual_seed(13)
    em, tm = _tied(ember), _tied(torch)
    copy_params(em, tm)
    ec, tc = roundtrip(em), roundtrip(tm)
    assert [n for n, _ in ec.named_parameters()] == [n for n, _ in tc.named_parameters()]
    assert (ec[0] is ec[2]) == (tc[0] is tc[2]) is True
    assert all(isinstance(p, ember.nn.Parameter) for p in ec.parameters())
    assert all(p is not q for p, q in zip(ec.parameters(), em.parameters()))
    assert repr(ec) == repr(tc)
    x = np.random.default_rng(7).standard_normal((3, 2)).astype(np.float32)
    eo, to = ec(ember.tensor(x)), tc(torch.tensor(x))
    assert_close(eo, to)
    eo.sum().backward()
    to.sum().backward()
    assert_param_grads(ec, tc)
    copies = []
    for L in (ember, torch):
        m = nn_of(L).Linear(2, 2)
        m.register_buffer("stat", L.arange(3))
        m.register_buffer("tmp", L.zeros(1), persistent=False)
        c = roundtrip(m)
        copies.append(([n for n, _ in c.named_buffers()], list(c.state_dict()), c.stat.tolist()))
    assert copies[0] == copies[1]


def test_pickle_tensor_and_parameter_like_torch():
    import pickle

    x = np.array([[1.0, -2.0], [3.5, 0.0]], np.float64)
    for L in (ember, torch):
        t = L.tensor(x, requires_grad=True)
        t.grad = L.ones(2, 2, dtype=L.float64)
        nonleaf = pickle.loads(pickle.dumps(t * 2))
        assert nonleaf.requires_grad and nonleaf.is_leaf
        back = pickle.loads(pickle.dumps(t))
        assert back.grad is None and back.requires_grad
        assert repr(back.dtype).split(".")[-1] == "float64"
        np.testing.assert_array_equal(back.detach().numpy(), x)
        p = pickle.loads(pickle.dumps(L.nn.Parameter(L.tensor(x), requires_grad=False)))
        assert isinstance(p, L.nn.Parameter) and not p.requires_grad
        for v in (L.tensor(True), L.tensor([[1, 2]]), L.zeros(0, 3)):
            r = pickle.loads(pickle.dumps(v))
            assert tuple(r.shape) == tuple(v.shape) and repr(r.dtype) == repr(v.dtype)
    ep = ember.nn.Parameter(ember.tensor(x))
    tp = torch.nn.Parameter(torch.tensor(x))
    e_repr = repr(pickle.loads(pickle.dumps(ep)))
    assert e_repr.replace("ember.", "torch.") == repr(pickle.loads(pickle.dumps(tp)))


# ==========================================================================
# More activations and losses (composed from differentiable ops)
# ==========================================================================

ACTS = {
    "gelu": lambda L, x: F_of(L).gelu(x),
    "gelu_tanh": lambda L, x: F_of(L).gelu(x, approximate="tanh"),
    "GELU": lambda L, x: nn_of(L).GELU()(x),
    "silu": lambda L, x: F_of(L).silu(x),
    "SiLU": lambda L, x: nn_of(L).SiLU()(x),
    "softplus": lambda L, x: F_of(L).softplus(x),
    "softplus_beta": lambda L, x: F_of(L).softplus(x, beta=2.0, threshold=3.0),
    "Softplus": lambda L, x: nn_of(L).Softplus(0.5, 4.0)(x),
    "normalize": lambda L, x: F_of(L).normalize(x),
    "normalize_p1": lambda L, x: F_of(L).normalize(x, p=1.0, dim=0),
    "normalize_last": lambda L, x: F_of(L).normalize(x, dim=-1, eps=0.5),
}


@pytest.mark.parametrize("name", sorted(ACTS))
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_more_activations_values_and_grads(name, dtype, layout):
    rng = np.random.default_rng(8)
    x = rand_array(rng, (4, 5), dtype, low=-6.0, high=6.0)
    x[0, :] = [0.0, 1e-3, -1e-3, 25.0, -30.0]  # around 0 and past softplus' threshold
    if name.startswith("normalize"):
        x[1, :] = 0.0  # an all-zero row: the eps clamp, finite gradient
    check(lambda L, a: ACTS[name](L, a), [x], [layout], name=False)


def test_gelu_bad_approximate_and_reprs():
    e = capture(lambda L: nn_of(L).GELU("fast")(L.ones(2)), ember)
    t = capture(lambda L: nn_of(L).GELU("fast")(L.ones(2)), torch)
    assert type(e) is type(t) is RuntimeError and str(e) == str(t)


def test_one_hot_like_torch():
    cases = [
        lambda L: F_of(L).one_hot(L.tensor([0, 2, 1, 2])),
        lambda L: F_of(L).one_hot(L.tensor([[0, 1], [3, 2]]), 5),
        lambda L: F_of(L).one_hot(L.tensor(2), 3),
        lambda L: F_of(L).one_hot(L.zeros(0, dtype=L.int64), 4),
    ]
    for fn in cases:
        e, t = fn(ember), fn(torch)
        assert repr(e).replace("ember.", "torch.") == repr(t)
    bad = [
        lambda L: F_of(L).one_hot(L.tensor([0.0, 1.0])),
        lambda L: F_of(L).one_hot(L.tensor([0, -1])),
        lambda L: F_of(L).one_hot(L.tensor([0, 3]), 3),
        lambda L: F_of(L).one_hot(L.zeros(0, dtype=L.int64)),
    ]
    for fn in bad:
        e, t = capture(fn, ember), capture(fn, torch)
        assert type(e) is type(t) is RuntimeError
        assert str(e).replace("ember", "torch") == str(t)


LOSSES2 = {
    "smooth_l1": lambda L, a, b: F_of(L).smooth_l1_loss(a, b),
    "smooth_l1_beta": lambda L, a, b: F_of(L).smooth_l1_loss(a, b, beta=0.5, reduction="sum"),
    "smooth_l1_beta0": lambda L, a, b: F_of(L).smooth_l1_loss(a, b, beta=0.0),
    "SmoothL1Loss": lambda L, a, b: nn_of(L).SmoothL1Loss(reduction="none", beta=2.0)(a, b),
    "huber": lambda L, a, b: F_of(L).huber_loss(a, b),
    "huber_delta": lambda L, a, b: F_of(L).huber_loss(a, b, delta=0.3, reduction="none"),
    "HuberLoss": lambda L, a, b: nn_of(L).HuberLoss(reduction="sum", delta=2.0)(a, b),
}


@pytest.mark.parametrize("name", sorted(LOSSES2))
@pytest.mark.parametrize("dtype", FLOATS)
def test_smooth_l1_and_huber_values_and_grads(name, dtype):
    rng = np.random.default_rng(9)
    a, b = rand_array(rng, (6, 3), dtype, -3, 3), rand_array(rng, (6, 3), dtype, -3, 3)
    b[0] = a[0]  # zero difference: the kink of |d|
    check(lambda L, x, y: LOSSES2[name](L, x, y), [a, b])


PIECEWISE_LOSSES = {
    f"{kind}_{reduction}_{width}": (
        lambda L, a, b, kind=kind, reduction=reduction, width=width: (
            F_of(L).smooth_l1_loss(a, b, reduction=reduction, beta=width)
            if kind == "smooth_l1"
            else F_of(L).huber_loss(a, b, reduction=reduction, delta=width)
        )
    )
    for kind in ("smooth_l1", "huber")
    for reduction in REDUCTIONS
    for width in (0.5, 2.0)
}


@pytest.mark.parametrize("name", sorted(PIECEWISE_LOSSES))
def test_smooth_l1_and_huber_second_order_like_torch(name):
    rng = np.random.default_rng(12)
    # both branches, a broadcast target, and an infinite difference (linear branch)
    a = rng.uniform(-3, 3, (4, 3))
    a[0, 0] = math.inf
    b = rng.uniform(-3, 3, (3,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for L in (ember, torch):
            out = PIECEWISE_LOSSES[name](L, L.tensor(a, requires_grad=True), L.tensor(b))
            assert type(out.grad_fn).__name__ in ("SmoothL1LossBackward0", "HuberLossBackward0")
        assert_grads_match(PIECEWISE_LOSSES[name], [a, b])
        finite = [ember.tensor(np.nan_to_num(a, posinf=5.0), requires_grad=True)]
        finite.append(ember.tensor(b, requires_grad=True))
        assert ember.autograd.gradgradcheck(
            lambda x, y: PIECEWISE_LOSSES[name](ember, x, y), finite
        )


def test_smooth_l1_beta_zero_is_l1_with_its_nodes_like_torch():
    for reduction, node in (("mean", "MeanBackward0"), ("sum", "SumBackward0")):
        for L in (ember, torch):
            out = F_of(L).smooth_l1_loss(
                L.ones(3, requires_grad=True), L.zeros(3), beta=0.0, reduction=reduction
            )
            assert type(out.grad_fn).__name__ == node


def test_huber_loss_weight_and_integer_refusals_like_torch():
    rng = np.random.default_rng(13)
    a, b, w = rng.standard_normal(5), rng.standard_normal(5), rng.random(5)
    for reduction in REDUCTIONS:
        check(lambda L, x, y, ww, r=reduction: F_of(L).huber_loss(x, y, r, weight=ww), [a, b, w])
    for fn in (
        lambda L: F_of(L).smooth_l1_loss(L.ones(2, dtype=L.int64), L.ones(2, dtype=L.int64)),
        lambda L: F_of(L).huber_loss(L.ones(2, dtype=L.int64), L.ones(2, dtype=L.int64)),
        lambda L: F_of(L).smooth_l1_loss(L.ones(2), L.ones(2), reduction="bad"),
    ):
        e, t = capture(fn, ember), capture(fn, torch)
        assert type(e) is type(t), (e, t)
        assert str(e) == str(t)


def test_smooth_l1_and_huber_errors_and_broadcast_warning():
    for fn in (
        lambda L: F_of(L).smooth_l1_loss(L.ones(2), L.ones(2), beta=-1.0),
        lambda L: F_of(L).huber_loss(L.ones(2), L.ones(2), delta=0.0),
        lambda L: F_of(L).huber_loss(L.ones(2), L.ones(2), reduction="bad"),
    ):
        e, t = capture(fn, ember), capture(fn, torch)
        assert type(e) is type(t), (e, t)
        assert str(e) == str(t)
    for L in (ember, torch):
        with pytest.warns(UserWarning, match="Using a target size"):
            F_of(L).smooth_l1_loss(L.ones(3, 1), L.ones(3))


# ==========================================================================
# nn.utils gradient clipping and nn.init
# ==========================================================================


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3])
def test_clip_grad_norm_like_torch(max_norm, norm_type):
    torch.manual_seed(14)
    em, tm = _mlp(ember), _mlp(torch)
    copy_params(em, tm)
    x = np.random.default_rng(10).standard_normal((5, 4)).astype(np.float32)
    (em(ember.tensor(x)) ** 2).sum().backward()
    (tm(torch.tensor(x)) ** 2).sum().backward()
    en = ember.nn.utils.clip_grad_norm_(em.parameters(), max_norm, norm_type)
    tn = torch.nn.utils.clip_grad_norm_(tm.parameters(), max_norm, norm_type)
    assert_close(en, tn)
    assert_param_grads(em, tm)


def test_clip_grad_value_and_edge_cases_like_torch():
    torch.manual_seed(15)
    em, tm = _mlp(ember), _mlp(torch)
    copy_params(em, tm)
    x = np.random.default_rng(11).standard_normal((5, 4)).astype(np.float32)
    (em(ember.tensor(x)) ** 2).sum().backward()
    (tm(torch.tensor(x)) ** 2).sum().backward()
    ember.nn.utils.clip_grad_value_(em.parameters(), 0.1)
    torch.nn.utils.clip_grad_value_(tm.parameters(), 0.1)
    assert_param_grads(em, tm)
    # no gradients at all: a zero norm
    assert_close(
        ember.nn.utils.clip_grad_norm_(ember.nn.Linear(2, 2).parameters(), 1.0),
        torch.nn.utils.clip_grad_norm_(torch.nn.Linear(2, 2).parameters(), 1.0),
    )
    # a single tensor, and a non-finite norm with error_if_nonfinite
    for L in (ember, torch):
        p = nn_of(L).Parameter(L.ones(3))
        p.grad = L.tensor([3.0, 4.0, 0.0])
        assert abs(L.nn.utils.clip_grad_norm_(p, 1.0).item() - 5.0) < 1e-6
        p.grad = L.tensor([float("inf"), 1.0, 0.0])
        with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
            L.nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


INITS = [
    ("uniform_", (-0.5, 2.0), {}),
    ("normal_", (0.3, 2.0), {}),
    ("kaiming_uniform_", (), {}),
    ("kaiming_uniform_", (math.sqrt(5),), {}),
    ("kaiming_uniform_", (), {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", (), {}),
    ("kaiming_normal_", (0.2,), {"mode": "fan_out"}),
    ("xavier_uniform_", (), {}),
    ("xavier_uniform_", (), {"gain": 5.0 / 3}),
    ("xavier_normal_", (), {}),
    ("xavier_normal_", (0.7,), {}),
    ("zeros_", (), {}),
    ("ones_", (), {}),
    ("constant_", (0.25,), {}),
]


@pytest.mark.parametrize("name, args, kw", INITS, ids=str)
@pytest.mark.parametrize("shape", [(7, 5), (40, 30), (3, 4, 5)], ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
def test_init_streams_match_torch_bitwise(name, args, kw, shape, dtype):
    outs = []
    for L in (ember, torch):
        L.manual_seed(21)
        t = L.empty(*shape, dtype=getattr(L, dtype))
        r = getattr(L.nn.init, name)(t, *args, **kw)
        assert r is t
        outs.append(t.numpy().copy())
        outs.append(L.rand(3).numpy())  # the generator is left in the same state
    np.testing.assert_array_equal(outs[0], outs[2])
    np.testing.assert_array_equal(outs[1], outs[3])


def test_init_generator_and_parameter_in_place():
    outs = []
    for L in (ember, torch):
        g = L.Generator().manual_seed(5)
        w = L.nn.Linear(6, 4).weight
        L.nn.init.xavier_uniform_(w, generator=g)
        assert w.requires_grad and w.is_leaf and w.grad_fn is None
        outs.append(w.detach().numpy().copy())
    np.testing.assert_array_equal(outs[0], outs[1])


def test_calculate_gain_and_init_errors_like_torch():
    for args in [("linear",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu",), ("selu",)]:
        assert ember.nn.init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)
    assert ember.nn.init.calculate_gain("leaky_relu", 0.2) == torch.nn.init.calculate_gain(
        "leaky_relu", 0.2
    )
    for fn in (
        lambda L: L.nn.init.calculate_gain("swish"),
        lambda L: L.nn.init.calculate_gain("leaky_relu", True),
        lambda L: L.nn.init.kaiming_uniform_(L.empty(3, 3), mode="fan_avg"),
        lambda L: L.nn.init.xavier_uniform_(L.empty(3)),
    ):
        e, t = capture(fn, ember), capture(fn, torch)
        assert type(e) is type(t) is ValueError
        assert str(e) == str(t)
    for L in (ember, torch):
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            L.nn.init.kaiming_normal_(L.empty(0, 3))


# ==========================================================================
# Embedding, LayerNorm, BatchNorm1d/2d
# ==========================================================================

NORM_TOL = {"float32": (1e-5, 1e-6), "float64": (1e-10, 1e-12)}


def close(e, t, dtype, msg=""):
    rtol, atol = NORM_TOL[dtype]
    assert_close(e, t, rtol, atol, msg=msg)


def same_error(fn):
    """fn(L) raises the same type and message in both (torch. read as ember.)."""
    e, t = capture(fn, ember), capture(fn, torch)
    assert t is not None, "torch raised nothing"
    assert type(e) is type(t), (e, t)
    assert str(e) == str(t).replace("torch.", "ember."), (str(e), str(t))


def index_pair(arr, layout):
    """The same int64 indices in both libraries, transposed (non-contiguous) if asked."""
    arr = np.asarray(arr, np.int64)
    if layout == "transposed" and arr.ndim >= 2:
        base = np.ascontiguousarray(arr.T)
        return ember.tensor(base).t(), torch.tensor(base).t()
    return to_ember(arr), torch.tensor(arr)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
@pytest.mark.parametrize(
    "indices, layout",
    [
        ([3, 1, 3, 0, 9, 3], "contiguous"),
        ([[1, 3, 3], [0, 9, 1]], "contiguous"),
        ([[1, 3, 3], [0, 9, 1]], "transposed"),
        (4, "contiguous"),
        (np.zeros((0, 2), np.int64), "contiguous"),
    ],
    ids=str,
)
def test_embedding_module_values_and_grads(dtype, padding_idx, indices, layout):
    mods = []
    for L in (ember, torch):
        L.manual_seed(7)
        mods.append(L.nn.Embedding(10, 4, padding_idx=padding_idx).to(getattr(L, dtype)))
    em, tm = mods
    # same seed, same N(0, 1) draws and the same zeroed padding row, bit for bit
    np.testing.assert_array_equal(em.weight.detach().numpy(), tm.weight.detach().numpy())
    ei, ti = index_pair(indices, layout)
    e_out, t_out = em(ei), tm(ti)
    close(e_out, t_out, dtype)
    backward_both(e_out, t_out, seed=1)
    close(em.weight.grad, tm.weight.grad, dtype)
    if padding_idx is not None:  # repeated padding rows still add nothing
        assert not em.weight.grad.numpy()[padding_idx].any()


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_embedding_functional_noncontiguous_weight(dtype, layout):
    rng = np.random.default_rng(3)
    w = make_pair(rand_array(rng, (6, 5), dtype), layout)
    ei, ti = index_pair([[5, 0, 0], [2, 5, 1]], "contiguous")
    e_out = EF.embedding(ei, w.e, padding_idx=5)
    t_out = TF.embedding(ti, w.t, padding_idx=5)
    close(e_out, t_out, dtype)
    backward_both(e_out, t_out, seed=2)
    assert_grads_close([w], *NORM_TOL[dtype])


def test_embedding_init_stream_and_repr_like_torch():
    outs = []
    for L in (ember, torch):
        L.manual_seed(11)
        m = L.nn.Embedding(30, 7, padding_idx=-2)
        assert m.padding_idx == 28
        assert m.weight.requires_grad and m.weight.is_leaf
        outs += [m.weight.detach().numpy().copy(), L.rand(3).numpy()]
        assert list(m.state_dict()) == ["weight"]
    np.testing.assert_array_equal(outs[0], outs[2])
    np.testing.assert_array_equal(outs[1], outs[3])
    for args, kw in [((10, 3), {}), ((10, 3), {"padding_idx": 0}), ((5, 2), {"padding_idx": -1})]:
        assert repr(ember.nn.Embedding(*args, **kw)) == repr(torch.nn.Embedding(*args, **kw))


@pytest.mark.parametrize("freeze", [True, False])
def test_embedding_from_pretrained_like_torch(freeze):
    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 7
    mods = [
        L.nn.Embedding.from_pretrained(const(L, w), freeze=freeze, padding_idx=1)
        for L in (ember, torch)
    ]
    em, tm = mods
    assert repr(em) == repr(tm) == "Embedding(4, 3, padding_idx=1)"
    assert em.weight.requires_grad is tm.weight.requires_grad is (not freeze)
    # the given rows are kept: the padding row is not zeroed
    np.testing.assert_array_equal(em.weight.detach().numpy(), w)
    ei, ti = index_pair([1, 2, 1, 3], "contiguous")
    e_out, t_out = em(ei), tm(ti)
    close(e_out, t_out, "float32")
    if not freeze:
        backward_both(e_out, t_out, seed=4)
        close(em.weight.grad, tm.weight.grad, "float32")
        assert not em.weight.grad.numpy()[1].any()
    else:
        assert not e_out.requires_grad and not t_out.requires_grad


@pytest.mark.parametrize(
    "fn",
    [
        lambda L: L.nn.Embedding(10, 3)(L.tensor([10])),
        lambda L: L.nn.Embedding(10, 3)(L.tensor([[0, -1]])),
        lambda L: L.nn.Embedding(10, 3)(L.tensor([1.0])),
        lambda L: L.nn.Embedding(10, 3)(L.tensor([1.0], dtype=L.float64)),
        lambda L: L.nn.Embedding(10, 3)(L.tensor([True])),
        lambda L: L.nn.Embedding(10, 3, padding_idx=10),
        lambda L: L.nn.Embedding(10, 3, padding_idx=-11),
        lambda L: L.nn.functional.embedding(L.tensor([1]), L.ones(3, 3), padding_idx=3),
        lambda L: L.nn.functional.embedding(L.tensor([1]), L.ones(3)),
        lambda L: L.nn.functional.embedding(L.tensor([1.0]), L.ones(3)),
        lambda L: L.nn.Embedding.from_pretrained(L.ones(3)),
        lambda L: L.nn.Embedding(10, 3, _weight=L.ones(3, 3)),
    ],
)
def test_embedding_errors_like_torch(fn):
    same_error(fn)


def test_embedding_unsupported_options_raise():
    for kw in [{"max_norm": 1.0}, {"scale_grad_by_freq": True}, {"sparse": True}]:
        with pytest.raises(NotImplementedError):
            ember.nn.Embedding(4, 2, **kw)
        with pytest.raises(NotImplementedError):
            EF.embedding(ember.tensor([1]), ember.ones(4, 2), **kw)


LN_CASES = [
    ((4, 5), (5,)),
    ((2, 3, 4), (3, 4)),
    ((3, 4), [3, 4]),
    ((2, 1, 3, 2), (2,)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape, normalized", LN_CASES, ids=str)
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_functional_values_and_grads(dtype, layout, shape, normalized, affine):
    rng = np.random.default_rng(5)
    arrays = [rand_array(rng, shape, dtype, -3, 3)]
    if affine != "none":
        arrays.append(rand_array(rng, tuple(normalized), dtype, 0.5, 2))
    if affine == "both":
        arrays.append(rand_array(rng, tuple(normalized), dtype))
    pairs = [make_pair(a, layout) for a in arrays]

    def run(L, tensors):
        return F_of(L).layer_norm(tensors[0], normalized, *tensors[1:], eps=1e-3)

    e_out = run(ember, [p.e for p in pairs])
    t_out = run(torch, [p.t for p in pairs])
    close(e_out, t_out, dtype)
    backward_both(e_out, t_out, seed=6)
    assert_grads_close(pairs, *NORM_TOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("kw", [{}, {"bias": False}, {"elementwise_affine": False}], ids=str)
def test_layer_norm_module_like_torch(dtype, kw):
    rng = np.random.default_rng(8)
    em = ember.nn.LayerNorm([3, 4], **kw).to(getattr(ember, dtype))
    tm = torch.nn.LayerNorm([3, 4], **kw).to(getattr(torch, dtype))
    assert repr(em) == repr(tm)
    assert em.normalized_shape == tm.normalized_shape == (3, 4)
    assert list(em.state_dict()) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        assert_close(em.state_dict()[k], v)
    fill_same_params(em, tm, rng, dtype)  # trained-looking, not ones and zeros
    x = make_pair(rand_array(rng, (2, 3, 4), dtype), "transposed")
    e_out, t_out = em(x.e), tm(x.t)
    close(e_out, t_out, dtype)
    backward_both(e_out, t_out, seed=9)
    assert_grads_close([x], *NORM_TOL[dtype])
    for name, tp in tm.named_parameters():
        close(getattr(em, name).grad, tp.grad, dtype, msg=name)


def test_layer_norm_reprs_like_torch():
    for args, kw in [((4,), {}), ((5,), {"eps": 1e-3}), (((2, 3),), {"bias": False})]:
        assert repr(ember.nn.LayerNorm(*args, **kw)) == repr(torch.nn.LayerNorm(*args, **kw))
    assert repr(ember.nn.LayerNorm(4)) == (
        "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)"
    )


@pytest.mark.parametrize(
    "fn",
    [
        lambda L: L.nn.functional.layer_norm(L.ones(2, 3), [4]),
        lambda L: L.nn.functional.layer_norm(L.ones(2, 3), (2, 4)),
        lambda L: L.nn.LayerNorm([3, 4])(L.ones(3)),
        lambda L: L.nn.functional.layer_norm(L.ones(2, 3), 3),
        lambda L: L.nn.functional.layer_norm(L.ones(2, 3), [3], weight=L.ones(2)),
        lambda L: L.nn.functional.layer_norm(L.ones(2, 3), [3], bias=L.ones(3, 1)),
        lambda L: L.nn.functional.layer_norm(L.ones(2, 3), []),
    ],
)
def test_layer_norm_errors_like_torch(fn):
    same_error(fn)


def fill_same_params(em, tm, rng, dtype):
    """The same random values (in [0.5, 2)) in each parameter of both modules."""
    with torch.no_grad(), ember.no_grad():
        for name, tp in tm.named_parameters():
            vals = rand_array(rng, tuple(tp.shape), dtype, 0.5, 2)
            tp.copy_(torch.tensor(vals))
            getattr(em, name).copy_(to_ember(vals))


def assert_same_state(em, tm, dtype):
    es, ts = em.state_dict(), tm.state_dict()
    assert list(es) == list(ts)
    for k in ts:
        close(es[k], ts[k], dtype if ts[k].is_floating_point() else "float64", msg=k)
        assert dtype_of(es[k]) == dtype_of(ts[k]), k


def dtype_of(t):
    return repr(t.dtype).split(".")[-1]


BN_CASES = [
    ("BatchNorm1d", (6, 3)),
    ("BatchNorm1d", (4, 3, 5)),
    ("BatchNorm2d", (3, 3, 4, 2)),
    ("BatchNorm3d", (2, 3, 2, 3, 2)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("cls, shape", BN_CASES, ids=str)
@pytest.mark.parametrize(
    "kw",
    [{}, {"momentum": None}, {"momentum": 0.5, "eps": 1e-3}, {"affine": False}, {"bias": False}],
    ids=str,
)
def test_batch_norm_train_steps_then_eval(dtype, cls, shape, kw):
    rng = np.random.default_rng(10)
    em = getattr(ember.nn, cls)(3, **kw).to(getattr(ember, dtype))
    tm = getattr(torch.nn, cls)(3, **kw).to(getattr(torch, dtype))
    fill_same_params(em, tm, rng, dtype)
    for step, layout in enumerate(["contiguous", "transposed", "sliced", "contiguous"]):
        # the mean is shifted away from 0 and the spread from 1, so the stats move
        x = make_pair(rand_array(rng, shape, dtype, -1, 3) * (step + 1), layout)
        e_out, t_out = em(x.e), tm(x.t)
        close(e_out, t_out, dtype, msg=f"step {step}")
        backward_both(e_out, t_out, seed=step)
        assert_grads_close([x], *NORM_TOL[dtype])
        assert_same_state(em, tm, dtype)
    assert int(em.num_batches_tracked.item()) == 4
    for name, tp in tm.named_parameters():
        close(getattr(em, name).grad, tp.grad, dtype, msg=name)
    em.eval(), tm.eval()
    x = make_pair(rand_array(rng, shape, dtype), "transposed")
    e_out, t_out = em(x.e), tm(x.t)
    close(e_out, t_out, dtype)
    backward_both(e_out, t_out, seed=20)
    assert_grads_close([x], *NORM_TOL[dtype])
    assert_same_state(em, tm, dtype)  # eval does not touch the running stats
    assert int(em.num_batches_tracked.item()) == 4


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("cls, shape", BN_CASES, ids=str)
def test_batch_norm_without_running_stats(dtype, cls, shape):
    rng = np.random.default_rng(12)
    em = getattr(ember.nn, cls)(3, track_running_stats=False).to(getattr(ember, dtype))
    tm = getattr(torch.nn, cls)(3, track_running_stats=False).to(getattr(torch, dtype))
    assert em.running_mean is None and em.num_batches_tracked is None
    assert list(em.state_dict()) == list(tm.state_dict()) == ["weight", "bias"]
    fill_same_params(em, tm, rng, dtype)
    for mode in ("train", "eval"):  # batch statistics either way
        getattr(em, mode)(), getattr(tm, mode)()
        x = make_pair(rand_array(rng, shape, dtype, -2, 4), "sliced")
        e_out, t_out = em(x.e), tm(x.t)
        close(e_out, t_out, dtype, msg=mode)
        backward_both(e_out, t_out, seed=3)
        assert_grads_close([x], *NORM_TOL[dtype])
    for name, tp in tm.named_parameters():
        close(getattr(em, name).grad, tp.grad, dtype, msg=name)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_functional_like_torch(dtype, training):
    rng = np.random.default_rng(13)
    shape = (5, 2, 3)
    arrays = [
        rand_array(rng, shape, dtype, -1, 2),
        rand_array(rng, (2,), dtype, 0.5, 2),
        rand_array(rng, (2,), dtype),
    ]
    pairs = [make_pair(a, lay) for a, lay in zip(arrays, ["transposed", "sliced", "contiguous"])]
    rm, rv = rand_array(rng, (2,), dtype), rand_array(rng, (2,), dtype, 0.5, 2)
    stats = {L: (const(L, rm), const(L, rv)) for L in (ember, torch)}

    def run(L, tensors):
        x, w, b = tensors
        return F_of(L).batch_norm(x, *stats[L], w, b, training, 0.3, 1e-4)

    e_out = run(ember, [p.e for p in pairs])
    t_out = run(torch, [p.t for p in pairs])
    close(e_out, t_out, dtype)
    # the running stats are updated in place in training only
    for e_s, t_s, before in zip(stats[ember], stats[torch], (rm, rv)):
        close(e_s, t_s, dtype)
        assert (np.array_equal(t_s.numpy(), before)) is not training
    backward_both(e_out, t_out, seed=14)
    assert_grads_close(pairs, *NORM_TOL[dtype])


def test_batch_norm_state_dict_round_trip_and_reprs():
    rng = np.random.default_rng(15)
    em, tm = ember.nn.BatchNorm2d(2), torch.nn.BatchNorm2d(2)
    assert list(em.state_dict()) == [
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    assert_same_state(em, tm, "float32")
    x = rand_array(rng, (3, 2, 2, 2), "float32", 1, 4)
    em(to_ember(x)), tm(torch.tensor(x))
    assert_same_state(em, tm, "float32")
    # load torch's state into a fresh ember module
    fresh = ember.nn.BatchNorm2d(2)
    fresh.load_state_dict({k: to_ember(v.numpy()) for k, v in tm.state_dict().items()})
    assert_same_state(fresh, tm, "float32")
    assert int(fresh.num_batches_tracked.item()) == 1
    for cls, kw in [
        ("BatchNorm1d", {}),
        ("BatchNorm2d", {"momentum": None, "affine": False}),
        ("BatchNorm1d", {"eps": 1e-3, "momentum": 0.5, "track_running_stats": False}),
        ("BatchNorm2d", {"bias": False}),
    ]:
        assert repr(getattr(ember.nn, cls)(3, **kw)) == repr(getattr(torch.nn, cls)(3, **kw))


@pytest.mark.parametrize(
    "fn",
    [
        lambda L: L.nn.BatchNorm1d(3)(L.ones(1, 3)),
        lambda L: L.nn.BatchNorm1d(3)(L.ones(1, 3, 1)),
        lambda L: L.nn.BatchNorm2d(3)(L.ones(1, 3, 1, 1)),
        lambda L: L.nn.BatchNorm1d(3)(L.ones(3)),
        lambda L: L.nn.BatchNorm1d(3)(L.ones(2, 3, 4, 5)),
        lambda L: L.nn.BatchNorm2d(3)(L.ones(2, 3, 4)),
        lambda L: L.nn.BatchNorm3d(3)(L.ones(2, 3, 4, 4)),
        lambda L: L.nn.BatchNorm3d(3)(L.ones(1, 3, 1, 1, 1)),
        lambda L: L.nn.BatchNorm1d(3)(L.ones(2, 4)),
        lambda L: L.nn.functional.batch_norm(L.ones(2, 3), None, None, training=False),
        lambda L: L.nn.functional.batch_norm(L.ones(2, 3), L.zeros(3), None),
        lambda L: L.nn.functional.batch_norm(L.ones(2, 3), L.zeros(4), L.ones(4)),
        lambda L: L.nn.functional.batch_norm(L.ones(2, 3), None, None, L.ones(2), training=True),
        lambda L: L.nn.functional.batch_norm(L.ones(2, 3), None, None, None, L.ones(4), True),
        lambda L: L.nn.functional.batch_norm(L.ones(1, 3), None, None, training=True),
        lambda L: L.nn.functional.batch_norm(L.ones(2, 3), None, None, training=True, eps=0.0),
        lambda L: L.nn.functional.batch_norm(L.ones(2, 3), L.zeros(3), L.ones(3), eps=-1.0),
        lambda L: L.nn.functional.batch_norm(L.ones(3), None, None, training=True),
        lambda L: L.nn.functional.batch_norm(L.ones(4, 3), None, None, None, None, True, None),
    ],
)
def test_batch_norm_errors_like_torch(fn):
    same_error(fn)


def test_batch_norm_eval_accepts_batch_of_one():
    for L in (ember, torch):
        m = L.nn.BatchNorm1d(3).eval()
        assert tuple(m(L.ones(1, 3)).shape) == (1, 3)


@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 2)], ids=str)
def test_batch_norm_empty_batch_counts_but_keeps_stats(shape):
    mods = []
    for L in (ember, torch):
        m = L.nn.BatchNorm1d(3)
        with L.no_grad():
            m.running_mean.fill_(2.0)
        x = L.ones(*shape, requires_grad=True)
        out = m(x)
        assert tuple(out.shape) == shape
        out.sum().backward()
        assert tuple(x.grad.shape) == shape
        mods.append(m)
    assert_same_state(*mods, "float32")
    assert int(mods[0].num_batches_tracked.item()) == 1


# ---- forward hooks ----------------------------------------------------------


def _hook_trace(lib):
    lib.manual_seed(0)
    layer = lib.nn.Linear(3, 2)
    seen = []

    def pre(module, args):
        seen.append(("pre", tuple(args[0].shape)))
        return (args[0] * 2,)

    def pre_single(module, args):
        seen.append(("pre_single", len(args)))
        return args[0] + 1  # a bare value stands for a 1-tuple

    def post(module, args, output):
        seen.append(("post", tuple(output.shape)))
        return output.sum(1)

    def post_kwargs(module, args, kwargs, output):
        seen.append(("post_kwargs", sorted(kwargs)))

    handles = [
        layer.register_forward_pre_hook(pre),
        layer.register_forward_pre_hook(pre_single, prepend=True),
        layer.register_forward_hook(post),
        layer.register_forward_hook(post_kwargs, with_kwargs=True),
    ]
    x = lib.ones(4, 3)
    first = layer(x)
    handles[0].remove()
    handles[2].remove()
    second = layer(x)
    with layer.register_forward_hook(lambda m, a, o: o * 0):
        third = layer(x)
    fourth = layer(x)
    return seen, [t.detach().numpy().tolist() for t in (first, second, third, fourth)]


def test_forward_hooks_run_in_torch_order_and_replace_values():
    assert _hook_trace(ember) == _hook_trace(torch)


def test_forward_pre_hook_with_kwargs_rewrites_both():
    def run(lib):
        class Scale(lib.nn.Module):
            def forward(self, x, factor=1.0):
                return x * factor

        m = Scale()
        m.register_forward_pre_hook(
            lambda mod, args, kwargs: ((args[0] + 1,), {"factor": 3.0}), with_kwargs=True
        )
        return m(lib.ones(2), factor=2.0).tolist()

    assert run(ember) == run(torch)


def test_forward_pre_hook_with_kwargs_must_return_a_pair():
    for lib in (ember, torch):
        m = lib.nn.Identity()
        m.register_forward_pre_hook(lambda mod, args, kwargs: args, with_kwargs=True)
        with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple"):
            m(lib.ones(2))


def test_forward_hook_gradients_flow_through_replaced_output():
    def run(lib):
        lib.manual_seed(0)
        layer = lib.nn.Linear(3, 2)
        layer.register_forward_hook(lambda m, a, o: o.tanh())
        layer(lib.ones(1, 3)).sum().backward()
        return layer.weight.grad.numpy().tolist()

    assert np.allclose(run(ember), run(torch))


# ---- more activations, distances, padding (python/ember/nn/activation.py) ----

ACTIVATIONS = {
    "elu": lambda F, x: F.elu(x, 0.7),
    "celu": lambda F, x: F.celu(x, 1.3),
    "selu": lambda F, x: F.selu(x),
    "hardtanh": lambda F, x: F.hardtanh(x, -0.5, 0.75),
    "relu6": lambda F, x: F.relu6(x * 4),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x * 3),
    "hardswish": lambda F, x: F.hardswish(x * 3),
    "logsigmoid": lambda F, x: F.logsigmoid(x * 30),
    "softsign": lambda F, x: F.softsign(x),
    "tanhshrink": lambda F, x: F.tanhshrink(x),
    "mish": lambda F, x: F.mish(x),
    "glu": lambda F, x: F.glu(x[:2], 0),
    "cosine_similarity": lambda F, x: F.cosine_similarity(x, x.flip(0) + 0.5, dim=1),
    "pairwise_distance": lambda F, x: F.pairwise_distance(x, x * 2, p=3.0),
    "kl_div_batchmean": lambda F, x: F.kl_div(
        F.log_softmax(x, 1), F.softmax(x.flip(1), 1), reduction="batchmean"
    ),
    "kl_div_log_target": lambda F, x: F.kl_div(x, x.flip(0), reduction="sum", log_target=True),
    "pad_constant": lambda F, x: F.pad(x, (1, -1, 2, 0), value=9.0),
    "pad_reflect": lambda F, x: F.pad(x.unsqueeze(0), (2, 1), mode="reflect"),
    "pad_replicate": lambda F, x: F.pad(x.unsqueeze(0), (2, 3), mode="replicate"),
    "pad_circular": lambda F, x: F.pad(x.unsqueeze(0), (1, 2), mode="circular"),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_more_activations_match_torch(name):
    # values at and around the kinks (+-3, 0, the hardtanh bounds), infinities and NaN
    values = np.array(
        [[-3.0, -1.0, -0.5, 0.0, 0.75], [1.0, 3.0, 2.5, -2.0, 0.3], [-0.1, 0.2, 6.0, -7.0, 1.5]],
        dtype=np.float64,
    )

    def run(lib):
        x = lib.tensor(values, requires_grad=True)
        out = ACTIVATIONS[name](lib.nn.functional, x)
        (out * lib.arange(float(out.numel())).reshape(out.shape)).sum().backward()
        return out.detach().numpy(), x.grad.numpy()

    (eo, eg), (to, tg) = run(ember), run(torch)
    # torch keeps some coefficients (celu's 1/alpha, elu's alpha) as float32
    # even for float64 inputs: agreement is to ~1e-7, not to double precision.
    np.testing.assert_allclose(eo, to, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(eg, tg, rtol=1e-6, atol=1e-12)


PADS = [
    (3, -5, 1, -5),
    (-1, 2, 0, 1),
    (2, -1, -2, 3),
    (5, 0, 0, 0),
    (6, 0, 0, 0),
    (-5, 0, 0, 0),
    (-6, 0, 0, 0),
    (-4, 5, 0, 0),
    (0, -4, 0, 0),
    (4, 4, 4, 4),
    (1, 1, -1, -1),
]


@pytest.mark.parametrize("mode", ["replicate", "reflect", "circular"])
@pytest.mark.parametrize("pads", PADS, ids=str)
def test_pad_with_negative_and_wide_pads_matches_torch(mode, pads):
    if mode == "circular" and pads == (3, -5, 1, -5):
        # cropping leaves no column to wrap: torch returns uninitialized memory, Ember raises
        with pytest.raises(RuntimeError, match="leaves nothing"):
            ember.nn.functional.pad(ember.ones(1, 1, 5, 5), pads, mode=mode)
        return

    def run(L):
        x = L.arange(25.0, dtype=L.float64).reshape(1, 1, 5, 5).requires_grad_()
        out = L.nn.functional.pad(x, pads, mode=mode)
        (out * L.arange(float(out.numel()), dtype=L.float64).reshape(out.shape)).sum().backward()
        # torch's circular backward counts one copy of a column that the wrap repeats more
        # often than the cropped width holds; Ember's gradient sums every copy.
        if mode == "circular" and pads == (-4, 5, 0, 0):
            return out.detach()
        return out.detach(), x.grad

    compare(run)


# (mode, input shape, pads): one to three padded dims, batched or not, crops
PAD_CASES = [
    ("constant", (5,), (2, 1)),
    ("constant", (2, 3, 4), (1, -1, 0, 2, 1, 1)),
    ("constant", (2, 3), (-1, -2)),
    ("reflect", (2, 5), (2, 3)),
    ("reflect", (2, 3, 5), (-1, 2)),
    ("reflect", (3, 4, 5), (1, 2, 3, 0)),
    ("reflect", (1, 2, 3, 4), (1, 3, -1, 2)),
    ("reflect", (2, 3, 4, 5), (1, 1, 2, 0, 1, 2)),
    ("reflect", (1, 2, 3, 4, 5), (2, -1, 1, 2, 1, 1)),
    ("replicate", (2, 4), (3, 5)),
    ("replicate", (2, 3, 4), (-2, 5)),
    ("replicate", (3, 2, 4), (2, 1, 3, 3)),
    ("replicate", (1, 2, 3, 4), (0, 4, -1, 2)),
    ("replicate", (2, 2, 3, 4), (1, 2, 2, 0, 3, 1)),
    ("replicate", (1, 2, 2, 3, 4), (1, 1, 1, 1, 2, 2)),
    ("circular", (2, 3, 4), (1, 2)),
    ("circular", (1, 2, 3, 4), (1, 2, 2, -1)),
]


def _pad_node_name(mode, pads):
    if mode == "constant":
        return "ConstantPadNdBackward0"
    if mode == "circular":
        return "CopySlices"
    kind = "Reflection" if mode == "reflect" else "Replication"
    return f"{kind}Pad{len(pads) // 2}DBackward0"


@pytest.mark.parametrize("mode,shape,pads", PAD_CASES, ids=str)
def test_pad_values_gradients_and_second_order_like_torch(mode, shape, pads):
    x = np.random.default_rng(0).standard_normal(shape)
    value = {"value": 1.5} if mode == "constant" else {}
    assert_grads_match(lambda L, t: F_of(L).pad(t, pads, mode=mode, **value), [x])


@pytest.mark.parametrize("mode,shape,pads", PAD_CASES, ids=str)
def test_pad_records_torch_node(mode, shape, pads):
    names = []
    for L in (ember, torch):
        x = L.ones(shape, requires_grad=True)
        out = F_of(L).pad(x, pads, mode=mode)
        names.append(type(out.grad_fn).__name__)
        if mode in ("reflect", "replicate"):
            (g,) = L.autograd.grad(out.sum(), x, create_graph=True)
            names.append(type(g.grad_fn).__name__)
            names.append([type(f).__name__ for f, _ in g.grad_fn.next_functions])
    assert names[: len(names) // 2] == names[len(names) // 2 :]
    assert names[0] == _pad_node_name(mode, pads)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
def test_border_pad_double_backward_reaches_self_with_zeros_like_torch(mode):
    def run(L):
        x = L.arange(12.0, dtype=L.float64).reshape(1, 3, 4).requires_grad_()
        (g,) = L.autograd.grad((F_of(L).pad(x, (2, 1), mode=mode) ** 2).sum(), x, create_graph=True)
        return L.autograd.grad(g.sum(), x)[0]

    compare(run)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
def test_border_pad_frees_its_saved_input_like_torch(mode):
    def run(L):
        x = L.ones(1, 2, 3, requires_grad=True)
        out = F_of(L).pad(x, (1, 1), mode=mode).sum()
        out.backward()
        out.backward()

    same_error(run)


def test_pad_dtypes_like_torch():
    for dtype in ("int64", "int32", "uint8", "bool", "float16", "bfloat16"):
        for mode in ("constant", "reflect", "replicate", "circular"):
            compare(
                lambda L: F_of(L).pad(
                    L.tensor([[[1, 0, 1, 1]]]).to(getattr(L, dtype)), (2, 1), mode=mode
                )
            )
    compare(lambda L: F_of(L).pad(L.arange(3), (1, 1), value=1.5))
    compare(lambda L: F_of(L).pad(L.tensor([True, False]), (1, 1), value=2.5))
    compare(lambda L: L.constant_pad_nd(L.ones(2, 3), (1, 1, 0, 1), 2))


@pytest.mark.parametrize(
    "mode,shape,pads",
    [
        ("foo", (2, 3), (1, 1)),
        ("constant", (3,), (1, 1, 1)),
        ("constant", (3,), (1, 1, 1, 1)),
        ("constant", (3,), (-2, -2)),
        ("constant", (3,), (-4, 1)),
        ("constant", (3,), (2, -5)),
        ("reflect", (2, 3), (1,)),
        ("reflect", (2, 3, 4), (1, 1, 2, 1, 1, 1)),
        ("reflect", (2, 1, 2, 3), (1, 1)),
        ("reflect", (1, 2, 3), (3, 1)),
        ("reflect", (1, 2, 3), (1, 3)),
        ("reflect", (1, 2, 3), (1, 1, 2, 0)),
        ("reflect", (1, 2, 3, 4), (0, 0, 3, 0)),
        ("reflect", (1, 1, 2, 3, 4), (0, 0, 0, 0, 2, 0)),
        ("reflect", (2, 3, 4), (-2, -2)),
        ("reflect", (1, 2, 3, 4), (-4, 0, -3, 0)),
        ("reflect", (1, 2, 3, 4), (-5, 0, 0, 0)),
        ("reflect", (1, 1, 2, 3, 4), (-4, 0, -3, 0, -2, 0)),
        ("reflect", (1, 1, 2, 3, 4), (0, 0, 0, 0, -3, 0)),
        ("replicate", (2, 3, 4), (-5, 0)),
        ("replicate", (1, 2, 3, 4), (-2, -2, -2, -1)),
        ("replicate", (1, 2, 3, 4), (0, 0, -4, 0)),
        ("replicate", (1, 1, 2, 3, 4), (-4, 0, -3, 0, -2, 0)),
        ("replicate", (1, 0, 3), (1, 1)),
        ("reflect", (0, 3), (1, 1)),
        ("replicate", (1, 2, 3, 0, 2), (1, 1, 1, 1, 1, 1)),
        ("circular", (1, 2, 3), (4, 0)),
        ("circular", (1, 2, 3), (-2, -2)),
    ],
    ids=str,
)
def test_pad_errors_like_torch(mode, shape, pads):
    same_error(lambda L: F_of(L).pad(L.ones(shape), pads, mode=mode))


def test_pad_argument_errors_like_torch():
    same_error(lambda L: F_of(L).pad(L.ones(2, 3), (1, 1), mode="reflect", value=1))
    same_error(lambda L: F_of(L).pad(L.ones(2, 3), [1.0, 2]))
    same_error(lambda L: F_of(L).pad(L.ones(2, 3), 1))
    same_error(lambda L: F_of(L).pad(L.ones(2, 3, dtype=L.bool), (1, 1), mode="reflect"))
    same_error(lambda L: F_of(L).pad(L.ones(1, 2, 3, dtype=L.bool), (1, 1, 1, 1), "replicate"))
    same_error(lambda L: L.constant_pad_nd(L.ones(2, 3), (1, 1, 1)))
    same_error(lambda L: L.constant_pad_nd(L.ones(2, 3), (1, 1, 1, 1, 1, 1)))


@pytest.mark.parametrize(
    "name", ["elu", "selu", "celu", "relu6", "hardtanh", "hardsigmoid", "hardswish", "mish"]
)
def test_more_activations_keep_nan_and_infinity_like_torch(name):
    # 64 elements, so torch runs its vectorized kernel, whose gradient at NaN Ember
    # follows (Note [NaN in activation gradients])
    def run(lib):
        special = [float("nan"), float("inf"), -float("inf"), 100.0]
        x = lib.tensor(special * 16, requires_grad=True)
        out = getattr(lib.nn.functional, name)(x)
        out.sum().backward()
        return out.detach().numpy(), x.grad.numpy()

    (ev, eg), (tv, tg) = run(ember), run(torch)
    np.testing.assert_array_equal(ev, tv)
    np.testing.assert_array_equal(eg, tg)


@pytest.mark.parametrize(
    "name,args",
    [
        ("ELU", ()),
        ("ELU", (0.5, True)),
        ("CELU", ()),
        ("SELU", ()),
        ("Hardtanh", (-2.0, 2.0)),
        ("ReLU6", ()),
        ("ReLU6", (True,)),
        ("Hardsigmoid", ()),
        ("Hardswish", ()),
        ("LogSigmoid", ()),
        ("Softsign", ()),
        ("Tanhshrink", ()),
        ("Mish", ()),
        ("GLU", (1,)),
    ],
)
def test_more_activation_modules_match_torch(name, args):
    x = np.linspace(-4, 4, 12).reshape(3, 4)
    e_mod, t_mod = getattr(ember.nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(e_mod) == repr(t_mod)
    np.testing.assert_allclose(
        e_mod(ember.tensor(x)).numpy(), t_mod(torch.tensor(x)).numpy(), rtol=1e-12
    )


@pytest.mark.parametrize(
    "fn",
    [
        lambda L: L.nn.functional.glu(L.ones(3)),
        lambda L: L.nn.functional.elu(L.tensor([1, 2])),
        lambda L: L.nn.functional.hardtanh(L.ones(2), 1.0, -1.0),
        lambda L: L.nn.functional.pad(L.ones(3), (1, 2, 3)),
        lambda L: L.nn.functional.pad(L.ones(3), (1, 1, 1, 1)),
        lambda L: L.nn.functional.pad(L.ones(2, 3), (3, 3), mode="reflect"),
        lambda L: L.nn.functional.pad(L.ones(2, 3), (-2, -2)),
        lambda L: L.nn.functional.pad(L.ones(2, 3), (1, 1), mode="bogus"),
    ],
)
def test_more_activation_misuse_matches_torch(fn):
    compare(fn)


def test_forward_hook_with_always_call_runs_when_forward_raises():
    def run(lib):
        class Failing(lib.nn.Module):
            def forward(self, x):
                raise ValueError("bad input")

        seen = []
        m = Failing()
        m.register_forward_hook(
            lambda mod, args, out: seen.append(("always", out)), always_call=True
        )
        m.register_forward_hook(lambda mod, args, out: seen.append(("normal", out)))
        with pytest.raises(ValueError, match="bad input"):
            m(lib.ones(1))
        return seen

    assert run(ember) == run(torch) == [("always", None)]


# ----- native layer norm and fused softmax ------------------------------------------


@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_layer_norm_records_one_native_node_like_torch(affine):
    def run(L):
        x = L.randn(2, 3, 4, requires_grad=True)
        w = L.ones(4, requires_grad=True) if affine in ("both", "weight") else None
        b = L.zeros(4, requires_grad=True) if affine in ("both", "bias") else None
        y = L.nn.functional.layer_norm(x, (4,), w, b)
        fns = y.grad_fn.next_functions
        return type(y.grad_fn).__name__, [None if f is None else type(f).__name__ for f, _ in fns]

    assert run(ember) == run(torch)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 6),
    n=st.integers(3, 70),
    dtype=st.sampled_from(["float32", "float64"]),
    seed=st.integers(0, 2**16),
)
def test_layer_norm_hypothesis_values_and_grads(rows, n, dtype, seed):
    rng = np.random.default_rng(seed)
    arrays = [
        rand_array(rng, (rows, 2, n), dtype, -4, 4),
        rand_array(rng, (n,), dtype, 0.5, 2),
        rand_array(rng, (n,), dtype),
    ]
    pairs = [make_pair(a, "contiguous") for a in arrays]
    e_out = EF.layer_norm(pairs[0].e, (n,), pairs[1].e, pairs[2].e)
    t_out = TF.layer_norm(pairs[0].t, (n,), pairs[1].t, pairs[2].t)
    close(e_out, t_out, dtype)
    backward_both(e_out, t_out, seed=seed)
    # From 3 elements on: with 1 or 2 the normalized row is constant (0, or
    # +-1) and the true gradient 0, so both libraries return rounding noise.
    # The input gradient subtracts row means of terms up to ~4 here (inputs in
    # [-4, 4], weights up to 2): float32 agrees to about 1e-5 of that scale
    # whatever the order of additions (2.2e-5 seen at 3 elements).
    assert_grads_close(pairs, *({"float32": (1e-4, 5e-5)}.get(dtype) or NORM_TOL[dtype]))


def test_layer_norm_double_backward_like_torch():
    x = np.random.default_rng(3).standard_normal((3, 5))
    w = np.linspace(0.5, 2, 5)

    def run(L):
        X = L.tensor(x, requires_grad=True)
        W = L.tensor(w, requires_grad=True)
        B = L.tensor(w[::-1].copy(), requires_grad=True)
        y = L.nn.functional.layer_norm(X, (5,), W, B)
        gx, gw, gb = L.autograd.grad((y**3).sum(), (X, W, B), create_graph=True)
        (gx.square().sum() + (gw * gb).sum()).backward()
        return [t.detach().numpy() for t in (gx, gw, gb, X.grad, W.grad)]

    for e, t in zip(run(ember), run(torch)):
        np.testing.assert_allclose(e, t, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("fn_name", ["softmax", "log_softmax"])
def test_softmax_rows_with_nan_and_inf_like_torch(fn_name):
    inf, nan = float("inf"), float("nan")
    x = np.array(
        [[1.0, nan, 2.0], [-inf, -inf, -inf], [-inf, 0.0, 1.0], [inf, 1.0, 2.0], [0.0, 0.0, 0.0]],
        np.float32,
    )
    check(lambda L, t: getattr(F_of(L), fn_name)(t, dim=-1), [x])


@pytest.mark.parametrize("fn_name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("n", [1, 7, 8, 9, 64, 1000])
def test_softmax_last_dim_row_lengths_and_create_graph(fn_name, n):
    # Row lengths around the kernel's 8 lanes, and the composed backward used
    # under create_graph agreeing with the fused one.
    x = np.random.default_rng(n).standard_normal((5, n))
    check(lambda L, t: getattr(F_of(L), fn_name)(t, dim=-1), [x])

    def second(L):
        X = L.tensor(x, requires_grad=True)
        y = getattr(F_of(L), fn_name)(X, dim=-1)
        (g,) = L.autograd.grad((y * L.tensor(x)).sum(), X, create_graph=True)
        g.square().sum().backward()
        return g.detach().numpy(), X.grad.numpy()

    for e, t in zip(second(ember), second(torch)):
        np.testing.assert_allclose(e, t, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("padding_idx", [None, 0, -1])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("index_shape", [(), (0,), (4,), (2, 3)], ids=str)
def test_embedding_native_node_values_and_double_backward_like_torch(
    padding_idx, dtype, index_shape
):
    rng = np.random.default_rng(11)
    w = rng.standard_normal((5, 3)).astype(dtype)
    idx = rng.integers(0, 5, size=index_shape)
    g = rng.standard_normal(index_shape + (3,)).astype(dtype)

    def run(L):
        W = L.tensor(w, requires_grad=True)
        G = L.tensor(g, requires_grad=True)
        y = L.nn.functional.embedding(L.tensor(idx), W, padding_idx=padding_idx)
        # torch's double backward fails on empty indices (a reshape to [0, -1])
        create_graph = idx.size > 0
        (gw,) = L.autograd.grad(y, W, G, create_graph=create_graph)
        if not create_graph:
            return type(y.grad_fn).__name__, y.detach().numpy(), gw.numpy()
        (gw * gw).sum().backward()
        names = (type(y.grad_fn).__name__, type(gw.grad_fn).__name__)
        return names, y.detach().numpy(), gw.detach().numpy(), G.grad.numpy()

    e, t = run(ember), run(torch)
    assert e[0] == t[0]
    for a, b in zip(e[1:], t[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("bad", [[-1], [5], [0, 7]])
def test_embedding_index_out_of_range_like_torch(bad):
    def run(L):
        return L.nn.functional.embedding(L.tensor(bad), L.ones(5, 3))

    e, t = capture(run, ember), capture(run, torch)
    assert type(e) is type(t) is IndexError and str(e) == str(t)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5), (2, 4, 3, 3)], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_native_node_running_stats_and_double_backward_like_torch(
    training, shape, affine
):
    rng = np.random.default_rng(21)
    x = rng.standard_normal(shape) * 3 + 1
    w, b = rng.uniform(0.5, 2, 4), rng.standard_normal(4)
    rm, rv = rng.standard_normal(4), rng.uniform(0.5, 2, 4)

    def run(L):
        X = L.tensor(x, requires_grad=True)
        W = L.tensor(w, requires_grad=True) if affine else None
        B = L.tensor(b, requires_grad=True) if affine else None
        RM, RV = L.tensor(rm), L.tensor(rv)
        y = L.nn.functional.batch_norm(X, RM, RV, W, B, training=training, momentum=0.3)
        leaves = [X] + ([W, B] if affine else [])
        grads = L.autograd.grad((y**3).sum(), leaves, create_graph=True)
        sum(g.square().sum() for g in grads).backward()
        out = [y, RM, RV, *grads] + [t.grad for t in leaves]
        return type(y.grad_fn).__name__, [t.detach().numpy() for t in out]

    (e_name, e), (t_name, t) = run(ember), run(torch)
    assert e_name == t_name == "NativeBatchNormBackward0"
    for a, c in zip(e, t):
        np.testing.assert_allclose(a, c, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("fn_name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("n", [8, 17, 40])
def test_softmax_rows_far_below_the_max_like_torch(fn_name, n):
    # Masked (-inf) entries and shifted logits whose exponentials are denormal
    # floats or round to 0: computed apart from the vector exp, exactly as torch.
    row = [0.0, -90.0, -100.0, -103.5, -105.0, -float("inf"), -87.5, -86.9]
    x = np.array([row + [-1.0] * (n - 8), row[::-1] + [2.0] * (n - 8)], np.float32)
    e = getattr(ember, fn_name)(ember.tensor(x), -1).numpy()
    t = getattr(torch, fn_name)(torch.tensor(x), -1).numpy()
    np.testing.assert_allclose(e, t, rtol=2e-6, atol=0)
    assert (e[0, :8] == 0).tolist() == (t[0, :8] == 0).tolist()


@pytest.mark.parametrize("fn", ["softplus", "logsigmoid"])
def test_softplus_family_nan_in_nan_out_gradient_like_torch(fn):
    # A NaN input used to get a 0 gradient (through the clamp that caps exp()),
    # so a diverging run looked healthy.
    values = [float("nan"), 30.0, -30.0, 0.5, float("inf"), -float("inf")]

    def run(L):
        x = L.tensor(values, requires_grad=True)
        y = getattr(L.nn.functional, fn)(x)
        y.sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    for e, t in zip(run(ember), run(torch)):
        np.testing.assert_allclose(e, t, rtol=1e-6)  # NaN positions must agree too


@pytest.mark.parametrize("fn", ["layer_norm", "batch_norm"])
def test_norms_refuse_integer_input_like_torch(fn):
    def run(L):
        x = L.ones(2, 3, dtype=L.int64)
        if fn == "layer_norm":
            return L.nn.functional.layer_norm(x, (3,))
        return L.nn.functional.batch_norm(x, None, None, training=True)

    e, t = capture(run, ember), capture(run, torch)
    assert type(e) is type(t) is NotImplementedError and str(e) == str(t)


@pytest.mark.parametrize(
    "shape, groups", [((2, 6, 5), 3), ((3, 4, 2, 3), 2), ((2, 8), 2), ((2, 6, 1, 1), 1)]
)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_module_values_grads_repr_like_torch(shape, groups, dtype, affine):
    rng = np.random.default_rng(9)
    x = rng.standard_normal(shape).astype(dtype) * 2 + 1
    g = rng.standard_normal(shape).astype(dtype)

    def run(L):
        L.manual_seed(0)
        m = L.nn.GroupNorm(groups, shape[1], affine=affine).to(getattr(L, dtype))
        if affine:
            with L.no_grad():
                m.weight.copy_(L.tensor(np.linspace(0.5, 2, shape[1]).astype(dtype)))
                m.bias.copy_(L.tensor(np.linspace(-1, 1, shape[1]).astype(dtype)))
        X = L.tensor(x, requires_grad=True)
        y = m(X)
        y.backward(L.tensor(g))
        grads = [X.grad] + ([m.weight.grad, m.bias.grad] if affine else [])
        return repr(m), list(m.state_dict()), [t.detach().numpy() for t in [y] + grads]

    e, t = run(ember), run(torch)
    assert e[:2] == t[:2]
    tol = {"float32": 2e-5, "float64": 1e-10}[dtype]
    for a, b in zip(e[2], t[2]):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_group_norm_errors_like_torch():
    for fn in (
        lambda L: L.nn.functional.group_norm(L.ones(2, 6, 3), 4),
        lambda L: L.nn.GroupNorm(4, 6),
    ):
        e, t = capture(fn, ember), capture(fn, torch)
        assert type(e) is type(t) and str(e) == str(t)


@pytest.mark.parametrize(
    "cls, shape",
    [
        ("InstanceNorm1d", (2, 3, 7)),
        ("InstanceNorm2d", (2, 3, 4, 5)),
        ("InstanceNorm2d", (3, 4, 5)),
        ("InstanceNorm3d", (1, 2, 3, 2, 4)),
    ],
)
@pytest.mark.parametrize("affine", [False, True])
def test_instance_norm_modules_like_torch(cls, shape, affine):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape) * 3 + 2
    channels = shape[1] if len(shape) > 3 or cls == "InstanceNorm1d" else shape[0]

    def run(L):
        m = getattr(L.nn, cls)(channels, affine=affine).double()
        X = L.tensor(x, requires_grad=True)
        y = m(X)
        (y**3).sum().backward()
        grads = [X.grad] + ([m.weight.grad, m.bias.grad] if affine else [])
        return repr(m), list(m.state_dict()), [t.detach().numpy() for t in [y] + grads]

    e, t = run(ember), run(torch)
    assert e[:2] == t[:2]
    for a, b in zip(e[2], t[2]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("dim", [-1, 0])
def test_gumbel_softmax_samples_and_gradients_match_torch(hard, dim):
    def run(lib):
        lib.manual_seed(5)
        logits = lib.randn(3, 4, requires_grad=True)
        out = lib.nn.functional.gumbel_softmax(logits, tau=0.7, hard=hard, dim=dim)
        (out * lib.arange(12.0).reshape(3, 4)).sum().backward()
        return out.detach().numpy(), logits.grad.numpy()

    (eo, eg), (to, tg) = run(ember), run(torch)
    np.testing.assert_allclose(eo, to, rtol=1e-6)
    np.testing.assert_allclose(eg, tg, rtol=1e-5, atol=1e-5)  # float32 softmax gradient


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 2), (4, 4)])
def test_orthogonal_init_draws_torchs_matrix(shape):
    def run(lib):
        lib.manual_seed(9)
        return lib.nn.init.orthogonal_(lib.empty(*shape), gain=1.5).numpy()

    e, t = run(ember), run(torch)
    np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)
    flat = e.reshape(shape[0], -1)
    small = flat @ flat.T if shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(small, 2.25 * np.eye(len(small)), atol=1e-5)


def test_orthogonal_init_refuses_vectors_like_torch():
    with pytest.raises(ValueError, match="2 or more dimensions"):
        ember.nn.init.orthogonal_(ember.empty(3))
