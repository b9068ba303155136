"""nn.utils.weight_norm / spectral_norm and their remove_* against torch:
training steps, power iterations, state dict names, removal and errors."""

import warnings

import numpy as np
import pytest
from conftest import capture, ember, torch

LAYERS = {
    "linear": (lambda L: L.nn.Linear(4, 3), (2, 4)),
    "conv": (lambda L: L.nn.Conv2d(2, 3, 3), (1, 2, 5, 5)),
    "conv_transpose": (lambda L: L.nn.ConvTranspose2d(2, 3, 3), (1, 2, 4, 4)),
}


def train(lib, layer, shape, wrap):
    lib.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        module = wrap(lib, LAYERS[layer][0](lib))
    optimizer = lib.optim.SGD(module.parameters(), lr=0.1)
    x = lib.linspace(-1, 1, int(np.prod(shape))).reshape(shape)
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = module(x).pow(2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    module.eval()
    losses.append(module(x).sum().item())
    state = {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}
    return losses, state


WRAPS = {
    "spectral_norm": lambda L, m: L.nn.utils.spectral_norm(m),
    "spectral_norm_3_iterations": lambda L, m: L.nn.utils.spectral_norm(m, n_power_iterations=3),
    "weight_norm": lambda L, m: L.nn.utils.weight_norm(m),
    "weight_norm_whole": lambda L, m: L.nn.utils.weight_norm(m, dim=None),
}


@pytest.mark.parametrize("layer", sorted(LAYERS))
@pytest.mark.parametrize("wrap", sorted(WRAPS))
def test_training_matches_torch(layer, wrap):
    (e_losses, e_state), (t_losses, t_state) = (
        train(lib, layer, LAYERS[layer][1], WRAPS[wrap]) for lib in (ember, torch)
    )
    np.testing.assert_allclose(e_losses, t_losses, rtol=1e-5, atol=1e-5)  # float32 sums
    assert sorted(e_state) == sorted(t_state)
    for key in t_state:
        np.testing.assert_allclose(e_state[key], t_state[key], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["spectral_norm", "weight_norm"])
def test_remove_restores_a_plain_parameter_with_torchs_value(kind):
    def run(lib):
        lib.manual_seed(1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            module = getattr(lib.nn.utils, kind)(lib.nn.Linear(3, 2))
            module(lib.ones(1, 3))
            getattr(lib.nn.utils, "remove_" + kind)(module)
        return sorted(n for n, _ in module.named_parameters()), module.weight.detach().numpy()

    (e_names, e_weight), (t_names, t_weight) = run(ember), run(torch)
    assert e_names == t_names == ["bias", "weight"]
    np.testing.assert_allclose(e_weight, t_weight, rtol=1e-6)


def test_state_dict_loads_into_torch():
    ember.manual_seed(2)
    e = ember.nn.utils.spectral_norm(ember.nn.Linear(3, 2))
    e(ember.ones(1, 3))
    t = torch.nn.utils.spectral_norm(torch.nn.Linear(3, 2))
    t.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in e.state_dict().items()})
    e.eval(), t.eval()
    np.testing.assert_allclose(
        e(ember.ones(1, 3)).detach().numpy(), t(torch.ones(1, 3)).detach().numpy(), rtol=1e-6
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.nn.utils.spectral_norm(L.nn.utils.spectral_norm(L.nn.Linear(2, 2))),
        lambda L: L.nn.utils.remove_spectral_norm(L.nn.Linear(2, 2)),
        lambda L: L.nn.utils.spectral_norm(L.nn.Linear(2, 2, bias=False), name="bias"),
    ],
    ids=["twice", "remove_missing", "none_parameter"],
)
def test_misuse_raises_like_torch(call):
    e, t = capture(call, ember), capture(call, torch)
    assert type(e) is type(t)
    assert str(e).split(" in ")[0] == str(t).split(" in ")[0]


def test_weight_norm_warns_that_it_is_deprecated_like_torch():
    for lib in (ember, torch):
        with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
            lib.nn.utils.weight_norm(lib.nn.Linear(2, 2))
