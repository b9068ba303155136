"""The op table: one entry per public Ember op, and what each entry promises.

An entry names the op (its path under the library: ``add``,
``nn.functional.gelu``, ``linalg.det``), the forms it is called in (function,
Tensor method, in-place method, aliases), a generator of sample arguments, the
dtypes torch accepts for it, and whether it has a gradient, a second gradient
and ``out=``. tests/test_op_table.py runs every entry against torch, and
scripts/gen_api_coverage.py lists the entries in docs/api-coverage.md.

Sample arguments are numpy arrays: a float64 array becomes a tensor of the
dtype under test (rounded for the integer types), a ``Keep`` array keeps its own
dtype (indices, masks). ``Sample.layout="transposed"`` feeds every array as a
non-contiguous view.

``skips`` and ``xfails`` map a check (``values``, ``grad``, ``gradcheck``,
``gradgradcheck``, ``promotion``, ``out``, ``out_dtype``, ``errors``, or
``values:float16``)
to the reason; an xfail is strict, so a fixed bug shows up.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
from op_table_known import KNOWN_BUGS

BOOL = ("bool",)
UNSIGNED = ("uint8",)
SIGNED_INTS = ("int8", "int16", "int32", "int64")
INTS = UNSIGNED + SIGNED_INTS
FLOATS = ("float16", "bfloat16", "float32", "float64")
NUMERIC = INTS + FLOATS
ALL = BOOL + NUMERIC
SIGNED = SIGNED_INTS + FLOATS
F32 = ("bfloat16", "float32", "float64")  # no float16 kernel in torch's CPU build
F64 = ("float32", "float64")
NO_HALF = BOOL + INTS + F64  # torch's kernel has no float16 or bfloat16 form

NO_GRAD = dict(grad=False, gradgrad=False)
CHECKS = ("values", "grad", "gradcheck", "gradgradcheck", "promotion", "out", "out_dtype", "errors")


@dataclass(frozen=True)
class Keep:
    """A tensor argument that keeps its own dtype: an index, a mask."""

    array: np.ndarray


@dataclass(frozen=True)
class Fixed:
    """A tensor argument of the dtype under test that never requires grad: a
    loss target, running statistics (torch refuses their gradient)."""

    array: np.ndarray


@dataclass
class Sample:
    args: tuple
    kwargs: dict = field(default_factory=dict)
    layout: str = "contiguous"

    def __repr__(self):
        def show(a):
            if isinstance(a, (np.ndarray, Keep)):
                a = a.array if isinstance(a, Keep) else a
                return f"<{a.dtype.name}{list(a.shape)}>"
            if isinstance(a, (list, tuple)):
                return "[" + ", ".join(show(x) for x in a) + "]"
            return repr(a)

        parts = [show(a) for a in self.args] + [f"{k}={show(v)}" for k, v in self.kwargs.items()]
        return f"({', '.join(parts)}) {self.layout}"


@dataclass(frozen=True)
class OpInfo:
    name: str
    samples: Callable[[], list]
    function: str | None = None
    method: str | None = None
    inplace: str | None = None
    aliases: tuple = ()
    method_aliases: tuple = ()
    dtypes: tuple = FLOATS
    grad: bool = True
    gradgrad: bool = True
    out: bool = False
    errors: Callable[[], list] | None = None
    tol: tuple | None = None
    skips: dict = field(default_factory=dict)
    xfails: dict = field(default_factory=dict)

    def forms(self):
        """(label, call(lib, sample-args, kwargs)) for every way the op is called."""
        found = [(path, _function_call(path)) for path in self._functions()]
        found += [(f"Tensor.{name}", _method_call(name)) for name in self._methods()]
        return found

    def _functions(self):
        return ((self.function,) if self.function else ()) + self.aliases

    def _methods(self):
        return tuple(m for m in (self.method, self.inplace) if m) + self.method_aliases

    def public_names(self):
        """The namespace-qualified names this entry covers (torch.add, torch.Tensor.add)."""
        names = [f"torch.{path}" for path in self._functions()]
        return names + [f"torch.Tensor.{name}" for name in self._methods()]

    def reason(self, kind, check, dtype=None):
        table = self.skips if kind == "skip" else self.xfails
        return table.get(f"{check}:{dtype}") or table.get(check)


def resolve(lib, path):
    obj = lib
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def is_inplace(label):
    """An in-place form (Tensor.add_, nn.functional.relu_) runs on a clone of its input."""
    return label.endswith("_") and not label.endswith("__")


def _function_call(path):
    if is_inplace(path):
        return lambda lib, args, kwargs: resolve(lib, path)(args[0].clone(), *args[1:], **kwargs)
    return lambda lib, args, kwargs: resolve(lib, path)(*args, **kwargs)


def _method_call(name):
    if is_inplace(name):
        return lambda lib, args, kwargs: getattr(args[0].clone(), name)(*args[1:], **kwargs)
    return lambda lib, args, kwargs: getattr(args[0], name)(*args[1:], **kwargs)


# ---------------------------------------------------------------- building inputs


def castable(value):
    return isinstance(value, np.ndarray)


def as_dtype(array, dtype):
    """The float64 sample values as numpy values of dtype (rounded for integers)."""
    if dtype == "bool":
        return array != 0
    if dtype in INTS:
        values = np.round(array)
        return (np.abs(values) if dtype == "uint8" else values).astype(np.int64)
    return array


def _leaf(lib, array, dtype, layout, requires_grad):
    if layout == "transposed" and array.ndim >= 2:
        array = np.ascontiguousarray(array.transpose(tuple(reversed(range(array.ndim)))))
    leaf = lib.tensor(array.item() if array.ndim == 0 else array).to(getattr(lib, dtype))
    return leaf.requires_grad_(requires_grad and dtype in FLOATS)


def _view(leaf, layout):
    if layout == "transposed" and leaf.dim() >= 2:
        return leaf.permute(*reversed(range(leaf.dim())))
    return leaf


class _DtypeUnderTest:
    """Stands for the dtype under test in a sample (zeros(2, dtype=DTYPE))."""

    def __repr__(self):
        return "DTYPE"


DTYPE = _DtypeUnderTest()


@dataclass(frozen=True)
class DtypeName:
    """A fixed dtype argument, the library's own object (promote_types(DTYPE, DtypeName("int8")))."""

    name: str


class _Builder:
    """Turns sample values into lib arguments; reuses given leaves if any."""

    def __init__(self, lib, dtypes, layout, requires_grad, given=None):
        self.lib, self.dtypes, self.layout = lib, dtypes, layout
        self.requires_grad, self.given = requires_grad, given
        self.leaves = []

    def __call__(self, value):
        if value is DTYPE:
            return getattr(self.lib, self.dtypes[0])
        if isinstance(value, DtypeName):
            return getattr(self.lib, value.name)
        if isinstance(value, Keep):
            return self.lib.tensor(value.array)
        if isinstance(value, Fixed):
            dtype = self.dtypes[-1]
            leaf = _leaf(self.lib, as_dtype(value.array, dtype), dtype, self.layout, False)
            return _view(leaf, self.layout)
        if castable(value):
            return _view(self._next_leaf(value), self.layout)
        if isinstance(value, (list, tuple)):
            return type(value)(self(v) for v in value)
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        return value

    def _next_leaf(self, array):
        if self.given is not None:
            leaf = self.given[len(self.leaves)]
        else:
            dtype = self.dtypes[min(len(self.leaves), len(self.dtypes) - 1)]
            leaf = _leaf(self.lib, as_dtype(array, dtype), dtype, self.layout, self.requires_grad)
        self.leaves.append(leaf)
        return leaf


def arguments(lib, sample, dtypes, requires_grad=False, given=None):
    """(args, kwargs, leaves) of sample for lib. dtypes: one dtype, or the
    first castable array's dtype and the others'. given: leaves to use instead
    of new ones (gradcheck moves them)."""
    if isinstance(dtypes, str):
        dtypes = (dtypes,)
    builder = _Builder(lib, dtypes, sample.layout, requires_grad, given)
    args = builder(sample.args)
    kwargs = builder(sample.kwargs)
    return args, kwargs, builder.leaves


def arrays(value):
    """The castable arrays in a sample's arguments, in order."""
    if castable(value):
        return [value]
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in arrays(v)]
    if isinstance(value, dict):
        return [a for v in value.values() for a in arrays(v)]
    return []


def count_castable(value):
    return len(arrays(value))


# ---------------------------------------------------------------- sample values

DOMAINS = {
    "real": (-3.0, 3.0),
    "positive": (0.5, 3.0),
    "unit": (-0.9, 0.9),
    "open01": (0.1, 0.9),
    "ge1": (1.2, 3.5),
    "small": (-1.5, 1.5),
}


class Values:
    """Deterministic sample arrays: the same for every run and both libraries."""

    def __init__(self, seed=0, domain="real"):
        self.rng = np.random.default_rng(seed)
        self.low, self.high = DOMAINS[domain]

    def __call__(self, *shape, low=None, high=None):
        low = self.low if low is None else low
        high = self.high if high is None else high
        return self.rng.uniform(low, high, size=shape)

    def index(self, high, *shape):
        return Keep(self.rng.integers(0, high, size=shape).astype(np.int64))

    def mask(self, *shape):
        return Keep(self.rng.random(size=shape) < 0.5)

    def spd(self, n, batch=()):
        a = self.rng.uniform(-1, 1, size=batch + (n, n))
        return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)

    def well_conditioned(self, n, batch=()):
        return self.rng.uniform(-1, 1, size=batch + (n, n)) + 3 * np.eye(n)


# ---------------------------------------------------------------- sample families


def _x(*shape, seed=0, domain="real"):
    return Values(seed, domain)(*shape)


def _t(*shape, layout="contiguous", **kwargs):
    """A one-tensor sample of the given shape; kwargs become keyword arguments."""
    return Sample((_x(*shape),), kwargs, layout=layout)


def _with(args, layout="contiguous", **kwargs):
    return Sample(args, kwargs, layout=layout)


def _idx(high, *shape, seed=0):
    return Values(seed).index(high, *shape)


def _mask(*shape, seed=0):
    return Values(seed).mask(*shape)


