"""nn.EmbeddingBag and F.embedding_bag against torch: every mode, bag form,
per-sample weights, padding, gradients, reprs and errors."""

import numpy as np
import pytest
from conftest import capture, compare, ember, torch
from hypothesis import given, settings
from hypothesis import strategies as st

IDS = [1, 2, 4, 5, 4, 3, 9, 0]


def bags(lib, mode, form, padding_idx=None, weighted=False):
    lib.manual_seed(0)
    weight = lib.randn(10, 3, dtype=lib.float64, requires_grad=True)
    kwargs = {"mode": mode, "padding_idx": padding_idx}
    if form == "2d":
        input, offsets = lib.tensor(IDS).reshape(4, 2), None
    elif form == "offsets":
        input, offsets = lib.tensor(IDS), lib.tensor([0, 2, 2, 5])
    else:  # include_last_offset, with an empty last bag
        input, offsets = lib.tensor(IDS), lib.tensor([0, 3, 8, 8])
        kwargs["include_last_offset"] = True
    if weighted:
        kwargs["per_sample_weights"] = lib.linspace(0.5, 2.0, 8, dtype=lib.float64).reshape(
            input.shape
        )
    out = lib.nn.functional.embedding_bag(input, weight, offsets, **kwargs)
    (out * lib.arange(float(out.numel()), dtype=lib.float64).reshape(out.shape)).sum().backward()
    return out.detach(), weight.grad


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("form", ["2d", "offsets", "last_offset"])
@pytest.mark.parametrize("padding_idx", [None, 4])
def test_embedding_bag_matches_torch(mode, form, padding_idx):
    compare(lambda lib: bags(lib, mode, form, padding_idx))


@pytest.mark.parametrize("form", ["2d", "offsets"])
def test_per_sample_weights_scale_rows_in_sum_mode(form):
    compare(lambda lib: bags(lib, "sum", form, weighted=True))


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 4), min_size=1, max_size=5),
    mode=st.sampled_from(["sum", "mean", "max"]),
    seed=st.integers(0, 1000),
)
def test_random_bag_sizes_match_torch(sizes, mode, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 6, sum(sizes))
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    weight = rng.standard_normal((6, 2))

    def run(lib):
        w = lib.tensor(weight, requires_grad=True)
        out = lib.nn.functional.embedding_bag(lib.tensor(ids), w, lib.tensor(offsets), mode=mode)
        out.sum().backward()
        return out.detach(), w.grad

    compare(run)


def test_module_init_repr_and_forward_match_torch():
    def run(lib):
        lib.manual_seed(3)
        bag = lib.nn.EmbeddingBag(10, 4, mode="max", padding_idx=2)
        out = bag(lib.tensor([[1, 2], [3, 3]]))
        return repr(bag), bag.weight.detach(), out.detach()

    (er, ew, eo), (tr, tw, to) = run(ember), run(torch)
    assert er == tr
    np.testing.assert_allclose(ew.numpy(), tw.numpy())
    np.testing.assert_allclose(eo.numpy(), to.numpy())


def test_from_pretrained_freezes_by_default():
    weight = ember.arange(6.0).reshape(3, 2)
    bag = ember.nn.EmbeddingBag.from_pretrained(weight, mode="sum")
    assert not bag.weight.requires_grad
    assert bag(ember.tensor([[0, 2]])).tolist() == [[4.0, 6.0]]


@pytest.mark.parametrize(
    "call",
    [
        lambda L, w: L.nn.functional.embedding_bag(L.tensor([[1, 2]]), w, L.tensor([0])),
        lambda L, w: L.nn.functional.embedding_bag(L.tensor([1, 2]), w),
        lambda L, w: L.nn.functional.embedding_bag(L.tensor([1, 2]), w, L.tensor([[0]])),
        lambda L, w: L.nn.functional.embedding_bag(L.tensor([[1, 2]]), w, mode="min"),
        lambda L, w: L.nn.functional.embedding_bag(
            L.tensor([[1, 2]]), w, mode="mean", per_sample_weights=L.ones(1, 2)
        ),
        lambda L, w: L.nn.functional.embedding_bag(
            L.tensor([[1, 2]]), w, mode="sum", per_sample_weights=L.ones(2)
        ),
        lambda L, w: L.nn.functional.embedding_bag(L.tensor([1, 2, 3]), w, L.tensor([1, 0])),
    ],
    ids=[
        "2d_offsets",
        "no_offsets",
        "2d_offsets_tensor",
        "mode",
        "weights_mode",
        "weights_shape",
        "first_offset",
    ],
)
def test_bad_arguments_raise_like_torch(call):
    e = capture(lambda L: call(L, L.randn(10, 3)), ember)
    t = capture(lambda L: call(L, L.randn(10, 3)), torch)
    assert type(e) is type(t)
    # torch's first-offset message ends with the offset printed as a tensor
    assert str(e).replace("ember", "torch").split("\n")[0] == str(t).split("\n")[0]
