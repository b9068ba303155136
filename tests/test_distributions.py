"""ember.distributions against torch.distributions: the same seeded samples, log
densities, entropies, moments, KL divergences, gradients through rsample and
log_prob, shapes and validation errors."""

from __future__ import annotations

import ember
import numpy as np
import pytest
import torch
from conftest import compare, outcome


def _params(L, requires_grad=False):
    def t(values):
        return L.tensor(values, dtype=L.float64, requires_grad=requires_grad)

    return t


# One entry per distribution: a builder (parameters as float64 leaves) and valid values.
DISTRIBUTIONS = {
    "Normal": (
        lambda L, t: L.distributions.Normal(t([0.0, 1.0, -2.0]), t([1.0, 2.0, 0.5])),
        lambda L: L.tensor([0.5, -1.0, -2.2], dtype=L.float64),
    ),
    "Normal(numbers)": (
        lambda L, t: L.distributions.Normal(0.5, 2.0),
        lambda L: L.tensor([0.3, -1.0]),
    ),
    "Bernoulli(probs)": (
        lambda L, t: L.distributions.Bernoulli(probs=t([0.3, 0.9, 0.5])),
        lambda L: L.tensor([1.0, 0.0, 1.0], dtype=L.float64),
    ),
    "Bernoulli(logits)": (
        lambda L, t: L.distributions.Bernoulli(logits=t([-1.0, 2.0])),
        lambda L: L.tensor([1.0, 0.0], dtype=L.float64),
    ),
    "Categorical(probs)": (
        lambda L, t: L.distributions.Categorical(probs=t([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])),
        lambda L: L.tensor([2, 0]),
    ),
    "Categorical(logits)": (
        lambda L, t: L.distributions.Categorical(logits=t([1.0, -1.0, 0.5, 0.0])),
        lambda L: L.tensor([3, 1, 0]),
    ),
    "OneHotCategorical": (
        lambda L, t: L.distributions.OneHotCategorical(probs=t([0.2, 0.3, 0.5])),
        lambda L: L.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=L.float64),
    ),
    "Uniform": (
        lambda L, t: L.distributions.Uniform(t([0.0, 1.0]), t([2.0, 5.0])),
        lambda L: L.tensor([1.0, 1.5], dtype=L.float64),
    ),
    "Laplace": (
        lambda L, t: L.distributions.Laplace(t([0.0, 1.0]), t([2.0, 0.5])),
        lambda L: L.tensor([0.3, 2.0], dtype=L.float64),
    ),
    "Exponential": (
        lambda L, t: L.distributions.Exponential(t([0.5, 2.0])),
        lambda L: L.tensor([1.0, 0.2], dtype=L.float64),
    ),
    "MultivariateNormal(covariance)": (
        lambda L, t: L.distributions.MultivariateNormal(
            t([0.0, 1.0]), covariance_matrix=t([[2.0, 0.5], [0.5, 1.0]])
        ),
        lambda L: L.tensor([[0.1, 0.2], [1.0, -1.0]], dtype=L.float64),
    ),
    "MultivariateNormal(scale_tril)": (
        lambda L, t: L.distributions.MultivariateNormal(
            t([[0.0, 1.0], [1.0, 0.0]]), scale_tril=t([[1.0, 0.0], [0.3, 2.0]])
        ),
        lambda L: L.tensor([0.5, -0.5], dtype=L.float64),
    ),
    "MultivariateNormal(precision)": (
        lambda L, t: L.distributions.MultivariateNormal(
            t([0.0, 0.0, 1.0]),
            precision_matrix=t([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 3.0]]),
        ),
        lambda L: L.tensor([0.5, -0.5, 2.0], dtype=L.float64),
    ),
    "Independent": (
        lambda L, t: L.distributions.Independent(
            L.distributions.Normal(t([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]]), t([1.0, 2.0, 3.0])), 1
        ),
        lambda L: L.tensor([[0.0, 0.5, 1.0], [2.0, 1.0, 0.0]], dtype=L.float64),
    ),
}

