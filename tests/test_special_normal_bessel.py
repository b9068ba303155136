"""torch.special's normal-distribution functions (ndtr, ndtri, log_ndtr, erfcx)
and modified Bessel functions (i0, i0e, i1, i1e, modified_bessel_i0/i1,
spherical_bessel_j0) against torch: values in float32 and float64 over dense
grids and at the edges, integer promotion, node names, gradients to second
order, and identities that tie them together."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest
import torch
from conftest import compare

# name: (the function of a library, its domain for the dense float64 sweep)
FUNCTIONS = {
    "ndtr": (lambda L, x: L.special.ndtr(x), (-8.0, 8.0)),
    "ndtri": (lambda L, x: L.special.ndtri(x), (1e-12, 1 - 1e-12)),
    "log_ndtr": (lambda L, x: L.special.log_ndtr(x), (-40.0, 10.0)),
    "erfcx": (lambda L, x: L.special.erfcx(x), (-20.0, 60.0)),
    "i0": (lambda L, x: L.i0(x), (-50.0, 50.0)),
    "special.i0": (lambda L, x: L.special.i0(x), (-5.0, 5.0)),
    "i0e": (lambda L, x: L.special.i0e(x), (-200.0, 200.0)),
    "i1": (lambda L, x: L.special.i1(x), (-50.0, 50.0)),
    "i1e": (lambda L, x: L.special.i1e(x), (-200.0, 200.0)),
    "modified_bessel_i0": (lambda L, x: L.special.modified_bessel_i0(x), (-30.0, 30.0)),
    "modified_bessel_i1": (lambda L, x: L.special.modified_bessel_i1(x), (-30.0, 30.0)),
    "spherical_bessel_j0": (lambda L, x: L.special.spherical_bessel_j0(x), (-30.0, 30.0)),
}
DIFFERENTIABLE = ["ndtr", "ndtri", "log_ndtr", "erfcx", "i0", "i0e", "i1", "i1e"]
NOT_DIFFERENTIABLE = ["modified_bessel_i0", "modified_bessel_i1", "spherical_bessel_j0"]

EDGES = [0.0, -0.0, 1e-300, -1e-300, 1e-10, 0.5, 1.0, -1.0, 1e3, -1e3, 1e300, -1e300]
SPECIALS = [math.inf, -math.inf, math.nan]
# I0 and I1 at +-inf are +-inf here and NaN in torch; I0 and I1 between
# log(max double) and ~714 are finite here and inf in torch
# (docs/compatibility.md, "Values at the edges")
UNSCALED_BESSEL = {"i0", "special.i0", "i1", "modified_bessel_i0", "modified_bessel_i1"}


def _sweep(name, n=2001):
    low, high = FUNCTIONS[name][1]
    return np.linspace(low, high, n)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_float64_values_match_torch_over_the_domain(name):
    fn = FUNCTIONS[name][0]
    x = _sweep(name)
    # spherical j0 near its zeros is compared absolutely: sin(x) / x has no
    # relative accuracy to offer there in either library
    atol = 1e-16 if name == "spherical_bessel_j0" else 0.0
    compare(lambda L: fn(L, L.tensor(x, dtype=L.float64)), rtol=1e-12, atol=atol)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_float32_values_match_torch(name):
    fn = FUNCTIONS[name][0]
    x = _sweep(name, 301)
    # torch computes float32 in float, Ember in double rounded once: a few ulps
    # apart; ndtr is 1 + erf in float in both, whose cancellation leaves an
    # absolute accuracy only
    atol = 1e-7 if name == "ndtr" else 1e-30
    compare(lambda L: fn(L, L.tensor(x, dtype=L.float32)), rtol=1e-5, atol=atol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_edges_infinities_and_nan_match_torch(name, dtype):
    fn = FUNCTIONS[name][0]
    points = EDGES + SPECIALS
    if name in UNSCALED_BESSEL:
        points = [p for p in EDGES if abs(p) < 1e300] + [math.nan]
    if name == "ndtri":
        points = [0.0, -0.0, 1.0, 0.5, 1e-300, 1e-30, 1 - 1e-16, 1.5, -0.5] + SPECIALS
    rtol = 1e-12 if dtype == "float64" else 3e-6
    compare(
        lambda L: fn(L, L.tensor(points, dtype=L.float64).to(getattr(L, dtype))),
        rtol=rtol,
        atol=1e-300,
    )


def test_signed_zeros_match_torch():
    for name in ("ndtri", "i1", "i1e", "erfcx"):
        fn = FUNCTIONS[name][0]
        x = [0.0, -0.0] if name != "ndtri" else [0.5]
        e = fn(ember, ember.tensor(x, dtype=ember.float64)).numpy()
        t = fn(torch, torch.tensor(x, dtype=torch.float64)).numpy()
        np.testing.assert_array_equal(np.signbit(e), np.signbit(t))


TAILS = {
    # far tails where a naive formula underflows, overflows or cancels
    "ndtri": [1e-300, 1e-100, 1e-20, 1e-5, 0.3, 0.7, 1 - 1e-10, 1 - 2**-53],
    "log_ndtr": [-1e5, -300.0, -38.0, -10.0, -1.0, 5.0, 9.0, 37.0],
    "erfcx": [-26.0, -5.0, 11.9, 12.1, 30.0, 1e5, 1e10, 1e300],
    "i0": [19.9, 20.1, 300.0, 700.0, 709.0, 720.0],
    "i0e": [19.9, 20.1, 1e3, 1e8, 1e300],
    "i1": [-709.0, -19.9, 20.1, 500.0, 720.0],
    "i1e": [-1e8, -20.1, 19.9, 1e3, 1e300],
}


@pytest.mark.parametrize("name", sorted(TAILS))
def test_tails_match_torch(name):
    fn = FUNCTIONS[name][0]
    compare(lambda L: fn(L, L.tensor(TAILS[name], dtype=L.float64)), rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_integer_inputs_promote_like_torch(name, dtype):
    fn = FUNCTIONS[name][0]
    values = [0, 1, 3] if dtype != "bool" else [False, True, True]
    compare(lambda L: fn(L, L.tensor(values, dtype=getattr(L, dtype))), rtol=3e-6, atol=1e-30)


def test_unscaled_bessel_overflow_and_infinities():
    x = ember.tensor([710.0, 713.9, math.inf, -math.inf], dtype=ember.float64)
    i0, i1 = ember.i0(x).numpy(), ember.special.i1(x).numpy()
    assert np.all(np.isfinite(i0[:2])) and np.all(np.isfinite(i1[:2]))
    np.testing.assert_array_equal(i0[2:], [math.inf, math.inf])
    np.testing.assert_array_equal(i1[2:], [math.inf, -math.inf])
    # e^{-x} I0(x) of the unscaled value agrees with the scaled function
    np.testing.assert_allclose(
        i0[:2] * np.exp(-x.numpy()[:2]), ember.special.i0e(x[:2]).numpy(), rtol=1e-14
    )


def _node_chain(y):
    names, node = [], y.grad_fn
    while node is not None:
        names.append(type(node).__name__)
        node = next((f for f, _ in node.next_functions if f is not None), None)
    return names


def test_ndtr_composes_torchs_graph():
    # torch's C++ composition records the Scalar forms (MulBackward1,
    # AddBackward1); Ember composes with the tensor forms (docs/compatibility.md)
    e = _node_chain(ember.special.ndtr(ember.tensor([0.3], requires_grad=True)))
    t = _node_chain(torch.special.ndtr(torch.tensor([0.3], requires_grad=True)))
    assert [n[:-1] for n in e] == [n[:-1] for n in t]


@pytest.mark.parametrize("name", [n for n in DIFFERENTIABLE if n != "ndtr"])
def test_node_names_match_torch(name):
    fn = FUNCTIONS[name][0]
    e = fn(ember, ember.tensor([0.3], dtype=ember.float64, requires_grad=True))
    t = fn(torch, torch.tensor([0.3], dtype=torch.float64, requires_grad=True))
    assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__


@pytest.mark.parametrize("name", NOT_DIFFERENTIABLE)
def test_functions_without_derivative_record_nothing_like_torch(name):
    fn = FUNCTIONS[name][0]
    for L in (ember, torch):
        y = fn(L, L.tensor([0.3], dtype=L.float64, requires_grad=True))
        assert y.grad_fn is None and not y.requires_grad
        with pytest.raises(RuntimeError, match="does not require grad"):
            y.sum().backward()


GRAD_POINTS = {
    "ndtri": [0.01, 0.2, 0.5, 0.9, 0.999],
    "log_ndtr": [-30.0, -3.0, -0.5, 0.0, 2.0, 8.0],
    # past x ~ 15 erfcx's second derivative is a difference of nearly equal
    # terms in both libraries, and agrees only to ~1e-9
    "erfcx": [-3.0, -0.5, 0.0, 1.0, 5.0, 13.0],
}


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradients_match_torch_to_second_order(name):
    fn = FUNCTIONS[name][0]
    points = GRAD_POINTS.get(name, [-25.0, -3.0, -0.5, 0.0, 0.7, 4.0, 21.0])

    def run(L):
        x = L.tensor(points, dtype=L.float64, requires_grad=True)
        (g,) = L.autograd.grad(fn(L, x).sum(), x, create_graph=True)
        (gg,) = L.autograd.grad(g.sum(), x)
        return g.detach(), gg

    compare(run, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradcheck_and_gradgradcheck(name):
    fn = FUNCTIONS[name][0]
    base = [0.1, 0.4, 0.8] if name == "ndtri" else [-1.3, 0.2, 2.1]
    x = ember.tensor(base, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a: fn(ember, a), (x,))
    assert ember.autograd.gradgradcheck(lambda a: fn(ember, a), (x,))


def test_identities_hold():
    x = ember.tensor(np.linspace(-30.0, 8.0, 401), dtype=ember.float64)
    # ndtri inverts the normal CDF, written through erfc so that it keeps
    # its relative precision in the lower tail
    lower = x[x < 0]
    cdf = 0.5 * ember.erfc(-lower / math.sqrt(2))
    np.testing.assert_allclose(ember.special.ndtri(cdf).numpy(), lower.numpy(), rtol=1e-13)
    # log_ndtr(x) = log(erfc(-x / sqrt 2) / 2), which erfc keeps relative down to -37
    # (above 0 the log of a number near 1 loses what log_ndtr's log1p keeps)
    mid = x[(x > -37) & (x < 0)]
    np.testing.assert_allclose(
        ember.special.log_ndtr(mid).numpy(),
        np.log(0.5 * ember.erfc(-mid / math.sqrt(2)).numpy()),
        rtol=1e-13,
    )
    # the scaled forms are the plain ones times e^{-|x|}; i0 is even and i1 odd
    b = ember.tensor(np.linspace(-40.0, 40.0, 321), dtype=ember.float64)
    for plain, scaled in (
        (ember.special.i0, ember.special.i0e),
        (ember.special.i1, ember.special.i1e),
    ):
        np.testing.assert_allclose(
            scaled(b).numpy(), (plain(b) * (-b.abs()).exp()).numpy(), rtol=1e-14
        )
    np.testing.assert_array_equal(ember.i0(-b).numpy(), ember.i0(b).numpy())
    np.testing.assert_array_equal(ember.special.i1(-b).numpy(), -ember.special.i1(b).numpy())
    # erfcx(x) = e^{x^2} erfc(x) and erfcx(x) + erfcx(-x) = 2 e^{x^2}
    e = ember.tensor(np.linspace(-5.0, 5.0, 101), dtype=ember.float64)
    np.testing.assert_allclose(
        ember.special.erfcx(e).numpy(), ((e * e).exp() * ember.erfc(e)).numpy(), rtol=1e-13
    )
    np.testing.assert_allclose(
        (ember.special.erfcx(e) + ember.special.erfcx(-e)).numpy(),
        (2 * (e * e).exp()).numpy(),
        rtol=1e-14,
    )


def test_in_place_and_out_forms_match_torch():
    def run(L):
        x = L.tensor([0.5, -2.0, 3.0], dtype=L.float64)
        y = x.clone()
        y.i0_()
        out = L.empty(3, dtype=L.float64)
        L.special.ndtri(L.tensor([0.1, 0.5, 0.9], dtype=L.float64), out=out)
        out2 = L.empty(3, dtype=L.float64)
        L.i0(x, out=out2)
        return y, out, out2, x.i0()

    compare(run, rtol=1e-12, atol=0)


def test_in_place_i0_records_torchs_node():
    for L in (ember, torch):
        x = L.tensor([0.5, 1.0], requires_grad=True)
        y = x * 1
        y.i0_()
        assert type(y.grad_fn).__name__ == "I0Backward0"
