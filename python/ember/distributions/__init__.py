"""Probability distributions, as torch.distributions: sampling with torch's random
streams, reparameterized sampling (rsample) where torch has it, log densities,
entropies and KL divergences, with torch's argument and value validation.

Present: Normal, Bernoulli, Categorical, OneHotCategorical, Uniform, Laplace,
Exponential, MultivariateNormal and Independent, with kl_divergence between them
and register_kl for more. Distributions that need a gamma sampler (Gamma, Beta,
Dirichlet, ...) and TransformedDistribution are not there yet.
"""

from . import constraints
from .bernoulli import Bernoulli
from .categorical import Categorical, OneHotCategorical
from .distribution import Distribution
from .exponential import Exponential
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .uniform import Uniform

__all__ = [
    "Bernoulli",
    "Categorical",
    "Distribution",
    "Exponential",
    "Independent",
    "Laplace",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "Uniform",
    "constraints",
    "kl_divergence",
    "register_kl",
]
