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
