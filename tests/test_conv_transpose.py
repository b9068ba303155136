"""Transposed convolution (F.conv_transpose1d/2d, nn.ConvTranspose1d/2d) against torch
2.13.0: values, gradients (first and second order, forward mode), node names, seeded
init, reprs, output_size and errors."""

import ember
import ember.nn.functional as EF
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from layer_checks import DTYPES, LIBS, assert_same_error, close, rand, run_both

# ---- transposed convolution ----

CONV_T2D_CASES = [
    # (N, Cin, H, W, Cout, kh, kw, stride, padding, output_padding, dilation, groups, bias)
    (2, 4, 5, 5, 3, 3, 3, 2, 1, 1, 1, 1, True),
    (2, 3, 4, 6, 4, 4, 4, 2, 1, 0, 1, 1, False),  # DCGAN block
    (3, 100, 1, 1, 8, 4, 4, 1, 0, 0, 1, 1, False),  # DCGAN latent to 4x4
    (1, 4, 6, 5, 6, 3, 2, (2, 3), (1, 0), (1, 2), (1, 2), 2, True),
    (2, 6, 3, 3, 6, 3, 3, 1, 1, 0, 2, 6, True),  # depthwise, dilated
    (2, 4, 5, 5, 8, 1, 1, 1, 0, 0, 1, 1, True),  # 1x1
    (2, 4, 5, 5, 2, 1, 1, 1, 0, 1, 2, 1, True),  # output_padding >= stride, < dilation
    (1, 2, 3, 3, 2, 2, 2, 3, 0, 2, 1, 1, True),  # gaps between the taps
]


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("case", CONV_T2D_CASES)
def test_conv_transpose2d_matches_torch(case, dtype, tol):
    n, c, h, w, co, kh, kw, stride, padding, out_pad, dilation, groups, bias = case
    rng = np.random.default_rng(0)
    arrays = [rand(rng, (n, c, h, w), dtype), rand(rng, (c, co // groups, kh, kw), dtype)]
    arrays.append(rand(rng, (co,), dtype) if bias else None)
    kw_ = dict(
        stride=stride, padding=padding, output_padding=out_pad, groups=groups, dilation=dilation
    )
    run_both(
        lambda lib, F, x, wt, b: F.conv_transpose2d(x, wt, b, **kw_),
        arrays,
        tol * (10 if dtype == np.float32 else 1),
        node="ConvolutionBackward0",
    )


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize(
    "case",
    [
        (2, 3, 7, 4, 3, 1, 0, 0, 1, 1, True),
        (2, 4, 5, 6, 4, 2, 1, 1, 1, 2, False),
        (1, 4, 6, 2, 3, 3, 2, 2, 2, 1, True),
    ],
)
def test_conv_transpose1d_matches_torch(case, dtype, tol):
    n, c, length, co, k, stride, padding, out_pad, dilation, groups, bias = case
    rng = np.random.default_rng(0)
    arrays = [rand(rng, (n, c, length), dtype), rand(rng, (c, co // groups, k), dtype)]
    arrays.append(rand(rng, (co,), dtype) if bias else None)
    kw_ = dict(
        stride=stride, padding=padding, output_padding=out_pad, groups=groups, dilation=dilation
    )
    run_both(
        lambda lib, F, x, wt, b: F.conv_transpose1d(x, wt, b, **kw_),
        arrays,
        tol * 10,
        node="ConvolutionBackward0",
    )


def test_conv_transpose_unbatched_and_strided_inputs():
    rng = np.random.default_rng(0)
    x, w = rand(rng, (4, 5, 6)), rand(rng, (4, 2, 3, 3))
    run_both(lambda lib, F, x, w: F.conv_transpose2d(x, w, stride=2), [x, w], 1e-11)
    x1 = rand(rng, (4, 7))
    run_both(lambda lib, F, x, w: F.conv_transpose1d(x, w[:, :, 0], padding=1), [x1, w], 1e-11)
    xs = rand(rng, (2, 4, 6, 8))
    run_both(
        lambda lib, F, x, w: F.conv_transpose2d(x.transpose(2, 3)[:, :, ::2], w, stride=2),
        [xs, w],
        1e-11,
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    n=st.integers(1, 3),
    cg=st.integers(1, 3),
    og=st.integers(1, 3),
    groups=st.integers(1, 2),
    size=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    extra=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    one_dim=st.booleans(),
    bias=st.booleans(),
    double=st.booleans(),
)
def test_conv_transpose_random_shapes(
    n, cg, og, groups, size, kernel, stride, padding, dilation, extra, one_dim, bias, double
):
    dims = 1 if one_dim else 2
    out_pad = [min(extra[i], max(stride[i], dilation[i]) - 1) for i in range(dims)]
    for i in range(dims):
        out = (size[i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1)
        if out + out_pad[i] + 1 < 1:
            return  # torch refuses; covered by the error tests
    dtype, tol = (np.float64, 1e-10) if double else (np.float32, 1e-4)
    rng = np.random.default_rng(0)
    c, co = cg * groups, og * groups
    arrays = [
        rand(rng, (n, c, *size[:dims]), dtype),
        rand(rng, (c, og, *kernel[:dims]), dtype),
        rand(rng, (co,), dtype) if bias else None,
    ]
    kw_ = dict(
        stride=stride[:dims],
        padding=padding[:dims],
        output_padding=out_pad,
        groups=groups,
        dilation=dilation[:dims],
    )
    name = "conv_transpose1d" if one_dim else "conv_transpose2d"
    run_both(lambda lib, F, x, w, b: getattr(F, name)(x, w, b, **kw_), arrays, tol)


@pytest.mark.parametrize(
    "kw_",
    [
        dict(stride=1, padding=0, output_padding=0, dilation=1, groups=1),
        dict(stride=2, padding=1, output_padding=1, dilation=2, groups=2),
        dict(stride=(1, 2), padding=(2, 0), output_padding=(0, 1), dilation=(3, 1), groups=4),
    ],
)
def test_conv_transpose_double_backward_matches_torch(kw_):
    rng = np.random.default_rng(0)
    arrays = [
        rand(rng, (2, 4, 5, 6)),
        rand(rng, (4, 8 // kw_["groups"], 3, 2)),
        rand(rng, (8,)),
    ]
    res = []
    for lib, F in LIBS:
        x, w, b = (lib.tensor(a, requires_grad=True) for a in arrays)
        y = F.conv_transpose2d(x, w, b, **kw_)
        gx, gw, gb = lib.autograd.grad((y * y).sum(), (x, w, b), create_graph=True)
        assert type(gx.grad_fn).__name__ == "ConvolutionBackwardBackward0"
        assert type(gw.grad_fn).__name__ == "ConvolutionBackwardBackward0"
        ((gx * gx).sum() + (gw * gw * gw).sum() + (gb * gb).sum()).backward()
        res.append([t.detach().numpy() for t in (y, gx, gw, gb, x.grad, w.grad, b.grad)])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_conv_transpose_gradcheck_and_forward_ad():
    from ember.autograd import gradcheck, gradgradcheck

    rng = np.random.default_rng(0)
    x = ember.tensor(rand(rng, (2, 4, 3, 4)), requires_grad=True)
    w = ember.tensor(rand(rng, (4, 1, 3, 2)), requires_grad=True)
    b = ember.tensor(rand(rng, (2,)), requires_grad=True)

    def conv_t(x, w, b):
        return EF.conv_transpose2d(
            x, w, b, stride=(2, 1), padding=1, output_padding=(1, 0), groups=2
        )

    assert gradcheck(conv_t, (x, w, b))
    assert gradgradcheck(conv_t, (x, w, b))

    tangents = [rand(rng, tuple(t.shape)) for t in (x, w, b)]
    outs = []
    for lib, F in LIBS:
        fwAD = lib.autograd.forward_ad
        with fwAD.dual_level():
            duals = [
                fwAD.make_dual(lib.tensor(p.detach().numpy()), lib.tensor(t))
                for p, t in zip((x, w, b), tangents)
            ]
            y = F.conv_transpose2d(
                *duals, stride=(2, 1), padding=1, output_padding=(1, 0), groups=2
            )
            outs.append(fwAD.unpack_dual(y).tangent.numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-10, atol=1e-10)


def test_conv_transpose_saved_tensors_are_released_and_versioned():
    x = ember.randn(1, 2, 3, 3, requires_grad=True)
    w = ember.randn(2, 2, 2, 2, requires_grad=True)
    y = EF.conv_transpose2d(x, w, stride=2)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.sum().backward()
    w2 = ember.randn(2, 2, 2, 2, requires_grad=True)
    xd = ember.randn(1, 2, 3, 3)
    y = EF.conv_transpose2d(xd, w2)
    xd.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


CONV_T_ERRORS = [
    lambda L, F: F.conv_transpose2d(L.randn(2, 5, 5, 5), L.randn(4, 3, 3, 3)),
    lambda L, F: F.conv_transpose2d(L.randn(2, 4, 5, 5), L.randn(4, 3, 3, 3), L.randn(4)),
    lambda L, F: F.conv_transpose2d(L.randn(2, 4, 5, 5), L.randn(4, 3, 3, 3), output_padding=1),
    lambda L, F: F.conv_transpose2d(
        L.randn(2, 4, 5, 5), L.randn(4, 3, 3, 3), stride=2, output_padding=2
    ),
    lambda L, F: F.conv_transpose1d(L.randn(2, 4, 5), L.randn(4, 3, 3), output_padding=1),
    lambda L, F: F.conv_transpose2d(L.randn(2, 4, 5, 5), L.randn(4, 3, 3, 3), padding=-1),
    lambda L, F: F.conv_transpose2d(L.randn(2, 4, 5, 5), L.randn(4, 3, 3, 3), stride=0),
    lambda L, F: F.conv_transpose2d(L.randn(2, 4, 5, 5), L.randn(4, 3, 3, 3), groups=3),
    lambda L, F: F.conv_transpose2d(L.randn(2, 4, 5, 5), L.randn(4, 3, 3, 3, dtype=L.float64)),
    lambda L, F: F.conv_transpose2d(L.randn(4, 5), L.randn(4, 3, 3, 3)),
    lambda L, F: F.conv_transpose1d(L.randn(2, 4, 5), L.randn(4, 3)),
    lambda L, F: F.conv_transpose2d(L.randn(2, 4, 5, 5), L.randn(4, 3, 3, 3), stride=(1, 2, 3)),
    lambda L, F: F.conv_transpose2d(
        L.ones(1, 2, 3, 3, dtype=L.bool), L.ones(2, 2, 2, 2, dtype=L.bool)
    ),
    lambda L, F: L.nn.ConvTranspose2d(4, 3, 3, padding_mode="reflect"),
    lambda L, F: L.nn.ConvTranspose2d(4, 3, 3, groups=2),
    lambda L, F: L.nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1)(
        L.randn(2, 4, 5, 5), output_size=[12, 12]
    ),
    lambda L, F: L.nn.ConvTranspose2d(4, 3, 3, stride=2)(L.randn(2, 4, 5, 5), output_size=[10]),
    lambda L, F: L.nn.ConvTranspose1d(4, 3, 3, stride=2)(L.randn(4, 5), output_size=[1, 2, 3]),
]


@pytest.mark.parametrize("i", range(len(CONV_T_ERRORS)))
def test_conv_transpose_errors_match_torch(i):
    assert_same_error(CONV_T_ERRORS[i])


def test_conv_transpose_modules_seeded_init_reprs_and_output_size():
    def build(lib):
        lib.manual_seed(0)
        return [
            lib.nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1),
            lib.nn.ConvTranspose2d(4, 6, (3, 2), dilation=2, groups=2, bias=False),
            lib.nn.ConvTranspose1d(4, 6, 3, groups=2, bias=False, dilation=2),
            lib.nn.ConvTranspose1d(2, 5, 4, stride=3, padding=1, output_padding=2),
            lib.nn.ConvTranspose2d(100, 64, 4, 1, 0, bias=False),
        ]

    mods_e, mods_t = build(ember), build(torch)
    for me, mt in zip(mods_e, mods_t):
        assert repr(me) == repr(mt)
        sd_e, sd_t = me.state_dict(), mt.state_dict()
        assert list(sd_e) == list(sd_t)
        for k in sd_t:
            np.testing.assert_array_equal(sd_e[k].numpy(), sd_t[k].numpy())
    rng = np.random.default_rng(0)
    x = rand(rng, (2, 4, 5, 5), np.float32)
    for size in ([9, 9], [10, 10], (9, 10), [2, 3, 10, 9]):
        ye = mods_e[0](ember.tensor(x), output_size=size)
        yt = mods_t[0](torch.tensor(x), output_size=size)
        close(ye, yt, 1e-5)
    x1 = rand(rng, (2, 2, 4), np.float32)
    ye = mods_e[3](ember.tensor(x1), output_size=[11])
    yt = mods_t[3](torch.tensor(x1), output_size=[11])
    close(ye, yt, 1e-5)
