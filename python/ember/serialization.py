"""ember.save / ember.load in torch's checkpoint format.

`save` writes what `torch.save` writes: a zip archive holding `archive/data.pkl`
(a pickle in which each tensor is a call of `torch._utils._rebuild_tensor_v2`
on a storage named by a persistent id), one `archive/data/<key>` record per
storage (raw bytes, 64-byte aligned), and the `byteorder`, `version`,
`.format_version`, `.storage_alignment` and `.data/serialization_id` records.
`torch.load` reads it with its default `weights_only=True`, and `load` reads
what `torch.save` writes: the zip format, torch's legacy (pre-1.6) pickle
format, and the plain pickles older Ember versions wrote.

Tensors sharing a storage (views, tied weights) keep sharing it across a save
and a load, in either library. torch needs no import here: the names a file
holds (`torch.FloatStorage`, `torch._utils._rebuild_tensor_v2`, ...) are
written and read as names and mapped to Ember's own functions
(`_checkpoint_names.py`); the unpicklers are in `_weights_only.py`.

Note [weights_only]
`load(weights_only=True)`, the default as in torch 2.6+, rebuilds only
containers, numbers, strings, dtypes, sizes, devices and tensors, and what
`add_safe_globals` allows: a pickle naming anything else is refused before any
of it is called. Both modes run on pickle's pure-Python unpickler (its
BYTEARRAY8 reading bounded): the C one sizes its memo table by the largest
index a file names, so 26 corrupted bytes could ask for gigabytes. Every size
a file states (a storage's element count, a view's extent) is checked against
the bytes actually present before memory is allocated for it.
"""

import collections
import io
import os
import pickle
import struct
import sys
import uuid
import zipfile

import numpy as np

from . import _C
from ._checkpoint_names import (
    _NUMPY_CODES,
    _STORAGE_NAME_OF,
    _dtype_name,
    _is_int,
    _Storage,
    _StorageType,
)
from ._device import device
from ._dtype_info import raw_numpy
from ._size import Size
from ._weights_only import (
    WeightsOnlyError,
    _FullUnpickler,
    _refusal,
    _SafeUnpickler,
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
)

__all__ = [
    "save",
    "load",
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "safe_globals",
    "DEFAULT_PROTOCOL",
]

DEFAULT_PROTOCOL = 2  # torch.save's
_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # torch's legacy format opens with it
_LEGACY_PROTOCOL_VERSION = 1001
_STORAGE_ALIGNMENT = 64

# ---------------------------------------------------------------------------
# Reading


class _CheckpointError(RuntimeError):
    pass


def _restore_location(map_location):
    """torch's map_location rules: where a storage saved at `location` goes.
    Everything lands on the CPU, the only place Ember has; asking for another
    device raises."""

    def check(where):
        name = str(where)
        if name.startswith("cuda"):
            raise RuntimeError(
                "Attempting to deserialize object on a CUDA device but Ember runs on the CPU "
                "only. Use ember.load with map_location='cpu' (or ember.device('cpu')) to map "
                "your storages to the CPU."
            )
        if name.split(":")[0] != "cpu":
            raise RuntimeError(
                f"ember.load: cannot restore a storage on device '{name}': Ember runs on the CPU "
                "only; pass map_location='cpu'"
            )

    if map_location is None:
        return lambda storage, location: check(location)
    if isinstance(map_location, (str, device)):
        check(map_location)
        return lambda storage, location: None
    if isinstance(map_location, dict):

        def by_dict(storage, location):
            check(map_location.get(location, location))

        return by_dict
    if callable(map_location):

        def by_call(storage, location):
            result = map_location(storage, location)
            if result is None:
                check(location)
            elif not isinstance(result, _C.Tensor):
                raise TypeError(
                    "ember.load: map_location must return None or the storage it was given (a "
                    f"1-d tensor), got {type(result).__name__}"
                )
            elif result.dtype != storage.dtype or result.numel() < storage.numel():
                raise ValueError("ember.load: map_location returned a storage of another size")
            else:
                return result
            return None

        return by_call
    raise TypeError(
        f"map_location must be a string, a device, a dict or a callable, not {map_location!r}"
    )


