"""Benchmark workloads, written once for both libraries.

Every workload is a small pair of functions:

* ``data(rng)`` builds the inputs as NumPy arrays (run once, shared by both
  libraries so they see identical numbers);
* ``setup(lib, d)`` turns them into tensors of ``lib`` (``torch`` or
  ``ember``; the same code runs on both) and returns ``step``, a zero-argument
  callable that performs one iteration of the workload.  ``step()`` returns a
  value that ``run.py`` compares between the libraries once, outside the
  timed region, as a sanity check.

``WORKLOADS`` lists them in the order of the table with their targets
(ratio = torch time / ember time must be >= target).
"""

import numpy as np


def _t(lib, arr, requires_grad=False):
    """A ``lib`` tensor holding a copy of the NumPy array ``arr``."""
    return lib.tensor(np.ascontiguousarray(arr), requires_grad=requires_grad)


# --------------------------------------------------------------------------
# Single ops with grad recording on shape (3,) tensors requiring grad


def data_small(rng):
    return {
        "a": rng.standard_normal(3).astype(np.float32),
        "b": rng.standard_normal(3).astype(np.float32),
        "m": rng.standard_normal((3, 3)).astype(np.float32),
    }


def setup_add(lib, d):
    a, b = _t(lib, d["a"], True), _t(lib, d["b"], True)
    return lambda: a + b


def setup_mul_scalar(lib, d):
    a = _t(lib, d["a"], True)
    return lambda: a * 2.0


def setup_matvec(lib, d):
    m, v = _t(lib, d["m"], True), _t(lib, d["a"], True)
    return lambda: m @ v


def setup_sum_small(lib, d):
    a = _t(lib, d["a"], True)
    return lambda: a.sum()


# --------------------------------------------------------------------------
# Forward + backward of (x*w+b)**2 on 0-d tensors


def data_scalar(rng):
    return {"x": np.float32(1.5), "w": np.float32(0.7), "b": np.float32(-0.2)}


def setup_scalar_fwd_bwd(lib, d):
    x = _t(lib, np.array(d["x"]))  # no grad
    w = _t(lib, np.array(d["w"]), True)
    b = _t(lib, np.array(d["b"]), True)

    def step():
        loss = (x * w + b) ** 2
        loss.backward()
        return loss

    return step


# --------------------------------------------------------------------------
# The tutorial's training epoch (linear regression, manual SGD)


def data_tutorial(rng):
    X = rng.standard_normal((50, 3)).astype(np.float32)
    w_true = np.array([1.0, -0.5, 0.3], dtype=np.float32)
    y = X @ w_true + np.float32(0.1) * rng.standard_normal(50).astype(np.float32)
    return {
        "X": X,
        "y": y.astype(np.float32),
        "w": rng.standard_normal(3).astype(np.float32),
        "b": np.zeros(1, dtype=np.float32),
    }


def setup_tutorial(lib, d):
    X, y = _t(lib, d["X"]), _t(lib, d["y"])
    w = _t(lib, d["w"], True)
    b = _t(lib, d["b"], True)

    def step():
        nonlocal w, b  # `w -= ...` rebinds the names (to the same tensors)
        y_pred = X @ w + b
        loss = lib.mean((y_pred - y) ** 2)
        if w.grad is not None:
            w.grad.zero_()
        if b.grad is not None:
            b.grad.zero_()
        loss.backward()
        with lib.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        return loss.item()

    return step


# --------------------------------------------------------------------------
# MLP training step: batch 64, 784-256-10, relu, cross_entropy, SGD


