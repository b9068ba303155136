"""More activations, as functions and modules.

The ones with torch nodes of their own (elu, hardtanh, hardswish, ...) run the
C++ activation table; softsign, tanhshrink, glu and softmin are composed, as
in torch.
"""

from .._C import _ActivationOp as _Op
from .._C import _nn
from .._dtype_info import TYPE_NAMES
from .._dtype_info import finfo as _finfo
from .functional import _refuse_integers, softmax
from .modules import Module


def _run(op, input, inplace, *params):
    if inplace:
        return _nn._activation_(op, input, *params)
    return _nn._activation(op, input, *params)


def elu(input, alpha=1.0, inplace=False):
    return _run(_Op.elu, input, inplace, alpha, 1.0, 1.0)


def elu_(input, alpha=1.0):
    return _run(_Op.elu, input, True, alpha, 1.0, 1.0)


def celu(input, alpha=1.0, inplace=False):
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _run(_Op.celu, input, inplace, alpha, 1.0, 1.0 / alpha)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    return _run(_Op.elu, input, inplace, _SELU_ALPHA, _SELU_SCALE, 1.0)


def selu_(input):
    return selu(input, inplace=True)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _run(_Op.hardtanh, input, inplace, min_val, max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    return _run(_Op.hardtanh, input, inplace, 0.0, 6.0)


def hardsigmoid(input, inplace=False):
    return _run(_Op.hardsigmoid, input, inplace)


def hardswish(input, inplace=False):
    return _run(_Op.hardswish, input, inplace)


def logsigmoid(input):
    return _nn._activation(_Op.logsigmoid, input)


def softsign(input):
    return input / (1 + input.abs())


def tanhshrink(input):
    return input - input.tanh()


def mish(input, inplace=False):
    return _run(_Op.mish, input, inplace)


def glu(input, dim=-1):
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    if not -input.dim() <= dim < input.dim():
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-input.dim()}, "
            f"{input.dim() - 1}], but got {dim})"
        )
    _refuse_integers(input, "glu_out")
    d = dim % input.dim()
    if input.shape[d] % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {d} is size {input.shape[d]}"
        )
    a, b = input.chunk(2, d)
    return a * b.sigmoid()


def hardshrink(input, lambd=0.5):
    return _nn._activation(_Op.hardshrink, input, lambd)


def softshrink(input, lambd=0.5):
    if lambd < 0 and input.is_floating_point():
        largest = float(_finfo(input.dtype).max)
        raise RuntimeError(
            f"lambda must be in range [0, {largest:g}] for input dtype "
            f"{TYPE_NAMES[input.dtype]}, but found {lambd:g}"
        )
    return _nn._activation(_Op.softshrink, input, lambd)


def threshold(input, threshold, value, inplace=False):
    return _run(_Op.threshold, input, inplace, threshold, value)


def threshold_(input, threshold, value):
    return _run(_Op.threshold, input, True, threshold, value)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return softmax(-input, dim, _stacklevel + 1, dtype)


# ---- modules ----


class _Elementwise(Module):
    """An activation module: its keyword arguments, then forward = the function."""

    _function = None
    _arguments = ()

    def __init__(self, *args, **kwargs):
        super().__init__()
        names = list(self._arguments)
        values = dict(zip(names, self._defaults))
        values.update(zip(names, args))
        values.update(kwargs)
        for name in names:
            setattr(self, name, values[name])

    def forward(self, input):
        return type(self)._function(input, *(getattr(self, n) for n in self._arguments))

    def extra_repr(self):  # torch's: the arguments, then inplace only when set
        parts = [f"{n}={getattr(self, n)}" for n in self._arguments if n != "inplace"]
        if getattr(self, "inplace", False):
            parts.append("inplace=True")
        return ", ".join(parts)


def _module(name, function, arguments=(), defaults=()):
    return type(
        name,
        (_Elementwise,),
        {
            "_function": staticmethod(function),
            "_arguments": arguments,
            "_defaults": defaults,
            "__doc__": f"Applies {function.__name__} elementwise (torch.nn.{name}).",
        },
    )


ELU = _module("ELU", elu, ("alpha", "inplace"), (1.0, False))
CELU = _module("CELU", celu, ("alpha", "inplace"), (1.0, False))
SELU = _module("SELU", selu, ("inplace",), (False,))
Hardtanh = _module("Hardtanh", hardtanh, ("min_val", "max_val", "inplace"), (-1.0, 1.0, False))
ReLU6 = _module("ReLU6", relu6, ("inplace",), (False,))
Hardsigmoid = _module("Hardsigmoid", hardsigmoid, ("inplace",), (False,))
Hardswish = _module("Hardswish", hardswish, ("inplace",), (False,))
LogSigmoid = _module("LogSigmoid", logsigmoid)
Softsign = _module("Softsign", softsign)
Tanhshrink = _module("Tanhshrink", tanhshrink)
Mish = _module("Mish", mish, ("inplace",), (False,))
GLU = _module("GLU", glu, ("dim",), (-1,))
Hardshrink = _module("Hardshrink", hardshrink, ("lambd",), (0.5,))
Softshrink = _module("Softshrink", softshrink, ("lambd",), (0.5,))
Threshold = _module("Threshold", threshold, ("threshold", "value", "inplace"), (None, None, False))
Softmin = _module("Softmin", softmin, ("dim",), (None,))

FUNCTIONS = {
    f.__name__: f
    for f in (elu, celu, selu, hardtanh, relu6, hardsigmoid, hardswish, logsigmoid)
    + (softsign, tanhshrink, mish, glu, hardshrink, softshrink, threshold, softmin)
    + (elu_, celu_, selu_, hardtanh_, threshold_)
}
MODULES = (ELU, CELU, SELU, Hardtanh, ReLU6, Hardsigmoid, Hardswish, LogSigmoid)
MODULES += (Softsign, Tanhshrink, Mish, GLU, Hardshrink, Softshrink, Threshold, Softmin)
