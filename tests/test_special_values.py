"""Every unary op of the op table and every activation at NaN, infinities, signed
zeros, the largest and smallest floats and denormals: values and gradients
against torch. The few documented differences (docs/compatibility.md, "Values
at the edges") are checked to be exactly what the docs say.
"""

import ember
import numpy as np
import pytest
import torch

UNARY_NAMES = [e["name"] for e in ember._C._unary_op_table()]
ACTIVATIONS = [
    "relu6",
    "elu",
    "selu",
    "celu",
    "gelu",
    "mish",
    "softplus",
    "logsigmoid",
    "hardtanh",
    "hardsigmoid",
    "hardswish",
    "leaky_relu",
    "tanhshrink",
    "softsign",
    "softshrink",
    "hardshrink",
]


def special_values(dtype):
    info = np.finfo(dtype)
    denormal = info.smallest_subnormal
    values = [np.nan, np.inf, -np.inf, -0.0, 0.0, info.max, -info.max, info.tiny]
    return np.array(values + [denormal, -denormal, 1.0, -1.0], dtype=dtype)


def function(lib, name):
    if name in UNARY_NAMES:
        return lib.nn.functional.silu if name == "silu" else getattr(lib, name)
    return getattr(lib.nn.functional, name)


def value_and_gradient(lib, name, x):
    leaf = lib.tensor(x, requires_grad=True)
    y = function(lib, name)(leaf)
    y.backward(lib.ones_like(y))
    return y.detach().numpy(), leaf.grad.numpy()


# (dtype, op, input) -> (Ember's value, Ember's gradient), where Ember keeps
# the mathematically right result and torch's kernel does not:
#   - log1p of a denormal is the denormal (torch's kernel flushes it to 0);
#   - hardswish of the largest float, and float32 gelu of it, are that float
#     (torch's x * (x + 3) and x * (1 + ...) overflow to inf first);
#   - float64 hardtanh, relu6, hardshrink and softshrink pass the gradient at
#     NaN, as torch's float32 kernels do (torch's float64 kernels give 0).
F32_MAX = float(np.finfo(np.float32).max)
F64_MAX = float(np.finfo(np.float64).max)
DENORMALS = {t: float(np.finfo(t).smallest_subnormal) for t in ("float32", "float64")}
DOCUMENTED = {
    **{(t, "log1p", s * d): (s * d, 1.0) for t, d in DENORMALS.items() for s in (1, -1)},
    ("float32", "gelu", F32_MAX): (F32_MAX, 1.0),
    ("float32", "hardswish", F32_MAX): (F32_MAX, 1.0),
    ("float64", "hardswish", F64_MAX): (F64_MAX, 1.0),
    **{
        ("float64", op, "nan"): (np.nan, 1.0)
        for op in ("hardtanh", "relu6", "hardshrink", "softshrink")
    },
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", UNARY_NAMES + ACTIVATIONS)
def test_special_values_match_torch(name, dtype):
    x = special_values(dtype)
    e_value, e_grad = value_and_gradient(ember, name, x)
    t_value, t_grad = value_and_gradient(torch, name, x)
    dtype_name = np.dtype(dtype).name
    for i, xi in enumerate(x):
        key = (dtype_name, name, "nan" if np.isnan(xi) else float(xi))
        if key in DOCUMENTED:
            want_value, want_grad = DOCUMENTED[key]
            # the documented difference is real: torch's result is not Ember's
            assert not np.array_equal(
                [t_value[i], t_grad[i]], [want_value, want_grad], equal_nan=True
            )
        else:
            want_value, want_grad = t_value[i], t_grad[i]
        np.testing.assert_allclose(e_value[i], want_value, rtol=1e-6, atol=0, err_msg=f"x={xi}")
        np.testing.assert_allclose(e_grad[i], want_grad, rtol=1e-5, atol=0, err_msg=f"x={xi}")
