"""Typed user code that mypy checks against Ember's stubs (tests/test_stubs.py).

It is not run: it only has to type-check, as a user's annotated training
script would.
"""

from __future__ import annotations

import io

import ember
import ember.nn.functional as F
from ember import Tensor
from ember.utils import safetensors


class Net(ember.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = ember.nn.Linear(4, 8)
        self.fc2 = ember.nn.Linear(8, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.relu(self.fc1(x)))


def make_batch(n: int) -> tuple[Tensor, Tensor]:
    x = ember.randn(n, 4)
    y = x.sum(1, keepdim=True) * 0.5 + ember.ones(n, 1)
    return x, y


def train(steps: int) -> float:
    ember.manual_seed(0)
    net = Net()
    opt = ember.optim.Adam(net.parameters(), lr=1e-2)
    loss = ember.zeros(())
    for _ in range(steps):
        x, y = make_batch(16)
        opt.zero_grad()
        loss = F.mse_loss(net(x), y)
        loss.backward()
        opt.step()
    buffer = io.BytesIO()
    ember.save({"model": net.state_dict(), "opt": opt.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = ember.load(buffer, map_location="cpu", weights_only=True)
    net.load_state_dict(checkpoint["model"])
    blob: bytes = safetensors.save(dict(net.state_dict()), metadata={"format": "pt"})
    tensors = safetensors.load(blob)
    return float(loss.item()) + float(tensors["fc1.weight"].abs().max().item()) * 0.0


def tensor_methods(t: Tensor) -> Tensor:
    u: Tensor = t.reshape(2, -1).t().contiguous().view(-1)
    v = (u @ u) + u.exp().mean() - ember.matmul(u, u) / 2
    w = ember.where(u > 0, u, ember.zeros_like(u))
    shape: tuple[int, ...] = tuple(w.shape)
    return v * len(shape) + w.detach().clone().requires_grad_(True).sum()


if __name__ == "__main__":
    print(train(3), tensor_methods(ember.arange(6.0)))
