"""Convolution, pooling, dropout2d and Adadelta against torch 2.13.0: values,
gradients (first and second order), node names, modules and errors."""

import warnings

import ember
import ember.nn as enn
import ember.nn.functional as EF
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DTYPES = [(np.float32, 1e-4), (np.float64, 1e-10)]


def pair(arr, requires_grad=True):
    """The same values as an ember and a torch tensor."""
    e = ember.tensor(arr, requires_grad=requires_grad)
    t = torch.tensor(arr, requires_grad=requires_grad)
    return e, t


def close(e, t, tol):
    assert e is not None and t is not None
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


def run_both(fn_e, fn_t, arrays, tol, grad=True):
    """fn over the same inputs in both libraries; compares outputs and gradients."""
    es, ts = zip(*(pair(a, grad) if a is not None else (None, None) for a in arrays))
    oe, ot = fn_e(*es), fn_t(*ts)
    close(oe, ot, tol)
    if grad:
        rng = np.random.default_rng(1)
        g = rng.standard_normal(tuple(ot.shape)).astype(arrays[0].dtype)
        oe.backward(ember.tensor(g))
        ot.backward(torch.tensor(g))
        for e, t in zip(es, ts):
            if e is not None:
                close(e.grad, t.grad, tol * 10)
    return oe, ot


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


# ---- convolution values and gradients ----

