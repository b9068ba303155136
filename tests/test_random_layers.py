"""rrelu, alpha_dropout and feature_alpha_dropout (and RReLU, AlphaDropout,
FeatureAlphaDropout) against torch: eval values and gradients, the training
draws for the same seed, the scaling constants and statistics, errors, reprs."""

import numpy as np
import pytest
from conftest import assert_grads_match, ember, same_error, torch
from hypothesis import given, settings
from hypothesis import strategies as st

DTYPES = ["float32", "float64"]


# ---- rrelu ----


@settings(max_examples=20, deadline=None)
@given(
    lower=st.sampled_from([0.0, 0.1, 0.125]),
    upper=st.sampled_from([0.2, 1.0 / 3, 0.5]),
    shape=st.tuples(st.integers(1, 4), st.integers(1, 5)),
)
def test_rrelu_eval_matches_torch(lower, upper, shape):
    x = np.random.default_rng(0).standard_normal(shape)

    def f(lib, x):
        return lib.nn.functional.rrelu(x, lower, upper, training=False)

    assert_grads_match(f, [x])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("inplace", [False, True])
def test_rrelu_training_draws_torchs_slopes(dtype, inplace):
    x = np.random.default_rng(1).standard_normal((4, 7)).astype(dtype)
    x[0, 0] = 0.0  # zero draws a slope too
    results = []
    for lib in (ember, torch):
        lib.manual_seed(5)
        leaf = lib.tensor(x, requires_grad=True)
        inp = leaf * 1 if inplace else leaf
        out = lib.nn.functional.rrelu(inp, 0.1, 0.4, training=True, inplace=inplace)
        out.sum().backward()
        after = lib.rand(3)  # the stream continues at the same place
        results.append((out.detach().numpy(), leaf.grad.numpy(), after.numpy()))
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)


def test_rrelu_errors_and_module():
    same_error(lambda lib: lib.nn.functional.rrelu(lib.ones(3), 0.5, 0.1, training=True))
    same_error(lambda lib: lib.nn.functional.rrelu(lib.ones(3), 0.5, 0.1))
    same_error(lambda lib: lib.nn.functional.rrelu(lib.tensor([1, -2]), training=True))
    for args in [(), (0.1, 0.2, True), (0.5, 0.1)]:
        assert repr(ember.nn.RReLU(*args)) == repr(torch.nn.RReLU(*args))
    x = np.linspace(-2, 2, 9)
    e, t = ember.nn.RReLU().eval(), torch.nn.RReLU().eval()
    np.testing.assert_allclose(e(ember.tensor(x)).numpy(), t(torch.tensor(x)).numpy(), rtol=1e-15)
    ember.manual_seed(3), torch.manual_seed(3)
    e.train(), t.train()
    np.testing.assert_array_equal(e(ember.tensor(x)).numpy(), t(torch.tensor(x)).numpy())
    y = ember.tensor(x)
    assert ember.nn.functional.rrelu_(y) is y


# ---- alpha dropout ----


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("feature", [False, True])
@pytest.mark.parametrize("p", [0.2, 0.5, 1.0])
def test_alpha_dropout_training_matches_torch_for_the_same_seed(dtype, feature, p):
    x = np.random.default_rng(2).standard_normal((3, 4, 5)).astype(dtype)
    name = "feature_alpha_dropout" if feature else "alpha_dropout"
    results = []
    for lib in (ember, torch):
        lib.manual_seed(11)
        leaf = lib.tensor(x, requires_grad=True)
        out = getattr(lib.nn.functional, name)(leaf, p, training=True)
        (out * lib.tensor(np.arange(60.0).reshape(3, 4, 5).astype(dtype))).sum().backward()
        results.append((out.detach().numpy(), leaf.grad.numpy(), lib.rand(2).numpy()))
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == "float32" else 1e-14)


@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_eval_and_p0_return_the_input(feature):
    fn = (
        ember.nn.functional.feature_alpha_dropout
        if feature
        else (ember.nn.functional.alpha_dropout)
    )
    x = ember.randn(3, 4)
    assert fn(x, 0.3) is x
    assert fn(x, 0.0, training=True) is x


def test_alpha_dropout_inplace_and_statistics():
    ember.manual_seed(0)
    x = ember.randn(200_000, dtype=ember.float64)
    y = ember.nn.functional.alpha_dropout(x, 0.2, training=True)
    # self-normalizing: zero mean and unit variance survive
    assert abs(y.mean().item()) < 0.01
    assert abs(y.std().item() - 1) < 0.01
    ember.manual_seed(1), torch.manual_seed(1)
    a, b = ember.ones(10), torch.ones(10)
    ember.nn.functional.alpha_dropout(a, 0.4, True, inplace=True)
    torch.nn.functional.alpha_dropout(b, 0.4, True, inplace=True)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_alpha_dropout_errors_and_modules():
    same_error(lambda lib: lib.nn.functional.alpha_dropout(lib.ones(3), 1.5))
    same_error(lambda lib: lib.nn.functional.feature_alpha_dropout(lib.ones(3), -0.1))
    same_error(lambda lib: lib.nn.functional.feature_alpha_dropout(lib.ones(3), 0.2, True))
    same_error(lambda lib: lib.nn.AlphaDropout(1.5))
    for name in ("AlphaDropout", "FeatureAlphaDropout"):
        for args in [(), (0.2, True)]:
            assert repr(getattr(ember.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))
        e, t = getattr(ember.nn, name)(0.3), getattr(torch.nn, name)(0.3)
        x = np.random.default_rng(3).standard_normal((2, 3, 4)).astype(np.float32)
        ember.manual_seed(4), torch.manual_seed(4)
        np.testing.assert_allclose(
            e(ember.tensor(x)).numpy(), t(torch.tensor(x)).numpy(), rtol=1e-6
        )
        e.eval(), t.eval()
        np.testing.assert_array_equal(e(ember.tensor(x)).numpy(), x)


@pytest.mark.parametrize("layout", ["transposed", "permuted", "sliced"])
def test_alpha_dropout_draws_in_torchs_order_for_strided_input(layout):
    x = np.random.default_rng(5).standard_normal((4, 5, 3))

    def view(t):
        if layout == "transposed":
            return t.transpose(0, 2)
        if layout == "permuted":
            return t.permute(1, 2, 0)
        return t[:, ::2]

    outs = []
    for lib in (ember, torch):
        lib.manual_seed(8)
        outs.append(lib.nn.functional.alpha_dropout(view(lib.tensor(x)), 0.4, True).numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-14)
