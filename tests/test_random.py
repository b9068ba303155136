"""Random streams: ember must draw exactly torch's CPU numbers for the same seed and calls."""

import ember
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

SIZES = [0, 1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 100, 255, 256, 1000, 4099]
SEEDS = [0, 1, 42, 2**32 - 1, 2**32 + 5, 2**63 + 11, 2**64 - 1]


def same(e, t):
    assert e.dtype.__repr__().split(".")[-1] == str(t.dtype).split(".")[-1]
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def draw(lib, call, size, dtype_name):
    dtype = getattr(lib, dtype_name)
    if call == "randn":
        return lib.randn(size, dtype=dtype)
    if call == "rand":
        return lib.rand(size, dtype=dtype)
    if call == "normal_":
        return lib.empty(size, dtype=dtype).normal_(1.5, 0.25)
    if call == "uniform_":
        return lib.empty(size, dtype=dtype).uniform_(-2.0, 3.0)
    if call == "randint":
        return lib.randint(-5, 1000, (size,))
    if call == "randperm":
        return lib.randperm(size)
    if call == "bernoulli":
        return lib.bernoulli(lib.full((size,), 0.3, dtype=dtype))
    if call == "bernoulli_":
        return lib.empty(size, dtype=dtype).bernoulli_(0.7)
    if call == "dropout":
        return lib.nn.functional.dropout(lib.ones(size, dtype=dtype), p=0.4)
    raise AssertionError(call)


CALLS = [
    "randn",
    "rand",
    "normal_",
    "uniform_",
    "randint",
    "randperm",
    "bernoulli",
    "bernoulli_",
    "dropout",
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_randn_matches_torch_for_every_size(seed, dtype):
    torch.manual_seed(seed)
    ember.manual_seed(seed)
    for n in SIZES:
        same(
            ember.randn(n, dtype=getattr(ember, dtype)), torch.randn(n, dtype=getattr(torch, dtype))
        )


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_each_sampler_matches_torch(call, dtype):
    torch.manual_seed(123)
    ember.manual_seed(123)
    for n in SIZES:
        same(draw(ember, call, n, dtype), draw(torch, call, n, dtype))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**64 - 1),
    calls=st.lists(
        st.tuples(
            st.sampled_from(CALLS), st.integers(0, 300), st.sampled_from(["float32", "float64"])
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_interleaved_calls_match_torch(seed, calls):
    torch.manual_seed(seed)
    ember.manual_seed(seed)
    for call, n, dtype in calls:
        same(draw(ember, call, n, dtype), draw(torch, call, n, dtype))


def test_tutorial_numbers():
    ember.manual_seed(42)
    w = ember.randn(5, 3, requires_grad=True)
    b = ember.randn(3)
    np.testing.assert_allclose(w.detach().numpy()[0], [0.3367, 0.1288, 0.2345], atol=5e-5)
    np.testing.assert_allclose(b.numpy(), [0.9580, 1.3221, 0.8172], atol=5e-5)


def test_generator_objects_and_state_round_trip():
    te, tt = ember.Generator().manual_seed(2**40 + 3), torch.Generator().manual_seed(2**40 + 3)
    assert te.initial_seed() == tt.initial_seed()
    same(ember.randn(20, generator=te), torch.randn(20, generator=tt))
    state_e, state_t = te.get_state(), tt.get_state()
    np.testing.assert_array_equal(state_e.numpy(), state_t.numpy().astype(np.int64))
    a = ember.rand(7, generator=te)
    te.set_state(state_e)
    same(ember.rand(7, generator=te), a)
    # A generator does not disturb the default stream.
    ember.manual_seed(5)
    torch.manual_seed(5)
    ember.randn(3, generator=te)
    same(ember.randn(3), torch.randn(3))


def test_global_state_functions():
    ember.manual_seed(9)
    state = ember.get_rng_state()
    first = ember.randn(33)
    ember.set_rng_state(state)
    np.testing.assert_array_equal(ember.randn(33).numpy(), first.numpy())
    assert ember.initial_seed() == 9
    s = ember.seed()
    assert ember.initial_seed() == s
    with pytest.raises(RuntimeError):
        ember.set_rng_state(ember.zeros(10, dtype=ember.int64))


def test_torch_state_is_accepted():
    torch.manual_seed(77)
    torch.randn(5)
    ember.set_rng_state(torch.get_rng_state().numpy())
    same(ember.randn(40), torch.randn(40))