def unary_samples(domain="real", **kwargs):
    def samples():
        v = Values(domain=domain)
        return [
            Sample((v(3, 4),), dict(kwargs)),
            Sample((v(),), dict(kwargs)),
            Sample((v(0, 3),), dict(kwargs)),
            Sample((v(4, 3),), dict(kwargs), layout="transposed"),
        ]

    return samples


def binary_samples(domain="real", scalar=2.5, other_domain=None):
    """Same shapes, broadcasting, a 0-dim operand, a Python number (unless
    scalar is None), empty, non-contiguous."""

    def samples():
        v = Values(domain=domain)
        w = Values(seed=1, domain=other_domain or domain)
        found = [
            Sample((v(3, 4), w(3, 4))),
            Sample((v(3, 4), w(4))),
            Sample((v(), w(2, 3))),
            Sample((v(3, 4), w())),
            Sample((v(0, 4), w(4))),
            Sample((v(4, 3), w(4, 3)), layout="transposed"),
        ]
        return found + ([Sample((v(3, 4), scalar))] if scalar is not None else [])

    return samples


def ternary_samples(domain="real"):
    def samples():
        v = Values(domain=domain)
        return [
            Sample((v(3, 4), v(3, 4), v(3, 4))),
            Sample((v(3, 4), v(4), v(3, 1))),
            Sample((v(), v(2), v())),
            Sample((v(4, 3), v(4, 3), v(4, 3)), layout="transposed"),
        ]

    return samples


def reduction_samples(
    domain="real", dims=True, keepdim=True, multi_dim=False, empty=True, needs_dim=False
):
    def samples():
        v = Values(domain=domain)
        found = [Sample((v(3, 4), 0)), Sample((v(), 0))] if needs_dim else []
        found += [] if needs_dim else [Sample((v(3, 4),)), Sample((v(),))]
        if dims:
            found += [
                Sample((v(3, 4), 1)),
                Sample((v(3, 4),), {"dim": -2}),
                Sample((v(4, 3), 1), layout="transposed"),
            ]
            if keepdim:
                found.append(Sample((v(3, 4), 0), {"keepdim": True}))
            if multi_dim:
                found.append(Sample((v(2, 3, 4),), {"dim": (0, 2)}))
            if empty:
                found.append(Sample((v(0, 3), 1)))
        return found

    return samples


def bad_dim(rank=2):
    def errors():
        return [Sample((Values()(*([3] * rank)), 5))]

    return errors


def mismatched_shapes():
    return [Sample((Values()(3), Values()(4)))]


def fixed(*samples):
    """A sample generator of the given (args, kwargs) pairs, built on call."""

    def make():
        return [s() if callable(s) else s for s in samples]

    return make


# ---------------------------------------------------------------- entry builders


def _shared_method(name, suffix=""):
    """name + suffix if both torch.Tensor and ember.Tensor have it: a method only
    torch has is a gap (docs/api-coverage.md lists it), not a table form."""
    import ember
    import torch

    method = name + suffix
    return method if hasattr(torch.Tensor, method) and hasattr(ember.Tensor, method) else None


def _ember_has(path):
    """Whether Ember has the alias: one it lacks is a gap in docs/api-coverage.md."""
    import ember

    try:
        resolve(ember, path)
    except AttributeError:
        return False
    return True


def op(name, samples, *, method=None, inplace=None, **kw):
    """An entry for torch.<name>, with the Tensor method and in-place form torch has."""
    plain = "." not in name
    if method is None:
        method = _shared_method(name) if plain else None
    if inplace is None:
        inplace = _shared_method(name, "_") if plain else None
    kw["aliases"] = tuple(a for a in kw.get("aliases", ()) if _ember_has(a))
    aliases = [a for a in kw["aliases"] if "." not in a]
    method_aliases = [m for a in aliases for m in (_shared_method(a), _shared_method(a, "_")) if m]
    kw.setdefault("method_aliases", tuple(method_aliases) if method else ())
    return OpInfo(
        name, samples, function=name, method=method or None, inplace=inplace or None, **kw
    )


def method_only(name, samples, **kw):
    if name.startswith("new_"):
        kw = {**NO_GRAD, **kw}
    return OpInfo(f"Tensor.{name}", samples, method=name, **kw)


def unary(name, domain="real", **kw):
    kw.setdefault("dtypes", ALL)
    kw.setdefault("out", True)
    return op(name, unary_samples(domain), **kw)


def binary(name, domain="real", **kw):
    kw.setdefault("dtypes", ALL)
    kw.setdefault("out", True)
    kw.setdefault("errors", mismatched_shapes)
    samples = binary_samples(domain, kw.pop("scalar", 2.5), kw.pop("other_domain", None))
    return op(name, samples, **kw)


def comparison(name, **kw):
    kw.setdefault("grad", False)
    kw.setdefault("gradgrad", False)
    return binary(name, **kw)


def reduction(name, **kw):
    sample_kw = {
        k: kw.pop(k)
        for k in ("domain", "dims", "keepdim", "multi_dim", "empty", "needs_dim")
        if k in kw
    }
    kw.setdefault("errors", bad_dim())
    return op(name, reduction_samples(**sample_kw), **kw)


# ---------------------------------------------------------------- the entries

STEP = "piecewise constant: the gradient is zero where it exists"
LOG_DOMAIN = dict(domain="positive")

POINTWISE_UNARY = [
    unary("abs", dtypes=NUMERIC, aliases=("absolute",)),
    unary("acos", "unit", aliases=("arccos",)),
    unary("acosh", "ge1", aliases=("arccosh",)),
    unary("asin", "unit", aliases=("arcsin",)),
    unary("asinh", aliases=("arcsinh",)),
    unary("atan", aliases=("arctan",)),
    unary("atanh", "unit", aliases=("arctanh",)),
    unary("ceil", dtypes=NUMERIC, gradgrad=False),
    unary("cos"),
    unary("cosh"),
    unary("deg2rad"),
    unary("rad2deg"),
    unary("digamma", "positive", aliases=("special.digamma", "special.psi")),
    unary("erf", aliases=("special.erf",)),
    unary("erfc", aliases=("special.erfc",)),
    unary("erfinv", "unit", aliases=("special.erfinv",)),
    unary("exp"),
    unary("exp2", aliases=("special.exp2",)),
    unary("expm1", aliases=("special.expm1",)),
    unary("floor", dtypes=NUMERIC, gradgrad=False),
    unary("frac", dtypes=FLOATS),
    unary("lgamma", "positive", aliases=("special.gammaln",)),
    unary("log", "positive"),
    unary("log10", "positive"),
    unary("log1p", "positive", aliases=("special.log1p",)),
    unary("log2", "positive"),
    unary("neg", dtypes=NUMERIC, aliases=("negative",)),
    unary("reciprocal", "positive"),
    unary(
        "relu",
        dtypes=NUMERIC,
        aliases=("nn.functional.relu", "nn.functional.relu_"),
        out=False,  # torch.relu takes no out=
    ),
    unary("round", dtypes=NUMERIC, gradgrad=False),
    unary("special.round", dtypes=FLOATS, gradgrad=False),
    unary("rsqrt", "positive"),
    unary("sgn"),
    unary("sigmoid", aliases=("special.expit", "nn.functional.sigmoid")),
    unary("sign", gradgrad=False),
    unary("signbit", **NO_GRAD),
    unary("sin"),
    unary("sinh"),
    unary("sqrt", "positive"),
    unary("square"),
    unary("tan", "small"),
    unary("tanh", aliases=("nn.functional.tanh",)),
    unary("trunc", dtypes=NUMERIC, gradgrad=False),
    unary("isfinite", out=False, **NO_GRAD),
    unary("isinf", out=False, **NO_GRAD),
    unary("isnan", out=False, **NO_GRAD),
    unary("logical_not", **NO_GRAD),
    unary("bitwise_not", dtypes=BOOL + INTS, **NO_GRAD),
    unary("nan_to_num"),
    unary("logit", "open01", aliases=("special.logit",)),
    unary("special.entr", "positive"),
    unary("sinc", aliases=("special.sinc",)),
    unary("i0", aliases=("special.i0",)),
    unary("special.i0e"),
    unary("special.i1"),
    unary("special.i1e"),
    unary("special.ndtr"),
    unary("special.ndtri", "open01", dtypes=NO_HALF),
    unary("special.log_ndtr", dtypes=NO_HALF),
    unary("special.erfcx", dtypes=NO_HALF),
    unary("special.modified_bessel_i0", dtypes=NO_HALF, **NO_GRAD),
    unary("special.modified_bessel_i1", dtypes=NO_HALF, **NO_GRAD),
    unary("special.spherical_bessel_j0", dtypes=NO_HALF, **NO_GRAD),
    unary("special.bessel_j0", dtypes=NO_HALF, **NO_GRAD),
    unary("special.bessel_j1", dtypes=NO_HALF, **NO_GRAD),
    unary("special.bessel_y0", "positive", dtypes=NO_HALF, **NO_GRAD),
    unary("special.bessel_y1", "positive", dtypes=NO_HALF, **NO_GRAD),
    unary("special.modified_bessel_k0", "positive", dtypes=NO_HALF, **NO_GRAD),
    unary("special.modified_bessel_k1", "positive", dtypes=NO_HALF, **NO_GRAD),
    unary("special.scaled_modified_bessel_k0", "positive", dtypes=NO_HALF, **NO_GRAD),
    unary("special.scaled_modified_bessel_k1", "positive", dtypes=NO_HALF, **NO_GRAD),
    unary("special.airy_ai", dtypes=NO_HALF, **NO_GRAD),
    op(
        "polygamma",
        fixed(Sample((1, Values(domain="positive")(3, 4)))),
        dtypes=ALL,
        method=False,
        out=True,
    ),
    method_only("polygamma", fixed(Sample((Values(domain="positive")(3, 4), 1))), dtypes=ALL),
    op(
        "mvlgamma", fixed(Sample((Values(domain="ge1")(3, 4),), {"p": 2})), dtypes=NUMERIC, out=True
    ),
    op(
        "special.multigammaln",
        fixed(Sample((Values(domain="ge1")(3, 4), 2))),
        dtypes=NUMERIC,
        out=True,
    ),
    op(
        "special.polygamma",
        fixed(Sample((2, Values(domain="positive")(3, 4)))),
        dtypes=ALL,
        out=True,
    ),
]

