"""torch.amp's entry points on a CPU machine: GradScaler scaling, unscaling,
skipping overflowed steps and adapting its scale as torch's; autocast disabled."""

import warnings

import numpy as np
import pytest
from conftest import capture, ember, torch


def _train(lib, steps, poison_step=None):
    lib.manual_seed(0)
    model = lib.nn.Linear(4, 3)
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    scaler = lib.amp.GradScaler("cpu", init_scale=256.0, growth_interval=2)
    x = lib.tensor(np.linspace(-1, 1, 20, dtype=np.float32).reshape(5, 4))
    scales, losses = [], []
    for i in range(steps):
        opt.zero_grad()
        loss = model(x).square().mean()
        if i == poison_step:
            loss = loss * float("inf")
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
        losses.append(float(loss.detach()))
    weights = model.weight.detach().numpy().copy()
    return scales, losses, weights, scaler.state_dict()


@pytest.mark.parametrize("poison_step", [None, 2])
def test_grad_scaler_steps_and_scales_like_torch(poison_step):
    e, t = _train(ember, 6, poison_step), _train(torch, 6, poison_step)
    assert e[0] == t[0]  # growth every 2 clean steps, halving on the overflow
    np.testing.assert_allclose(e[1], t[1], rtol=1e-6)
    np.testing.assert_allclose(e[2], t[2], rtol=1e-6)
    assert e[3] == t[3]


def test_grad_scaler_misuse_and_cuda_forms_like_torch():
    def twice(L):
        p = L.nn.Parameter(L.ones(2))
        opt = L.optim.SGD([p], lr=0.1)
        s = L.amp.GradScaler("cpu")
        s.scale(p.sum()).backward()
        s.unscale_(opt)
        s.unscale_(opt)

    e, t = capture(twice, ember), capture(twice, torch)
    assert type(e) is type(t) is RuntimeError and str(e) == str(t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lib in (ember, torch):
            assert not lib.amp.GradScaler("cuda").is_enabled()
            assert lib.amp.GradScaler("cuda").get_scale() == 1.0
            with lib.autocast(device_type="cuda"):
                y = lib.ones(2, 2) @ lib.ones(2, 2)
            assert y.dtype == lib.float32


def test_autocast_on_cpu_keeps_float32_and_says_so():
    with pytest.warns(UserWarning, match="float32"):
        with ember.autocast(device_type="cpu"):
            y = ember.ones(2, 2) @ ember.ones(2, 2)
    assert y.dtype == ember.float32
    with ember.autocast(device_type="cpu", enabled=False):
        assert (ember.ones(2) + 1).dtype == ember.float32
