"""The activation table (leaky_relu, elu, softplus, hardtanh, ...) against torch.

Every call form below runs in both libraries on the same inputs: values at
the kinks, NaN and the infinities, gradients to second order, forward-mode
tangents, node names out of place and in place, narrow dtypes, and torch's
errors.
"""

import math

import ember
import ember.autograd.forward_ad as efw
import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

SPECIAL = [-math.inf, -3.0, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 3.0, 20.0, math.inf, math.nan]
# 64 elements: torch's vectorized kernels, not its scalar tail, see every value
# (Note [NaN in activation gradients]).
SPECIAL_64 = (SPECIAL * 5)[:64]


def F(lib):
    return lib.nn.functional


# name -> (call(lib, x), in-place call or None, the table op it runs, input range)
FORMS = {
    "leaky_relu": (lambda L, x: F(L).leaky_relu(x, 0.2), lambda L, x: F(L).leaky_relu_(x, 0.2)),
    "leaky_relu_default": (lambda L, x: F(L).leaky_relu(x), None),
    "elu": (lambda L, x: F(L).elu(x, 1.3), lambda L, x: F(L).elu(x, 1.3, inplace=True)),
    "elu_": (lambda L, x: F(L).elu_(x.clone()), lambda L, x: F(L).elu_(x)),
    "selu": (lambda L, x: F(L).selu(x), lambda L, x: F(L).selu(x, inplace=True)),
    "celu": (lambda L, x: F(L).celu(x, 0.7), lambda L, x: F(L).celu(x, 0.7, inplace=True)),
    "hardtanh": (
        lambda L, x: F(L).hardtanh(x, -0.8, 1.2),
        lambda L, x: F(L).hardtanh_(x, -0.8, 1.2),
    ),
    "relu6": (lambda L, x: F(L).relu6(x), lambda L, x: F(L).relu6(x, inplace=True)),
    "softplus": (lambda L, x: F(L).softplus(x), None),
    "softplus_beta": (lambda L, x: F(L).softplus(x, 2.0, 3.0), None),
    "hardsigmoid": (
        lambda L, x: F(L).hardsigmoid(x),
        lambda L, x: F(L).hardsigmoid(x, inplace=True),
    ),
    "hardswish": (lambda L, x: F(L).hardswish(x), lambda L, x: F(L).hardswish(x, inplace=True)),
    "mish": (lambda L, x: F(L).mish(x), lambda L, x: F(L).mish(x, inplace=True)),
    "logsigmoid": (lambda L, x: F(L).logsigmoid(x), None),
    "hardshrink": (lambda L, x: F(L).hardshrink(x, 0.3), None),
    "softshrink": (lambda L, x: F(L).softshrink(x, 0.4), None),
    "threshold": (
        lambda L, x: F(L).threshold(x, 0.1, -2.0),
        lambda L, x: F(L).threshold_(x, 0.1, -2.0),
    ),
    "logit": (lambda L, x: L.logit(x), lambda L, x: x.logit_()),
    "logit_eps": (lambda L, x: L.logit(x, 0.2), lambda L, x: x.logit_(eps=0.2)),
    "frac": (lambda L, x: L.frac(x), lambda L, x: x.frac_()),
    "nan_to_num": (lambda L, x: L.nan_to_num(x), lambda L, x: x.nan_to_num_()),
    "nan_to_num_args": (
        lambda L, x: x.nan_to_num(1.5, posinf=2.0, neginf=-3.0),
        lambda L, x: x.nan_to_num_(1.5, 2.0, -3.0),
    ),
}
IN_PLACE = sorted(name for name, (_, inplace) in FORMS.items() if inplace)


def domain(name):
    return (0.05, 0.95) if name.startswith("logit") else (-4.0, 4.0)


def both(values, dtype="float64", requires_grad=False):
    t = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=requires_grad)
    e = ember.tensor(values, dtype=getattr(ember, dtype), requires_grad=requires_grad)
    return t, e


def assert_same(e, t, rtol=1e-7, atol=1e-12):
    if t is None:
        assert e is None
        return
    assert e is not None
    np.testing.assert_allclose(
        e.float().numpy() if e.dtype in (ember.bfloat16,) else e.numpy(),
        t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy(),
        rtol=rtol,
        atol=atol,
        equal_nan=True,
    )


def smooth_points(name, n=40, seed=0):
    """Random points away from every kink (kinks sit at multiples of 0.05 here)."""
    lo, hi = domain(name)
    x = np.random.default_rng(seed).uniform(lo, hi, n)
    return (np.round(x / 0.05) * 0.05 + 0.0173).tolist()