POINTWISE_BINARY = [
    binary("add"),
    binary("sub", dtypes=NUMERIC, aliases=("subtract",)),
    binary("mul", aliases=("multiply",)),
    binary("div", aliases=("divide", "true_divide"), other_domain="positive"),
    binary("rsub", dtypes=NUMERIC, out=False),
    binary("pow", "positive", dtypes=NUMERIC),
    binary("atan2", aliases=("arctan2",), scalar=None),
    binary("hypot", dtypes=FLOATS, scalar=None),
    binary("copysign"),
    binary("fmod", dtypes=NUMERIC, other_domain="positive"),
    binary("remainder", dtypes=NUMERIC, other_domain="positive"),
    binary("floor_divide", dtypes=NUMERIC, other_domain="positive", **NO_GRAD),
    binary("maximum", scalar=None),
    binary("minimum", scalar=None),
    binary("logaddexp", dtypes=FLOATS, scalar=None),
    binary("logaddexp2", dtypes=FLOATS, scalar=None),
    binary("xlogy", other_domain="positive", aliases=("special.xlogy",)),
    binary("special.xlog1py", other_domain="positive"),
    comparison("eq"),
    comparison("ne", aliases=("not_equal",)),
    comparison("lt", aliases=("less",)),
    comparison("le", aliases=("less_equal",)),
    comparison("gt", aliases=("greater",)),
    comparison("ge", aliases=("greater_equal",)),
    comparison("logical_and", scalar=None),
    comparison("logical_or", scalar=None),
    comparison("logical_xor", scalar=None),
    comparison("bitwise_and", dtypes=BOOL + INTS, scalar=3),
    comparison("bitwise_or", dtypes=BOOL + INTS, scalar=3),
    comparison("bitwise_xor", dtypes=BOOL + INTS, scalar=3),
    comparison("bitwise_left_shift", dtypes=INTS, scalar=1, domain="positive"),
    comparison("bitwise_right_shift", dtypes=INTS, scalar=1, domain="positive"),
    comparison("isclose", out=False, scalar=None),
    op("allclose", binary_samples(scalar=None), dtypes=ALL, **NO_GRAD),
    op("equal", binary_samples(scalar=None), dtypes=ALL, **NO_GRAD),
    op("dist", binary_samples(scalar=None), dtypes=FLOATS),
    op(
        "cdist",
        fixed(_with((_x(2, 3, 4), _x(5, 4, seed=1))), _with((_x(3, 2), _x(4, 2, seed=1)), p=1.0)),
        dtypes=F64,
    ),
]

POINTWISE_OTHER = [
    op("addcmul", ternary_samples(), dtypes=NUMERIC, out=True),
    op("addcdiv", ternary_samples("positive"), out=True),
    op("lerp", ternary_samples("open01"), out=True),
    op(
        "where",
        fixed(
            lambda: Sample((Values().mask(3, 4), Values()(3, 4), Values(1)(3, 4))),
            lambda: Sample((Values().mask(3, 1), Values()(4), 0.5)),
            lambda: Sample((Values().mask(3, 4), 1.5, Values()(3, 4))),
        ),
        dtypes=ALL,
        method=False,
        out=True,
    ),
    method_only("where", fixed(_with((_x(3, 4), _mask(3, 4), _x(3, 4, seed=1)))), dtypes=ALL),
    op(
        "clamp",
        fixed(
            Sample((Values()(3, 4), -1.0, 1.0)),
            Sample((Values()(3, 4),), {"min": 0.5}),
            Sample((Values()(3, 4),), {"max": 0}),
            Sample((Values()(3, 4), Values(1)(3, 4), Values(2)(4) + 3)),
        ),
        aliases=("clip",),
        dtypes=NUMERIC,
        out=True,
    ),
    op("clamp_min", fixed(Sample((Values()(3, 4), 0.5))), dtypes=ALL, out=True),
    op("clamp_max", fixed(Sample((Values()(3, 4), 0.5))), dtypes=ALL, out=True),
]


REDUCTIONS = [
    reduction("sum", dtypes=ALL, multi_dim=True, out=True),
    reduction("mean", multi_dim=True, out=True),
    reduction("nansum", dtypes=ALL, multi_dim=True, out=True),
    reduction("nanmean", multi_dim=True, out=True),
    reduction("prod", dtypes=ALL, empty=False, out=True),
    reduction("amax", dtypes=ALL, multi_dim=True, empty=False, out=True),
    reduction("amin", dtypes=ALL, multi_dim=True, empty=False, out=True),
    reduction("max", dtypes=ALL, empty=False, out=True),
    reduction("min", dtypes=ALL, empty=False, out=True),
    reduction("argmax", dtypes=NUMERIC, empty=False, out=True, **NO_GRAD),
    reduction("argmin", dtypes=NUMERIC, empty=False, out=True, **NO_GRAD),
    reduction("all", dtypes=ALL, out=True, **NO_GRAD),
    reduction("any", dtypes=ALL, out=True, **NO_GRAD),
    reduction("std", multi_dim=True, out=True),
    reduction("var", multi_dim=True, out=True),
    reduction("std_mean", multi_dim=True, method=False),
    reduction("var_mean", multi_dim=True, method=False),
    reduction("logsumexp", dtypes=ALL, multi_dim=True, needs_dim=True, out=True),
    reduction("special.logsumexp", dtypes=ALL, multi_dim=True, needs_dim=True, out=True),
    reduction("median", dtypes=NUMERIC, empty=False),
    reduction("nanmedian", dtypes=NUMERIC, empty=False),
    reduction("mode", dtypes=ALL, empty=False, keepdim=False, out=True),
    reduction("norm", multi_dim=True, errors=None, out=True),
    reduction("count_nonzero", dtypes=ALL, keepdim=False, multi_dim=True, **NO_GRAD),
    op(
        "kthvalue",
        fixed(Sample((_x(3, 4), 2)), Sample((_x(3, 4), 1, 0)), Sample((_x(3, 4), 3, 1, True))),
        dtypes=NUMERIC,
        errors=fixed(Sample((_x(3, 4), 5))),
        out=True,
    ),
]


def scan_samples():
    return [
        Sample((_x(3, 4), 1)),
        Sample((_x(3, 4),), {"dim": 0}),
        Sample((_x(), 0)),
        Sample((_x(0, 3), 1)),
        Sample((_x(4, 3), -1), layout="transposed"),
    ]


SCANS = [
    op(name, scan_samples, errors=bad_dim(), **kw)
    for name, kw in [
        ("cumsum", dict(dtypes=ALL, out=True)),
        ("cumprod", dict(dtypes=ALL, out=True)),
        ("cummax", dict(dtypes=ALL, out=True)),
        ("cummin", dict(dtypes=ALL, out=True)),
        ("logcumsumexp", dict(out=True)),
    ]
]


def _spd(n, batch=()):
    return Values().spd(n, batch)


def _square(n, batch=()):
    return Values().well_conditioned(n, batch)


def _upper(n):
    return np.triu(_square(n))


MATRIX_PRODUCTS = [
    op(
        "matmul",
        fixed(
            Sample((_x(3, 4), _x(4, 2, seed=1))),
            Sample((_x(2, 3, 4), _x(4, seed=1))),
            Sample((_x(4), _x(2, 4, 3, seed=1))),
            Sample((_x(4), _x(4, seed=1))),
            Sample((_x(0, 4), _x(4, 2, seed=1))),
            Sample((_x(4, 3), _x(3, 4, seed=1)), layout="transposed"),
        ),
        dtypes=NUMERIC,
        out=True,
        aliases=("linalg.matmul",),
        errors=fixed(Sample((_x(3, 4), _x(3, 4)))),
    ),
    op("mm", fixed(Sample((_x(3, 4), _x(4, 2, seed=1)))), dtypes=NUMERIC, out=True),
    op("bmm", fixed(Sample((_x(2, 3, 4), _x(2, 4, 2, seed=1)))), dtypes=NUMERIC, out=True),
    op("mv", fixed(Sample((_x(3, 4), _x(4, seed=1)))), dtypes=NUMERIC, out=True),
    op("dot", fixed(Sample((_x(4), _x(4, seed=1)))), dtypes=NUMERIC, out=True),
    op("inner", fixed(Sample((_x(3, 4), _x(2, 4, seed=1)))), dtypes=NUMERIC, out=True),
    op("outer", fixed(Sample((_x(3), _x(4, seed=1)))), dtypes=ALL, out=True),
    op("ger", fixed(Sample((_x(3), _x(4, seed=1)))), dtypes=ALL),
    op("vdot", fixed(Sample((_x(4), _x(4, seed=1)))), dtypes=NUMERIC),
    op(
        "addr",
        fixed(
            Sample((_x(3, 4), _x(3), _x(4, seed=1))),
            Sample((_x(4), _x(3), _x(4, seed=1)), {"beta": 2, "alpha": 3}),
        ),
        dtypes=ALL,
    ),
    op(
        "addmm",
        fixed(
            Sample((_x(3, 2), _x(3, 4), _x(4, 2))),
            Sample((_x(2), _x(3, 4), _x(4, 2)), {"beta": 0.5, "alpha": 2}),
        ),
        dtypes=NUMERIC,
        out=True,
    ),
    op("addmv", fixed(Sample((_x(3), _x(3, 4), _x(4)))), dtypes=NUMERIC, out=True),
    op("addbmm", fixed(Sample((_x(3, 2), _x(2, 3, 4), _x(2, 4, 2)))), dtypes=NUMERIC, out=True),
    op("baddbmm", fixed(Sample((_x(2, 3, 2), _x(2, 3, 4), _x(2, 4, 2)))), dtypes=NUMERIC, out=True),
    op(
        "einsum",
        fixed(Sample(("ij,jk->ik", _x(3, 4), _x(4, 2))), Sample(("bij->bji", _x(2, 3, 4)))),
        dtypes=NUMERIC,
    ),
    op("cross", fixed(Sample((_x(4, 3), _x(4, 3, seed=1)), {"dim": 1})), dtypes=NUMERIC, out=True),
    op("linalg.cross", fixed(Sample((_x(4, 3), _x(4, 3, seed=1)))), dtypes=NUMERIC, out=True),
    op("linalg.vecdot", fixed(Sample((_x(4, 3), _x(4, 3, seed=1)))), out=True),
    op("trace", fixed(Sample((_x(3, 4),)), Sample((_x(3, 3),))), dtypes=NUMERIC),
    op(
        "diag",
        fixed(Sample((_x(3, 4),)), Sample((_x(3),)), Sample((_x(3, 4), 1))),
        dtypes=ALL,
        out=True,
    ),
    op(
        "diagonal",
        fixed(Sample((_x(3, 4),)), Sample((_x(2, 3, 4),), {"offset": 1, "dim1": 1, "dim2": 2})),
        dtypes=ALL,
    ),
    op("linalg.diagonal", fixed(Sample((_x(2, 3, 4),))), dtypes=ALL, grad=True),
    op("renorm", fixed(Sample((_x(3, 4), 2, 0, 1.0))), out=True),
]


