"""out= on the common functions against torch: the result lands in the given
tensor (resized with torch's warning), dtype rules, and the refusal of
graphs."""

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
