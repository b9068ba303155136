"""select/slice/diagonal_scatter, index_put(_), masked_scatter(_),
fill_diagonal_, sum_to_size and unravel_index against torch."""

import ember
import ember.autograd.forward_ad as efw
import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw
from conftest import assert_grads_match, compare, same_error
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

RNG = np.random.default_rng(3)


def arr(*shape):
    return RNG.uniform(-2, 2, size=shape)


# ----------------------------------------------------------------- scatters


@pytest.mark.parametrize("dim, index", [(0, 0), (1, -1), (-1, 2)])
def test_select_scatter(dim, index):
    x = arr(3, 4)
    src = arr(*np.delete(np.array(x.shape), dim % 2))
    assert_grads_match(lambda lib, a, b: lib.select_scatter(a, b, dim, index), [x, src])
    assert_grads_match(lambda lib, a, b: a.select_scatter(b, dim, index), [x, src])


@pytest.mark.parametrize(
    "kwargs, src_shape",
    [
        ({}, (3, 4)),
        ({"dim": 1, "step": 2}, (3, 2)),
        ({"dim": 0, "start": 1, "end": 3}, (2, 4)),
        ({"dim": 1, "start": -2}, (3, 2)),
    ],
)
def test_slice_scatter(kwargs, src_shape):
    assert_grads_match(
        lambda lib, a, b: lib.slice_scatter(a, b, **kwargs), [arr(3, 4), arr(*src_shape)]
    )


@pytest.mark.parametrize(
    "offset, dim1, dim2, ndim", [(0, 0, 1, 2), (1, 0, 1, 2), (-1, 1, 0, 2), (0, 0, 2, 3)]
)
def test_diagonal_scatter(offset, dim1, dim2, ndim):
    x = arr(3, 4) if ndim == 2 else arr(2, 3, 2)
    src_shape = np.diagonal(x, offset, dim1, dim2).shape
    assert_grads_match(
        lambda lib, a, b: lib.diagonal_scatter(a, b, offset, dim1, dim2), [x, arr(*src_shape)]
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.select_scatter(lib.ones(3, 4), lib.ones(3), 0, 0),
        lambda lib: lib.select_scatter(lib.ones(3, 4), lib.ones(4), 0, 5),
        lambda lib: lib.slice_scatter(lib.ones(3, 4), lib.ones(3, 4), 0, 0, 2),
        lambda lib: lib.diagonal_scatter(lib.ones(3, 4), lib.ones(4)),
    ],
)
def test_scatter_errors_like_torch(call):
    same_error(call)


def test_scatters_cast_the_source():
    compare(lambda lib: lib.select_scatter(lib.zeros(2, 3), lib.ones(3, dtype=lib.float64), 0, 1))


SCATTER_CALLS = {
    "SelectScatterBackward0": lambda L, a, b: L.select_scatter(a, b[0], 1, -1),
    "SliceScatterBackward0": lambda L, a, b: a.slice_scatter(b[:, :2], 1, 1, None, 2),
    "DiagonalScatterBackward0": lambda L, a, b: L.diagonal_scatter(a, b[:3, 0], -1),
    "MaskedScatterBackward0": lambda L, a, b: a.masked_scatter(
        L.tensor([True, False, True, True]), b.reshape(-1)
    ),
}


@pytest.mark.parametrize("node", sorted(SCATTER_CALLS))
def test_scatters_record_torch_node_and_double_backward_node(node):
    x, src = arr(4, 4), arr(4, 4)
    names = []
    for L in (ember, torch):
        a, b = L.tensor(x, requires_grad=True), L.tensor(src, requires_grad=True)
        out = SCATTER_CALLS[node](L, a, b)
        g = L.tensor(arr(*out.shape), requires_grad=True)
        firsts = L.autograd.grad(out, [a, b], g, create_graph=True)
        names.append(
            [type(out.grad_fn).__name__]
            + [type(f).__name__ for f, _ in out.grad_fn.next_functions]
            + [type(f.grad_fn).__name__ for f in firsts]
        )
    assert names[0] == names[1]
    assert names[0][0] == node
    assert_grads_match(SCATTER_CALLS[node], [x, src])


@pytest.mark.parametrize("node", sorted(SCATTER_CALLS))
def test_scatters_forward_formula_like_torch(node):
    x, src, tx, ts = arr(4, 4), arr(4, 4), arr(4, 4), arr(4, 4)
    results = []
    for L, fw in ((ember, efw), (torch, tfw)):
        with fw.dual_level():
            a = fw.make_dual(L.tensor(x), L.tensor(tx))
            b = fw.make_dual(L.tensor(src), L.tensor(ts))
            results.append(fw.unpack_dual(SCATTER_CALLS[node](L, a, b)).tangent.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-12)