QUERIES = {
    "sample": lambda L, d, v: d.sample((3,)),
    "sample_scalar": lambda L, d, v: d.sample(),
    "log_prob": lambda L, d, v: d.log_prob(v),
    "entropy": lambda L, d, v: d.entropy(),
    "mean": lambda L, d, v: d.mean,
    "mode": lambda L, d, v: d.mode,
    "variance": lambda L, d, v: d.variance,
    "stddev": lambda L, d, v: d.stddev,
    "perplexity": lambda L, d, v: d.perplexity(),
    "cdf": lambda L, d, v: d.cdf(v),
    "icdf": lambda L, d, v: d.icdf(L.full_like(d.mean, 0.3)),
    "rsample": lambda L, d, v: d.rsample((2,)),
    "expand": lambda L, d, v: d.expand((4,) + tuple(d.batch_shape)).sample((2,)),
    "shapes": lambda L, d, v: L.tensor(list(d.batch_shape) + [-1] + list(d.event_shape)),
    "enumerate_support": lambda L, d, v: d.enumerate_support(),
    "repr": lambda L, d, v: repr(d).replace("torch.", "ember."),
}


@pytest.mark.parametrize("query", sorted(QUERIES))
@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_distribution_matches_torch(name, query):
    build, value = DISTRIBUTIONS[name]

    def run(L):
        L.manual_seed(7)
        result = QUERIES[query](L, build(L, _params(L)), value(L))
        return result if isinstance(result, (L.Tensor, tuple)) else L.tensor([hash(result)])

    compare(run, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "name",
    [n for n in sorted(DISTRIBUTIONS) if "numbers" not in n and "Categorical" not in n],
)
def test_gradients_of_log_prob_entropy_and_rsample_match_torch(name):
    build, value = DISTRIBUTIONS[name]

    def run(L):
        L.manual_seed(3)
        leaves = []

        def t(values):
            leaf = L.tensor(values, dtype=L.float64, requires_grad=True)
            leaves.append(leaf)
            return leaf

        d = build(L, t)
        total = d.log_prob(value(L)).sum() + d.entropy().sum()
        if d.has_rsample:
            total = total + (d.rsample((2,)) ** 2).sum()
        return L.autograd.grad(total, leaves)

    (e, t) = outcome(run, ember), outcome(run, torch)
    assert e[1] is None and t[1] is None, (e[1], t[1])
    for a, b in zip(e[0], t[0]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["Categorical(probs)", "Categorical(logits)", "OneHotCategorical"])
def test_categorical_gradients_match_torch(name):
    build, value = DISTRIBUTIONS[name]

    def run(L):
        leaf = L.tensor([0.2, 0.3, 0.5], dtype=L.float64, requires_grad=True)
        kind = name.split("(")[-1].rstrip(")")
        cls = (
            L.distributions.OneHotCategorical
            if name == "OneHotCategorical"
            else L.distributions.Categorical
        )
        d = cls(**{"probs" if kind != "logits" else "logits": leaf})
        v = (
            L.tensor([[0.0, 1.0, 0.0]], dtype=L.float64)
            if name == "OneHotCategorical"
            else L.tensor([1, 2])
        )
        (d.log_prob(v).sum() + d.entropy()).backward()
        return leaf.grad

    compare(run, rtol=1e-9, atol=1e-12)


