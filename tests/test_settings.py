"""torch's constants, process-wide switches and tensor questions (nbytes,
is_signed, is_nonzero, ...), against torch."""

import math

import ember
import numpy as np
import pytest
import torch
from conftest import same_error

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32"]


@pytest.mark.parametrize("name", ["pi", "e", "inf", "nan", "newaxis"])
def test_constants_are_torchs(name):
    mine, theirs = getattr(ember, name), getattr(torch, name)
    assert type(mine) is type(theirs)
    if isinstance(theirs, float):
        assert mine == theirs or (math.isnan(mine) and math.isnan(theirs))
    else:
        assert mine is theirs


def test_newaxis_indexes_like_none():
    x = ember.ones(2, 3)
    assert tuple(x[:, ember.newaxis].shape) == (2, 1, 3)


@pytest.fixture
def restore_switches():
    """Each library's switches as they were, after the test."""
    saved = {
        lib: (lib.get_float32_matmul_precision(), lib.get_deterministic_debug_mode())
        for lib in (ember, torch)
    }
    yield
    for lib, (precision, mode) in saved.items():
        lib.set_float32_matmul_precision(precision)
        lib.set_deterministic_debug_mode(mode)


@pytest.mark.parametrize("precision", ["highest", "high", "medium"])
def test_matmul_precision_reads_back(precision, restore_switches):
    for lib in (ember, torch):
        lib.set_float32_matmul_precision(precision)
    assert ember.get_float32_matmul_precision() == torch.get_float32_matmul_precision()


def test_unknown_matmul_precision_warns_and_keeps_the_setting(restore_switches):
    for lib in (ember, torch):
        lib.set_float32_matmul_precision("high")
        with pytest.warns(UserWarning, match="is not one of 'highest', 'high', or 'medium'"):
            lib.set_float32_matmul_precision("low")
    assert ember.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "high"


def test_matmul_precision_refuses_a_non_string():
    same_error(lambda lib: lib.set_float32_matmul_precision(3))


@pytest.mark.parametrize("mode", [0, 1, 2, "default", "warn", "error"])
def test_deterministic_switches_read_back(mode, restore_switches):
    def state(lib):
        lib.set_deterministic_debug_mode(mode)
        return (
            lib.get_deterministic_debug_mode(),
            lib.are_deterministic_algorithms_enabled(),
            lib.is_deterministic_algorithms_warn_only_enabled(),
        )

    assert state(ember) == state(torch)


@pytest.mark.parametrize("warn_only", [False, True])
def test_use_deterministic_algorithms(warn_only, restore_switches):
    def state(lib):
        lib.use_deterministic_algorithms(True, warn_only=warn_only)
        on = (lib.are_deterministic_algorithms_enabled(),)
        on += (lib.is_deterministic_algorithms_warn_only_enabled(),)
        lib.use_deterministic_algorithms(False)
        return on + (lib.are_deterministic_algorithms_enabled(),)

    assert state(ember) == state(torch)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.use_deterministic_algorithms(1),
        lambda lib: lib.use_deterministic_algorithms(True, warn_only=1),
        lambda lib: lib.set_deterministic_debug_mode(3),
        lambda lib: lib.set_deterministic_debug_mode("sometimes"),
        lambda lib: lib.set_deterministic_debug_mode(1.0),
        lambda lib: lib.set_flush_denormal(1),
        lambda lib: lib.set_num_interop_threads(0),
    ],
)
def test_switches_refuse_bad_arguments_like_torch(call, restore_switches):
    same_error(call)


def test_flush_denormal_is_refused_honestly():
    # torch answers True on this CPU; Ember does not change the CPU's modes (compatibility.md)
    assert ember.set_flush_denormal(True) is False
    assert ember.set_flush_denormal(False) is False


