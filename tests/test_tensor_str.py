"""ember._tensor_str must print tensors exactly like PyTorch's repr.

Every check builds the same values as a torch tensor and as a numpy array,
and compares ``repr(torch_tensor)`` (with ``torch.`` replaced by ``ember.``)
to ``format_tensor(array, dtype=...)``. The module under test is loaded by
file path so that the compiled extension is not needed.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

torch = pytest.importorskip("torch")

_MODULE_PATH = Path(__file__).resolve().parent.parent / "python" / "ember" / "_tensor_str.py"


def _load_module():
    spec = importlib.util.spec_from_file_location("_ember_tensor_str_under_test", _MODULE_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ts = _load_module()

DTYPE_NAMES = {
    torch.float32: "float32",
    torch.float64: "float64",
    torch.float16: "float16",
    torch.int64: "int64",
    torch.int32: "int32",
    torch.int16: "int16",
    torch.int8: "int8",
    torch.uint8: "uint8",
    torch.bool: "bool",
}
NP_TO_TORCH = {
    np.dtype(np.float32): torch.float32,
    np.dtype(np.float64): torch.float64,
    np.dtype(np.int64): torch.int64,
    np.dtype(np.bool_): torch.bool,
}


def _hypo(max_examples: int):
    # database=None: keep no example database in the work tree.
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture(autouse=True)
def _default_print_options():
    torch.set_printoptions(profile="default")
    ts.set_printoptions(profile="default")
    yield
    torch.set_printoptions(profile="default")
    ts.set_printoptions(profile="default")


def _set_both(**opts):
    torch.set_printoptions(**opts)
    ts.set_printoptions(**opts)


def expected_repr(t) -> str:
    return repr(t).replace("torch.", "ember.")


def ember_repr(t, prefix: str = "tensor") -> str:
    grad_fn = type(t.grad_fn).__name__ if t.grad_fn is not None else None
    return ts.format_tensor(
        t.detach().numpy(),
        dtype=DTYPE_NAMES[t.dtype],
        requires_grad=t.requires_grad and t.grad_fn is None,
        grad_fn=grad_fn,
        tensor_type_prefix=prefix,
    )


def assert_same(t) -> None:
    assert ember_repr(t) == expected_repr(t)


def assert_same_array(arr: np.ndarray) -> None:
    t = torch.from_numpy(np.array(arr, copy=True))
    got = ts.format_tensor(arr, dtype=DTYPE_NAMES[t.dtype])
    assert got == expected_repr(t)


# ---------------------------------------------------------------------------
# Hand-picked cases
# ---------------------------------------------------------------------------

nan, inf = math.nan, math.inf


def _gen(seed: int = 0):
    return torch.Generator().manual_seed(seed)


def _randn(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=_gen(seed), dtype=dtype)


CASES = {
    # int mode / decimal mode / scientific mode
    "int_mode": lambda: torch.tensor([1.0, 2.0, 3.0]),
    "int_mode_negative": lambda: torch.tensor([-1.0, 20.0, -300.0]),
    "decimal": lambda: torch.tensor([0.1, 2.5, -3.25]),
    "sci_ratio": lambda: torch.tensor([1e-5, 1e3]),
    "sci_small": lambda: torch.tensor([5e-5, 6e-5]),
    "sci_large": lambda: torch.tensor([2e8, 3e8]),
    "sci_int_mode": lambda: torch.tensor([1e20, 1.0]),
    "not_sci_ratio_1000": lambda: torch.tensor([1.0, 1000.0]),
    "sci_ratio_1001": lambda: torch.tensor([1.0, 1001.0]),
    "boundary_1e8": lambda: torch.tensor([1e8, 2e7]),
    "boundary_1e-4": lambda: torch.tensor([1e-4, 2e-4], dtype=torch.float64),
    "float32_extremes": lambda: torch.tensor([3.4e38, 1e-45]),
    "denormal": lambda: torch.tensor([2.0**-140]),
    "big_and_small_mixed": lambda: torch.tensor([0.1, 12345678.9]),
    "rounding": lambda: torch.tensor([0.00005, 0.99995, 1.00005, 9.99995]),
    # special values
    "nan_inf": lambda: torch.tensor([nan, inf, -inf, -0.0, 1.0]),
    "nan_decimal": lambda: torch.tensor([nan, 1.5]),
    "nan_int": lambda: torch.tensor([nan, 1.0]),
    "inf_sci": lambda: torch.tensor([inf, 1e-7, 3.0]),
    "only_nan": lambda: torch.tensor([nan, nan]),
    "only_inf": lambda: torch.tensor([inf, -inf]),
    "neg_zero": lambda: torch.tensor([-0.0, 0.0]),
    "neg_zero_decimal": lambda: torch.tensor([-0.0, 0.5]),
    "zeros_2d": lambda: torch.zeros(3, 3),
    # 0-d
    "scalar_int_mode": lambda: torch.tensor(28.0),
    "scalar_decimal": lambda: torch.tensor(0.0374),
    "scalar_sci": lambda: torch.tensor(1.5e-9),
    "scalar_nan": lambda: torch.tensor(nan),
    "scalar_neg_inf": lambda: torch.tensor(-inf),
    "scalar_zero": lambda: torch.tensor(0.0),
    "scalar_int": lambda: torch.tensor(-7),
    "scalar_bool": lambda: torch.tensor(True),
    "scalar_f64": lambda: torch.tensor(3.5, dtype=torch.float64),
    # empty
    "empty": lambda: torch.tensor([]),
    "empty_0x3": lambda: torch.empty(0, 3),
    "empty_2x0x4_int": lambda: torch.empty(2, 0, 4, dtype=torch.int64),
    "empty_f64": lambda: torch.empty(0, dtype=torch.float64),
    "empty_int": lambda: torch.empty(0, dtype=torch.int64),
    "empty_bool": lambda: torch.empty(0, dtype=torch.bool),
    "empty_3x0_bool": lambda: torch.empty(3, 0, dtype=torch.bool),
    # ints and bools
    "ints": lambda: torch.tensor([1, -22, 333]),
    "int_extremes": lambda: torch.tensor([2**63 - 1, -(2**63)]),
    "int_matrix": lambda: torch.arange(-50, 50).reshape(10, 10) * 12345,
    "bools": lambda: torch.tensor([True, False]),
    "bools_true": lambda: torch.tensor([True, True]),
    "bool_matrix": lambda: torch.tensor([[True, False, True], [False, False, True]]),
    # shapes and wrapping
    "vector_100": lambda: _randn(100),
    "matrix_5x7": lambda: _randn(5, 7),
    "matrix_wide": lambda: _randn(3, 40),
    "cube": lambda: _randn(3, 4, 5),
    "hyper": lambda: _randn(2, 3, 2, 4),
    "singletons": lambda: _randn(1, 1, 1),
    "column": lambda: _randn(6, 1),
    "float64_large": lambda: _randn(30, dtype=torch.float64) * 1e10,
    "float64_precise": lambda: torch.tensor([1 / 3, 2 / 3], dtype=torch.float64),
    # summarization
    "arange_1000": lambda: torch.arange(1000),
    "arange_1001": lambda: torch.arange(1001),
    "arange_2000_float": lambda: torch.arange(2000.0),
    "matrix_50x50": lambda: _randn(50, 50),
    "matrix_3x1000": lambda: _randn(3, 1000),
    "matrix_1000x2": lambda: _randn(1000, 2),
    "cube_big": lambda: _randn(20, 30, 40) * 1e5,
    "four_d_big": lambda: _randn(7, 7, 7, 7),
    "summarized_bool": lambda: torch.arange(1500) % 3 == 0,
    "summarized_sci_hidden_middle": lambda: torch.cat(
        [torch.ones(3), torch.full((1000,), 1e-9), torch.ones(3)]
    ),
    "summarized_f64": lambda: _randn(40, 40, dtype=torch.float64),
    # non-default dtypes handled generically
    "float16": lambda: torch.tensor([1.0, 2.5, 65504.0], dtype=torch.float16),
    "int32": lambda: torch.tensor([1, -2], dtype=torch.int32),
    "uint8": lambda: torch.tensor([[0, 255]], dtype=torch.uint8),
    "int8_empty": lambda: torch.empty(0, dtype=torch.int8),
    # autograd suffixes
    "leaf_requires_grad": lambda: torch.tensor([1.0, 2.0], requires_grad=True),
    "leaf_f64_requires_grad": lambda: torch.tensor(
        [1.0, 2.0], dtype=torch.float64, requires_grad=True
    ),
    "grad_fn": lambda: torch.tensor([1.0, 2.0], requires_grad=True) * 2,
    "grad_fn_scalar": lambda: (torch.tensor([1.0, 2.0], requires_grad=True) ** 2).sum(),
    "grad_fn_f64_wraps": lambda: (
        torch.tensor([0.5] * 20, dtype=torch.float64, requires_grad=True) * 3
    ),
    "grad_fn_matrix_wraps": lambda: _randn(4, 11, dtype=torch.float64).requires_grad_() + 1,
    "grad_fn_empty": lambda: torch.empty(0, 3, requires_grad=True) + 1,
    "requires_grad_empty_f64": lambda: torch.empty(0, dtype=torch.float64, requires_grad=True),
    "grad_fn_summarized": lambda: torch.randn(2000, generator=_gen(1), requires_grad=True).exp(),
}

OPTIONS = {
    "default": {},
    "precision_2": {"precision": 2},
    "precision_0": {"precision": 0},
    "precision_8": {"precision": 8},
    "sci_on": {"sci_mode": True},
    "sci_off": {"sci_mode": False},
    "short": {"profile": "short"},
    "full": {"profile": "full"},
    "threshold_5": {"threshold": 5},
    "threshold_0": {"threshold": 0},
    "edgeitems_0": {"edgeitems": 0, "threshold": 5},
    "edgeitems_1": {"edgeitems": 1, "threshold": 10},
    "linewidth_40": {"linewidth": 40},
    "linewidth_10": {"linewidth": 10},
    "linewidth_200": {"linewidth": 200},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cases_default_options(name):
    assert_same(CASES[name]())


@pytest.mark.parametrize("opt_name", sorted(OPTIONS))
def test_cases_with_print_options(opt_name):
    _set_both(**OPTIONS[opt_name])
    mismatches = []
    for name, make in CASES.items():
        t = make()
        if ember_repr(t) != expected_repr(t):
            mismatches.append(name)
    assert mismatches == []


@pytest.mark.parametrize(
    ("values", "text"),
    [
        ([1.0, 2.0, 3.0], "tensor([1., 2., 3.])"),
        ([1e-5, 1e3], "tensor([1.0000e-05, 1.0000e+03])"),
        ([True, False], "tensor([ True, False])"),
    ],
)
def test_literal_examples(values, text):
    arr = np.array(values, dtype=np.bool_ if isinstance(values[0], bool) else np.float32)
    assert ts.format_tensor(arr, dtype=str(arr.dtype)) == text


def test_literal_suffix_order():
    arr = np.array([1.0, 2.0])
    got = ts.format_tensor(arr, dtype="float64", requires_grad=True)
    assert got == "tensor([1., 2.], dtype=ember.float64, requires_grad=True)"
    got = ts.format_tensor(arr, dtype="float64", requires_grad=True, grad_fn="AddBackward0")
    assert got == "tensor([1., 2.], dtype=ember.float64, grad_fn=<AddBackward0>)"


def test_literal_empty_and_scalar():
    assert ts.format_tensor(np.zeros((0,), np.float32), dtype="float32") == "tensor([])"
    assert (
        ts.format_tensor(np.zeros((0, 3), np.float32), dtype="float32") == "tensor([], size=(0, 3))"
    )
    assert (
        ts.format_tensor(np.zeros((0,), np.int64), dtype="int64") == "tensor([], dtype=ember.int64)"
    )
    assert ts.format_tensor(np.float32(28.0), dtype="float32") == "tensor(28.)"
    assert ts.format_tensor(np.float32(0.0374), dtype="float32") == "tensor(0.0374)"


def test_values_are_cast_to_dtype():
    # float64 data described as float32 prints as the float32 tensor would.
    data = np.array([0.1, 1 / 3])
    t = torch.tensor(data, dtype=torch.float32)
    assert ts.format_tensor(data, dtype="float32") == expected_repr(t)
    assert ts.format_tensor([1, 2], dtype="int64") == "tensor([1, 2])"


def test_custom_prefix():
    t = torch.tensor([[1.5, 2.0], [3.0, 4.0]], requires_grad=True)
    got = ember_repr(t, prefix="Parameter")
    assert got == (
        "Parameter([[1.5000, 2.0000],\n           [3.0000, 4.0000]], requires_grad=True)"
    )


# ---------------------------------------------------------------------------
# Print options state
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "calls",
    [
        [{}],
        [{"profile": "full"}],
        [{"profile": "short", "precision": 3}],
        [{"profile": "bogus"}],
        [{"sci_mode": True}, {"precision": 2}],
        [{"sci_mode": False, "linewidth": 50}],
        [{"threshold": 7, "edgeitems": 1}, {"profile": "default"}],
        [{"profile": "full"}, {"profile": "short"}],
    ],
)
def test_print_option_state(calls):
    for kwargs in calls:
        _set_both(**kwargs)
        assert ts.get_printoptions() == torch._tensor_str.get_printoptions()


def test_get_printoptions_roundtrip_and_context_manager():
    assert ts.get_printoptions() == {
        "precision": 4,
        "threshold": 1000,
        "edgeitems": 3,
        "linewidth": 80,
        "sci_mode": None,
    }
    ts.set_printoptions(precision=6, sci_mode=True)
    saved = ts.get_printoptions()
    with ts.printoptions(precision=1, threshold=3):
        assert ts.get_printoptions()["precision"] == 1
        assert ts.get_printoptions()["sci_mode"] is None
    assert ts.get_printoptions() == saved
    ts.set_printoptions(**saved)
    assert ts.get_printoptions() == saved


# ---------------------------------------------------------------------------
# format() / f-strings
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [28.0, 0.0374, -1.5e-9, nan, -inf, 0.1, 7, -3, 0, True, False],
)
@pytest.mark.parametrize("spec", ["", ".4f", ".2e", ">10", "+.3g", "08.3f", "%"])
def test_format_scalar_spec_matches_zero_dim(value, spec):
    if isinstance(value, int):  # int64 or bool
        t = torch.tensor(value)
    else:
        t = torch.tensor(value, dtype=torch.float32)
    try:
        expected = format(t, spec)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            ts.format_scalar_spec(t.item(), spec)
        with pytest.raises(type(exc)):
            ts.format_tensor_spec(t.numpy(), spec, dtype=DTYPE_NAMES[t.dtype])
        return
    assert ts.format_scalar_spec(t.item(), spec) == expected
    # numpy scalars are accepted too
    assert ts.format_scalar_spec(t.numpy()[()], spec) == expected
    assert ts.format_tensor_spec(t.numpy(), spec, dtype=DTYPE_NAMES[t.dtype]) == expected


@pytest.mark.parametrize(
    "make",
    [
        lambda: torch.tensor([28.0]),
        lambda: torch.tensor([1.0, 2.0]),
        lambda: torch.tensor([[1, 2]]),
        lambda: torch.tensor([1.0, 2.0], requires_grad=True) * 2,
    ],
)
def test_format_spec_on_non_scalar_tensor(make):
    t = make()
    grad_fn = type(t.grad_fn).__name__ if t.grad_fn is not None else None
    arr = t.detach().numpy()
    dtype = DTYPE_NAMES[t.dtype]
    # An empty spec gives str(t); any other spec is a TypeError in PyTorch,
    # even for a one-element tensor.
    assert f"{t}".replace("torch.", "ember.") == ts.format_tensor_spec(
        arr, "", dtype=dtype, grad_fn=grad_fn
    )
    with pytest.raises(TypeError, match="unsupported format string"):
        format(t, ".4f")
    with pytest.raises(TypeError, match="unsupported format string passed to Tensor"):
        ts.format_tensor_spec(arr, ".4f", dtype=dtype, grad_fn=grad_fn)


# ---------------------------------------------------------------------------
# Property-based comparison
# ---------------------------------------------------------------------------

DTYPES = [np.float32, np.float64, np.int64, np.bool_]


def _magnitude_floats(width: int):
    """Floats spread over many magnitudes, including specials."""
    exact = st.floats(width=width, allow_nan=True, allow_infinity=True)
    scaled = st.builds(
        lambda m, e, s: s * m * 10.0**e,
        st.sampled_from([1.0, 1.5, 2.0, 3.14159, 9.99995, 12345.678, 0.5]),
        st.integers(-12, 12),
        st.sampled_from([1.0, -1.0]),
    )
    whole = st.integers(-(10**6), 10**6).map(float)
    return st.one_of(exact, scaled, whole, st.sampled_from([0.0, -0.0, nan, inf, -inf]))


def _elements(dtype):
    if dtype is np.float32:
        return _magnitude_floats(32).map(lambda v: float(np.float32(v)))
    if dtype is np.float64:
        return _magnitude_floats(64)
    if dtype is np.int64:
        return st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-1000, 1000))
    return st.booleans()


@st.composite
def small_arrays(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6))
    with np.errstate(over="ignore"):
        return draw(hnp.arrays(dtype, shape, elements=_elements(dtype), unique=False))


@st.composite
def print_options(draw):
    opts = {}
    if draw(st.booleans()):
        opts["profile"] = draw(st.sampled_from(["default", "short", "full"]))
    if draw(st.booleans()):
        opts["precision"] = draw(st.integers(0, 10))
    if draw(st.booleans()):
        opts["threshold"] = draw(st.integers(0, 60))
    if draw(st.booleans()):
        opts["edgeitems"] = draw(st.integers(0, 4))
    if draw(st.booleans()):
        opts["linewidth"] = draw(st.integers(10, 160))
    opts["sci_mode"] = draw(st.sampled_from([None, None, True, False]))
    return opts


@_hypo(300)
@given(arr=small_arrays())
def test_hypothesis_small_arrays(arr):
    assert_same_array(arr)


@_hypo(200)
@given(arr=small_arrays(), opts=print_options())
def test_hypothesis_small_arrays_with_options(arr, opts):
    _set_both(**opts)
    try:
        assert_same_array(arr)
    finally:
        _set_both(profile="default")


@st.composite
def threshold_arrays(draw):
    """Arrays whose size is close to the summarization threshold (1000)."""
    dtype = draw(st.sampled_from(DTYPES))
    total = draw(st.sampled_from([998, 999, 1000, 1001, 1002, 1024, 1500, 3000]))
    ndim = draw(st.integers(1, 4))
    # factor total into ndim sides (some sides may be 1)
    shape = []
    rest = total
    for _ in range(ndim - 1):
        divisors = [d for d in range(1, min(rest, 40) + 1) if rest % d == 0]
        side = draw(st.sampled_from(divisors))
        shape.append(side)
        rest //= side
    shape.append(rest)
    shape = draw(st.permutations(shape))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["normal", "wide", "integers", "specials"]))
    if dtype is np.bool_:
        return rng.random(total).reshape(shape) < 0.5
    if dtype is np.int64:
        scale = 10 ** draw(st.integers(0, 18))
        return rng.integers(-scale, scale, size=total, endpoint=True).reshape(shape)
    if kind == "normal":
        data = rng.standard_normal(total)
    elif kind == "wide":
        data = rng.standard_normal(total) * 10.0 ** rng.integers(-20, 20, total)
    elif kind == "integers":
        data = rng.integers(-1000, 1000, total).astype(np.float64)
    else:
        data = rng.standard_normal(total)
        picks = rng.integers(0, total, 10)
        data[picks] = rng.choice([nan, inf, -inf, 0.0, -0.0, 1e30], 10)
    return data.astype(dtype).reshape(shape)


@_hypo(60)
@given(arr=threshold_arrays(), edge=st.sampled_from([None, None, 1, 2, 5]))
def test_hypothesis_around_threshold(arr, edge):
    if edge is not None:
        _set_both(edgeitems=edge)
    try:
        assert_same_array(arr)
    finally:
        _set_both(profile="default")


class AVeryLongCustomIdentityFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad


# grad_fn name -> identity operation that produces it on a float64 leaf
GRAD_FN_OPS = {
    None: lambda x: x,
    "AddBackward0": lambda x: x + (-0.0),  # identity, keeps -0.0
    "MulBackward0": lambda x: x * 1,
    "AVeryLongCustomIdentityFunctionBackward": AVeryLongCustomIdentityFunction.apply,
}


@_hypo(150)
@given(
    arr=small_arrays(),
    requires_grad=st.booleans(),
    grad_fn=st.sampled_from(sorted(GRAD_FN_OPS, key=str)),
    linewidth=st.sampled_from([None, 30, 80]),
)
def test_hypothesis_suffix_wrapping(arr, requires_grad, grad_fn, linewidth):
    """dtype / requires_grad / grad_fn suffixes, including their wrapping."""
    if linewidth is not None:
        _set_both(linewidth=linewidth)
    try:
        data = np.asarray(arr, dtype=np.float64)
        t = torch.from_numpy(data.copy())
        if requires_grad or grad_fn:
            t = GRAD_FN_OPS[grad_fn](t.requires_grad_())
        assert (type(t.grad_fn).__name__ if t.grad_fn else None) == grad_fn
        got = ts.format_tensor(
            data,
            dtype="float64",
            requires_grad=t.requires_grad and grad_fn is None,
            grad_fn=grad_fn,
        )
        assert got == expected_repr(t)
    finally:
        _set_both(profile="default")
