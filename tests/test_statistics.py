"""cov, corrcoef, quantile/nanquantile, aminmax and trapezoid rules against torch:
values, gradients to second order, node names of the last step, errors."""

import math
import warnings

import ember
import numpy as np
import pytest
import torch
from conftest import assert_grads_match, compare, same_error
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

RNG = np.random.default_rng(5)
X = RNG.uniform(-2, 2, size=(3, 6))
V = RNG.uniform(-2, 2, size=7)
INTERPOLATIONS = ["linear", "lower", "higher", "midpoint", "nearest"]


def last_node(fn, *arrays):
    """The grad_fn name fn's result has in each library."""
    names = []
    for lib in (ember, torch):
        inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = fn(lib, *inputs)
        out = out[0] if isinstance(out, tuple) else out
        names.append(out.grad_fn.name())
    return names


# ----------------------------------------------------------------- cov, corrcoef


@pytest.mark.parametrize("correction", [0, 1, 2])
@pytest.mark.parametrize("values", [X, V, X[:1]])
def test_cov_values_and_gradients(values, correction):
    assert_grads_match(lambda lib, x: lib.cov(x, correction=correction), [values])


def test_cov_with_frequency_and_analytic_weights():
    fw = np.array([1, 2, 0, 3, 1, 1])
    aw = np.array([0.5, 1.0, 2.0, 0.25, 1.5, 1.0])

    def weighted(lib, x, a):
        return lib.cov(x, fweights=lib.tensor(fw), aweights=a)

    assert_grads_match(weighted, [X, aw])
    assert_grads_match(lambda lib, x: lib.cov(x, correction=0, fweights=lib.tensor(fw)), [X])
    assert_grads_match(lambda lib, x, a: lib.cov(x, aweights=a), [X, aw])


def test_cov_of_integers_is_float():
    compare(lambda lib: lib.cov(lib.tensor([[1, 2, 3], [2, 3, 5]])))
    compare(lambda lib: lib.tensor([[1.0, 2.0, 4.0]], dtype=lib.float64).cov())


def test_cov_warns_for_no_degrees_of_freedom():
    for lib in (ember, torch):
        with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
            lib.cov(lib.ones(3, 1))
    compare(lambda lib: lib.cov(lib.tensor([[1.0], [2.0]])))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.cov(lib.ones(2, 2, 2)),
        lambda lib: lib.cov(lib.ones(3, 4), fweights=lib.ones(4)),
        lambda lib: lib.cov(lib.ones(3, 4), fweights=lib.ones(4, 1, dtype=lib.int64)),
        lambda lib: lib.cov(lib.ones(3, 4), fweights=lib.ones(3, dtype=lib.int64)),
        lambda lib: lib.cov(lib.ones(3, 4), fweights=-lib.ones(4, dtype=lib.int64)),
        lambda lib: lib.cov(lib.ones(3, 4), aweights=lib.ones(4, dtype=lib.int64)),
        lambda lib: lib.cov(lib.ones(3, 4), aweights=-lib.ones(4)),
        lambda lib: lib.cov(lib.ones(3, 4), aweights=lib.ones(3)),
        lambda lib: lib.corrcoef(lib.ones(2, 2, 2)),
    ],
)
def test_cov_errors_like_torch(call):
    same_error(call)


@pytest.mark.parametrize("values", [X, V[None], X[:2]])
def test_corrcoef_values_gradients_and_node(values):
    assert_grads_match(lambda lib, x: lib.corrcoef(x), [values], rtol=1e-6, atol=1e-8)
    e, t = last_node(lambda lib, x: lib.corrcoef(x), values)
    assert e == t == ("DivBackward0" if len(values) == 1 else "ClampBackward1")


def test_corrcoef_of_one_variable():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(lambda lib: lib.corrcoef(lib.tensor(V)))
        compare(lambda lib: lib.corrcoef(lib.tensor(2.0)))


def test_cov_node_is_torchs():
    e, t = last_node(lambda lib, x: lib.cov(x), X)
    assert e == t == "SqueezeBackward0"


# ----------------------------------------------------------------- quantile


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize(
    "q, dim, keepdim",
    [
        (0.3, None, False),
        (0.5, 1, False),
        ([0.0, 0.25, 0.5, 1.0], 0, True),
        ([0.1, 0.9], None, True),
        (0.125, -1, True),
    ],
)
def test_quantile_values_and_gradients(name, interpolation, q, dim, keepdim):
    def run(lib, x):
        qs = lib.tensor(q, dtype=x.dtype) if isinstance(q, list) else q
        return getattr(lib, name)(x, qs, dim, keepdim, interpolation=interpolation)

    assert_grads_match(run, [X])


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_quantile_ties_and_exact_halves(interpolation):
    # ranks of exactly .5 test nearest's rounding; repeated values test the gradient's split
    values = np.array([[1.0, 2.0, 2.0, 5.0], [3.0, 3.0, 3.0, 0.0]])

    def run(lib, x):
        q = lib.tensor([1 / 6, 0.5, 5 / 6], dtype=x.dtype)
        return lib.quantile(x, q, dim=1, interpolation=interpolation)

    assert_grads_match(run, [values])


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_quantile_with_nans(name, interpolation):
    values = np.array([[1.0, math.nan, 3.0, 0.5], [math.nan] * 4, [4.0, 2.0, 1.0, 3.0]])

    def run(lib):
        x = lib.tensor(values)
        q = lib.tensor([0.2, 0.5, 1.0], dtype=x.dtype)
        return getattr(lib, name)(x, q, dim=1, interpolation=interpolation)

    compare(run)
    compare(lambda lib: getattr(lib, name)(lib.tensor(values), 0.4, interpolation=interpolation))


