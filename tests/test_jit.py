"""ember.jit and ember.compile: decorated and compiled models compute what torch's
compute, and the arguments torch refuses are refused."""

from __future__ import annotations

import ember
import pytest
import torch
from conftest import both, compare


def _model(L):
    class Net(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = L.nn.Linear(4, 3)

        def forward(self, x):
            if L.jit.is_scripting():
                return x
            return self.helper(self.fc(x))

        @L.jit.ignore
        def helper(self, y):
            return L.jit.annotate(L.Tensor, y.relu())

    L.manual_seed(0)
    return Net()


@pytest.mark.parametrize(
    "wrap",
    [
        lambda L, m: L.compile(m),
        lambda L, m: L.compile(m, mode="max-autotune", fullgraph=True),
        lambda L, m: L.compile(mode="reduce-overhead")(m),
    ],
)
def test_compiled_models_compute_torchs_values(wrap):
    def run(L):
        model = wrap(L, _model(L))
        x = L.linspace(-1, 1, 8).reshape(2, 4)
        out = model(x)
        out.sum().backward()
        return out.detach(), model.fc.weight.grad if hasattr(
            model, "fc"
        ) else model._orig_mod.fc.weight.grad

    compare(run)


def test_compile_returns_the_module_itself():
    model = _model(ember)
    assert ember.compile(model) is model
    assert list(ember.compile(model).state_dict()) == ["fc.weight", "fc.bias"]


def test_compile_refuses_what_torch_refuses():
    e, t = both(
        lambda L: type(pytest.raises(Exception, L.compile, L.nn.Linear(1, 1), mode="x").value)
    )
    assert e.__name__ == t.__name__ == "RuntimeError"
    e, t = both(lambda L: type(pytest.raises(Exception, L.compile, 3).value))
    assert e.__name__ == t.__name__ == "AssertionError"


def test_scripted_and_traced_functions_compute_torchs_values():
    def run(L):
        @L.jit.script
        def scaled(x):
            return x * 2 + 1

        traced = L.jit.trace(_model(L), L.ones(1, 4))
        future = L.jit.fork(scaled, L.ones(2))
        return scaled(L.arange(3.0)), traced(L.ones(2, 4)).detach(), L.jit.wait(future)

    compare(run)


def test_torchscript_archives_are_refused_with_a_reason():
    with pytest.raises(NotImplementedError, match="state_dict"):
        ember.jit.save(_model(ember), "model.pt")
    assert not ember.jit.is_tracing() and not torch.jit.is_tracing()