SIGN_FREE = (
    "singular and eigen vectors are defined up to sign: LAPACK's choice differs from "
    "Ember's; tests/test_linalg.py checks the invariants (reconstruction, projectors)"
)
ONE_TRIANGLE = (
    "reads one triangle of its input: gradcheck's unsymmetric perturbations leave the "
    "op's domain (torch's gradcheck fails the same way); tests/test_linalg.py checks it"
)
SIGN_SKIPS = {"values": SIGN_FREE, "grad": SIGN_FREE, "gradcheck": SIGN_FREE, "out": SIGN_FREE}
TRIANGLE_SKIPS = {"gradcheck": ONE_TRIANGLE, "gradgradcheck": ONE_TRIANGLE}


# getrf's row swaps for a 3 x 3 factor (1-based, int32 as torch wants them)
_PIVOTS = Keep(np.array([2, 3, 3], dtype=np.int32))


def solver(name, samples, **kw):
    kw.setdefault("dtypes", F64)
    return op(name, samples, **kw)


SOLVERS = [
    solver(
        "det", fixed(Sample((_square(3),)), Sample((_square(2, (2,)),))), aliases=("linalg.det",)
    ),
    solver("logdet", fixed(Sample((_spd(3),)))),
    solver("slogdet", fixed(Sample((_square(3),))), aliases=("linalg.slogdet",), out=True),
    solver("inverse", fixed(Sample((_square(3),))), aliases=("linalg.inv",), out=True),
    solver("linalg.inv_ex", fixed(Sample((_square(3),))), out=True),
    op(
        "matrix_power",
        fixed(Sample((_square(3), 3)), Sample((_square(3), 0))),
        dtypes=NUMERIC,
        aliases=("linalg.matrix_power",),
        out=True,
    ),
    solver("pinverse", fixed(Sample((_x(3, 4),))), aliases=("linalg.pinv",)),
    solver("cholesky", fixed(Sample((_spd(3),))), skips=TRIANGLE_SKIPS, out=True),
    solver("linalg.cholesky", fixed(Sample((_spd(3),))), out=True, skips=TRIANGLE_SKIPS),
    solver("linalg.cholesky_ex", fixed(Sample((_spd(3),))), skips=TRIANGLE_SKIPS, out=True),
    solver(
        "cholesky_solve",
        fixed(Sample((_x(3, 2), np.linalg.cholesky(_spd(3))))),
        skips=TRIANGLE_SKIPS,
        out=True,
    ),
    solver("qr", fixed(Sample((_x(4, 3),))), out=True),
    solver("linalg.qr", fixed(Sample((_x(4, 3),)), Sample((_x(3, 4), "complete"))), out=True),
    solver("svd", fixed(Sample((_x(4, 3),))), skips=SIGN_SKIPS, out=True),
    solver(
        "linalg.svd",
        fixed(Sample((_x(4, 3),), {"full_matrices": False})),
        skips=SIGN_SKIPS,
        out=True,
    ),
    solver("linalg.svdvals", fixed(Sample((_x(4, 3),))), out=True),
    solver(
        "linalg.eigh", fixed(Sample((_spd(3),))), skips={**SIGN_SKIPS, **TRIANGLE_SKIPS}, out=True
    ),
    solver("linalg.eigvalsh", fixed(Sample((_spd(3),))), skips=TRIANGLE_SKIPS, out=True),
    solver("triangular_solve", fixed(Sample((_x(3, 2), _upper(3)))), out=True),
    solver(
        "linalg.solve_triangular", fixed(Sample((_upper(3), _x(3, 2)), {"upper": True})), out=True
    ),
    solver("linalg.solve", fixed(Sample((_square(3), _x(3, 2)))), out=True),
    solver("linalg.solve_ex", fixed(Sample((_square(3), _x(3, 2)))), out=True),
    solver("linalg.lstsq", fixed(Sample((_x(4, 3), _x(4, 2)))), out=True),
    solver("linalg.lu_factor", fixed(Sample((_square(3),)), Sample((_x(4, 3),))), out=True),
    solver("linalg.lu_factor_ex", fixed(Sample((_square(3),)), Sample((_x(3, 4),))), out=True),
    solver("lu", fixed(Sample((_square(3),)), Sample((_x(2, 4, 3),), {"get_infos": True}))),
    solver("lu_solve", fixed(Sample((_x(3, 2), _square(3), _PIVOTS))), out=True),
    solver("linalg.lu", fixed(Sample((_square(3),)), Sample((_x(2, 4, 3),))), out=True),
    solver(
        "linalg.lu_solve",
        fixed(
            Sample((_square(3), _PIVOTS, _x(3, 2))),
            Sample((_square(3), _PIVOTS, _x(2, 3)), {"left": False, "adjoint": True}),
        ),
        out=True,
    ),
    solver(
        "lu_unpack",
        fixed(Sample((_x(3, 3), _PIVOTS)), Sample((_x(4, 3), _PIVOTS))),
        dtypes=ALL,
        out=True,
    ),
    solver(
        "linalg.householder_product",
        fixed(Sample((_x(4, 3), _x(2))), Sample((_x(2, 3, 3), _x(2, 3)))),
        out=True,
    ),
    solver("orgqr", fixed(Sample((_x(4, 3), _x(2)))), out=True),
    solver("linalg.tensorinv", fixed(Sample((_square(6).reshape(2, 3, 6),), {"ind": 2})), out=True),
    solver("linalg.tensorsolve", fixed(Sample((_square(6).reshape(2, 3, 6), _x(2, 3)))), out=True),
    op("linalg.norm", fixed(Sample((_x(3, 4),)), Sample((_x(3, 4), 1))), out=True),
    op(
        "linalg.vector_norm",
        fixed(Sample((_x(3, 4),)), Sample((_x(3, 4), 3), {"dim": 1})),
        out=True,
    ),
    op("linalg.matrix_norm", fixed(Sample((_x(3, 4),)), Sample((_x(3, 4), 1))), out=True),
]


def shape_op(name, *samples, **kw):
    kw.setdefault("dtypes", ALL)
    return op(name, fixed(*samples), **kw)


def shape_method(name, *samples, **kw):
    kw.setdefault("dtypes", ALL)
    return method_only(name, fixed(*samples), **kw)