CONV2D_CASES = [
    # (N, C, H, W, Cout, kh, kw, stride, padding, dilation, groups, bias)
    (2, 3, 8, 8, 4, 3, 3, 1, 0, 1, 1, True),
    (2, 3, 9, 7, 4, 3, 2, 2, 1, 1, 1, False),
    (1, 4, 10, 10, 6, 3, 3, (2, 1), (1, 2), (2, 1), 2, True),
    (3, 6, 7, 9, 6, 2, 3, 3, 2, 2, 6, True),  # depthwise
    (2, 4, 5, 5, 8, 1, 1, 1, 0, 1, 1, True),  # 1x1 (no gather)
    (2, 4, 5, 5, 8, 1, 1, 2, 1, 1, 4, True),  # 1x1 strided, padded
    (20, 2, 6, 6, 3, 3, 3, 1, 1, 1, 1, True),  # several weight-gradient blocks
    (1, 1, 3, 3, 1, 3, 3, 1, 0, 1, 1, True),  # output 1x1
]


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("case", CONV2D_CASES)
def test_conv2d_matches_torch(case, dtype, tol):
    n, c, h, w, co, kh, kw, stride, padding, dilation, groups, bias = case
    rng = np.random.default_rng(0)
    arrays = [rand(rng, (n, c, h, w), dtype), rand(rng, (co, c // groups, kh, kw), dtype)]
    arrays.append(rand(rng, (co,), dtype) if bias else None)
    kw_ = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    oe, _ = run_both(
        lambda x, wt, b: EF.conv2d(x, wt, b, **kw_),
        lambda x, wt, b: TF.conv2d(x, wt, b, **kw_),
        arrays,
        tol,
    )
    assert oe.grad_fn.name() == "ConvolutionBackward0"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    n=st.integers(1, 3),
    cg=st.integers(1, 3),
    og=st.integers(1, 3),
    groups=st.integers(1, 3),
    size=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    bias=st.booleans(),
    double=st.booleans(),
)
def test_conv2d_random_shapes(
    n, cg, og, groups, size, kernel, stride, padding, dilation, bias, double
):
    for i in range(2):
        if size[i] + 2 * padding[i] < dilation[i] * (kernel[i] - 1) + 1:
            return  # torch refuses; covered by the error tests
    dtype, tol = DTYPES[1] if double else DTYPES[0]
    rng = np.random.default_rng(0)
    c, co = cg * groups, og * groups
    arrays = [rand(rng, (n, c, *size), dtype), rand(rng, (co, cg, *kernel), dtype)]
    arrays.append(rand(rng, (co,), dtype) if bias else None)
    kw_ = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    run_both(
        lambda x, wt, b: EF.conv2d(x, wt, b, **kw_),
        lambda x, wt, b: TF.conv2d(x, wt, b, **kw_),
        arrays,
        tol * 10,
    )


@pytest.mark.parametrize("width", [1, 2, 3, 16, 17, 31, 32, 33, 34, 40, 67])
@pytest.mark.parametrize("padding", [0, 1])
def test_stride_two_rows_of_every_length_match_torch(width, padding):
    # Rows gathered at stride 2 go 16 outputs at a time with masked tails.
    rng = np.random.default_rng(width)
    dtype, tol = DTYPES[0]
    arrays = [rand(rng, (2, 3, 5, width), dtype), rand(rng, (4, 3, 2, 1), dtype)]
    run_both(
        lambda x, wt: EF.conv2d(x, wt, stride=2, padding=padding),
        lambda x, wt: TF.conv2d(x, wt, stride=2, padding=padding),
        arrays,
        tol,
    )


UNIT_STRIDE_CASES = [
    # (N, C, H, W, Cout, kernel, padding, dilation): float32 planes wide enough
    # for the shifted-rows kernels, channel counts that leave every tile shape
    # a remainder, and a batch of one (its planes end the buffer).
    (3, 4, 12, 20, 5, 3, 0, 1),
    (2, 8, 9, 33, 13, 3, 1, 1),
    (1, 6, 11, 40, 9, (2, 3), (1, 2), (2, 1)),
    (2, 3, 17, 17, 8, 5, 2, 1),
    (4, 16, 10, 24, 32, 3, 0, 1),
    (2, 32, 14, 14, 64, 3, 1, 1),
]


@pytest.mark.parametrize("case", UNIT_STRIDE_CASES)
def test_unit_stride_float_convolutions_match_torch(case):
    n, c, h, w, co, kernel, padding, dilation = case
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    rng = np.random.default_rng(2)
    arrays = [
        rand(rng, (n, c, h, w), np.float32),
        rand(rng, (co, c, kh, kw), np.float32),
        rand(rng, (co,), np.float32),
    ]
    kw_ = dict(padding=padding, dilation=dilation)
    run_both(
        lambda x, wt, b: EF.conv2d(x, wt, b, **kw_),
        lambda x, wt, b: TF.conv2d(x, wt, b, **kw_),
        arrays,
        1e-4,
    )


def test_unit_stride_nonfinite_inputs_reach_only_their_taps():
    # The weight gradient reads rows past each output row's end; an inf or NaN
    # there must not reach the weights that never touch it.
    rng = np.random.default_rng(3)
    x = rand(rng, (2, 4, 10, 24), np.float32)
    x[0, 1, 3, 23] = np.inf
    x[1, 2, 9, 0] = np.nan
    wt = rand(rng, (6, 4, 3, 3), np.float32)
    g = rand(rng, (2, 6, 8, 22), np.float32)
    grads = []
    for lib, F in ((ember, EF), (torch, TF)):
        xs = lib.tensor(x, requires_grad=True)
        ws = lib.tensor(wt, requires_grad=True)
        F.conv2d(xs, ws).backward(lib.tensor(g))
        grads.append((ws.grad.numpy(), xs.grad.numpy()))
    (ew, ex), (tw, tx) = grads
    assert np.isfinite(tw).any() and not np.isfinite(tw).all()
    np.testing.assert_array_equal(np.isfinite(ew), np.isfinite(tw))
    np.testing.assert_allclose(ew, tw, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ex, tx, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize(
    "case",
    [
        (2, 3, 10, 4, 3, 1, 0, 1, 1, True),
        (2, 4, 11, 6, 2, 3, 2, 2, 2, False),
        (1, 4, 7, 4, 1, 1, 0, 1, 4, True),
    ],
)
def test_conv1d_matches_torch(case, dtype, tol):
    n, c, length, co, k, stride, padding, dilation, groups, bias = case
    rng = np.random.default_rng(0)
    arrays = [rand(rng, (n, c, length), dtype), rand(rng, (co, c // groups, k), dtype)]
    arrays.append(rand(rng, (co,), dtype) if bias else None)
    kw_ = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    oe, _ = run_both(
        lambda x, wt, b: EF.conv1d(x, wt, b, **kw_),
        lambda x, wt, b: TF.conv1d(x, wt, b, **kw_),
        arrays,
        tol,
    )
    assert oe.grad_fn.name() == "ConvolutionBackward0"


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel,dilation", [(3, 1), (4, 1), ((2, 3), (1, 2)), (4, 2)])
def test_conv2d_padding_strings(padding, kernel, dilation):
    rng = np.random.default_rng(0)
    k = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    arrays = [rand(rng, (2, 2, 9, 8), np.float64), rand(rng, (3, 2, *k), np.float64), None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_both(
            lambda x, w, b: EF.conv2d(x, w, padding=padding, dilation=dilation),
            lambda x, w, b: TF.conv2d(x, w, padding=padding, dilation=dilation),
            arrays,
            1e-10,
        )


def test_conv1d_same_even_kernel():
    rng = np.random.default_rng(0)
    arrays = [rand(rng, (2, 2, 9), np.float64), rand(rng, (3, 2, 4), np.float64), None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_both(
            lambda x, w, b: EF.conv1d(x, w, padding="same"),
            lambda x, w, b: TF.conv1d(x, w, padding="same"),
            arrays,
            1e-10,
        )


def test_conv_unbatched_and_noncontiguous():
    rng = np.random.default_rng(0)
    arrays = [rand(rng, (3, 7, 6), np.float64), rand(rng, (4, 3, 3, 3), np.float64)]
    oe, ot = run_both(
        lambda x, w: EF.conv2d(x.transpose(1, 2), w.transpose(2, 3), padding=1),
        lambda x, w: TF.conv2d(x.transpose(1, 2), w.transpose(2, 3), padding=1),
        arrays,
        1e-10,
    )
    assert oe.grad_fn.name() == ot.grad_fn.name() == "SqueezeBackward1"


def test_conv_int64_and_no_grad():
    x = np.arange(2 * 3 * 5 * 5).reshape(2, 3, 5, 5) % 7
    w = np.arange(4 * 3 * 2 * 2).reshape(4, 3, 2, 2) % 5 - 2
    out_e = EF.conv2d(ember.tensor(x), ember.tensor(w), stride=2, padding=1)
    out_t = TF.conv2d(torch.tensor(x), torch.tensor(w), stride=2, padding=1)
    assert out_e.dtype == ember.int64
    np.testing.assert_array_equal(out_e.numpy(), out_t.numpy())
    with ember.no_grad():
        y = EF.conv2d(ember.randn(1, 1, 4, 4, requires_grad=True), ember.randn(1, 1, 2, 2))
    assert y.grad_fn is None and not y.requires_grad


def test_conv_graph_structure():
    x = ember.randn(2, 3, 6, 6)
    w = ember.randn(4, 3, 3, 3, requires_grad=True)
    b = ember.randn(4, requires_grad=True)
    y = EF.conv2d(x, w, b)
    fns = y.grad_fn.next_functions
    assert fns[0] == (None, 0)
    assert fns[1][0].variable is w and fns[2][0].variable is b
    y.sum().backward()
    assert x.grad is None and w.grad is not None
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()


# ---- second order ----


@pytest.mark.parametrize(
    "kw_",
    [
        dict(stride=1, padding=0, dilation=1, groups=1),
        dict(stride=2, padding=1, dilation=2, groups=2),
        dict(stride=(1, 2), padding=(2, 0), dilation=1, groups=4),
    ],
)
def test_conv_double_backward_matches_torch(kw_):
    rng = np.random.default_rng(0)
    arrays = [
        rand(rng, (2, 4, 7, 8), np.float64),
        rand(rng, (4, 4 // kw_["groups"], 3, 2), np.float64),
    ]
    arrays.append(rand(rng, (4,), np.float64))
    res = []
    for lib, F in ((ember, EF), (torch, TF)):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in arrays)
        y = F.conv2d(x, w, b, **kw_)
        gx, gw = lib.autograd.grad((y * y).sum(), (x, w), create_graph=True)
        assert gx.grad_fn.name() == "ConvolutionBackwardBackward0"
        ((gx * gx).sum() + (gw * gw * gw).sum()).backward()
        res.append([t.detach().numpy() for t in (gx, gw, x.grad, w.grad, b.grad)])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_gradcheck_conv_and_pools():
    from ember.autograd import gradcheck, gradgradcheck

    rng = np.random.default_rng(0)
    x = ember.tensor(rand(rng, (2, 4, 6, 5), np.float64), requires_grad=True)
    w = ember.tensor(rand(rng, (4, 2, 3, 2), np.float64), requires_grad=True)
    b = ember.tensor(rand(rng, (4,), np.float64), requires_grad=True)

    def conv(x, w, b):
        return EF.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2)

    assert gradcheck(conv, (x, w, b))
    assert gradgradcheck(conv, (x, w, b))
    x1 = ember.tensor(rand(rng, (2, 2, 9), np.float64), requires_grad=True)
    w1 = ember.tensor(rand(rng, (3, 2, 3), np.float64), requires_grad=True)
    assert gradcheck(lambda x, w: EF.conv1d(x, w, stride=2, padding=2, dilation=2), (x1, w1))
    # distinct values so the max is unique within every window
    xp = ember.tensor(rng.permutation(2 * 3 * 7 * 7).reshape(2, 3, 7, 7) / 10.0, requires_grad=True)
    for f in (
        lambda t: EF.max_pool2d(t, 3, 2, 1, ceil_mode=True),
        lambda t: EF.max_pool2d(t, (2, 3), dilation=2),
        lambda t: EF.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        lambda t: EF.avg_pool2d(t, 2, divisor_override=3),
        lambda t: EF.adaptive_avg_pool2d(t, (3, 5)),
    ):
        assert gradcheck(f, (xp,))
        assert gradgradcheck(f, (xp,))


# ---- pooling ----

MAXPOOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)),
    dict(kernel_size=3, stride=3, ceil_mode=True),
    dict(kernel_size=4, stride=1, padding=2, dilation=1),
]


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("kw_", MAXPOOL_CASES)
def test_max_pool2d_matches_torch(kw_, dtype, tol):
    rng = np.random.default_rng(0)
    x = rand(rng, (2, 3, 9, 8), dtype)
    oe, ot = run_both(
        lambda t: EF.max_pool2d(t, **kw_), lambda t: TF.max_pool2d(t, **kw_), [x], tol
    )
    assert oe.grad_fn.name() == ot.grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    _, ie = EF.max_pool2d(ember.tensor(x), return_indices=True, **kw_)
    _, it = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw_)
    np.testing.assert_array_equal(ie.numpy(), it.numpy())
    assert ie.dtype == ember.int64
    _, ie2 = EF.max_pool2d_with_indices(ember.tensor(x), **kw_)
    np.testing.assert_array_equal(ie2.numpy(), it.numpy())


@pytest.mark.parametrize("width", [2, 3, 5, 17, 31, 32, 33, 35, 67])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_max_pool_2x2_rows_of_every_width_match_torch(width, ceil_mode):
    # float32 2x2 windows at stride 2 go 16 outputs at a time; ties, NaNs and
    # -inf must pick torch's values and indices in every lane.
    rng = np.random.default_rng(width)
    x = np.round(rng.standard_normal((2, 3, 7, width)), 1).astype(np.float32)
    x[0, 0, 1, width - 1] = np.nan
    x[1, 2, 2:4, :2] = -np.inf
    kw_ = dict(kernel_size=2, ceil_mode=ceil_mode)
    run_both(lambda t: EF.max_pool2d(t, **kw_), lambda t: TF.max_pool2d(t, **kw_), [x], 1e-6)
    (ve, ie), (vt, it) = (
        EF.max_pool2d(ember.tensor(x), return_indices=True, **kw_),
        TF.max_pool2d(torch.tensor(x), return_indices=True, **kw_),
    )
    np.testing.assert_array_equal(ve.numpy(), vt.numpy())
    np.testing.assert_array_equal(ie.numpy(), it.numpy())


def test_max_pool2d_ties_nan_inf_unbatched():
    x = np.array([[[1.0, 1.0, -np.inf], [np.nan, 2.0, -np.inf], [2.0, 0.0, -np.inf]]])
    for kw_ in (dict(kernel_size=2, stride=1), dict(kernel_size=(3, 1), stride=1)):
        oe, ot = run_both(
            lambda t: EF.max_pool2d(t, **kw_), lambda t: TF.max_pool2d(t, **kw_), [x], 1e-12
        )
        _, ie = EF.max_pool2d(ember.tensor(x), return_indices=True, **kw_)
        _, it = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw_)
        np.testing.assert_array_equal(ie.numpy(), it.numpy())
    x = np.full((1, 1, 3, 3), -np.inf)
    _, ie = EF.max_pool2d(ember.tensor(x), 2, 1, 1, return_indices=True)
    _, it = TF.max_pool2d(torch.tensor(x), 2, 1, 1, return_indices=True)
    np.testing.assert_array_equal(ie.numpy(), it.numpy())


@pytest.mark.parametrize(
    "kw_",
    [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
        dict(kernel_size=2, dilation=2),
    ],
)
def test_max_pool1d_matches_torch(kw_):
    rng = np.random.default_rng(0)
    for shape in ((2, 3, 11), (3, 10)):
        x = rand(rng, shape, np.float64)
        oe, ot = run_both(
            lambda t: EF.max_pool1d(t, **kw_), lambda t: TF.max_pool1d(t, **kw_), [x], 1e-12
        )
        assert oe.grad_fn.name() == ot.grad_fn.name()
        _, ie = EF.max_pool1d(ember.tensor(x), return_indices=True, **kw_)
        _, it = TF.max_pool1d(torch.tensor(x), return_indices=True, **kw_)
        np.testing.assert_array_equal(ie.numpy(), it.numpy())


AVGPOOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(3, 1), padding=(1, 0), divisor_override=5),
]


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("kw_", AVGPOOL_CASES)
def test_avg_pool2d_matches_torch(kw_, dtype, tol):
    rng = np.random.default_rng(0)
    for shape in ((2, 3, 9, 8), (3, 7, 7)):
        x = rand(rng, shape, dtype)
        oe, ot = run_both(
            lambda t: EF.avg_pool2d(t, **kw_), lambda t: TF.avg_pool2d(t, **kw_), [x], tol
        )
        assert oe.grad_fn.name() == ot.grad_fn.name() == "AvgPool2DBackward0"


def test_avg_pool2d_int64():
    x = np.arange(2 * 64).reshape(2, 1, 8, 8)
    for kw_ in (
        dict(kernel_size=3),
        dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    ):
        np.testing.assert_array_equal(
            EF.avg_pool2d(ember.tensor(x), **kw_).numpy(),
            TF.avg_pool2d(torch.tensor(x), **kw_).numpy(),
        )
        kw_.pop("count_include_pad", None)
        np.testing.assert_array_equal(
            EF.max_pool2d(ember.tensor(x), **kw_).numpy(),
            TF.max_pool2d(torch.tensor(x), **kw_).numpy(),
        )


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("size", [(3, 5), 4, (1, 1), 1, (None, 2), (9, 8), (13, 3)])
def test_adaptive_avg_pool2d_matches_torch(size, dtype, tol):
    rng = np.random.default_rng(0)
    for shape in ((2, 3, 9, 8), (3, 7, 5)):
        x = rand(rng, shape, dtype)
        oe, ot = run_both(
            lambda t: EF.adaptive_avg_pool2d(t, size),
            lambda t: TF.adaptive_avg_pool2d(t, size),
            [x],
            tol,
        )
        assert oe.grad_fn.name() == ot.grad_fn.name()


@pytest.mark.parametrize(
    "name,call",
    [
        ("MaxPool2DWithIndicesBackwardBackward0", lambda F, t: F.max_pool2d(t, 2, 1)),
        ("AvgPool2DBackwardBackward0", lambda F, t: F.avg_pool2d(t, 3, 2, 1)),
        ("AdaptiveAvgPool2DBackwardBackward0", lambda F, t: F.adaptive_avg_pool2d(t, (2, 3))),
    ],
)
def test_pool_double_backward_matches_torch(name, call):
    rng = np.random.default_rng(0)
    x = rng.permutation(2 * 2 * 6 * 5).reshape(2, 2, 6, 5) / 7.0
    res = []
    for lib, F in ((ember, EF), (torch, TF)):
        t = lib.tensor(x, requires_grad=True)
        y = call(F, t)
        (g,) = lib.autograd.grad((y * y * y).sum(), (t,), create_graph=True)
        assert g.grad_fn.name() == name
        (g * g).sum().backward()
        res.append((g.detach().numpy(), t.grad.numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# ---- modules ----


def test_module_reprs():
    cases = [
        lambda nn: nn.Conv2d(1, 32, 3),
        lambda nn: nn.Conv2d(
            3,
            6,
            (3, 5),
            stride=2,
            padding=(1, 2),
            dilation=2,
            groups=3,
            bias=False,
            padding_mode="reflect",
        ),
        lambda nn: nn.Conv1d(2, 4, 3, padding="same"),
        lambda nn: nn.Conv1d(2, 4, 3, padding="valid", dilation=2),
        lambda nn: nn.MaxPool2d(2),
        lambda nn: nn.MaxPool2d(3, 2, 1, dilation=2, return_indices=True, ceil_mode=True),
        lambda nn: nn.MaxPool1d(2),
        lambda nn: nn.AvgPool2d(2),
        lambda nn: nn.AvgPool2d(3, 2, 1, True, False, 2),
        lambda nn: nn.AdaptiveAvgPool2d((5, 7)),
        lambda nn: nn.AdaptiveAvgPool2d(1),
        lambda nn: nn.Dropout2d(),
        lambda nn: nn.Dropout2d(0.25, inplace=True),
        lambda nn: nn.Flatten(),
    ]
    for make in cases:
        assert repr(make(enn)) == repr(make(torch.nn))


@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.Conv2d(3, 8, 3),
        lambda nn: nn.Conv2d(4, 6, (2, 3), groups=2, bias=False),
        lambda nn: nn.Conv1d(3, 5, 4, dtype=getattr(nn, "_dt", None)),
    ],
)
def test_conv_module_init_matches_torch(make):
    ember.manual_seed(7)
    torch.manual_seed(7)
    me, mt = make(enn), make(torch.nn)
    assert list(me.state_dict().keys()) == list(mt.state_dict().keys())
    for (ne, pe), (nt, pt) in zip(me.named_parameters(), mt.named_parameters()):
        assert ne == nt and tuple(pe.shape) == tuple(pt.shape)
        np.testing.assert_array_equal(pe.detach().numpy(), pt.detach().numpy())
    for attr in (
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "dilation",
        "groups",
        "padding_mode",
    ):
        assert getattr(me, attr) == getattr(mt, attr)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv_module_padding_modes(mode):
    ember.manual_seed(0)
    torch.manual_seed(0)
    me = enn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode, dtype=ember.float64)
    mt = torch.nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode, dtype=torch.float64)
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 7))
    close(me(ember.tensor(x)), mt(torch.tensor(x)), 1e-10)


