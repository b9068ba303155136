"""ember.save/ember.load: checkpoints round-trip; weights_only refuses arbitrary classes."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import textwrap

import ember
import numpy as np
import pytest


def _model():
    ember.manual_seed(0)
    return ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.ReLU(), ember.nn.Linear(4, 2))


def test_checkpoint_round_trips_through_a_file(tmp_path):
    model = _model()
    opt = ember.optim.Adam(model.parameters(), lr=0.1)
    model(ember.ones(2, 3)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.pt"
    ember.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3}, path)
    loaded = ember.load(path)
    fresh = _model()
    fresh.load_state_dict(loaded["model"])
    for (name, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert ember.equal(a, b), name
    fresh_opt = ember.optim.Adam(fresh.parameters(), lr=0.1)
    fresh_opt.load_state_dict(loaded["opt"])
    assert loaded["epoch"] == 3
    assert fresh_opt.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]


def test_tensors_keep_dtype_shape_and_requires_grad_in_a_buffer():
    buffer = io.BytesIO()
    values = [
        ember.tensor([[1.5, 2.0]], dtype=ember.float64, requires_grad=True),
        ember.arange(6).reshape(2, 3).t(),  # a non-contiguous view
        ember.tensor(True),
        ember.nn.Parameter(ember.ones(2)),
    ]
    ember.save(values, buffer)
    buffer.seek(0)
    back = ember.load(buffer)
    for a, b in zip(values, back):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        assert ember.equal(a.detach(), b.detach())
    assert isinstance(back[3], ember.nn.Parameter)


class _Arbitrary:
    pass


def test_weights_only_refuses_arbitrary_classes():
    buffer = io.BytesIO()
    ember.save({"obj": _Arbitrary()}, buffer)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        ember.load(io.BytesIO(buffer.getvalue()))
    assert isinstance(
        ember.load(io.BytesIO(buffer.getvalue()), weights_only=False)["obj"], _Arbitrary
    )


def test_a_pickle_reaching_builtins_is_refused():
    # getattr(getattr, "__self__") is the builtins module: from there, eval. Not allowed.
    payload = (
        b"\x80\x04cbuiltins\ngetattr\ncbuiltins\ngetattr\ncbuiltins\ngetattr\n"
        b"X\x08\x00\x00\x00__self__\x86RX\x04\x00\x00\x00eval\x86RX\x01\x00\x00\x001\x85R."
    )
    for weights_only in (True, None):
        with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
            ember.load(io.BytesIO(payload), weights_only=weights_only)


def test_dtypes_sizes_and_plain_values_round_trip():
    buffer = io.BytesIO()
    value = {
        "dtype": ember.float64,
        "dtypes": [ember.bool, ember.int64, ember.float32],
        "shape": ember.ones(2, 3).shape,
        "numbers": (1, 2.5, 3j, None, "text"),
    }
    ember.save(value, buffer)
    back = ember.load(io.BytesIO(buffer.getvalue()))
    assert back == value
    assert isinstance(back["shape"], ember.Size)


def test_a_corrupted_memo_index_fails_fast_instead_of_allocating_gigabytes():
    # LONG_BINPUT naming memo slot ~750M: the C unpickler sized its table by it.
    code = textwrap.dedent(
        """
        import io, resource
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        import ember
        data = b'\\x80\\x04\\x8c\\x0fember._tensor__r\\x94\\xac\\x9c,N.'
        try:
            print("loaded", ember.load(io.BytesIO(data)))
        except Exception as e:
            print("raised", type(e).__name__)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert "loaded None" in proc.stdout or "raised UnpicklingError" in proc.stdout, proc.stdout


class _UninitializedArray:
    def __reduce__(self):
        return (np.ndarray, ((10**8,), "f4"))  # 400 MB of uninitialized memory


def test_weights_only_refuses_a_bare_ndarray_call():
    data = pickle.dumps([_UninitializedArray()], protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        ember.load(io.BytesIO(data))


def test_weights_only_refuses_a_malformed_numpy_dtype_state():
    # NumPy's dtype.__setstate__ trusts its input: this 6-item state crashed.
    code = textwrap.dedent(
        """
        import io, pickle
        import numpy as np
        import ember
        class MalformedDtype:
            def __reduce__(self):
                return (np.dtype, ("i8", False, True), (3, "<", (None, None), -1, -1, 0))
        try:
            ember.load(io.BytesIO(pickle.dumps([MalformedDtype()], protocol=2)))
        except pickle.UnpicklingError as e:
            print("refused", "Weights only load failed" in str(e))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "refused True" in proc.stdout, proc.stderr[-1500:]


def test_corrupted_checkpoints_raise_and_never_crash():
    code = textwrap.dedent(
        """
        import io, random
        import ember
        net = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.BatchNorm1d(3))
        buffer = io.BytesIO()
        ember.save({"model": net.state_dict(), "step": 3}, buffer)
        good = buffer.getvalue()
        rng = random.Random(0)
        outcomes = set()
        for _ in range(1500):
            data = bytearray(good)
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            try:
                ember.load(io.BytesIO(bytes(data)))
                outcomes.add("loaded")
            except Exception as e:
                outcomes.add("raised")
        print("survived", sorted(outcomes))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "survived" in proc.stdout, proc.stderr[-1500:]
