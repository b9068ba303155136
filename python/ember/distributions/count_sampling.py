"""Poisson and binomial draws, vectorized: inversion of the CDF where the mean is
small, and Hormann's transformed rejection (PTRS for Poisson, BTRS for the
binomial, W. Hormann 1993) where it is large. Torch's own samplers consume its
random stream differently, so these draws follow the right law but are not
torch's numbers for a seed."""

from .. import _C
from .._grad_mode import no_grad
from .._stacking import broadcast_tensors

_INVERSION_LIMIT = 10.0  # mean below which the CDF is inverted


def _inversion(first_mass, next_mass_ratio, upper, shape, dtype):
    """Smallest k with u < P(X <= k): masses grow by next_mass_ratio(k) from
    first_mass, k capped at upper (the support's end, or where the tail is nil)."""
    u = _C.rand(shape, dtype=dtype)
    k = _C.zeros(shape, dtype=dtype)
    mass = first_mass.clone()
    cumulative = mass.clone()
    undecided = u >= cumulative
    while bool(undecided.any()):
        k = k + undecided.to(dtype)
        mass = _C.where(undecided, mass * next_mass_ratio(k - 1), mass)
        cumulative = _C.where(undecided, cumulative + mass, cumulative)
        undecided = undecided & (u >= cumulative) & (k < upper)
    return k


def _transformed_rejection(propose_and_test, shape, dtype):
    """Draws from a rejection sampler until every element is accepted."""
    result = _C.zeros(shape, dtype=dtype)
    pending = _C.ones(shape, dtype=_C.bool)
    while bool(pending.any()):
        u = _C.rand(shape, dtype=dtype) - 0.5
        v = _C.rand(shape, dtype=dtype)
        k, accepted = propose_and_test(u, v)
        take = pending & accepted
        result = _C.where(take, k, result)
        pending = pending & ~take
    return result


def _poisson_ptrs(rate, shape, dtype):
    slam = rate.sqrt()
    log_rate = rate.log()
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)

    def propose_and_test(u, v):
        us = 0.5 - u.abs()
        k = ((2 * a / us + b) * u + rate + 0.43).floor()
        quick = (us >= 0.07) & (v <= vr)
        log_ratio = (v * inv_alpha / (a / (us * us) + b)).log()
        exact = log_ratio <= -rate + k * log_rate - (k + 1).lgamma()
        return k, (quick | (exact & (k >= 0) & ~((us < 0.013) & (v > us))))

    return _transformed_rejection(propose_and_test, shape, dtype)


def poisson(rate):
    """One Poisson(rate) draw per element of rate (float dtype, rate >= 0)."""
    with no_grad():
        rate = rate.detach()
        shape, dtype = tuple(rate.shape), rate.dtype
        small = rate < _INVERSION_LIMIT
        small_rate = _C.where(small, rate, _C.zeros_like(rate))
        upper = small_rate + 20 * small_rate.sqrt() + 40  # the tail past it is below 1e-30
        result = _inversion(
            (-small_rate).exp(), lambda k: small_rate / (k + 1), upper, shape, dtype
        )
        if bool((~small).any()):
            large_rate = _C.where(small, _C.full_like(rate, _INVERSION_LIMIT), rate)
            result = _C.where(small, result, _poisson_ptrs(large_rate, shape, dtype))
        return result


def _binomial_btrs(n, p, shape, dtype):
    """BTRS for p <= 1/2 and n p >= the inversion limit."""
    q = 1 - p
    spq = (n * p * q).sqrt()
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    vr = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    log_odds = (p / q).log()
    m = ((n + 1) * p).floor()
    h = (m + 1).lgamma() + (n - m + 1).lgamma()

    def propose_and_test(u, v):
        us = 0.5 - u.abs()
        k = ((2 * a / us + b) * u + c).floor()
        in_range = (k >= 0) & (k <= n)
        quick = (us >= 0.07) & (v <= vr)
        safe_k = k.clamp(min=0).minimum(n)
        log_v = (v * alpha / (a / (us * us) + b)).log()
        exact = log_v <= h - (safe_k + 1).lgamma() - (n - safe_k + 1).lgamma() + (k - m) * log_odds
        return k, in_range & (quick | exact)

    return _transformed_rejection(propose_and_test, shape, dtype)


def binomial(total_count, probs):
    """One Binomial(total_count, probs) draw per element (broadcast, float dtype)."""
    with no_grad():
        n, p = broadcast_tensors(total_count.detach(), probs.detach())
        shape, dtype = tuple(n.shape), n.dtype
        flipped = p > 0.5  # draw n - Binomial(n, 1 - p) so that p <= 1/2
        p = _C.where(flipped, 1 - p, p)
        small = n * p < _INVERSION_LIMIT
        small_p = _C.where(small, p, _C.zeros_like(p))
        odds = small_p / (1 - small_p)
        result = _inversion(
            (n * (-small_p).log1p()).exp(), lambda k: odds * (n - k) / (k + 1), n, shape, dtype
        )
        if bool((~small).any()):
            large_p = _C.where(small, _C.full_like(p, 0.5), p)
            large_n = _C.where(small, _C.full_like(n, 4 * _INVERSION_LIMIT), n)
            result = _C.where(small, result, _binomial_btrs(large_n, large_p, shape, dtype))
        return _C.where(flipped, n - result, result)
