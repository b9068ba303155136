"""The image-model layers (padding modules, PReLU, channel dropout, Softmax2d, 1-d and
adaptive pools, LocalResponseNorm, Bilinear, Fold/Unfold) against torch 2.13.0:
values, gradients (first and second order), node names, seeded init, reprs and errors."""

import ember
import ember.nn.functional as EF
import numpy as np
import pytest
import torch
from layer_checks import DTYPES, LIBS, assert_same_error, close, rand, run_both

# ---- padding modules ----

PAD_MODULES = [
    ("ZeroPad1d", 2, 3),
    ("ZeroPad1d", (1, 0), 2),
    ("ZeroPad2d", (1, 2, 3, 0), 4),
    ("ZeroPad2d", 2, 3),
    ("ConstantPad1d", (2, 3.5), 3),
    ("ConstantPad2d", (1, -1.0), 4),
    ("ConstantPad2d", ((1, 0, 2, 1), 2.0), 3),
    ("ReflectionPad1d", 2, 3),
    ("ReflectionPad2d", (1, 1, 2, 0), 4),
    ("ReplicationPad1d", (3, 1), 2),
    ("ReplicationPad2d", 2, 4),
    ("CircularPad1d", 1, 3),
    ("CircularPad2d", (1, 0, 1, 2), 4),
]


