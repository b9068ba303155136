"""take, index_fill, index_copy, scatter_reduce, Tensor.unfold and rot90
against torch: values, gradients to second order, node names, in-place
forms and errors."""

from __future__ import annotations

import ember
import numpy as np
import pytest
import torch
from conftest import assert_close, assert_grads_match, compare
from hypothesis import given, settings
from hypothesis import strategies as st

RNG = np.random.default_rng(5)


def node_name(t):
    return type(t.grad_fn).__name__


# ---- take ----


def test_take_values_and_grads_like_torch():
    a = RNG.standard_normal((3, 4))
    for index in ([0, 5, 11, 5], [[-1, 0], [3, -12]], 7):
        idx = np.array(index)
        assert_grads_match(lambda L, x: L.take(x, L.tensor(idx)), [a])
        assert_grads_match(lambda L, x: x.take(L.tensor(idx)), [a])
    assert_grads_match(lambda L, x: L.take(x.t(), L.tensor([0, 1, 4])), [a])


def test_take_node_and_errors_like_torch():
    for lib in (ember, torch):
        x = lib.randn(2, 2, requires_grad=True)
        assert node_name(lib.take(x, lib.tensor([1]))) == "TakeBackward0"
    for idx in ([12], [-13], [1.0]):
        fn = lambda L: L.take(L.randn(3, 4), L.tensor(idx))  # noqa: E731
        compare(fn)
        e, t = _errors(fn)
        assert str(e) == str(t)
    compare(lambda L: L.take(L.tensor([[1, 2], [3, 4]]), L.tensor([3, 0])))


def _errors(fn):
    out = []
    for lib in (ember, torch):
        try:
            fn(lib)
        except Exception as exc:  # noqa: BLE001
            out.append(exc)
    assert len(out) == 2
    return out


# ---- index_fill ----


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_fill_values_and_grads_like_torch(dim):
    a = RNG.standard_normal((3, 4))
    # torch's backward reads the index as given and fails on negative
    # positions, so negative ones are compared in the forward only.
    compare(lambda L: L.index_fill(L.tensor(a), dim, L.tensor([0, -1]), 2.5))
    idx = np.array([0, 2, 0])
    assert_grads_match(lambda L, x: L.index_fill(x, dim, L.tensor(idx), 2.5), [a])
    assert_grads_match(lambda L, x: x.index_fill(dim, L.tensor(1), -1.0), [a])
    v = np.array(0.75)
    assert_grads_match(lambda L, x, val: L.index_fill(x, dim, L.tensor(idx), val), [a, v])


def test_index_fill_nodes_inplace_and_ints_like_torch():
    for lib in (ember, torch):
        x = lib.randn(3, 4, requires_grad=True)
        v = lib.tensor(2.0, requires_grad=True)
        i = lib.tensor([0, 2])
        assert node_name(lib.index_fill(x, 0, i, 1.0)) == "IndexFillBackward0"
        assert node_name(lib.index_fill(x, 0, i, v)) == "IndexFillBackward1"
        y = x * 1
        y.index_fill_(1, i, v)
        assert node_name(y) == "IndexFillBackward1"
    compare(lambda L: L.index_fill(L.tensor([[1, 2], [3, 4]]), 0, L.tensor([0]), 1.5))
    compare(lambda L: L.tensor([[1.0, 2.0], [3.0, 4.0]]).index_fill_(1, L.tensor([1]), -3.0))

    def inplace_grads(L):
        x = L.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        v = L.tensor(2.0, requires_grad=True)
        y = x * x
        y.index_fill_(1, L.tensor([0, 2]), v)
        (y * y).sum().backward()
        return x.grad, v.grad

    for e, t in zip(inplace_grads(ember), inplace_grads(torch)):
        assert_close(e, t)


def test_index_fill_errors_like_torch():
    x = np.zeros((3, 4), np.float32)
    for fn in (
        lambda L: L.index_fill(L.tensor(x), 0, L.tensor([[0]]), 1.0),
        lambda L: L.index_fill(L.tensor(x), 0, L.tensor([3]), 1.0),
        lambda L: L.index_fill(L.tensor(x), 0, L.tensor([-4]), 1.0),
        lambda L: L.index_fill(L.tensor(x), 0, L.tensor([0.0]), 1.0),
        lambda L: L.index_fill(L.tensor(x), 2, L.tensor([0]), 1.0),
        lambda L: L.index_fill(L.tensor(x), 0, L.tensor([0]), L.tensor([1.0, 2.0])),
    ):
        compare(fn)
        e, t = _errors(fn)
        assert str(e) == str(t)


