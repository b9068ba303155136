"""In-place view ops (squeeze_, unsqueeze_, t_, transpose_, swapaxes_,
swapdims_, as_strided_), as_strided and empty_strided against torch: values,
geometry, version counters, node names, gradients and errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_grads_match, ember, same_error, torch
from hypothesis import given, settings
from hypothesis import strategies as st

# name, input shape, the in-place call
INPLACE_VIEWS = [
    ("squeeze_", (2, 1, 3), lambda t: t.squeeze_()),
    ("squeeze_dim", (2, 1, 3), lambda t: t.squeeze_(1)),
    ("squeeze_dim_kw", (2, 1, 3), lambda t: t.squeeze_(dim=-2)),
    ("squeeze_dim_noop", (2, 1, 3), lambda t: t.squeeze_(0)),
    ("squeeze_dims", (1, 2, 1, 3), lambda t: t.squeeze_((0, 2))),
    ("squeeze_dims_list", (1, 2, 1, 3), lambda t: t.squeeze_([0, -1])),
    ("unsqueeze_", (2, 3), lambda t: t.unsqueeze_(1)),
    ("unsqueeze_end", (2, 3), lambda t: t.unsqueeze_(-1)),
    ("transpose_", (2, 3, 4), lambda t: t.transpose_(0, 2)),
    ("transpose_kw", (2, 3, 4), lambda t: t.transpose_(dim0=1, dim1=-1)),
    ("swapaxes_", (2, 3, 4), lambda t: t.swapaxes_(0, 1)),
    ("swapdims_", (2, 3, 4), lambda t: t.swapdims_(2, 0)),
    ("t_", (2, 3), lambda t: t.t_()),
    ("t_1d", (3,), lambda t: t.t_()),
    ("t_0d", (), lambda t: t.t_()),
    ("as_strided_", (6,), lambda t: t.as_strided_((2, 2), (1, 2), 1)),
    ("as_strided_overlap", (6,), lambda t: t.as_strided_((3, 3), (1, 1))),
]
IDS = [c[0] for c in INPLACE_VIEWS]


def _upstream(lib, shape, seed=3):
    return lib.tensor(np.random.default_rng(seed).standard_normal(shape))


@pytest.mark.parametrize("name,shape,op", INPLACE_VIEWS, ids=IDS)
def test_inplace_view_on_a_non_leaf_like_torch(name, shape, op):
    data = np.random.default_rng(0).standard_normal(shape)
    results = []
    for lib in (ember, torch):
        x = lib.tensor(data, requires_grad=True)
        y = x * 2
        before = y._version
        out = op(y)
        assert out is y
        y.backward(_upstream(lib, tuple(y.shape)))
        results.append(
            (
                tuple(y.shape),
                y.stride(),
                y.storage_offset(),
                y._version - before,
                type(y.grad_fn).__name__,
                [type(f).__name__ for f, _ in y.grad_fn.next_functions],
                y.is_leaf,
                y._is_view(),
                y.detach().numpy().copy(),
                x.grad.numpy().copy(),
            )
        )
    e, t = results
    assert e[:8] == t[:8]
    np.testing.assert_allclose(e[8], t[8])
    np.testing.assert_allclose(e[9], t[9])


@pytest.mark.parametrize("name,shape,op", INPLACE_VIEWS, ids=IDS)
def test_inplace_view_on_plain_tensors_like_torch(name, shape, op):
    for dtype in ("float32", "int64", "bool"):
        data = (np.arange(int(np.prod(shape))) % 3).reshape(shape).astype(dtype)
        e, t = ember.tensor(data), torch.tensor(data)
        assert op(e) is e and op(t) is t
        assert (tuple(e.shape), e.stride(), e._version, e.grad_fn) == (
            tuple(t.shape),
            t.stride(),
            t._version,
            None,
        )
        np.testing.assert_array_equal(e.numpy(), t.numpy())


@pytest.mark.parametrize("name,shape,op", INPLACE_VIEWS, ids=IDS)
def test_inplace_view_refuses_leaves_like_torch(name, shape, op):
    data = np.ones(shape)
    same_error(lambda lib: op(lib.tensor(data, requires_grad=True)))
    if shape:  # a view of a leaf
        same_error(lambda lib: op(lib.tensor(data, requires_grad=True)[...]))

    def under_no_grad(lib):
        x = lib.tensor(data, requires_grad=True)
        with lib.no_grad():
            op(x)
        return tuple(x.shape), x.stride(), x.is_leaf, x.requires_grad, x.grad_fn

    assert under_no_grad(ember) == under_no_grad(torch)


def test_inplace_view_refuses_marked_views_like_torch():
    def no_grad_view(lib):
        x = lib.ones(2, 3, requires_grad=True)
        with lib.no_grad():
            v = x[0:1]
        v.t_()

    def split_output(lib):
        a, _ = (lib.ones(2, 3, requires_grad=True) * 2).split(1)
        a.t_()

    same_error(no_grad_view)
    same_error(split_output)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.ones(2, 3, 4).t_(),
        lambda lib: lib.ones(2, 3).transpose_(0, 3),
        lambda lib: lib.ones(2, 3).swapaxes_(-3, 0),
        lambda lib: lib.ones(2, 3).squeeze_(5),
        lambda lib: lib.ones(2, 3).squeeze_((0, 5)),
        lambda lib: lib.ones(2, 1).squeeze_((1, -1)),
        lambda lib: lib.ones(2, 1).squeeze_((1, 5, 1)),
        lambda lib: lib.ones(()).squeeze_((0, -1)),
        lambda lib: lib.ones(2, 1).squeeze((1, 1)),
        lambda lib: lib.ones(2, 3).unsqueeze_(5),
        lambda lib: lib.ones(2, 3, requires_grad=True).mul(1).squeeze_(5),
    ],
)
def test_inplace_view_errors_like_torch(call):
    same_error(call)


def test_a_failed_inplace_view_leaves_the_tensor_alone():
    y = ember.ones(2, 3, requires_grad=True) * 2
    fn = y.grad_fn
    with pytest.raises(IndexError):
        y.transpose_(0, 5)
    assert tuple(y.shape) == (2, 3) and y.grad_fn is fn and y._version == 0


def _chain(lib):
    """A view turned in place, then written through: the base's gradient."""
    x = lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    base = x * 2
    v = base[:, 1:]
    v.t_()
    names = [type(v.grad_fn).__name__, v._base is base]
    v.mul_(lib.tensor([[1.0], [10.0]]))
    names += [type(v.grad_fn).__name__, type(base.grad_fn).__name__]
    (base * lib.arange(6.0).view(2, 3)).sum().backward()
    return names, base.detach().numpy(), x.grad.numpy()


