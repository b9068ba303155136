"""The gamma family: Gamma(concentration, rate), Chi2(df), and the samplers they
share with Beta and Dirichlet."""

import numbers

from .. import _C
from .._dtype_info import finfo
from .._pointwise import xlogy
from .._size import Size
from ..autograd.function import Function
from ..nn import functional as F
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all


class _NoConcentrationGradient(Function):
    """Passes samples through; their gradient with respect to the concentration
    (torch's implicit reparameterization) is not implemented, and says so."""

    @staticmethod
    def forward(ctx, concentration, samples):
        return samples

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError(
            "the gradient of gamma, beta and Dirichlet samples with respect to their "
            "concentration is not implemented in Ember; rsample's gradient flows to rate only"
        )


def standard_gamma(concentration, generator=None):
    """Gamma(concentration, 1) draws with torch's stream (torch._standard_gamma)."""
    samples = _C._standard_gamma(concentration, generator)
    if concentration.requires_grad:
        return _NoConcentrationGradient.apply(concentration, samples)
    return samples


def sample_dirichlet(concentration, generator=None):
    """Dirichlet draws as torch's CPU sampler makes them: gamma draws in double,
    normalized, then kept inside (0, 1) in the concentration's dtype."""
    gamma = _C._standard_gamma(concentration.detach().double(), generator)
    ratio = (gamma / gamma.sum(-1, keepdim=True)).to(concentration.dtype)
    tiny = finfo(concentration.dtype).tiny
    below_one = 1.0 - finfo(concentration.dtype).eps / 2
    samples = ratio.clamp(min=tiny, max=below_one)
    if concentration.requires_grad:
        return _NoConcentrationGradient.apply(concentration, samples)
    return samples


class Gamma(Distribution):
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        numbers_only = isinstance(concentration, numbers.Number) and isinstance(
            rate, numbers.Number
        )
        batch_shape = Size() if numbers_only else self.concentration.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Gamma, _instance)
        batch_shape = Size(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        new.rate = self.rate.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        value = standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        value.detach().clamp_(min=finfo(value.dtype).tiny)  # no zeros from underflow
        return value

    def log_prob(self, value):
        value = value if isinstance(value, _C.Tensor) else _C.tensor(value, dtype=self.rate.dtype)
        if self._validate_args:
            self._validate_sample(value)
        return (
            xlogy(self.concentration, self.rate)
            + xlogy(self.concentration - 1, value)
            - self.rate * value
            - _C.lgamma(self.concentration)
        )

    def entropy(self):
        c = self.concentration
        return c - _C.log(self.rate) + _C.lgamma(c) + (1.0 - c) * _C.digamma(c)


class Chi2(Gamma):
    """Gamma(df / 2, 1 / 2)."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        (df,) = broadcast_all(df)
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Chi2, _instance)
        return super().expand(batch_shape, new)

    @property
    def df(self):
        return self.concentration * 2


class Dirichlet(Distribution):
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        batch_shape, event_shape = concentration.shape[:-1], concentration.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = Size(batch_shape)
        new.concentration = self.concentration.expand(tuple(batch_shape) + tuple(self.event_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        return sample_dirichlet(self.concentration.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return xlogy(c - 1.0, value).sum(-1) + _C.lgamma(c.sum(-1)) - _C.lgamma(c).sum(-1)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        shifted = (self.concentration - 1).clamp(min=0.0)
        mode = shifted / shifted.sum(-1, keepdim=True)
        # with every concentration below 1 the density peaks at a corner
        at_corner = (self.concentration < 1).all(dim=-1)
        if bool(at_corner.any()):
            corners = F.one_hot(mode.argmax(-1), mode.shape[-1]).to(mode.dtype)
            mode = _C.where(at_corner.unsqueeze(-1), corners, mode)
        return mode

    @property
    def variance(self):
        total = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (total - self.concentration) / (total.pow(2) * (total + 1))

    def entropy(self):
        c = self.concentration
        k = c.size(-1)
        total = c.sum(-1)
        return (
            _C.lgamma(c).sum(-1)
            - _C.lgamma(total)
            - (k - total) * _C.digamma(total)
            - ((c - 1.0) * _C.digamma(c)).sum(-1)
        )


class Beta(Distribution):
    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        c1, c0 = broadcast_all(concentration1, concentration0)
        self._dirichlet = Dirichlet(_C.stack([c1, c0], -1), validate_args=validate_args)
        super().__init__(self._dirichlet._batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Beta, _instance)
        batch_shape = Size(batch_shape)
        new._dirichlet = self._dirichlet.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def concentration1(self):
        return self._dirichlet.concentration[..., 0]

    @property
    def concentration0(self):
        return self._dirichlet.concentration[..., 1]

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):
        return self._dirichlet.rsample(sample_shape).select(-1, 0)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        heads_tails = _C.stack([value, 1.0 - value], -1)
        return self._dirichlet.log_prob(heads_tails)

    def entropy(self):
        return self._dirichlet.entropy()
