"""hsplit/vsplit/dsplit, row_stack, concatenate, ger and Tensor.hardshrink:
torch's names over existing ops. Values, gradients, node names and errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ember, same_error, torch

DATA = np.random.default_rng(5).standard_normal((4, 6, 2))

# name, fn(lib, x) with x a (4, 6, 2) tensor in a graph
CASES = [
    ("hsplit", lambda L, x: L.hsplit(x, 2)),
    ("hsplit_indices", lambda L, x: L.hsplit(x, [1, 4])),
    ("hsplit_1d", lambda L, x: L.hsplit(x.flatten(), 3)),
    ("hsplit_method", lambda L, x: x.hsplit((2,))),
    ("vsplit", lambda L, x: L.vsplit(x, 2)),
    ("vsplit_indices", lambda L, x: x.vsplit([1, 10])),
    ("dsplit", lambda L, x: L.dsplit(x, 2)),
    ("dsplit_method", lambda L, x: x.dsplit([1])),
    ("row_stack", lambda L, x: L.row_stack([x[0, :, 0], x[1, :, 1]])),
    ("row_stack_2d", lambda L, x: L.row_stack((x[0], x[1:3, :, 0].t()))),
    ("concatenate", lambda L, x: L.concatenate([x, x * 2])),
    ("concatenate_axis", lambda L, x: L.concatenate((x, x), axis=-1)),
    ("concatenate_dim", lambda L, x: L.concatenate((x, x[:, :2]), dim=1)),
    ("ger", lambda L, x: L.ger(x[0, :, 0], x[1, :4, 1])),
    ("ger_method", lambda L, x: x[0, :, 0].ger(x[1, :, 1])),
    ("hardshrink_method", lambda L, x: x.hardshrink()),
    ("hardshrink_lambd", lambda L, x: x.hardshrink(lambd=0.9)),
]


def _run(lib, fn):
    x = lib.tensor(DATA, requires_grad=True)
    out = fn(lib, x * 1)
    outs = out if isinstance(out, tuple) else (out,)
    total = sum((o * (i + 1)).sum() for i, o in enumerate(outs))
    total.backward()
    return (
        type(out).__name__,
        [type(o.grad_fn).__name__ for o in outs],
        [o.detach().numpy() for o in outs],
        x.grad.numpy(),
    )


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_values_grads_and_nodes_like_torch(name, fn):
    e, t = _run(ember, fn), _run(torch, fn)
    assert e[:2] == t[:2]
    assert len(e[2]) == len(t[2])
    for a, b in zip(e[2], t[2]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(e[3], t[3], rtol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.hsplit(L.tensor(1.0), 2),
        lambda L: L.hsplit(L.ones(4, 6), 4),
        lambda L: L.hsplit(L.ones(4, 6), 0),
        lambda L: L.vsplit(L.ones(6), 2),
        lambda L: L.vsplit(L.ones(4, 6), 3),
        lambda L: L.dsplit(L.ones(4, 6), 2),
        lambda L: L.dsplit(L.ones(4, 6, 2), 3),
        lambda L: L.ger(L.ones(3), L.ones(3, 1)),
        lambda L: L.concatenate([L.ones(2), L.ones(2, 1)]),
    ],
)
def test_errors_like_torch(call):
    same_error(call)
