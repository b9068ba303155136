"""Shared helpers for tests that compare Ember against PyTorch (the oracle).

Every helper builds the same values in numpy first, then makes an Ember
tensor and a torch tensor from them, so the two libraries see identical
inputs.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ember = pytest.importorskip("ember")


def both(fn):
    """fn(ember), fn(torch): the same code run on each library."""
    return fn(ember), fn(torch)


def capture(fn, lib):
    """The exception fn(lib) raises, or None."""
    try:
        fn(lib)
    except Exception as exc:  # noqa: BLE001
        return exc
    return None


# --------------------------------------------------------------------------
# dtype helpers
# --------------------------------------------------------------------------

NP_DTYPES = {
    "float16": np.float16,
    "float32": np.float32,
    "float64": np.float64,
    "uint8": np.uint8,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "bool": np.bool_,
}


def dtype_name(dt) -> str:
    """'float32' for ember.float32, torch.float32, np.float32 or 'float32'."""
    if isinstance(dt, str):
        return dt.split(".")[-1]
    if isinstance(dt, type) and issubclass(dt, np.generic):
        return np.dtype(dt).name.replace("bool", "bool")
    if isinstance(dt, np.dtype):
        return dt.name
    return str(dt).split(".")[-1]


def ember_dtype(name):
    return getattr(ember, dtype_name(name))


def torch_dtype(name):
    return getattr(torch, dtype_name(name))


DEFAULT_TOL = {
    "bfloat16": (1e-2, 1e-2),
    "float16": (2e-3, 1e-3),
    "float32": (1e-4, 1e-5),
    "float64": (1e-9, 1e-11),
}


def _to_numpy(x):
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach"):
        x = x.detach()
        return (x.float() if dtype_name(x.dtype) == "bfloat16" else x).numpy()
    return np.asarray(x)


def assert_close(
    ember_tensor, torch_tensor, rtol=None, atol=None, *, check_dtype=True, equal_nan=True, msg=""
):
    """Compare an Ember tensor with a torch tensor: shape, dtype name and values.

    Values are compared through ``.detach().numpy()``. Tolerances default per dtype.
    """
    assert ember_tensor is not None, f"ember value is None {msg}"
    assert torch_tensor is not None, f"torch value is None {msg}"
    e_shape = tuple(ember_tensor.shape)
    t_shape = tuple(torch_tensor.shape)
    assert e_shape == t_shape, f"shape mismatch: ember {e_shape} vs torch {t_shape} {msg}"
    t_name = dtype_name(torch_tensor.dtype)
    e_name = dtype_name(ember_tensor.dtype)
    if check_dtype:
        assert e_name == t_name, f"dtype mismatch: ember {e_name} vs torch {t_name} {msg}"
    e = _to_numpy(ember_tensor)
    t = _to_numpy(torch_tensor)
    assert e.shape == t.shape, f"numpy shape mismatch {e.shape} vs {t.shape} {msg}"
    if t.dtype.kind in "biu" and e.dtype.kind in "biu":
        np.testing.assert_array_equal(e, t, err_msg=msg)
        return
    d_rtol, d_atol = DEFAULT_TOL.get(t_name, DEFAULT_TOL["float32"])
    if (e.dtype == np.float32 or t.dtype == np.float32) and t_name not in ("float16", "bfloat16"):
        d_rtol, d_atol = DEFAULT_TOL["float32"]
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    np.testing.assert_allclose(
        e.astype(np.float64),
        t.astype(np.float64),
        rtol=rtol,
        atol=atol,
        equal_nan=equal_nan,
        err_msg=msg,
    )


def assert_grad_fn_name(ember_tensor, torch_tensor):
    """ember's grad_fn.name() must equal torch's (both None when no graph)."""
    tg = torch_tensor.grad_fn
    eg = ember_tensor.grad_fn
    if tg is None:
        assert eg is None, f"ember has grad_fn {eg.name()} where torch has none"
        return
    assert eg is not None, f"ember has no grad_fn, torch has {tg.name()}"
    assert eg.name() == tg.name(), f"grad_fn: ember {eg.name()} vs torch {tg.name()}"


# --------------------------------------------------------------------------
# input construction
# --------------------------------------------------------------------------

LAYOUTS = ["contiguous", "transposed", "sliced"]


def rand_array(rng, shape, dtype="float32", low=-2.0, high=2.0):
    name = dtype_name(dtype)
    if name == "int64":
        return rng.integers(-5, 6, size=shape).astype(np.int64)
    if name == "bool":
        return rng.random(size=shape) < 0.5
    return rng.uniform(low, high, size=shape).astype(NP_DTYPES[name])


def to_ember(arr, requires_grad=False):
    """ember.tensor(arr) that keeps 0-d arrays 0-d.

    ``ember.tensor(np.array(1.5))`` currently returns shape (1,) instead of ()
    (see test_ops.py::test_tensor_from_0d_numpy_array, which checks that bug
    directly); 0-d inputs are built from the Python scalar with an explicit
    dtype so that every other 0-d test exercises the op, not the constructor.
    """
    arr = np.asarray(arr)
    if arr.ndim == 0:
        return ember.tensor(
            arr.item(), dtype=ember_dtype(arr.dtype.name), requires_grad=requires_grad
        )
    return ember.tensor(arr, requires_grad=requires_grad)


class Pair:
    """The same input as an Ember and a torch tensor.

    ``e``/``t`` are what gets fed to the op (possibly a non-contiguous view);
    ``e_leaf``/``t_leaf`` are the leaves whose ``.grad`` is compared, and
    ``grad_to_input(g)`` maps a leaf's grad back to the input's layout.
    """

    def __init__(self, e_leaf, t_leaf, e, t, layout):
        self.e_leaf, self.t_leaf, self.e, self.t, self.layout = e_leaf, t_leaf, e, t, layout


def make_pair(arr, layout="contiguous", requires_grad=True):
    """Make an Ember/torch pair whose op-input holds exactly ``arr``.

    layout="transposed": the leaf stores arr with reversed axes and the input is
    ``leaf.permute(reversed)`` (non-contiguous for ndim >= 2).
    layout="sliced": the leaf has its last axis doubled and the input is
    ``leaf[..., ::2]`` (non-contiguous for ndim >= 1 with a non-empty last axis).
    """
    arr = np.asarray(arr)
    rg = requires_grad and arr.dtype.kind == "f"
    nd = arr.ndim
    if layout == "transposed" and nd >= 2:
        perm = tuple(range(nd - 1, -1, -1))
        base = np.ascontiguousarray(arr.transpose(perm))
        e_leaf = ember.tensor(base, requires_grad=rg)
        t_leaf = torch.tensor(base, requires_grad=rg)
        e, t = e_leaf.permute(*perm), t_leaf.permute(*perm)
    elif layout == "sliced" and nd >= 1:
        shp = arr.shape[:-1] + (arr.shape[-1] * 2,)
        base = np.zeros(shp, dtype=arr.dtype)
        base[..., ::2] = arr
        e_leaf = ember.tensor(base, requires_grad=rg)
        t_leaf = torch.tensor(base, requires_grad=rg)
        e, t = e_leaf[..., ::2], t_leaf[..., ::2]
    else:
        e_leaf = to_ember(arr, requires_grad=rg)
        t_leaf = torch.tensor(arr, requires_grad=rg)
        e, t = e_leaf, t_leaf
    return Pair(e_leaf, t_leaf, e, t, layout)


def make_nc_leaf(arr, layout="contiguous"):
    """A non-contiguous *leaf* (view of a no-grad base, then requires_grad_)."""
    p = make_pair(arr, layout, requires_grad=False)
    e, t = p.e, p.t
    if np.asarray(arr).dtype.kind == "f":
        e.requires_grad_(True)
        t.requires_grad_(True)
    return e, t


def upstream(rng, shape, dtype="float32"):
    """Random upstream gradient, same values for both libraries."""
    g = rng.standard_normal(size=tuple(shape)).astype(NP_DTYPES[dtype_name(dtype)])
    return to_ember(g), torch.tensor(g)


def backward_both(e_out, t_out, rng=None, seed=0):
    """Run backward on both outputs with the same random upstream gradient."""
    rng = rng if rng is not None else np.random.default_rng(seed)
    ge, gt = upstream(rng, tuple(t_out.shape), dtype_name(t_out.dtype))
    e_out.backward(ge)
    t_out.backward(gt)


def assert_grads_close(pairs, rtol=None, atol=None):
    for i, p in enumerate(pairs):
        if not p.t_leaf.requires_grad:
            continue
        tg = p.t_leaf.grad
        eg = p.e_leaf.grad
        if tg is None:
            assert eg is None or np.all(eg.numpy() == 0), (
                f"input {i}: ember grad where torch has none"
            )
            continue
        assert eg is not None, f"input {i}: ember grad is None, torch grad is not"
        assert_close(eg, tg, rtol, atol, msg=f"(grad of input {i}, layout {p.layout})")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# --------------------------------------------------------------------------
# same result or same exception type
# --------------------------------------------------------------------------


# The half types round each op's result to 8 or 11 significant bits: a value
# computed in a different order may land one unit in the last place away.
HALF_TOL = {"float16": (2e-3, 1e-3), "bfloat16": (1.6e-2, 1e-2)}


def np_of(t):
    return np.asarray(_to_numpy(t))


def dt(d):
    return repr(d).split(".")[-1]


def assert_same(e, t, rtol=1e-5, atol=1e-6):
    assert tuple(e.shape) == tuple(t.shape), (tuple(e.shape), tuple(t.shape))
    assert dt(e.dtype) == dt(t.dtype), (e.dtype, t.dtype)
    rtol, atol = HALF_TOL.get(dt(t.dtype), (rtol, atol))
    en, tn = np_of(e), np_of(t)
    if en.dtype.kind != "f":  # integers and bools exactly (allclose goes through float)
        np.testing.assert_array_equal(en, tn)
        return
    np.testing.assert_allclose(en, tn, rtol=rtol, atol=atol, equal_nan=True)
    # equal_nan does not check that NaN positions match infinities' signs: compare masks too
    if en.dtype.kind == "f":
        np.testing.assert_array_equal(np.isnan(en), np.isnan(tn))
        np.testing.assert_array_equal(np.isposinf(en), np.isposinf(tn))
        np.testing.assert_array_equal(np.isneginf(en), np.isneginf(tn))


def outcome(fn, lib):
    """(fn(lib), None), or (None, the exception it raised); warnings silenced."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(lib), None
    except Exception as exc:  # noqa: BLE001
        return None, exc


