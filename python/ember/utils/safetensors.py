"""safetensors files, as `safetensors.torch` reads and writes them, without the package.

The format is small: an 8-byte little-endian header length N, N bytes of JSON
(`{"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [...],
"data_offsets": [begin, end]}, ...}`, padded with spaces to a multiple of 8),
then the tensors' bytes, little-endian and contiguous, each tensor's range
relative to the end of the header. Ember writes what `safetensors.torch.save`
writes (tensors ordered by dtype, then by name), and reads any valid file,
checking it as the reference implementation does: the header's size, that the
data ranges tile the data exactly, and that each range holds its shape.

    from ember.utils.safetensors import save_file, load_file, safe_open
    save_file(model.state_dict(), "model.safetensors", metadata={"format": "pt"})
    model.load_state_dict(load_file("model.safetensors"))
"""

import json
import os
import sys
from collections import defaultdict

import numpy as np

from .. import _C
from .._dtype_info import DTYPES, raw_numpy

__all__ = [
    "SafetensorError",
    "load",
    "load_file",
    "load_model",
    "safe_open",
    "save",
    "save_file",
    "save_model",
]

# safetensors' dtypes, in its order (files list tensors of later dtypes first),
# with their sizes in bits
_FORMAT_DTYPES = [
    ("BOOL", 8), ("F4", 4), ("F6_E2M3", 6), ("F6_E3M2", 6), ("U8", 8), ("I8", 8),
    ("F8_E5M2", 8), ("F8_E4M3", 8), ("F8_E8M0", 8), ("I16", 16), ("U16", 16), ("F16", 16),
    ("BF16", 16), ("I32", 32), ("U32", 32), ("F32", 32), ("C64", 64), ("F64", 64), ("I64", 64),
    ("U64", 64),
]  # fmt: skip
_BITS = dict(_FORMAT_DTYPES)
_RANK = {name: i for i, (name, _) in enumerate(_FORMAT_DTYPES)}
_EMBER = {facts.safetensors_code: dtype for dtype, facts in DTYPES.items()}
_CODE = {d: code for code, d in _EMBER.items()}
_TORCH_NAMES = {
    "F16": "float16", "BF16": "bfloat16", "I32": "int32", "I16": "int16", "I8": "int8",
    "U8": "uint8", "U16": "uint16", "U32": "uint32", "U64": "uint64", "C64": "complex64",
    "F8_E5M2": "float8_e5m2", "F8_E4M3": "float8_e4m3fn", "F8_E8M0": "float8_e8m0fnu",
    "F4": "float4_e2m1fn_x2", "F6_E2M3": "float6_e2m3", "F6_E3M2": "float6_e3m2",
}  # fmt: skip
_MAX_HEADER = 100_000_000  # the reference implementation's limit


class SafetensorError(Exception):
    """A file that is not valid safetensors (as safetensors.SafetensorError)."""


# ---------------------------------------------------------------------------
# Writing


def _check_tensors(tensors):
    if not isinstance(tensors, dict):
        raise ValueError(f"Expected a dict of [str, ember.Tensor] but received {type(tensors)}")
    for k, v in tensors.items():
        if not isinstance(k, str):
            raise ValueError(f"Key `{k!r}` is invalid, expected a str")
        if not isinstance(v, _C.Tensor):
            raise ValueError(f"Key `{k}` is invalid, expected ember.Tensor but received {type(v)}")
    failing = [names for names in _find_shared_tensors(tensors) if len(names) > 1]
    if failing:
        raise RuntimeError(
            "Some tensors share memory, this will lead to duplicate memory on disk and potential "
            f"differences when loading them again: {failing}.\nA potential way to correctly save "
            "your model is to use `save_model`.\nMore information at "
            "https://huggingface.co/docs/safetensors/torch_shared_tensors"
        )
    for k, v in tensors.items():
        if not v.is_contiguous():
            raise ValueError(
                f"You are trying to save a non contiguous tensor: `{k}` which is not allowed. It "
                "either means you are trying to save tensors which are reference of each other in "
                "which case it's recommended to save only the full tensors, and reslice at load "
                "time, or simply call `.contiguous()` on your tensor to pack it before saving."
            )