KL_PAIRS = {
    "Normal": lambda D, t: (
        D.Normal(t([0.0, 1.0]), t([1.0, 2.0])),
        D.Normal(t([0.5, 0.5]), t([1.5, 0.5])),
    ),
    "Bernoulli": lambda D, t: (D.Bernoulli(t([0.3, 0.0, 1.0])), D.Bernoulli(t([0.5, 0.2, 0.0]))),
    "Categorical": lambda D, t: (
        D.Categorical(t([[0.1, 0.9, 0.0], [0.3, 0.3, 0.4]])),
        D.Categorical(logits=t([0.0, 1.0, 2.0])),
    ),
    "Categorical(zero in q)": lambda D, t: (
        D.Categorical(t([0.5, 0.5])),
        D.Categorical(t([1.0, 0.0])),
    ),
    "OneHotCategorical": lambda D, t: (
        D.OneHotCategorical(t([0.2, 0.8])),
        D.OneHotCategorical(t([0.6, 0.4])),
    ),
    "Uniform": lambda D, t: (
        D.Uniform(t([0.0, -1.0]), t([1.0, 1.0])),
        D.Uniform(t([-1.0, 0.0]), t([2.0, 1.0])),
    ),
    "Uniform-Normal": lambda D, t: (D.Uniform(t([0.0]), t([2.0])), D.Normal(t([0.5]), t([1.5]))),
    "Laplace": lambda D, t: (D.Laplace(t([0.0]), t([1.0])), D.Laplace(t([1.0]), t([2.0]))),
    "Exponential": lambda D, t: (D.Exponential(t([0.5, 3.0])), D.Exponential(t([1.0, 1.0]))),
    "MultivariateNormal": lambda D, t: (
        D.MultivariateNormal(t([0.0, 1.0]), t([[2.0, 0.5], [0.5, 1.0]])),
        D.MultivariateNormal(t([[1.0, 1.0], [0.0, 0.0]]), scale_tril=t([[1.0, 0.0], [0.3, 2.0]])),
    ),
    "Independent": lambda D, t: (
        D.Independent(D.Normal(t([[0.0, 1.0]]), t([1.0, 2.0])), 1),
        D.Independent(D.Normal(t([[1.0, 1.0]]), t([1.0, 1.0])), 1),
    ),
    "unregistered": lambda D, t: (D.Normal(t([0.0]), t([1.0])), D.Categorical(t([0.5, 0.5]))),
}


@pytest.mark.parametrize("name", sorted(KL_PAIRS))
def test_kl_divergence_matches_torch(name):
    compare(lambda L: L.distributions.kl_divergence(*KL_PAIRS[name](L.distributions, _params(L))))


def test_register_kl_picks_the_most_specific_pair():
    D = ember.distributions

    class MyNormal(D.Normal):
        pass

    @D.register_kl(MyNormal, D.Normal)
    def _mine(p, q):
        return ember.tensor(42.0)

    p = MyNormal(ember.tensor(0.0), ember.tensor(1.0))
    assert D.kl_divergence(p, D.Normal(0.0, 1.0)).item() == 42.0
    assert D.kl_divergence(D.Normal(0.0, 1.0), p).item() == 0.0  # falls back to Normal-Normal