def data_mlp(rng, init_from_torch=True):
    """Inputs and initial weights.

    The weights are torch's default ``nn.Linear`` initialisation (drawn by
    torch with a fixed seed and copied into both libraries) when
    ``init_from_torch`` is true; the memory probe, which must not import
    torch in the Ember subprocess, uses the same distribution drawn by NumPy.
    """
    d = {
        "X": rng.standard_normal((64, 784)).astype(np.float32),
        "y": rng.integers(0, 10, size=64).astype(np.int64),
    }
    if init_from_torch:
        import torch

        torch.manual_seed(0)
        fc1, fc2 = torch.nn.Linear(784, 256), torch.nn.Linear(256, 10)
        for name, mod in (("fc1", fc1), ("fc2", fc2)):
            d[name + ".weight"] = mod.weight.detach().numpy().copy()
            d[name + ".bias"] = mod.bias.detach().numpy().copy()
    else:
        for name, (fi, fo) in (("fc1", (784, 256)), ("fc2", (256, 10))):
            bound = 1.0 / np.sqrt(fi)
            d[name + ".weight"] = rng.uniform(-bound, bound, (fo, fi)).astype(np.float32)
            d[name + ".bias"] = rng.uniform(-bound, bound, fo).astype(np.float32)
    return d


def setup_mlp(lib, d):
    nn, F = lib.nn, lib.nn.functional
    fc1, fc2 = nn.Linear(784, 256), nn.Linear(256, 10)
    with lib.no_grad():
        for name, mod in (("fc1", fc1), ("fc2", fc2)):
            mod.weight.copy_(_t(lib, d[name + ".weight"]))
            mod.bias.copy_(_t(lib, d[name + ".bias"]))
    params = list(fc1.parameters()) + list(fc2.parameters())
    opt = lib.optim.SGD(params, lr=0.01)
    X, y = _t(lib, d["X"]), lib.tensor(d["y"])

    def step():
        opt.zero_grad()
        out = fc2(F.relu(fc1(X)))
        loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


# --------------------------------------------------------------------------
# Matrix products (float32)


def _data_mm(n):
    def data(rng):
        return {
            "A": rng.standard_normal((n, n)).astype(np.float32),
            "B": rng.standard_normal((n, n)).astype(np.float32),
        }

    return data


def setup_mm(lib, d):
    A, B = _t(lib, d["A"]), _t(lib, d["B"])
    return lambda: A @ B


def setup_mm_sum_fwd_bwd(lib, d):
    A, B = _t(lib, d["A"], True), _t(lib, d["B"], True)

    def step():
        A.grad = None
        B.grad = None
        loss = (A @ B).sum()
        loss.backward()
        return A.grad

    return step


# --------------------------------------------------------------------------
# A batch of linear solves (LAPACK getrf/getrs) with their backward


def data_solve(rng):
    n = 64
    return {
        "A": (rng.standard_normal((64, n, n)) + n * np.eye(n)).astype(np.float32),
        "B": rng.standard_normal((64, n, 8)).astype(np.float32),
    }


def setup_solve_fwd_bwd(lib, d):
    A, B = _t(lib, d["A"], True), _t(lib, d["B"], True)

    def step():
        A.grad = None
        B.grad = None
        lib.linalg.solve(A, B).sum().backward()
        return A.grad

    return step


# --------------------------------------------------------------------------
# 10M-element float32 elementwise ops and reduction

BIG = 10_000_000


def data_big(rng):
    return {
        "a": rng.standard_normal(BIG).astype(np.float32),
        "b": rng.standard_normal(BIG).astype(np.float32),
        "c": rng.standard_normal(BIG).astype(np.float32),
    }


def setup_big_muladd(lib, d):
    a, b, c = _t(lib, d["a"]), _t(lib, d["b"]), _t(lib, d["c"])
    return lambda: a * b + c


def setup_big_exp(lib, d):
    a = _t(lib, d["a"])
    return lambda: lib.exp(a)


def setup_big_sum(lib, d):
    a = _t(lib, d["a"])
    return lambda: a.sum()


# --------------------------------------------------------------------------
# Scalar chain of 20k ops, forward + backward

CHAIN = 20_000


def data_none(rng):
    return {}


