"""Misuse and robustness: each misuse must raise torch's exception type, special
values and empty tensors must flow like in torch, threads must not interfere,
and absurd allocations must fail cleanly. Crash-prone cases run in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import ember
import numpy as np
import pytest
import torch
from conftest import both, capture, compare, np_of, outcome

LIBS = (ember, torch)


def run_py(code, timeout=60):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ----------------------------------------------------------------- loss misuse


LOSS_MISUSE = {
    "ce_target_too_big": lambda lib: lib.nn.functional.cross_entropy(
        lib.zeros(2, 3), lib.tensor([0, 3])
    ),
    "ce_target_negative": lambda lib: lib.nn.functional.cross_entropy(
        lib.zeros(2, 3), lib.tensor([0, -1])
    ),
    "ce_target_huge": lambda lib: lib.nn.functional.cross_entropy(
        lib.zeros(2, 3), lib.tensor([0, 10**12])
    ),
    "nll_target_too_big": lambda lib: lib.nn.functional.nll_loss(
        lib.zeros(2, 3), lib.tensor([0, 3])
    ),
    "nll_target_negative": lambda lib: lib.nn.functional.nll_loss(
        lib.zeros(2, 3), lib.tensor([0, -2])
    ),
    "nll_target_huge": lambda lib: lib.nn.functional.nll_loss(
        lib.zeros(2, 3), lib.tensor([0, 1000000])
    ),
    "ce_module_too_big": lambda lib: lib.nn.CrossEntropyLoss()(
        lib.zeros(4, 5), lib.tensor([0, 1, 2, 5])
    ),
    "ce_1d_input_bad": lambda lib: lib.nn.functional.cross_entropy(lib.zeros(3), lib.tensor(3)),
    "ce_float_target_wrong_shape": lambda lib: lib.nn.functional.cross_entropy(
        lib.zeros(2, 3), lib.tensor([0.0, 1.0])
    ),
    "ce_batch_mismatch": lambda lib: lib.nn.functional.cross_entropy(
        lib.zeros(2, 3), lib.tensor([0, 1, 2])
    ),
    "nll_float_target": lambda lib: lib.nn.functional.nll_loss(
        lib.zeros(2, 3), lib.tensor([0.0, 1.0])
    ),
    "nll_2d_target": lambda lib: lib.nn.functional.nll_loss(
        lib.zeros(2, 3), lib.tensor([[0], [1]])
    ),
    "bce_out_of_range": lambda lib: lib.nn.functional.binary_cross_entropy(
        lib.tensor([0.5, 1.5]), lib.tensor([1.0, 0.0])
    ),
    "bce_logits_shape": lambda lib: lib.nn.functional.binary_cross_entropy_with_logits(
        lib.tensor([0.5, 1.5]), lib.tensor([1.0, 0.0, 1.0])
    ),
    "mse_shape_mismatch": lambda lib: lib.nn.functional.mse_loss(lib.zeros(2, 3), lib.zeros(3, 2)),
}


@pytest.mark.parametrize("name", sorted(LOSS_MISUSE))
def test_loss_misuse_exception_type(name):
    """Out-of-range class indices are IndexError in torch; ember must not crash (subprocess)."""
    fn = LOSS_MISUSE[name]
    _, te = outcome(fn, torch)
    assert te is not None
    src = {
        "ce_target_too_big": "F.cross_entropy(ember.zeros(2, 3), ember.tensor([0, 3]))",
        "ce_target_negative": "F.cross_entropy(ember.zeros(2, 3), ember.tensor([0, -1]))",
        "ce_target_huge": "F.cross_entropy(ember.zeros(2, 3), ember.tensor([0, 10**12]))",
        "nll_target_too_big": "F.nll_loss(ember.zeros(2, 3), ember.tensor([0, 3]))",
        "nll_target_negative": "F.nll_loss(ember.zeros(2, 3), ember.tensor([0, -2]))",
        "nll_target_huge": "F.nll_loss(ember.zeros(2, 3), ember.tensor([0, 1000000]))",
        "ce_module_too_big": "ember.nn.CrossEntropyLoss()(ember.zeros(4, 5), ember.tensor([0, 1, 2, 5]))",
        "ce_1d_input_bad": "F.cross_entropy(ember.zeros(3), ember.tensor(3))",
        "ce_float_target_wrong_shape": "F.cross_entropy(ember.zeros(2, 3), ember.tensor([0.0, 1.0]))",
        "ce_batch_mismatch": "F.cross_entropy(ember.zeros(2, 3), ember.tensor([0, 1, 2]))",
        "nll_float_target": "F.nll_loss(ember.zeros(2, 3), ember.tensor([0.0, 1.0]))",
        "nll_2d_target": "F.nll_loss(ember.zeros(2, 3), ember.tensor([[0], [1]]))",
        "bce_out_of_range": "F.binary_cross_entropy(ember.tensor([0.5, 1.5]), ember.tensor([1.0, 0.0]))",
        "bce_logits_shape": "F.binary_cross_entropy_with_logits(ember.tensor([0.5, 1.5]), ember.tensor([1.0, 0.0, 1.0]))",
        "mse_shape_mismatch": "F.mse_loss(ember.zeros(2, 3), ember.zeros(3, 2))",
    }[name]
    proc = run_py(
        f"""
        import ember, warnings
        warnings.simplefilter("ignore")
        F = ember.nn.functional
        try:
            {src}
            print("NO-EXCEPTION")
        except Exception as e:
            print(type(e).__name__)
        """
    )
    assert proc.returncode == 0, f"ember crashed (rc={proc.returncode}): {proc.stderr[-400:]}"
    assert proc.stdout.strip() == type(te).__name__, (
        proc.stdout.strip(),
        f"torch: {type(te).__name__}: {te}",
    )


def test_loss_index_error_messages_match():
    for name in ("ce_target_too_big", "nll_target_too_big"):
        _, te = outcome(LOSS_MISUSE[name], torch)
        _, ee = outcome(LOSS_MISUSE[name], ember)
        assert isinstance(ee, IndexError) and isinstance(te, IndexError)
        assert str(ee) == str(te)


def test_ignore_index_default_matches_torch():
    def fn(lib):
        x = lib.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0], [1.0, 1.0, 1.0]], requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.tensor([0, -100, 2]))
        loss.backward()
        return loss, x.grad

    compare(fn)


# ----------------------------------------------------------------- scalar misuse


MISC_MISUSE = {
    "item_many": lambda lib: lib.ones(2, 2).item(),
    "item_empty": lambda lib: lib.ones(0).item(),
    "bool_many": lambda lib: bool(lib.ones(3)),
    "float_many": lambda lib: float(lib.ones(3)),
    "int_many": lambda lib: int(lib.ones(3)),
    "index_float": lambda lib: [1, 2][lib.tensor(1.0)],
    "narrow_oob": lambda lib: lib.ones(2, 3).narrow(1, 2, 5),
    "narrow_neg_len": lambda lib: lib.ones(2, 3).narrow(1, 0, -1),
    "select_oob": lambda lib: lib.ones(2, 3).select(1, 3),
    "expand_bad": lambda lib: lib.ones(2, 3).expand(2, 4),
    "expand_fewer": lambda lib: lib.ones(2, 3).expand(3),
    "cat_empty": lambda lib: lib.cat([]),
    "cat_mismatch": lambda lib: lib.cat([lib.ones(2, 3), lib.ones(2, 4)]),
    "stack_empty": lambda lib: lib.stack([]),
    "stack_mismatch": lambda lib: lib.stack([lib.ones(2), lib.ones(3)]),
    "softmax_int": lambda lib: lib.tensor([1, 2]).softmax(0),
    "std_int": lambda lib: lib.tensor([1, 2]).std(),
    "mean_int": lambda lib: lib.tensor([1, 2]).mean(),
    "argmax_empty": lambda lib: lib.ones(0).argmax(),
    "max_empty": lambda lib: lib.ones(0).max(),
    "max_empty_dim": lambda lib: lib.ones(0, 3).max(0),
    "randperm_neg": lambda lib: lib.randperm(-1),
    "randint_empty_range": lambda lib: lib.randint(0, 0, (3,)),
    "clamp_none": lambda lib: lib.tensor([1.0]).clamp(),
    "sum_dup_dims": lambda lib: lib.ones(2, 3).sum(dim=(0, 0)),
    "float_index_tensor": lambda lib: lib.tensor([1.0, 2.0])[lib.tensor([1.0])],
    "where_non_bool": lambda lib: lib.where(lib.tensor([1, 0]), lib.ones(2), lib.zeros(2)),
    "inplace_int_by_float": lambda lib: lib.tensor([1, 2]).mul_(1.5),
    "inplace_int_div": lambda lib: lib.tensor([1, 2]).div_(2),
    "inplace_broadcast_out": lambda lib: lib.ones(3).add_(lib.ones(2, 3)),
    "view_dtype": lambda lib: lib.ones(2).view(lib.float64),
    "pow_shape": lambda lib: lib.ones(2).pow(lib.ones(3)),
    "requires_grad_int": lambda lib: lib.ones(2, dtype=lib.int64).requires_grad_(),
    "backward_int": lambda lib: lib.ones(2, dtype=lib.int64).sum().backward(),
    "linear_shape": lambda lib: lib.nn.functional.linear(lib.ones(2, 3), lib.ones(4, 5)),
    "linear_module_shape": lambda lib: lib.nn.Linear(3, 4)(lib.ones(2, 5)),
}


@pytest.mark.parametrize("name", sorted(MISC_MISUSE))
def test_misuse_same_exception_or_result(name):
    compare(MISC_MISUSE[name])


# ----------------------------------------------------------------- special values through ops

SPECIAL = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -2.5,
    1e-30,
    88.0,
    -104.0,
    1e30,
    float("inf"),
    -float("inf"),
    float("nan"),
]

UNARY = [
    "abs",
    "ceil",
    "cos",
    "exp",
    "expm1",
    "floor",
    "log",
    "log1p",
    "neg",
    "reciprocal",
    "relu",
    "round",
    "rsqrt",
    "sigmoid",
    "sign",
    "sin",
    "sqrt",
    "square",
    "tanh",
    "trunc",
    "isnan",
    "logical_not",
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", UNARY)
def test_unary_special_values(op, dtype):
    compare(
        lambda lib: getattr(lib.tensor(SPECIAL, dtype=getattr(lib, dtype)), op)(), rtol=1e-6, atol=0
    )


@pytest.mark.parametrize("op", UNARY)
def test_unary_empty(op):
    compare(lambda lib: getattr(lib.zeros(0, 3), op)())


@pytest.mark.parametrize(
    "op",
    [
        "exp",
        "tanh",
        "sigmoid",
        "sqrt",
        "log",
        "reciprocal",
        "abs",
        "relu",
        "sin",
        "rsqrt",
        "square",
        "expm1",
        "log1p",
    ],
)
def test_unary_gradients_special_values(op):
    def fn(lib):
        x = lib.tensor(SPECIAL, requires_grad=True)
        getattr(x, op)().sum().backward()
        return x.grad

    compare(fn, rtol=1e-6, atol=0)


BINARY = {
    "add": lambda a, b, lib: a + b,
    "sub": lambda a, b, lib: a - b,
    "mul": lambda a, b, lib: a * b,
    "div": lambda a, b, lib: a / b,
    "pow": lambda a, b, lib: a**b,
    "rpow": lambda a, b, lib: 2.0**a,
    "rsub": lambda a, b, lib: 1.0 - a,
    "rdiv": lambda a, b, lib: 1.0 / a,
    "maximum": lambda a, b, lib: lib.maximum(a, b),
    "minimum": lambda a, b, lib: lib.minimum(a, b),
    "eq": lambda a, b, lib: a == b,
    "ne": lambda a, b, lib: a != b,
    "lt": lambda a, b, lib: a < b,
    "le": lambda a, b, lib: a <= b,
    "gt": lambda a, b, lib: a > b,
    "ge": lambda a, b, lib: a >= b,
    "where": lambda a, b, lib: lib.where(a > b, a, b),
    "clamp": lambda a, b, lib: a.clamp(-1.0, 1.0),
    "clamp_min": lambda a, b, lib: a.clamp(min=0.0),
    "clamp_max": lambda a, b, lib: a.clamp(max=0.0),
    "pow_scalar": lambda a, b, lib: a**2.5,
    "pow_neg_scalar": lambda a, b, lib: a**-1,
    "pow_zero": lambda a, b, lib: a**0,
}


def _pairs(lib):
    a = [x for x in SPECIAL for _ in SPECIAL]
    b = [y for _ in SPECIAL for y in SPECIAL]
    return lib.tensor(a), lib.tensor(b)


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_special_values(op):
    def fn(lib):
        a, b = _pairs(lib)
        return BINARY[op](a, b, lib)

    compare(fn, rtol=1e-6, atol=0)


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_empty_and_broadcast_empty(op):
    def fn(lib):
        a = lib.zeros(0, 3)
        b = lib.ones(3)
        return BINARY[op](a, b, lib), BINARY[op](lib.ones(2, 0), lib.ones(1, 0), lib)

    compare(fn)


@pytest.mark.parametrize(
    "op", ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "where", "clamp"]
)
def test_binary_gradients_special_values(op):
    def fn(lib):
        a, b = _pairs(lib)
        a.requires_grad_()
        b.requires_grad_()
        BINARY[op](a, b, lib).sum().backward()
        return a.grad, (b.grad if b.grad is not None else lib.zeros(0))

    compare(fn, rtol=1e-5, atol=0)


REDUCTIONS = {
    "sum": lambda x: x.sum(),
    "sum0": lambda x: x.sum(0),
    "sum1_keep": lambda x: x.sum(1, keepdim=True),
    "mean": lambda x: x.mean(),
    "mean1": lambda x: x.mean(1),
    "max": lambda x: x.max(),
    "min": lambda x: x.min(),
    "max1": lambda x: tuple(x.max(1)),
    "min0": lambda x: tuple(x.min(0)),
    "argmax": lambda x: x.argmax(),
    "argmin1": lambda x: x.argmin(1),
    "std": lambda x: x.std(),
    "var1": lambda x: x.var(1),
    "var_biased": lambda x: x.var(unbiased=False),
    "norm": lambda x: x.norm(),
    "softmax1": lambda x: x.softmax(1),
    "softmax0": lambda x: x.softmax(0),
    "log_softmax1": lambda x: x.log_softmax(1),
    "all": lambda x: x.all(),
    "any": lambda x: x.any(),
    "amax_via_max_dim_keep": lambda x: x.max(1, keepdim=True)[0],
}

SPECIAL_ROWS = [
    [1.0, 2.0, 3.0],
    [float("nan"), 1.0, 2.0],
    [float("inf"), 1.0, -1.0],
    [-float("inf"), -float("inf"), 0.0],
    [float("inf"), -float("inf"), 1.0],
    [float("nan"), float("inf"), -float("inf")],
    [1e30, 1e30, -1e30],
    [88.0, 90.0, -104.0],
]


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
def test_reduction_special_values(op):
    compare(lambda lib: REDUCTIONS[op](lib.tensor(SPECIAL_ROWS)), rtol=1e-5, atol=0)


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0,)])
@pytest.mark.parametrize("op", sorted(REDUCTIONS))
def test_reduction_empty(op, shape):
    def fn(lib):
        x = lib.zeros(*shape)
        if x.dim() == 1 and op in (
            "sum1_keep",
            "mean1",
            "max1",
            "argmin1",
            "var1",
            "softmax1",
            "log_softmax1",
            "amax_via_max_dim_keep",
        ):
            x = x.reshape(0, 1)
        return REDUCTIONS[op](x)

    compare(fn)


@pytest.mark.parametrize(
    "op", ["sum", "mean", "max", "min", "std", "norm", "softmax1", "log_softmax1", "max1", "var1"]
)
def test_reduction_gradients_special_values(op):
    atol = (
        1e-6 if "softmax" in op else 0
    )  # softmax grads of saturated rows are ~1e-8 rounding noise

    def fn(lib):
        x = lib.tensor(SPECIAL_ROWS, requires_grad=True)
        out = REDUCTIONS[op](x)
        if isinstance(out, tuple):
            out = out[0]
        out.sum().backward()
        return x.grad

    compare(fn, rtol=1e-5, atol=atol)


@pytest.mark.parametrize("op", ["sum", "mean", "std", "norm", "softmax1", "log_softmax1", "max1"])
def test_reduction_gradients_empty(op):
    def fn(lib):
        x = lib.zeros(0, 3, requires_grad=True)
        out = REDUCTIONS[op](x)
        if isinstance(out, tuple):
            out = out[0]
        out.sum().backward()
        return x.grad

    compare(fn)


SHAPE_OPS_EMPTY = {
    "matmul_0k": lambda lib: lib.ones(0, 3) @ lib.ones(3, 2),
    "matmul_k0": lambda lib: lib.ones(2, 0) @ lib.ones(0, 2),
    "bmm_empty": lambda lib: lib.ones(0, 2, 3).bmm(lib.ones(0, 3, 4)),
    "mv_empty": lambda lib: lib.ones(2, 0).mv(lib.ones(0)),
    "dot_empty": lambda lib: lib.ones(0).dot(lib.ones(0)),
    "cat_empty_part": lambda lib: lib.cat([lib.ones(0, 3), lib.ones(2, 3)]),
    "stack_empty_tensors": lambda lib: lib.stack([lib.ones(0), lib.ones(0)]),
    "transpose": lambda lib: lib.ones(0, 3).t(),
    "reshape": lambda lib: lib.ones(0, 3).reshape(3, 0),
    "expand": lambda lib: lib.ones(1, 3).expand(0, 3),
    "index": lambda lib: lib.ones(0, 3)[:, 1],
    "mask_none": lambda lib: lib.ones(4)[lib.zeros(4, dtype=lib.bool)],
    "linear": lambda lib: lib.nn.functional.linear(lib.ones(0, 3), lib.ones(4, 3), lib.ones(4)),
    "mse": lambda lib: lib.nn.functional.mse_loss(lib.zeros(0), lib.zeros(0)),
    "ce_empty": lambda lib: lib.nn.functional.cross_entropy(
        lib.zeros(0, 3), lib.zeros(0, dtype=lib.int64)
    ),
    "matmul_special": lambda lib: (
        lib.tensor([[float("inf"), 1.0], [float("nan"), 0.0]])
        @ lib.tensor([[0.0, 1.0], [1.0, 0.0]])
    ),
    "ce_inf_logits": lambda lib: lib.nn.functional.cross_entropy(
        lib.tensor([[float("inf"), 0.0], [1.0, -float("inf")]]), lib.tensor([0, 1])
    ),
    "ce_nan_logits": lambda lib: lib.nn.functional.cross_entropy(
        lib.tensor([[float("nan"), 0.0], [1.0, 2.0]]), lib.tensor([0, 1])
    ),
    "bce_logits_inf": lambda lib: lib.nn.functional.binary_cross_entropy_with_logits(
        lib.tensor([float("inf"), -float("inf"), 100.0]), lib.tensor([1.0, 0.0, 0.0])
    ),
    "bce_edges": lambda lib: lib.nn.functional.binary_cross_entropy(
        lib.tensor([0.0, 1.0, 0.5]), lib.tensor([1.0, 0.0, 0.5])
    ),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS_EMPTY))
def test_misc_empty_and_special(name):
    compare(SHAPE_OPS_EMPTY[name])


def test_empty_backward_through_model():
    def fn(lib):
        w = lib.ones(4, 3, requires_grad=True)
        x = lib.zeros(0, 3)
        y = (x @ w.t()).tanh()
        y.sum().backward()
        return w.grad

    compare(fn)


# ----------------------------------------------------------------- threads


def _train_tiny(lib, seed, steps=60):
    rng = np.random.default_rng(seed)
    W = lib.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    b = lib.tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True)
    V = lib.tensor(rng.standard_normal((1, 4)).astype(np.float32), requires_grad=True)
    X = lib.tensor(rng.standard_normal((16, 3)).astype(np.float32))
    Y = lib.tensor(rng.standard_normal((16, 1)).astype(np.float32))
    losses = []
    for _ in range(steps):
        h = (X @ W.t() + b).tanh()
        loss = ((h @ V.t() - Y) ** 2).mean()
        loss.backward()
        with lib.no_grad():
            for p in (W, b, V):
                p -= 0.1 * p.grad
                p.grad = None
        losses.append(loss.item())
    return np.array(losses), np_of(W).copy()


def _case_threads_train_separate_models_match_serial():
    seeds = list(range(8))
    serial = {s: _train_tiny(ember, s) for s in seeds}
    # the serial ember result must match torch (so we know the reference is right)
    for s in seeds[:2]:
        np.testing.assert_allclose(serial[s][0], _train_tiny(torch, s)[0], rtol=1e-4)
    results = {}
    errors = []
    barrier = threading.Barrier(len(seeds))

    def worker(s):
        try:
            barrier.wait(10)
            results[s] = _train_tiny(ember, s)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in seeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    for s in seeds:
        np.testing.assert_array_equal(results[s][0], serial[s][0])
        np.testing.assert_array_equal(results[s][1], serial[s][1])


def _case_threads_with_nn_modules_and_optimizer():
    def train(seed):
        ember.manual_seed(0)  # global RNG: seed then build deterministically from numpy below
        rng = np.random.default_rng(seed)
        model = ember.nn.Sequential(ember.nn.Linear(3, 5), ember.nn.ReLU(), ember.nn.Linear(5, 2))
        with ember.no_grad():
            for p in model.parameters():
                p.copy_(ember.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
        opt = ember.optim.Adam(model.parameters(), lr=0.01)
        X = ember.tensor(rng.standard_normal((10, 3)).astype(np.float32))
        T = ember.tensor(rng.integers(0, 2, 10))
        out = []
        for _ in range(40):
            opt.zero_grad()
            loss = ember.nn.functional.cross_entropy(model(X), T)
            loss.backward()
            opt.step()
            out.append(loss.item())
        return np.array(out)

    serial = {s: train(s) for s in range(6)}
    results, errors = {}, []

    def worker(s):
        try:
            results[s] = train(s)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    ths = [threading.Thread(target=worker, args=(s,)) for s in range(6)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(60)
    assert not errors, errors
    for s in range(6):
        np.testing.assert_array_equal(results[s], serial[s])


def _case_concurrent_backward_on_separate_graphs():
    rng = np.random.default_rng(3)
    inputs = [rng.standard_normal((64, 64)).astype(np.float32) for _ in range(8)]

    def compute(lib, a):
        x = lib.tensor(a, requires_grad=True)
        y = x
        for _ in range(20):
            # lib.matmul, not `@`: the operator form has its own GIL bug (tested separately)
            y = (lib.matmul(y, x.t()) / 64).tanh() + y.sigmoid()
        y.sum().backward()
        return np_of(x.grad).copy()

    expected = [compute(torch, a) for a in inputs]
    results = [None] * len(inputs)
    errors = []
    barrier = threading.Barrier(len(inputs))

    def worker(i):
        try:
            barrier.wait(10)
            for _ in range(3):
                results[i] = compute(ember, inputs[i])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    ths = [threading.Thread(target=worker, args=(i,)) for i in range(len(inputs))]
    for t in ths:
        t.start()
    for t in ths:
        t.join(60)
    assert not errors, errors
    for r, e in zip(results, expected):
        np.testing.assert_allclose(r, e, rtol=1e-3, atol=1e-4)


def _case_concurrent_backward_into_shared_leaf_accumulates():
    """Several threads backprop separate graphs into one shared leaf: grads must add up."""
    n_threads, reps = 8, 25
    w = ember.ones(1000, requires_grad=True)

    def worker():
        for _ in range(reps):
            (w * 2).sum().backward()

    ths = [threading.Thread(target=worker) for _ in range(n_threads)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(60)
    # torch documents that concurrent accumulation into .grad is thread-safe; the analytic sum:
    np.testing.assert_array_equal(
        w.grad.numpy(), np.full(1000, 2.0 * n_threads * reps, dtype=np.float32)
    )


def _case_concurrent_backward_through_one_graph():
    """Threads backprop the same graph at once: each call either completes (and
    its gradient is counted exactly once) or is refused with torch's exception
    type; the process never crashes (Note [Engine scratch])."""
    w = ember.ones(200_000, requires_grad=True)
    y = ((w * 3).exp() * 0 + w * 2).sum()  # large enough that runs overlap
    done, refused, other = [], [], []
    barrier = threading.Barrier(4)

    def worker():
        barrier.wait(10)
        for _ in range(20):
            try:
                y.backward(retain_graph=True)
                done.append(1)
            except RuntimeError as exc:
                (refused if "another backward pass" in str(exc) else other).append(exc)

    ths = [threading.Thread(target=worker) for _ in range(4)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(120)
    assert not other, other
    assert done and len(done) + len(refused) == 80
    np.testing.assert_array_equal(w.grad.numpy(), np.full(200_000, 2.0 * len(done), np.float32))
    y.backward()  # the graph is usable again afterwards


def _case_grads_with_respect_to_a_shared_non_leaf():
    """autograd.grad(loss_k, E) from several threads, E one shared non-leaf:
    each pass stops at E's grad_fn, so none is refused, and each matches its
    serial result."""
    w = ember.randn(64, 64, generator=ember.Generator().manual_seed(0), requires_grad=True)
    shared = w * 2.0

    def loss(k):
        return ((shared @ shared) * (k + 1)).tanh().sum()

    expected = [ember.autograd.grad(loss(k), shared)[0].numpy() for k in range(3)]
    errors = []

    def worker(k):
        try:
            for _ in range(30):
                (g,) = ember.autograd.grad(loss(k), shared)
                np.testing.assert_array_equal(g.numpy(), expected[k])
        except Exception as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)

    ths = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(120)
    assert not errors, errors[:3]


def _case_grad_mode_thread_isolation_under_load():
    flags = []

    def worker():
        with ember.no_grad():
            for _ in range(200):
                flags.append(("w", ember.is_grad_enabled()))

    x = ember.ones(3, requires_grad=True)
    th = threading.Thread(target=worker)
    th.start()
    main = [((x * 2).requires_grad, ember.is_grad_enabled()) for _ in range(200)]
    th.join()
    assert all(m == (True, True) for m in main)
    assert all(f == ("w", False) for f in flags)


# Thread tests run in a subprocess: a data race may crash the interpreter, and a
# crash must fail one test cleanly rather than kill the whole test run.
_TESTS_DIR = __import__("os").path.dirname(__import__("os").path.abspath(__file__))


def _run_case_in_subprocess(name, timeout=120):
    code = (
        f"import sys; sys.path.insert(0, {_TESTS_DIR!r}); import test_hardening as m; "
        f"m._case_{name}(); print('CASE-PASSED')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0 and "CASE-PASSED" in proc.stdout, (
        f"rc={proc.returncode} (negative = killed by signal)\n{proc.stderr[-1500:]}"
    )


@pytest.mark.parametrize(
    "name",
    [
        "threads_train_separate_models_match_serial",
        "threads_with_nn_modules_and_optimizer",
        "concurrent_backward_on_separate_graphs",
        "concurrent_backward_into_shared_leaf_accumulates",
        "concurrent_backward_through_one_graph",
        "grads_with_respect_to_a_shared_non_leaf",
        "grad_mode_thread_isolation_under_load",
        "concurrent_matmul_operator",
        "concurrent_sum_with_dim_tuple",
    ],
)
def test_threads(name):
    _run_case_in_subprocess(name)


def _case_concurrent_matmul_operator():
    """x @ y from several threads: results must equal the serial/numpy product."""
    a = np.arange(64 * 64, dtype=np.float32).reshape(64, 64) / 4096
    expected = a @ a.T
    errors = []

    def worker():
        try:
            x = ember.tensor(a)
            for _ in range(3000):
                y = x @ x.t()
            np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    ths = [threading.Thread(target=worker) for _ in range(8)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(60)
    assert not errors, errors


def _case_concurrent_sum_with_dim_tuple():
    a = np.ones((256, 256), dtype=np.float32)
    tsum = torch.tensor(a).sum(dim=(0, 1)).item()
    errors = []

    def worker():
        try:
            x = ember.tensor(a)
            for _ in range(2000):
                y = x.sum(dim=(0, 1))
            assert y.item() == tsum
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    ths = [threading.Thread(target=worker) for _ in range(8)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(60)
    assert not errors, errors


# ----------------------------------------------------------------- huge allocations


HUGE = [
    "empty(2**40)",
    "zeros(2**40)",
    "ones(2**20, 2**20)",
    "empty(2**62)",
    "empty(2**31, 2**31, 2**31)",
    "ones(2**20).expand(2**20, 2**20).contiguous()",
    "full((2**40,), 1.0)",
]


def _torch_huge(expr):
    try:
        eval("torch." + expr)
    except BaseException as e:  # noqa: BLE001
        return type(e).__name__
    return "NO-EXCEPTION"


def _ember_huge(expr):
    """ember in a subprocess (crash isolation); returns (rc, exception name, sanity value)."""
    proc = run_py(
        f"""
        import ember
        try:
            t = ember.{expr}
            print("NO-EXCEPTION")
            t.reshape(-1)[min(t.numel() - 1, 10**9)].fill_(1.0)  # touch far memory: must not crash
        except BaseException as e:
            print(type(e).__name__)
        x = ember.ones(10)
        print(float(x.sum()))
        """
    )
    return proc.returncode, proc.stdout.split(), proc.stderr


@pytest.mark.parametrize("expr", HUGE)
def test_huge_allocation_raises_cleanly(expr):
    """Brief: RuntimeError or MemoryError, and no crash. (torch raises RuntimeError for all.)"""
    assert _torch_huge(expr) == "RuntimeError"
    rc, out, err = _ember_huge(expr)
    assert rc == 0, f"ember crashed rc={rc}: {err[-400:]}"
    assert out[0] in ("RuntimeError", "MemoryError"), out
    assert float(out[1]) == 10.0  # still usable after the failure


@pytest.mark.parametrize("expr", ["empty(2**40)", "empty(2**62)"])
def test_huge_allocation_exception_type_matches_torch(expr):
    rc, out, err = _ember_huge(expr)
    assert rc == 0, f"ember crashed rc={rc}: {err[-400:]}"
    assert out[0] == _torch_huge(expr)


def test_numel_overflow_is_rejected():
    """2**31 * 2**31 * 2**31 elements overflows int64: torch refuses, ember must not wrap to 0."""
    with pytest.raises(RuntimeError):
        torch.empty(2**31, 2**31, 2**31)
    rc, out, err = _ember_huge("empty(2**31, 2**31, 2**31)")
    assert rc == 0 and out[0] in ("RuntimeError", "MemoryError"), (rc, out)


# ---------------------------------------------- misuse cases once mishandled


def test_hooks_on_a_non_leaf_outlive_its_python_object():
    # Gradient reversal: the hooked intermediate is gone before backward.
    def run(lib):
        def reverse(x):
            y = x * 1.0
            y.register_hook(lambda g: -g)
            return y * 1.0

        w = lib.tensor([1.0, 2.0], requires_grad=True)
        reverse(w).sum().backward()
        fired = [0]
        z = lib.ones(2, requires_grad=True)
        for _ in range(50):
            z = z * 1.0
            z.register_hook(lambda g: (fired.__setitem__(0, fired[0] + 1), g)[1])
        z.sum().backward()
        return w.grad.tolist(), fired[0]

    e, t = both(run)
    assert e == t == ([-1.0, -1.0], 50)


@pytest.mark.parametrize(
    "assign",
    [
        lambda L, x: x.__setitem__((slice(None), L.tensor([0, 2])), 7.0),
        lambda L, x: x.__setitem__((1, L.tensor([0, 2])), 4.0),
        lambda L, x: x.__setitem__((Ellipsis, L.tensor([1])), 3.0),
        lambda L, x: x.__setitem__((L.tensor([0, 1]), L.tensor([2, 0])), L.tensor([5.0, 6.0])),
        lambda L, x: x.__setitem__((slice(None), L.tensor([0, 2])), L.tensor([[1.0, 2.0]] * 3)),
    ],
)
def test_assignment_through_tensor_indices_on_any_dim_matches_torch(assign):
    def run(lib):
        w = lib.ones(3, 3, requires_grad=True)
        y = w * 2
        assign(lib, y)
        (y * y).sum().backward()
        return y.tolist(), w.grad.tolist()

    e, t = both(run)
    assert e == t


def test_expand_beyond_int64_elements_raises():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="overflow"):
            lib.ones(1, 1).expand(2**32, 2**32)


@pytest.mark.parametrize(
    "misuse",
    [
        lambda L: L.optim.SGD(L.nn.Parameter(L.ones(2)), lr=0.1),
        lambda L: L.optim.Adam([L.nn.Parameter(L.ones(2))], betas=(1.0, 0.9)),
        lambda L: L.nn.Linear(3, 2).load_state_dict({"weight": L.ones(2, 3)}),
        lambda L: L.nn.Linear(3, 2).load_state_dict({"weight": L.ones(3, 3), "bias": L.ones(2)}),
        lambda L: setattr(L.nn.Linear(2, 2), "weight", L.zeros(2, 2)),
    ],
)
def test_optimizer_and_module_misuse_raises_like_torch(misuse):
    (_, err_e), (_, err_t) = outcome(misuse, ember), outcome(misuse, torch)
    assert err_t is not None and type(err_e) is type(err_t), (err_e, err_t)


def test_remainder_is_differentiable_like_torch():
    def run(lib):
        x = lib.tensor([2.5, -3.7, 4.2], requires_grad=True)
        w = lib.tensor([1.5, 2.0, -1.3], requires_grad=True)
        y = (x % 1.5) * 2 + (x % w).sum() * 3
        y.sum().backward()
        return x.grad.tolist(), w.grad.tolist()

    e, t = both(run)
    assert e == t


def test_binary_cross_entropy_gradient_reaches_a_target_that_requires_grad():
    def run(lib):
        p = lib.tensor([0.2, 0.7], requires_grad=True)
        t = lib.tensor([0.3, 0.9], requires_grad=True)
        lib.nn.functional.binary_cross_entropy(p, t).backward()
        return p.grad.numpy(), t.grad.numpy()

    (ep, et), (tp, tt) = both(run)
    np.testing.assert_allclose(ep, tp, rtol=1e-6)
    np.testing.assert_allclose(et, tt, rtol=1e-6)


def _case_hooks_added_while_other_threads_backprop():
    # Registering and removing a leaf's hooks while two threads run backward
    # through it (the hook list is locked: Note [Tensors and Python's cycle collector]).
    w = ember.randn(100, requires_grad=True)
    stop, errors = [False], []

    def backprop():
        for _ in range(1500):
            try:
                (w * 1.0).sum().backward()
            except RuntimeError as e:  # pragma: no cover - reported below
                errors.append(str(e))

    def churn():
        while not stop[0]:
            handles = [w.register_hook(lambda g: g) for _ in range(20)]
            for h in handles:
                h.remove()

    workers = [threading.Thread(target=backprop) for _ in range(2)]
    churner = threading.Thread(target=churn)
    for t in [*workers, churner]:
        t.start()
    for t in workers:
        t.join()
    stop[0] = True
    churner.join()
    assert errors == [], errors[:3]
    np.testing.assert_array_equal(w.grad.numpy(), np.full(100, 3000.0, dtype=np.float32))


def _case_gc_while_threads_train_with_hooks():
    # Parameter hooks that close over their model (a cycle through C++) while
    # another thread collects: every hook still runs (Note [Tensors and
    # Python's cycle collector]).
    import gc

    errors, stop = [], [False]

    def train(seed):
        try:
            ember.manual_seed(seed)
            for _ in range(15):
                m = ember.nn.Sequential(
                    ember.nn.Linear(8, 16), ember.nn.Tanh(), ember.nn.Linear(16, 1)
                )
                seen = []
                for p in m.parameters():
                    p.register_hook(lambda g, m=m: seen.append(len(list(m.parameters()))) or g)
                opt = ember.optim.SGD(m.parameters(), lr=0.01)
                for _ in range(5):
                    opt.zero_grad()
                    loss = m(ember.randn(4, 8)).pow(2).mean()
                    loss.backward()
                    opt.step()
                assert seen == [4] * 20, seen
        except Exception as e:  # reported below
            errors.append(repr(e))

    def collect():
        while not stop[0]:
            gc.collect()

    trainers = [threading.Thread(target=train, args=(i,)) for i in range(3)]
    collector = threading.Thread(target=collect)
    collector.start()
    for t in trainers:
        t.start()
    for t in trainers:
        t.join()
    stop[0] = True
    collector.join()
    assert errors == [], errors[:3]


def test_gc_while_threads_train_with_hooks():
    _run_case_in_subprocess("gc_while_threads_train_with_hooks")


def test_hooks_added_while_other_threads_backprop():
    _run_case_in_subprocess("hooks_added_while_other_threads_backprop")


# ------------------------------------------------- memory owned through .data


def test_numpy_array_keeps_its_memory_when_data_is_replaced():
    t = ember.zeros(1000)
    a = t.numpy()
    t.data = ember.zeros(1)
    ember._C._empty_cache()
    later = ember.zeros(1000)  # must not reuse the memory `a` still uses
    a[:] = 42.0
    assert later.sum().item() == 0.0
    assert a.sum() == 42.0 * 1000
    assert t.shape == (1,)


def test_view_of_a_base_given_new_memory_is_refused_not_written_out_of_bounds():
    proc = run_py(
        """
        import ember
        x = ember.ones(100000, requires_grad=True)
        y = x * 1
        v = y[50000:]
        y.data = ember.zeros(2)
        try:
            v.mul_(2)
            y.sum().backward()
        except RuntimeError as e:
            print("refused:", "no longer share memory" in str(e))
        """
    )
    assert proc.returncode == 0 and "refused: True" in proc.stdout, proc.stderr[-1500:]


def test_tolist_beyond_memory_raises_memory_error():
    proc = run_py(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        import ember
        x = ember.ones(1).expand(2**32)
        try:
            x.tolist()
        except MemoryError:
            print("MemoryError")
        """,
        timeout=120,
    )
    assert proc.returncode == 0 and "MemoryError" in proc.stdout, proc.stderr[-1500:]


