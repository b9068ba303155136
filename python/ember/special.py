"""torch.special: the error, gamma, normal-distribution, Bessel and information
functions under scipy's names.

Each is one of Ember's ops or a short composition of them; the
orthogonal-polynomial families, zeta and the incomplete gamma functions are not
here yet."""

import math

from . import _C, _out
from ._pointwise import refuse_integers
from ._pointwise import round as _round

__all__ = [
    "airy_ai",
    "bessel_j0",
    "bessel_j1",
    "bessel_y0",
    "bessel_y1",
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammaln",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "log1p",
    "log_ndtr",
    "log_softmax",
    "logit",
    "logsumexp",
    "modified_bessel_i0",
    "modified_bessel_i1",
    "modified_bessel_k0",
    "modified_bessel_k1",
    "multigammaln",
    "ndtr",
    "ndtri",
    "polygamma",
    "psi",
    "round",
    "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1",
    "sinc",
    "softmax",
    "spherical_bessel_j0",
    "xlog1py",
    "xlogy",
]

erf = _C.erf
erfc = _C.erfc
erfinv = _C.erfinv
exp2 = _C.exp2
expm1 = _C.expm1
log1p = _C.log1p


def round(input, *, decimals=0):  # noqa: A001 - torch's name
    refuse_integers(input, "round_vml_cpu")  # torch.round keeps integers; special.round refuses
    return _round(input, decimals=decimals)


i0 = _C.i0


def _table_op(name):
    """torch.special.<name> from the unary op table's _C._special_<name>."""
    kernel = getattr(_C, "_special_" + name)

    def special_function(input):
        return kernel(input)

    special_function.__name__ = special_function.__qualname__ = name
    return special_function


ndtri = _table_op("ndtri")
log_ndtr = _table_op("log_ndtr")
erfcx = _table_op("erfcx")
i0e = _table_op("i0e")
i1 = _table_op("i1")
i1e = _table_op("i1e")
spherical_bessel_j0 = _table_op("spherical_bessel_j0")
modified_bessel_i0 = _table_op("modified_bessel_i0")
modified_bessel_i1 = _table_op("modified_bessel_i1")
bessel_j0 = _table_op("bessel_j0")
bessel_j1 = _table_op("bessel_j1")
bessel_y0 = _table_op("bessel_y0")
bessel_y1 = _table_op("bessel_y1")
modified_bessel_k0 = _table_op("modified_bessel_k0")
modified_bessel_k1 = _table_op("modified_bessel_k1")
scaled_modified_bessel_k0 = _table_op("scaled_modified_bessel_k0")
scaled_modified_bessel_k1 = _table_op("scaled_modified_bessel_k1")
airy_ai = _table_op("airy_ai")


def ndtr(input):
    """The standard normal CDF, (1 + erf(x / sqrt 2)) / 2, composed as torch composes it."""
    return (erf(input * math.sqrt(0.5)) + 1) * 0.5


expit = _C.sigmoid
gammaln = _C.lgamma
digamma = psi = _C.digamma
polygamma = _C.polygamma


def _ember():
    import ember

    return ember


def logit(input, eps=None):
    return _ember().logit(input, eps)


def logsumexp(input, dim, keepdim=False):
    return _ember().logsumexp(input, dim, keepdim)


def softmax(input, dim, *, dtype=None):
    return input.softmax(dim, dtype=dtype) if dtype is not None else input.softmax(dim)


def log_softmax(input, dim, *, dtype=None):
    return input.log_softmax(dim, dtype=dtype) if dtype is not None else input.log_softmax(dim)


def xlogy(input, other):
    return _ember().xlogy(input, other)


def xlog1py(input, other):
    """input * log1p(other), 0 where input is 0 (unless other is NaN)."""
    ember = _ember()
    input, other = _as_tensors(input, other)
    product = input * ember.log1p(other)
    keep_nan = other != other
    return ember.where((input == 0) & ~keep_nan, ember.zeros_like(product), product)


def _as_tensors(a, b):
    if not isinstance(a, _C.Tensor):
        a = _C.tensor(a, dtype=b.dtype)
    if not isinstance(b, _C.Tensor):
        b = _C.tensor(b, dtype=a.dtype)
    return a, b


def sinc(input):
    """sin(pi x) / (pi x), 1 at 0 (with gradient 0 there, not 0/0)."""
    ember = _ember()
    x = input if input.is_floating_point() else input.to(ember.get_default_dtype())
    zero = x == 0
    safe = ember.where(zero, ember.ones_like(x), x) * math.pi
    return ember.where(zero, ember.ones_like(x), ember.sin(safe) / safe)


def entr(input):
    """-x log x for x > 0, 0 at 0, -inf below."""
    ember = _ember()
    positive = input > 0
    safe = ember.where(positive, input, ember.ones_like(input))
    value = -safe * ember.log(safe)
    value = ember.where(positive, value, ember.zeros_like(value))
    return ember.where(input < 0, ember.full_like(value, -math.inf), value)


def multigammaln(input, p):
    """The log of the multivariate gamma function of dimension p."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    if input.dtype == _C.bool:
        raise RuntimeError("The input tensor may not be a boolean tensor.")
    # an integer input computes in the default float dtype, as in torch
    dtype = input.dtype if input.is_floating_point() else _ember().get_default_dtype()
    offsets = _C.arange(-p * 0.5 + 0.5, 0.5, 0.5, dtype=dtype)
    terms = (input.unsqueeze(-1) + offsets).lgamma()
    return terms.sum(-1) + p * (p - 1) * math.log(math.pi) * 0.25


# torch.special's functions take out=; those bound in C++ have it already.
_out.install(
    globals(),
    (
        "airy_ai",
        "bessel_j0",
        "bessel_j1",
        "bessel_y0",
        "bessel_y1",
        "entr",
        "erfcx",
        "i0e",
        "i1",
        "i1e",
        "log_ndtr",
        "logit",
        "logsumexp",
        "modified_bessel_i0",
        "modified_bessel_i1",
        "modified_bessel_k0",
        "modified_bessel_k1",
        "multigammaln",
        "ndtr",
        "ndtri",
        "round",
        "scaled_modified_bessel_k0",
        "scaled_modified_bessel_k1",
        "sinc",
        "spherical_bessel_j0",
        "xlog1py",
        "xlogy",
    ),
    prefix="special.",
)
