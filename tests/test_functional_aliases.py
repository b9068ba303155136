"""torch's top-level forms of nn.functional ops (torch.layer_norm, torch.dropout,
torch.embedding, ...) with their ATen signatures, and torch-level in-place
functions (torch.relu_(x) is x.relu_()), against torch."""

import ember
import numpy as np
import pytest
import torch
from conftest import assert_grads_match, assert_same, compare, same_error

RNG = np.random.default_rng(17)
X = RNG.uniform(-2, 2, size=(2, 4, 5))
W4 = RNG.uniform(0.5, 1.5, size=4)
B4 = RNG.uniform(-0.5, 0.5, size=4)


def node(lib, fn, *arrays):
    out = fn(lib, *[lib.tensor(a, requires_grad=True) for a in arrays])
    out = out[0] if isinstance(out, tuple) else out
    return out.grad_fn.name()


FORMS = {
    "layer_norm": (
        lambda lib, x, w, b: lib.layer_norm(x, [5], None, None, 1e-5, True),
        [X, W4, B4],
    ),
    "layer_norm_affine": (
        lambda lib, x, w, b: lib.layer_norm(x.transpose(1, 2), (4,), w, b),
        [X, W4, B4],
    ),
    "group_norm": (lambda lib, x, w, b: lib.group_norm(x, 2, w, b, 1e-5, True), [X, W4, B4]),
    "batch_norm": (
        lambda lib, x, w, b: lib.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
        [X, W4, B4],
    ),
    "instance_norm": (
        lambda lib, x, w, b: lib.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
        [X, W4, B4],
    ),
    "rms_norm": (lambda lib, x, w: lib.rms_norm(x, [5], w[:1].expand(5)), [X, W4]),
    "cosine_similarity": (lambda lib, x, y: lib.cosine_similarity(x, y, 2), [X, X[::-1].copy()]),
    "pairwise_distance": (lambda lib, x, y: lib.pairwise_distance(x, y, 1.5), [X, X[::-1].copy()]),
    "pixel_shuffle": (lambda lib, x: lib.pixel_shuffle(x.reshape(1, 4, 2, 5), 2), [X]),
    "pixel_unshuffle": (lambda lib, x: lib.pixel_unshuffle(x.reshape(1, 2, 4, 5)[..., :4], 2), [X]),
    "prelu": (lambda lib, x, w: lib.prelu(x, w), [X, W4]),
    "hardshrink": (lambda lib, x: lib.hardshrink(x, 0.7), [X]),
    "selu": (lambda lib, x: lib.selu(x), [X]),
    "celu": (lambda lib, x: lib.celu(x, 0.5), [X]),
    "threshold": (lambda lib, x: lib.threshold(x, 0.1, 20.0), [X]),
    "kl_div": (lambda lib, x, y: lib.kl_div(x, y.sigmoid(), 2), [X, X[::-1].copy()]),
    "kl_div_log_target": (
        lambda lib, x, y: lib.kl_div(x, y, 0, log_target=True),
        [X, X[::-1].copy()],
    ),
    "bce_with_logits": (
        lambda lib, x, y: lib.binary_cross_entropy_with_logits(
            x, y.sigmoid(), None, lib.tensor(W4[:1]), 1
        ),
        [X, X[::-1].copy()],
    ),
    "bce_with_logits_mean": (
        lambda lib, x, y: lib.binary_cross_entropy_with_logits(x, y.sigmoid()),
        [X, X[::-1].copy()],
    ),
    "embedding": (lambda lib, w: lib.embedding(w, lib.tensor([[0, 2], [3, 3]])), [X[0]]),
    "embedding_padding": (lambda lib, w: lib.embedding(w, lib.tensor([0, 2, 1]), 2), [X[0]]),
    "conv_transpose1d": (
        lambda lib, x, w: lib.conv_transpose1d(x, w.reshape(4, 1, 5)[:, :, :3], None, 2, 1),
        [X, X[0]],
    ),
    "conv_transpose2d": (
        lambda lib, x, w: lib.conv_transpose2d(
            x.reshape(1, 2, 4, 5), w.reshape(2, 2, 5)[:, :, None, :2]
        ),
        [X, X[0]],
    ),
    "conv3d": (
        lambda lib, x, w: lib.conv3d(
            x.reshape(1, 1, 2, 4, 5), w.reshape(1, 1, 2, 2, 5)[..., :2], None, 1, (0, 1, 0)
        ),
        [X, X[0]],
    ),
    "avg_pool1d": (lambda lib, x: lib.avg_pool1d(x, 2, 1, 1, True, False), [X]),
    "adaptive_avg_pool1d": (lambda lib, x: lib.adaptive_avg_pool1d(x, 3), [X]),
    "adaptive_max_pool1d": (lambda lib, x: lib.adaptive_max_pool1d(x, 3), [X]),
}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_top_level_form_values_and_gradients(name):
    fn, arrays = FORMS[name]
    assert_grads_match(fn, arrays, rtol=1e-6, atol=1e-8)


