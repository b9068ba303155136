"""Randomized rectifier (rrelu) and self-normalizing dropout (alpha_dropout,
feature_alpha_dropout), composed with torch's formulas from ember's random draws,
which follow torch's generator: rrelu draws one float64 uniform(lower, upper)
per non-positive element in order, alpha dropout one bernoulli(1 - p) per
element (per channel for the feature form), as torch's CPU kernels do."""

import math

from .. import _C
from .._grad_mode import no_grad
from .._memory_order import inverse, memory_order
from .functional import leaky_relu, leaky_relu_
from .modules import Module

# ---- rrelu ----


def _rrelu_check(lower, upper):
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")


def _rrelu_noise(input, lower, upper):
    """torch's per-element slope: uniform(lower, upper) where input <= 0, else 1."""
    from .._dtype_info import TYPE_NAMES

    if not input.is_floating_point():
        raise NotImplementedError(
            f'"rrelu_with_noise_out_cpu" not implemented for '
            f"'{TYPE_NAMES.get(input.dtype, str(input.dtype))}'"
        )
    with no_grad():
        negative = input <= 0
        count = int(negative.sum().item())
        # torch's uniform_real_distribution(lower, upper): x * (upper - lower) + lower
        draws = _C.empty((count,), dtype=_C.float64).uniform_(0.0, 1.0) * (upper - lower) + lower
        noise = _C.ones(tuple(input.shape), dtype=input.dtype)
        noise[negative] = draws.to(input.dtype)
    return noise


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    if inplace:
        return rrelu_(input, lower, upper, training)
    _rrelu_check(lower, upper)
    if not training:
        return leaky_relu(input, (lower + upper) / 2)
    return input * _rrelu_noise(input, lower, upper)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    _rrelu_check(lower, upper)
    if not training:
        return leaky_relu_(input, (lower + upper) / 2)
    return input.mul_(_rrelu_noise(input, lower, upper))


class RReLU(Module):
    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input):
        return rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        inplace = ", inplace=True" if self.inplace else ""
        return f"lower={self.lower}, upper={self.upper}{inplace}"


# ---- alpha dropout ----

_ALPHA = 1.7580993408473766  # -scale * alpha of SELU: the value a dropped unit takes


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _alpha_dropout(input, p, training, inplace, feature):
    _check_p(p)
    if feature and input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if p == 0 or not training or input.numel() == 0:
        return input
    zero = _C.zeros((), dtype=input.dtype)
    if p == 1:
        return input.mul_(zero) if inplace else input * zero
    with no_grad():
        if feature:
            shape = (input.shape[0], input.shape[1]) + (1,) * (input.dim() - 2)
            noise = _C.empty(shape, dtype=input.dtype)
            noise.bernoulli_(1 - p)
        else:
            noise = _bernoulli_in_memory_order(input, 1 - p)
        a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
        b = noise.add(-1).mul_(_ALPHA * a).add_(_ALPHA * a * p)
        noise.mul_(a)
    if inplace:
        return input.mul_(noise).add_(b)
    return input * noise + b


def _bernoulli_in_memory_order(input, p):
    """Bernoulli(p) draws shaped like input, in the order of its memory (see
    ember._memory_order), as torch's empty_like(input).bernoulli_(p)."""
    order = memory_order(input)
    if order is None:
        return _C.empty(tuple(input.shape), dtype=input.dtype).bernoulli_(p)
    shape = tuple(input.shape)
    noise = _C.empty(tuple(shape[i] for i in order), dtype=input.dtype).bernoulli_(p)
    return noise.permute(*inverse(order))


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    return _alpha_dropout(input, p, training, inplace, feature=False)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    return _alpha_dropout(input, p, training, inplace, feature=True)


class _AlphaDropoutBase(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        _check_p(p)
        self.p = p
        self.inplace = inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class AlphaDropout(_AlphaDropoutBase):
    def forward(self, input):
        return alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_AlphaDropoutBase):
    def forward(self, input):
        return feature_alpha_dropout(input, self.p, self.training)


FUNCTIONS = {f.__name__: f for f in (rrelu, rrelu_, alpha_dropout, feature_alpha_dropout)}
MODULES = (RReLU, AlphaDropout, FeatureAlphaDropout)