def test_table_names_match_the_bound_node_classes():
    table = ember._C._activation_op_table()
    assert len(table) == len(ember._C._ActivationOp.__members__)
    for entry in table:
        assert getattr(ember._C, entry["node_name"]).__name__ == entry["node_name"]


@pytest.mark.parametrize("name", sorted(FORMS))
def test_values_and_gradients_at_kinks_nan_and_infinities(name):
    call = FORMS[name][0]
    t, e = both(SPECIAL_64, requires_grad=True)
    ty, ey = call(torch, t), call(ember, e)
    assert_same(ey.detach(), ty.detach())
    assert type(ey.grad_fn).__name__ == type(ty.grad_fn).__name__
    (tg,) = torch.autograd.grad(ty.sum(), t)
    (eg,) = ember.autograd.grad(ey.sum(), e)
    assert_same(eg, tg)


@pytest.mark.parametrize("name", sorted(FORMS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_tensor_matches_torch(name, dtype):
    """70k elements: the parallel and the chunked float32 kernels, forward and backward."""
    call = FORMS[name][0]
    lo, hi = domain(name)
    values = np.random.default_rng(1).uniform(lo - 1, hi + 1, 70_000)
    values[::997] = np.nan
    values[::1009] = np.inf
    t, e = both(values.tolist(), dtype, requires_grad=True)
    ty, ey = call(torch, t), call(ember, e)
    # float64: torch's elu takes exp(x) - 1 where Ember takes expm1 (1e-7 apart)
    tol = {"rtol": 2e-6, "atol": 1e-6} if dtype == "float32" else {"rtol": 1e-6}
    assert_same(ey.detach(), ty.detach(), **tol)
    weights = np.random.default_rng(2).normal(size=values.shape).tolist()
    tw, ew = both(weights, dtype)
    (tg,) = torch.autograd.grad(ty, t, tw)
    (eg,) = ember.autograd.grad(ey, e, ew)
    assert_same(eg, tg, **tol)


@pytest.mark.parametrize("name", sorted(FORMS))
def test_second_order_gradients_match_torch(name):
    call = FORMS[name][0]
    t, e = both(smooth_points(name), requires_grad=True)
    tv, ev = both(np.linspace(-1, 1, 40).tolist(), requires_grad=True)
    (tg,) = torch.autograd.grad(call(torch, t), t, tv, create_graph=True)
    (eg,) = ember.autograd.grad(call(ember, e), e, ev, create_graph=True)
    assert_same(eg.detach(), tg.detach())
    tw, ew = both(np.cos(np.arange(40.0)).tolist())
    e_second = ember.autograd.grad(eg, (e, ev), ew, allow_unused=True)
    if (
        name == "hardsigmoid"
    ):  # torch: "derivative for aten::hardsigmoid_backward is not implemented"
        inside = (t.detach().abs() < 3).double()
        t_second = (torch.zeros(40, dtype=torch.float64), tw * inside / 6)
    else:
        t_second = torch.autograd.grad(tg, (t, tv), tw, allow_unused=True)
    for es, ts in zip(e_second, t_second):
        assert_same(es, ts)


@pytest.mark.parametrize("name", sorted(FORMS))
def test_forward_mode_tangent_matches_torch(name):
    call = FORMS[name][0]
    points, tangent = smooth_points(name), np.sin(np.arange(40.0)).tolist()
    t, e = both(points)
    tt, et = both(tangent)
    with tfw.dual_level():
        t_tangent = tfw.unpack_dual(call(torch, tfw.make_dual(t, tt))).tangent
    with efw.dual_level():
        e_tangent = efw.unpack_dual(call(ember, efw.make_dual(e, et))).tangent
    assert_same(e_tangent, t_tangent)


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_form_records_torch_node_and_gradient(name):
    call, inplace = FORMS[name]
    t, e = both(SPECIAL[1:-2] + [0.6, 2.5], requires_grad=True)
    ty, ey = t * 1, e * 1
    t_out, e_out = inplace(torch, ty), inplace(ember, ey)
    assert e_out is ey
    assert type(e_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    assert_same(e_out.detach(), t_out.detach())
    weights = np.linspace(-1.0, 2.0, len(SPECIAL) - 1).tolist()
    tw, ew = both(weights)
    (tg,) = torch.autograd.grad(t_out, t, tw)
    (eg,) = ember.autograd.grad(e_out, e, ew)
    assert_same(eg, tg)


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_form_on_leaf_requiring_grad_is_refused(name):
    inplace = FORMS[name][1]
    x = ember.tensor([0.3, 0.6], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        inplace(ember, x)


@pytest.mark.parametrize("name", sorted(FORMS))
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_types_match_torch(name, dtype):
    call = FORMS[name][0]
    lo, hi = domain(name)
    values = np.linspace(lo, hi, 33).tolist() + [math.inf, -math.inf, math.nan]
    t, e = both(values, dtype)
    ty, ey = call(torch, t), call(ember, e)
    assert ey.dtype == getattr(ember, dtype)
    # torch rounds some intermediate steps to the half type (logit's x / (1 - x)),
    # Ember rounds once: a few units of the last place apart
    assert_same(ey, ty, rtol=3e-2 if dtype == "bfloat16" else 2e-3, atol=1e-3)


def test_non_contiguous_input_matches_torch():
    t, e = both(np.linspace(-4, 4, 24).reshape(4, 6).tolist())
    for name, (call, _) in FORMS.items():
        assert_same(call(ember, e.t()), call(torch, t.t())), name


def outcome(fn):
    try:
        out = fn()
    except Exception as exc:
        return type(exc).__name__, str(exc).split("\n")[0]
    return "ok", str(out.dtype).replace("torch.", "").replace("ember.", "")


@pytest.mark.parametrize("name", sorted(FORMS))
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_integer_and_bool_inputs_behave_like_torch(name, dtype):
    call = FORMS[name][0]
    t, e = both([0, 1, 2], dtype)
    assert outcome(lambda: call(ember, e)) == outcome(lambda: call(torch, t))
    if outcome(lambda: call(torch, t))[0] == "ok":
        assert_same(call(ember, e), call(torch, t))


@pytest.mark.parametrize(
    "call",
    [
        lambda L, x: F(L).hardtanh(x, 2.0, 1.0),
        lambda L, x: F(L).softshrink(x, -0.5),
        lambda L, x: F(L).celu(x, 0.0),
    ],
    ids=["hardtanh_bounds", "softshrink_negative", "celu_zero_alpha"],
)
def test_bad_arguments_raise_like_torch(call):
    t, e = both([0.5])
    assert outcome(lambda: call(ember, e)) == outcome(lambda: call(torch, t))


@pytest.mark.parametrize(
    "inplace",
    [
        lambda L, x: F(L).leaky_relu_(x, -0.1),
        lambda L, x: F(L).elu_(x, -0.5),
        lambda L, x: F(L).celu(x, -0.5, inplace=True),
    ],
    ids=["leaky_relu_", "elu_", "celu_"],
)
def test_in_place_negative_slope_fails_at_backward_like_torch(inplace):
    t, e = both([0.5, -0.5], requires_grad=True)
    t_out, e_out = inplace(torch, t * 1), inplace(ember, e * 1)
    assert type(e_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    with pytest.raises(RuntimeError, match="In-place") as t_err:
        t_out.sum().backward()
    with pytest.raises(RuntimeError, match="In-place") as e_err:
        e_out.sum().backward()
    assert str(t_err.value).startswith(str(e_err.value))


def test_modules_run_the_table():
    x = ember.linspace(-4, 4, 9, requires_grad=True)
    for module, node in [
        (ember.nn.LeakyReLU(0.2), "LeakyReluBackward0"),
        (ember.nn.ELU(), "EluBackward0"),
        (ember.nn.SELU(), "EluBackward0"),
        (ember.nn.CELU(), "CeluBackward0"),
        (ember.nn.Hardtanh(), "HardtanhBackward0"),
        (ember.nn.ReLU6(), "HardtanhBackward0"),
        (ember.nn.Softplus(), "SoftplusBackward0"),
        (ember.nn.Hardswish(), "HardswishBackward0"),
        (ember.nn.Mish(), "MishBackward0"),
        (ember.nn.LogSigmoid(), "LogSigmoidBackward0"),
        (ember.nn.Threshold(0.1, 2.0), "ThresholdBackward0"),
    ]:
        assert type(module(x).grad_fn).__name__ == node


def test_relu_and_silu_in_place_record_their_own_nodes():
    for lib in (torch, ember):
        x = lib.tensor([-1.0, 2.0], requires_grad=True)
        y = x * 1
        assert type(F(lib).relu(y, inplace=True).grad_fn).__name__ == "ReluBackward0"
        z = x * 1
        out = F(lib).silu(z, inplace=True)
        assert out is z and type(out.grad_fn).__name__ == "SiluBackward0"
        (g,) = lib.autograd.grad(out.sum(), x)
        np.testing.assert_allclose(g.detach().numpy(), [0.0723295, 1.0907842], rtol=1e-6)