def test_inplace_view_of_a_view_then_a_write_like_torch():
    e, t = _chain(ember), _chain(torch)
    assert e[0] == t[0]
    np.testing.assert_allclose(e[1], t[1])
    np.testing.assert_allclose(e[2], t[2])


def test_views_of_a_tensor_turned_in_place_keep_their_values_and_gradients():
    def run(lib):
        x = lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        base = x * 2
        v = base[0]
        base.t_()
        (v * lib.arange(3.0)).sum().backward()
        return v.detach().numpy(), x.grad.numpy(), tuple(base.shape)

    for a, b in zip(run(ember), run(torch)):
        np.testing.assert_allclose(a, b)


def test_a_tensor_saved_for_backward_then_turned_in_place_raises_like_torch():
    def run(lib):
        x = lib.ones(2, 3, requires_grad=True)
        y = x * 2
        w = y * y
        y.t_()
        w.sum().backward()

    with pytest.raises(RuntimeError) as t_err:
        run(torch)
    with pytest.raises(RuntimeError) as e_err:
        run(ember)
    assert "modified by an inplace operation" in str(t_err.value)
    assert "modified by an inplace operation" in str(e_err.value)


def test_retained_grad_and_hooks_stay_with_the_old_history_like_torch():
    def run(lib):
        x = lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        y = x * 2
        seen = []
        y.register_hook(lambda g: seen.append(tuple(g.shape)))
        y.retain_grad()
        y.t_()
        (y * lib.arange(6.0).view(3, 2)).sum().backward()
        return seen, tuple(y.grad.shape), y.grad.numpy(), x.grad.numpy()

    e, t = run(ember), run(torch)
    assert e[:2] == t[:2]
    np.testing.assert_allclose(e[2], t[2])
    np.testing.assert_allclose(e[3], t[3])