def setup_chain(lib, d):
    x = lib.tensor(1.0, requires_grad=True)

    def step():
        x.grad = None
        y = x
        for _i in range(CHAIN // 2):
            y = y * 1.0001
            y = y + 0.0001
        y.backward()
        return x.grad

    return step


# --------------------------------------------------------------------------
# Layer-sized ops on a 256x256 float32 tensor: the math transformers and RNNs
# lean on, forward only, plus the fused softmax/layer norm with backward.


def data_layer(rng):
    return {
        "x": rng.standard_normal((256, 256)).astype(np.float32),
        "g": rng.standard_normal((256, 256)).astype(np.float32),
    }


def _layer_op(fn):
    def setup(lib, d):
        x = _t(lib, d["x"])
        return lambda: fn(lib, x)

    return setup


def _layer_fwd_bwd(fn):
    def setup(lib, d):
        x, g = _t(lib, d["x"], True), _t(lib, d["g"])

        def step():
            x.grad = None
            fn(lib, x).backward(g)
            return x.grad

        return step

    return setup


LAYER_OPS = [
    ("tanh", lambda lib, x: x.tanh()),
    ("sigmoid", lambda lib, x: x.sigmoid()),
    ("x ** 3", lambda lib, x: x**3),
    ("gelu", lambda lib, x: lib.nn.functional.gelu(x)),
    ("gelu tanh", lambda lib, x: lib.nn.functional.gelu(x, approximate="tanh")),
    ("softmax", lambda lib, x: lib.softmax(x, -1)),
    ("log_softmax", lambda lib, x: lib.log_softmax(x, -1)),
    ("layer_norm", lambda lib, x: lib.nn.functional.layer_norm(x, (256,))),
    ("exp", lambda lib, x: x.exp()),
    ("log", lambda lib, x: x.abs().log()),
    ("sort rows", lambda lib, x: lib.sort(x, -1)),
    ("topk 10 rows", lambda lib, x: lib.topk(x, 10, -1)),
]
LAYER_FWD_BWD = [
    ("softmax", lambda lib, x: lib.softmax(x, -1)),
    ("layer_norm", lambda lib, x: lib.nn.functional.layer_norm(x, (256,))),
    ("gelu", lambda lib, x: lib.nn.functional.gelu(x)),
    ("tanh", lambda lib, x: x.tanh()),
]


# --------------------------------------------------------------------------
# name, data, setup, target (torch time / ember time >= target)
WORKLOADS = [
    ("add (3,) grad", data_small, setup_add, 3.0),
    ("mul scalar (3,) grad", data_small, setup_mul_scalar, 3.0),
    ("matvec 3x3@3 grad", data_small, setup_matvec, 3.0),
    ("sum (3,) grad", data_small, setup_sum_small, 3.0),
    ("(x*w+b)**2 0-d fwd+bwd", data_scalar, setup_scalar_fwd_bwd, 5.0),
    ("tutorial epoch", data_tutorial, setup_tutorial, 5.0),
    ("MLP step 64x784-256-10", data_mlp, setup_mlp, 1.2),
    ("matmul 1024 f32", _data_mm(1024), setup_mm, 0.9),
    ("matmul 2048 f32", _data_mm(2048), setup_mm, 0.9),
    ("(A@B).sum() fwd+bwd 1024", _data_mm(1024), setup_mm_sum_fwd_bwd, 0.9),
    ("linalg.solve 64x(64x64) f32 fwd+bwd", data_solve, setup_solve_fwd_bwd, 0.8),
    ("10M a*b+c", data_big, setup_big_muladd, 1.5),
    ("10M exp(a)", data_big, setup_big_exp, 1.0),
    ("10M a.sum()", data_big, setup_big_sum, 1.0),
    ("scalar chain 20k fwd+bwd", data_none, setup_chain, 3.0),
]
WORKLOADS += [(f"{name} 256x256", data_layer, _layer_op(fn), 1.0) for name, fn in LAYER_OPS]
WORKLOADS += [
    (f"{name} 256x256 fwd+bwd", data_layer, _layer_fwd_bwd(fn), 1.0) for name, fn in LAYER_FWD_BWD
]


# --------------------------------------------------------------------------
# Convolution layers: the second layer of pytorch/examples' MNIST net (batch
# 64, 32 -> 64 channels, 3x3 over 26x26) and its 2x2 max pool.


def data_conv(rng):
    return {
        "x": rng.standard_normal((64, 32, 26, 26)).astype(np.float32),
        "w": (rng.standard_normal((64, 32, 3, 3)) * 0.06).astype(np.float32),
        "b": np.zeros(64, np.float32),
        "g": rng.standard_normal((64, 64, 24, 24)).astype(np.float32),
    }


def setup_conv_fwd(lib, d):
    x, w, b = _t(lib, d["x"]), _t(lib, d["w"]), _t(lib, d["b"])
    return lambda: lib.nn.functional.conv2d(x, w, b)


def setup_conv_fwd_bwd(lib, d):
    x, w, b = _t(lib, d["x"], True), _t(lib, d["w"], True), _t(lib, d["b"], True)
    g = _t(lib, d["g"])

    def step():
        x.grad = w.grad = b.grad = None
        lib.nn.functional.conv2d(x, w, b).backward(g)
        return w.grad

    return step


def setup_pool_fwd_bwd(lib, d):
    y = _t(lib, d["g"], True)
    g = _t(lib, d["g"][:, :, :12, :12])

    def step():
        y.grad = None
        lib.nn.functional.max_pool2d(y, 2).backward(g)
        return y.grad

    return step


WORKLOADS += [
    ("conv2d 64x32x26x26 3x3 -> 64", data_conv, setup_conv_fwd, 1.0),
    ("conv2d 64x32x26x26 3x3 -> 64 fwd+bwd", data_conv, setup_conv_fwd_bwd, 1.0),
    ("max_pool2d 2x2 64x64x24x24 fwd+bwd", data_conv, setup_pool_fwd_bwd, 1.0),
]


# --------------------------------------------------------------------------
# vmap: a function of one sample mapped over a batch of 64


def data_vmap(rng):
    return {
        "x": rng.standard_normal((64, 128)).astype(np.float32),
        "w": (rng.standard_normal((128, 128)) / 12).astype(np.float32),
        "b": rng.standard_normal(128).astype(np.float32),
    }


def setup_vmap(lib, d):
    x, w, b = _t(lib, d["x"]), _t(lib, d["w"]), _t(lib, d["b"])
    mapped = lib.func.vmap(lambda r: (r @ w + b).relu().tanh().sum())
    return lambda: mapped(x)


def setup_vmap_written_batched(lib, d):
    x, w, b = _t(lib, d["x"]), _t(lib, d["w"]), _t(lib, d["b"])
    return lambda: (x @ w + b).relu().tanh().sum(-1)


def setup_per_sample_grads(lib, d):
    x, w, b = _t(lib, d["x"]), _t(lib, d["w"]), _t(lib, d["b"])

    def loss(w, r):
        return ((r @ w + b).tanh() ** 2).mean()

    per_sample = lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0))
    return lambda: per_sample(w, x)


WORKLOADS += [
    ("vmap f(x) 64x128 (x@w+b).relu().tanh().sum()", data_vmap, setup_vmap, 1.0),
    ("same f written batched", data_vmap, setup_vmap_written_batched, 1.0),
    ("per-sample grads vmap(grad) 64x128", data_vmap, setup_per_sample_grads, 1.0),
]

# Memory probes (run in a subprocess per library by memory_probe.py);
# the ratio is torch / ember as well.
MEMORY_PROBES = [
    # name, probe id, unit, target
    ("memory/node, 200k chain", "chain", "B/node", 2.0),
    ("peak RSS, 20 MLP steps", "mlp", "MB", 1.0),
]

MEM_CHAIN = 200_000


def build_chain(lib, n):
    """A scalar chain of n nodes (alternating * and +) hanging off a leaf."""
    x = lib.tensor(1.0, requires_grad=True)
    y = x
    for _i in range(n // 2):
        y = y * 1.0001
        y = y + 0.0001
    return x, y
