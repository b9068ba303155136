"""conv3d, max_pool3d and avg_pool3d (and their modules) against torch: values
and gradients over random geometries, ties, module init and reprs, errors."""

import numpy as np
import pytest
from conftest import capture, ember, torch
from hypothesis import given, settings
from hypothesis import strategies as st


def values_and_grads(lib, f, data):
    x = lib.tensor(data, requires_grad=True)
    out = f(lib, x)
    weights = lib.arange(float(out.numel()), dtype=lib.float64).reshape(out.shape)
    (out * weights).sum().backward()
    return out.detach().numpy(), x.grad.numpy()


def assert_matches_torch(f, data, rtol=1e-10):
    refusal = capture(lambda lib: values_and_grads(lib, f, data), torch)
    if refusal is not None:  # a window that does not fit: the same refusal
        assert type(capture(lambda lib: values_and_grads(lib, f, data), ember)) is type(refusal)
        return
    te, tg = values_and_grads(torch, f, data)
    ee, eg = values_and_grads(ember, f, data)
    assert ee.shape == te.shape
    np.testing.assert_allclose(ee, te, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(eg, tg, rtol=rtol, atol=1e-10)


triple = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))


@settings(max_examples=30, deadline=None)
@given(
    kernel=triple,
    stride=triple,
    dilation=triple,
    pad=st.integers(0, 1),
    groups=st.sampled_from([1, 2]),
)
def test_conv3d_matches_torch(kernel, stride, dilation, pad, groups):
    data = np.random.default_rng(0).standard_normal((2, 4, 7, 6, 5))
    weight = np.random.default_rng(1).standard_normal((4, 4 // groups, *kernel))
    bias = np.linspace(-1, 1, 4)

    def conv(lib, x):
        return lib.nn.functional.conv3d(
            x, lib.tensor(weight), lib.tensor(bias), stride, pad, dilation, groups
        )

    assert_matches_torch(conv, data)


@settings(max_examples=30, deadline=None)
@given(
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    stride=triple,
    ceil=st.booleans(),
    dilation=triple,
    pad=st.booleans(),
)
def test_max_pool3d_matches_torch(kernel, stride, ceil, dilation, pad):
    padding = tuple(k // 2 for k in kernel) if pad else 0
    data = np.random.default_rng(2).standard_normal((2, 3, 6, 7, 5))
    data[data < 0] = 0.0  # ReLU-like ties: the gradient goes to the first maximum

    def pool(lib, x):
        return lib.nn.functional.max_pool3d(x, kernel, stride, padding, dilation, ceil)

    assert_matches_torch(pool, data)


@settings(max_examples=30, deadline=None)
@given(
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    stride=triple,
    ceil=st.booleans(),
    include_pad=st.booleans(),
    pad=st.booleans(),
    divisor=st.sampled_from([None, 5]),
)
def test_avg_pool3d_matches_torch(kernel, stride, ceil, include_pad, pad, divisor):
    padding = tuple(k // 2 for k in kernel) if pad else 0
    data = np.random.default_rng(3).standard_normal((1, 2, 6, 7, 5))

    def pool(lib, x):
        return lib.nn.functional.avg_pool3d(x, kernel, stride, padding, ceil, include_pad, divisor)

    assert_matches_torch(pool, data)


def test_unbatched_volumes_and_same_padding_match_torch():
    data = np.random.default_rng(4).standard_normal((3, 5, 6, 4))
    weight = np.random.default_rng(5).standard_normal((2, 3, 3, 2, 3))
    assert_matches_torch(
        lambda L, x: L.nn.functional.conv3d(x, L.tensor(weight), padding="same"), data
    )
    assert_matches_torch(lambda L, x: L.nn.functional.max_pool3d(x, 2), data)
    assert_matches_torch(lambda L, x: L.nn.functional.avg_pool3d(x, 2, 1), data)


def test_modules_initialize_and_print_like_torch():
    for lib_modules in [
        lambda L: L.nn.Conv3d(4, 6, (3, 2, 3), stride=2, padding=1, groups=2),
        lambda L: L.nn.Conv3d(2, 3, 1, bias=False),
        lambda L: L.nn.MaxPool3d(3, 2, 1, ceil_mode=True),
        lambda L: L.nn.AvgPool3d(2, count_include_pad=False),
    ]:
        modules = []
        for lib in (ember, torch):
            lib.manual_seed(0)
            modules.append(lib_modules(lib))
        e, t = modules
        assert repr(e) == repr(t)
        for (en, ep), (tn, tp) in zip(e.named_parameters(), t.named_parameters()):
            assert en == tn
            np.testing.assert_allclose(ep.detach().numpy(), tp.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.nn.functional.conv3d(L.ones(1, 4, 5, 5, 5), L.ones(3, 2, 3, 3, 3)),
        lambda L: L.nn.functional.conv3d(L.ones(1, 2, 2, 5, 5), L.ones(3, 2, 3, 3, 3)),
        lambda L: L.nn.functional.conv3d(L.ones(1, 2, 5, 5), L.ones(3, 2, 3, 3, 3)),
        lambda L: L.nn.functional.max_pool3d(L.ones(1, 2, 5, 5, 5), 2, padding=2),
        lambda L: L.nn.functional.avg_pool3d(L.ones(5, 5), 2),
        lambda L: L.nn.functional.max_pool3d(L.ones(3, 6, 7, 5), (3, 1, 1), 1, 0, (3, 1, 1)),
        lambda L: L.nn.functional.max_pool3d(L.ones(1, 3, 6, 7, 5), (1, 3, 1), dilation=(1, 4, 1)),
        lambda L: L.nn.functional.avg_pool3d(L.ones(3, 6, 7, 5), (7, 1, 1), 1),
    ],
    ids=[
        "channels",
        "kernel_too_big",
        "rank",
        "pool_padding",
        "pool_rank",
        "max_pool_empty_depth",
        "max_pool_empty_height",
        "avg_pool_kernel_too_big",
    ],
)
def test_bad_shapes_raise_like_torch(call):
    e, t = capture(call, ember), capture(call, torch)
    assert type(e) is type(t)
    assert str(e).split("\n")[0] == str(t).split("\n")[0]


@settings(max_examples=25, deadline=None)
@given(
    out=st.tuples(st.integers(1, 5), st.sampled_from([None, 1, 3, 8]), st.integers(1, 6)),
    kind=st.sampled_from(["avg", "max"]),
)
def test_adaptive_3d_pools_match_torch(out, kind):
    data = np.random.default_rng(6).standard_normal((2, 2, 5, 7, 6))
    data[data < 0] = 0.0  # ties for the max pool

    def pool(lib, x):
        return getattr(lib.nn.functional, f"adaptive_{kind}_pool3d")(x, out)

    assert_matches_torch(pool, data)


@pytest.mark.parametrize(
    "make",
    [
        lambda L: L.nn.ReflectionPad3d((1, 2, 0, 1, 2, 1)),
        lambda L: L.nn.ReplicationPad3d(2),
        lambda L: L.nn.ZeroPad3d(1),
        lambda L: L.nn.CircularPad3d(1),
        lambda L: L.nn.ConstantPad3d(1, 3.5),
        lambda L: L.nn.AdaptiveAvgPool3d((2, None, 3)),
        lambda L: L.nn.AdaptiveMaxPool3d(2),
    ],
    ids=["reflect", "replicate", "zero", "circular", "constant", "adaptive_avg", "adaptive_max"],
)
def test_3d_padding_and_adaptive_modules_match_torch(make):
    data = np.random.default_rng(8).standard_normal((1, 2, 4, 5, 6))
    assert repr(make(ember)) == repr(make(torch))
    assert_matches_torch(lambda L, x: make(L)(x), data)


# ---- conv_transpose3d ----


@settings(max_examples=30, deadline=None)
@given(
    kernel=triple,
    stride=triple,
    dilation=triple,
    pad=st.integers(0, 1),
    out_pad=st.integers(0, 1),
    groups=st.sampled_from([1, 2]),
    bias=st.booleans(),
)
def test_conv_transpose3d_matches_torch(kernel, stride, dilation, pad, out_pad, groups, bias):
    data = np.random.default_rng(0).standard_normal((2, 4, 3, 4, 3))
    weight = np.random.default_rng(1).standard_normal((4, 6 // groups, *kernel))
    b = np.linspace(-1, 1, 6)

    def conv(lib, x):
        return lib.nn.functional.conv_transpose3d(
            x,
            lib.tensor(weight),
            lib.tensor(b) if bias else None,
            stride,
            pad,
            out_pad,
            groups,
            dilation,
        )

    refusal = capture(lambda lib: conv(lib, lib.tensor(data)), torch)
    if refusal is not None:
        error = capture(lambda lib: conv(lib, lib.tensor(data)), ember)
        assert type(error) is type(refusal) and str(error) == str(refusal)
        return
    assert_matches_torch(conv, data)


def test_conv_transpose3d_weight_gradient_unbatched_input_and_double_backward():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((3, 2, 3, 2)), rng.standard_normal((3, 2, 2, 1, 2))

    def grads(lib):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        out = lib.nn.functional.conv_transpose3d(xt, wt, stride=(2, 1, 2), padding=(1, 0, 0))
        gx, gw = lib.autograd.grad((out * out).sum(), (xt, wt), create_graph=True)
        hx, hw = lib.autograd.grad((gx * gx).sum() + gw.sum(), (xt, wt))
        return [t.detach().numpy() for t in (out, gx, gw, hx, hw)]

    for got, want in zip(grads(ember), grads(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_conv_transpose3d_module_like_torch():
    for args, kwargs in [
        ((4, 6, 3), {}),
        ((4, 6, (2, 1, 3)), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
        ((2, 2, 2), {"bias": False, "dilation": 2}),
    ]:
        e, t = ember.nn.ConvTranspose3d(*args, **kwargs), torch.nn.ConvTranspose3d(*args, **kwargs)
        assert repr(e) == repr(t)
        assert tuple(e.weight.shape) == tuple(t.weight.shape)
    torch.manual_seed(0), ember.manual_seed(0)
    e, t = ember.nn.ConvTranspose3d(2, 3, 2, stride=2), torch.nn.ConvTranspose3d(2, 3, 2, stride=2)
    e.weight.data.copy_(ember.tensor(t.weight.detach().numpy()))
    e.bias.data.copy_(ember.tensor(t.bias.detach().numpy()))
    x = np.random.default_rng(3).standard_normal((1, 2, 2, 3, 2)).astype(np.float32)
    got = e(ember.tensor(x), output_size=(5, 7, 5)).detach().numpy()
    want = t(torch.tensor(x), output_size=(5, 7, 5)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError) as err:
        e(ember.tensor(x), output_size=(9, 9, 9))
    with pytest.raises(ValueError) as want_err:
        t(torch.tensor(x), output_size=(9, 9, 9))
    assert str(err.value) == str(want_err.value).replace("torch.Size", "ember.Size")


@settings(max_examples=40, deadline=None)
@given(
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2)),
    stride=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 2)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 2)),
    ceil=st.booleans(),
    pad=st.booleans(),
    nan=st.booleans(),
)
def test_max_pool3d_indices_match_torch_with_ties_and_nan(kernel, stride, dilation, ceil, pad, nan):
    """Integer-valued input makes ties common: the first maximum in (d, h, w) order wins."""
    padding = tuple(k // 2 for k in kernel) if pad else 0
    data = np.random.default_rng(sum(kernel)).integers(0, 3, (2, 2, 5, 6, 4)).astype(np.float64)
    if nan:
        data[0, 1, 2, 3, 1] = np.nan
    results = []
    for lib in (ember, torch):
        x = lib.tensor(data, requires_grad=True)
        call = lambda: lib.nn.functional.max_pool3d(  # noqa: E731
            x, kernel, stride, padding, dilation, ceil, return_indices=True
        )
        error = capture(lambda _: call(), lib)
        if error is not None:
            results.append(type(error))
            continue
        out, indices = call()
        out.sum().backward()
        results.append((out.detach().numpy(), indices.numpy(), x.grad.numpy()))
    if not isinstance(results[1], tuple):
        assert results[0] is results[1]
        return
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    np.testing.assert_allclose(results[0][2], results[1][2])


def test_max_pool3d_module_indices_feed_max_unpool3d_like_torch():
    data = np.random.default_rng(4).normal(size=(1, 2, 4, 4, 4))
    outs = []
    for lib in (ember, torch):
        pool = lib.nn.MaxPool3d(2, return_indices=True)
        out, indices = pool(lib.tensor(data))
        outs.append(lib.nn.MaxUnpool3d(2)(out, indices).numpy())
    np.testing.assert_array_equal(*outs)


@settings(max_examples=30, deadline=None)
@given(
    size=st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6)),
    out=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
    nan=st.booleans(),
    batched=st.booleans(),
)
def test_adaptive_max_pool3d_indices_match_torch(size, out, nan, batched):
    data = np.random.default_rng(sum(size)).integers(0, 3, (2, 2, *size)).astype(np.float64)
    if nan:
        data[1, 0, size[0] // 2, 0, size[2] - 1] = np.nan
    if not batched:
        data = data[0]
    results = []
    for lib in (ember, torch):
        x = lib.tensor(data, requires_grad=True)
        values, indices = lib.nn.functional.adaptive_max_pool3d(x, out, return_indices=True)
        values.sum().backward()
        results.append((values.detach().numpy(), indices.numpy(), x.grad.numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    np.testing.assert_allclose(results[0][2], results[1][2])