def test_inplace_view_second_order_like_torch():
    def fn(lib, x):
        y = x.sin()  # saves its input, which the view ops leave alone
        y.unsqueeze_(0)
        y.transpose_(0, 2)
        y.squeeze_()
        y.t_()
        return y * y

    assert_grads_match(fn, [np.random.default_rng(1).standard_normal((2, 3))])


def test_inplace_view_carries_the_tangent_like_torch():
    def run(lib):
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            p = fwad.make_dual(lib.ones(2, 3), lib.arange(6.0).view(2, 3))
            q = p * 1
            q.t_()
            q.unsqueeze_(0)
            return fwad.unpack_dual(q).tangent.numpy()

    np.testing.assert_array_equal(run(ember), run(torch))


# ---- as_strided ----

AS_STRIDED = [
    ((6,), lambda t: t, (2, 2), (1, 2), 1),
    ((6,), lambda t: t, (3, 3), (1, 1), None),  # overlapping
    ((6,), lambda t: t, (2, 3), (0, 1), 2),  # repeated rows
    ((3, 4), lambda t: t, (2, 2), (4, 1), 5),
    ((3, 4), lambda t: t.t(), (2, 2), (1, 4), None),  # transposed input
    ((10,), lambda t: t[4:8], (3,), (2,), 1),  # starts before the input
    ((10,), lambda t: t[4:8], (3,), (1,), 6),  # ends after the input
    ((3,), lambda t: t.expand(2, 3), (2, 3), (0, 1), None),  # expanded input
    ((3,), lambda t: t.expand(2, 3), (3,), (1,), None),
    ((6,), lambda t: t, (0, 2), (100, 100), 100),  # empty
    ((6,), lambda t: t, (), (), 3),
]


@pytest.mark.parametrize("shape,prep,size,stride,offset", AS_STRIDED)
def test_as_strided_values_grads_and_node_like_torch(shape, prep, size, stride, offset):
    data = np.random.default_rng(2).standard_normal(shape)
    results = []
    for lib in (ember, torch):
        x = lib.tensor(data, requires_grad=True)
        y = lib.as_strided(prep(x), size, stride, offset)
        z = prep(x).as_strided(size, stride, storage_offset=offset)
        y.backward(_upstream(lib, tuple(y.shape)))
        results.append(
            (
                type(y.grad_fn).__name__,
                y._is_view(),
                y.stride(),
                y.storage_offset(),
                y.detach().numpy(),
                z.detach().numpy(),
                x.grad.numpy(),
            )
        )
    e, t = results
    assert e[:4] == t[:4]
    for a, b in zip(e[4:], t[4:]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape,prep,size,stride,offset", AS_STRIDED[:8])
def test_as_strided_second_order_like_torch(shape, prep, size, stride, offset):
    def fn(lib, x):
        y = prep(x * 1).as_strided(size, stride, offset)
        return y * y

    assert_grads_match(fn, [np.random.default_rng(4).standard_normal(shape)])


def test_as_strided_gradcheck():
    x = ember.randn(6, dtype=ember.float64, requires_grad=True)

    def f(t):
        return t.as_strided((3, 3), (1, 1), 1)

    assert ember.autograd.gradcheck(f, (x,))
    assert ember.autograd.gradgradcheck(f, (x,))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.arange(12.0).view(3, 4).as_strided((4, 4), (4, 1)),
        lambda lib: lib.arange(12.0).view(3, 4).as_strided((2, 2), (4, 1), 11),
        lambda lib: lib.arange(12.0).as_strided((), (), 12),
        lambda lib: lib.arange(12.0)[4:8].mul(1).as_strided((3,), (1,), 2),
        lambda lib: lib.arange(12, dtype=lib.int16).as_strided((13,), (1,)),
        lambda lib: lib.arange(12.0).as_strided((2, 2), (-1, 1)),
        lambda lib: lib.arange(12.0).as_strided((-2, 2), (1, 1)),
        lambda lib: lib.arange(12.0).as_strided((-2,), (0,)),
        lambda lib: lib.arange(12.0).as_strided((2, 2), (1,)),
        lambda lib: lib.arange(12.0).as_strided((2, 2), (1, 1), -1),
        lambda lib: lib.arange(12.0).as_strided((2,), (-1,), -1),
        lambda lib: lib.arange(12.0).as_strided(2, (1,)),
        lambda lib: lib.arange(12.0).as_strided((2,), 1),
        lambda lib: lib.as_strided(lib.arange(12.0), 2, (1,)),
        lambda lib: lib.arange(12.0).as_strided_(2, (1,)),
        lambda lib: lib.as_strided_(lib.arange(12.0), 2, (1,)),
        lambda lib: lib.as_strided_(lib.ones(2, requires_grad=True), (2,), (1,)),
        lambda lib: lib.arange(12.0).as_strided_((13,), (1,)),
        lambda lib: lib.ones(6, requires_grad=True).as_strided_((2,), (1,)),
    ],
)
def test_as_strided_errors_like_torch(call):
    same_error(call)


