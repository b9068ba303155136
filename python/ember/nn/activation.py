"""More activations, composed from differentiable ops, as functions and modules.

Each follows torch's backward at the kinks (hardtanh passes no gradient at its
bounds, hardswish's slope at +-3 is torch's), and NaN stays NaN.
"""

from .. import _C
from .functional import _in_place, _refuse_integers, softmax, softplus
from .modules import Module


def _maybe_in_place(input, out, inplace):
    return _in_place(input, out) if inplace else out


def elu(input, alpha=1.0, inplace=False):
    _refuse_integers(input, "elu")
    negative = alpha * _negative_part(input).expm1()
    return _maybe_in_place(input, _C.where(_positive_side(input), input, negative), inplace)


def _negative_part(input):
    # x where x <= 0, else 0: expm1 never sees a large x (or a NaN) whose
    # masked-out gradient would come back as NaN.
    return _C.where(input <= 0, input, _C.zeros((), dtype=input.dtype))


def _positive_side(input):
    # NaN takes the linear side, whose slope torch's backward gives it.
    return ~(input <= 0)


def celu(input, alpha=1.0, inplace=False):
    _refuse_integers(input, "elu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    negative = alpha * (_negative_part(input) / alpha).expm1()
    return _maybe_in_place(input, _C.where(_positive_side(input), input, negative), inplace)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    return _maybe_in_place(input, _SELU_SCALE * elu(input, _SELU_ALPHA), inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    clipped = input.clamp(min_val, max_val)
    # No gradient at or past the bounds; NaN passes its gradient, as torch's.
    inside = ~((input <= min_val) | (input >= max_val))
    return _maybe_in_place(input, _C.where(inside, input, clipped.detach()), inplace)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input, inplace=False):
    _refuse_integers(input, "hardsigmoid_cpu")
    inside = (input > -3) & (input < 3)  # NaN gets no gradient here, as torch's
    clipped = ((input + 3).clamp(0.0, 6.0) / 6).detach()
    return _maybe_in_place(input, _C.where(inside, (input + 3) / 6, clipped), inplace)


def hardswish(input, inplace=False):
    _refuse_integers(input, "hardswish_cpu")
    zero = _C.zeros((), dtype=input.dtype)
    inside = (input > -3) & (input < 3)
    x = _C.where(inside, input, zero)  # the unused branch must not see infinities
    # torch's slopes at the joins: 0 at -3, 1 at +3 (and for NaN); below -3
    # torch's value is x * 0, which is NaN at -inf
    out = _C.where(input <= -3, input * 0, _C.where(inside, x * (x + 3) / 6, input))
    return _maybe_in_place(input, out, inplace)


def logsigmoid(input):
    _refuse_integers(input, "log_sigmoid_forward_cpu")
    # softplus goes linear past its threshold: no overflow. 0 - s rather than -s:
    # at +inf the value and the gradient are +0.0, as torch's.
    return 0.0 - softplus(-input)


def softsign(input):
    return input / (1 + input.abs())


def tanhshrink(input):
    return input - input.tanh()


def mish(input, inplace=False):
    _refuse_integers(input, "mish_cpu")
    x = input.clone() if inplace else input  # the product saves x: not the tensor written
    return _maybe_in_place(input, x * softplus(x).tanh(), inplace)


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
    _refuse_integers(input, "hardshrink_cpu")
    inside = (input >= -lambd) & (input <= lambd)  # NaN is outside, and stays NaN
    return _C.where(inside, _C.zeros((), dtype=input.dtype), input)


def softshrink(input, lambd=0.5):
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    _refuse_integers(input, "softshrink_cpu")
    # Inside the band the value is 0 and no gradient passes; NaN passes both on.
    zero = _C.where(input != input, input, _C.zeros((), dtype=input.dtype))
    shrunk = _C.where(input > lambd, input - lambd, zero)
    return _C.where(input < -lambd, input + lambd, shrunk)


def threshold(input, threshold, value, inplace=False):
    out = _C.where(input <= threshold, _C.full((), value, dtype=input.dtype), input)
    return _maybe_in_place(input, out, inplace)


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
}
MODULES = (ELU, CELU, SELU, Hardtanh, ReLU6, Hardsigmoid, Hardswish, LogSigmoid)
MODULES += (Softsign, Tanhshrink, Mish, GLU, Hardshrink, Softshrink, Threshold, Softmin)
