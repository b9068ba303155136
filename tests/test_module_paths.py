"""The module paths torch code imports from resolve in Ember to the same objects."""

from __future__ import annotations

import importlib

import ember
import pytest
import torch

NN_SUBMODULES = [
    "module", "linear", "conv", "activation", "loss", "container", "pooling", "batchnorm",
    "instancenorm", "normalization", "dropout", "sparse", "rnn", "transformer", "flatten",
    "padding", "pixelshuffle", "upsampling", "fold", "distance",
]  # fmt: skip


@pytest.mark.parametrize("sub", NN_SUBMODULES)
def test_nn_module_paths_hold_every_layer_ember_has(sub):
    mine = importlib.import_module(f"ember.nn.modules.{sub}")
    theirs = importlib.import_module(f"torch.nn.modules.{sub}")
    for name in vars(theirs):
        if isinstance(getattr(theirs, name), type) and hasattr(ember.nn, name):
            if getattr(theirs, name).__module__ == theirs.__name__:
                assert getattr(mine, name) is getattr(ember.nn, name), name


def test_imports_torch_code_writes():
    from ember.cuda.amp import GradScaler  # noqa: F401
    from ember.nn.modules.batchnorm import _BatchNorm
    from ember.nn.modules.module import Module
    from ember.nn.modules.utils import _pair, _triple
    from ember.nn.parameter import Parameter
    from ember.optim.optimizer import Optimizer, required  # noqa: F401
    from ember.utils.data.dataloader import DataLoader
    from ember.utils.tensorboard import SummaryWriter

    assert Module is ember.nn.Module and Parameter is ember.nn.Parameter
    assert DataLoader is ember.utils.data.DataLoader
    assert SummaryWriter is ember.utils.tensorboard.writer.SummaryWriter
    assert isinstance(ember.nn.BatchNorm2d(3), _BatchNorm)
    assert _pair(3) == (3, 3) and _triple((1, 2, 3)) == (1, 2, 3)
    with pytest.raises(ImportError):
        from ember.nn.modules.loss import NoSuchLoss  # noqa: F401


def test_a_loss_written_on_torchs_base_classes_works_as_torch():
    def run(L):
        from importlib import import_module

        bases = import_module(f"{L.__name__}.nn.modules.loss")

        class Scaled(bases._WeightedLoss):
            def forward(self, x, y):
                out = (x - y).abs() * self.weight
                return out.mean() if self.reduction == "mean" else out.sum()

        loss = Scaled(weight=L.tensor([1.0, 2.0]), reduction="sum")
        value = loss(L.tensor([1.0, 3.0]), L.tensor([0.0, 0.0]))
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            legacy = bases._Loss(size_average=False)
        return value, legacy.reduction, list(loss.state_dict())

    assert (lambda e, t: e[0].item() == t[0].item() and e[1:] == t[1:])(run(ember), run(torch))


def test_an_optimizer_written_on_torchs_base_runs():
    from ember.optim.optimizer import Optimizer, required

    class PlainSGD(Optimizer):
        def __init__(self, params, lr=required):
            super().__init__(params, {"lr": lr})

        def step(self):
            for group in self.param_groups:
                for p in group["params"]:
                    p.data.add_(p.grad, alpha=-group["lr"])

    w = ember.nn.Parameter(ember.ones(2))
    (w * 3).sum().backward()
    PlainSGD([w], lr=0.5).step()
    assert w.tolist() == [-0.5, -0.5]
