"""nn.utils.parametrize and nn.utils.parametrizations against torch: custom
parametrizations, chains, assignment through right_inverse, caching, removal,
state dicts, reprs, and weight_norm/spectral_norm training steps."""

import warnings

import numpy as np
import pytest
from conftest import capture, ember, torch


def symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(0, 1)

        def right_inverse(self, a):
            return a.triu()

    return Symmetric()


def scaled(lib):
    class Scaled(lib.nn.Module):
        def forward(self, x):
            return 2 * x

        def right_inverse(self, a):
            return a / 2

    return Scaled()


def split(lib):
    class Split(lib.nn.Module):
        def forward(self, a, b):
            return a + b

        def right_inverse(self, w):
            return w * 0.25, w * 0.75

    return Split()


def run(lib, build):
    lib.manual_seed(0)
    layer = lib.nn.Linear(3, 3)
    build(lib, layer)
    opt = lib.optim.SGD(layer.parameters(), lr=0.1)
    x = lib.linspace(-1, 1, 6).reshape(2, 3)
    for _ in range(2):
        opt.zero_grad()
        layer(x).pow(2).sum().backward()
        opt.step()
    state = {k: v.detach().numpy().copy() for k, v in layer.state_dict().items()}
    return type(layer).__name__, repr(layer), layer.weight.detach().numpy(), state


BUILDS = {
    "symmetric": lambda L, m: L.nn.utils.parametrize.register_parametrization(
        m, "weight", symmetric(L)
    ),
    "chain": lambda L, m: [
        L.nn.utils.parametrize.register_parametrization(m, "weight", p)
        for p in (symmetric(L), scaled(L))
    ],
    "split": lambda L, m: L.nn.utils.parametrize.register_parametrization(m, "weight", split(L)),
    "bias": lambda L, m: L.nn.utils.parametrize.register_parametrization(m, "bias", scaled(L)),
    "weight_norm": lambda L, m: L.nn.utils.parametrizations.weight_norm(m),
    "weight_norm_whole": lambda L, m: L.nn.utils.parametrizations.weight_norm(m, dim=None),
    "spectral_norm": lambda L, m: L.nn.utils.parametrizations.spectral_norm(m),
    "spectral_norm_dim1": lambda L, m: L.nn.utils.parametrizations.spectral_norm(m, dim=1),
}


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_parametrized_training_matches_torch(build):
    e_name, e_repr, e_weight, e_state = run(ember, BUILDS[build])
    t_name, t_repr, t_weight, t_state = run(torch, BUILDS[build])
    assert e_name == t_name
    assert e_repr == t_repr.replace("torch", "ember") or e_repr == t_repr
    np.testing.assert_allclose(e_weight, t_weight, rtol=1e-5, atol=1e-6)
    assert sorted(e_state) == sorted(t_state)
    for key in t_state:
        np.testing.assert_allclose(e_state[key], t_state[key], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("leave", [True, False])
def test_assignment_caching_and_removal_match_torch(leave):
    def go(lib):
        lib.manual_seed(0)
        layer = lib.nn.Linear(3, 3)
        P = lib.nn.utils.parametrize
        P.register_parametrization(layer, "weight", symmetric(lib))
        before = P.is_parametrized(layer), P.is_parametrized(layer, "bias")
        layer.weight = lib.arange(9.0).reshape(3, 3)
        with P.cached():
            same = layer.weight is layer.weight
        P.remove_parametrizations(layer, "weight", leave_parametrized=leave)
        return before, same, type(layer).__name__, layer.weight.detach().numpy()

    (eb, es, en, ew), (tb, ts, tn, tw) = go(ember), go(torch)
    assert (eb, es, en) == (tb, ts, tn)
    np.testing.assert_allclose(ew, tw)


def test_parametrized_state_dict_loads_into_torch():
    ember.manual_seed(3)
    e = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(3, 2))
    t = torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(3, 2))
    t.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in e.state_dict().items()})
    np.testing.assert_allclose(
        e(ember.ones(1, 3)).detach().numpy(), t(torch.ones(1, 3)).detach().numpy(), rtol=1e-6
    )


def shape_changing(lib):
    class Row(lib.nn.Module):
        def forward(self, x):
            return x[0]

    return Row()


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.nn.utils.parametrize.register_parametrization(
            L.nn.Linear(2, 2), "weight", shape_changing(L)
        ),
        lambda L: L.nn.utils.parametrize.register_parametrization(
            L.nn.Linear(2, 2), "nothing", scaled(L)
        ),
        lambda L: L.nn.utils.parametrize.remove_parametrizations(L.nn.Linear(2, 2), "weight"),
        lambda L: L.nn.utils.parametrizations.spectral_norm(L.nn.Linear(2, 2), dim=3),
        lambda L: L.nn.utils.parametrizations.spectral_norm(
            L.nn.Linear(2, 2), n_power_iterations=0
        ),
    ],
    ids=["shape", "missing", "remove_missing", "dim", "iterations"],
)
def test_misuse_raises_like_torch(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e, t = capture(call, ember), capture(call, torch)
    assert type(e) is type(t)
    assert str(e).split("\n")[0].split(" ")[:4] == str(t).split("\n")[0].split(" ")[:4]
