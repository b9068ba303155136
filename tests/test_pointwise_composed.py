"""Elementwise ops composed from other ops (fmax, ldexp, frexp, float_power,
gcd, heaviside, ...), logaddexp2, and torch's aliases, against torch."""

import math

import ember
import numpy as np
import pytest
import torch
from conftest import assert_grads_match, assert_same, compare, same_error
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

SPECIAL = np.array([1.5, -2.0, 0.0, -0.0, math.inf, -math.inf, math.nan, 3.0, 1e-30, 7.25])
INTS = ["uint8", "int8", "int16", "int32", "int64"]


def tensors(lib, *arrays, dtype="float64"):
    return [lib.tensor(np.asarray(a)).to(getattr(lib, dtype)) for a in arrays]


@pytest.mark.parametrize("name", ["fmax", "fmin"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool", "float16"])
def test_fmax_fmin_values_with_nan_and_broadcasting(name, dtype):
    a, b = SPECIAL, np.roll(SPECIAL, 3)
    compare(lambda lib: getattr(lib, name)(*tensors(lib, a, b, dtype=dtype)))
    compare(lambda lib: getattr(lib, name)(*tensors(lib, a.reshape(2, 5), b[:5], dtype=dtype)))
    compare(lambda lib: getattr(tensors(lib, a, dtype=dtype)[0], name)(tensors(lib, b)[0]))


@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin_gradients_go_whole_to_the_chosen_operand(name):
    # ties (index 1) go to the first operand, as torch's FmaxBackward0
    a = np.array([[1.0, 2.0, -3.0], [0.5, 4.0, 1.0]])
    b = np.array([0.0, 2.0, 5.0])
    assert_grads_match(lambda lib, x, y: getattr(lib, name)(x, y), [a, b])


def test_fmax_mixed_dtypes_promote():
    compare(lambda lib: lib.fmax(lib.tensor([1.5, -2.0]), lib.tensor([4, -6])))
    same_error(lambda lib: lib.fmax(lib.tensor([1.5]), 2.0))


@pytest.mark.parametrize("name", ["gcd", "lcm"])
@pytest.mark.parametrize("dtype", INTS)
def test_gcd_lcm_values(name, dtype):
    a = np.array([4, -6, 0, 12, 9, 0, 7])
    b = np.array([6, 4, 0, -18, 3, 5, 1])
    if dtype == "uint8":
        a, b = np.abs(a), np.abs(b)
    compare(lambda lib: getattr(lib, name)(*tensors(lib, a, b, dtype=dtype)))
    compare(lambda lib: getattr(lib, name + "_")(*tensors(lib, a, b, dtype=dtype)))


def test_gcd_promotes_and_refuses_floats_like_torch():
    compare(lambda lib: lib.gcd(lib.tensor([4], dtype=lib.uint8), lib.tensor([6], dtype=lib.int8)))
    for dtype in ("float32", "bool"):
        same_error(lambda lib: lib.gcd(*tensors(lib, [1, 2], [3, 4], dtype=dtype)))
        same_error(lambda lib: lib.lcm(*tensors(lib, [1, 2], [3, 4], dtype=dtype)))


@pytest.mark.parametrize(
    "dtypes", [("float32", "int64"), ("float64", "float64"), ("int64", "int32")]
)
def test_ldexp_values_and_dtypes(dtypes):
    x = np.array([1.5, -2.0, 0.0, 3.0, math.inf])
    n = np.array([1, 3, -2, 0, 2])
    compare(
        lambda lib: lib.ldexp(
            tensors(lib, x, dtype=dtypes[0])[0], tensors(lib, n, dtype=dtypes[1])[0]
        )
    )
    same_error(lambda lib: lib.ldexp(lib.tensor([1.0]), 2))


def test_ldexp_gradients():
    assert_grads_match(
        lambda lib, x, n: lib.ldexp(x, n), [np.array([1.5, -2.0, 0.25]), np.array([1.0, -2.0, 3.0])]
    )


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_frexp_values(dtype):
    x = np.array([1.5, -2.0, 0.0, -0.0, 3e-5, 1024.0, 0.75, -1e4])

    def parts(lib):
        return tuple(lib.frexp(tensors(lib, x, dtype=dtype)[0]))

    compare(parts)
    compare(lambda lib: tuple(tensors(lib, x, dtype=dtype)[0].frexp()))


def test_frexp_named_result_and_edges():
    x = ember.tensor([math.inf, -math.inf, math.nan, 3.4e38, 1e-45])
    t = torch.tensor([math.inf, -math.inf, math.nan, 3.4e38, 1e-45])
    e, tt = ember.frexp(x), torch.frexp(t)
    assert_same(e.mantissa, tt.mantissa)
    assert_same(e.exponent, tt.exponent)
    same_error(lambda lib: lib.frexp(lib.tensor([1, 2])))


def test_frexp_gradient_divides_by_the_power():
    assert_grads_match(lambda lib, x: lib.frexp(x)[0], [np.array([1.5, -20.0, 0.3])])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logaddexp2_values_and_infinities(dtype):
    a = np.array([1.0, -3.0, math.inf, -math.inf, math.nan, 100.0, -math.inf])
    b = np.array([2.0, -3.0, math.inf, -math.inf, 1.0, -100.0, 5.0])
    compare(lambda lib: lib.logaddexp2(*tensors(lib, a, b, dtype=dtype)))
    same_error(lambda lib: lib.logaddexp2(*tensors(lib, [1], [2], dtype="int64")))


def test_logaddexp2_gradients():
    assert_grads_match(
        lambda lib, a, b: lib.logaddexp2(a, b),
        [np.array([1.0, -3.0, 40.0]), np.array([[2.0], [0.5]])],
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: lib.float_power(x, 2),
        lambda lib, x: lib.float_power(x, 0.5),
        lambda lib, x: lib.float_power(x, x),
        lambda lib, x: lib.float_power(2, x),
        lambda lib, x: x.float_power(3),
    ],
)
def test_float_power_values_nodes_and_gradients(call):
    values = np.array([1.5, 2.0, 0.25])
    assert_grads_match(call, [values])
    e = call(ember, ember.tensor(values, dtype=ember.float32).requires_grad_(True))
    t = call(torch, torch.tensor(values, dtype=torch.float32).requires_grad_(True))
    assert e.dtype == ember.float64 and e.grad_fn.name() == t.grad_fn.name()


def test_float_power_of_integers_and_in_place():
    compare(lambda lib: lib.float_power(lib.tensor([2, 3]), 2))
    compare(lambda lib: lib.tensor([2.0, 3.0], dtype=lib.float64).float_power_(2))
    same_error(lambda lib: lib.tensor([2.0, 3.0]).float_power_(2))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_heaviside_values(dtype):
    x = np.array([-1.5, 0.0, 2.0, 0.0, -0.0])
    v = np.array([0.5, 0.25, 0.75, 1.0, 0.0])
    compare(lambda lib: lib.heaviside(*tensors(lib, x, v, dtype=dtype)))
    compare(lambda lib: tensors(lib, x, dtype=dtype)[0].heaviside_(tensors(lib, v, dtype=dtype)[0]))
    same_error(lambda lib: lib.heaviside(lib.tensor([1.0]), lib.tensor([1])))


@pytest.mark.parametrize("name", ["isposinf", "isneginf", "isreal"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool", "float16"])
def test_infinity_and_real_tests(name, dtype):
    x = SPECIAL if dtype.startswith("float") else np.array([1, 0, 3])
    compare(lambda lib: getattr(lib, name)(tensors(lib, x, dtype=dtype)[0]))
    compare(lambda lib: getattr(tensors(lib, x, dtype=dtype)[0], name)())


def test_fix_is_trunc():
    assert_grads_match(lambda lib, x: lib.fix(x), [np.array([1.5, -2.7, 0.2])], second_order=False)
    compare(lambda lib: lib.tensor([1.5, -2.7]).fix_())
    compare(lambda lib: lib.fix(lib.tensor([3, -4])))
    x = ember.tensor([1.5], requires_grad=True)
    assert x.fix().grad_fn.name() == "TruncBackward0"


def test_positive_returns_the_tensor_itself():
    x = ember.tensor([1.0, -2.0])
    assert ember.positive(x) is x and x.positive() is x
    same_error(lambda lib: lib.positive(lib.tensor([True])))


def test_negative_in_place():
    compare(lambda lib: lib.negative_(lib.tensor([1.0, -2.0])))
    compare(lambda lib: lib.tensor([1.0, -2.0]).negative_())


@pytest.mark.parametrize(
    "alias,name",
    [
        ("greater", "gt"),
        ("greater_equal", "ge"),
        ("less", "lt"),
        ("less_equal", "le"),
        ("not_equal", "ne"),
    ],
)
def test_comparison_aliases(alias, name):
    a, b = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0])
    compare(lambda lib: getattr(lib, alias)(*tensors(lib, a, b)))
    compare(lambda lib: getattr(tensors(lib, a)[0], alias)(1.5))
    compare(lambda lib: getattr(tensors(lib, a)[0], alias + "_")(tensors(lib, b)[0]))
    assert getattr(ember.Tensor, alias) is getattr(ember.Tensor, name)


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
        elements=st.floats(-50, 50),
    ),
    st.sampled_from(["fmax", "fmin", "logaddexp2", "ldexp"]),
)
def test_binary_composed_ops_over_shapes(values, name):
    other = np.round(values[..., ::-1] / 10)

    def run(lib):
        return getattr(lib, name)(lib.tensor(values), lib.tensor(other))

    compare(run)
