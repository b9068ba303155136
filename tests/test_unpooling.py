"""lp_pool1d/2d/3d, max_unpool1d/2d/3d and channel_shuffle (and their modules)
against torch: values and gradients over random geometries, errors and reprs."""

import re

import numpy as np
from conftest import assert_grads_match, ember, same_error, torch
from hypothesis import given, settings
from hypothesis import strategies as st


def _message(err):
    # which invalid index torch names depends on how its threads split the planes
    return re.sub(r"invalid max index: -?[0-9]+", "invalid max index: N", str(err))


# ---- lp_pool ----


@settings(max_examples=40, deadline=None)
@given(
    dims=st.sampled_from([1, 2, 3]),
    norm=st.sampled_from([1, 2, 3, 1.5, float("inf")]),
    kernel=st.integers(1, 3),
    stride=st.sampled_from([None, 1, 2]),
    ceil=st.booleans(),
    positive=st.booleans(),
)
def test_lp_pool_matches_torch(dims, norm, kernel, stride, ceil, positive):
    spatial = (5, 4, 3)[:dims]
    x = np.random.default_rng(0).standard_normal((2, 3, *spatial))
    if positive or norm == 1.5:  # fractional powers of negatives are NaN in both
        x = np.abs(x) + 0.1

    def f(lib, x):
        fn = getattr(lib.nn.functional, f"lp_pool{dims}d")
        return fn(x, norm, kernel, stride, ceil)

    # odd powers of negative inputs: sign * relu(abs) keeps the root real, as in torch
    assert_grads_match(f, [x], second_order=positive or norm == 1.5)


def test_lp_pool_modules():
    for dims in (1, 2, 3):
        name = f"LPPool{dims}d"
        args = (2, 2), {"stride": 1, "ceil_mode": True}
        e, t = getattr(ember.nn, name)(*args[0], **args[1]), getattr(torch.nn, name)(*args[0])
        assert repr(getattr(ember.nn, name)(1.5, 3)) == repr(getattr(torch.nn, name)(1.5, 3))
        x = np.abs(np.random.default_rng(1).standard_normal((1, 2, *(4,) * dims)))
        t = getattr(torch.nn, name)(*args[0], **args[1])
        np.testing.assert_allclose(
            e(ember.tensor(x)).numpy(), t(torch.tensor(x)).numpy(), rtol=1e-12
        )
        assert repr(e) == repr(t)


# ---- max_unpool ----


def _pool_indices(dims, shape, kernel, stride, padding):
    x = torch.tensor(np.random.default_rng(2).standard_normal(shape))
    pool = getattr(torch.nn.functional, f"max_pool{dims}d")
    out, idx = pool(x, kernel, stride, padding, return_indices=True)
    return out.numpy(), idx.numpy()


@settings(max_examples=40, deadline=None)
@given(
    dims=st.sampled_from([1, 2, 3]),
    kernel=st.integers(1, 3),
    stride=st.sampled_from([None, 1, 2, 3]),
    padding=st.integers(0, 1),
    batched=st.booleans(),
    explicit=st.booleans(),
)
def test_max_unpool_matches_torch(dims, kernel, stride, padding, batched, explicit):
    if 2 * padding > kernel:
        return
    spatial = (6, 5, 4)[:dims]
    shape = (2, 3, *spatial) if batched else (3, *spatial)
    values, idx = _pool_indices(dims, shape, kernel, stride, padding)
    output_size = list(spatial) if explicit else None

    def f(lib, x):
        fn = getattr(lib.nn.functional, f"max_unpool{dims}d")
        return fn(x, lib.tensor(idx), kernel, stride, padding, output_size)

    outcome = None
    try:
        f(torch, torch.tensor(values))
    except (RuntimeError, ValueError) as e:  # an index past the default size
        outcome = e
    if outcome is not None:
        _same_error(lambda lib: f(lib, lib.tensor(values)))
        return
    assert_grads_match(f, [values])


def test_max_unpool_errors_like_torch():
    values, idx = _pool_indices(2, (1, 2, 4, 5), 2, 2, 0)

    def call(v=values, i=idx, **kw):
        return lambda lib: lib.nn.functional.max_unpool2d(lib.tensor(v), lib.tensor(i), 2, **kw)

    _same_error(call())  # indices past the default 4x4 output
    _same_error(call(output_size=(7, 5)))
    _same_error(call(output_size=(5,)))
    _same_error(call(i=idx.astype(np.float32)))
    _same_error(call(i=idx[..., :1]))
    _same_error(call(v=values[0, 0], i=idx[0, 0]))
    _same_error(call(i=-idx - 1, output_size=(4, 5)))
    _same_error(
        lambda lib: lib.nn.functional.max_unpool1d(lib.tensor(values[0]), lib.tensor(idx[0]), 2)
    )


def test_max_unpool_modules():
    x = np.random.default_rng(3).standard_normal((1, 2, 6, 6))
    t_out, t_idx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    e_un = ember.nn.MaxUnpool2d(2)(ember.tensor(t_out.numpy()), ember.tensor(t_idx.numpy()))
    t_un = torch.nn.MaxUnpool2d(2)(t_out, t_idx)
    np.testing.assert_array_equal(e_un.numpy(), t_un.numpy())
    for name, args in [
        ("MaxUnpool1d", (2,)),
        ("MaxUnpool1d", (2, 1, 1)),
        ("MaxUnpool2d", (2,)),
        ("MaxUnpool2d", ((2, 3), (1, 2))),
        ("MaxUnpool3d", ((2, 1, 2),)),
    ]:
        e, t = getattr(ember.nn, name)(*args), getattr(torch.nn, name)(*args)
        assert repr(e) == repr(t)
        assert (e.kernel_size, e.stride, e.padding) == (t.kernel_size, t.stride, t.padding)


# ---- channel_shuffle ----


@settings(max_examples=20, deadline=None)
@given(groups=st.sampled_from([1, 2, 3, 6]), rank=st.integers(3, 5))
def test_channel_shuffle_matches_torch(groups, rank):
    x = np.random.default_rng(4).standard_normal((2, 6, *(3,) * (rank - 2)))

    def f(lib, x):
        return lib.nn.functional.channel_shuffle(x, groups)

    assert_grads_match(f, [x])
    out = ember.nn.functional.native_channel_shuffle(ember.tensor(x), groups)
    want = torch.nn.functional.native_channel_shuffle(torch.tensor(x), groups)
    np.testing.assert_array_equal(out.numpy(), want.numpy())


def test_channel_shuffle_errors_and_module():
    x = np.zeros((2, 6, 4))
    _same_error(lambda lib: lib.nn.functional.channel_shuffle(lib.tensor(x), 4))
    _same_error(lambda lib: lib.nn.functional.channel_shuffle(lib.tensor(x), 0))
    _same_error(lambda lib: lib.nn.functional.channel_shuffle(lib.tensor(x), -1))
    _same_error(lambda lib: lib.nn.functional.channel_shuffle(lib.tensor(x[0]), 2))
    assert repr(ember.nn.ChannelShuffle(3)) == repr(torch.nn.ChannelShuffle(3))
    got = ember.nn.ChannelShuffle(3)(ember.tensor(x + np.arange(6)[:, None]))
    want = torch.nn.ChannelShuffle(3)(torch.tensor(x + np.arange(6)[:, None]))
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def _same_error(fn):
    same_error(fn, _message)