def test_interop_threads_read_back_and_can_be_set_once(monkeypatch):
    monkeypatch.setitem(ember._settings._state, "interop_threads", None)  # never set yet
    assert ember.get_num_interop_threads() >= 1
    ember.set_num_interop_threads(3)
    assert ember.get_num_interop_threads() == 3
    with pytest.raises(RuntimeError, match="cannot set number of interop threads"):
        ember.set_num_interop_threads(2)


def test_default_device_is_the_cpu():
    for where in ("cpu", ember.device("cpu"), None):
        ember.set_default_device(where)
        assert ember.get_default_device() == ember.device("cpu")
    assert str(ember.get_default_device()) == str(torch.get_default_device())


@pytest.mark.parametrize("where", ["cuda", "meta", "mps:0"])
def test_default_device_refuses_other_devices(where):
    with pytest.raises((AssertionError, RuntimeError), match="CPU only"):
        ember.set_default_device(where)


def test_inference_mode_flag_follows_the_context():
    def trace(lib):
        seen = [lib.is_inference_mode_enabled()]
        with lib.inference_mode():
            seen.append(lib.is_inference_mode_enabled())
            with lib.inference_mode(False):
                seen.append(lib.is_inference_mode_enabled())
            with lib.no_grad():
                seen.append(lib.is_inference_mode_enabled())
            seen.append(lib.is_grad_enabled())
        return seen + [lib.is_inference_mode_enabled(), lib.is_grad_enabled()]

    assert trace(ember) == trace(torch)


def test_inference_mode_flag_in_decorated_functions():
    @ember.inference_mode()
    def inside():
        return ember.is_inference_mode_enabled()

    assert inside() is True
    assert ember.is_inference_mode_enabled() is False


def test_autograd_inference_mode_is_the_same_class():
    assert ember.autograd.inference_mode is ember.inference_mode


# ----------------------------------------------------------------- tensor questions


@pytest.mark.parametrize("dtype", DTYPES)
def test_sizes_in_bytes(dtype):
    def sizes(lib):
        x = lib.ones(2, 3, dtype=getattr(lib, dtype))
        return x.nbytes, x.itemsize, x[:, 1:].nbytes, lib.ones(0, dtype=getattr(lib, dtype)).nbytes

    assert sizes(ember) == sizes(torch)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_questions(dtype):
    def answers(lib):
        x = lib.zeros(3, dtype=getattr(lib, dtype))
        return (x.is_signed(), lib.is_signed(x), x.is_complex(), lib.is_complex(x))

    assert answers(ember) == answers(torch)


def test_layout_and_device_questions():
    def answers(lib):
        x = lib.ones(2)
        return (
            x.is_cpu,
            x.is_sparse,
            x.is_sparse_csr,
            x.is_quantized,
            x.is_meta,
            x.is_mkldnn,
            x.is_nested,
            x.get_device(),
            lib.get_device(x),
            x.is_inference(),
            lib.is_inference(x),
        )

    assert answers(ember) == answers(torch)


def test_is_same_size():
    def answers(lib):
        a, b, c = lib.ones(2, 3), lib.zeros(2, 3), lib.ones(3, 2)
        return a.is_same_size(b), lib.is_same_size(a, c), a.is_same_size(a.t().t())

    assert answers(ember) == answers(torch)


@pytest.mark.parametrize(
    "values", [[1.5], [0.0], [-0.0], [float("nan")], [True], [0], 7, 0.0, [[2]]]
)
def test_is_nonzero_of_one_element(values):
    assert ember.is_nonzero(ember.tensor(values)) == torch.is_nonzero(torch.tensor(values))
    assert ember.tensor(values).is_nonzero() == torch.tensor(values).is_nonzero()


@pytest.mark.parametrize("values", [[], [1.0, 2.0], [[1, 0]]])
def test_is_nonzero_refuses_other_sizes(values):
    same_error(lambda lib: lib.is_nonzero(lib.tensor(values)))


def test_nbytes_reads_numpy_itemsize():
    x = ember.ones(4, dtype=ember.float64)
    assert x.nbytes == np.ones(4).nbytes