def test_masked_scatter_in_place_records_its_node_like_torch():
    def run(L):
        x = L.tensor(arr(2, 3), requires_grad=True)
        y = x * 1
        y.masked_scatter_(L.tensor([True, False, True]), L.arange(6.0, dtype=L.float64))
        return type(y.grad_fn).__name__

    assert run(ember) == run(torch) == "MaskedScatterBackward0"


# ----------------------------------------------------------------- index_put


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize(
    "make_indices, values_shape",
    [
        (lambda lib: (lib.tensor([0, 2]),), (2, 4)),
        (lambda lib: (lib.tensor([0, 2, 0]),), (4,)),
        (lambda lib: (lib.tensor([0, 1, 1]), lib.tensor([3, 0, 0])), (3,)),
        (lambda lib: (lib.tensor([[0], [2]]), lib.tensor([1, 2])), (2, 2)),
        (lambda lib: (lib.tensor([True, False, True]),), ()),
    ],
)
def test_index_put_values_and_gradients(make_indices, values_shape, accumulate):
    indices = make_indices(ember)
    positions = ember.arange(12).reshape(3, 4)[indices].reshape(-1).tolist()
    duplicates = len(set(positions)) < len(positions)

    def run(lib, x, v):
        return lib.index_put(x, make_indices(lib), v, accumulate)

    if duplicates and not accumulate:
        # which write lands is unspecified, and torch sends a gradient to every
        # duplicate value, Ember only to the one that landed (docs/compatibility.md)
        compare(lambda lib: run(lib, lib.zeros(3, 4), lib.tensor(2.0)))
    else:
        assert_grads_match(run, [arr(3, 4), arr(*values_shape)], second_order=False)
    compare(lambda lib: lib.zeros(3, 4).index_put_(make_indices(lib), lib.tensor(2.0), accumulate))


def test_index_put_in_place_on_integers_and_a_list_of_indices():
    compare(
        lambda lib: lib.zeros(3, dtype=lib.int64).index_put_(
            (lib.tensor([0, 0]),), lib.tensor(2), True
        )
    )
    compare(lambda lib: lib.zeros(3).index_put([lib.tensor([1])], lib.tensor(2.0)))
    compare(lambda lib: lib.index_put_(lib.zeros(3), (lib.tensor([2]),), lib.tensor(5.0)))


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize(
    "call",
    [
        lambda lib, acc: lib.ones(3, 4).index_put(
            (lib.tensor([0]),), lib.tensor(1.0, dtype=lib.float64), acc
        ),
        lambda lib, acc: lib.zeros(3).index_put((lib.tensor([5]),), lib.tensor(2.0), acc),
        lambda lib, acc: lib.zeros(3).index_put(
            (lib.tensor([0]), lib.tensor([0])), lib.tensor(2.0), acc
        ),
        lambda lib, acc: lib.zeros(3).index_put((lib.tensor([0.0]),), lib.tensor(2.0), acc),
        lambda lib, acc: lib.zeros(2, 3).index_put((None, lib.tensor([0])), lib.tensor(1.0), acc),
    ],
)
def test_index_put_errors_like_torch(call, accumulate):
    same_error(lambda lib: call(lib, accumulate))


def test_index_put_in_place_refuses_a_leaf_that_requires_grad():
    same_error(
        lambda lib: lib.ones(3, requires_grad=True).index_put_(
            (lib.tensor([0]),), lib.tensor(1.0), True
        )
    )


# ----------------------------------------------------------------- masked_scatter


@pytest.mark.parametrize(
    "shape, mask",
    [
        ((2, 3), [True, False, True]),
        ((2, 3), [[True, True, False], [False, False, True]]),
        ((2, 3), [False] * 3),
        ((3,), [[True, False, True], [False, True, True]]),
    ],
)
def test_masked_scatter_values_and_gradients(shape, mask):
    def run(lib, x, source):
        return lib.masked_scatter(x, lib.tensor(mask), source)

    x = arr(*shape)
    assert_grads_match(run, [x, arr(7)])
    compare(
        lambda lib: lib.tensor(x).masked_scatter(
            lib.tensor(mask), lib.arange(7.0, dtype=lib.float64)
        )
    )