def same_error(fn, message=str):
    """fn(lib) raises the same exception type in both libraries, with the same
    message as `message` renders it (a normaliser for nondeterministic parts)."""
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(Exception) as e_err:
        fn(ember)
    assert type(e_err.value) is type(t_err.value), (e_err.value, t_err.value)
    assert message(e_err.value) == message(t_err.value)


def compare(fn, **kw):
    """Run fn in both libs; both must raise the same type, or both return equal tensors."""
    tv, te = outcome(fn, torch)
    ev, ee = outcome(fn, ember)
    if te is not None:
        assert ee is not None, f"ember returned {ev!r}; torch raised {type(te).__name__}: {te}"
        assert type(ee) is type(te), (
            f"ember raised {type(ee).__name__}: {ee}; torch raised {type(te).__name__}: {te}"
        )
        return
    assert ee is None, f"ember raised {type(ee).__name__}: {ee}; torch returned {tv!r}"
    if isinstance(tv, tuple):
        assert len(ev) == len(tv)
        for a, b in zip(ev, tv):
            assert_same(a, b, **kw)
    else:
        assert_same(ev, tv, **kw)


# --------------------------------------------------------------------------
# values and gradients to second order, the same way in both libraries
# --------------------------------------------------------------------------


def _as_input(lib, a):
    if isinstance(a, np.ndarray):
        t = lib.tensor(a)
        if a.dtype.kind == "f":
            t.requires_grad_(True)
        return t
    return a


