"""torch.device and torch.cuda as a CPU-only library has them.

Devices parse and compare as torch's do, so scripts written for torch can name
them; placing a tensor anywhere but the CPU fails with torch's exception type
(AssertionError for CUDA, RuntimeError for the rest).
"""

# torch's list, so a misspelt device gets the message torch users know.
_KNOWN_TYPES = (
    "cpu cuda ipu xpu mkldnn opengl opencl ideep hip ve fpga maia xla lazy vulkan mps meta hpu "
    "mtia privateuseone"
).split()


class device:
    """A device name: ``device("cpu")``, ``device("cuda:1")``, ``device("cuda", 1)``."""

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        elif isinstance(type, int) and not isinstance(type, bool):
            raise RuntimeError("Cannot access accelerator device when none is available.")
        elif not isinstance(type, str):
            raise TypeError(
                f"device() received an invalid combination of arguments - got "
                f"({_type_name(type)}), but expected one of: (ember.device device), "
                "(str type, int index = -1)"
            )
        else:
            type, index = _parse(type, index)
        self.type = type
        self.index = index

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))


def _type_name(obj):
    return "NoneType" if obj is None else type(obj).__name__


def _parse(text, index):
    if not text:
        raise RuntimeError("Device string must not be empty")
    name, colon, number = text.partition(":")
    if name not in _KNOWN_TYPES:
        raise RuntimeError(
            f"Expected one of {', '.join(_KNOWN_TYPES)} device type at start of device "
            f"string: {text}"
        )
    if colon:
        if not number.isdigit() or index is not None:
            raise RuntimeError(f"Invalid device string: '{text}'")
        index = int(number)
    return name, index


def check_device(where):
    """Raises unless `where` (a device, a device string or None) is the CPU."""
    if where is None:
        return
    d = where if isinstance(where, device) else device(where)
    if d.type == "cuda":
        raise AssertionError("Ember is not compiled with CUDA enabled: it runs on the CPU only")
    if d.type != "cpu":
        raise RuntimeError(f"Ember runs on the CPU only, got device '{d}'")


class cuda:
    """torch.cuda's questions, answered for a CPU-only library."""

    @staticmethod
    def is_available():
        return False

    @staticmethod
    def device_count():
        return 0
