"""logcumsumexp, cummax, cummin, kthvalue, mode and renorm against torch:
values, indices, gradients to second order, node names, result types and
errors."""

from __future__ import annotations

import ember
import numpy as np
import pytest
import torch
from conftest import assert_close, assert_grads_match, compare
from hypothesis import given, settings
from hypothesis import strategies as st


def distinct(shape, seed=0, dtype=np.float64):
    """Values with no ties, so every index is defined the same in both libraries."""
    n = int(np.prod(shape)) if shape else 1
    vals = np.random.default_rng(seed).permutation(n).astype(dtype) * 0.37 - n * 0.1
    return vals.reshape(shape)


# ---- logcumsumexp ----


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_logcumsumexp_values_and_grads_like_torch(dtype, dim):
    a = np.random.default_rng(1).uniform(-3, 3, (3, 4)).astype(dtype)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {}
    assert_grads_match(lambda L, x: L.logcumsumexp(x, dim), [a], **tol)
    assert_grads_match(lambda L, x: x.logcumsumexp(dim=dim), [a], **tol)


def test_logcumsumexp_large_and_infinite_values_like_torch():
    inf = float("inf")
    rows = [[1000.0, 1000.0, -1000.0], [-inf, 0.0, -inf], [-inf, -inf, -inf], [inf, 1.0, inf]]
    compare(lambda L: L.logcumsumexp(L.tensor(rows, dtype=L.float64), 1))
    a = np.array([[800.0, 799.0, 801.0], [-700.0, -702.0, -701.0]])
    assert_grads_match(lambda L, x: L.logcumsumexp(x, 1), [a])


