"""The unpicklers of ember.load: load(weights_only=True)'s allow-list and checks
(Note [weights_only] in ember/serialization.py), and torch's add_safe_globals API."""

import _compat_pickle
import collections
import contextlib
import functools
import math
import pickle
import struct

import numpy as np

from . import _C
from ._checkpoint_names import torch_name
from ._device import device
from ._size import Size

# ---------------------------------------------------------------------------
# weights_only: what may be rebuilt (Note [weights_only])


def _numpy_multiarray():
    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy 1
        from numpy.core import multiarray
    return multiarray


_multiarray = _numpy_multiarray()


@functools.cache
def _legacy_ember_names():
    from ._dtype_info import dtype_from_name
    from ._tensor import _rebuild_tensor as rebuild_ember_tensor
    from .nn.modules import _rebuild_parameter as rebuild_ember_parameter

    return {
        ("ember._tensor", "_rebuild_tensor"): rebuild_ember_tensor,
        ("ember.nn.modules", "_rebuild_parameter"): rebuild_ember_parameter,
        ("ember._dtype_info", "dtype_from_name"): dtype_from_name,
        ("ember._size", "Size"): Size,
        ("ember._device", "device"): device,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
        ("numpy.core.multiarray", "scalar"): _multiarray.scalar,
        ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
    }


_SAFE_BUILTINS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("collections", "Counter"): collections.Counter,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
    ("builtins", "slice"): slice,
    ("builtins", "bytearray"): bytearray,
    ("_codecs", "encode"): __import__("_codecs").encode,
}

_user_safe_globals = {}  # "module.name" -> object, from add_safe_globals


def _qualified_name(obj):
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def add_safe_globals(safe_globals):
    """Lets load(weights_only=True) rebuild these classes and functions (as torch's).
    Entries are objects, or (object, "module.name") pairs for a name they are saved by."""
    for entry in safe_globals:
        if isinstance(entry, tuple):
            obj, name = entry
        else:
            obj, name = entry, _qualified_name(entry)
        _user_safe_globals[name] = obj


def get_safe_globals():
    return list(_user_safe_globals.values())


def clear_safe_globals():
    _user_safe_globals.clear()


@contextlib.contextmanager
def safe_globals(safe_globals):
    """add_safe_globals for the duration of a with block."""
    saved = dict(_user_safe_globals)
    add_safe_globals(safe_globals)
    try:
        yield
    finally:
        _user_safe_globals.clear()
        _user_safe_globals.update(saved)


class WeightsOnlyError(pickle.UnpicklingError):
    """A file holds something load(weights_only=True) will not rebuild."""


def _refusal(what):
    return WeightsOnlyError(
        f"Weights only load failed: {what}. Load with weights_only=False only if you trust "
        "the file, or allow the names it needs with ember.serialization.add_safe_globals."
    )