# ---- index_copy ----


@pytest.mark.parametrize("dim", [0, 1])
def test_index_copy_values_and_grads_like_torch(dim):
    a = RNG.standard_normal((3, 4))
    idx = np.array([2, 0])
    src = RNG.standard_normal((2, 4) if dim == 0 else (3, 2))
    assert_grads_match(lambda L, x, s: L.index_copy(x, dim, L.tensor(idx), s), [a, src])
    assert_grads_match(lambda L, x, s: x.index_copy(dim, L.tensor(idx), s), [a, src])


def test_index_copy_node_inplace_and_errors_like_torch():
    for lib in (ember, torch):
        x = lib.randn(3, 4, requires_grad=True)
        s = lib.randn(2, 4, requires_grad=True)
        assert node_name(lib.index_copy(x, 0, lib.tensor([0, 2]), s)) == "IndexCopyBackward0"
        y = x * 1
        y.index_copy_(0, lib.tensor([0, 2]), s)
        assert node_name(y) == "IndexCopyBackward0"

    def inplace_grads(L):
        x = L.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
        s = L.tensor([[-1.0, -2.0]], requires_grad=True)
        y = x * x
        y.index_copy_(0, L.tensor([1]), s * s)
        (y * y).sum().backward()
        return y.detach(), x.grad, s.grad

    for e, t in zip(inplace_grads(ember), inplace_grads(torch)):
        assert_close(e, t)
    x = np.zeros((3, 4), np.float32)
    for fn in (
        lambda L: L.index_copy(L.tensor(x), 0, L.tensor([0, 2]), L.randn(2, 3)),
        lambda L: L.index_copy(L.tensor(x), 0, L.tensor([0, 2]), L.randn(3, 4)),
        lambda L: L.index_copy(L.tensor(x), 0, L.tensor([3, 0]), L.randn(2, 4)),
        lambda L: L.index_copy(L.tensor(x), 0, L.tensor([-1, 0]), L.randn(2, 4)),
        lambda L: L.index_copy(L.tensor(x), 0, L.tensor([0, 1]), L.randn(2, 4, dtype=L.float64)),
        lambda L: L.index_copy(L.tensor(x), 0, L.tensor([[0, 1]]), L.randn(2, 4)),
    ):
        compare(fn)
        e, t = _errors(fn)
        assert str(e) == str(t)


# ---- scatter_reduce ----

REDUCTIONS = ["sum", "prod", "mean", "amax", "amin"]


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_values_and_grads_like_torch(reduce, include_self):
    a = RNG.uniform(0.5, 2.0, (3, 4)) * RNG.choice([-1, 1], (3, 4))
    src = RNG.uniform(0.5, 2.0, (4, 4))
    idx = np.array([[0, 1, 2, 0], [1, 1, 0, 0], [0, 1, 0, 1], [2, 2, 2, 0]])

    def fn(L, x, s):
        return L.scatter_reduce(x, 0, L.tensor(idx), s, reduce, include_self=include_self)

    assert_grads_match(fn, [a, src])
    assert_grads_match(
        lambda L, x, s: x.scatter_reduce(1, L.tensor(idx[:3, :2]), s, reduce, include_self=False),
        [a, src[:3, :2].copy()],
    )


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_with_zeros_like_torch(include_self):
    a = np.array([[0.0, 2.0, 3.0], [1.5, 0.0, -2.0]])
    src = np.array([[0.5, 0.0, 4.0], [0.0, 0.0, 2.0]])
    idx = np.array([[0, 1, 0], [0, 1, 1]])

    def fn(L, x, s):
        return L.scatter_reduce(x, 0, L.tensor(idx), s, "prod", include_self=include_self)

    assert_grads_match(fn, [a, src], second_order=False)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_reduce_ties_ints_and_node_like_torch(reduce):
    a = np.array([[1.0, 2.0], [3.0, 3.0]])
    src = np.array([[3.0, 2.0], [1.0, 3.0]])
    idx = np.array([[1, 0], [1, 1]])
    assert_grads_match(lambda L, x, s: L.scatter_reduce(x, 0, L.tensor(idx), s, reduce), [a, src])
    for include_self in (True, False):
        compare(
            lambda L: L.scatter_reduce(
                L.tensor([[1, 2], [3, 4]]),
                0,
                L.tensor([[0, 1], [1, 0]]),
                L.tensor([[-7, 2], [3, 5]]),
                reduce,
                include_self=include_self,
            )
        )
    for lib in (ember, torch):
        x = lib.randn(2, 2, requires_grad=True)
        y = lib.scatter_reduce(x, 0, lib.tensor(idx), x * 2, reduce)
        assert node_name(y) == "ScatterReduceBackward0"
        z = x * 1
        z.scatter_reduce_(0, lib.tensor(idx), x * 2, reduce)
        assert node_name(z) == "ScatterReduceBackward0"