def test_logcumsumexp_node_errors_and_zero_dim_like_torch():
    for lib in (ember, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        assert type(lib.logcumsumexp(x, 0).grad_fn).__name__ == "LogcumsumexpBackward0"
    compare(lambda L: L.logcumsumexp(L.tensor([1, 2]), 0))
    compare(lambda L: L.logcumsumexp(L.randn(2, 3), 2))
    compare(lambda L: L.logcumsumexp(L.tensor(1.5), 0))
    assert_grads_match(lambda L, x: L.logcumsumexp(x, -1), [np.array(0.25)])


@settings(max_examples=30, deadline=None, derandomize=True)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_logcumsumexp_any_shape_like_torch(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = np.random.default_rng(len(shape)).uniform(-4, 4, size=shape)
    assert_grads_match(lambda L, x: L.logcumsumexp(x, dim), [a])


# ---- cummax / cummin ----


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin_values_indices_and_grads_like_torch(name):
    a = np.array([[1.0, 3.0, 3.0, 2.0, 5.0], [4.0, 4.0, 1.0, 0.0, 4.0]])
    for dim in (0, 1, -1):
        compare(lambda L: tuple(getattr(L, name)(L.tensor(a), dim)))
        assert_grads_match(lambda L, x: getattr(L, name)(x, dim).values, [a])
        assert_grads_match(lambda L, x: getattr(x, name)(dim)[0], [a])


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin_nan_ints_bools_and_result_type_like_torch(name):
    nan = float("nan")
    compare(lambda L: tuple(getattr(L, name)(L.tensor([1.0, 3.0, nan, 2.0, nan, 0.0]), 0)))
    compare(lambda L: tuple(getattr(L, name)(L.tensor([[3, 1, 2], [1, 1, 5]]), 1)))
    compare(lambda L: tuple(getattr(L, name)(L.tensor([True, False, True]), 0)))
    compare(lambda L: tuple(getattr(L, name)(L.tensor(2.5), 0)))
    compare(lambda L: getattr(L, name)(L.randn(2, 3), 2))
    e, t = (
        getattr(ember, name)(ember.tensor([1.0]), 0),
        getattr(torch, name)(torch.tensor([1.0]), 0),
    )
    assert type(e).__name__ == type(t).__name__ == name
    assert e.values is e[0] and e.indices is e[1]
    assert t.values is t[0] and t.indices is t[1]
    for lib in (ember, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        node = type(getattr(lib, name)(x, 0).values.grad_fn).__name__
        assert node == name.capitalize() + "Backward0"


@settings(max_examples=30, deadline=None, derandomize=True)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_cummax_any_shape_with_ties_like_torch(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = np.random.default_rng(sum(shape)).integers(0, 3, size=shape).astype(np.float64)
    for name in ("cummax", "cummin"):
        compare(lambda L: tuple(getattr(L, name)(L.tensor(a), dim)))
        assert_grads_match(lambda L, x: getattr(L, name)(x, dim).values, [a])


# ---- kthvalue / mode ----


@pytest.mark.parametrize("keepdim", [False, True])
def test_kthvalue_values_indices_and_grads_like_torch(keepdim):
    a = distinct((3, 5))
    for k, dim in [(1, 1), (3, 1), (5, -1), (2, 0)]:
        compare(lambda L: tuple(L.kthvalue(L.tensor(a), k, dim, keepdim)))
        compare(lambda L: tuple(L.tensor(a).kthvalue(k, dim=dim, keepdim=keepdim)))
        assert_grads_match(lambda L, x: L.kthvalue(x, k, dim, keepdim=keepdim).values, [a])


def test_kthvalue_defaults_nan_ints_and_errors_like_torch():
    compare(lambda L: tuple(L.kthvalue(L.tensor([[3.0, 1.0, 2.0]]), 2)))
    compare(lambda L: tuple(L.kthvalue(L.tensor([2.0, float("nan"), 1.0]), 3)))
    compare(lambda L: tuple(L.kthvalue(L.tensor([5, 1, 4]), 2)))
    compare(lambda L: tuple(L.kthvalue(L.tensor(3.0), 1)))
    compare(lambda L: L.kthvalue(L.randn(3, 4), 5, 1))
    compare(lambda L: L.kthvalue(L.randn(3, 4), 0, 1))
    compare(lambda L: L.kthvalue(L.randn(3, 4), 1, 2))
    compare(lambda L: L.kthvalue(L.tensor([True, False]), 1))
    for lib in (ember, torch):
        x = lib.tensor([3.0, 1.0], requires_grad=True)
        r = lib.kthvalue(x, 1)
        assert type(r).__name__ == "kthvalue"
        assert type(r.values.grad_fn).__name__ == "KthvalueBackward0"


def test_mode_values_indices_and_grads_like_torch():
    a = np.array([[1.0, 2.0, 2.0, 3.0], [3.0, 3.0, 1.0, 1.0], [5.0, 4.0, 4.0, 5.0]])
    for dim, keepdim in [(1, False), (-1, True), (0, False)]:
        compare(lambda L: tuple(L.mode(L.tensor(a), dim, keepdim)))
        assert_grads_match(lambda L, x: L.mode(x, dim, keepdim).values, [a])
    compare(lambda L: tuple(L.tensor(a).mode()))
    compare(lambda L: tuple(L.mode(L.tensor([[4, 4, 1], [2, 3, 3]]))))
    compare(lambda L: tuple(L.mode(L.tensor(3.0))))
    compare(lambda L: L.mode(L.randn(3, 4), 2))
    compare(lambda L: L.mode(L.tensor([])))
    for lib in (ember, torch):
        x = lib.tensor([3.0, 1.0, 3.0], requires_grad=True)
        r = lib.mode(x)
        assert type(r).__name__ == "mode"
        assert type(r.values.grad_fn).__name__ == "ModeBackward0"


@settings(max_examples=30, deadline=None, derandomize=True)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), data=st.data())
def test_kthvalue_and_mode_any_shape_like_torch(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    k = data.draw(st.integers(1, shape[dim]))
    a = distinct(shape, seed=len(shape))
    compare(lambda L: tuple(L.kthvalue(L.tensor(a), k, dim)))
    assert_grads_match(lambda L, x: L.kthvalue(x, k, dim).values, [a])
    counts = np.random.default_rng(k).integers(0, 3, size=shape).astype(np.float64)
    compare(lambda L: L.mode(L.tensor(counts), dim).values)


# ---- renorm ----


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_renorm_values_and_grads_like_torch(p, dim):
    a = np.random.default_rng(2).uniform(-2, 2, (3, 4, 2))
    assert_grads_match(lambda L, x: L.renorm(x, p, dim, 1.5), [a], rtol=1e-6, atol=1e-8)
    assert_grads_match(lambda L, x: x.renorm(p, dim, 0.5), [a], rtol=1e-6, atol=1e-8)


def test_renorm_vector_float32_node_inplace_and_errors_like_torch():
    compare(lambda L: L.renorm(L.tensor([0.5, -3.0, 2.0]), 2, 0, 1.0))
    compare(lambda L: L.renorm(L.tensor(2.0), 2, 0, 1.0))
    a = np.random.default_rng(4).uniform(-2, 2, (4, 3)).astype(np.float32)
    assert_grads_match(lambda L, x: L.renorm(x, 2, 1, 1.0), [a], rtol=1e-4, atol=1e-5)
    compare(lambda L: L.renorm(L.randn(3, 4), 0, 0, 1.0))
    compare(lambda L: L.renorm(L.randn(3, 4), -1, 0, 1.0))
    compare(lambda L: L.renorm(L.randn(3, 4), 2, 2, 1.0))
    compare(lambda L: L.renorm(L.randn(3, 4), 2, 0, -1.0))
    compare(lambda L: L.renorm(L.tensor([[1, 2]]), 2, 0, 1.0))
    for lib in (ember, torch):
        x = lib.tensor([[3.0, 4.0], [0.1, 0.2]], requires_grad=True)
        assert type(lib.renorm(x, 2, 0, 1.0).grad_fn).__name__ == "RenormBackward0"
        y = x * 1
        y.renorm_(2, 0, 1.0)
        assert type(y.grad_fn).__name__ == "RenormBackward0"
    e = ember.tensor([[3.0, 4.0], [0.1, 0.2]]).renorm_(2, 0, 1.0)
    t = torch.tensor([[3.0, 4.0], [0.1, 0.2]]).renorm_(2, 0, 1.0)
    assert_close(e, t)


# ---- gradcheck, released graphs and saved inputs ----

GRADCHECKED = {
    "logcumsumexp": lambda L, x: L.logcumsumexp(x, 1),
    "cummax": lambda L, x: L.cummax(x, 0).values,
    "cummin": lambda L, x: L.cummin(x, 1).values,
    "kthvalue": lambda L, x: L.kthvalue(x, 2, 1).values,
    "mode": lambda L, x: L.mode(x, 0, keepdim=True).values,
    "renorm": lambda L, x: L.renorm(x, 2, 0, 1.0),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKED))
def test_gradcheck_and_gradgradcheck(name):
    x = ember.tensor(distinct((3, 4), seed=3), requires_grad=True)
    fn = GRADCHECKED[name]
    assert ember.autograd.gradcheck(lambda t: fn(ember, t), (x,))
    assert ember.autograd.gradgradcheck(lambda t: fn(ember, t), (x,))


@pytest.mark.parametrize("name", sorted(GRADCHECKED))
def test_second_backward_without_retain_graph_raises_like_torch(name):
    fn = GRADCHECKED[name]
    errors = []
    for lib in (ember, torch):
        x = lib.tensor(distinct((3, 4), seed=3), requires_grad=True)
        y = fn(lib, x).sum()
        y.backward(retain_graph=True)
        y.backward()
        with pytest.raises(RuntimeError) as info:
            y.backward()
        errors.append(str(info.value).split(".")[0])
    assert errors[0] == errors[1]


@pytest.mark.parametrize("name", ["logcumsumexp", "renorm"])
def test_saved_input_modified_in_place_raises_like_torch(name):
    fn = GRADCHECKED[name]
    for lib in (ember, torch):
        x = lib.tensor(distinct((3, 4), seed=3), requires_grad=True)
        a = x * 1
        y = fn(lib, a).sum()
        a.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()