MOVEMENT = [
    shape_op("reshape", _with((_x(3, 4), (2, 6))), _with((_x(4, 3), (-1,)), "transposed")),
    shape_method("view", _with((_x(3, 4), 2, 6)), _with((_x(3, 4), -1))),
    shape_method("view_as", _with((_x(3, 4), _x(2, 6)))),
    shape_method("reshape_as", _with((_x(3, 4), _x(2, 6)))),
    shape_op("flatten", _t(2, 3, 4), _t(2, 3, 4, start_dim=1), _t()),
    shape_op("ravel", _t(2, 3), _t(3, 2, layout="transposed")),
    shape_op("unflatten", _with((_x(2, 6), 1, (2, 3)))),
    shape_op("squeeze", _t(3, 1, 4), _with((_x(3, 1, 4), 1)), _t()),
    shape_op("unsqueeze", _with((_x(3, 4), 1)), _with((_x(), 0))),
    shape_op("permute", _with((_x(2, 3, 4), (2, 0, 1)))),
    shape_op("transpose", _with((_x(2, 3, 4), 0, 2)), errors=fixed(_with((_x(3, 4), 0, 5)))),
    shape_op("swapaxes", _with((_x(2, 3, 4), 0, 2))),
    shape_op("swapdims", _with((_x(2, 3, 4), 0, 2))),
    shape_op("t", _t(3, 4), _t(3)),
    shape_op("movedim", _with((_x(2, 3, 4), 0, 2)), aliases=("moveaxis",)),
    shape_op("narrow", _with((_x(3, 4), 1, 1, 2))),
    shape_op("narrow_copy", _with((_x(3, 4), 1, 1, 2))),
    shape_op("as_strided", _with((_x(6), (2, 2), (1, 2), 1)), _with((_x(3, 4), (3, 3), (1, 1)))),
    shape_op("as_strided_copy", _with((_x(3, 4), (3, 3), (1, 1), 2))),
    shape_op("view_copy", _with((_x(3, 4), (2, 6))), _with((_x(4, 3), (-1,)), "transposed")),
    shape_op("t_copy", _t(3, 4), _t(3)),
    shape_op("transpose_copy", _with((_x(2, 3, 4), 0, 2))),
    shape_op("permute_copy", _with((_x(2, 3, 4), (2, 0, 1)))),
    shape_op("squeeze_copy", _t(3, 1, 4), _with((_x(3, 1, 4), 1)), _with((_x(1, 3, 1), (0, 2)))),
    shape_op("unsqueeze_copy", _with((_x(3, 4), 1))),
    shape_op("expand_copy", _with((_x(3, 1), (2, 3, 4)))),
    shape_op("diagonal_copy", _t(3, 4), _with((_x(3, 4),), offset=1)),
    shape_op("select_copy", _with((_x(3, 4), 1, 2))),
    shape_op("slice_copy", _with((_x(3, 4), 1, 1, 4, 2))),
    shape_op("alias_copy", _t(3, 4)),
    shape_op("split_copy", _with((_x(5, 4), 2))),
    shape_op("split_with_sizes_copy", _with((_x(5, 4), [2, 3]))),
    shape_op("unbind_copy", _t(3, 4), _with((_x(3, 4), 1))),
    shape_op("unsafe_split", _with((_x(5, 4), 2))),
    shape_op("unsafe_split_with_sizes", _with((_x(5, 4), [2, 3]))),
    shape_op("unsafe_chunk", _with((_x(5, 4), 2)), _with((_x(3, 4), 2, 1))),
    shape_op("hsplit", _with((_x(4, 6, 2), 2)), _with((_x(4, 6, 2), [1, 4]))),
    shape_op("vsplit", _with((_x(4, 6, 2), 2)), _with((_x(4, 6, 2), [1]))),
    shape_op("dsplit", _with((_x(4, 6, 2), 2)), _with((_x(4, 6, 2), [1]))),
    shape_op("select", _with((_x(3, 4), 1, 2))),
    shape_op("chunk", _with((_x(5, 4), 2)), _with((_x(3, 4), 2, 1))),
    shape_op("split", _with((_x(5, 4), 2)), _with((_x(5, 4), [1, 4]))),
    shape_op("split_with_sizes", _with((_x(5, 4), [2, 3]))),
    shape_op("tensor_split", _with((_x(5, 4), 2)), _with((_x(5, 4), [1, 3], 0))),
    shape_op("unbind", _t(3, 4), _with((_x(3, 4), 1))),
    shape_op(
        "cat",
        _with(([_x(2, 3), _x(1, 3, seed=1)],)),
        _with(([_x(2, 3), _x(2, 1, seed=1)], 1)),
        _with(([_x(2, 3), _x(0, seed=1)],)),
        out=True,
        aliases=("concat",),
        errors=fixed(_with(([_x(2, 3), _x(2, 4)],))),
    ),
    shape_op(
        "stack",
        _with(([_x(2, 3), _x(2, 3, seed=1)],)),
        _with(([_x(2, 3), _x(2, 3, seed=1)], 2)),
        out=True,
        errors=fixed(_with(([_x(2, 3), _x(3, 2)],))),
    ),
    shape_op("hstack", _with(([_x(2, 3), _x(2, 1, seed=1)],)), out=True),
    shape_op("vstack", _with(([_x(2, 3), _x(3)],)), out=True),
    shape_op("dstack", _with(([_x(2, 3), _x(2, 3)],)), out=True),
    shape_op("row_stack", _with(([_x(2, 3), _x(3)],))),
    shape_op(
        "concatenate",
        _with(([_x(2, 3), _x(1, 3, seed=1)],)),
        _with(([_x(2, 3), _x(2, 1, seed=1)], 1)),
    ),
    shape_op("column_stack", _with(([_x(3), _x(3, 2)],)), out=True),
    shape_op("atleast_1d", _t(), _t(2, 3)),
    shape_op("atleast_2d", _t(), _t(3)),
    shape_op("atleast_3d", _t(), _t(3, 4)),
    shape_op("broadcast_to", _with((_x(3, 1), (2, 3, 4)))),
    shape_op("broadcast_tensors", _with((_x(3, 1), _x(4)))),
    shape_method("expand", _with((_x(3, 1), 2, 3, 4)), _with((_x(3, 1), -1, 5))),
    shape_method("expand_as", _with((_x(3, 1), _x(3, 4)))),
    shape_method("repeat", _with((_x(2, 3), 2, 1, 2))),
    shape_op("tile", _with((_x(2, 3), (2,))), _with((_x(2, 3), (2, 1, 2)))),
    shape_op(
        "constant_pad_nd",
        _with((_x(2, 3), (1, 2))),
        _with((_x(2, 3, 4), (1, -1, 0, 2), 1.5), "transposed"),
    ),
    shape_op(
        "repeat_interleave",
        _with((_x(2, 3), 2)),
        _with((_x(2, 3), 2), dim=1),
        _with((_x(2, 3), Keep(np.array([1, 2]))), dim=0),
    ),
    shape_op("flip", _with((_x(3, 4), (0,))), _with((_x(3, 4), (0, 1)))),
    shape_op("fliplr", _t(3, 4)),
    shape_op("flipud", _t(3, 4)),
    shape_op("roll", _with((_x(3, 4), 1)), _with((_x(3, 4), (1, -1), (0, 1)))),
    shape_op("rot90", _t(3, 4), _with((_x(3, 4), 2, (0, 1)))),
    shape_op("tril", _t(3, 4), _with((_x(3, 4), -1)), out=True),
    shape_op("triu", _t(3, 4), _with((_x(3, 4), 1)), out=True),
    shape_op("clone", _t(3, 4), _t(4, 3, layout="transposed")),
    shape_method("contiguous", _t(4, 3, layout="transposed")),
    shape_method("unfold", _with((_x(3, 5), 1, 2, 1))),
    shape_op(
        "meshgrid", _with((_x(3), _x(4)), indexing="ij"), _with((_x(3), _x(4)), indexing="xy")
    ),
    shape_op("diff", _t(3, 4), _with((_x(3, 4),), n=2, dim=0), out=True),
    shape_op("detach", _t(3, 4), inplace=False, **NO_GRAD),
]


INDEXING = [
    shape_op(
        "gather",
        _with((_x(3, 4), 1, _idx(4, 3, 2))),
        _with((_x(3, 4), 0, _idx(3, 2, 4))),
        out=True,
        errors=fixed(_with((_x(3, 4), 1, Keep(np.array([[7]]))))),
    ),
    shape_op(
        "scatter",
        _with((_x(3, 4), 1, Keep(np.array([[0, 1], [2, 3], [1, 0]])), _x(3, 2, seed=1))),
        _with((_x(3, 4), 0, Keep(np.array([[0, 1, 2, 0]])), 2.5)),
        out=True,
    ),
    shape_op(
        "scatter_add",
        _with((_x(3, 4), 1, _idx(4, 3, 2), _x(3, 2, seed=1))),
        out=True,
    ),
    shape_op(
        "scatter_reduce",
        _with((_x(3, 4), 1, _idx(4, 3, 2), _x(3, 2, seed=1), "sum")),
        _with((_x(3, 4), 1, _idx(4, 3, 2), _x(3, 2, seed=1), "amax"), include_self=False),
        _with((_x(3, 4), 0, _idx(3, 2, 4), _x(2, 4, seed=1), "mean")),
        dtypes=NUMERIC,
        out=True,
    ),
    shape_op("index_select", _with((_x(3, 4), 1, _idx(4, 5))), out=True),
    shape_op("index_add", _with((_x(3, 4), 1, Keep(np.array([0, 2])), _x(3, 2, seed=1))), out=True),
    shape_op(
        "index_copy", _with((_x(3, 4), 1, Keep(np.array([0, 2])), _x(3, 2, seed=1))), out=True
    ),
    shape_op("index_fill", _with((_x(3, 4), 1, Keep(np.array([0, 2])), 1.5))),
    shape_op("masked_fill", _with((_x(3, 4), _mask(3, 4), 1.5)), _with((_x(3, 4), _mask(4), 0))),
    shape_op("masked_select", _with((_x(3, 4), _mask(3, 4))), out=True),
    shape_op("take", _with((_x(3, 4), _idx(12, 5))), out=True),
    shape_op("take_along_dim", _with((_x(3, 4), _idx(4, 3, 2), 1)), out=True),
    shape_op("nonzero", _t(3, 4), _t(), **NO_GRAD, out=True),
    shape_op("argwhere", _t(3, 4), **NO_GRAD),
    shape_op(
        "sort",
        _t(3, 4),
        _with((_x(3, 4), 0)),
        _with((_x(3, 4),), descending=True),
        dtypes=ALL,
        out=True,
    ),
    shape_op("msort", _t(3, 4), _t(4), dtypes=ALL),
    shape_op("argsort", _t(3, 4), _with((_x(3, 4), 0), descending=True), dtypes=ALL, **NO_GRAD),
    shape_op(
        "topk", _with((_x(3, 4), 2)), _with((_x(3, 4), 2, 0, False)), dtypes=NUMERIC, out=True
    ),
    shape_op("unique", _t(3, 4), _with((_x(3, 4),), return_counts=True), **NO_GRAD),
    shape_op(
        "unique_consecutive",
        _t(3, 4),
        _with((_x(3, 4),), return_inverse=True, return_counts=True, dim=0),
        dtypes=ALL,
        **NO_GRAD,
    ),
    op("bincount", fixed(_with((Keep(np.array([0, 3, 1, 3, 7])),))), dtypes=ALL, **NO_GRAD),
    op(
        "histc",
        fixed(_t(20), _with((_x(20),), bins=4, min=-1, max=1)),
        dtypes=FLOATS,
        **NO_GRAD,
        out=True,
    ),
    op("histogram", fixed(_with((_x(20), 4))), dtypes=F64, **NO_GRAD, out=True),
    op(
        "searchsorted",
        fixed(_with((np.array([-1.0, 0.0, 2.0]), _x(3, 4))), _with((np.array([0.0, 1.0]), 0.5))),
        dtypes=NUMERIC,
        out=True,
        **NO_GRAD,
    ),
    op(
        "bucketize",
        fixed(_with((_x(3, 4), np.array([-1.0, 0.0, 2.0])))),
        dtypes=NUMERIC,
        out=True,
        **NO_GRAD,
    ),
    op(
        "isin",
        fixed(_with((_x(3, 4), np.array([-1.0, 0.0, 2.0])))),
        dtypes=NUMERIC,
        **NO_GRAD,
        out=True,
    ),
]


def nn(name, *samples, **kw):
    return op(f"nn.functional.{name}", fixed(*samples), **kw)


def activation(name, *extra, **kw):
    return nn(name, _t(3, 4), _t(), _t(0, 3), _t(4, 3, layout="transposed"), *extra, **kw)


def _labels(high, *shape):
    return Values(3).index(high, *shape)


