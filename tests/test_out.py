"""out= against torch: the result lands in the given tensor (resized with
torch's warning) or tuple of tensors, each op family's dtype rule and message,
and the refusal of graphs. tests/test_op_table.py runs out= for every entry."""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest
import torch
from conftest import assert_close

A = np.arange(1.0, 7.0).reshape(2, 3)
B = np.linspace(-1.0, 1.0, 6).reshape(2, 3)

CALLS = {
    "add": lambda L, a, b, out: L.add(a, b, alpha=2, out=out),
    "sub": lambda L, a, b, out: L.sub(a, b, out=out),
    "mul": lambda L, a, b, out: L.mul(a, 3, out=out),
    "div": lambda L, a, b, out: L.div(a, b, rounding_mode="floor", out=out),
    "pow": lambda L, a, b, out: L.pow(a, 2, out=out),
    "matmul": lambda L, a, b, out: L.matmul(a, b.t(), out=out),
    "mm": lambda L, a, b, out: L.mm(a.t(), b, out=out),
    "sum": lambda L, a, b, out: L.sum(a, 1, out=out),
    "mean": lambda L, a, b, out: L.mean(a, 0, keepdim=True, out=out),
    "cumsum": lambda L, a, b, out: L.cumsum(a, 1, out=out),
    "cat": lambda L, a, b, out: L.cat([a, b], 1, out=out),
    "stack": lambda L, a, b, out: L.stack([a, b], out=out),
    "maximum": lambda L, a, b, out: L.maximum(a, b, out=out),
    "clamp": lambda L, a, b, out: L.clamp(a, 2, 4, out=out),
    "exp": lambda L, a, b, out: L.exp(b, out=out),
    "fmod": lambda L, a, b, out: L.fmod(a, 2.5, out=out),
    "eq": lambda L, a, b, out: L.eq(a, 3.0, out=out),
    "gather": lambda L, a, b, out: L.gather(a, 1, L.tensor([[0, 0], [2, 1]]), out=out),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_out_receives_the_result_like_torch(name):
    results = []
    for lib in (ember, torch):
        a, b = lib.tensor(A), lib.tensor(B)
        expected = CALLS[name](lib, a, b, None)
        out = lib.empty(0, dtype=expected.dtype)
        returned = CALLS[name](lib, a, b, out)
        assert returned is out
        results.append(out)
    assert_close(results[0], results[1])


def test_out_of_another_shape_is_resized_with_torchs_warning():
    messages = []
    for lib in (ember, torch):
        out = lib.zeros(2)
        with pytest.warns(UserWarning) as record:
            lib.add(lib.tensor(A), lib.tensor(B), out=out)
        messages.append(str(record[0].message).split(" (Triggered")[0])
        assert tuple(out.shape) == (2, 3)
    assert messages[0] == messages[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ember.empty(0)
        ember.mul(ember.tensor(A), 2, out=out)  # empty outputs resize silently
    assert out.shape == (2, 3)


def test_out_keeps_its_dtype_and_layout_like_torch():
    for lib in (ember, torch):
        out = lib.empty(2, 3, dtype=lib.float64)
        lib.add(lib.tensor(A, dtype=lib.float32), 1, out=out)
        assert out.dtype == lib.float64
        strided = lib.zeros(3, 2).t()
        lib.mul(lib.tensor(A), 2, out=strided)
        assert strided.stride() == (1, 2) and strided.tolist() == (lib.tensor(A) * 2).tolist()
        v = out._version
        lib.exp(lib.tensor(A), out=out)
        assert out._version > v


def test_out_errors_like_torch():
    def errors(fn):
        found = []
        for lib in (ember, torch):
            with pytest.raises(Exception) as info:
                fn(lib)
            found.append((type(info.value), str(info.value)))
        assert found[0] == found[1]

    errors(lambda L: L.add(L.tensor(A), L.tensor(B), out=L.empty(2, 3, dtype=L.int64)))
    errors(lambda L: L.add(L.tensor(A, requires_grad=True), 1, out=L.empty(2, 3)))
    errors(lambda L: L.mul(L.tensor(A), 1, out=L.empty(2, 3, requires_grad=True)))
    errors(lambda L: L.cat([L.tensor(A, requires_grad=True)], out=L.empty(2, 3)))
    for lib in (ember, torch):
        x = lib.tensor(A, requires_grad=True)
        with lib.no_grad():
            out = lib.empty(2, 3)
            lib.mul(x, 2, out=out)
        assert not out.requires_grad


def test_out_none_is_the_plain_call():
    e = ember.add(ember.tensor(A), ember.tensor(B), out=None)
    assert_close(e, torch.add(torch.tensor(A), torch.tensor(B)))
    x = ember.tensor(A, requires_grad=True)
    assert ember.mul(x, 2, out=None).grad_fn.name() == "MulBackward0"


# ---------------------------------------------------------------- every family


def f32(lib, array):
    return lib.tensor(array, dtype=lib.float32)


def _errors_alike(fn):
    """fn raises the same exception type and message in both libraries."""
    found = []
    for lib in (ember, torch):
        with pytest.raises(Exception) as info:
            fn(lib)
        found.append((type(info.value), str(info.value).split(" (Triggered")[0]))
    assert found[0] == found[1]


PYTHON_CALLS = {
    "hypot": lambda L, a, b, out: L.hypot(a, b, out=out),
    "tril": lambda L, a, b, out: L.tril(a, out=out),
    "addmm": lambda L, a, b, out: L.addmm(a, a @ b.t(), b, out=out),
    "where": lambda L, a, b, out: L.where(a > 3, a, b, out=out),
    "amax": lambda L, a, b, out: L.amax(a, 1, out=out),
    "logsumexp": lambda L, a, b, out: L.logsumexp(a, 0, out=out),
    "hstack": lambda L, a, b, out: L.hstack([a, b], out=out),
    "all": lambda L, a, b, out: L.all(a > 2, 1, out=out),
    "special.entr": lambda L, a, b, out: L.special.entr(a, out=out),
    "linalg.solve": lambda L, a, b, out: L.linalg.solve(a @ a.t() + 1, a, out=out),
    "linalg.vecdot": lambda L, a, b, out: L.linalg.vecdot(a, b, out=out),
    "inverse": lambda L, a, b, out: L.inverse(a @ a.t() + 1, out=out),
    "arange": lambda L, a, b, out: L.arange(5, out=out),
    "zeros": lambda L, a, b, out: L.zeros(2, 2, out=out),
}


@pytest.mark.parametrize("name", sorted(PYTHON_CALLS))
def test_ops_written_in_python_take_out_like_torch(name):
    results = []
    for lib in (ember, torch):
        a, b = f32(lib, A), f32(lib, B)
        expected = PYTHON_CALLS[name](lib, a, b, None)
        out = lib.empty(0, dtype=expected.dtype)
        assert PYTHON_CALLS[name](lib, a, b, out) is out
        results.append(out)
    assert_close(results[0], results[1])


def test_resize_warning_names_the_callers_line():
    for call in (
        lambda: ember.add(f32(ember, A), 1, out=ember.zeros(2)),
        lambda: ember.hypot(f32(ember, A), f32(ember, B), out=ember.zeros(2)),
    ):
        with pytest.warns(UserWarning, match="was resized") as record:
            call()
        assert record[0].filename == __file__


DTYPE_ERRORS = [
    lambda L: L.sin(f32(L, A), out=L.empty(2, 3, dtype=L.int64)),  # Cast
    lambda L: L.floor(f32(L, A), out=L.empty(2, 3, dtype=L.float64)),  # same dtype
    lambda L: L.mm(f32(L, A), f32(L, B).t(), out=L.empty(2, 2, dtype=L.float64)),
    lambda L: L.dot(f32(L, A[0]), f32(L, B[0]), out=L.empty((), dtype=L.float64)),
    lambda L: L.index_select(f32(L, A), 0, L.tensor([1]), out=L.empty(0, dtype=L.float64)),
    lambda L: L.take(f32(L, A), L.tensor([1]), out=L.empty(0, dtype=L.int64)),
    lambda L: L.amin(f32(L, A), 0, out=L.empty(0, dtype=L.float64)),
    lambda L: L.argmax(f32(L, A), 0, out=L.empty(0, dtype=L.int32)),
    lambda L: L.any(f32(L, A), 0, out=L.empty(0)),
    lambda L: L.signbit(f32(L, A), out=L.empty(0)),
    lambda L: L.logsumexp(f32(L, A), 0, out=L.empty(0, dtype=L.int64)),
    lambda L: L.where(f32(L, A) > 2, f32(L, A), f32(L, B), out=L.empty(0, dtype=L.float64)),
    lambda L: L.nan_to_num(f32(L, A), out=L.empty(0, dtype=L.float64)),
    lambda L: L.cat([f32(L, A)], out=L.empty(0, dtype=L.int64)),  # a TypeError
    lambda L: L.zeros(2, dtype=L.float32, out=L.empty(0, dtype=L.float64)),
    lambda L: L.linalg.vecdot(f32(L, A), f32(L, B), out=L.empty(0, dtype=L.float64)),
    lambda L: L.cumsum(f32(L, A), 0, out=L.empty(0, dtype=L.bool)),  # NotImplementedError
    lambda L: L.max(f32(L, A), 1, out=(L.empty(0, dtype=L.float64), L.empty(0, dtype=L.int64))),
    lambda L: L.sort(f32(L, A), out=(L.empty(0), L.empty(0, dtype=L.int32))),
    lambda L: L.add(f32(L, A), 1, out=(L.empty(0),)),
]


@pytest.mark.parametrize("call", DTYPE_ERRORS, ids=range(len(DTYPE_ERRORS)))
def test_out_dtype_errors_name_what_torch_names(call):
    _errors_alike(call)


def test_out_decides_the_dtype_where_torch_lets_it():
    # factories without dtype=, scans and sum/prod with a dim run in out's dtype
    for call in (
        lambda L, out: L.ones(2, 3, out=out),
        lambda L, out: L.cumsum(f32(L, A) * 1.5, 1, out=out),
        lambda L, out: L.sum(f32(L, A) * 1.5, 1, out=out),
    ):
        results = []
        for lib in (ember, torch):
            out = lib.empty(0, dtype=lib.int64)
            assert call(lib, out) is out
            results.append(out)
        assert_close(results[0], results[1])
    for lib in (ember, torch):  # without a dim, sum has no out form
        with pytest.raises(TypeError):
            lib.sum(f32(lib, A), out=lib.empty(0))


def test_tuple_outs_like_torch():
    calls = [
        lambda L, o: L.max(f32(L, A), 1, out=o),
        lambda L, o: L.min(f32(L, A), 0, keepdim=True, out=o),
        lambda L, o: L.sort(f32(L, B), 1, descending=True, out=o),
        lambda L, o: L.topk(f32(L, B), 2, out=o),
        lambda L, o: L.cummax(f32(L, B), 1, out=o),
        lambda L, o: L.kthvalue(f32(L, B), 2, out=o),
        lambda L, o: L.median(f32(L, B), 1, out=o),
    ]
    for call in calls:
        results = []
        for lib in (ember, torch):
            o = (lib.empty(0), lib.empty(0, dtype=lib.int64))
            r = call(lib, o)
            assert r[0] is o[0] and r[1] is o[1] and r.values is o[0]
            results.append(o)
        for e, t in zip(*results):
            assert_close(e, t)


def test_linalg_ex_outs_and_int32_info_like_torch():
    results = []
    for lib in (ember, torch):
        m = f32(lib, A @ A.T + np.eye(2))
        assert lib.linalg.cholesky_ex(m).info.dtype == lib.int32
        o = (lib.empty(0), lib.empty(0, dtype=lib.int32))
        r = lib.linalg.inv_ex(m, out=o)
        assert r.inverse is o[0] and r.info is o[1]
        results.append(o)
    for e, t in zip(*results):
        assert_close(e, t)


def test_graph_refusal_follows_torch():
    x = lambda L: f32(L, A).requires_grad_()  # noqa: E731
    # ops with a derivative refuse inputs that require grad, on every path
    _errors_alike(lambda L: L.hypot(x(L), x(L), out=L.empty(0)))
    _errors_alike(lambda L: L.floor(x(L), out=L.empty(0)))
    _errors_alike(lambda L: L.max(x(L), 1, out=(L.empty(0), L.empty(0, dtype=L.int64))))
    _errors_alike(lambda L: L.special.entr(x(L), out=L.empty(0)))
    # ops without one do not
    for lib in (ember, torch):
        assert lib.eq(x(lib), 3.0, out=lib.empty(0, dtype=lib.bool)).tolist() == (A == 3).tolist()
        assert lib.argmax(x(lib), 1, out=lib.empty(0, dtype=lib.int64)).tolist() == [2, 2]
        assert lib.signbit(x(lib), out=lib.empty(0, dtype=lib.bool)).tolist() == (A < 0).tolist()