def test_dropout2d_matches_torch_stream():
    x = np.random.default_rng(0).standard_normal((4, 6, 3, 3)).astype(np.float32)
    for p in (0.5, 0.2):
        ember.manual_seed(3)
        torch.manual_seed(3)
        xe, xt = pair(x)
        ye, yt = EF.dropout2d(xe, p), TF.dropout2d(xt, p)
        np.testing.assert_array_equal(ye.detach().numpy(), yt.detach().numpy())
        assert ye.grad_fn.name() == yt.grad_fn.name()
        # a following draw continues the same stream
        np.testing.assert_array_equal(ember.rand(5).numpy(), torch.rand(5).numpy())
    m = enn.Dropout2d(0.5)
    m.eval()
    xe = ember.tensor(x)
    assert m(xe) is xe
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        EF.dropout2d(ember.randn(2, 3, 4))
    ye = EF.dropout2d(ember.ones(2, 3, 4, 4), 1.0)
    assert float(ye.abs().sum()) == 0.0


# ---- Adadelta ----


@pytest.mark.parametrize(
    "kwargs", [dict(), dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1), dict(maximize=True)]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adadelta_matches_torch(kwargs, dtype):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((5, 4)).astype(dtype)
    pe, pt = pair(w0)
    oe, ot = ember.optim.Adadelta([pe], **kwargs), torch.optim.Adadelta([pt], **kwargs)
    assert oe.defaults == ot.defaults
    for _ in range(4):
        for p, o in ((pe, oe), (pt, ot)):
            o.zero_grad()
            (p * p * p).sum().backward()
            o.step()
        np.testing.assert_allclose(
            pe.detach().numpy(), pt.detach().numpy(), rtol=1e-6 if dtype == np.float32 else 1e-13
        )
    se, st_ = oe.state_dict(), ot.state_dict()
    assert se["param_groups"] == st_["param_groups"]
    assert sorted(se["state"][0]) == sorted(st_["state"][0]) == ["acc_delta", "square_avg", "step"]
    for key in ("acc_delta", "square_avg", "step"):
        np.testing.assert_allclose(
            se["state"][0][key].numpy(), st_["state"][0][key].numpy(), rtol=1e-5
        )
    o2 = ember.optim.Adadelta([pe])
    o2.load_state_dict(se)
    assert float(o2.state_dict()["state"][0]["step"]) == 4.0