ACTIVATIONS = [
    activation("celu", _with((_x(3, 4), 0.5)), aliases=("nn.functional.celu_", "celu", "celu_")),
    activation("elu", _with((_x(3, 4),), alpha=0.5), aliases=("nn.functional.elu_",)),
    activation("gelu", _with((_x(3, 4),), approximate="tanh")),
    nn("glu", _t(3, 4), _with((_x(4, 3), 0)), _t(4, 2, layout="transposed")),
    activation("hardshrink", _with((_x(3, 4), 1.0)), aliases=("hardshrink",), method="hardshrink"),
    activation("hardsigmoid"),
    activation("hardswish"),
    activation(
        "hardtanh",
        _with((_x(3, 4), -0.5, 0.5)),
        aliases=("nn.functional.hardtanh_",),
        dtypes=SIGNED,
    ),
    activation("leaky_relu", _with((_x(3, 4), 0.2)), aliases=("nn.functional.leaky_relu_",)),
    activation("logsigmoid"),
    activation("mish"),
    activation("relu6", dtypes=NUMERIC),
    activation("selu", aliases=("nn.functional.selu_", "selu", "selu_")),
    activation("silu"),
    activation("softplus", _with((_x(3, 4),), beta=2, threshold=1)),
    activation("softshrink", _with((_x(3, 4), 1.0))),
    activation("softsign", dtypes=NUMERIC),
    activation("tanhshrink", dtypes=NUMERIC),
    nn(
        "threshold",
        _with((_x(3, 4), 0.5, -1.0)),
        aliases=("nn.functional.threshold_", "threshold", "threshold_"),
        dtypes=SIGNED,
    ),
    nn(
        "prelu",
        _with((_x(2, 3, 4), np.array([0.1, 0.2, 0.3]))),
        _with((_x(3, 4), np.array([0.25]))),
        aliases=("prelu",),
    ),
    nn("softmax", _with((_x(3, 4), 1)), _with((_x(3, 4), 0))),
    nn("log_softmax", _with((_x(3, 4), 1)), _with((_x(3, 4), 0))),
    nn("softmin", _with((_x(3, 4), 1))),
    op("softmax", fixed(_with((_x(3, 4), 1)), _with((_x(3, 4), -1))), out=True),
    op("log_softmax", fixed(_with((_x(3, 4), 1))), out=True),
    op("special.softmax", fixed(_with((_x(3, 4), 1)))),
    op("special.log_softmax", fixed(_with((_x(3, 4), 1)))),
    nn("normalize", _t(3, 4), _with((_x(3, 4),), p=1, dim=0)),
]

LOSSES = [
    nn(
        "mse_loss",
        _with((_x(3, 4), _x(3, 4, seed=1))),
        _with((_x(3, 4), _x(3, 4, seed=1)), reduction="sum"),
    ),
    nn(
        "l1_loss",
        _with((_x(3, 4), _x(3, 4, seed=1))),
        _with((_x(3, 4), _x(3, 4, seed=1)), reduction="none"),
    ),
    nn("smooth_l1_loss", _with((_x(3, 4), _x(3, 4, seed=1)), beta=0.5)),
    nn("huber_loss", _with((_x(3, 4), _x(3, 4, seed=1)), delta=0.5)),
    nn("soft_margin_loss", _with((_x(3, 4), Fixed(np.sign(_x(3, 4, seed=1)))))),
    nn(
        "binary_cross_entropy",
        _with((_x(3, 4, domain="open01"), _x(3, 4, seed=1, domain="open01"))),
    ),
    nn(
        "binary_cross_entropy_with_logits",
        _with((_x(3, 4), _x(3, 4, seed=1, domain="open01"))),
        _with(
            (_x(3, 4), _x(3, 4, seed=1, domain="open01")),
            pos_weight=Fixed(_x(4, domain="positive")),
        ),
    ),
    nn(
        "cross_entropy",
        _with((_x(3, 5), _labels(5, 3))),
        _with((_x(3, 5), _labels(5, 3)), label_smoothing=0.1),
        _with((_x(3, 5), _x(3, 5, seed=1).__abs__())),
        _with((_x(2, 5, 4), _labels(5, 2, 4)), reduction="none"),
    ),
    nn(
        "nll_loss",
        _with((_x(3, 5), _labels(5, 3))),
        _with((_x(3, 5), _labels(5, 3)), reduction="sum"),
    ),
    nn("kl_div", _with((_x(3, 4), _x(3, 4, seed=1, domain="open01")), reduction="batchmean")),
    nn("poisson_nll_loss", _with((_x(3, 4), _x(3, 4, seed=1, domain="positive"))), dtypes=NUMERIC),
    nn(
        "margin_ranking_loss", _with((_x(4), _x(4, seed=1), np.sign(_x(4, seed=2)))), dtypes=NUMERIC
    ),
    nn("hinge_embedding_loss", _with((_x(3, 4), np.sign(_x(3, 4, seed=1))))),
    nn(
        "cosine_embedding_loss",
        _with((_x(3, 4), _x(3, 4, seed=1), np.sign(_x(3, seed=2)))),
        dtypes=ALL,
    ),
    nn(
        "triplet_margin_loss", _with((_x(3, 4), _x(3, 4, seed=1), _x(3, 4, seed=2))), dtypes=NUMERIC
    ),
    nn("cosine_similarity", _with((_x(3, 4), _x(3, 4, seed=1))), aliases=("cosine_similarity",)),
    nn(
        "pairwise_distance",
        _with((_x(3, 4), _x(3, 4, seed=1))),
        dtypes=NUMERIC,
        aliases=("pairwise_distance",),
    ),
    nn(
        "gaussian_nll_loss",
        _with((_x(3, 4), _x(3, 4, seed=1), _x(3, 4, seed=2, domain="positive"))),
        _with((_x(3, 4), _x(3, 4, seed=1), _x(3, 1, seed=2, domain="positive")), full=True),
    ),
    nn(
        "multi_margin_loss",
        _with((_x(3, 5), _labels(5, 3))),
        _with((_x(3, 5), _labels(5, 3)), p=2, margin=0.5, reduction="none"),
        dtypes=F64,
    ),
    nn(
        "multilabel_margin_loss",
        _with((_x(3, 4), Keep(np.array([[3, 0, -1, 1], [1, 2, 0, 3], [2, -1, 0, 0]])))),
        dtypes=F64,
    ),
    nn(
        "triplet_margin_with_distance_loss",
        _with((_x(3, 4), _x(3, 4, seed=1), _x(3, 4, seed=2))),
        _with((_x(3, 4), _x(3, 4, seed=1), _x(3, 4, seed=2)), margin=2.0, swap=True),
        dtypes=NUMERIC,
    ),
    nn(
        "multilabel_soft_margin_loss",
        _with((_x(3, 4), _x(3, 4, seed=1, domain="open01"))),
        _with((_x(3, 4), _x(3, 4, seed=1, domain="open01"), _x(4, seed=2)), reduction="sum"),
    ),
]