INVALID = {
    "negative_scale": lambda L: L.distributions.Normal(L.zeros(2), L.tensor([1.0, -1.0])),
    "nan_value": lambda L: L.distributions.Normal(0.0, 1.0).log_prob(L.tensor([float("nan")])),
    "probs_and_logits": lambda L: L.distributions.Categorical(L.tensor([0.5, 0.5]), L.zeros(2)),
    "neither": lambda L: L.distributions.Bernoulli(),
    "out_of_support": lambda L: L.distributions.Categorical(L.tensor([0.5, 0.5])).log_prob(
        L.tensor(2)
    ),
    "low_above_high": lambda L: L.distributions.Uniform(1.0, 0.0),
    "not_broadcastable": lambda L: L.distributions.Normal(L.zeros(2), 1.0).log_prob(L.zeros(3)),
    "outside_uniform": lambda L: L.distributions.Uniform(0.0, 1.0).log_prob(L.tensor(2.0)),
    "probs_above_one": lambda L: L.distributions.Bernoulli(L.tensor([1.5])),
    "not_positive_definite": lambda L: L.distributions.MultivariateNormal(
        L.zeros(2), L.tensor([[1.0, 2.0], [2.0, 1.0]])
    ),
    "too_many_ndims": lambda L: L.distributions.Independent(
        L.distributions.Normal(L.zeros(2), 1.0), 2
    ),
    "unvalidated": lambda L: L.distributions.Normal(0.0, -1.0, validate_args=False).scale,
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_arguments_raise_as_torch(name):
    _, e = outcome(INVALID[name], ember)
    _, t = outcome(INVALID[name], torch)
    assert type(e) is type(t)
    if t is not None and name not in ("not_positive_definite",):
        assert str(e).replace("ember.", "torch.") == str(t), (str(e), str(t))


def test_reinforce_style_step_matches_torch():
    # a policy gradient step: sample actions, weight their log-probabilities by returns
    def run(L):
        L.manual_seed(0)
        policy = L.nn.Linear(4, 3)
        opt = L.optim.SGD(policy.parameters(), lr=0.1)
        states = L.linspace(-1, 1, 24).reshape(6, 4)
        for _ in range(3):
            dist = L.distributions.Categorical(logits=policy(states))
            actions = dist.sample()
            returns = actions.float() - 1.0
            loss = -(dist.log_prob(actions) * returns).mean() - 0.01 * dist.entropy().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return actions, policy.weight.detach()

    compare(run)


NORMAL_FORMS = {
    "tensor_tensor": lambda L: L.normal(L.zeros(2, 1), L.ones(1, 3) * 2),
    "tensor_float": lambda L: L.normal(L.ones(4), 0.5),
    "float_tensor": lambda L: L.normal(1.0, L.full((5,), 2.0)),
    "float_float_size": lambda L: L.normal(2.0, 3.0, (17,)),
    "float64_size": lambda L: L.normal(2.0, 3.0, size=(3, 6), dtype=L.float64),
    "float_float": lambda L: L.normal(0.0, 1.0),
    "negative_std": lambda L: L.normal(L.zeros(2), -1.0),
    "negative_std_tensor": lambda L: L.normal(L.zeros(2), L.tensor([1.0, -1.0])),
}


@pytest.mark.parametrize("name", sorted(NORMAL_FORMS))
def test_torch_normal_forms_draw_torchs_stream(name):
    def run(L):
        L.manual_seed(11)
        return NORMAL_FORMS[name](L)

    compare(run, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("lambd", [1.0, 0.25, 7.5])
def test_exponential_draws_torchs_stream(dtype, lambd):
    def run(L):
        L.manual_seed(5)
        return L.empty(40, dtype=getattr(L, dtype)).exponential_(lambd)

    compare(run, rtol=0, atol=0)
    compare(lambda L: L.empty(3).exponential_(0.0))


def test_legacy_new_constructor():
    x = ember.ones(2, dtype=ember.float64)
    assert x.new(2, 3).shape == (2, 3) and x.new(2, 3).dtype == ember.float64
    assert x.new([1, 2]).tolist() == [1.0, 2.0] and x.new([1, 2]).dtype == ember.float64
    assert x.new().shape == (0,)
    assert x.new(ember.Size([4])).shape == (4,)


GAMMA_FAMILY = {
    "Gamma": (
        lambda L, t: L.distributions.Gamma(t([0.5, 2.0, 7.5]), t([1.0, 3.0, 0.5])),
        lambda L: L.tensor([0.3, 1.0, 12.0], dtype=L.float64),
    ),
    "Gamma(float32)": (
        lambda L, t: L.distributions.Gamma(L.tensor([0.3, 1.0, 4.0]), L.tensor([2.0, 1.0, 1.0])),
        lambda L: L.tensor([0.3, 1.0, 2.0]),
    ),
    "Chi2": (
        lambda L, t: L.distributions.Chi2(t([1.0, 3.0, 10.0])),
        lambda L: L.tensor([0.5, 2.0, 9.0], dtype=L.float64),
    ),
    "Beta": (
        lambda L, t: L.distributions.Beta(t([0.5, 2.0, 5.0]), t([0.5, 3.0, 1.0])),
        lambda L: L.tensor([0.2, 0.5, 0.9], dtype=L.float64),
    ),
    "Beta(numbers)": (
        lambda L, t: L.distributions.Beta(2.0, 3.0),
        lambda L: L.tensor([0.25, 0.75]),
    ),
    "Dirichlet": (
        lambda L, t: L.distributions.Dirichlet(t([[0.5, 1.0, 2.0], [3.0, 0.2, 1.5]])),
        lambda L: L.tensor([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]], dtype=L.float64),
    ),
}

GAMMA_QUERIES = {
    k: QUERIES[k]
    for k in (
        "sample",
        "sample_scalar",
        "rsample",
        "log_prob",
        "entropy",
        "mean",
        "mode",
        "variance",
        "stddev",
        "expand",
        "shapes",
        "repr",
    )
}


@pytest.mark.parametrize("query", sorted(GAMMA_QUERIES))
@pytest.mark.parametrize("name", sorted(GAMMA_FAMILY))
def test_gamma_family_matches_torch(name, query):
    build, value = GAMMA_FAMILY[name]

    def run(L):
        L.manual_seed(13)
        result = GAMMA_QUERIES[query](L, build(L, _params(L)), value(L))
        return result if isinstance(result, (L.Tensor, tuple)) else L.tensor([hash(result)])

    compare(run, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["Gamma", "Chi2", "Beta", "Dirichlet"])
def test_gamma_family_log_prob_and_entropy_gradients_match_torch(name):
    build, value = GAMMA_FAMILY[name]

    def run(L):
        leaves = []

        def t(values):
            leaf = L.tensor(values, dtype=L.float64, requires_grad=True)
            leaves.append(leaf)
            return leaf

        d = build(L, t)
        return L.autograd.grad(d.log_prob(value(L)).sum() + d.entropy().sum(), leaves)

    for e, t in zip(run(ember), run(torch)):
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-9, atol=1e-12)


