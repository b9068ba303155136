"""Student's t distribution with df degrees of freedom, location and scale."""

import math

from .. import _C
from .._size import Size
from . import constraints
from .distribution import Distribution
from .gamma import Chi2
from .utils import broadcast_all, standard_normal


class StudentT(Distribution):
    arg_constraints = {
        "df": constraints.positive,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        super().__init__(self.df.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(StudentT, _instance)
        batch_shape = Size(batch_shape)
        new.df = self.df.expand(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        new._chi2 = self._chi2.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.loc.masked_fill(self.df <= 1, math.nan)  # undefined for df <= 1

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        df = self.df
        finite = self.scale.pow(2) * df / _C.where(df > 2, df - 2, _C.ones_like(df))
        value = _C.where(df > 2, finite, _C.full_like(df, math.inf))  # infinite for 1 < df <= 2
        return value.masked_fill(df <= 1, math.nan)

    def rsample(self, sample_shape=()):
        # X / sqrt(Z / df) with X standard normal and Z ~ Chi2(df): normals first, as torch
        shape = self._extended_shape(sample_shape)
        x = standard_normal(shape, self.df.dtype)
        z = self._chi2.rsample(sample_shape)
        y = x * _C.rsqrt(z / self.df)
        return self.loc + self.scale * y

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        log_normalizer = (
            self.scale.log()
            + 0.5 * self.df.log()
            + 0.5 * math.log(math.pi)
            + _C.lgamma(0.5 * self.df)
            - _C.lgamma(0.5 * (self.df + 1.0))
        )
        return -0.5 * (self.df + 1.0) * _C.log1p(y**2.0 / self.df) - log_normalizer

    def entropy(self):
        half_df, half_df_plus = 0.5 * self.df, 0.5 * (self.df + 1)
        log_beta = _C.lgamma(half_df) + math.lgamma(0.5) - _C.lgamma(half_df_plus)
        return (
            self.scale.log()
            + half_df_plus * (_C.digamma(half_df_plus) - _C.digamma(half_df))
            + 0.5 * self.df.log()
            + log_beta
        )
