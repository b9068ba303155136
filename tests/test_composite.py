"""Ops composed from other differentiable ops (python/ember/_composite.py),
against torch: values and gradients (node names differ: see docs/STATUS.md)."""

import numpy as np
import pytest
from conftest import both, capture, ember, torch

X = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7 - 1

CALLS = {
    "masked_fill": lambda lib, x: x.masked_fill(x > 0, 0.5),
    "masked_fill_broadcast": lambda lib, x: lib.masked_fill(
        x, lib.tensor([True, False, False, True]), -1.0
    ),
    "masked_fill_tensor_value": lambda lib, x: x.masked_fill(x < 0, lib.tensor(2.0)),
    "repeat": lambda lib, x: x.repeat(2, 1, 3),
    "repeat_more_dims": lambda lib, x: x.repeat(2, 1, 1, 2),
    "split_int": lambda lib, x: lib.cat(x.split(3, dim=2)[::-1], 2),
    "split_sections": lambda lib, x: x.split([1, 2], 1)[1],
    "chunk": lambda lib, x: lib.chunk(x, 3, -1)[1],
    "unbind": lambda lib, x: lib.stack(x.unbind(1)[::-1], 0),
    "tril": lambda lib, x: x.tril(),
    "triu_offset": lambda lib, x: lib.triu(x, 1),
    "tril_negative": lambda lib, x: x.tril(-1),
    "flip": lambda lib, x: x.flip(2),
    "flip_dims": lambda lib, x: lib.flip(x, [0, -1]),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_composites_match_torch(name):
    def run(lib):
        x = lib.tensor(X, requires_grad=True)
        out = CALLS[name](lib, x)
        (out * out.detach() ** 2).sum().backward()
        return out.detach().numpy(), x.grad.numpy()

    (ev, eg), (tv, tg) = both(run)
    np.testing.assert_allclose(ev, tv, rtol=1e-12)
    np.testing.assert_allclose(eg, tg, rtol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: x.repeat(2),
        lambda lib, x: x.split([1, 1], 1),
        lambda lib, x: x.chunk(0),
        lambda lib, x: x.masked_fill(x.long(), 1.0),
        lambda lib, x: x.flip(5),
        lambda lib, x: lib.tril(x[0, 0]),
    ],
)
def test_composite_errors_match_torch(call):
    err_e = capture(lambda lib: call(lib, lib.tensor(X)), ember)
    err_t = capture(lambda lib: call(lib, lib.tensor(X)), torch)
    assert err_t is not None and type(err_e) is type(err_t), (err_e, err_t)
