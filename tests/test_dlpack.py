"""DLPack exchange with torch and NumPy: no copies, lifetimes, errors as torch's."""

import gc

import numpy as np
import pytest
from conftest import capture, ember, torch


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_torch_reads_ember_memory_without_a_copy(dtype):
    e = ember.tensor(np.arange(6).reshape(2, 3).astype(dtype))
    t = torch.from_dlpack(e)
    assert t.data_ptr() == e.data_ptr()
    assert str(t.dtype).split(".")[1] == dtype and tuple(t.shape) == (2, 3)
    if dtype != "bool":
        t[0, 0] = 5
        assert e[0, 0].item() == 5


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_ember_reads_torch_and_numpy_memory_without_a_copy(dtype):
    t = torch.tensor(np.arange(6).reshape(2, 3).astype(dtype))
    e = ember.from_dlpack(t)
    assert e.data_ptr() == t.data_ptr() and e.dtype == getattr(ember, dtype)
    a = np.arange(4).astype(dtype)
    assert ember.from_dlpack(a).data_ptr() == a.ctypes.data


def test_strided_views_cross_with_their_strides():
    e = ember.arange(12.0).reshape(3, 4)
    t = torch.from_dlpack(e.t()[1:])
    np.testing.assert_array_equal(t.numpy(), e.t()[1:].numpy())
    assert t.stride() == (1, 4)
    back = ember.from_dlpack(torch.arange(12.0).reshape(3, 4).t())
    assert back.stride() == (1, 4)
    np.testing.assert_array_equal(back.numpy(), np.arange(12.0).reshape(3, 4).T)


def test_the_producer_stays_alive_while_the_consumer_holds_it():
    e = ember.from_dlpack(torch.arange(100_000, dtype=torch.float64))
    t = torch.from_dlpack(ember.arange(100_000, dtype=ember.float64))
    gc.collect()
    _ = [ember.ones(100_000) for _ in range(10)]  # reuse freed memory, if any was freed
    assert e.sum().item() == t.sum().item() == float(np.arange(100_000.0).sum())


def test_legacy_capsules_both_ways_and_a_consumed_capsule_raises_like_torch():
    capsule = torch.utils.dlpack.to_dlpack(torch.ones(3))
    assert ember.from_dlpack(capsule).tolist() == [1.0, 1.0, 1.0]
    e, t = (
        capture(lambda L: L.from_dlpack(capsule), ember),
        capture(lambda L: L.from_dlpack(capsule), torch),
    )
    assert type(e) is type(t) is RuntimeError and str(e) == str(t)
    back = torch.utils.dlpack.from_dlpack(ember.utils.dlpack.to_dlpack(ember.arange(3.0)))
    assert back.tolist() == [0.0, 1.0, 2.0]


def test_device_and_tensors_requiring_grad_as_torch():
    assert ember.ones(2).__dlpack_device__() == torch.ones(2).__dlpack_device__()

    def export(L):
        return L.ones(2, requires_grad=True).__dlpack__()

    e, t = capture(export, ember), capture(export, torch)
    assert type(e) is type(t) is BufferError and str(e) == str(t)
    assert torch.from_dlpack(ember.ones(2, requires_grad=True).detach()).tolist() == [1.0, 1.0]


def test_a_dtype_ember_lacks_is_refused_clearly():
    with pytest.raises(TypeError, match="uint16"):
        ember.from_dlpack(torch.zeros(3, dtype=torch.uint16))


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "float16", "bfloat16"])
def test_narrow_dtypes_cross_both_ways_sharing_memory(name):
    t = torch.tensor([0.0, 1.5, -2.0, 3.0, 100.0]).to(getattr(torch, name))
    e = ember.from_dlpack(t)
    assert e.dtype == getattr(ember, name) and e.tolist() == t.tolist()
    e[0] = 9
    assert t[0].item() == 9  # one buffer
    back = torch.from_dlpack(e)
    assert back.dtype == t.dtype and torch.equal(back, t)
    legacy = torch.utils.dlpack.from_dlpack(ember.utils.dlpack.to_dlpack(e))
    assert torch.equal(legacy, t)


def test_a_stream_on_the_cpu_is_refused_like_torch():
    e, t = (
        capture(lambda L: L.ones(2).__dlpack__(stream=1), ember),
        capture(lambda L: L.ones(2).__dlpack__(stream=1), torch),
    )
    assert type(e) is type(t) is AssertionError and str(e) == str(t)