def test_scatter_reduce_errors_like_torch():
    x = np.ones((3, 4), np.float32)
    idx = [[0, 1], [1, 0]]
    flags = [[True, False], [False, True]]
    for reduce in REDUCTIONS:
        compare(
            lambda L: L.scatter_reduce(L.tensor(flags), 0, L.tensor(idx), L.tensor(flags), reduce)
        )
    compare(lambda L: L.scatter_reduce(L.tensor(x), 0, L.tensor(idx), L.tensor(x), "foo"))
    compare(lambda L: L.scatter_reduce(L.tensor(x), 0, L.tensor(idx), L.tensor(x).double(), "sum"))
    compare(lambda L: L.scatter_reduce(L.tensor(x), 0, L.tensor([[5, 0]]), L.tensor(x), "sum"))
    compare(lambda L: L.scatter_reduce(L.tensor(x), 0, L.tensor([[0.0]]), L.tensor(x), "sum"))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    rows=st.integers(1, 4),
    cols=st.integers(1, 4),
    reduce=st.sampled_from(REDUCTIONS),
    include_self=st.booleans(),
)
def test_scatter_reduce_any_shape_like_torch(rows, cols, reduce, include_self):
    rng = np.random.default_rng(rows * 10 + cols)
    a = rng.uniform(0.5, 2.0, (rows, cols))
    src = rng.uniform(0.5, 2.0, (rows + 1, cols))
    idx = rng.integers(0, rows, size=(rows + 1, cols))
    assert_grads_match(
        lambda L, x, s: L.scatter_reduce(x, 0, L.tensor(idx), s, reduce, include_self=include_self),
        [a, src],
    )


# ---- unfold ----


@pytest.mark.parametrize("dim,size,step", [(0, 2, 1), (1, 3, 2), (-1, 1, 1), (1, 5, 5), (1, 2, 3)])
def test_unfold_values_and_grads_like_torch(dim, size, step):
    a = RNG.standard_normal((3, 5))
    assert_grads_match(lambda L, x: x.unfold(dim, size, step), [a])
    assert_grads_match(lambda L, x: x.t().unfold(dim, min(size, 3), step), [a])


def test_unfold_is_a_view_with_torchs_strides_and_node():
    for lib in (ember, torch):
        x = lib.arange(12.0).reshape(3, 4).clone()
        u = x.unfold(1, 2, 1)
        assert u._is_view() and u._base is x
        assert tuple(u.shape) == (3, 3, 2) and tuple(u.stride()) == (4, 1, 1)
        x[0, 1] = 100.0
        assert u[0, 0, 1].item() == u[0, 1, 0].item() == 100.0
        w = lib.randn(4, requires_grad=True)
        assert node_name(w.unfold(0, 2, 2)) == "UnfoldBackward0"
    compare(lambda L: L.tensor(3.0).unfold(0, 1, 1))
    assert ember.randn(3, 4).unfold(1, 0, 1).shape == torch.randn(3, 4).unfold(1, 0, 1).shape
    for fn in (
        lambda L: L.randn(3, 4).unfold(1, 5, 1),
        lambda L: L.randn(3, 4).unfold(1, 2, 0),
        lambda L: L.randn(3, 4).unfold(2, 2, 1),
    ):
        compare(fn)
        e, t = _errors(fn)
        assert str(e) == str(t)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), data=st.data())
def test_unfold_any_window_like_torch(shape, data):
    dim = data.draw(st.integers(0, len(shape) - 1))
    size = data.draw(st.integers(1, shape[dim]))
    step = data.draw(st.integers(1, 3))
    a = np.random.default_rng(size).standard_normal(shape)
    assert_grads_match(lambda L, x: x.unfold(dim, size, step), [a])


# ---- rot90 ----


