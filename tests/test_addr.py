"""addr / Tensor.addr / Tensor.addr_: beta * input + alpha * outer(vec1, vec2),
one AddrBackward0 node as in torch. Values, gradients to second order,
forward-mode tangents, dtypes and errors against torch."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_grads_match, ember, same_error, torch

RNG = np.random.default_rng(13)

# name, fn(lib, input, vec1, vec2), input shape
CASES = [
    ("plain", lambda L, i, a, b: L.addr(i, a, b), (3, 4)),
    ("scaled", lambda L, i, a, b: L.addr(i, a, b, beta=0.5, alpha=-2), (3, 4)),
    ("broadcast_row", lambda L, i, a, b: i.addr(a, b, alpha=3), (4,)),
    ("broadcast_col", lambda L, i, a, b: L.addr(i, a, b, beta=2), (3, 1)),
    ("scalar_input", lambda L, i, a, b: L.addr(i, a, b), ()),
    ("beta_zero", lambda L, i, a, b: L.addr(i, a, b, beta=0), (3, 4)),
]
IDS = [c[0] for c in CASES]


def _arrays(shape):
    return [RNG.standard_normal(shape), RNG.standard_normal(3), RNG.standard_normal(4)]


@pytest.mark.parametrize("name,fn,shape", CASES, ids=IDS)
def test_addr_values_and_grads_to_second_order_like_torch(name, fn, shape):
    assert_grads_match(fn, _arrays(shape))


@pytest.mark.parametrize("name,fn,shape", CASES, ids=IDS)
def test_addr_node_like_torch(name, fn, shape):
    arrays = _arrays(shape)

    def run(lib):
        inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = fn(lib, *inputs)
        return type(out.grad_fn).__name__, [type(f).__name__ for f, _ in out.grad_fn.next_functions]

    assert run(ember) == run(torch)


def test_addr_inplace_and_forward_ad_like_torch():
    arrays = _arrays((3, 4))

    def run(lib):
        i, a, b = (lib.tensor(x, requires_grad=True) for x in arrays)
        y = i * 1
        r = y.addr_(a, b, beta=2)
        y.sum().backward()
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            d = fwad.make_dual(lib.tensor(arrays[1]), lib.ones(3, dtype=lib.float64))
            tangent = fwad.unpack_dual(lib.addr(lib.tensor(arrays[0]), d, lib.tensor(arrays[2])))
        return (
            r is y,
            type(y.grad_fn).__name__,
            [t.grad.numpy() for t in (i, a, b)],
            tangent.tangent.numpy(),
        )

    e, t = run(ember), run(torch)
    assert e[:2] == t[:2]
    for x, z in zip(e[2], t[2]):
        np.testing.assert_allclose(x, z, rtol=1e-12)
    np.testing.assert_allclose(e[3], t[3], rtol=1e-12)


def test_addr_promotes_like_torch():
    # (torch's backward refuses mixed dtypes, so only the forward is compared)
    def run(lib):
        a = lib.ones(3, dtype=lib.float64)
        out = lib.addr(lib.ones(3, 2), a, lib.arange(2.0))
        return str(out.dtype)[6:], out.numpy()

    e, t = run(ember), run(torch)
    assert e[0] == t[0]
    np.testing.assert_allclose(e[1], t[1])


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.addr(L.ones(3, 2), L.ones(3, 1), L.ones(2)),
        lambda L: L.addr(L.ones(3, 2), L.ones(3), L.ones(2, 2)),
        lambda L: L.addr(L.ones(3, 2), L.ones(3), L.ones(3)),
        lambda L: L.addr(L.ones(4, 2), L.ones(3), L.ones(2)),
    ],
)
def test_addr_errors_like_torch(call):
    same_error(call)
