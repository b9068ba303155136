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
    if name.startswith("special_"):
        return getattr(lib.special, name.removeprefix("special_"))
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
F32_MAX = float(np.finfo(np.float32).max)
DENORMALS = {t: float(np.finfo(t).smallest_subnormal) for t in ("float32", "float64")}
INF = float("inf")
I0E_AT_F32_MAX = float(np.float32(1 / np.sqrt(2 * np.pi * F32_MAX)))  # I1e there too, to float
DOCUMENTED = {
    **{(t, "log1p", s * d): (s * d, 1.0) for t, d in DENORMALS.items() for s in (1, -1)},
    # I0 and I1 at +-inf are +-inf (torch's kernels give NaN), with gradients
    # I1(+-inf) and I0(+-inf) - I1(x)/x
    **{(t, "i0", s * INF): (INF, s * INF) for t in DENORMALS for s in (1, -1)},
    **{(t, "special_i1", s * INF): (s * INF, float("nan")) for t in DENORMALS for s in (1, -1)},
    # the float32 gradients of i0e and i1e at the largest float are differences
    # of two equal float results here (0; the true value underflows), of two
    # results an ulp apart in torch
    **{("float32", "special_i0e", s * F32_MAX): (I0E_AT_F32_MAX, 0.0) for s in (1, -1)},
    **{("float32", "special_i1e", s * F32_MAX): (s * I0E_AT_F32_MAX, 0.0) for s in (1, -1)},
}
# torch's AVX-512 kernels (picked by torch on CPUs that have AVX-512) differ
# from its default AVX2 ones, which Ember's values follow on every CPU: float32
# gelu of the largest float overflows to inf, and gelu(+inf) is NaN
# (Note [GELU at infinity]).
if torch.backends.cpu.get_cpu_capability().startswith("AVX512"):
    DOCUMENTED[("float32", "gelu", F32_MAX)] = (F32_MAX, 1.0)
    DOCUMENTED[("float32", "gelu", np.inf)] = (np.inf, np.nan)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", UNARY_NAMES + ACTIVATIONS)
def test_special_values_match_torch(name, dtype):
    # 64 elements: torch's vectorized kernels see every value, not its scalar
    # tail, which differs at NaN (Note [NaN in activation gradients])
    x = np.resize(special_values(dtype), 64)
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


# ----------------------------------------------------------------- binary ops and losses

EDGE_VALUES = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -2.5, 3e38, 1e-40]


def _pairs(lib, dtype):
    a = [x for x in EDGE_VALUES for _ in EDGE_VALUES]
    b = [y for _ in EDGE_VALUES for y in EDGE_VALUES]
    t = getattr(lib, dtype)
    return lib.tensor(a, dtype=t, requires_grad=True), lib.tensor(b, dtype=t, requires_grad=True)


def _square(x):
    return x.reshape(9, 9)


