"""Comparisons shared by the layer tests (conv transpose, resampling, the small
layers): one function run on both libraries from the same leaves, outputs,
gradients and node names compared, and errors compared by type and message."""

import warnings

import ember
import ember.nn.functional as EF
import numpy as np
import torch
import torch.nn.functional as TF

DTYPES = [(np.float32, 1e-5), (np.float64, 1e-11)]
LIBS = [(ember, EF), (torch, TF)]


def rand(rng, shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def close(e, t, tol):
    assert e is not None and t is not None
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


def run_both(fn, arrays, tol, node=None, same_node=True):
    """fn(lib, F, *tensors) in both libraries on the same leaves; compares the
    outputs, the gradients of every leaf and the output's node name (`node`, when
    given, is the name torch's must have too)."""
    outs, leaves = [], []
    for lib, F in LIBS:
        ts = [None if a is None else lib.tensor(a, requires_grad=True) for a in arrays]
        outs.append(fn(lib, F, *ts))
        leaves.append(ts)
    (oe, ot), (le, lt) = outs, leaves
    close(oe, ot, tol)
    if same_node:
        assert type(oe.grad_fn).__name__ == type(ot.grad_fn).__name__
    if node is not None:
        assert type(oe.grad_fn).__name__ == node
    g = np.random.default_rng(1).standard_normal(tuple(ot.shape)).astype(arrays[0].dtype)
    oe.backward(ember.tensor(g))
    ot.backward(torch.tensor(g))
    for e, t in zip(le, lt):
        if e is not None:
            close(e.grad, t.grad, tol * 10)
    return oe, ot


def error_of(fn, lib, F):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(lib, F)
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__, str(exc).replace("torch.", "ember.")
    return None


def assert_same_error(fn):
    want = error_of(fn, torch, TF)
    got = error_of(fn, ember, EF)
    assert want is not None, "torch accepted"
    assert got == want
