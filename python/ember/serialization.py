"""ember.save / ember.load: objects holding tensors, written with pickle.

Tensors, Parameters, modules and optimizer state_dicts pickle as their values
(plus requires_grad), so a checkpoint round-trips within Ember. The file is a
plain pickle, not torch's zip archive: torch cannot read it, nor Ember torch's.
"""

import io
import os
import pickle

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
class _WeightsUnpickler(pickle._Unpickler):
    def find_class(self, module, name):
        if (module, name) in _SAFE_NAMES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"Weights only load failed: {module}.{name} is not an allowed global. Load with "
            "weights_only=False only if you trust the file."
        )


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