F = "nn.functional"
# Every pair of edge values through each op: values and both gradients as torch's.
# Left out, with the differences in docs/compatibility.md ("Values at the edges"):
# cumprod with both an infinity and a zero in a line, and float32 atan2 and
# remainder at denormals.
BINARY_EDGE_OPS = {
    "add": lambda L, a, b: a + b,
    "sub": lambda L, a, b: a - b,
    "mul": lambda L, a, b: a * b,
    "div": lambda L, a, b: a / b,
    "pow": lambda L, a, b: a**b,
    "maximum": lambda L, a, b: L.maximum(a, b),
    "minimum": lambda L, a, b: L.minimum(a, b),
    "xlogy": lambda L, a, b: L.xlogy(a, b),
    "hypot": lambda L, a, b: L.hypot(a, b),
    "logaddexp": lambda L, a, b: L.logaddexp(a, b),
    "logaddexp2": lambda L, a, b: L.logaddexp2(a, b),
    "clamp_min_tensor": lambda L, a, b: L.clamp(a, min=b),
    "where": lambda L, a, b: L.where(a > b, a, b),
    "lerp": lambda L, a, b: L.lerp(a, b, 0.3),
    "mse_loss": lambda L, a, b: L.nn.functional.mse_loss(a, b, reduction="none"),
    "l1_loss": lambda L, a, b: L.nn.functional.l1_loss(a, b, reduction="none"),
    "smooth_l1_loss": lambda L, a, b: L.nn.functional.smooth_l1_loss(a, b, reduction="none"),
    "huber_loss": lambda L, a, b: L.nn.functional.huber_loss(a, b, reduction="none"),
    "bce_with_logits": lambda L, a, b: L.nn.functional.binary_cross_entropy_with_logits(
        a, b, reduction="none"
    ),
    "kl_div": lambda L, a, b: L.nn.functional.kl_div(a, b, reduction="none"),
    "kl_div_log_target": lambda L, a, b: L.nn.functional.kl_div(
        a, b, reduction="none", log_target=True
    ),
    "poisson_nll": lambda L, a, b: L.nn.functional.poisson_nll_loss(a, b, reduction="none"),
    "poisson_nll_rates": lambda L, a, b: L.nn.functional.poisson_nll_loss(
        a, b, log_input=False, reduction="none"
    ),
    "margin_ranking": lambda L, a, b: L.nn.functional.margin_ranking_loss(
        a, b, L.ones_like(a), reduction="none"
    ),
    "cosine_similarity": lambda L, a, b: L.nn.functional.cosine_similarity(
        _square(a), _square(b), dim=1
    ),
    "pairwise_distance": lambda L, a, b: L.nn.functional.pairwise_distance(_square(a), _square(b)),
    "dist": lambda L, a, b: L.dist(a, b),
    "dot": lambda L, a, b: L.dot(a, b),
    "sum": lambda L, a, b: (a * b).sum(),
    "mean": lambda L, a, b: (a + b).mean(),
    "std": lambda L, a, b: (a + b).std(),
    "softmax": lambda L, a, b: _square(a + b).softmax(1),
    "log_softmax": lambda L, a, b: _square(a + b).log_softmax(1),
    "logsumexp": lambda L, a, b: _square(a + b).logsumexp(1),
    "norm": lambda L, a, b: _square(a * b).norm(dim=1),
    "cross_entropy": lambda L, a, b: L.nn.functional.cross_entropy(
        _square(a + b), L.arange(9), reduction="none"
    ),
    "nll_loss": lambda L, a, b: L.nn.functional.nll_loss(
        _square(a + b), L.arange(9), reduction="none"
    ),
    "max": lambda L, a, b: _square(a + b).max(1).values,
    "amax": lambda L, a, b: _square(a + b).amax(1),
    "cumsum": lambda L, a, b: (a + b).cumsum(0),
    "prod": lambda L, a, b: _square(a * b).prod(1),
    "layer_norm": lambda L, a, b: L.nn.functional.layer_norm(_square(a + b), (9,)),
    "matmul": lambda L, a, b: _square(a) @ _square(b),
}


def _edge_run(lib, name, dtype):
    a, b = _pairs(lib, dtype)
    out = BINARY_EDGE_OPS[name](lib, a, b)
    grads = lib.autograd.grad(out, (a, b), lib.ones_like(out), allow_unused=True)
    return [out.detach().numpy()] + [g.numpy() if g is not None else None for g in grads]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(BINARY_EDGE_OPS))
def test_binary_ops_and_losses_at_edge_values_match_torch(name, dtype):
    for e, t in zip(_edge_run(ember, name, dtype), _edge_run(torch, name, dtype)):
        assert (e is None) == (t is None)
        if t is not None:
            np.testing.assert_allclose(e, t, rtol=1e-5, atol=0, equal_nan=True)
            np.testing.assert_array_equal(np.isnan(e), np.isnan(t))
