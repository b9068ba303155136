"""vdot, narrow_copy, the unsafe splits and the `_copy` forms of the view ops:
related ops under torch's own node names. Values, layouts, gradients (to
second order), node names and errors against torch."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_grads_match, ember, same_error, torch

DATA = np.random.default_rng(11).standard_normal((4, 6))

# name, fn(lib, x) with x a (4, 6) float64 tensor in a graph
CASES = [
    ("vdot", lambda L, x: L.vdot(x[0], x[1])),
    ("vdot_method", lambda L, x: x[:, 0].vdot(x[:, 2])),
    ("narrow_copy", lambda L, x: L.narrow_copy(x, 1, 1, 3)),
    ("narrow_copy_method", lambda L, x: x.narrow_copy(0, 2, 2)),
    ("unsafe_split", lambda L, x: L.unsafe_split(x, 4, 1)),
    ("unsafe_split_method", lambda L, x: x.unsafe_split(split_size=3)),
    ("unsafe_split_with_sizes", lambda L, x: L.unsafe_split_with_sizes(x, [1, 5], 1)),
    ("unsafe_split_with_sizes_method", lambda L, x: x.unsafe_split_with_sizes([3, 1])),
    ("unsafe_chunk", lambda L, x: L.unsafe_chunk(x, 3, dim=1)),
    ("unsafe_chunk_method", lambda L, x: x.unsafe_chunk(2)),
    ("view_copy", lambda L, x: L.view_copy(x, (3, 8))),
    ("view_copy_strided", lambda L, x: L.view_copy(x.t(), [-1])),
    ("t_copy", lambda L, x: L.t_copy(x)),
    ("transpose_copy", lambda L, x: L.transpose_copy(x, 0, -1)),
    ("squeeze_copy", lambda L, x: L.squeeze_copy(x[:1])),
    ("squeeze_copy_dim", lambda L, x: L.squeeze_copy(x[:1], 0)),
    ("squeeze_copy_dims", lambda L, x: L.squeeze_copy(x[:1], (0, 1))),
    ("unsqueeze_copy", lambda L, x: L.unsqueeze_copy(x, 1)),
    ("permute_copy", lambda L, x: L.permute_copy(x, (1, 0))),
    ("expand_copy", lambda L, x: L.expand_copy(x[:1], (2, 3, 6))),
    ("diagonal_copy", lambda L, x: L.diagonal_copy(x, offset=1)),
    ("select_copy", lambda L, x: L.select_copy(x, 1, -1)),
    ("slice_copy", lambda L, x: L.slice_copy(x, 1, 1, None, 2)),
    ("slice_copy_default", lambda L, x: L.slice_copy(x)),
    ("alias_copy", lambda L, x: L.alias_copy(x)),
    ("as_strided_copy", lambda L, x: L.as_strided_copy(x, (3, 3), (1, 1), 2)),
    ("split_copy", lambda L, x: L.split_copy(x, 4, 1)),
    ("split_with_sizes_copy", lambda L, x: L.split_with_sizes_copy(x, [1, 3])),
    ("unbind_copy", lambda L, x: L.unbind_copy(x, dim=1)),
]
IDS = [c[0] for c in CASES]


def _run(lib, fn):
    x = lib.tensor(DATA, requires_grad=True)
    y = x * 1
    out = fn(lib, y)
    outs = out if isinstance(out, tuple) else (out,)
    total = sum((o * (i + 1)).sum() for i, o in enumerate(outs))
    total.backward()
    return (
        type(out).__name__,
        [type(o.grad_fn).__name__ for o in outs],
        [[type(f).__name__ for f, _ in o.grad_fn.next_functions] for o in outs],
        [(tuple(o.shape), o.stride(), o._is_view(), o.data_ptr() == y.data_ptr()) for o in outs],
        [o.detach().numpy() for o in outs],
        x.grad.numpy(),
    )


@pytest.mark.parametrize("name,fn", CASES, ids=IDS)
def test_values_grads_layouts_and_nodes_like_torch(name, fn):
    e, t = _run(ember, fn), _run(torch, fn)
    assert e[:3] == t[:3]
    # a copy never shares the input's memory; the unsafe splits' pieces do
    assert [s[:3] for s in e[3]] == [s[:3] for s in t[3]]
    assert [s[3] for s in e[3]] == [s[3] for s in t[3]] or "unsafe" in name
    for a, b in zip(e[4], t[4]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(e[5], t[5], rtol=1e-12)


@pytest.mark.parametrize("name,fn", CASES, ids=IDS)
def test_second_order_like_torch(name, fn):
    def first(lib, x):
        out = fn(lib, x * 1)
        return (out[0] if isinstance(out, tuple) else out) ** 2

    assert_grads_match(first, [DATA])


def test_unsafe_split_pieces_are_writable_like_torch():
    def run(lib):
        x = lib.tensor(DATA, requires_grad=True)
        y = x * 1
        a, b = lib.unsafe_split(y, 3, 1)
        a.mul_(2)
        (a.sum() + b.sum()).backward()
        return (
            type(a.grad_fn).__name__,
            type(y.grad_fn).__name__,
            y.detach().numpy(),
            x.grad.numpy(),
        )

    e, t = run(ember), run(torch)
    assert e[:2] == t[:2]
    np.testing.assert_allclose(e[2], t[2])
    np.testing.assert_allclose(e[3], t[3])


def test_copies_on_plain_and_integer_tensors_like_torch():
    for lib_pair in [(ember, torch)]:
        outs = []
        for lib in lib_pair:
            x = lib.arange(24).view(4, 6)
            outs.append(
                [
                    lib.t_copy(x).numpy(),
                    lib.narrow_copy(x, 0, -3, 2).numpy(),
                    lib.vdot(x[0], x[1]).item(),
                    [p.numpy() for p in lib.unsafe_chunk(x, 2)],
                ]
            )
        e, t = outs
        np.testing.assert_array_equal(e[0], t[0])
        np.testing.assert_array_equal(e[1], t[1])
        assert e[2] == t[2]
        for a, b in zip(e[3], t[3]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.vdot(L.ones(6), L.ones(3)),
        lambda L: L.vdot(L.ones(2, 3), L.ones(2, 3)),
        lambda L: L.narrow_copy(L.ones(4, 6), 1, 5, 3),
        lambda L: L.narrow_copy(L.ones(4, 6), 1, -7, 1),
        lambda L: L.unsafe_split(L.ones(4, 6), 0, 1),
        lambda L: L.unsafe_split_with_sizes(L.ones(4, 6), [1, 2], 1),
        lambda L: L.unsafe_chunk(L.ones(4, 6), 0),
        lambda L: L.t_copy(L.ones(2, 3, 4)),
        lambda L: L.transpose_copy(L.ones(2, 3), 0, 2),
        lambda L: L.view_copy(L.ones(2, 3), (5,)),
        lambda L: L.view_copy(L.ones(2, 3), (-1, -1)),
        lambda L: L.expand_copy(L.ones(2, 3), (3, 3)),
        lambda L: L.as_strided_copy(L.ones(4), (5,), (1,)),
        lambda L: L.split_copy(L.ones(4), -1),
    ],
)
def test_errors_like_torch(call):
    same_error(call)