@st.composite
def strided_cases(draw):
    """An input (a slice or transpose of a fresh tensor) and an in-bounds geometry."""
    n = draw(st.integers(1, 24))
    ndim = draw(st.integers(0, 3))
    size = tuple(draw(st.integers(0, 4)) for _ in range(ndim))
    stride = tuple(draw(st.integers(0, 5)) for _ in range(ndim))
    reach = sum((s - 1) * k for s, k in zip(size, stride)) if all(size) else -1
    if reach >= n:
        n = reach + 1
    offset = draw(st.one_of(st.none(), st.integers(0, n - 1 - max(reach, 0))))
    view = draw(st.sampled_from(["whole", "tail", "matrix_t"]))
    return n, view, size, stride, offset


def _input_of(lib, x, view):
    if view == "tail":
        return x[1:] if x.shape[0] > 1 else x
    if view == "matrix_t" and x.shape[0] % 2 == 0:
        return x.view(2, -1).t()
    return x


@settings(max_examples=60, deadline=None)
@given(strided_cases())
def test_as_strided_property_matches_torch(case):
    n, view, size, stride, offset = case
    data = np.random.default_rng(n).standard_normal(n)
    out = []
    for lib in (ember, torch):
        x = lib.tensor(data, requires_grad=True)
        try:
            y = _input_of(lib, x * 1, view).as_strided(size, stride, offset)
        except RuntimeError as exc:
            out.append(("error", str(exc)))
            continue
        y.backward(_upstream(lib, tuple(y.shape), seed=n))
        out.append((y.detach().numpy(), x.grad.numpy()))
    e, t = out
    if isinstance(t[0], str) or isinstance(e[0], str):
        assert e == t
        return
    np.testing.assert_allclose(e[0], t[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(e[1], t[1], rtol=1e-12, atol=1e-12)


def test_as_strided_inplace_like_torch():
    def run(lib):
        x = lib.tensor(np.arange(6.0), requires_grad=True)
        y = x * 1
        r = y.as_strided_((2, 2), (1, 2), 1)
        assert lib.as_strided_(y, (2, 2), (1, 2), 1) is y
        (y * lib.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
        return r is y, type(y.grad_fn).__name__, y._version, y.storage_offset(), x.grad.numpy()

    e, t = run(ember), run(torch)
    assert e[:4] == t[:4]
    np.testing.assert_allclose(e[4], t[4])


# ---- empty_strided ----


@pytest.mark.parametrize(
    "size,stride", [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((0, 3), (1, 1)), ((), ()), ((3,), (0,))]
)
def test_empty_strided_geometry_like_torch(size, stride):
    def run(lib):
        a = lib.empty_strided(size, stride)
        b = lib.empty_strided(size, stride, dtype=lib.float64, requires_grad=True)
        c = lib.ones(1, dtype=lib.int32).new_empty_strided(size, stride)
        d = lib.ones(1).new_empty_strided(size, stride, dtype=lib.int64)
        return [
            (tuple(t.shape), t.stride(), t.dtype == lib.float64, t.requires_grad, t.is_leaf)
            for t in (a, b)
        ] + [(c.stride(), str(c.dtype)[6:]), (d.stride(), str(d.dtype)[6:]), a._is_view()]

    assert run(ember) == run(torch)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.empty_strided((2, 2), (-1, 1)),
        lambda lib: lib.empty_strided((-2, 2), (1, 1)),
        lambda lib: lib.empty_strided((2, 2), (1,)),
        lambda lib: lib.empty_strided(2, (1,)),
        lambda lib: lib.ones(2).new_empty_strided((2,), 1),
    ],
)
def test_empty_strided_errors_like_torch(call):
    same_error(call)