def _decode(x):
    return x.decode("ascii") if isinstance(x, bytes) else x


def _fill(buffer, readinto, nbytes):
    view = memoryview(buffer.reshape(-1).view(np.uint8))
    done = 0
    while done < nbytes:
        n = readinto(view[done:])
        if not n:
            raise _CheckpointError(f"a storage's data ends after {done} of {nbytes} bytes")
        done += n


def _new_storage(dtype, numel, readinto, swap, restore, location, mmap_array=None):
    """A storage of `numel` elements of `dtype`, its bytes read by readinto (or
    mapped from the file), placed by map_location."""
    if mmap_array is not None:
        array = mmap_array
        if dtype == _C.bool and array.size and array.view(np.uint8).max() > 1:
            array = array != 0
        tensor = _C.from_numpy(array)
        if dtype == _C.bfloat16:  # mapped as its int16 bits
            tensor = tensor.view(dtype)
    else:
        tensor = _C.empty((numel,), dtype=dtype)
        array = raw_numpy(tensor)
        if numel:
            _fill(array, readinto, array.nbytes)
        if swap and array.itemsize > 1:
            array.byteswap(inplace=True)
        if dtype == _C.bool:  # any byte but 0 is True, as torch reads it
            np.not_equal(array.view(np.uint8), 0, out=array)
    moved = restore(tensor, location)
    if moved is not None:
        tensor = moved
    return _Storage(tensor, 0, numel)


class _ZipReader:
    """torch's zip format: data.pkl and the storage records beside it."""

    def __init__(self, zf, prefix, archive_bytes, weights_only, restore, mmap_path):
        self.zf, self.prefix, self.restore = zf, prefix, restore
        self.archive_bytes = archive_bytes
        self.weights_only, self.mmap_path = weights_only, mmap_path
        self.storages = {}
        order = self._read_small("byteorder", default=b"little")
        if order not in (b"little", b"big"):
            raise _CheckpointError(f"unknown byte order {order[:20]!r} in the checkpoint")
        self.swap = order.decode() != sys.byteorder

    def _info(self, name):
        try:
            info = self.zf.getinfo(self.prefix + name)
        except KeyError:
            return None
        # bounded by what the archive holds: deflate expands at most ~1032 times
        limit = self.archive_bytes * (1 if info.compress_type == zipfile.ZIP_STORED else 1032)
        if info.file_size > limit or info.compress_size > self.archive_bytes:
            raise _CheckpointError(f"record {name} claims {info.file_size} bytes")
        return info

    def _read_small(self, name, default=None):
        info = self._info(name)
        return default if info is None else self.zf.read(info)

    def load(self):
        data = self._read_small("data.pkl")
        stream = io.BytesIO(data)
        if self.weights_only:
            return _SafeUnpickler(stream, self).load()
        return _FullUnpickler(stream, self).load()

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and _decode(pid[0]) == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id {str(pid)[:80]}")
        storage_type, key, location, numel = pid[1], _decode(pid[2]), _decode(pid[3]), pid[4]
        if key in self.storages:
            return self.storages[key]
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"a storage of type {storage_type!r}")
        if not (isinstance(key, str) and isinstance(location, str) and _is_int(numel)):
            raise pickle.UnpicklingError("malformed storage reference")
        dtype = storage_type.dtype
        nbytes = numel * _C.empty(0, dtype=dtype).element_size()
        info = self._info(f"data/{key}")
        if info is None:
            raise _CheckpointError(f"the checkpoint has no record for storage {key!r}")
        if numel < 0 or info.file_size < nbytes:
            raise _CheckpointError(
                f"storage {key!r} has {info.file_size} bytes; {numel} elements of "
                f"{_dtype_name(dtype)} need {nbytes}"
            )
        mapped = self._mapped(info, dtype, numel) if self.mmap_path else None
        with self.zf.open(info) as record:
            storage = _new_storage(
                dtype, numel, record.readinto, self.swap, self.restore, location, mapped
            )
        self.storages[key] = storage
        return storage

    def _mapped(self, info, dtype, numel):
        if info.compress_type != zipfile.ZIP_STORED or self.swap or numel == 0:
            return None
        with open(self.mmap_path, "rb") as f:
            f.seek(info.header_offset)
            header = f.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise _CheckpointError("a damaged local file header")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        start = info.header_offset + 30 + name_len + extra_len
        return np.memmap(
            self.mmap_path,
            dtype="=" + _NUMPY_CODES[_dtype_name(dtype)],
            mode="c",
            offset=start,
            shape=(numel,),
        )