# The array dtypes a legacy Ember checkpoint may hold: numbers and bools, no objects.
_ARRAY_CODES = {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"}


def _checked_call(func, args):
    """A call a weights_only pickle asks for, made only if its arguments are sane."""
    if not isinstance(args, tuple):
        raise _refusal("a call's arguments are not a tuple")
    if func is np.ndarray or (isinstance(func, type) and issubclass(func, np.ndarray)):
        raise _refusal("numpy.ndarray is rebuilt only through _reconstruct")
    if func is np.dtype:
        if not (
            len(args) == 3
            and args[0] in _ARRAY_CODES
            and all(isinstance(a, bool) for a in args[1:])
        ):
            raise _refusal(f"numpy.dtype{args!r}")
    elif func is _multiarray._reconstruct:
        if args != (np.ndarray, (0,), b"b"):
            raise _refusal(f"numpy _reconstruct{args!r}")
    elif func is _multiarray.scalar:
        if not (
            len(args) == 2
            and isinstance(args[0], np.dtype)
            and isinstance(args[1], bytes)
            and len(args[1]) == args[0].itemsize
        ):
            raise _refusal("a malformed numpy scalar")
    elif func is _SAFE_BUILTINS[("_codecs", "encode")]:
        # what protocol-2 pickles make bytes with; other codecs could decompress
        if not (len(args) == 2 and isinstance(args[0], str) and args[1] in ("latin1", "latin-1")):
            raise _refusal(f"_codecs.encode with arguments {args!r}")
    elif func is bytearray:
        if len(args) > 1 or (args and not isinstance(args[0], (bytes, str, list))):
            raise _refusal("bytearray of a size")  # bytearray(n) allocates n bytes
    return func(*args)


def _check_numpy_state(obj, state):
    """The state BUILD gives an array or dtype must be what NumPy itself writes
    (NumPy trusts its own pickles: a malformed dtype state crashes the process)."""
    if isinstance(obj, np.dtype):
        well_formed = (
            isinstance(state, tuple)
            and len(state) == 8
            and state[0] == 3
            and state[1] in ("<", ">", "|", "=")
            and state[2:] == (None, None, None, -1, -1, 0)
        )
        if not well_formed:
            raise _refusal("a malformed numpy dtype state")
        return
    well_formed = (
        isinstance(state, tuple)
        and len(state) == 5
        and state[0] == 1
        and isinstance(state[1], tuple)
        and all(type(n) is int and n >= 0 for n in state[1])
        and isinstance(state[2], np.dtype)
        and state[2].str[1:] in _ARRAY_CODES
        and isinstance(state[3], bool)
        and isinstance(state[4], bytes)
        and len(state[4]) == math.prod(state[1]) * state[2].itemsize
    )
    if not well_formed:
        raise _refusal("a malformed numpy array state")


class _BoundedUnpickler(pickle._Unpickler):
    """pickle's pure-Python unpickler, allocating nothing a file merely claims:
    Note [weights_only]."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def load_bytearray8(self):
        (size,) = struct.unpack("<Q", self.read(8))
        data = self.read(size)  # bytearray(size) first would allocate what the file claims
        if len(data) != size:
            raise pickle.UnpicklingError("BYTEARRAY8 past the end of the data")
        self.append(bytearray(data))

    dispatch[pickle.BYTEARRAY8[0]] = load_bytearray8


class _SafeUnpickler(_BoundedUnpickler):
    """The weights_only unpickler: allowed names only, and checked calls."""

    dispatch = dict(_BoundedUnpickler.dispatch)

    def __init__(self, file, reader):
        super().__init__(file, encoding="utf-8")
        self._reader = reader

    def find_class(self, module, name):
        module, name = _fix_name(self.proto, module, name)
        found = torch_name(module, name)
        if found is not None:
            return found
        found = _SAFE_BUILTINS.get((module, name)) or _legacy_ember_names().get((module, name))
        if found is not None:
            return found
        if f"{module}.{name}" in _user_safe_globals:
            return _user_safe_globals[f"{module}.{name}"]
        raise _refusal(
            f"Unsupported global: GLOBAL {module}.{name} was not an allowed global by default. "
            f"Use ember.serialization.add_safe_globals([{name}]) or the "
            f"ember.serialization.safe_globals([{name}]) context manager to allow it if you "
            "trust this class or function"
        )

    def persistent_load(self, pid):
        return self._reader.persistent_load(pid)

    def load_reduce(self):
        args = self.stack.pop()
        self.stack[-1] = _checked_call(self.stack[-1], args)

    def load_newobj(self):
        args = self.stack.pop()
        cls = self.stack[-1]
        if not isinstance(args, tuple):
            raise _refusal("a call's arguments are not a tuple")
        if isinstance(cls, type) and _qualified_name(cls) in _user_safe_globals:
            self.stack[-1] = cls.__new__(cls, *args)
        else:
            self.stack[-1] = _checked_call(cls, args)

    def load_newobj_ex(self):
        kwargs = self.stack.pop()
        args = self.stack.pop()
        if kwargs:
            raise _refusal("NEWOBJ_EX with keyword arguments")
        self.stack[-1] = _checked_call(self.stack[-1], args)

    def load_build(self):
        obj, state = self.stack[-2], self.stack[-1]
        if isinstance(obj, (np.dtype, np.ndarray)):
            _check_numpy_state(obj, state)
        elif isinstance(obj, (collections.OrderedDict, collections.Counter, _C.Tensor)):
            # state_dict()'s _metadata, tensors' attributes
            if not (isinstance(state, dict) and all(isinstance(k, str) for k in state)):
                raise _refusal(f"a malformed {type(obj).__name__} state")
        elif _qualified_name(type(obj)) not in _user_safe_globals:
            raise _refusal(f"BUILD of a {type(obj).__name__}")
        _BoundedUnpickler.load_build(self)

    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.BUILD[0]] = load_build


class _FullUnpickler(_BoundedUnpickler):
    """weights_only=False: any class, with torch's names mapped to Ember's."""

    def __init__(self, file, reader):
        super().__init__(file, encoding="utf-8")
        self._reader = reader

    def find_class(self, module, name):
        # (pickle's own find_class maps Python 2 names; torch's need no mapping)
        found = torch_name(module, name)
        if found is not None:
            return found
        if module == "torch" or module.startswith("torch."):
            raise pickle.UnpicklingError(
                f"ember.load: the checkpoint needs torch's {module}.{name}, which "
                "Ember cannot rebuild: save a state_dict (tensors and plain values) in torch "
                "instead of a whole torch object"
            )
        return super().find_class(module, name)

    def persistent_load(self, pid):
        return self._reader.persistent_load(pid)


def _fix_name(proto, module, name):
    # Python 2 names in protocol < 3 pickles (__builtin__.set), as pickle's own find_class
    if proto < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            return _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    return module, name