DATA_AND_BYTE_ORDER = {
    "int_data_on_tensor_requiring_grad": lambda L: setattr(
        L.ones(3, requires_grad=True), "data", L.tensor([1, 2, 3])
    ),
    "float64_data_on_tensor_requiring_grad": lambda L: L.ones(3, requires_grad=True).__setattr__(
        "data", L.ones(4, dtype=L.float64)
    ),
    "from_numpy_big_endian": lambda L: L.from_numpy(np.arange(3, dtype=">f4")),
    "as_tensor_big_endian": lambda L: L.as_tensor(np.arange(3, dtype=">f8")),
}


@pytest.mark.parametrize("name", sorted(DATA_AND_BYTE_ORDER))
def test_data_assignment_and_byte_order_match_torch(name):
    compare(lambda L: DATA_AND_BYTE_ORDER[name](L) or L.zeros(1))


# ------------------------------------- cycles through hooks and custom Functions


def _live():
    return ember._C._buffer_stats()["live_buffers"]


class _KeepsOutputOnCtx(ember.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        out = a * 2
        ctx.out = out  # a cycle: out -> grad_fn -> ctx -> out
        return out

    @staticmethod
    def backward(ctx, g):
        return g * 2


def _leaf_whose_hook_refers_to_it():
    x = ember.randn(1000, requires_grad=True)
    x.register_hook(lambda g: g if x is not None else g)
    return x


class _ModuleWhoseParameterHooksReferToIt(ember.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = ember.nn.Linear(20, 20)
        self.scale = 0.5
        for p in self.parameters():
            p.register_hook(lambda g: g * self.scale)


@pytest.mark.parametrize(
    "make",
    [
        lambda: _KeepsOutputOnCtx.apply(ember.randn(1000, requires_grad=True)),
        _leaf_whose_hook_refers_to_it,
        _ModuleWhoseParameterHooksReferToIt,
    ],
    ids=["ctx_keeps_output", "leaf_hook_closure", "module_parameter_hooks"],
)
def test_reference_cycles_through_cpp_are_collected(make):
    import gc
    import weakref

    gc.collect()
    before = _live()
    first = weakref.ref(make())
    for _ in range(20):
        make()
    gc.collect()
    assert first() is None
    assert _live() == before


def test_a_collected_cycle_keeps_hooks_a_live_graph_still_runs():
    # A non-leaf's hook that refers to its tensor must still run when the
    # graph is backpropagated after the tensor's Python object became garbage.
    import gc

    x = ember.ones(3, requires_grad=True)
    seen = []

    def make_loss():
        y = x * 2
        y.register_hook(lambda g: seen.append(y.shape) or g * 10)
        return y.sum()

    loss = make_loss()
    gc.collect()
    loss.backward()
    assert seen == [(3,)]
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 20.0, dtype=np.float32))


