"""ember.save / ember.load: objects holding tensors, written with pickle.

Tensors, Parameters, modules and optimizer state_dicts pickle as their values
(plus requires_grad), so a checkpoint round-trips within Ember. The file is a
plain pickle, not torch's zip archive: torch cannot read it, nor Ember torch's.
"""

import io
import math
import os
import pickle

import numpy as np

# What load(weights_only=True) will rebuild: containers, numbers, dtypes,
# sizes and tensors (whose values travel as NumPy arrays). Nothing here can
# reach arbitrary attributes: no getattr, no eval-like callables.
_SAFE_NAMES = {
    ("collections", "OrderedDict"),
    ("ember._tensor", "_rebuild_tensor"),
    ("ember.nn.modules", "_rebuild_parameter"),
    ("ember._dtype_info", "dtype_from_name"),
    ("ember._size", "Size"),
    ("builtins", "complex"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "slice"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


# The pure-Python unpickler, not the C one: the C one sizes its memo table by
# the largest index a file names, so 26 corrupted bytes can ask for gigabytes.
# NumPy arrays are rebuilt only the way NumPy pickles them, and their pieces
# are checked first: NumPy trusts its own pickles (a malformed dtype state
# crashes the process; ndarray((n,)) is n uninitialized elements).
class _WeightsUnpickler(pickle._Unpickler):
    dispatch = dict(pickle._Unpickler.dispatch)

    def find_class(self, module, name):
        if (module, name) in _SAFE_NAMES:
            return super().find_class(module, name)
        raise _refusal(f"{module}.{name} is not an allowed global")

    def load_reduce(self):
        args = self.stack.pop()
        self.stack[-1] = _checked_call(self.stack[-1], args)

    def load_newobj(self):
        args = self.stack.pop()
        self.stack[-1] = _checked_call(self.stack[-1], args)

    def load_newobj_ex(self):
        kwargs = self.stack.pop()
        args = self.stack.pop()
        if kwargs:
            raise _refusal("NEWOBJ_EX with keyword arguments")
        self.stack[-1] = _checked_call(self.stack[-1], args)

    def load_build(self):
        _check_numpy_state(self.stack[-2], self.stack[-1])
        pickle._Unpickler.load_build(self)

    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.BUILD[0]] = load_build


def _refusal(what):
    return pickle.UnpicklingError(
        f"Weights only load failed: {what}. Load with weights_only=False only if you trust "
        "the file."
    )


# The array dtypes a checkpoint may hold: numbers and bools, no objects.
_DTYPE_CODES = {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"}


def _checked_call(func, args):
    if not isinstance(args, tuple):
        raise _refusal("a call's arguments are not a tuple")
    if func is np.ndarray or (isinstance(func, type) and issubclass(func, np.ndarray)):
        raise _refusal("numpy.ndarray is rebuilt only through _reconstruct")
    if func is np.dtype:
        if not (
            len(args) == 3
            and args[0] in _DTYPE_CODES
            and all(isinstance(a, bool) for a in args[1:])
        ):
            raise _refusal(f"numpy.dtype{args!r}")
    elif getattr(func, "__name__", None) == "_reconstruct":
        if args != (np.ndarray, (0,), b"b"):
            raise _refusal(f"numpy _reconstruct{args!r}")
    elif getattr(func, "__name__", None) == "scalar":
        if not (
            len(args) == 2
            and isinstance(args[0], np.dtype)
            and isinstance(args[1], bytes)
            and len(args[1]) == args[0].itemsize
        ):
            raise _refusal("a malformed numpy scalar")
    return func(*args)


def _check_numpy_state(obj, state):
    """The state BUILD gives an array or dtype must be what NumPy itself writes."""
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
    elif isinstance(obj, np.ndarray):
        well_formed = (
            isinstance(state, tuple)
            and len(state) == 5
            and state[0] == 1
            and isinstance(state[1], tuple)
            and all(type(n) is int and n >= 0 for n in state[1])
            and isinstance(state[2], np.dtype)
            and state[2].str[1:] in _DTYPE_CODES
            and isinstance(state[3], bool)
            and isinstance(state[4], bytes)
            and len(state[4]) == math.prod(state[1]) * state[2].itemsize
        )
        if not well_formed:
            raise _refusal("a malformed numpy array state")


def save(obj, f, pickle_module=pickle, pickle_protocol=pickle.DEFAULT_PROTOCOL, **unused):
    """Writes obj to a path or a binary file object."""
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as out:
            pickle_module.dump(obj, out, protocol=pickle_protocol)
    else:
        pickle_module.dump(obj, f, protocol=pickle_protocol)


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **unused):
    """Reads what save wrote. weights_only (True unless False is passed, as torch's
    default) refuses arbitrary classes."""
    del map_location, mmap  # one device, no memory mapping
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as stream:
            return load(stream, pickle_module=pickle_module, weights_only=weights_only)
    if isinstance(f, (bytes, bytearray)):
        f = io.BytesIO(f)
    if weights_only is not False:
        if not isinstance(f, io.BytesIO):  # reads of corrupted lengths stay within the data
            f = io.BytesIO(f.read())
        return _WeightsUnpickler(f).load()
    return (pickle_module or pickle).load(f)