def _check_metadata(metadata):
    if metadata is None:
        return
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise TypeError("metadata must be a dict of str to str")


def _layout(tensors, metadata):
    """The padded header and the tensors in file order."""
    _check_tensors(tensors)
    _check_metadata(metadata)
    order = sorted(
        tensors.items(), key=lambda kv: (-_RANK[_CODE[kv[1].dtype]], kv[0].encode("utf-8"))
    )
    header = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    offset = 0
    for name, t in order:
        nbytes = t.numel() * t.element_size()
        header[name] = {
            "dtype": _CODE[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text, [t for _, t in order]


def _data(t):
    array = raw_numpy(t.detach())
    if sys.byteorder != "little" and array.itemsize > 1:
        array = array.byteswap()
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8)


def save(tensors, metadata=None):
    """The safetensors bytes of a dict of contiguous tensors sharing no memory."""
    head, ordered = _layout(tensors, metadata)
    return b"".join([head] + [bytes(_data(t)) for t in ordered])


def save_file(tensors, filename, metadata=None):
    """Writes a dict of contiguous tensors sharing no memory to a safetensors file."""
    head, ordered = _layout(tensors, metadata)
    with open(filename, "wb") as f:
        f.write(head)
        for t in ordered:
            f.write(_data(t))


# ---------------------------------------------------------------------------
# Reading


def _is_nat(x):
    return type(x) is int and x >= 0


def _parse_header(head_len_bytes, read_header, total):
    """The metadata and the tensor entries of a file of `total` bytes, checked."""
    if len(head_len_bytes) != 8:
        raise SafetensorError("Error while deserializing header: HeaderTooSmall")
    n = int.from_bytes(head_len_bytes, "little")
    if n > _MAX_HEADER:
        raise SafetensorError("Error while deserializing header: HeaderTooLarge")
    if 8 + n > total:
        raise SafetensorError("Error while deserializing header: InvalidHeaderLength")
    raw = read_header(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SafetensorError(
            f"Error while deserializing header: InvalidHeaderDeserialization ({exc})"
        ) from None
    if not isinstance(header, dict):
        raise SafetensorError("Error while deserializing header: the header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (
        isinstance(metadata, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise SafetensorError("Error while deserializing header: __metadata__ is not str to str")
    entries = {}
    for name, info in header.items():
        if not (
            isinstance(info, dict)
            and isinstance(info.get("dtype"), str)
            and isinstance(info.get("shape"), list)
            and all(_is_nat(s) for s in info["shape"])
            and isinstance(info.get("data_offsets"), list)
            and len(info["data_offsets"]) == 2
            and all(_is_nat(o) for o in info["data_offsets"])
        ):
            raise SafetensorError(f"Error while deserializing header: tensor {name!r} is malformed")
        if info["dtype"] not in _BITS:
            raise SafetensorError(
                f"Error while deserializing header: tensor {name!r} has unknown dtype "
                f"{info['dtype']!r}"
            )
        entries[name] = (info["dtype"], tuple(info["shape"]), tuple(info["data_offsets"]))
    # The ranges must tile the data from 0 to its end, each holding its shape.
    end = 0
    for name, (dtype, shape, (begin, stop)) in sorted(entries.items(), key=lambda e: e[1][2]):
        if begin != end or stop < begin:
            raise SafetensorError(f"Error while deserializing header: InvalidOffset({name})")
        bits = _BITS[dtype]
        for s in shape:
            bits *= s
        if bits % 8 or bits // 8 != stop - begin:
            raise SafetensorError(
                f"Error while deserializing header: TensorInvalidInfo: {name!r} of shape "
                f"{list(shape)} and dtype {dtype} does not fill {stop - begin} bytes"
            )
        end = stop
    if 8 + n + end != total:
        raise SafetensorError("Error while deserializing header: MetadataIncompleteBuffer")
    return metadata, entries, 8 + n


def _tensor(name, dtype, shape, readinto):
    if dtype not in _EMBER:
        raise SafetensorError(
            f"tensor {name!r} has dtype {dtype} (torch.{_TORCH_NAMES.get(dtype, dtype)}), which "
            f"Ember does not have (Ember has {', '.join(_EMBER)})"
        )
    out = _C.empty(shape, dtype=_EMBER[dtype])
    array = raw_numpy(out)
    if array.nbytes:
        view = memoryview(array.reshape(-1).view(np.uint8))
        if readinto(view) != array.nbytes:
            raise SafetensorError(f"the data of tensor {name!r} ends early")
    if sys.byteorder != "little" and array.itemsize > 1:
        array.byteswap(inplace=True)
    if dtype == "BOOL":
        np.not_equal(array.view(np.uint8), 0, out=array)
    return out


class safe_open:  # noqa: N801 - safetensors' name
    """A safetensors file opened lazily, as safetensors.safe_open: the header is
    read at once, each tensor when asked for.

        with safe_open("model.safetensors", framework="pt") as f:
            f.metadata(), list(f.keys()), f.get_tensor("weight")
    """

    def __init__(self, filename, framework="pt", device="cpu"):
        if framework not in ("pt", "torch", "ember", "np", "numpy"):
            raise ValueError(f"framework {framework!r} is not supported; use 'pt' (Ember tensors)")
        if str(device) not in ("cpu", "0") and device != 0:
            from .._device import check_device

            check_device(device)
        self._numpy = framework in ("np", "numpy")
        self._file = open(filename, "rb")  # noqa: SIM115 - closed by __exit__ / close
        try:
            total = os.fstat(self._file.fileno()).st_size
            self._metadata, self._entries, self._start = _parse_header(
                self._file.read(8), self._file.read, total
            )
        except BaseException:
            self._file.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._file.close()

    def metadata(self):
        return self._metadata

    def keys(self):
        return sorted(self._entries)

    def offset_keys(self):
        return [k for k, _ in sorted(self._entries.items(), key=lambda e: e[1][2])]

    def get_tensor(self, name):
        if name not in self._entries:
            raise SafetensorError(f"File does not contain tensor {name}")
        dtype, shape, (begin, _) = self._entries[name]
        self._file.seek(self._start + begin)
        t = _tensor(name, dtype, shape, self._file.readinto)
        return t.numpy() if self._numpy else t

    def get_slice(self, name):
        return _Slice(self, name)


class _Slice:
    """safe_open(...).get_slice(name): shape and dtype without reading; [...] reads."""

    def __init__(self, opened, name):
        if name not in opened._entries:
            raise SafetensorError(f"File does not contain tensor {name}")
        self._opened, self._name = opened, name

    def get_shape(self):
        return list(self._opened._entries[self._name][1])

    def get_dtype(self):
        return self._opened._entries[self._name][0]

    def __getitem__(self, index):
        return self._opened.get_tensor(self._name)[index]


def load_file(filename, device="cpu"):
    """A dict of the tensors in a safetensors file."""
    with safe_open(filename, framework="pt", device=device) as f:
        return {k: f.get_tensor(k) for k in f.offset_keys()}


def load(data):
    """A dict of the tensors in safetensors bytes."""
    data = memoryview(data).cast("B")
    _, entries, start = _parse_header(bytes(data[:8]), lambda n: bytes(data[8 : 8 + n]), len(data))
    out = {}
    for name, (dtype, shape, (begin, stop)) in sorted(entries.items(), key=lambda e: e[1][2]):

        def readinto(view, chunk=data[start + begin : start + stop]):
            view[:] = chunk
            return len(chunk)

        out[name] = _tensor(name, dtype, shape, readinto)
    return out


# ---------------------------------------------------------------------------
# Models whose state_dicts share tensors (tied weights), as safetensors.torch


def _storage(t):
    return _C._storage_info(t)


def _find_shared_tensors(state_dict):
    groups = defaultdict(set)
    for k, v in state_dict.items():
        ptr, size = _storage(v)
        if ptr != 0 and size != 0:
            groups[(ptr, size)].add(k)
    shared = []
    for names in sorted(groups.values(), key=sorted):
        if len(names) < 2:
            shared.append(names)
            continue
        # within one storage, only overlapping ranges share memory
        areas = sorted(
            (state_dict[n].data_ptr(), state_dict[n].data_ptr() + _span(state_dict[n]), n)
            for n in names
        )
        _, last_stop, first = areas[0]
        shared.append({first})
        for start, stop, name in areas[1:]:
            if start >= last_stop:
                shared.append({name})
            else:
                shared[-1].add(name)
            last_stop = max(last_stop, stop)
    return shared


def _span(t):
    if t.numel() == 0:
        return 0
    last = sum((n - 1) * s for n, s in zip(t.shape, t.stride()))
    return (last + 1) * t.element_size()


def _is_complete(t):
    ptr, size = _storage(t)
    return t.data_ptr() == ptr and t.numel() * t.element_size() == size


def _remove_duplicate_names(state_dict, *, preferred_names=None, discard_names=None):
    preferred_names = set(preferred_names or [])
    discard_names = set(discard_names or [])
    to_remove = defaultdict(list)
    for shared in _find_shared_tensors(state_dict):
        if len(shared) < 2:
            continue
        complete = {n for n in shared if _is_complete(state_dict[n])}
        if not complete:
            raise RuntimeError(
                "Error while trying to find names to remove to save state dict, but found no "
                f"suitable name to keep for saving amongst: {shared}. None is covering the "
                "entire storage. Refusing to save/load the model since you could be storing "
                "much more memory than needed."
            )
        keep = sorted(complete)[0]
        preferred = complete - discard_names
        if preferred:
            keep = sorted(preferred)[0]
        if preferred_names & complete:
            keep = sorted(preferred_names & complete)[0]
        for name in sorted(shared):
            if name != keep:
                to_remove[keep].append(name)
    return to_remove


def save_model(model, filename, metadata=None, force_contiguous=True):
    """Saves a model's state_dict, dropping the duplicate names of shared
    (tied) tensors and recording them in the metadata, as safetensors.torch."""
    state_dict = model.state_dict()
    for kept, removed in _remove_duplicate_names(state_dict).items():
        for name in removed:
            metadata = {} if metadata is None else metadata
            metadata.setdefault(name, kept)
            del state_dict[name]
    if force_contiguous:
        state_dict = {k: v.contiguous() for k, v in state_dict.items()}
    try:
        save_file(state_dict, filename, metadata=metadata)
    except ValueError as e:
        raise ValueError(
            f"{e} Or use save_model(..., force_contiguous=True), read the docs for potential "
            "caveats."
        ) from None


def load_model(model, filename, strict=True, device="cpu"):
    """Loads a file written by save_model (or save_file) into a model, tied
    tensors included. Returns (missing, unexpected) names."""
    state_dict = load_file(filename, device=device)
    to_removes = _remove_duplicate_names(model.state_dict(), preferred_names=state_dict.keys())
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    missing, unexpected = set(missing), list(unexpected)
    for group in to_removes.values():
        for name in group:
            if name not in missing:
                unexpected.append(name)
            else:
                missing.remove(name)
    if strict and (missing or unexpected):
        error = f"Error(s) in loading state_dict for {type(model).__name__}:"
        if missing:
            error += "\n    Missing key(s) in state_dict: " + ", ".join(
                f'"{k}"' for k in sorted(missing)
            )
        if unexpected:
            error += "\n    Unexpected key(s) in state_dict: " + ", ".join(
                f'"{k}"' for k in sorted(unexpected)
            )
        raise RuntimeError(error)
    return missing, unexpected
