"""Differential fuzzing: random op graphs (shapes, broadcasting, dtypes, views,
in-place ops) run on ember and torch must give the same values and gradients."""

import ember
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

UNARY = ["exp", "tanh", "sigmoid", "relu", "sin", "abs", "neg", "square"]
BINARY = ["add", "sub", "mul", "div", "maximum"]
REDUCE = ["sum0", "mean_last", "max_last"]
VIEW = ["t", "slice", "unsqueeze", "expand"]
INPLACE = ["add_", "mul_"]


def apply(lib, op, x, y):
    """One step of a graph: returns a new node value from x (and y)."""
    if op in UNARY:
        return x * x if op == "square" else getattr(lib, op)(x)
    if op == "div":
        return x / (y.abs() + 1.0)
    if op in BINARY:
        return getattr(lib, op)(x, y)
    if op == "sum0":
        return x.sum(0, keepdim=True) if x.dim() > 0 else x
    if op == "mean_last":
        return x.mean(-1, keepdim=True) if x.dim() > 0 else x
    if op == "max_last":
        return x.max(-1, keepdim=True).values if x.dim() > 0 else x
    if op == "t":
        return x.t() if x.dim() == 2 else x
    if op == "slice":
        return x[..., ::2] if x.dim() > 0 else x
    if op == "unsqueeze":
        return x.unsqueeze(0)
    if op == "expand":
        return x.unsqueeze(0).expand(2, *x.shape)
    if op == "add_":
        out = x * 1.0
        out.add_(y.sum() * 0.5)
        return out
    if op == "mul_":
        out = x * 1.0
        out.mul_(0.75)
        return out
    raise AssertionError(op)


shapes = st.sampled_from([(), (3,), (2, 3), (3, 1), (1, 3), (2, 2, 3)])
programs = st.lists(
    st.tuples(st.sampled_from(UNARY + BINARY + REDUCE + VIEW + INPLACE), st.integers(0, 10)),
    min_size=1,
    max_size=8,
)


@settings(max_examples=250, deadline=None)
@given(
    shape_a=shapes,
    shape_b=shapes,
    program=programs,
    double=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_random_graphs_match_torch(shape_a, shape_b, program, double, seed):
    rng = np.random.default_rng(seed)
    dtype = np.float64 if double else np.float32
    a = rng.standard_normal(shape_a).astype(dtype)
    b = rng.standard_normal(shape_b).astype(dtype)
    results = []
    for lib in (ember, torch):
        x0 = lib.tensor(a, requires_grad=True)
        y0 = lib.tensor(b, requires_grad=True)
        nodes = [x0, y0]
        try:
            for op, pick in program:
                x = nodes[pick % len(nodes)]
                y = nodes[(pick * 7 + 1) % len(nodes)]
                nodes.append(apply(lib, op, x, y))
            out = nodes[-1]
            (out * out).sum().backward()
            results.append(
                (
                    out.detach().numpy().copy(),
                    None if x0.grad is None else x0.grad.numpy().copy(),
                    None if y0.grad is None else y0.grad.numpy().copy(),
                )
            )
        except RuntimeError as e:  # e.g. broadcast mismatch: both must refuse
            results.append(type(e))
    ember_result, torch_result = results
    if isinstance(torch_result, type) or isinstance(ember_result, type):
        assert ember_result == torch_result
        return
    tol = 1e-10 if double else 2e-4
    for e, t in zip(ember_result, torch_result):
        if t is None:
            assert e is None
        else:
            np.testing.assert_allclose(e, t, rtol=tol, atol=tol)
