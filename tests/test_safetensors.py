"""ember.utils.safetensors: the format written and read natively, checked against
the reference `safetensors` package both ways (its files read by Ember, Ember's
read by it), byte for byte where the format fixes the bytes."""

from __future__ import annotations

import json
import struct

import ember
import numpy as np
import pytest
from ember.utils import safetensors as st

torch = pytest.importorskip("torch")
ref = pytest.importorskip("safetensors.torch")
safetensors = pytest.importorskip("safetensors")


def _ember_tensors():
    rng = np.random.default_rng(0)
    return {
        "weight": ember.from_numpy(rng.standard_normal((3, 4)).astype(np.float32)),
        "double": ember.from_numpy(rng.standard_normal(5)),
        "ids": ember.tensor([[-(2**62), 7], [0, 2**62]]),
        "mask": ember.tensor([True, False, True]),
        "scalar": ember.tensor(2.5),
        "empty": ember.zeros(0, 3),
        "naïve": ember.ones(2),
    }


def _same(e, t):
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_ember_writes_the_bytes_safetensors_writes():
    tensors = _ember_tensors()
    ours = st.save(tensors, metadata={"format": "pt"})
    theirs = ref.save(
        {k: torch.from_numpy(v.numpy()) for k, v in tensors.items()}, metadata={"format": "pt"}
    )
    assert ours == theirs


def test_files_written_by_ember_load_in_safetensors(tmp_path):
    tensors = _ember_tensors()
    path = tmp_path / "e.safetensors"
    st.save_file(tensors, path, metadata={"format": "pt", "note": "ünïcode"})
    loaded = ref.load_file(path)
    assert set(loaded) == set(tensors)
    for k, v in tensors.items():
        _same(v, loaded[k])
    with safetensors.safe_open(path, framework="pt") as f:
        assert f.metadata() == {"format": "pt", "note": "ünïcode"}
    for k, v in ref.load(st.save(tensors)).items():
        _same(tensors[k], v)


def test_files_written_by_safetensors_load_in_ember(tmp_path):
    g = torch.Generator().manual_seed(1)
    tensors = {
        "a": torch.randn(2, 3, generator=g),
        "b": torch.randn(4, generator=g, dtype=torch.float64),
        "c": torch.arange(6).reshape(3, 2),
        "d": torch.tensor([True, False]),
        "e": torch.zeros(()),
    }
    path = tmp_path / "t.safetensors"
    ref.save_file(tensors, path, metadata={"k": "v"})
    loaded = st.load_file(path)
    for k, v in tensors.items():
        _same(loaded[k], v)
    for k, v in st.load(ref.save(tensors)).items():
        _same(v, tensors[k])
    with st.safe_open(path, framework="pt") as f:
        assert f.metadata() == {"k": "v"}
        assert f.keys() == sorted(tensors)
        _same(f.get_tensor("c"), tensors["c"])
        piece = f.get_slice("a")
        assert piece.get_shape() == [2, 3] and piece.get_dtype() == "F32"
        np.testing.assert_array_equal(piece[:, 1:].numpy(), tensors["a"][:, 1:].numpy())


def test_a_dtype_ember_lacks_is_named_and_the_rest_still_loads(tmp_path):
    path = tmp_path / "unsigned.safetensors"
    ref.save_file({"u": torch.ones(2, dtype=torch.uint16), "f": torch.ones(2)}, path)
    with pytest.raises(st.SafetensorError, match="U16 .torch.uint16."):
        st.load_file(path)
    with st.safe_open(path, framework="pt") as f:
        assert f.get_tensor("f").tolist() == [1.0, 1.0]


NARROW = ["uint8", "int8", "int16", "int32", "float16", "bfloat16"]


@pytest.mark.parametrize("name", NARROW)
def test_narrow_dtypes_round_trip_with_the_reference(tmp_path, name):
    values = torch.tensor([[1.5, -2.25, 100.0], [0.0, 7.0, -1.0]]).to(getattr(torch, name))
    ref.save_file({"x": values}, tmp_path / "torch.safetensors")
    mine = st.load_file(tmp_path / "torch.safetensors")["x"]
    assert mine.dtype == getattr(ember, name)
    assert mine.float().tolist() == values.float().tolist()
    st.save_file({"x": mine}, tmp_path / "ember.safetensors")
    back = ref.load_file(tmp_path / "ember.safetensors")["x"]
    assert back.dtype == values.dtype and torch.equal(back, values)