LAYERS = [
    nn(
        "linear",
        _with((_x(3, 4), _x(2, 4, seed=1))),
        _with((_x(3, 4), _x(2, 4, seed=1), _x(2, seed=2))),
        dtypes=NUMERIC,
    ),
    nn("bilinear", _with((_x(3, 2), _x(3, 4, seed=1), _x(5, 2, 4, seed=2))), dtypes=NUMERIC),
    nn(
        "conv1d",
        _with((_x(2, 3, 6), _x(4, 3, 2, seed=1))),
        _with((_x(1, 2, 6), _x(2, 1, 3, seed=1)), padding=1, groups=2),
        dtypes=NUMERIC,
    ),
    op("conv1d", fixed(_with((_x(2, 3, 6), _x(4, 3, 2, seed=1)))), dtypes=NUMERIC),
    nn(
        "conv2d",
        _with((_x(1, 2, 5, 5), _x(3, 2, 2, 2, seed=1)), stride=2, padding=1),
        dtypes=NUMERIC,
    ),
    op("conv2d", fixed(_with((_x(1, 2, 5, 5), _x(3, 2, 2, 2, seed=1)))), dtypes=NUMERIC),
    nn(
        "conv_transpose1d",
        _with((_x(2, 3, 5), _x(3, 2, 3, seed=1)), stride=2),
        dtypes=FLOATS + ("int64",),
        aliases=("conv_transpose1d",),
    ),
    nn(
        "conv_transpose2d",
        _with((_x(1, 2, 3, 3), _x(2, 3, 2, 2, seed=1))),
        dtypes=FLOATS + ("int64",),
        aliases=("conv_transpose2d",),
    ),
    nn("avg_pool1d", _with((_x(2, 3, 6), 2)), dtypes=FLOATS + ("int64",), aliases=("avg_pool1d",)),
    nn(
        "avg_pool2d",
        _with((_x(1, 2, 4, 4), 2)),
        _with((_x(1, 2, 5, 5), 3), stride=2, padding=1),
        dtypes=FLOATS + ("int64",),
    ),
    nn("max_pool1d", _with((_x(2, 3, 6), 2))),
    op("max_pool1d", fixed(_with((_x(2, 3, 6), 2)))),
    nn("max_pool1d_with_indices", _with((_x(2, 3, 6), 2)), dtypes=NUMERIC),
    nn(
        "max_pool2d",
        _with((_x(1, 2, 4, 4), 2)),
        _with((_x(1, 2, 5, 5), 3), stride=2, padding=1),
        dtypes=NUMERIC,
    ),
    op("max_pool2d", fixed(_with((_x(1, 2, 4, 4), 2))), dtypes=NUMERIC),
    nn("max_pool2d_with_indices", _with((_x(1, 2, 4, 4), 2)), dtypes=NUMERIC),
    nn("adaptive_avg_pool1d", _with((_x(2, 3, 7), 3)), aliases=("adaptive_avg_pool1d",)),
    nn("adaptive_avg_pool2d", _with((_x(1, 2, 5, 5), (2, 3)))),
    nn("adaptive_max_pool1d", _with((_x(2, 3, 7), 3))),
    nn("adaptive_max_pool1d_with_indices", _with((_x(2, 3, 7), 3))),
    nn("adaptive_max_pool2d", _with((_x(1, 2, 5, 5), 2))),
    nn("adaptive_max_pool2d_with_indices", _with((_x(1, 2, 5, 5), 2))),
    nn("batch_norm", _with((_x(4, 3), Fixed(np.zeros(3)), Fixed(np.ones(3))), training=True)),
    nn(
        "layer_norm",
        _with((_x(3, 4), (4,))),
        _with((_x(3, 4), (4,), _x(4, seed=1), _x(4, seed=2))),
        aliases=("layer_norm",),
    ),
    nn("group_norm", _with((_x(2, 4, 3), 2)), aliases=("group_norm",)),
    nn("instance_norm", _with((_x(2, 3, 4),))),
    nn(
        "rms_norm",
        _with((_x(3, 4), (4,))),
        _with((_x(3, 4), (4,), _x(4, seed=1))),
        aliases=("rms_norm",),
    ),
    nn("local_response_norm", _with((_x(2, 4, 3), 2)), dtypes=FLOATS + ("int64",)),
    nn("embedding", _with((_labels(5, 2, 3), _x(5, 4))), dtypes=ALL),
    nn(
        "embedding_bag",
        _with((_labels(5, 2, 3), _x(5, 4)), mode="sum"),
        _with((_labels(5, 6), _x(5, 4), Keep(np.array([0, 2, 2]))), mode="max"),
        dtypes=FLOATS,
    ),
    nn("one_hot", _with((_labels(5, 2, 3),)), _with((_labels(5, 4), 6)), **NO_GRAD, dtypes=ALL),
    nn(
        "pad",
        _with((_x(2, 3), (1, 2))),
        _with((_x(1, 2, 3), (1, 1), "reflect")),
        _with((_x(1, 2, 3), (1, 1)), mode="replicate"),
        dtypes=NUMERIC,
    ),
    nn(
        "interpolate",
        _with((_x(1, 2, 4),), scale_factor=2),
        _with((_x(1, 2, 3, 3),), size=(4, 5), mode="bilinear"),
        dtypes=FLOATS + ("uint8",),
    ),
    nn("upsample", _with((_x(1, 2, 4),), scale_factor=2), dtypes=FLOATS + ("uint8",)),
    nn("upsample_nearest", _with((_x(1, 2, 3, 3),), scale_factor=2), dtypes=FLOATS + ("uint8",)),
    nn("upsample_bilinear", _with((_x(1, 2, 3, 3),), scale_factor=2), dtypes=FLOATS + ("uint8",)),
    nn("pixel_shuffle", _with((_x(1, 4, 2, 3), 2)), dtypes=ALL, aliases=("pixel_shuffle",)),
    nn("pixel_unshuffle", _with((_x(1, 1, 4, 6), 2)), dtypes=ALL, aliases=("pixel_unshuffle",)),
    nn(
        "channel_shuffle",
        _with((_x(2, 6, 3), 3)),
        _with((_x(1, 4, 2, 3), 2)),
        aliases=(
            "nn.functional.native_channel_shuffle",
            "channel_shuffle",
            "native_channel_shuffle",
        ),
        dtypes=ALL,
    ),
    nn(
        "max_unpool2d",
        _with((_x(1, 2, 2, 2), Keep(np.array([[[[0, 3], [9, 14]], [[5, 2], [8, 15]]]])), 2)),
        _with((_x(2, 2, 3), Keep(np.array([[[0, 3, 5], [6, 9, 11]]] * 2)), 2, 2, 0, (4, 6))),
    ),
    nn(
        "max_unpool1d",
        _with((_x(2, 3), Keep(np.array([[1, 2, 5], [0, 3, 4]])), 2)),
    ),
    *(
        nn(
            f"lp_pool{d}d",
            _with((_x(1, 2, *(4,) * d, domain="positive"), 2, 2)),
            _with((_x(1, 2, *(5,) * d, domain="positive"), 3, 2, 1, True)),
            dtypes=FLOATS + ("int64", "bool"),
            xfails={
                f"values:{half}": "the average pools refuse half tensors (torch pools them)"
                for half in ("float16", "bfloat16")
            },
        )
        for d in (1, 2)
    ),
    nn("rrelu", _with((_x(3, 4),)), _with((_x(3, 4), 0.1, 0.3)), aliases=("rrelu",)),
    nn("pdist", _with((_x(4, 3),)), _with((_x(3, 5), 1.0)), dtypes=F64, aliases=("pdist",)),
    nn("unfold", _with((_x(1, 2, 4, 4), 2)), dtypes=FLOATS + ("bool",)),
    nn("fold", _with((_x(1, 8, 9), (4, 4), 2)), dtypes=FLOATS + ("bool",)),
    nn(
        "scaled_dot_product_attention",
        _with((_x(2, 3, 4), _x(2, 5, 4, seed=1), _x(2, 5, 4, seed=2))),
        _with((_x(2, 3, 4), _x(2, 3, 4, seed=1), _x(2, 3, 4, seed=2)), is_causal=True),
    ),
]

LOSSY = "casts float64 to float32: central differences lose the precision gradcheck needs"
FACTORY = dict(dtypes=ALL, method=False, inplace=False, **NO_GRAD)
FLOAT_FACTORY = {**FACTORY, "dtypes": FLOATS}

CREATION = [
    op(
        "zeros", fixed(_with(((2, 3),), dtype=DTYPE), _with((0,), dtype=DTYPE)), out=True, **FACTORY
    ),
    op("ones", fixed(_with((2, 3), dtype=DTYPE)), out=True, **FACTORY),
    op("full", fixed(_with(((2, 3), 1), dtype=DTYPE)), out=True, **FACTORY),
    op("eye", fixed(_with((3,), dtype=DTYPE), _with((2, 4), dtype=DTYPE)), out=True, **FACTORY),
    op(
        "arange",
        fixed(_with((5,), dtype=DTYPE), _with((1, 7, 2), dtype=DTYPE)),
        out=True,
        **{**FACTORY, "dtypes": NUMERIC},
    ),
    op(
        "linspace",
        fixed(_with((0, 6, 4), dtype=DTYPE), _with((-1.0, 1.0, 5))),
        out=True,
        **{**FACTORY, "dtypes": NUMERIC},
    ),
    op("zeros_like", fixed(_t(2, 3), _with((_x(2, 3),), dtype=DtypeName("float64"))), **FACTORY),
    op("ones_like", fixed(_t(2, 3), _with((_x(2, 3),), dtype=DtypeName("float64"))), **FACTORY),
    op("full_like", fixed(_with((_x(2, 3), 2)), _with((_x(2, 3), 1.5))), **FACTORY),
    op("tensor", fixed(_with(([[1, 2], [3, 4]],), dtype=DTYPE)), **FACTORY),
    op("as_tensor", fixed(_with(([1.5, 2.5],), dtype=DTYPE)), **FACTORY),
    method_only("new_zeros", fixed(_with((_x(2), (2, 3)))), dtypes=ALL),
    method_only("new_ones", fixed(_with((_x(2), (2, 3)))), dtypes=ALL),
    method_only("new_full", fixed(_with((_x(2), (2, 3), 7))), dtypes=ALL),
    method_only("new_tensor", fixed(_with((_x(2), [1, 2]))), dtypes=ALL),
    *(
        op(window, fixed(_with((5,), dtype=DTYPE), _with((6, False), dtype=DTYPE)), **FLOAT_FACTORY)
        for window in ("hann_window", "hamming_window", "blackman_window", "bartlett_window")
    ),
    op("kaiser_window", fixed(_with((5, True, 4.0), dtype=DTYPE)), **FLOAT_FACTORY),
    op(
        "logspace",
        fixed(_with((0, 2, 4), dtype=DTYPE), _with((-1, 1, 3, 2.0))),
        out=True,
        **{**FACTORY, "dtypes": NUMERIC},
    ),
    op(
        "range",
        fixed(_with((1, 4), dtype=DTYPE), _with((0, 2, 0.5))),
        out=True,
        **{**FACTORY, "dtypes": NUMERIC},
    ),
    op("tril_indices", fixed(_with((3, 4)), _with((4, 3, -1))), **FACTORY),
    op("triu_indices", fixed(_with((3, 4)), _with((4, 3, 1))), **FACTORY),
    op("scalar_tensor", fixed(_with((2.5,), dtype=DTYPE), _with((3,))), **FACTORY),
    op("asarray", fixed(_with(([1.5, 2.5],), dtype=DTYPE)), **FACTORY),
]

CONVERSIONS = [
    method_only(
        name,
        unary_samples(),
        dtypes=ALL,
        grad=name in ("float", "double"),
        skips={"gradcheck": LOSSY, "gradgradcheck": LOSSY} if name == "float" else {},
    )
    for name in (
        "float",
        "double",
        "half",
        "bfloat16",
        "int",
        "long",
        "short",
        "char",
        "byte",
        "bool",
    )
] + [
    method_only(
        "to",
        fixed(_with((_x(3, 4), DTYPE)), _with((_x(3, 4),), dtype=DtypeName("float64"))),
        dtypes=ALL,
    ),
    method_only("type_as", fixed(_with((_x(3, 4), Keep(np.zeros(2))))), dtypes=ALL),
    method_only("fill_", fixed(_with((_x(3, 4), 1.5))), dtypes=ALL, **NO_GRAD),
    method_only("zero_", fixed(_t(3, 4)), dtypes=ALL, **NO_GRAD),
    method_only("copy_", fixed(_with((_x(3, 4), _x(4, seed=1)))), dtypes=ALL),
]


def _dtype_pairs(*others):
    return fixed(*(_with((DTYPE, DtypeName(other))) for other in others))


DTYPE_RULES = [
    op(
        "promote_types",
        _dtype_pairs("bool", "uint8", "int8", "int64", "float16", "bfloat16"),
        **FACTORY,
    ),
    op("can_cast", _dtype_pairs("bool", "uint8", "int32", "float16", "float64"), **FACTORY),
    op(
        "result_type",
        fixed(_with((_x(3, 4), 2.5)), _with((_x(3, 4), 2)), _with((_x(3, 4), _x(3, seed=1)))),
        **FACTORY,
    ),
    op("numel", fixed(_t(3, 4), _t(), _t(0, 2)), **{**FACTORY, "method": None}),
    op("is_floating_point", fixed(_t(3, 4), _t()), **{**FACTORY, "method": None}),
]

# ---------------------------------------------------------------- composed ops torch also has

INT_PAIRS = fixed(
    lambda: Sample((Keep(np.array([4, -6, 0, 12, 9])), Keep(np.array([6, 4, 0, -18, 3])))),
    lambda: Sample((Keep(np.array([[4], [9]])), Keep(np.array([6, 3, 0])))),
)

