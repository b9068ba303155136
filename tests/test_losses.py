"""Margin, ranking, embedding and Poisson losses against torch: values and
gradients for each reduction, modules included."""

import numpy as np
import pytest
from conftest import ember, torch

REDUCTIONS = ["mean", "sum", "none"]


def _compare(run):
    for e, t in zip(run(ember), run(torch)):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


def _signs(rng, shape):
    return np.where(rng.random(shape) > 0.5, 1.0, -1.0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_hinge_soft_margin_like_torch(reduction):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 6, 4))
    y = _signs(rng, (6, 4))

    def run(L):
        x1, x2 = L.tensor(a, requires_grad=True), L.tensor(b, requires_grad=True)
        t = L.tensor(y)
        F = L.nn.functional
        losses = [
            F.margin_ranking_loss(x1, x2, t, margin=0.3, reduction=reduction),
            L.nn.MarginRankingLoss(0.1, reduction=reduction)(x1, x2, t),
            F.hinge_embedding_loss(x1, t, margin=0.5, reduction=reduction),
            L.nn.HingeEmbeddingLoss(reduction=reduction)(x2, t),
            F.soft_margin_loss(x1, t, reduction=reduction),
            L.nn.SoftMarginLoss(reduction=reduction)(x2, t),
        ]
        sum(loss.sum() for loss in losses).backward()
        return [loss.detach().numpy() for loss in losses] + [x1.grad.numpy(), x2.grad.numpy()]

    _compare(run)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("swap", [False, True])
def test_cosine_embedding_and_triplet_like_torch(reduction, swap):
    rng = np.random.default_rng(2)
    a, p, n = rng.standard_normal((3, 5, 4))
    y = _signs(rng, 5)

    def run(L):
        ta, tp, tn = (L.tensor(v, requires_grad=True) for v in (a, p, n))
        F = L.nn.functional
        losses = [
            F.cosine_embedding_loss(ta, tp, L.tensor(y), margin=0.2, reduction=reduction),
            L.nn.CosineEmbeddingLoss(reduction=reduction)(tp, tn, L.tensor(y)),
            F.triplet_margin_loss(ta, tp, tn, margin=0.5, swap=swap, reduction=reduction),
            L.nn.TripletMarginLoss(p=1.0, swap=swap, reduction=reduction)(ta, tp, tn),
        ]
        sum(loss.sum() for loss in losses).backward()
        return [loss.detach().numpy() for loss in losses] + [t.grad.numpy() for t in (ta, tp, tn)]

    _compare(run)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "log_input, full", [(True, False), (False, False), (True, True), (False, True)]
)
def test_poisson_nll_like_torch(reduction, log_input, full):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3)) if log_input else rng.random((4, 3)) + 0.1
    target = rng.integers(0, 5, (4, 3)).astype(np.float64)

    def run(L):
        tx = L.tensor(x, requires_grad=True)
        loss = L.nn.PoissonNLLLoss(log_input=log_input, full=full, reduction=reduction)(
            tx, L.tensor(target)
        )
        loss.sum().backward()
        return loss.detach().numpy(), tx.grad.numpy()

    _compare(run)


# ---- binary_cross_entropy_with_logits: the fused pass and the composed ops ----


def _bce_inputs(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * 8).astype(dtype)
    x[:6] = [np.inf, -np.inf, np.nan, -0.0, 0.0, 100.0]
    y = rng.random(n).astype(dtype)
    y[:6] = [0.0, 1.0, 0.5, 1.0, 0.0, 1.0]
    return x, y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [7, 70_000])
def test_bce_with_logits_fused_pass_gives_the_composed_bits(n, dtype):
    # A weight of ones takes the composed ops, whose every rounding the fused
    # pass repeats: losses and gradients agree bit for bit.
    F = ember.nn.functional
    x, y = _bce_inputs(n, dtype)
    fused_x = ember.tensor(x, requires_grad=True)
    composed_x = ember.tensor(x, requires_grad=True)
    target, ones = ember.tensor(y), ember.ones(n, dtype=fused_x.dtype)
    fused = F.binary_cross_entropy_with_logits(fused_x, target, reduction="none")
    composed = F.binary_cross_entropy_with_logits(composed_x, target, weight=ones, reduction="none")
    np.testing.assert_array_equal(fused.detach().numpy(), composed.detach().numpy())
    g = ember.tensor(np.linspace(-1, 1, n).astype(dtype))
    fused.backward(g)
    composed.backward(g)
    np.testing.assert_array_equal(fused_x.grad.numpy(), composed_x.grad.numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_values_grads_and_double_grads_like_torch(reduction):
    x, y = _bce_inputs(50, np.float64, seed=3)
    x, y = x[6:], y[6:]  # finite values, for the double gradient
    results = {}
    for lib in (ember, torch):
        xt = lib.tensor(x, requires_grad=True)
        loss = lib.nn.functional.binary_cross_entropy_with_logits(
            xt, lib.tensor(y), reduction=reduction
        )
        (gx,) = lib.autograd.grad(loss.sum(), xt, create_graph=True)
        (ggx,) = lib.autograd.grad((gx * gx).sum(), xt)
        results[lib] = [t.detach().numpy() for t in (loss, gx, ggx)]
    for got, want in zip(results[ember], results[torch]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