class _LegacyReader:
    """torch's legacy format (torch.save(..., _use_new_zipfile_serialization=False)):
    a magic number, a protocol version and system info, each pickled, then the
    pickle with storage ids, the list of storage keys, and each storage's
    element count (8 bytes) and bytes."""

    def __init__(self, stream, end, weights_only, restore):
        self.stream, self.end = stream, end
        self.weights_only, self.restore = weights_only, restore
        self.storages = {}  # key -> (storage, numel, itemsize)

    def _unpickler(self):
        if self.weights_only:
            return _SafeUnpickler(self.stream, self)
        return _FullUnpickler(self.stream, self)

    def load(self):
        version = self._unpickler().load()
        if version != _LEGACY_PROTOCOL_VERSION:
            raise _CheckpointError(f"invalid protocol version {version!r} in a legacy checkpoint")
        self._unpickler().load()  # system info; torch's legacy storages are little-endian
        result = self._unpickler().load()
        keys = self._unpickler().load()
        if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
            raise _CheckpointError("malformed storage key list in a legacy checkpoint")
        for key in keys:
            if key not in self.storages:
                raise _CheckpointError(f"storage {key!r} is listed but never used")
            storage, numel, itemsize = self.storages[key]
            (count,) = struct.unpack("<q", self._read(8))
            if count != numel:
                raise _CheckpointError(f"storage {key!r} holds {count} elements, not {numel}")
            array = raw_numpy(storage.tensor)
            if numel * itemsize > self.end - self.stream.tell():
                raise _CheckpointError(f"storage {key!r}'s data is cut short")
            if numel:
                _fill(array, self.stream.readinto, array.nbytes)
            if sys.byteorder != "little" and itemsize > 1:
                array.byteswap(inplace=True)
            if storage.tensor.dtype == _C.bool:
                np.not_equal(array.view(np.uint8), 0, out=array)
        return result

    def _read(self, n):
        data = self.stream.read(n)
        if len(data) != n:
            raise _CheckpointError("the checkpoint ends early")
        return data

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and _decode(pid[0]) in ("storage", "module")):
            raise pickle.UnpicklingError(f"unknown persistent id {str(pid)[:80]}")
        if _decode(pid[0]) == "module":  # torch checked module sources here
            if not self.weights_only and len(pid) > 1:
                return pid[1]
            raise _refusal("a pickled module")
        if len(pid) != 6:
            raise pickle.UnpicklingError("malformed storage reference")
        storage_type, key, location, numel, view = pid[1:]
        key, location = _decode(key), _decode(location)
        if not isinstance(storage_type, _StorageType) or not _is_int(numel) or numel < 0:
            raise pickle.UnpicklingError("malformed storage reference")
        if not isinstance(key, str) or not isinstance(location, str):
            raise pickle.UnpicklingError("malformed storage reference")
        dtype = storage_type.dtype
        if key not in self.storages:
            itemsize = _C.empty(0, dtype=dtype).element_size()
            if numel * itemsize > self.end - self.stream.tell():
                raise _CheckpointError(
                    f"storage {key!r} claims {numel} elements past the file's end"
                )
            tensor = _C.empty((numel,), dtype=dtype)  # filled once the pickle is read
            moved = self.restore(tensor, location)
            if moved is not None and moved is not tensor:
                raise ValueError("ember.load: map_location may not replace a legacy storage")
            self.storages[key] = (_Storage(tensor, 0, numel), numel, itemsize)
        root = self.storages[key][0]
        if view is None:
            return root
        # (view key, offset, size): an old torch's view of a storage
        if not (isinstance(view, tuple) and len(view) == 3):
            raise pickle.UnpicklingError("malformed storage view")
        view_key, offset, size = _decode(view[0]), view[1], view[2]
        if not (_is_int(offset) and _is_int(size) and 0 <= offset and offset + size <= root.numel):
            raise pickle.UnpicklingError("a storage view past its storage's end")
        del view_key
        return _Storage(root.tensor, offset, size)