@pytest.mark.parametrize("k", [-3, -1, 0, 1, 2, 3, 4, 5])
def test_rot90_values_grads_and_node_like_torch(k):
    a = RNG.standard_normal((2, 3, 4))
    for dims in ([0, 1], [1, 2], [2, 0], [-1, -2]):
        assert_grads_match(lambda L, x: L.rot90(x, k, dims), [a])
    assert_grads_match(lambda L, x: x.rot90(k), [a])
    for lib in (ember, torch):
        x = lib.randn(2, 2, requires_grad=True)
        assert node_name(lib.rot90(x, k)) == "Rot90Backward0"


def test_rot90_default_and_errors_like_torch():
    compare(lambda L: L.rot90(L.arange(6).reshape(2, 3)))
    for fn in (
        lambda L: L.rot90(L.randn(3, 4), 1, [0]),
        lambda L: L.rot90(L.randn(3), 1, [0, 1]),
        lambda L: L.rot90(L.randn(3, 4), 1, [0, 0]),
        lambda L: L.rot90(L.randn(3, 4), 1, [0, 2]),
        lambda L: L.rot90(L.randn(3, 4), 1, [-3, 1]),
    ):
        compare(fn)
        e, t = _errors(fn)
        assert str(e) == str(t)


# ---- split_with_sizes ----


def test_split_with_sizes_like_torch():
    a = RNG.standard_normal((5, 3))
    compare(lambda L: L.split_with_sizes(L.tensor(a), [2, 3]))
    compare(lambda L: L.tensor(a).split_with_sizes([1, 2], dim=1))
    assert_grads_match(lambda L, x: L.split_with_sizes(x, [1, 4])[1] * 2, [a])
    for lib in (ember, torch):
        x = lib.randn(4, requires_grad=True)
        parts = lib.split_with_sizes(x, [1, 3])
        assert isinstance(parts, tuple)
        assert node_name(parts[0]) == "SplitWithSizesBackward0"
    compare(lambda L: L.split_with_sizes(L.randn(5), [2, 2]))


# ---- gradcheck and released graphs ----

GRADCHECKED = {
    "take": lambda L, x, s: L.take(x, L.tensor([[0, 5], [11, 5]])) * s[0, 0],
    "index_fill": lambda L, x, s: L.index_fill(x, 1, L.tensor([0, 2]), s[0, 0]),
    "index_copy": lambda L, x, s: L.index_copy(x, 0, L.tensor([2, 0]), s[:2]),
    "scatter_reduce_prod": lambda L, x, s: L.scatter_reduce(
        x, 0, L.tensor([[0, 1, 0, 1], [2, 2, 0, 0]]), s[:2], "prod"
    ),
    "scatter_reduce_amax": lambda L, x, s: L.scatter_reduce(
        x, 1, L.tensor([[0, 0], [3, 1], [2, 2]]), s[:, :2], "amax", include_self=False
    ),
    "scatter_reduce_mean": lambda L, x, s: L.scatter_reduce(
        x, 1, L.tensor([[0, 0], [3, 1], [2, 2]]), s[:, :2], "mean"
    ),
    "unfold": lambda L, x, s: x.unfold(1, 3, 1) * s[0, 0],
    "rot90": lambda L, x, s: L.rot90(x * s, 3),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKED))
def test_gradcheck_and_gradgradcheck(name):
    rng = np.random.default_rng(6)
    x = ember.tensor(rng.uniform(0.5, 2, (3, 4)), requires_grad=True)
    s = ember.tensor(rng.uniform(0.5, 2, (3, 4)), requires_grad=True)
    fn = GRADCHECKED[name]
    assert ember.autograd.gradcheck(lambda a, b: fn(ember, a, b), (x, s))
    assert ember.autograd.gradgradcheck(lambda a, b: fn(ember, a, b), (x, s))