@pytest.mark.parametrize("name,args,rank", PAD_MODULES)
def test_padding_modules_match_torch(name, args, rank):
    args = args if isinstance(args, tuple) and name.startswith("Constant") else (args,)
    me, mt = getattr(ember.nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(me) == repr(mt)
    assert me.padding == mt.padding
    x = rand(np.random.default_rng(0), (2, 3, 4, 5)[:rank])
    run_both(lambda lib, F, x: (me if lib is ember else mt)(x), [x], 1e-12)


def test_circular_pad_rank_error():
    assert_same_error(lambda L, F: L.nn.CircularPad2d(1)(L.randn(2, 3, 4, 5, 6)))
    assert_same_error(lambda L, F: L.nn.CircularPad1d(1)(L.randn(2, 3, 4, 5)))


# ---- PReLU ----


@pytest.mark.parametrize(
    "shape,count", [((2, 3), 1), ((2, 3, 4), 3), ((2, 3, 4, 5), 3), ((5,), 1), ((2, 1, 4), 1)]
)
def test_prelu_matches_torch(shape, count):
    rng = np.random.default_rng(0)
    x = rand(rng, shape)
    x.flat[0] = 0.0  # the kink: torch takes the slope side
    w = rand(rng, (count,))
    run_both(lambda lib, F, x, w: F.prelu(x, w), [x, w], 1e-12, node="PreluKernelBackward0")
    res = []
    for lib, F in LIBS:
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = F.prelu(xt, wt)
        weight_node = "ViewBackward0" if len(shape) >= 2 else "AccumulateGrad"
        assert [type(n[0]).__name__ for n in y.grad_fn.next_functions] == [
            "AccumulateGrad",
            weight_node,
        ]
        gx, gw = lib.autograd.grad((y * y).sum(), (xt, wt), create_graph=True)
        ((gx * gx).sum() + (gw * gw).sum()).backward()
        res.append([gx.detach().numpy(), gw.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


def test_prelu_module_and_errors():
    for args in [(), (3,), (3, 0.1)]:
        me, mt = ember.nn.PReLU(*args), torch.nn.PReLU(*args)
        assert repr(me) == repr(mt)
        assert list(me.state_dict()) == list(mt.state_dict())
        np.testing.assert_array_equal(me.weight.detach().numpy(), mt.weight.detach().numpy())
    x = rand(np.random.default_rng(0), (2, 3, 4), np.float32)
    close(ember.nn.PReLU(3)(ember.tensor(x)), torch.nn.PReLU(3)(torch.tensor(x)), 1e-6)
    assert_same_error(lambda L, F: F.prelu(L.randn(2, 3, 4), L.full((2,), 0.2)))
    assert_same_error(lambda L, F: F.prelu(L.randn(2, 3, 4), L.full((2, 2), 0.2)))
    assert_same_error(lambda L, F: F.prelu(L.ones(2, 3, dtype=L.bool), L.ones(1, dtype=L.bool)))


# ---- channel dropout, Softmax2d ----


@pytest.mark.parametrize(
    "op,shape",
    [
        ("dropout1d", (4, 6, 5)),
        ("dropout1d", (6, 5)),
        ("dropout3d", (3, 4, 2, 3, 2)),
        ("dropout3d", (4, 2, 3, 2)),
    ],
)
def test_channel_dropout_draws_like_torch(op, shape):
    x = rand(np.random.default_rng(0), shape, np.float32)
    outs = []
    for lib, F in LIBS:
        lib.manual_seed(3)
        xt = lib.tensor(x, requires_grad=True)
        y = getattr(F, op)(xt, 0.4)
        y.sum().backward()
        outs.append((y.detach().numpy(), xt.grad.numpy(), type(y.grad_fn).__name__))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    assert outs[0][2] == outs[1][2]
    for lib in (ember, torch):
        mod = lib.nn.Dropout1d(0.3) if op == "dropout1d" else lib.nn.Dropout3d()
        assert repr(mod) in ("Dropout1d(p=0.3, inplace=False)", "Dropout3d(p=0.5, inplace=False)")
        mod.eval()
        assert mod(lib.ones(*shape)).sum().item() == float(np.prod(shape))


def test_channel_dropout_errors():
    assert_same_error(lambda L, F: F.dropout1d(L.randn(2, 3, 4, 5), 0.5))
    assert_same_error(lambda L, F: F.dropout1d(L.randn(2, 3, 4), 1.5))
    assert_same_error(lambda L, F: F.dropout3d(L.randn(2, 3, 4, 5), -0.1))
    with pytest.warns(UserWarning, match="dropout3d: Received a 3-D input"):
        EF.dropout3d(ember.randn(2, 3, 4), 0.5)


def test_softmax2d_matches_torch():
    for shape in [(2, 3, 4, 5), (3, 4, 5)]:
        x = rand(np.random.default_rng(0), shape)
        run_both(lambda lib, F, x: lib.nn.Softmax2d()(x), [x], 1e-12, node="SoftmaxBackward0")
    assert repr(ember.nn.Softmax2d()) == repr(torch.nn.Softmax2d())
    assert_same_error(lambda L, F: L.nn.Softmax2d()(L.randn(3, 4)))


# ---- 1-d and adaptive pooling ----

POOL_CASES = [
    ("avg_pool1d", (2, 3, 10), dict(kernel_size=3)),
    ("avg_pool1d", (3, 11), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ("avg_pool1d", (2, 3, 10), dict(kernel_size=4, stride=3, ceil_mode=True)),
    ("adaptive_avg_pool1d", (2, 3, 10), dict(output_size=4)),
    ("adaptive_avg_pool1d", (3, 7), dict(output_size=1)),
    ("adaptive_max_pool1d", (2, 3, 10), dict(output_size=4)),
    ("adaptive_max_pool1d", (3, 7), dict(output_size=3)),
    ("adaptive_max_pool2d", (2, 3, 8, 9), dict(output_size=(3, 4))),
    ("adaptive_max_pool2d", (3, 5, 7), dict(output_size=2)),
    ("adaptive_max_pool2d", (2, 3, 8, 9), dict(output_size=(None, 2))),
    ("adaptive_max_pool2d", (2, 3, 5, 5), dict(output_size=(7, 1))),
]


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("op,shape,kw_", POOL_CASES)
def test_pools_match_torch(op, shape, kw_, dtype, tol):
    # distinct values, so every window's maximum is unique
    rng = np.random.default_rng(0)
    x = (rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0).astype(dtype)
    run_both(lambda lib, F, x: getattr(F, op)(x, **kw_), [x], tol)
    if "max" in op:
        (ve, ie), (vt, it) = (
            getattr(F, op)(lib.tensor(x), return_indices=True, **kw_) for lib, F in LIBS
        )
        close(ve, vt, tol)
        np.testing.assert_array_equal(ie.numpy(), it.numpy())


def test_adaptive_max_pool_double_backward_and_nan():
    x = np.random.default_rng(0).permutation(60).reshape(1, 3, 4, 5) / 3.0
    x[0, 0, 1, 1] = np.nan
    res = []
    for lib, F in LIBS:
        xt = lib.tensor(x, requires_grad=True)
        y, idx = F.adaptive_max_pool2d(xt, (2, 3), return_indices=True)
        assert type(y.grad_fn).__name__ == "AdaptiveMaxPool2DBackward0"
        g = lib.ones(tuple(y.shape), dtype=lib.float64, requires_grad=True)
        (gx,) = lib.autograd.grad(y, xt, g, create_graph=True)
        assert type(gx.grad_fn).__name__ == "AdaptiveMaxPool2DBackwardBackward0"
        (gx * lib.arange(60.0, dtype=lib.float64).reshape(1, 3, 4, 5)).sum().backward()
        res.append([y.detach().numpy(), idx.numpy(), gx.detach().numpy(), g.grad.numpy()])
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)


def test_pool_modules_reprs():
    def build(nn):
        return [
            nn.AvgPool1d(3),
            nn.AvgPool1d(3, 2, 1, True, False),
            nn.AdaptiveAvgPool1d(4),
            nn.AdaptiveMaxPool1d(4),
            nn.AdaptiveMaxPool2d((3, None)),
            nn.AdaptiveMaxPool2d(2, return_indices=True),
        ]

    x = rand(np.random.default_rng(0), (2, 3, 8, 8), np.float32)
    for me, mt in zip(build(ember.nn), build(torch.nn)):
        assert repr(me) == repr(mt)
        xs = x[:, :, 0] if "1d" in type(mt).__name__ else x
        ye, yt = me(ember.tensor(xs)), mt(torch.tensor(xs))
        if isinstance(yt, tuple):
            ye, yt = ye[0], yt[0]
        close(ye, yt, 1e-6)


POOL_ERRORS = [
    lambda L, F: F.adaptive_max_pool2d(L.randn(3, 4), 2),
    lambda L, F: F.adaptive_max_pool2d(L.randn(2, 3, 4, 5), (2, -1)),
    lambda L, F: F.adaptive_max_pool2d(L.randn(2, 0, 4), 2),
    lambda L, F: F.adaptive_max_pool2d(L.ones(2, 3, 4, dtype=L.bool), 2),
    lambda L, F: F.adaptive_max_pool1d(L.randn(2, 3, 4, 5), 2),
    lambda L, F: F.adaptive_avg_pool1d(L.randn(2, 3, 4, 5), 2),
    lambda L, F: F.avg_pool1d(L.randn(2, 3, 4, 5), 2),
]


@pytest.mark.parametrize("i", range(len(POOL_ERRORS)))
def test_pool_errors_match_torch(i):
    assert_same_error(POOL_ERRORS[i])


# ---- LocalResponseNorm, Bilinear ----


@pytest.mark.parametrize(
    "shape,args", [((2, 5, 4, 4), (3,)), ((2, 6, 7), (2, 1e-3, 0.5, 2.0)), ((1, 4, 2, 3, 2), (4,))]
)
def test_local_response_norm_matches_torch(shape, args):
    x = rand(np.random.default_rng(0), shape)
    run_both(lambda lib, F, x: F.local_response_norm(x, *args), [x], 1e-12, node="DivBackward0")
    me, mt = ember.nn.LocalResponseNorm(*args), torch.nn.LocalResponseNorm(*args)
    assert repr(me) == repr(mt)
    assert_same_error(lambda L, F: F.local_response_norm(L.randn(2, 3), 2))


@pytest.mark.parametrize("lead,bias", [((4,), True), ((2, 3), False), ((), True)])
def test_bilinear_matches_torch(lead, bias):
    rng = np.random.default_rng(0)
    arrays = [rand(rng, (*lead, 3)), rand(rng, (*lead, 4)), rand(rng, (5, 3, 4))]
    arrays.append(rand(rng, (5,)) if bias else None)
    run_both(lambda lib, F, a, b, w, c: F.bilinear(a, b, w, c), arrays, 1e-12)


def test_bilinear_module_seeded_init_and_errors():
    def build(lib):
        lib.manual_seed(0)
        return [lib.nn.Bilinear(3, 4, 5), lib.nn.Bilinear(3, 4, 5, bias=False)]

    for me, mt in zip(build(ember), build(torch)):
        assert repr(me) == repr(mt)
        assert list(me.state_dict()) == list(mt.state_dict())
        for k, v in mt.state_dict().items():
            np.testing.assert_array_equal(me.state_dict()[k].numpy(), v.numpy())
    assert_same_error(lambda L, F: F.bilinear(L.randn(2, 3), L.randn(2, 5), L.randn(5, 3, 4)))
    assert_same_error(lambda L, F: F.bilinear(L.randn(2, 2), L.randn(2, 4), L.randn(5, 3, 4)))
    assert_same_error(lambda L, F: F.bilinear(L.randn(2, 3), L.randn(3, 4), L.randn(5, 3, 4)))
    assert_same_error(lambda L, F: F.bilinear(L.randn(2, 3), L.randn(2, 4, 1), L.randn(5, 3, 4)))


# ---- Fold / Unfold ----

FOLD_CASES = [
    # (input shape, kernel, dilation, padding, stride)
    ((2, 3, 6, 6), 3, 1, 0, 1),
    ((2, 3, 7, 6), (2, 3), 2, 1, 2),
    ((3, 5, 5), 2, 1, (1, 0), (1, 2)),
    ((1, 2, 4, 4), 4, 1, 0, 1),
]


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("shape,k,d,p,s", FOLD_CASES)
def test_unfold_and_fold_match_torch(shape, k, d, p, s, dtype, tol):
    rng = np.random.default_rng(0)
    x = rand(rng, shape, dtype)
    kw_ = dict(kernel_size=k, dilation=d, padding=p, stride=s)
    oe, ot = run_both(lambda lib, F, x: F.unfold(x, **kw_), [x], tol, node="Im2ColBackward0")
    cols = rand(rng, tuple(ot.shape), dtype)
    run_both(lambda lib, F, c: F.fold(c, shape[-2:], **kw_), [cols], tol, node="Col2ImBackward0")
    res = []
    for lib, F in LIBS:
        xt = lib.tensor(x.astype(np.float64), requires_grad=True)
        y = F.unfold(xt, **kw_)
        g = lib.tensor(cols.astype(np.float64), requires_grad=True)
        (gx,) = lib.autograd.grad(y, xt, g, create_graph=True)
        assert type(gx.grad_fn).__name__ == "Col2ImBackward0"
        (gx * gx).sum().backward()
        res.append([gx.detach().numpy(), g.grad.numpy()])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11)


def test_fold_modules_and_errors():
    def build(nn):
        return [
            nn.Unfold(3),
            nn.Unfold((2, 3), dilation=2, padding=1, stride=2),
            nn.Fold(5, 2),
            nn.Fold((4, 5), (2, 2), stride=2),
        ]

    for me, mt in zip(build(ember.nn), build(torch.nn)):
        assert repr(me) == repr(mt)
    for fn in [
        lambda L, F: F.unfold(L.randn(2, 3, 6, 6), 7),
        lambda L, F: F.unfold(L.randn(2, 3, 6, 6), 0),
        lambda L, F: F.unfold(L.randn(2, 3, 6, 6), 3, stride=0),
        lambda L, F: F.unfold(L.randn(2, 3, 6, 6), 3, dilation=0),
        lambda L, F: F.unfold(L.randn(2, 3, 6, 6), 3, padding=-1),
        lambda L, F: F.fold(L.randn(2, 13, 9), 5, 2),
        lambda L, F: F.fold(L.randn(2, 12, 8), 5, 2),
        lambda L, F: F.fold(L.randn(12), 5, 2),
        lambda L, F: F.fold(L.ones(1, 4, 4, dtype=L.int64), 3, 2),
        lambda L, F: F.unfold(L.ones(1, 2, 4, 4, dtype=L.int64), 2),
    ]:
        assert_same_error(fn)


# ---- LazyLinear ----


@pytest.mark.parametrize("shape,bias", [((2, 3), True), ((2, 3, 5), False)])
def test_lazy_linear_materializes_like_torch(shape, bias):
    outs = []
    for lib, _ in LIBS:
        lib.manual_seed(0)
        m = lib.nn.LazyLinear(4, bias=bias)
        before = (repr(m), repr(m.weight), m.has_uninitialized_params())
        x = lib.randn(*shape)
        y = m(x)
        outs.append((before, repr(m), type(m).__name__, m.in_features, y, m.state_dict()))
    (be, re_, ne, ie, ye, sde), (bt, rt, nt, it, yt, sdt) = outs
    assert be == bt and re_ == rt and ne == nt == "Linear" and ie == it == shape[-1]
    close(ye, yt, 1e-6)
    assert list(sde) == list(sdt)
    for k in sdt:
        np.testing.assert_array_equal(sde[k].numpy(), sdt[k].numpy())
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        _ = ember.nn.LazyLinear(3).weight.shape