def test_adadelta_argument_errors():
    p = [ember.zeros(2, requires_grad=True)]
    for kwargs, msg in (
        (dict(lr=-1), "Invalid learning rate: -1"),
        (dict(rho=1.5), "Invalid rho value: 1.5"),
        (dict(eps=-1), "Invalid epsilon value: -1"),
        (dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ):
        with pytest.raises(ValueError, match=msg):
            ember.optim.Adadelta(p, **kwargs)


# ---- errors ----


def message(lib_f, lib, F):
    try:
        lib_f(lib, F)
    except Exception as e:  # noqa: BLE001
        return type(e).__name__, str(e)
    return None


ERROR_CASES = [
    lambda L, F: F.conv2d(L.randn(3, 8), L.randn(4, 3, 3, 3)),
    lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(4, 2, 3, 3)),
    lambda L, F: F.conv2d(L.randn(2, 4, 8, 8), L.randn(4, 2, 3, 3), groups=3),
    lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(2, 3, 3, 3), groups=3),
    lambda L, F: F.conv2d(L.randn(2, 3, 2, 2), L.randn(4, 3, 3, 3)),
    lambda L, F: F.conv2d(L.randn(2, 3, 4, 4), L.randn(4, 3, 3, 3), dilation=2),
    lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(4, 3, 3)),
    lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(4, 3, 3, 3), bias=L.randn(3)),
    lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(4, 3, 3, 3, dtype=L.float64)),
    lambda L, F: F.conv2d(L.randn(2, 3, 8, 8, dtype=L.float64), L.randn(4, 3, 3, 3)),
    lambda L, F: F.conv2d(
        L.randn(2, 3, 8, 8), L.randn(4, 3, 3, 3), bias=L.randn(4, dtype=L.float64)
    ),
    lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(4, 3, 3, 3), stride=0),
    lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(4, 3, 3, 3), padding=-1),
    lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(4, 3, 3, 3), dilation=0),
    lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(4, 3, 3, 3), groups=0),
    lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(4, 3, 3, 3), padding="same", stride=2),
    lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(4, 3, 3, 3), padding="foo"),
    lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(4, 3, 3, 3), stride=(1, 1, 1)),
    lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(2, 4, 3, 3, 3)),
    lambda L, F: F.conv1d(L.randn(2, 3, 8, 8), L.randn(4, 3, 3)),
    lambda L, F: F.conv1d(L.randn(2, 3, 8), L.randn(4, 3, 3), stride=(1, 2)),
    lambda L, F: F.conv1d(L.randn(2, 3, 2), L.randn(4, 3, 3)),
    lambda L, F: F.conv2d(L.ones(2, 3, 8, 8, dtype=L.bool), L.ones(4, 3, 3, 3, dtype=L.bool)),
    lambda L, F: F.max_pool2d(L.randn(2, 3, 1, 1), 2),
    lambda L, F: F.max_pool2d(L.randn(3, 8), 2),
    lambda L, F: F.max_pool2d(L.randn(2, 3, 8, 8), 2, padding=2),
    lambda L, F: F.max_pool2d(L.randn(2, 3, 8, 8), 2, stride=0),
    lambda L, F: F.max_pool2d(L.randn(2, 3, 8, 8), 0),
    lambda L, F: F.max_pool2d(L.randn(2, 3, 8, 8), 2, dilation=0),
    lambda L, F: F.max_pool2d(L.randn(2, 3, 8, 8), (2, 2, 2)),
    lambda L, F: F.max_pool2d(L.randn(2, 0, 8, 8), 2),
    lambda L, F: F.max_pool2d(L.randn(2, 3, 8, 8), 2, padding=-1),
    lambda L, F: F.max_pool2d(L.ones(2, 3, 8, 8, dtype=L.bool), 2),
    lambda L, F: F.avg_pool2d(L.randn(2, 3, 8, 8), 2, padding=2),
    lambda L, F: F.avg_pool2d(L.randn(2, 3, 1, 1), 2),
    lambda L, F: F.avg_pool2d(L.randn(2, 3, 8, 8), 2, divisor_override=0),
    lambda L, F: F.avg_pool2d(L.randn(8), 2),
    lambda L, F: F.avg_pool2d(L.randn(3, 8), 2),
    lambda L, F: F.avg_pool2d(L.randn(2, 2, 3, 8, 8), 2),
    lambda L, F: F.max_pool2d(L.randn(2, 2, 3, 8, 8), 2),
    lambda L, F: F.adaptive_avg_pool2d(L.randn(3, 8), 2),
    lambda L, F: F.adaptive_avg_pool2d(L.randn(2, 3, 8, 8), (2, 2, 2)),
    lambda L, F: F.adaptive_avg_pool2d(L.randn(2, 3, 0, 8), 2),
    lambda L, F: F.adaptive_avg_pool2d(L.randn(2, 3, 8, 8), -1),
    lambda L, F: F.max_pool1d(L.randn(2, 3, 8, 8), 2),
    lambda L, F: F.max_pool1d(L.randn(8), 2),
    lambda L, F: F.dropout2d(L.randn(2, 3, 4, 4), 1.5),
    lambda L, F: L.nn.Conv2d(3, 4, 3, groups=2),
    lambda L, F: L.nn.Conv2d(4, 6, 3, groups=4),
    lambda L, F: L.nn.Conv2d(4, 4, 3, groups=0),
    lambda L, F: L.nn.Conv2d(4, 4, 3, padding="same", stride=2),
    lambda L, F: L.nn.Conv2d(4, 4, 3, padding="full"),
    lambda L, F: L.nn.Conv2d(1, 2, 3)(L.randn(1, 2, 5, 5)),
    lambda L, F: L.nn.Conv2d(1, 2, 3)(L.randn(5, 5)),
]