def test_shared_and_non_contiguous_tensors_are_refused_as_safetensors_does():
    base = ember.arange(6.0)
    with pytest.raises(RuntimeError, match="Some tensors share memory"):
        st.save({"a": base, "b": base[:2]})
    st.save({"a": base[:3], "b": base[3:]})  # disjoint halves of one storage are fine
    with pytest.raises(ValueError, match="non contiguous tensor: `t`"):
        st.save({"t": base.reshape(2, 3).t()})
    with pytest.raises(ValueError, match="expected ember.Tensor"):
        st.save({"x": [1.0]})
    tb = torch.arange(6.0)
    with pytest.raises(RuntimeError, match="Some tensors share memory"):
        ref.save({"a": tb, "b": tb[:2]})


def test_tied_weights_through_save_model_and_load_model(tmp_path):
    def net(lib):
        lib.manual_seed(0)
        m = lib.nn.Sequential(lib.nn.Embedding(5, 3), lib.nn.Linear(3, 5, bias=False))
        m[1].weight = m[0].weight
        return m

    model = net(ember)
    path = tmp_path / "tied.safetensors"
    st.save_model(model, path)
    with safetensors.safe_open(path, framework="pt") as f:
        assert f.keys() == ["0.weight"] and f.metadata() == {"1.weight": "0.weight"}
    tmodel = net(torch)
    assert ref.load_model(tmodel, path) == (set(), [])
    fresh = net(ember)
    with ember.no_grad():
        fresh[0].weight.zero_()
    assert st.load_model(fresh, path) == (set(), [])
    assert fresh[1].weight is fresh[0].weight
    _same(fresh[0].weight.detach(), tmodel[0].weight.detach())
    ref.save_model(tmodel, tmp_path / "t.safetensors")
    again = net(ember)
    st.load_model(again, tmp_path / "t.safetensors")
    _same(again[1].weight.detach(), tmodel[1].weight.detach())


def test_a_module_loads_its_state_dict_from_a_safetensors_file(tmp_path):
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4))
    ref.save_file(tnet.state_dict(), tmp_path / "m.safetensors")
    enet = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.LayerNorm(4))
    enet.load_state_dict(st.load_file(tmp_path / "m.safetensors"))
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(
        enet(ember.tensor(x)).detach().numpy(), tnet(torch.tensor(x)).detach().numpy(), rtol=1e-6
    )


def _file(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x01\x00",
        struct.pack("<Q", 10**12) + b"{}",  # a header larger than the file
        struct.pack("<Q", 200_000_000) + b"{}" * 10,
        struct.pack("<Q", 2) + b"[]",
        struct.pack("<Q", 3) + b"{x}",
        _file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4),
        _file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8),
        _file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8),
        _file({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4),
        _file({"a": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
        _file({"a": {"dtype": "F32", "shape": [10**15], "data_offsets": [0, 4]}}, b"\0" * 4),
        _file({"__metadata__": {"k": 1}}),
    ],
)
def test_malformed_files_are_refused_by_both(blob, tmp_path):
    with pytest.raises(st.SafetensorError):
        st.load(blob)
    with pytest.raises(Exception):
        ref.load(blob)
    path = tmp_path / "bad.safetensors"
    path.write_bytes(blob)
    with pytest.raises(st.SafetensorError):
        st.load_file(path)


def test_random_corruptions_raise_or_load_and_never_crash():
    good = bytearray(st.save(_ember_tensors(), metadata={"format": "pt"}))
    rng = np.random.default_rng(0)
    outcomes = set()
    for _ in range(2000):
        data = bytearray(good)
        for _ in range(rng.integers(1, 4)):
            data[rng.integers(len(data))] = rng.integers(256)
        try:
            st.load(bytes(data))
            outcomes.add("loaded")
        except st.SafetensorError:
            outcomes.add("raised")
    assert outcomes == {"loaded", "raised"}