def test_masked_scatter_in_place():
    compare(
        lambda lib: lib.zeros(2, 3).masked_scatter_(
            lib.tensor([True, False, True]), lib.arange(6.0)
        )
    )
    # the mask must broadcast to self (expand's message names the tensor type differently)
    same_error(
        lambda lib: lib.zeros(3).masked_scatter_(lib.ones(2, 3, dtype=lib.bool), lib.arange(6.0)),
        message=lambda e: str(e).split(":")[-1],
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.zeros(2, 3).masked_scatter(
            lib.tensor([True, False, True]), lib.arange(3.0)
        ),
        lambda lib: lib.zeros(2, 3).masked_scatter(lib.tensor([True, False, True]), lib.arange(6)),
        lambda lib: lib.zeros(2, 3).masked_scatter(lib.tensor([1, 0, 1]), lib.arange(6.0)),
    ],
)
def test_masked_scatter_errors_like_torch(call):
    same_error(call)


# ----------------------------------------------------------------- fill_diagonal_


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (2, 2, 2), (7, 2), (1, 1), (0, 3)])
@pytest.mark.parametrize("wrap", [False, True])
def test_fill_diagonal(shape, wrap):
    compare(lambda lib: lib.zeros(*shape).fill_diagonal_(2.5, wrap))
    compare(lambda lib: lib.zeros(*shape, dtype=lib.int64).fill_diagonal_(3, wrap=wrap))


def test_fill_diagonal_of_a_non_contiguous_view_and_its_gradient():
    compare(lambda lib: lib.arange(12.0).reshape(3, 4).t().fill_diagonal_(-1))

    def run(lib, x):
        return (x * 1).fill_diagonal_(0.0)

    assert_grads_match(run, [arr(3, 4)])


def test_fill_diagonal_errors_like_torch():
    same_error(lambda lib: lib.zeros(3).fill_diagonal_(2))
    same_error(lambda lib: lib.zeros(2, 3, 2).fill_diagonal_(2))


# ----------------------------------------------------------------- sum_to_size


@pytest.mark.parametrize("size", [(3, 4), (1, 4), (3, 1), (1, 1), (4,), (1,), ()])
def test_sum_to_size_values_gradients_and_node(size):
    assert_grads_match(lambda lib, x: x.sum_to_size(size), [arr(3, 4)])
    if size:
        assert_grads_match(lambda lib, x: x.sum_to_size(*size), [arr(3, 4)])
    else:
        same_error(lambda lib: lib.ones(3, 4).sum_to_size())
    x = ember.ones(3, 4, requires_grad=True)
    t = torch.ones(3, 4, requires_grad=True)
    e_out, t_out = x.sum_to_size(size), t.sum_to_size(size)
    assert (e_out.grad_fn is None) == (t_out.grad_fn is None)
    if t_out.grad_fn is not None and len(size) == 2:
        assert e_out.grad_fn.name() == t_out.grad_fn.name()


def test_sum_to_size_returns_self_for_its_own_size():
    x = ember.ones(3, 4)
    assert x.sum_to_size(3, 4) is x


@pytest.mark.parametrize("size", [(2,), (4, 3), (1, 3, 4), (3, 2)])
def test_sum_to_size_errors_like_torch(size):
    same_error(lambda lib: lib.ones(3, 4).sum_to_size(size))


# ----------------------------------------------------------------- unravel_index


@pytest.mark.parametrize(
    "indices, shape",
    [
        ([5, -1, 0, 3], (2, 3)),
        ([6], (2, 3)),
        (-7, (2, 3)),
        (1, 5),
        (4, (5,)),
        ([[1, 7], [2, 0]], (2, 2, 2)),
        (0, ()),
    ],
)
def test_unravel_index(indices, shape):
    compare(lambda lib: lib.unravel_index(lib.tensor(indices), shape))
    compare(lambda lib: lib.unravel_index(lib.tensor(indices, dtype=lib.int32), shape))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.unravel_index(lib.tensor(1.0), (2, 3)),
        lambda lib: lib.unravel_index(lib.tensor(True), (2,)),
        lambda lib: lib.unravel_index(lib.tensor(1), (2, -3)),
    ],
)
def test_unravel_index_errors_like_torch(call):
    same_error(call, message=lambda e: str(e).replace("torch.", "").replace("ember.", ""))


@given(
    hnp.arrays(
        np.int64,
        hnp.array_shapes(min_dims=1, max_dims=2, max_side=4),
        elements=st.integers(-30, 30),
    ),
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
)
def test_unravel_index_over_shapes(indices, shape):
    compare(lambda lib: lib.unravel_index(lib.tensor(indices), shape))