@pytest.mark.parametrize("i", range(len(ERROR_CASES)))
def test_errors_match_torch(i):
    got = message(ERROR_CASES[i], ember, EF)
    want = message(ERROR_CASES[i], torch, TF)
    assert want is not None
    assert got is not None, f"ember accepted; torch raised {want}"
    assert got[0] == want[0]
    assert got[1].replace("ember.", "torch.") == want[1]


# ---- end to end ----


def test_mnist_cnn_training_matches_torch():
    """The CNN of pytorch/examples' MNIST, 3 Adadelta steps from identical weights."""

    def build(lib):
        nn, F = lib.nn, lib.nn.functional

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(1, 32, 3, 1)
                self.conv2 = nn.Conv2d(32, 64, 3, 1)
                self.dropout1 = nn.Dropout(0.25)
                self.dropout2 = nn.Dropout(0.5)
                self.fc1 = nn.Linear(9216, 128)
                self.fc2 = nn.Linear(128, 10)

            def forward(self, x):
                x = F.relu(self.conv1(x))
                x = F.relu(self.conv2(x))
                x = F.max_pool2d(x, 2)
                x = self.dropout1(x)
                x = lib.flatten(x, 1)
                x = F.relu(self.fc1(x))
                x = self.dropout2(x)
                return F.log_softmax(self.fc2(x), dim=1)

        return Net()

    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=16)
    torch.manual_seed(0)
    mt = build(torch)
    me = build(ember)
    me.load_state_dict({k: ember.tensor(v.numpy()) for k, v in mt.state_dict().items()})
    losses = {}
    for lib, model in ((torch, mt), (ember, me)):
        lib.manual_seed(1)  # dropout masks: the same stream in both
        opt = lib.optim.Adadelta(model.parameters(), lr=1.0)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
        out = []
        for _ in range(3):
            opt.zero_grad()
            loss = lib.nn.functional.nll_loss(model(lib.tensor(X)), lib.tensor(y))
            loss.backward()
            opt.step()
            sched.step()
            out.append(loss.item())
        losses[lib.__name__] = out
    np.testing.assert_allclose(losses["ember"], losses["torch"], rtol=1e-5, atol=1e-5)
    for (_, pe), (_, pt) in zip(me.named_parameters(), mt.named_parameters()):
        np.testing.assert_allclose(pe.detach().numpy(), pt.detach().numpy(), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "shape,wshape,kw_",
    [
        ((8, 3, 9, 9), (4, 3, 3, 3), dict(padding=1)),  # small GEMMs: the batch is split
        ((6, 32, 14, 14), (64, 32, 3, 3), dict(stride=1)),  # BLAS threads each GEMM
        ((5, 8, 10, 10), (8, 1, 3, 3), dict(groups=8, padding=1)),
    ],
)
def test_conv_threads_bit_identical(shape, wshape, kw_):
    rng = np.random.default_rng(0)
    x0, w0 = rand(rng, shape, np.float32), rand(rng, wshape, np.float32)
    before = ember.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            ember.set_num_threads(threads)
            x, w = ember.tensor(x0, requires_grad=True), ember.tensor(w0, requires_grad=True)
            y = EF.max_pool2d(EF.conv2d(x, w, **kw_), 2)
            (y * y).sum().backward()
            results.append([t.detach().numpy() for t in (y, x.grad, w.grad)])
    finally:
        ember.set_num_threads(before)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_conv_empty_batch_and_partial_grads():
    rng = np.random.default_rng(0)
    arrays = [rand(rng, (0, 3, 6, 6), np.float64), rand(rng, (4, 3, 3, 3), np.float64)]
    arrays.append(rand(rng, (4,), np.float64))
    run_both(
        lambda x, w, b: EF.conv2d(x, w, b, padding=1),
        lambda x, w, b: TF.conv2d(x, w, b, padding=1),
        arrays,
        1e-12,
    )
    from ember.autograd import gradgradcheck

    x = ember.tensor(rand(rng, (2, 2, 5, 5), np.float64))
    w = ember.tensor(rand(rng, (3, 2, 2, 2), np.float64), requires_grad=True)
    assert gradgradcheck(lambda w: EF.conv2d(x, w, stride=2), (w,))
    xg = ember.tensor(rand(rng, (2, 2, 5, 5), np.float64), requires_grad=True)
    wc = ember.tensor(rand(rng, (3, 2, 2, 2), np.float64))
    assert gradgradcheck(lambda x: EF.conv2d(x, wc, padding=1, dilation=2), (xg,))