def test_quantile_method_and_zero_dim_forms():
    compare(lambda lib: lib.tensor(V).quantile(0.3))
    compare(lambda lib: lib.tensor(V).nanquantile(lib.tensor(0.3, dtype=lib.float64)))
    compare(lambda lib: lib.quantile(lib.tensor(2.0), 0.3))
    compare(lambda lib: lib.quantile(lib.tensor(2.0), 0.3, dim=0, keepdim=True))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.quantile(lib.tensor([1, 2]), 0.5),
        lambda lib: lib.quantile(lib.tensor([]), 0.5),
        lambda lib: lib.quantile(lib.ones(5), 1.5),
        lambda lib: lib.quantile(lib.ones(5), lib.tensor([1.5])),
        lambda lib: lib.quantile(lib.ones(5), lib.tensor([[0.5]])),
        lambda lib: lib.quantile(lib.ones(5), lib.tensor([0.5], dtype=lib.float64)),
        lambda lib: lib.quantile(lib.ones(5), 0.5, interpolation="foo"),
        lambda lib: lib.quantile(lib.ones(3, 4), 0.5, dim=3),
        lambda lib: lib.nanquantile(lib.ones(0, 3), 0.5, dim=1),
    ],
)
def test_quantile_errors_like_torch(call):
    same_error(call)


@given(
    hnp.arrays(
        np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), elements=st.floats(-9, 9)
    ),
    st.floats(0, 1),
    st.sampled_from(INTERPOLATIONS),
    st.booleans(),
)
def test_quantile_over_shapes(values, q, interpolation, keepdim):
    dim = values.ndim - 1
    compare(
        lambda lib: lib.quantile(lib.tensor(values), q, dim, keepdim, interpolation=interpolation)
    )


# ----------------------------------------------------------------- aminmax


@pytest.mark.parametrize("kwargs", [{}, {"dim": 0}, {"dim": 1, "keepdim": True}, {"keepdim": True}])
def test_aminmax_values_and_gradients_with_ties(kwargs):
    values = np.array([[1.0, 3.0, 3.0], [-2.0, -2.0, 0.5]])

    def both_ends(lib, x):
        low, high = lib.aminmax(x, **kwargs)
        return low * 2 + high

    assert_grads_match(both_ends, [values])


@pytest.mark.parametrize("dtype", ["bool", "int64", "uint8", "float16"])
def test_aminmax_dtypes_and_named_fields(dtype):
    def run(lib):
        x = lib.tensor([[1, 0, 3], [2, 0, 1]]).to(getattr(lib, dtype))
        result = x.aminmax(dim=1)
        return result.min, result.max

    compare(run)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.aminmax(lib.tensor([])),
        lambda lib: lib.aminmax(lib.ones(0, 3), dim=0),
        lambda lib: lib.aminmax(lib.ones(2, 3), dim=2),
    ],
)
def test_aminmax_errors_like_torch(call):
    same_error(call)


def test_aminmax_over_an_empty_kept_dim():
    compare(lambda lib: tuple(lib.aminmax(lib.ones(0, 3), dim=1)))
    compare(lambda lib: tuple(lib.aminmax(lib.tensor(2.0), dim=0)))


# ----------------------------------------------------------------- trapezoid


@pytest.mark.parametrize("name", ["trapezoid", "trapz", "cumulative_trapezoid"])
@pytest.mark.parametrize("dim", [-1, 0])
def test_trapezoid_rules_with_spacing(name, dim):
    assert_grads_match(lambda lib, y: getattr(lib, name)(y, dim=dim), [X])
    assert_grads_match(lambda lib, y: getattr(lib, name)(y, dx=0.5, dim=dim), [X])


@pytest.mark.parametrize("name", ["trapezoid", "trapz", "cumulative_trapezoid"])
def test_trapezoid_rules_with_sample_points(name):
    xs = np.array([0.0, 0.5, 1.5, 2.0, 4.0, 4.5])
    assert_grads_match(lambda lib, y, x: getattr(lib, name)(y, x), [X, xs])
    assert_grads_match(lambda lib, y, x: getattr(lib, name)(y, x), [X, X * 2])
    assert_grads_match(lambda lib, y, x: getattr(lib, name)(y, x, dim=0), [X, xs[:3]])


