"""Probability distributions, as torch.distributions: sampling with torch's random
streams, reparameterized sampling (rsample) where torch has it, log densities,
entropies and KL divergences, with torch's argument and value validation.

Present: Normal, LogNormal, HalfNormal, Bernoulli, Categorical,
OneHotCategorical, Uniform, Laplace, Exponential, Gamma, Chi2, Beta, Dirichlet,
Cauchy, HalfCauchy, StudentT, Gumbel, Weibull, Pareto, Kumaraswamy, Poisson,
Binomial, Geometric, NegativeBinomial, Multinomial, RelaxedBernoulli,
RelaxedOneHotCategorical, MixtureSameFamily, MultivariateNormal,
LowRankMultivariateNormal, Independent and TransformedDistribution with the
common transforms, biject_to/transform_to, and kl_divergence between them with
register_kl for more. The gradient of gamma, beta and Dirichlet samples with
respect to the concentration is not there yet; Poisson and binomial draws (and
so NegativeBinomial's) follow the right law but not torch's numbers.
"""

from . import constraints, transforms
from .bernoulli import Bernoulli
from .categorical import Categorical, OneHotCategorical
from .cauchy import Cauchy
from .constraint_registry import biject_to, transform_to
from .counts import Binomial, Geometric, Multinomial, NegativeBinomial, Poisson
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Beta, Chi2, Dirichlet, Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .mixture_same_family import MixtureSameFamily
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .relaxed import (
    ExpRelaxedCategorical,
    LogitRelaxedBernoulli,
    RelaxedBernoulli,
    RelaxedOneHotCategorical,
)
from .studentT import StudentT
from .transformed_distribution import TransformedDistribution
from .transformed_families import (
    Gumbel,
    HalfCauchy,
    HalfNormal,
    Kumaraswamy,
    LogNormal,
    Pareto,
    Weibull,
)
from .transforms import (
    AbsTransform,
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    PowerTransform,
    SigmoidTransform,
    SoftmaxTransform,
    StickBreakingTransform,
    TanhTransform,
    Transform,
    identity_transform,
)
from .uniform import Uniform

__all__ = [
    "AbsTransform",
    "AffineTransform",
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "Cauchy",
    "Chi2",
    "ComposeTransform",
    "Dirichlet",
    "Distribution",
    "ExpRelaxedCategorical",
    "ExpTransform",
    "Exponential",
    "Gamma",
    "Geometric",
    "Gumbel",
    "HalfCauchy",
    "HalfNormal",
    "Independent",
    "Kumaraswamy",
    "Laplace",
    "LogNormal",
    "LogitRelaxedBernoulli",
    "LowRankMultivariateNormal",
    "MixtureSameFamily",
    "Multinomial",
    "MultivariateNormal",
    "NegativeBinomial",
    "Normal",
    "OneHotCategorical",
    "Pareto",
    "Poisson",
    "PowerTransform",
    "RelaxedBernoulli",
    "RelaxedOneHotCategorical",
    "SigmoidTransform",
    "SoftmaxTransform",
    "StickBreakingTransform",
    "StudentT",
    "TanhTransform",
    "Transform",
    "TransformedDistribution",
    "Uniform",
    "Weibull",
    "biject_to",
    "constraints",
    "identity_transform",
    "kl_divergence",
    "register_kl",
    "transform_to",
    "transforms",
]