# The nn.functional ops these call are composed in Ember (docs/compatibility.md, nn).
COMPOSED_IN_FUNCTIONAL = {"conv3d", "group_norm", "instance_norm", "pairwise_distance"}


@pytest.mark.parametrize("name", sorted(set(FORMS) - COMPOSED_IN_FUNCTIONAL))
def test_top_level_form_node_names(name):
    fn, arrays = FORMS[name]
    assert node(ember, fn, *arrays) == node(torch, fn, *arrays)


def test_adaptive_max_pool1d_returns_the_indices_too():
    compare(lambda lib: lib.adaptive_max_pool1d(lib.tensor(X), 2))


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("name", ["dropout", "dropout_"])
def test_dropout_draws_torchs_mask(name, train):
    def run(lib):
        lib.manual_seed(3)
        return getattr(lib, name)(lib.tensor(X), 0.4, train)

    compare(run)


@pytest.mark.parametrize("name", ["selu_", "celu_", "threshold_"])
def test_in_place_activations(name):
    args = {"selu_": (), "celu_": (0.5,), "threshold_": (0.1, 20.0)}[name]

    def run(lib):
        x = lib.tensor(X)
        out = getattr(lib, name)(x, *args)
        assert out is x
        return x

    compare(run)


@pytest.mark.parametrize("reduction", [None, 0, 1, 2, 5, -1])
def test_reduction_codes_like_torch(reduction):
    x, y = X, RNG.uniform(0.1, 0.9, size=X.shape)
    extra = () if reduction is None else (reduction,)
    compare(lambda lib: lib.kl_div(lib.tensor(x), lib.tensor(y), *extra))
    compare(
        lambda lib: lib.binary_cross_entropy_with_logits(
            lib.tensor(x), lib.tensor(y), None, None, *extra
        )
    )


IN_PLACE = [
    ("relu_", ()),
    ("sigmoid_", ()),
    ("tanh_", ()),
    ("exp_", ()),
    ("abs_", ()),
    ("neg_", ()),
    ("negative_", ()),
    ("sqrt_", ()),
    ("floor_", ()),
    ("ceil_", ()),
    ("round_", ()),
    ("trunc_", ()),
    ("fix_", ()),
    ("clamp_", (-0.5, 0.5)),
    ("clip_", (-0.5,)),
    ("clamp_min_", (0.1,)),
    ("clamp_max_", (0.1,)),
    ("fill_", (2.5,)),
    ("zero_", ()),
    ("sin_", ()),
    ("cos_", ()),
    ("log1p_", ()),
    ("square_", ()),
    ("rsqrt_", ()),
    ("reciprocal_", ()),
    ("deg2rad_", ()),
    ("nan_to_num_", ()),
    ("logit_", (0.1,)),
    ("erf_", ()),
    ("expm1_", ()),
]


@pytest.mark.parametrize("name, args", IN_PLACE)
def test_top_level_in_place_functions_write_their_input(name, args):
    values = RNG.uniform(0.1, 0.9, size=(3, 4))

    def run(lib):
        x = lib.tensor(values)
        out = getattr(lib, name)(x, *args)
        assert out is x
        return x

    compare(run)


def test_top_level_in_place_functions_record_the_methods_node():
    for lib in (ember, torch):
        leaf = lib.ones(3, requires_grad=True)
        y = leaf * 2
        lib.relu_(y)
        assert y.grad_fn.name() == "ReluBackward0"


def test_top_level_in_place_functions_refuse_a_non_tensor():
    same_error(lambda lib: lib.relu_(3.0), message=lambda e: type(e).__name__)


def test_fill_returns_a_filled_copy():
    def run(lib):
        x = lib.ones(2, 3)
        out = lib.fill(x, 4.0)
        return out, x

    compare(run)
    e = ember.fill(ember.ones(2), ember.tensor(3.0))
    assert_same(e, torch.fill(torch.ones(2), torch.tensor(3.0)))
