"""Probability distributions, as torch.distributions: sampling with torch's random
streams, reparameterized sampling (rsample) where torch has it, log densities,
entropies and KL divergences, with torch's argument and value validation.

Present: Normal, Bernoulli, Categorical, OneHotCategorical, Uniform, Laplace,
Exponential, Gamma, Chi2, Beta, Dirichlet, MultivariateNormal and Independent,
with kl_divergence between them and register_kl for more. The gradient of gamma,
beta and Dirichlet samples with respect to the concentration, and
TransformedDistribution, are not there yet.
"""

from . import constraints
from .bernoulli import Bernoulli
from .categorical import Categorical, OneHotCategorical
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Beta, Chi2, Dirichlet, Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .uniform import Uniform

__all__ = [
    "Bernoulli",
    "Beta",
    "Categorical",
    "Chi2",
    "Dirichlet",
    "Distribution",
    "Exponential",
    "Gamma",
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