@pytest.mark.parametrize("name", sorted(GRADCHECKED))
def test_second_backward_without_retain_graph_raises_like_torch(name):
    fn = GRADCHECKED[name]
    for lib in (ember, torch):
        x = lib.ones(3, 4, dtype=lib.float64, requires_grad=True)
        s = lib.ones(3, 4, dtype=lib.float64, requires_grad=True)
        y = (fn(lib, x * 2, s * 2) ** 2).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.backward()


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_forward_formula_like_torch(reduce, include_self):
    import ember.autograd.forward_ad as efw
    import torch.autograd.forward_ad as tfw

    rng = np.random.default_rng(12)
    x, tx = rng.uniform(0.5, 2, (3, 4)), rng.standard_normal((3, 4))
    s, ts = rng.uniform(0.5, 2, (2, 4)), rng.standard_normal((2, 4))
    s[1, 2] = x[0, 2] = 0.0  # a zero factor for prod
    s[0, 0] = s[1, 0]  # a tie for amax / amin
    idx = [[0, 1, 0, 2], [0, 0, 0, 2]]
    tangents = []
    for lib, fw in ((ember, efw), (torch, tfw)):
        with fw.dual_level():
            a = fw.make_dual(lib.tensor(x), lib.tensor(tx))
            b = fw.make_dual(lib.tensor(s), lib.tensor(ts))
            out = lib.scatter_reduce(a, 0, lib.tensor(idx), b, reduce, include_self=include_self)
            tangents.append(fw.unpack_dual(out).tangent)
    if reduce == "prod":
        # torch's forward AD leaves prod's tangent undefined; its reverse-mode
        # jvp (the double-backward trick) is the reference instead.
        assert tangents[1] is None
        _, tangents[1] = torch.autograd.functional.jvp(
            lambda p, q: torch.scatter_reduce(
                p, 0, torch.tensor(idx), q, reduce, include_self=include_self
            ),
            (torch.tensor(x), torch.tensor(s)),
            (torch.tensor(tx), torch.tensor(ts)),
        )
    assert_close(tangents[0], tangents[1], rtol=1e-9, atol=1e-12)


# ---- scatter(reduce=) and gather(sparse_grad=) ----


@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_with_reduce_values_and_missing_derivative_like_torch(reduce):
    idx = [[0, 0], [1, 2]]
    compare(lambda L: L.scatter(L.ones(2, 3), 1, L.tensor(idx), 3.0, reduce=reduce))
    compare(lambda L: L.ones(2, 3).scatter(1, L.tensor(idx), value=-2.0, reduce=reduce))
    compare(lambda L: L.tensor([[1, 2, 3]]).scatter(1, L.tensor([[2, 2]]), 4, reduce=reduce))
    src = [[2.0, 3.0], [4.0, 5.0]]
    with pytest.warns(UserWarning, match="reduce argument of torch.scatter with Tensor src"):
        e = ember.scatter(ember.ones(2, 3), 1, ember.tensor(idx), ember.tensor(src), reduce=reduce)
    t = torch.scatter(torch.ones(2, 3), 1, torch.tensor(idx), torch.tensor(src), reduce=reduce)
    assert_close(e, t)
    compare(lambda L: L.ones(2, 3).scatter_(1, L.tensor(idx), 2.0, reduce=reduce))
    for lib in (ember, torch):
        x = lib.ones(2, 3, requires_grad=True)
        y = lib.scatter(x, 1, lib.tensor(idx), 2.0, reduce=reduce)
        assert y.grad_fn.name() == "torch::autograd::NotImplemented"
        with pytest.raises(RuntimeError, match="derivative for aten::scatter is not implemented"):
            y.sum().backward()
    compare(lambda L: L.scatter(L.ones(2, 3), 1, L.tensor(idx), 2.0, reduce="max"))


def test_gather_takes_sparse_grad_false_like_torch():
    a = RNG.standard_normal((3, 4))
    idx = np.array([[0, 3], [1, 1], [2, 0]])
    assert_grads_match(lambda L, x: L.gather(x, 1, L.tensor(idx), sparse_grad=False), [a])
    assert_grads_match(lambda L, x: x.gather(1, L.tensor(idx), sparse_grad=False), [a])
    with pytest.raises(NotImplementedError, match="sparse"):
        ember.gather(ember.tensor(a), 1, ember.tensor(idx), sparse_grad=True)


def test_inplace_forms_through_a_view_give_torchs_gradients():
    def run(L):
        w = L.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.5]], requires_grad=True)
        s = L.tensor([[7.0, 8.0, 9.0]], requires_grad=True)
        base = w * 2
        row = base[1:]
        row.index_copy_(0, L.tensor([0]), s * s)
        col = base[:, 1]
        col.fmod_(1.5)
        base[0].index_fill_(0, L.tensor([2]), 0.0)
        names = (type(base.grad_fn).__name__, type(row.grad_fn).__name__)
        (base * base).sum().backward()
        return names, base.detach(), w.grad, s.grad

    (en, *ev), (tn, *tv) = run(ember), run(torch)
    assert en == tn
    for e, t in zip(ev, tv):
        assert_close(e, t)