POINTWISE_COMPOSED = [
    binary("fmax", scalar=None),
    binary("fmin", scalar=None),
    op("gcd", INT_PAIRS, dtypes=ALL, out=True, **NO_GRAD),
    op("lcm", INT_PAIRS, dtypes=ALL, out=True, **NO_GRAD),
    op(
        "ldexp",
        fixed(
            Sample((_x(3, 4), Keep(np.array([1, -2, 0, 3])))),
            Sample((_x(4, 3), Keep(np.array([[2], [-1], [0], [3]]))), layout="transposed"),
        ),
        dtypes=ALL,
        out=True,
        skips={
            "grad": "torch's derivative takes 2**other in other's integer dtype: 0 where "
            "other < 0 (docs/compatibility.md)",
            "out_dtype": "torch fails an internal assert for a float64 out of a float32 ldexp",
        },
    ),
    op(
        "float_power",
        fixed(Sample((_x(3, 4, domain="positive"), 2)), Sample((_x(3, domain="positive"), 0.5))),
        dtypes=ALL,
        out=True,
        tol=(1e-7, 1e-9),
    ),
    op(
        "heaviside",
        fixed(Sample((_x(3, 4), _x(4, seed=1))), Sample((np.array([-1.0, 0.0, 2.0]), _x(3)))),
        dtypes=ALL,
        out=True,
        **NO_GRAD,
    ),
    op("frexp", unary_samples(), dtypes=FLOATS, out=True, gradgrad=False),
    unary("isposinf", **NO_GRAD),
    unary("isneginf", **NO_GRAD),
    unary("isreal", out=False, **NO_GRAD),
    unary("fix", dtypes=NUMERIC, gradgrad=False),
    op("positive", unary_samples(), dtypes=NUMERIC),
]

STATISTICS = [
    op("cov", fixed(_t(3, 5), _t(6), _with((_x(2, 5),), correction=0)), dtypes=NUMERIC),
    op("corrcoef", fixed(_t(3, 5), _t(2, 6, layout="transposed")), dtypes=NUMERIC),
    *(
        op(
            name,
            fixed(
                _with((_x(3, 5), 0.3)),
                _with((_x(3, 5), 0.5), dim=1, keepdim=True),
                _with((_x(3, 5), np.array([0.1, 0.5, 0.9])), dim=0, interpolation="midpoint"),
                _with((_x(4, 3), 0.25), dim=0, interpolation="nearest", layout="transposed"),
            ),
            dtypes=F64,
            out=True,
        )
        for name in ("quantile", "nanquantile")
    ),
    op(
        "aminmax",
        fixed(_t(3, 4), _with((_x(3, 4),), dim=1), _with((_x(3, 4),), dim=0, keepdim=True)),
        dtypes=ALL,
        out=True,
    ),
    op(
        "trapezoid",
        fixed(_t(3, 5), _with((_x(3, 5),), dx=0.5, dim=0), _with((_x(3, 5), _x(5, seed=1)))),
        dtypes=NUMERIC,
    ),
    op("trapz", fixed(_t(3, 5), _with((_x(3, 5), _x(5, seed=1)))), dtypes=NUMERIC),
    op("cumulative_trapezoid", fixed(_t(3, 5), _with((_x(3, 5),), dx=2.0, dim=0)), dtypes=NUMERIC),
]

PRODUCTS = [
    op(
        "tensordot",
        fixed(
            _with((_x(3, 4, 5), _x(4, 5, 2, seed=1))),
            _with((_x(3, 4), _x(4, 3, seed=1)), dims=([1], [0])),
            _with((_x(2, 3), _x(3, 2, seed=1)), dims=0),
        ),
        dtypes=NUMERIC,
        out=True,
    ),
    op(
        "kron",
        fixed(_with((_x(2, 3), _x(4, 2, seed=1))), _with((_x(2), _x(3, 2, seed=1)))),
        dtypes=ALL,
        out=True,
    ),
    op(
        "linalg.multi_dot",
        fixed(
            _with(([_x(3, 4), _x(4, 5, seed=1), _x(5, 2, seed=2)],)),
            _with(([_x(4), _x(4, 3, seed=1)],)),
        ),
        dtypes=NUMERIC,
    ),
    op(
        "chain_matmul", fixed(_with((_x(3, 4), _x(4, 5, seed=1), _x(5, 2, seed=2)))), dtypes=NUMERIC
    ),
    op("block_diag", fixed(_with((_x(2, 3), _x(3, seed=1), _x(2, 2, seed=2)))), dtypes=ALL),
    op("diag_embed", fixed(_t(3, 4), _with((_x(3, 4), 1, 0, 2))), dtypes=ALL),
    op("diagflat", fixed(_t(2, 3), _with((_x(3), -1))), dtypes=ALL),
    op("vander", fixed(_t(4), _with((_x(3), 4, True))), dtypes=ALL, grad=False, gradgrad=False),
    op("linalg.vander", fixed(_t(4), _with((_x(2, 3),), N=4)), dtypes=INTS + F64),
    op("cartesian_prod", fixed(_with((_x(2), _x(3, seed=1)))), dtypes=ALL),
    op("combinations", fixed(_t(4), _with((_x(4), 3)), _with((_x(3), 2, True))), dtypes=ALL),
    op(
        "linalg.matrix_rank",
        fixed(_t(3, 4), _with((_x(2, 3, 3),), hermitian=False)),
        dtypes=F64,
        **NO_GRAD,
    ),
    op("linalg.cond", fixed(Sample((_square(3),)), Sample((_square(3), -2))), dtypes=F64),
    op(
        "linalg.matrix_exp",
        fixed(Sample((_square(3),)), Sample((_x(2, 3, 3),))),
        dtypes=FLOATS,
        skips={
            f"values:{half}": "torch's half matrix_exp overflows to infinities"
            for half in ("float16", "bfloat16")
        },
        aliases=("matrix_exp",),
        method="matrix_exp",
    ),
]

SCATTERS = [
    op("select_scatter", fixed(_with((_x(3, 4), _x(4, seed=1), 0, 1))), dtypes=ALL),
    op("slice_scatter", fixed(_with((_x(3, 4), _x(3, 2, seed=1), 1, 0, 4, 2))), dtypes=ALL),
    op("diagonal_scatter", fixed(_with((_x(3, 4), _x(3, seed=1), 1))), dtypes=ALL),
    op(
        "index_put",
        fixed(
            _with((_x(3, 4), (Keep(np.array([0, 2])),), _x(4, seed=1))),
            _with(
                (
                    _x(3, 4),
                    (Keep(np.array([0, 0, 1])), Keep(np.array([1, 1, 3]))),
                    _x(3, seed=1),
                    True,
                )
            ),
        ),
        dtypes=ALL,
        aliases=("index_put_",),
    ),
    op("masked_scatter", fixed(_with((_x(2, 3), _mask(3), _x(6, seed=1)))), dtypes=ALL),
    method_only(
        "fill_diagonal_",
        fixed(_with((_x(4, 3), 2.5)), _with((_x(5, 2), 1.0, True))),
        dtypes=ALL,
        **NO_GRAD,
    ),
    method_only(
        "sum_to_size", fixed(_with((_x(3, 4), (1, 4))), _with((_x(2, 3, 4), 3, 1))), dtypes=ALL
    ),
    op("unravel_index", fixed(_with((Keep(np.array([5, 1, 0])), (2, 3)))), **FACTORY),
]

TOP_LEVEL_NN = [
    op(
        "batch_norm",
        fixed(
            _with(
                (
                    _x(4, 3),
                    _x(3, seed=1),
                    _x(3, seed=2),
                    Fixed(np.zeros(3)),
                    Fixed(np.ones(3)),
                    True,
                    0.1,
                    1e-5,
                    False,
                )
            )
        ),
        dtypes=FLOATS,
        xfails={
            "promotion": "integer input, float weights: ember RuntimeError('mixed dtype (CPU)'), "
            "torch NotImplementedError('batch_norm not implemented for Long')",
            **{
                f"values:{half}": "the nn.functional op refuses half tensors (torch computes them)"
                for half in ("float16", "bfloat16")
            },
        },
    ),
    op(
        "instance_norm",
        fixed(_with((_x(2, 3, 4), None, None, None, None, True, 0.1, 1e-5, False))),
        dtypes=FLOATS,
    ),
    op(
        "embedding",
        fixed(_with((_x(5, 4), _labels(5, 2, 3))), _with((_x(5, 4), _labels(5, 3), 2))),
        dtypes=ALL,
    ),
    op(
        "kl_div",
        fixed(_with((_x(3, 4), _x(3, 4, seed=1, domain="open01"), 1))),
        dtypes=FLOATS,
        xfails={
            "promotion": "float16 input, bfloat16 target: values differ from torch's in float32"
        },
    ),
    op(
        "binary_cross_entropy_with_logits",
        fixed(_with((_x(3, 4), Fixed(Values(1, "open01")(3, 4)), None, None, 2))),
        dtypes=FLOATS,
    ),
    op("dropout", fixed(_with((_x(3, 4), 0.5, False))), dtypes=ALL, aliases=("dropout_",)),
    op("fill", fixed(_with((_x(3, 4), 1.5))), dtypes=ALL, **NO_GRAD),
    op(
        "adaptive_max_pool1d",
        fixed(_with((_x(2, 3, 7), 3))),
        dtypes=FLOATS,
        xfails={
            f"values:{half}": "the nn.functional op refuses half tensors (torch computes them)"
            for half in ("float16", "bfloat16")
        },
    ),
]


_TABLE = (
    POINTWISE_UNARY
    + POINTWISE_BINARY
    + POINTWISE_OTHER
    + REDUCTIONS
    + SCANS
    + MATRIX_PRODUCTS
    + SOLVERS
    + MOVEMENT
    + INDEXING
    + ACTIVATIONS
    + LOSSES
    + LAYERS
    + CREATION
    + CONVERSIONS
    + DTYPE_RULES
    + POINTWISE_COMPOSED
    + STATISTICS
    + PRODUCTS
    + SCATTERS
    + TOP_LEVEL_NN
)
OPS = [replace(e, xfails={**KNOWN_BUGS.get(e.name, {}), **e.xfails}) for e in _TABLE]