def test_hooks_a_graph_still_holds_survive_the_cycle_collector():
    # The graph holds the leaf: its hook (closing over the leaf or its module)
    # must still run after gc, as in torch. A cleared hook used to crash.
    proc = run_py(
        """
        import gc
        import ember

        got = []

        def leaf():
            x = ember.ones(3, requires_grad=True)
            x.register_hook(lambda g: got.append(("leaf", tuple(x.shape))))
            return (x * 2).sum()

        def module():
            m = ember.nn.Linear(3, 1)
            m.weight.register_hook(lambda g: got.append(("module", tuple(m.weight.shape))))
            return m(ember.ones(2, 3)).sum()

        def ctx():
            class Keep(ember.autograd.Function):
                @staticmethod
                def forward(ctx, a):
                    out = a * 2
                    ctx.out = out
                    return out

                @staticmethod
                def backward(ctx, g):
                    got.append(("ctx", tuple(ctx.out.shape)))
                    return g * 2

            return (Keep.apply(ember.ones(3, requires_grad=True)) * 3).sum()

        for make in (leaf, module, ctx):
            loss = make()
            gc.collect()
            loss.backward()
        for _ in range(300):  # collections triggered by ordinary allocations
            loss = module()
            junk = [[] for _ in range(2000)]
            loss.backward()
        print(got[:3], len(got))
        """,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert proc.stdout.strip() == ("[('leaf', (3,)), ('module', (1, 3)), ('ctx', (3,))] 303"), (
        proc.stdout
    )


@pytest.mark.parametrize(
    "assign",
    ["x[[0, 1], :] = 7", "x[ember.tensor([0, 1]), :] = 7", "x[(True,)] = 7", "x[True, None] = 1.0"],
)
def test_assignment_by_tensor_index_into_an_empty_tensor_does_nothing(assign):
    # Empty tensors used to count as non-contiguous, and this assignment then
    # recursed on its own contiguous copy until the stack overflowed.
    proc = run_py(
        f"""
        import ember
        x = ember.zeros(3, 0)
        {assign}
        print("shape", tuple(x.shape))
        """
    )
    assert proc.returncode == 0 and "shape (3, 0)" in proc.stdout, proc.stderr[-1500:]


def test_grad_reset_while_another_thread_backprops_does_not_crash():
    # `.grad = None` (zero_grad's default) raced the accumulation into .grad.
    proc = run_py(
        """
        import threading
        import ember
        w = ember.randn(64, 64, requires_grad=True)
        x = ember.randn(64, 64)
        opt = ember.optim.SGD([w], lr=0.0)
        done = threading.Event()
        def backprop():
            for _ in range(1500):
                (x @ w).sigmoid().sum().backward()
            done.set()
        def reset():
            while not done.is_set():
                w.grad = None
                opt.zero_grad()
                w.grad = ember.zeros(64, 64)
                g = w.grad
        threads = [threading.Thread(target=backprop), threading.Thread(target=reset)]
        for t in threads: t.start()
        for t in threads: t.join()
        print("finished", tuple(w.grad.shape))
        """,
        timeout=180,
    )
    assert proc.returncode == 0 and "finished (64, 64)" in proc.stdout, proc.stderr[-1500:]


def test_cleared_gc_callbacks_neither_drop_live_hooks_nor_leak_cycles():
    # The per-collection GC answers are reset from ember's gc.callbacks entry;
    # without it they could go stale and drop a hook a live graph still runs.
    proc = run_py(
        """
        import gc, weakref
        import ember
        gc.callbacks.clear()
        calls = []
        leaf = ember.full((3,), 2.0, requires_grad=True)
        leaf.register_hook(lambda g, leaf=leaf: (calls.append(1), g * 5)[1])
        gc.collect()
        y = (leaf * leaf).sum()
        del leaf
        gc.collect()
        y.backward()
        print("hook calls", len(calls))
        cycle = ember.ones(2, requires_grad=True)
        cycle.register_hook(lambda g, t=cycle: g)
        alive = weakref.ref(cycle)
        del cycle
        gc.collect(); gc.collect()
        print("cycle collected", alive() is None)
        """
    )
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert "hook calls 1" in proc.stdout and "cycle collected True" in proc.stdout, proc.stdout


def test_replacing_grad_frees_the_old_one_outside_the_lock():
    # Freeing the old grad ran a finalizer that read w.grad: the setter must not
    # hold the accumulator's lock by then (it deadlocked).
    proc = run_py(
        """
        import weakref
        import ember
        w = ember.ones(3, requires_grad=True)
        (w * 2).sum().backward()
        class Keep(ember.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.kept = kept[0]
                return a * 1
            @staticmethod
            def backward(ctx, g):
                return g
        class Marker:
            pass
        kept = [Marker()]
        weakref.finalize(kept[0], lambda: print("finalizer sees", w.grad is None))
        w.grad = Keep.apply(ember.ones(3, requires_grad=True))
        kept.clear()
        w.grad = None
        print("survived")
        """,
        timeout=60,
    )
    assert proc.returncode == 0 and "survived" in proc.stdout, proc.stderr[-1500:]


def test_an_impossible_allocation_names_its_size_like_torch():
    def run(L):
        return L.empty(2**42)

    e, t = capture(run, ember), capture(run, torch)
    assert type(e) is type(t) is RuntimeError
    core = "DefaultCPUAllocator: can't allocate memory: you tried to allocate 17592186044416 bytes."
    assert core in str(e) and core in str(t)
    assert ember.ones(3).sum().item() == 3.0  # still usable afterwards


def test_freed_large_tensors_go_back_to_the_system_for_numpy():
    # Under an address-space limit with room for 700 MB more: 512 MB of Ember
    # tensors, freed, must leave room for a 256 MB NumPy array (the cache keeps
    # at most 256 MiB, Note [Buffer caching]; it used to keep all 512).
    proc = run_py(
        """
        import resource
        import numpy as np
        import ember

        def address_space():
            with open("/proc/self/status") as f:
                line = next(l for l in f if l.startswith("VmSize:"))
            return int(line.split()[1]) * 1024

        limit = address_space() + (700 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        tensors = [ember.ones(16 << 20) for _ in range(8)]  # 8 x 64 MB
        del tensors
        big = np.ones(256 << 20, dtype=np.uint8)
        cached = ember._C._buffer_stats()["cached_bytes"]
        print("numpy got", big.nbytes, "cache within its cap", 0 < cached <= (256 << 20))
        """,
        timeout=120,
    )
    assert (
        proc.returncode == 0 and "numpy got 268435456 cache within its cap True" in proc.stdout
    ), proc.stdout + proc.stderr[-1500:]


def test_cache_keeps_small_buffers_under_its_cap_and_empties_on_request():
    proc = run_py(
        """
        import ember
        keep = [ember.ones(1 << 20) for _ in range(100)]  # 100 x 4 MB
        del keep
        cached = ember._C._buffer_stats()["cached_bytes"]
        ember._C._empty_cache()
        print(cached <= (256 << 20), cached > 0, ember._C._buffer_stats()["cached_bytes"])
        """,
        timeout=60,
    )
    assert proc.returncode == 0 and "True True 0" in proc.stdout, proc.stdout + proc.stderr[-1500:]


def _run_with_cache_env(code, cache_mb):
    env = dict(os.environ)
    env.pop("EMBER_CPU_CACHE_MB", None)
    if cache_mb is not None:
        env["EMBER_CPU_CACHE_MB"] = cache_mb
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


_CACHE_AFTER_FREEING_LARGE_BUFFERS = """
    import ember
    keep = [ember.ones(1 << 20) for _ in range(20)]  # 20 x 4 MB
    del keep
    stats = ember.cpu.memory_stats()
    print(stats["cached_bytes"] >> 20, stats["cache_limit_bytes"] >> 20)
"""


@pytest.mark.parametrize(
    "cache_mb, expected",
    [(None, "80 256"), ("0", "0 0"), ("8", "8 8"), ("not a size", "80 256"), ("-5", "80 256")],
)
def test_cache_cap_is_set_by_environment(cache_mb, expected):
    proc = _run_with_cache_env(_CACHE_AFTER_FREEING_LARGE_BUFFERS, cache_mb)
    assert proc.returncode == 0 and proc.stdout.split() == expected.split(), (
        proc.stdout + proc.stderr[-1500:]
    )


def test_idle_large_buffers_go_back_to_the_system():
    proc = run_py(
        """
        import time
        import ember
        keep = [ember.ones(1 << 20) for _ in range(20)]  # 20 x 4 MB
        del keep
        before = ember.cpu.memory_stats()["cached_bytes"]
        time.sleep(1.2)
        x = ember.ones(1000)
        for _ in range(200):  # small ops only: the idle check rides on their buffers
            x = x + 1
        after = ember.cpu.memory_stats()["cached_bytes"]
        print(before >= (80 << 20), after < (1 << 20))
        """,
        timeout=60,
    )
    assert proc.returncode == 0 and "True True" in proc.stdout, proc.stdout + proc.stderr[-1500:]


def test_buffers_reused_within_a_second_stay_cached():
    ember.cpu.empty_cache()
    big = ember.ones(1 << 21)  # 8 MB
    del big
    assert ember.cpu.memory_stats()["cached_bytes"] == 8 << 20
    again = ember.ones(1 << 21)
    assert ember.cpu.memory_stats()["cached_bytes"] == 0
    assert again.sum().item() == float(1 << 21)


def test_public_empty_cache_and_torch_cpu_answers():
    held = ember.ones(1 << 20)
    del held
    assert ember.cpu.memory_stats()["cached_bytes"] > 0
    ember.cpu.empty_cache()
    stats = ember.cpu.memory_stats()
    assert stats["cached_bytes"] == 0
    live = ember.ones(1000)
    assert ember.cpu.memory_stats()["allocated_bytes"] >= live.numel() * 4
    for name in ("is_available", "device_count", "current_device"):
        assert getattr(ember.cpu, name)() == getattr(torch.cpu, name)(), name
    assert ember.cpu.synchronize() is None and torch.cpu.synchronize() is None


def test_matrix_product_with_address_space_exhausted_raises_instead_of_exiting():
    # OpenBLAS exits the process when its first buffer cannot be mapped
    # (Note [BLAS buffers]); Ember raises its out-of-memory error first, and a
    # pool thread that cannot start leaves the work to the caller.
    proc = run_py(
        """
        import resource
        import ember

        def address_space():
            with open("/proc/self/status") as f:
                line = next(l for l in f if l.startswith("VmSize:"))
            return int(line.split()[1]) * 1024

        a, b = ember.ones(256, 256), ember.ones(256, 256)
        limit = address_space() + (300 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        hog = []
        try:
            while True:
                hog.append(ember.ones(1 << 18))
        except RuntimeError:
            pass
        hog = hog[:-2]
        try:
            a @ b
            print("product computed")
        except RuntimeError as e:
            print("raised:", "DefaultCPUAllocator" in str(e))
        del hog
        print("after:", float((a @ b)[0, 0]))
        """,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-1500:]
    assert "raised: True" in proc.stdout or "product computed" in proc.stdout, proc.stdout
    assert "after: 256.0" in proc.stdout, proc.stdout


REDUCTION_MEMORY_PROBE = """
import ember
def high_water():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) * 1024
x = ember.ones(5000, 10000)
x[:8].{op}(1)  # warm up: the pool and the allocator's small buffers
before = high_water()
x.{op}(1)
x.{op}(0)
print((high_water() - before) / (x.numel() * x.element_size()))
"""


@pytest.mark.parametrize("op", ["amax", "amin", "logsumexp"])
def test_reductions_over_a_large_tensor_take_little_extra_memory(op):
    """A 200 MB input: the peak extra memory stays under 5% of it (torch's amax
    takes about none, its logsumexp a copy)."""
    out = subprocess.run(
        [sys.executable, "-c", REDUCTION_MEMORY_PROBE.format(op=op)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) < 0.05


def test_cycle_collection_while_a_tensor_subclass_makes_its_first_instance():
    # The first instance of a new Tensor subclass is tracked by the collector
    # before pybind11 has given it storage; a collection then must skip it.
    code = (
        "import gc, ember\n"
        "gc.set_threshold(1, 1, 1)\n"
        "class Sub(ember.Tensor):\n"
        "    pass\n"
        "x = Sub(ember.ones(3))\n"
        "p = ember.nn.Parameter(ember.ones(2))\n"
        "print(type(x).__name__, float(x.sum()), p.requires_grad)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Sub", "3.0", "True"]