def test_gamma_rsample_differentiates_in_rate_and_refuses_the_concentration():
    def run(L, concentration_grad):
        L.manual_seed(2)
        c = L.tensor([2.0, 0.5], dtype=L.float64, requires_grad=concentration_grad)
        r = L.tensor([1.5, 3.0], dtype=L.float64, requires_grad=True)
        sample = L.distributions.Gamma(c, r).rsample((4,))
        return sample, L.autograd.grad(sample.sum(), r)[0]

    (es, eg), (ts, tg) = run(ember, False), run(torch, False)
    np.testing.assert_allclose(es.detach().numpy(), ts.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(eg.numpy(), tg.numpy(), rtol=1e-12)
    c = ember.tensor([2.0, 0.5], requires_grad=True)
    sample = ember.distributions.Gamma(c, ember.ones(2)).rsample()
    with pytest.raises(NotImplementedError, match="concentration"):
        sample.sum().backward()


@pytest.mark.parametrize("alpha", [0.05, 0.5, 1.0, 2.5, 40.0])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_standard_gamma_draws_torchs_stream(alpha, dtype):
    def run(L):
        L.manual_seed(21)
        return L._standard_gamma(L.full((300,), alpha, dtype=getattr(L, dtype)))

    compare(run, rtol=0, atol=0)


KL_GAMMA = {
    "Gamma": lambda D, t: (
        D.Gamma(t([1.0, 2.0]), t([1.0, 0.5])),
        D.Gamma(t([3.0, 1.0]), t([2.0, 2.0])),
    ),
    "Beta": lambda D, t: (
        D.Beta(t([1.0, 2.0]), t([3.0, 0.5])),
        D.Beta(t([2.0, 2.0]), t([2.0, 1.0])),
    ),
    "Dirichlet": lambda D, t: (D.Dirichlet(t([1.0, 2.0, 3.0])), D.Dirichlet(t([0.5, 0.5, 4.0]))),
}


@pytest.mark.parametrize("name", sorted(KL_GAMMA))
def test_gamma_family_kl_matches_torch(name):
    compare(lambda L: L.distributions.kl_divergence(*KL_GAMMA[name](L.distributions, _params(L))))