def _stream_length(stream):
    try:
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
        return end
    except (OSError, AttributeError, ValueError):
        return None


def _name_of(f):
    return repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else "the file"


def load(
    f,
    map_location=None,
    pickle_module=None,
    *,
    weights_only=None,
    mmap=None,
    **pickle_load_args,
):
    """Reads a checkpoint written by torch.save or ember.save (a path, a binary
    file object or bytes). weights_only (True unless False is passed, as torch's
    default since 2.6) refuses arbitrary classes: Note [weights_only].
    map_location: None, 'cpu', a device, a dict or a callable, as torch's; every
    storage lands on the CPU. mmap=True maps a path's storages instead of reading
    them (copy-on-write, as torch's)."""
    if weights_only is None:
        weights_only = pickle_module is None  # torch: a custom pickle_module turns it off
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    restore = _restore_location(map_location)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as stream:
            mmap_path = os.fspath(f) if mmap else None
            return _load_stream(stream, _name_of(f), weights_only, restore, mmap_path)
    if mmap:
        raise ValueError("f must be a file path in order to use the mmap argument")
    if isinstance(f, (bytes, bytearray, memoryview)):
        f = io.BytesIO(bytes(f))
    return _load_stream(f, _name_of(f), weights_only, restore, None)


def _load_stream(stream, name, weights_only, restore, mmap_path):
    end = _stream_length(stream)
    if end is None:  # a pipe or socket: the zip reader needs to seek
        stream = io.BytesIO(stream.read())
        end = len(stream.getbuffer())
    start = stream.tell()
    magic = stream.read(4)
    stream.seek(start)
    try:
        if magic == b"PK\x03\x04":
            return _load_zip(stream, end - start, weights_only, restore, mmap_path)
        return _load_pickle(stream, name, end, weights_only, restore)
    except (WeightsOnlyError, _CheckpointError):
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        struct.error,
        EOFError,
        NotImplementedError,
        UnicodeDecodeError,
        __import__("zlib").error,
    ) as exc:
        raise _CheckpointError(f"ember.load: the checkpoint is damaged: {exc}") from exc


def _load_zip(stream, archive_bytes, weights_only, restore, mmap_path):
    with zipfile.ZipFile(stream) as zf:
        names = zf.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if any(n.endswith("/constants.pkl") for n in names):
            raise _CheckpointError(
                "ember.load: this zip file is a TorchScript archive (torch.jit.save), which "
                "Ember cannot run; save the model's state_dict with torch.save instead"
            )
        if not pickles:
            raise _CheckpointError(
                "ember.load: a zip file without <archive>/data.pkl is not a torch checkpoint"
            )
        prefix = pickles[0][: -len("data.pkl")]
        return _ZipReader(zf, prefix, archive_bytes, weights_only, restore, mmap_path).load()


def _load_pickle(stream, name, end, weights_only, restore):
    """torch's legacy format, or a plain pickle (what Ember wrote before 0.2)."""
    start = stream.tell()
    head = stream.read(2)
    stream.seek(start)
    # protocol 2+ pickles open with PROTO; torch's legacy files and Ember's old ones are such
    if len(head) < 2 or head[0] != pickle.PROTO[0] or not 2 <= head[1] <= pickle.HIGHEST_PROTOCOL:
        what = "is empty" if not head else f"starts with {head!r}"
        raise pickle.UnpicklingError(
            f"ember.load: {name} is not a checkpoint: it {what}, while torch's zip format "
            "(what torch.save and ember.save write) starts with b'PK\\x03\\x04' and torch's "
            "legacy format and older Ember checkpoints with a pickle protocol mark (b'\\x80')"
        )
    if weights_only:
        value = _SafeUnpickler(stream, _NoStorages()).load()
    else:
        value = _FullUnpickler(stream, _NoStorages()).load()
    if _is_int(value) and value == _MAGIC_NUMBER:
        return _LegacyReader(stream, end, weights_only, restore).load()
    return value