# ---- index_add ----


@pytest.mark.parametrize(
    "shape,dim,index,source_shape",
    [
        ((5,), 0, [0, 3, 3, 4], (4,)),
        ((3, 4), 1, [3, 0, 3], (3, 3)),
        ((2, 3, 4), 0, [1, 1], (2, 3, 4)),
        ((2, 3, 4), -2, [2], (2, 1, 4)),
        ((), 0, [0], ()),
        ((3,), 0, 1, (1,)),
    ],
    ids=str,
)
@pytest.mark.parametrize("alpha", [1, 2.5, -1])
def test_index_add_values_grads_and_node_like_torch(shape, dim, index, source_shape, alpha):
    a, s, idx = RNG.standard_normal(shape), RNG.standard_normal(source_shape), np.array(index)
    assert_grads_match(lambda L, x, y: x.index_add(dim, L.tensor(idx), y, alpha=alpha), [a, s])
    assert_grads_match(lambda L, x, y: L.index_add(x, dim, L.tensor(idx), y, alpha=alpha), [a, s])
    names = []
    for L in (ember, torch):
        x = L.tensor(a, requires_grad=True)
        y = L.tensor(s, requires_grad=True)
        out = x.index_add(dim, L.tensor(idx), y, alpha=alpha)
        names.append([node_name(out)] + [type(f).__name__ for f, _ in out.grad_fn.next_functions])
    assert names[0] == names[1] == ["IndexAddBackward0", "AccumulateGrad", "AccumulateGrad"]


def test_index_add_in_place_records_its_node_like_torch():
    a = RNG.standard_normal((3, 4))

    def run(L):
        x = L.tensor(a, requires_grad=True)
        s = L.tensor(np.ones((3, 2)), requires_grad=True)
        y = x * 1
        y.index_add_(1, L.tensor([0, 2], dtype=L.int32), s, alpha=2)
        y.backward(L.arange(12.0, dtype=L.float64).reshape(3, 4))
        return y.detach(), node_name(y), x.grad, s.grad

    (ey, en, ex, es), (ty, tn, tx, ts) = run(ember), run(torch)
    assert en == tn == "IndexAddBackward0"
    for e, t in ((ey, ty), (ex, tx), (es, ts)):
        assert_close(e, t)


def test_index_add_dtypes_like_torch():
    for dtype in ("int64", "int32", "uint8", "float16", "bfloat16", "bool"):
        compare(
            lambda L: L.zeros(4, dtype=getattr(L, dtype)).index_add(
                0, L.tensor([1, 1, 3]), L.ones(3, dtype=getattr(L, dtype))
            )
        )
    compare(
        lambda L: L.zeros(3, dtype=L.int64).index_add(
            0, L.tensor([0]), L.ones(1, dtype=L.int64) * 3, alpha=1.5
        )
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.zeros(3, 4).index_add(0, L.tensor([0, 2]), L.ones(2, 4, dtype=L.float64)),
        lambda L: L.zeros(3, 4).index_add(0, L.tensor([0.0, 2]), L.ones(2, 4)),
        lambda L: L.zeros(3, 4).index_add(0, L.tensor([[0, 2]]), L.ones(2, 4)),
        lambda L: L.zeros(3, 4).index_add(0, L.tensor([0, 2]), L.ones(3, 4)),
        lambda L: L.zeros(3, 4).index_add(0, L.tensor([0, 2]), L.ones(2, 5)),
        lambda L: L.zeros(3, 4).index_add(0, L.tensor([0, 3]), L.ones(2, 4)),
        lambda L: L.zeros(3, 4).index_add(0, L.tensor([0, -1]), L.ones(2, 4)),
        lambda L: L.zeros(3, 4).index_add(2, L.tensor([0, 2]), L.ones(2, 4)),
        lambda L: L.zeros(3).index_add(0, L.tensor([3]), L.ones(1)),
        lambda L: L.zeros(3).index_add(0, L.tensor([1]), L.tensor(2.0)),
        lambda L: L.tensor(5.0).index_add(0, L.tensor([0, 0]), L.ones(2)),
    ],
)
def test_index_add_errors_like_torch(call):
    for L in (ember, torch):
        try:
            call(L)
        except Exception as exc:  # noqa: BLE001
            if L is ember:
                got = (type(exc), str(exc))
            else:
                assert got == (type(exc), str(exc))
        else:
            raise AssertionError(f"{L.__name__} accepted")
