"""torch.special's Bessel functions of the first and second kind (bessel_j0/j1,
bessel_y0/y1), modified Bessel functions of the second kind (modified_bessel_k0/k1
and their scaled forms) and airy_ai against torch: values in float32 and float64
over dense grids, wide logarithmic ranges and the edges, integer promotion,
half-type refusals, out= and the absence of a derivative."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest
import torch
from conftest import compare
from hypothesis import given, settings
from hypothesis import strategies as st

NAMES = [
    "bessel_j0",
    "bessel_j1",
    "bessel_y0",
    "bessel_y1",
    "modified_bessel_k0",
    "modified_bessel_k1",
    "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1",
    "airy_ai",
]

# Ember evaluates torch's approximations in torch's order of operations
# (Note [Bessel J, Y, K and Airy algorithms]): float64 agrees to the last bit
# in practice, float32 to a couple of ulps (K0 takes I0 from a series whose
# last bit can differ).
RTOL = {"float64": 4e-16, "float32": 3e-7}


def _fn(name):
    return lambda L, x: getattr(L.special, name)(x)


def _grid():
    dense = np.linspace(-30.0, 30.0, 6001)
    switches = np.array([2.0, 2.09, -2.09, 5.0, 8.3203353, 103.892, 1e-5, 1.0000001e-5])
    switches = np.concatenate([switches, np.nextafter(switches, 0), np.nextafter(switches, 50)])
    wide = np.geomspace(1e-300, 1e300, 1201)
    return np.concatenate([dense, switches, -switches, wide, -wide])


def _grid32():
    dense = np.linspace(-30.0, 30.0, 3001)
    wide = np.geomspace(1e-38, 3e38, 601)
    return np.concatenate([dense, wide, -wide]).astype(np.float32)


@pytest.mark.parametrize("name", NAMES)
def test_float64_values_match_torch_over_wide_ranges(name):
    x = _grid()
    compare(lambda L: _fn(name)(L, L.tensor(x, dtype=L.float64)), rtol=RTOL["float64"], atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_float32_values_compute_in_float_as_torch(name):
    # at a large float32 x torch's phase x - pi/4 rounds to x itself, so a
    # double evaluation would give other numbers there
    x = _grid32()
    compare(lambda L: _fn(name)(L, L.tensor(x, dtype=L.float32)), rtol=RTOL["float32"], atol=1e-44)


EDGES = [0.0, -0.0, 5e-324, -5e-324, 1e-300, -1e-300, 1.0, -1.0, 710.0, -710.0, 1e300, -1e300]
SPECIALS = [math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_edges_infinities_and_nan_match_torch(name, dtype):
    # Y and K of x < 0 are NaN, Y(0) = -inf, K(0) = inf, Ai(+-inf) = NaN
    def run(L):
        return _fn(name)(L, L.tensor(EDGES + SPECIALS, dtype=L.float64).to(getattr(L, dtype)))

    compare(run, rtol=RTOL[dtype], atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_signed_zeros_match_torch(name):
    e = _fn(name)(ember, ember.tensor([0.0, -0.0], dtype=ember.float64)).numpy()
    t = _fn(name)(torch, torch.tensor([0.0, -0.0], dtype=torch.float64)).numpy()
    np.testing.assert_array_equal(np.signbit(e), np.signbit(t))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(NAMES),
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=16),
)
def test_random_float64_inputs_match_torch(name, values):
    compare(lambda L: _fn(name)(L, L.tensor(values, dtype=L.float64)), rtol=RTOL["float64"], atol=0)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(NAMES),
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=16),
)
def test_random_float32_inputs_match_torch(name, values):
    compare(
        lambda L: _fn(name)(L, L.tensor(values, dtype=L.float32)), rtol=RTOL["float32"], atol=1e-44
    )


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
@pytest.mark.parametrize("name", NAMES)
def test_integer_inputs_promote_like_torch(name, dtype):
    values = [0, 1, 3, 7] if dtype != "bool" else [False, True, True, False]
    compare(
        lambda L: _fn(name)(L, L.tensor(values, dtype=getattr(L, dtype))),
        rtol=RTOL["float32"],
        atol=1e-44,
    )


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", NAMES)
def test_half_types_are_refused_like_torch(name, dtype):
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match=f'"{name}_cpu" not implemented for'):
            _fn(name)(L, L.ones(2, dtype=getattr(L, dtype)))


@pytest.mark.parametrize("name", NAMES)
def test_no_derivative_like_torch(name):
    for L in (ember, torch):
        x = L.tensor([0.3, 2.5], dtype=L.float64, requires_grad=True)
        y = _fn(name)(L, x)
        assert y.grad_fn is None and not y.requires_grad
        with pytest.raises(RuntimeError, match="does not require grad"):
            y.sum().backward()


@pytest.mark.parametrize("name", NAMES)
def test_out_and_strided_inputs_match_torch(name):
    def run(L):
        base = L.tensor(np.linspace(0.1, 12.0, 24), dtype=L.float64).reshape(4, 6)
        out = L.empty(6, 4, dtype=L.float64)
        _fn(name)(L, base.t(), out=out)
        # out= of another float dtype casts, and takes an input that requires grad
        out32 = L.empty(4, 6, dtype=L.float32)
        _fn(name)(L, base.clone().requires_grad_(), out=out32)
        return out, out32

    compare(run, rtol=RTOL["float32"], atol=0)


def test_identities_hold():
    s = ember.special
    x = ember.tensor(np.linspace(0.05, 2.0, 101), dtype=ember.float64)
    # I0 K1 + I1 K0 = 1 / x (the Wronskian of the modified equation)
    w = ember.i0(x) * s.modified_bessel_k1(x) + s.i1(x) * s.modified_bessel_k0(x)
    np.testing.assert_allclose((w * x).numpy(), 1.0, rtol=1e-13)
    # the scaled K are e^x K
    big = ember.tensor(np.linspace(0.5, 600.0, 301), dtype=ember.float64)
    for plain, scaled in (
        (s.modified_bessel_k0, s.scaled_modified_bessel_k0),
        (s.modified_bessel_k1, s.scaled_modified_bessel_k1),
    ):
        np.testing.assert_allclose(
            scaled(big).numpy(), (plain(big) * big.exp()).numpy(), rtol=1e-13
        )
    # J0 is even and J1 odd
    b = ember.tensor(np.linspace(-40.0, 40.0, 321), dtype=ember.float64)
    np.testing.assert_array_equal(s.bessel_j0(-b).numpy(), s.bessel_j0(b).numpy())
    np.testing.assert_array_equal(s.bessel_j1(-b).numpy(), -s.bessel_j1(b).numpy())


@pytest.mark.parametrize("name", NAMES)
def test_float32_denormal_inputs_match_torch(name):
    # Half of the smallest denormal rounds to 0 in float; torch's unscaled K0
    # halves in double (finite 103.39), its scaled K0 in float (inf).
    values = [1.401298464324817e-45, 2.802596928649634e-45, 4.2e-45, 1e-40, 1e-38]
    compare(
        lambda L: _fn(name)(L, L.tensor(values, dtype=L.float32)), rtol=RTOL["float32"], atol=1e-44
    )
