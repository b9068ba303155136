"""lgamma, digamma, polygamma and ember.special against torch: values in float32
and float64, gradients to second order, node names, and the edges (poles,
negative arguments, infinities)."""

from __future__ import annotations

import ember
import numpy as np
import pytest
import torch
from conftest import compare

POINTS = [-2.5, -1.2, -0.5, 1e-8, 0.1, 0.5, 1.0, 1.5, 3.7, 9.5, 10.0, 25.0, 1e4]
EDGES = [0.0, -0.0, -1.0, -2.0, float("inf"), float("-inf"), float("nan")]

FUNCTIONS = {
    "lgamma": lambda L, x: L.lgamma(x),
    "digamma": lambda L, x: L.digamma(x),
    "polygamma1": lambda L, x: L.polygamma(1, x),
    "polygamma2": lambda L, x: L.polygamma(2, x),
    "polygamma3": lambda L, x: x.polygamma(3),
    "gammaln": lambda L, x: L.special.gammaln(x),
    "psi": lambda L, x: L.special.psi(x),
    "expit": lambda L, x: L.special.expit(x),
    "sinc": lambda L, x: L.special.sinc(x),
    "entr": lambda L, x: L.special.entr(x),
    "xlog1py": lambda L, x: L.special.xlog1py(x, x.abs()),
    "multigammaln": lambda L, x: L.special.multigammaln(x.abs() + 2, 3),
    "mvlgamma": lambda L, x: L.mvlgamma(x.abs() + 1, 2),
    "logit": lambda L, x: L.special.logit(x.sigmoid(), eps=1e-6),
}

# float64: agreement to rounding; float32 polygamma of higher order goes through
# double there and here alike; lgamma's float32 kernel in torch is vectorized.
TOLERANCE = {"float64": (1e-9, 1e-12), "float32": (2e-6, 1e-6)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_special_function_values_match_torch(name, dtype):
    rtol, atol = TOLERANCE[dtype]
    compare(
        lambda L: FUNCTIONS[name](L, L.tensor(POINTS, dtype=getattr(L, dtype))),
        rtol=rtol,
        atol=atol,
    )


@pytest.mark.parametrize("name", ["lgamma", "digamma", "polygamma1", "polygamma2"])
def test_poles_and_infinities_match_torch(name):
    compare(lambda L: FUNCTIONS[name](L, L.tensor(EDGES, dtype=L.float64)))


@pytest.mark.parametrize(
    "name", ["lgamma", "digamma", "polygamma1", "polygamma2", "sinc", "xlog1py", "multigammaln"]
)
def test_gradients_to_second_order_and_node_names_match_torch(name):
    def run(L):
        x = L.tensor([0.3, 1.7, 4.2, 12.0], dtype=L.float64, requires_grad=True)
        y = FUNCTIONS[name](L, x)
        (g,) = L.autograd.grad(y.sum(), x, create_graph=True)
        (gg,) = L.autograd.grad(g.sum(), x)
        return y.detach(), g.detach(), gg

    (ey, eg, egg), (ty, tg, tgg) = run(ember), run(torch)
    for e, t in ((ey, ty), (eg, tg), (egg, tgg)):
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["lgamma", "digamma", "polygamma1"])
def test_node_names_match_torch(name):
    def names(L):
        x = L.tensor([0.5, 2.0], requires_grad=True)
        return type(FUNCTIONS[name](L, x).grad_fn).__name__

    assert names(ember) == names(torch)


def test_integer_inputs_give_floats_and_errors_match():
    compare(lambda L: L.lgamma(L.tensor([1, 2, 5])))
    compare(lambda L: L.polygamma(-1, L.ones(2)))
    compare(lambda L: L.special.multigammaln(L.tensor([0.2]), 3))


def test_digamma_is_torchs_for_every_float32_in_a_range():
    x = np.linspace(-20, 40, 20001, dtype=np.float32)
    e = ember.digamma(ember.from_numpy(x)).numpy()
    t = torch.digamma(torch.from_numpy(x)).numpy()
    close = np.isclose(e, t, rtol=4e-7, atol=1e-6, equal_nan=True)
    assert close.mean() > 0.999, x[~close][:10]


def test_sinc_as_function_method_and_in_place_matches_torch():
    def run(lib):
        x = lib.tensor([0.0, 0.5, -1.3, 2.0, 1e-4], dtype=lib.float64, requires_grad=True)
        z = lib.sinc(x) + 2 * x.sinc()
        z.sum().backward()
        y = (x * 1).detach()
        y.sinc_()
        return z.detach().numpy(), x.grad.numpy(), y.numpy()

    for e, t in zip(run(ember), run(torch)):
        # near 0 the derivative cancels: both lose digits, differently
        np.testing.assert_allclose(e, t, rtol=1e-7, atol=1e-15)