class _NoStorages:
    def persistent_load(self, pid):
        raise pickle.UnpicklingError("a storage reference outside a torch checkpoint")


# ---------------------------------------------------------------------------
# Writing


class _Global:
    """A name written into the pickle as a global (torch's functions and
    classes), without importing it: Ember writes torch's names without torch."""

    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle asks that a reduce function be callable
        raise TypeError(f"{self.module}.{self.name} is a name written into checkpoints")


_REBUILD_TENSOR = _Global("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _Global("torch._utils", "_rebuild_parameter")
_REBUILD_PARAMETER_STATE = _Global("torch._utils", "_rebuild_parameter_with_state")
_TORCH_SIZE = _Global("torch", "Size")
_TORCH_DEVICE = _Global("torch", "device")
_TORCH_STORAGES = {d: _Global("torch", n) for d, n in _STORAGE_NAME_OF.items()}


class _StorageRef:
    __slots__ = ("key", "dtype_name", "numel")

    def __init__(self, key, dtype_name, numel):
        self.key, self.dtype_name, self.numel = key, dtype_name, numel


class _TorchPickler(pickle._Pickler):
    """Pickles tensors as torch.save does: _rebuild_tensor_v2 over persistent
    storage ids, with dtypes, sizes and devices under torch's names."""

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, protocol, legacy=False):
        super().__init__(file, protocol)
        self.legacy = legacy
        self.storages = {}  # key -> 1-d tensor over the storage
        self._refs = {}  # (address, nbytes) -> _StorageRef

    def persistent_id(self, obj):
        if type(obj) is _StorageRef:
            pid = ("storage", _TORCH_STORAGES[obj.dtype_name], obj.key, "cpu", obj.numel)
            return pid + (None,) if self.legacy else pid
        return None

    def reducer_override(self, obj):
        if not isinstance(obj, _C.Tensor):
            return NotImplemented
        from .nn.modules import Parameter

        if isinstance(obj, Parameter):
            state = {k: v for k, v in vars(obj).items()} if hasattr(obj, "__dict__") else {}
            if state:
                return (
                    _REBUILD_PARAMETER_STATE,
                    (obj.detach(), obj.requires_grad, collections.OrderedDict(), state),
                )
            return (
                _REBUILD_PARAMETER,
                (obj.detach(), obj.requires_grad, collections.OrderedDict()),
            )
        return (
            _REBUILD_TENSOR,
            (
                self._storage_ref(obj),
                obj.storage_offset(),
                tuple(obj.shape),
                obj.stride(),
                obj.requires_grad,
                collections.OrderedDict(),
            ),
        )

    def _storage_ref(self, t):
        address, nbytes = _C._storage_info(t)
        ref = self._refs.get((address, nbytes))
        if ref is None:
            numel = nbytes // t.element_size()
            ref = _StorageRef(str(len(self._refs)), _dtype_name(t.dtype), numel)
            self._refs[(address, nbytes)] = ref
            self.storages[ref.key] = _C._storage_view(t, 0, [numel], [1])
        elif ref.dtype_name != _dtype_name(t.dtype):
            raise RuntimeError(
                "Cannot save multiple tensors or storages that view the same data as different "
                "types"
            )
        return ref

    def _write_global(self, obj, module, name):
        if self.proto >= 4:
            self.save(module)
            self.save(name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode())
        self.memoize(obj)

    def _save_global_name(self, obj):
        self._write_global(obj, obj.module, obj.name)

    def _save_dtype(self, obj):
        self._write_global(obj, "torch", _dtype_name(obj))

    def _save_size(self, obj):
        self.save_reduce(_TORCH_SIZE, (tuple(obj),), obj=obj)

    def _save_device(self, obj):
        self.save_reduce(_TORCH_DEVICE, (str(obj),), obj=obj)

    dispatch[_Global] = _save_global_name
    dispatch[type(_C.float32)] = _save_dtype
    dispatch[Size] = _save_size
    dispatch[device] = _save_device


