"""Signal windows, logspace, range, tril/triu_indices, scalar_tensor, asarray and
randint_like against torch."""

import warnings

import ember
import numpy as np
import pytest
import torch
from conftest import assert_same, compare, same_error
from hypothesis import given
from hypothesis import strategies as st

WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]
FLOATS = ["float16", "bfloat16", "float32", "float64"]


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("length", [0, 1, 2, 5, 16])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows_values(name, length, periodic):
    compare(lambda lib: getattr(lib, name)(length, periodic), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_windows_dtypes_and_requires_grad(name, dtype):
    def make(lib):
        return getattr(lib, name)(7, dtype=getattr(lib, dtype), requires_grad=True)

    e, t = make(ember), make(torch)
    assert_same(e.detach(), t.detach())
    assert e.requires_grad and e.is_leaf


def test_window_parameters():
    compare(lambda lib: lib.hamming_window(9, False, 0.5, 0.4))
    compare(lambda lib: lib.kaiser_window(9, True, 5.0))
    compare(lambda lib: lib.kaiser_window(9, False, 0.0))


def test_windows_follow_the_default_dtype():
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.hann_window(4).dtype == ember.float64
    finally:
        ember.set_default_dtype(ember.float32)


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize(
    "call",
    [
        lambda lib, name: getattr(lib, name)(5, dtype=lib.int64),
        lambda lib, name: getattr(lib, name)(-1),
        lambda lib, name: getattr(lib, name)(5.0),
    ],
)
def test_window_errors_like_torch(name, call):
    same_error(lambda lib: call(lib, name))


# ----------------------------------------------------------------- logspace, range


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((0, 2, 3), {}),
        ((0, 2, 5), {"base": 2}),
        ((-1.5, 1.5, 7), {"dtype": "float64"}),
        ((0, 2, 3), {"dtype": "int64"}),
        ((1, 0, 4), {"base": 3.0}),
        ((0, 1, 0), {}),
        ((0, 1, 1), {}),
    ],
)
def test_logspace_values(args, kwargs):
    def run(lib):
        kw = {k: getattr(lib, v) if k == "dtype" else v for k, v in kwargs.items()}
        return lib.logspace(*args, **kw)

    compare(run)


def test_logspace_tensor_bounds_and_errors():
    compare(lambda lib: lib.logspace(lib.tensor(0), 2, 3))
    same_error(lambda lib: lib.logspace(lib.tensor([0.0]), 2, 3))
    same_error(lambda lib: lib.logspace(0, 2, -1))


@pytest.mark.parametrize(
    "args, dtype",
    [((1, 4), None), ((1, 4, 0.5), None), ((1, 4), "int64"), ((4, 1, -1), None), ((0, 0), None)],
)
def test_range_is_end_inclusive_and_warns(args, dtype):
    for lib in (ember, torch):
        with pytest.warns(UserWarning, match="torch.range is deprecated"):
            lib.range(*args)

    def run(lib):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return lib.range(*args, dtype=None if dtype is None else getattr(lib, dtype))

    compare(run)


@pytest.mark.parametrize("args", [(1, 4, 0), (4, 1), (1, 4, -1)])
def test_range_errors_like_torch(args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_error(lambda lib: lib.range(*args))


# ----------------------------------------------------------------- triangle indices


@pytest.mark.parametrize("name", ["tril_indices", "triu_indices"])
@pytest.mark.parametrize(
    "row, col, offset", [(3, 4, 0), (3, 4, 1), (4, 3, -1), (0, 3, 0), (3, 3, 5), (3, 3, -5)]
)
def test_triangle_indices(name, row, col, offset):
    compare(lambda lib: getattr(lib, name)(row, col, offset))
    compare(lambda lib: getattr(lib, name)(row, col, offset, dtype=lib.int32))


@pytest.mark.parametrize("name", ["tril_indices", "triu_indices"])
def test_triangle_indices_errors_like_torch(name):
    same_error(lambda lib: getattr(lib, name)(-1, 4))
    same_error(lambda lib: getattr(lib, name)(3, 4, dtype=lib.float32))


def test_triangle_indices_pick_the_triangle():
    x = ember.arange(12.0).reshape(3, 4)
    rows, cols = ember.tril_indices(3, 4)
    assert_same(
        x[rows, cols], torch.arange(12.0).reshape(3, 4).tril()[torch.tril_indices(3, 4).unbind()]
    )


# ----------------------------------------------------------------- from values


@pytest.mark.parametrize("value", [3, 2.5, True, -0.0])
def test_scalar_tensor(value):
    compare(lambda lib: lib.scalar_tensor(value))
    compare(lambda lib: lib.scalar_tensor(value, dtype=lib.int64))
    compare(lambda lib: lib.scalar_tensor(lib.tensor(value)))
    assert ember.scalar_tensor(value, requires_grad=True).requires_grad


@pytest.mark.parametrize("data", [[1, 2], [1.0, 2.0], 3.5, [[True, False]], np.ones(3)])
def test_asarray_of_values(data):
    compare(lambda lib: lib.asarray(data))
    compare(lambda lib: lib.asarray(data, dtype=lib.float64))


def test_asarray_of_a_tensor_shares_or_copies_like_torch():
    x = ember.ones(2)
    assert ember.asarray(x) is x
    copied = ember.asarray(x, copy=True)
    copied.add_(1)
    assert x.tolist() == [1.0, 1.0]
    assert ember.asarray(x, dtype=ember.float64).dtype == ember.float64
    same_error(lambda lib: lib.asarray(lib.ones(2), dtype=lib.float64, copy=False))


def test_asarray_of_numpy_shares_memory():
    values = np.ones(3)
    ember.asarray(values).add_(1)
    np.testing.assert_array_equal(values, [2.0, 2.0, 2.0])


def test_asarray_keeps_requires_grad_with_torchs_warning():
    for lib in (ember, torch):
        x = lib.ones(2, requires_grad=True)
        with pytest.warns(UserWarning, match="unspecified requires_grad"):
            assert lib.asarray(x).requires_grad
        assert not lib.asarray(x, requires_grad=False).requires_grad
    assert ember.asarray([1.0, 2.0], requires_grad=True).requires_grad


@pytest.mark.parametrize(
    "args, kwargs",
    [((10,), {}), ((3, 10), {}), ((10,), {"dtype": "int64"}), ((-5, 5), {"dtype": "int32"})],
)
@pytest.mark.parametrize("like", ["float32", "int64"])
def test_randint_like_draws_torchs_numbers(args, kwargs, like):
    def draw(lib):
        lib.manual_seed(7)
        kw = {k: getattr(lib, v) for k, v in kwargs.items()}
        return lib.randint_like(lib.ones(3, 4, dtype=getattr(lib, like)), *args, **kw)

    compare(draw)


def test_randint_like_errors_like_torch():
    same_error(lambda lib: lib.randint_like(lib.ones(2), 0))


@given(st.integers(0, 40), st.booleans(), st.sampled_from(WINDOWS))
def test_windows_over_lengths(length, periodic, name):
    compare(
        lambda lib: getattr(lib, name)(length, periodic, dtype=lib.float64), rtol=1e-12, atol=1e-12
    )