def test_trapezoid_nodes():
    # torch ends trapezoid with mul.Scalar (MulBackward1), Ember with MulBackward0
    # (docs/compatibility.md); the cumulative rule ends with the same cumsum
    assert last_node(lambda lib, y: lib.trapezoid(y), V) == ["MulBackward0", "MulBackward1"]
    e, t = last_node(lambda lib, y: lib.cumulative_trapezoid(y), V)
    assert e == t == "CumsumBackward0"


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.trapezoid(lib.tensor([1, 2, 4])),
        lambda lib: lib.trapezoid(lib.tensor([1, 2, 4]), dx=2),
        lambda lib: lib.trapezoid(lib.tensor([1, 2, 4]), lib.tensor([1, 2, 5])),
        lambda lib: lib.trapezoid(lib.ones(2, 0)),
        lambda lib: lib.trapezoid(lib.ones(2, 1)),
        lambda lib: lib.trapezoid(lib.ones(2, 3), dx=lib.tensor(0.5)),
        lambda lib: lib.cumulative_trapezoid(lib.ones(2, 0)),
        lambda lib: lib.cumulative_trapezoid(lib.tensor([1, 2, 4])),
    ],
)
def test_trapezoid_edge_forms(call):
    compare(call)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.trapezoid(lib.ones(3), lib.ones(4)),
        lambda lib: lib.trapezoid(lib.tensor(2.0)),
        lambda lib: lib.trapezoid(lib.ones(2, 3), dim=5),
        lambda lib: lib.cumulative_trapezoid(lib.tensor(2.0)),
    ],
)
def test_trapezoid_errors_like_torch(call):
    same_error(call)


# ---- std_mean / var_mean / dist: one node each ----

SPREAD_FORMS = [
    {},
    {"dim": 1},
    {"dim": (0, 1), "keepdim": True},
    {"dim": -1, "correction": 0},
    {"dim": 0, "unbiased": False, "keepdim": True},
    {"dim": (1, 0), "correction": 2},
]


@pytest.mark.parametrize("name", ["std_mean", "var_mean"])
@pytest.mark.parametrize("kwargs", SPREAD_FORMS, ids=str)
def test_spread_and_mean_values_gradients_and_node_like_torch(name, kwargs):
    def both_outputs(L, x):
        spread, mean = getattr(L, name)(x, **kwargs)
        return L.cat([(spread * 2).reshape(-1), (mean * 3).reshape(-1)])

    assert_grads_match(both_outputs, [X])
    for take in (0, 1):  # the gradient of each output alone
        assert_grads_match(lambda L, x: getattr(L, name)(x, **kwargs)[take], [X])
    nodes = [last_node(lambda L, x: getattr(L, name)(x, **kwargs)[k], X) for k in (0, 1)]
    node = {"std_mean": "StdMeanBackward0", "var_mean": "VarMeanBackward0"}[name]
    assert nodes == [[node, node]] * 2


def test_spread_and_mean_share_one_node_and_free_it_like_torch():
    for lib in (ember, torch):
        spread, mean = lib.std_mean(lib.tensor(X, requires_grad=True), 1)
        assert spread.grad_fn is mean.grad_fn
        assert type(spread.grad_fn).__name__ == "StdMeanBackward0"

    def twice(L):
        s, m = L.var_mean(L.tensor(X, requires_grad=True), 1)
        (s + m).sum().backward()
        (s + m).sum().backward()

    same_error(twice)


def test_spread_and_mean_errors_like_torch():
    same_error(lambda L: L.std_mean(L.ones(3, dtype=L.int64)))
    same_error(lambda L: L.var_mean(L.ones(3, dtype=L.int64), 0))
    same_error(lambda L: L.var_mean(L.ones(3), 2))
    compare(lambda L: L.std_mean(L.zeros(3, requires_grad=True)))  # std 0: gradient 0


@pytest.mark.parametrize("p", [2, 1, 3.5, 0, float("inf"), -float("inf")])
def test_dist_values_gradients_and_node_like_torch(p):
    a, b = X, RNG.uniform(-2, 2, size=(6,))
    if p == 0:  # torch's backward gives self no gradient and raises for other
        compare(lambda L: L.dist(L.tensor(a), L.tensor(b), p))
    else:
        # torch's second derivatives of the 1- and inf-norms are ZeroTensors
        second = p not in (1, float("inf"), -float("inf"))
        for pair in ([a, b], [a, a[::-1].copy()]):
            assert_grads_match(lambda L, x, y: L.dist(x, y, p), pair, second_order=second)
            assert_grads_match(lambda L, x, y: x.dist(y, p=p), pair, second_order=second)
    assert last_node(lambda L, x: L.dist(x, x.flip(0) * 2, p), X) == ["DistBackward0"] * 2


def test_dist_errors_and_dtypes_like_torch():
    same_error(lambda L: L.dist(L.ones(3, dtype=L.int64), L.ones(3, dtype=L.int64)))
    same_error(lambda L: L.dist(L.ones(3), L.ones(2)))
    compare(lambda L: L.dist(L.ones(3), L.zeros(3, dtype=L.float64), 3))