def value_and_grads(lib, fn, arrays, *, second_order=True, seed=7):
    """fn(lib, *inputs), the gradients of its (first) output with respect to the
    float array inputs for a fixed random upstream gradient, and then the
    gradients of the sum of those gradients squared with respect to the same
    inputs and the upstream gradient (create_graph). Unused inputs count as
    zero gradients. Non-array arguments pass through unchanged."""
    inputs = [_as_input(lib, a) for a in arrays]
    out = fn(lib, *inputs)
    if isinstance(out, tuple):
        out = out[0]
    diff = [t for t, a in zip(inputs, arrays) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    up = np.random.default_rng(seed).standard_normal(tuple(out.shape))
    g = lib.tensor(up.astype(np.float64 if "64" in str(out.dtype) else np.float32))
    g.requires_grad_(second_order)
    firsts = lib.autograd.grad(out, diff, g, create_graph=second_order, allow_unused=True)
    firsts = [lib.zeros_like(t) if f is None else f for f, t in zip(firsts, diff)]
    result = [out.detach()] + [f.detach() for f in firsts]
    if second_order:
        total = sum((f * f).sum() for f in firsts if f.requires_grad)
        seconds = lib.autograd.grad(total, diff + [g], allow_unused=True)
        result += [
            lib.zeros_like(t) if s is None else s.detach() for s, t in zip(seconds, diff + [g])
        ]
    return result


def assert_grads_match(fn, arrays, *, second_order=True, rtol=1e-7, atol=1e-9):
    """value_and_grads agrees between ember and torch, element by element."""
    e = value_and_grads(ember, fn, arrays, second_order=second_order)
    t = value_and_grads(torch, fn, arrays, second_order=second_order)
    assert len(e) == len(t)
    for i, (a, b) in enumerate(zip(e, t)):
        assert_close(a, b, rtol=rtol, atol=atol, msg=f"(result {i})")