def _storage_bytes(t, little_endian=False):
    array = raw_numpy(t)
    if little_endian and sys.byteorder != "little":
        array = array.byteswap()
    return array.view(np.uint8)  # (a memoryview cast refuses empty arrays)


class _ZipWriter:
    """Records as torch's writer lays them: stored (not compressed), each
    record's data starting on a 64-byte boundary (so it can be memory-mapped)."""

    def __init__(self, stream, archive="archive"):
        self.zf = zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED, allowZip64=True)
        self.archive = archive

    def write(self, name, data):
        data = memoryview(data)
        full = f"{self.archive}/{name}"
        info = zipfile.ZipInfo(full, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_STORED
        info.file_size = data.nbytes
        zip64 = info.file_size * 1.05 > zipfile.ZIP64_LIMIT  # zipfile's own rule
        # local header (30 bytes) + name + our padding field (4 + pad) + zip64 field
        data_start = self.zf.start_dir + 30 + len(full.encode("utf-8")) + (20 if zip64 else 0) + 4
        pad = -data_start % _STORAGE_ALIGNMENT
        info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # "FB", as torch's writer
        with self.zf.open(info, "w", force_zip64=zip64) as out:
            out.write(data)

    def close(self):
        self.zf.close()


def save(
    obj,
    f,
    pickle_module=pickle,
    pickle_protocol=DEFAULT_PROTOCOL,
    _use_new_zipfile_serialization=True,
    _disable_byteorder_record=False,
):
    """Writes obj in torch's checkpoint format to a path or a binary file object.
    torch.load reads it (a state_dict, an optimizer's, tensors in containers with
    weights_only=True); tensors sharing storage share it once loaded."""
    del pickle_module  # the pickler must write torch's names: it is Ember's own
    options = (pickle_protocol, _use_new_zipfile_serialization, _disable_byteorder_record)
    if isinstance(f, (str, os.PathLike)):
        # torch names the archive's folder after the file: "model" for model.pt
        archive = os.path.splitext(os.path.basename(os.fspath(f)))[0] or "archive"
        with open(f, "wb") as out:
            _save_stream(obj, out, *options, archive=archive)
    else:
        _save_stream(obj, f, *options)


def _save_stream(obj, stream, protocol, zip_format, no_byteorder, archive="archive"):
    data = io.BytesIO()
    pickler = _TorchPickler(data, protocol, legacy=not zip_format)
    pickler.dump(obj)
    if not zip_format:
        return _save_legacy(pickler, data.getvalue(), stream, protocol)
    writer = _ZipWriter(stream, archive)
    try:
        writer.write("data.pkl", data.getvalue())
        writer.write(".format_version", b"1")
        writer.write(".storage_alignment", str(_STORAGE_ALIGNMENT).encode())
        if not no_byteorder:
            writer.write("byteorder", sys.byteorder.encode())
        for key, t in pickler.storages.items():
            writer.write(f"data/{key}", _storage_bytes(t))
        writer.write("version", b"3\n")
        writer.write(".data/serialization_id", str(uuid.uuid4().int).zfill(40)[:40].encode())
    finally:
        writer.close()
    return None


def _save_legacy(pickler, data, stream, protocol):
    sys_info = {
        "protocol_version": _LEGACY_PROTOCOL_VERSION,
        "little_endian": sys.byteorder == "little",
        "type_sizes": {"short": 2, "int": 4, "long": 4},
    }
    for value in (_MAGIC_NUMBER, _LEGACY_PROTOCOL_VERSION, sys_info):
        pickle.dump(value, stream, protocol=protocol)
    stream.write(data)
    pickle.dump(sorted(pickler.storages), stream, protocol=protocol)
    for key in sorted(pickler.storages):
        t = pickler.storages[key]
        stream.write(struct.pack("<q", t.numel()))
        stream.write(_storage_bytes(t, little_endian=True))
