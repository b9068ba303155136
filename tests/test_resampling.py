"""F.interpolate, nn.Upsample* and pixel shuffling against torch 2.13.0: values,
gradients (first and second order), node names, reprs and errors."""

import warnings

import ember
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from layer_checks import DTYPES, LIBS, assert_same_error, close, rand, run_both

# ---- interpolation ----

INTERP_CASES = [
    # (input shape, kwargs)
    ((2, 3, 4, 5), dict(scale_factor=2)),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="bilinear")),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ((2, 3, 4, 5), dict(size=(7, 3))),
    ((2, 3, 4, 5), dict(size=(7, 3), mode="bilinear")),
    ((2, 3, 4, 5), dict(size=9, mode="bilinear", align_corners=True)),
    ((2, 3, 5, 6), dict(scale_factor=0.5, mode="bilinear")),
    ((2, 3, 5, 6), dict(scale_factor=(1.7, 0.6))),
    ((2, 3, 5, 6), dict(scale_factor=1.7, recompute_scale_factor=True)),
    ((2, 3, 5, 6), dict(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True)),
    ((2, 3, 5, 6), dict(scale_factor=2.3, mode="bilinear")),
    ((2, 3, 1, 1), dict(size=(3, 4), mode="bilinear", align_corners=True)),
    ((2, 3, 7), dict(scale_factor=3)),
    ((2, 3, 7), dict(size=4)),
    ((2, 3, 7), dict(size=12, mode="linear")),
    ((2, 3, 7), dict(scale_factor=1.5, mode="linear", align_corners=True)),
]


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("shape,kw_", INTERP_CASES)
def test_interpolate_matches_torch(shape, kw_, dtype, tol):
    rng = np.random.default_rng(0)
    run_both(lambda lib, F, x: F.interpolate(x, **kw_), [rand(rng, shape, dtype)], tol)


@pytest.mark.parametrize(
    "mode,rank,node",
    [
        ("nearest", 3, "UpsampleNearest1DBackward0"),
        ("nearest", 4, "UpsampleNearest2DBackward0"),
        ("linear", 3, "UpsampleLinear1DBackward0"),
        ("bilinear", 4, "UpsampleBilinear2DBackward0"),
    ],
)
def test_interpolate_nodes_and_double_backward(mode, rank, node):
    rng = np.random.default_rng(0)
    shape = (2, 3, 4, 5)[:rank]
    x = rand(rng, shape)
    res = []
    for lib, F in LIBS:
        xt = lib.tensor(x, requires_grad=True)
        y = F.interpolate(xt, scale_factor=2, mode=mode)
        assert type(y.grad_fn).__name__ == node
        g = lib.tensor(rand(np.random.default_rng(1), tuple(y.shape)), requires_grad=True)
        (gx,) = lib.autograd.grad(y, xt, g, create_graph=True)
        assert type(gx.grad_fn).__name__ == node.replace("Backward0", "BackwardBackward0")
        (gx * gx).sum().backward()
        res.append([gx.detach().numpy(), g.grad.numpy()])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    mode=st.sampled_from(["nearest", "linear", "bilinear"]),
    size=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    out=st.tuples(st.integers(1, 13), st.integers(1, 13)),
    scale=st.tuples(
        st.sampled_from([0.5, 0.7, 1.0, 1.5, 2.0, 2.5, 3.0]),
        st.sampled_from([0.5, 0.7, 1.0, 1.5, 2.0, 2.5, 3.0]),
    ),
    by_scale=st.booleans(),
    recompute=st.booleans(),
    align=st.booleans(),
    double=st.booleans(),
)
def test_interpolate_random_shapes(mode, size, out, scale, by_scale, recompute, align, double):
    dims = 2 if mode == "bilinear" or (mode == "nearest" and size[0] % 2) else 1
    kw_ = {"mode": mode}
    if by_scale:
        if any(int(size[i] * scale[i]) < 1 for i in range(dims)):
            return  # torch refuses; covered by the error tests
        kw_["scale_factor"] = list(scale[:dims])
        if recompute:
            kw_["recompute_scale_factor"] = True
    else:
        kw_["size"] = list(out[:dims])
    if mode != "nearest":
        kw_["align_corners"] = align
    dtype, tol = (np.float64, 1e-11) if double else (np.float32, 1e-5)
    x = rand(np.random.default_rng(0), (2, 2, *size[:dims]), dtype)
    run_both(lambda lib, F, x: F.interpolate(x, **kw_), [x], tol)


INTERP_ERRORS = [
    lambda L, F: F.interpolate(L.randn(2, 3, 4, 5)),
    lambda L, F: F.interpolate(L.randn(2, 3, 4, 5), size=3, scale_factor=2),
    lambda L, F: F.interpolate(L.randn(2, 3, 4, 5), size=[3]),
    lambda L, F: F.interpolate(L.randn(2, 3, 4, 5), scale_factor=[2, 2, 2]),
    lambda L, F: F.interpolate(L.randn(2, 3, 4, 5), size=3, align_corners=True),
    lambda L, F: F.interpolate(L.randn(2, 3, 4, 5), size=3, recompute_scale_factor=True),
    lambda L, F: F.interpolate(L.randn(2, 3, 4), size=3, mode="bilinear"),
    lambda L, F: F.interpolate(L.randn(2, 3, 4, 5), size=3, mode="linear"),
    lambda L, F: F.interpolate(L.randn(2, 3, 4, 5), size=3, mode="foo"),
    lambda L, F: F.interpolate(L.randn(3, 4), size=3),
    lambda L, F: F.interpolate(L.randn(2, 3, 4, 5), size=0),
    lambda L, F: F.interpolate(L.randn(2, 3, 4, 5), scale_factor=0.1),
    lambda L, F: F.interpolate(L.randn(2, 3, 4), scale_factor=0.1, mode="linear"),
    lambda L, F: F.interpolate(L.randn(2, 3, 4, 5), size=(3.5, 2)),
    lambda L, F: F.interpolate(L.randn(2, 3, 4), size=3, antialias=True, mode="linear"),
    lambda L, F: F.interpolate(L.randn(2, 3), size=(4, 4)),
    lambda L, F: F.interpolate(L.ones(1, 2, 4, dtype=L.int64), scale_factor=2),
    lambda L, F: F.interpolate(L.ones(1, 2, 4, dtype=L.int64), scale_factor=2, mode="linear"),
    lambda L, F: F.interpolate(L.ones(1, 2, 4, 4, dtype=L.int64), size=3, mode="bilinear"),
    lambda L, F: F.interpolate(L.ones(1, 2, 4, 4, dtype=L.bool), scale_factor=2),
    lambda L, F: F.interpolate(
        L.ones(1, 2, 4, 4, dtype=L.int64), size=2, mode="bilinear", antialias=True
    ),
    lambda L, F: F.interpolate(L.randn(1, 2, 4, 4), size=(0, 2), mode="bicubic", antialias=True),
    lambda L, F: F.interpolate(L.randn(1, 2, 4, 4), size=2, mode="lanczos"),
    lambda L, F: F.interpolate(
        L.randn(1, 2, 4, 4), size=2, mode="lanczos", antialias=True, align_corners=True
    ),
    lambda L, F: F.interpolate(L.randn(1, 2, 4), size=2, mode="lanczos", antialias=True),
]


@pytest.mark.parametrize("i", range(len(INTERP_ERRORS)))
def test_interpolate_errors_match_torch(i):
    assert_same_error(INTERP_ERRORS[i])


def test_upsample_modules_reprs_and_values():
    def build(lib):
        nn = lib.nn
        return [
            nn.Upsample(scale_factor=2),
            nn.Upsample(size=(3, 4), mode="bilinear", align_corners=True),
            nn.Upsample(scale_factor=(2, 3)),
            nn.Upsample(scale_factor=1.5, mode="bilinear", recompute_scale_factor=True),
            nn.UpsamplingNearest2d(scale_factor=2),
            nn.UpsamplingBilinear2d(size=5),
            nn.UpsamplingBilinear2d(scale_factor=2),
        ]

    x = rand(np.random.default_rng(0), (2, 3, 4, 5), np.float32)
    for me, mt in zip(build(ember), build(torch)):
        assert repr(me) == repr(mt)
        close(me(ember.tensor(x)), mt(torch.tensor(x)), 1e-5)


# ---- pixel shuffle ----


@pytest.mark.parametrize(
    "shape,factor,op",
    [
        ((2, 8, 3, 4), 2, "pixel_shuffle"),
        ((18, 2, 3), 3, "pixel_shuffle"),
        ((2, 2, 9, 4, 2), 3, "pixel_shuffle"),
        ((2, 3, 4, 6), 2, "pixel_unshuffle"),
        ((3, 6, 9), 3, "pixel_unshuffle"),
        ((2, 3, 4, 6), 1, "pixel_unshuffle"),
    ],
)
def test_pixel_shuffle_matches_torch(shape, factor, op):
    x = rand(np.random.default_rng(0), shape)
    node = "PixelShuffleBackward0" if op == "pixel_shuffle" else "PixelUnshuffleBackward0"
    run_both(lambda lib, F, x: getattr(F, op)(x, factor), [x], 1e-12, node=node)
    res = []
    for lib, F in LIBS:
        xt = lib.tensor(x, requires_grad=True)
        y = getattr(F, op)(xt, factor)
        g = lib.ones(tuple(y.shape), dtype=lib.float64, requires_grad=True)
        (gx,) = lib.autograd.grad(y, xt, g, create_graph=True)
        assert type(gx.grad_fn).__name__ != node
        (gx * gx * xt).sum().backward()
        res.append([gx.detach().numpy(), g.grad.numpy(), xt.grad.numpy()])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_pixel_shuffle_modules_and_errors():
    for me, mt in zip(
        [ember.nn.PixelShuffle(2), ember.nn.PixelUnshuffle(3)],
        [torch.nn.PixelShuffle(2), torch.nn.PixelUnshuffle(3)],
    ):
        assert repr(me) == repr(mt)
    for fn in [
        lambda L, F: F.pixel_shuffle(L.randn(2, 8, 3, 4), 3),
        lambda L, F: F.pixel_shuffle(L.randn(3, 4), 2),
        lambda L, F: F.pixel_shuffle(L.randn(2, 8, 3, 4), 0),
        lambda L, F: F.pixel_unshuffle(L.randn(2, 8, 3, 4), 3),
        lambda L, F: F.pixel_unshuffle(L.randn(2, 8, 4, 3), 2),
        lambda L, F: F.pixel_unshuffle(L.randn(2, 8, 4, 4), -1),
        lambda L, F: F.pixel_unshuffle(L.randn(4, 4), 2),
    ]:
        assert_same_error(fn)


@pytest.mark.parametrize(
    "name,kw_",
    [
        ("upsample", dict(scale_factor=2)),
        ("upsample", dict(size=5, mode="bilinear", align_corners=True)),
        ("upsample_nearest", dict(size=(4, 7))),
        ("upsample_bilinear", dict(scale_factor=2)),
    ],
)
def test_deprecated_upsample_functions_warn_like_torch(name, kw_):
    x = rand(np.random.default_rng(0), (2, 3, 4, 5))
    outs = []
    for lib, F in LIBS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = getattr(F, name)(lib.tensor(x), **kw_)
        outs.append((y, [(w.category, str(w.message)) for w in caught]))
    close(outs[0][0], outs[1][0], 1e-12)
    assert outs[0][1] == outs[1][1]
    assert len(outs[0][1]) == 1


@pytest.mark.parametrize(
    "shape,size", [((1, 2, 7), 3), ((2, 3, 5, 7), (2, 3)), ((1, 1, 4, 4), (8, 6))]
)
def test_area_mode_averages_source_windows_like_torch(shape, size):
    def run(lib):
        x = lib.tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)
        out = lib.nn.functional.interpolate(x, size=size, mode="area")
        (
            out * lib.arange(float(out.numel()), dtype=lib.float64).reshape(out.shape)
        ).sum().backward()
        return out.detach().numpy(), x.grad.numpy(), type(out.grad_fn).__name__

    (eo, eg, en), (to, tg, tn) = run(ember), run(torch)
    np.testing.assert_allclose(eo, to, rtol=1e-12)
    np.testing.assert_allclose(eg, tg, rtol=1e-12)
    assert en == tn


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mode=st.sampled_from(["trilinear", "bicubic"]),
    align_corners=st.booleans(),
    by_scale=st.booleans(),
    sizes=st.lists(st.integers(1, 7), min_size=3, max_size=3),
    scales=st.lists(st.sampled_from([0.5, 0.7, 1.0, 1.5, 2.0, 3.0]), min_size=3, max_size=3),
    seed=st.integers(0, 100),
)
def test_trilinear_and_bicubic_match_torch(mode, align_corners, by_scale, sizes, scales, seed):
    rank = 3 if mode == "trilinear" else 2
    shape = (2, 2, *[s + 1 for s in sizes[:rank]])
    kw = {"mode": mode, "align_corners": align_corners}
    if by_scale:
        kw["scale_factor"] = tuple(scales[:rank])
    else:
        kw["size"] = tuple(sizes[:rank])
    data = np.random.default_rng(seed).standard_normal(shape)

    def run(lib):
        x = lib.tensor(data, requires_grad=True)
        out = lib.nn.functional.interpolate(x, **kw)
        (
            out * lib.arange(float(out.numel()), dtype=lib.float64).reshape(out.shape)
        ).sum().backward()
        return out.detach().numpy(), x.grad.numpy()

    (eo, eg), (to, tg) = run(ember), run(torch)
    assert eo.shape == to.shape
    np.testing.assert_allclose(eo, to, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(eg, tg, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode,shape", [("trilinear", (1, 1, 2, 2, 2)), ("bicubic", (1, 1, 2, 2))])
def test_trilinear_and_bicubic_refuse_integers_like_torch(mode, shape):
    def call(lib, F):
        F.interpolate(lib.ones(shape, dtype=lib.int64), scale_factor=2, mode=mode)

    assert_same_error(call)


def test_upsample_module_runs_bicubic_like_torch():
    data = np.random.default_rng(7).standard_normal((1, 3, 4, 4)).astype(np.float32)
    e = ember.nn.Upsample(scale_factor=2, mode="bicubic", align_corners=False)(ember.tensor(data))
    t = torch.nn.Upsample(scale_factor=2, mode="bicubic", align_corners=False)(torch.tensor(data))
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-5, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    mode=st.sampled_from(["nearest", "nearest-exact"]),
    spatial=st.lists(st.integers(1, 7), min_size=1, max_size=3),
    data=st.data(),
)
def test_nearest_exact_and_5d_nearest_match_torch(mode, spatial, data):
    """Values, gradients (index sums) and errors, by size or by scale factor."""
    dims = len(spatial)
    if data.draw(st.booleans()):
        kw = {"size": data.draw(st.lists(st.integers(0, 12), min_size=dims, max_size=dims))}
    else:
        choices = st.sampled_from([0.34, 0.5, 1.0, 1.5, 2.0, 2.7, 3.0])
        kw = {"scale_factor": data.draw(st.lists(choices, min_size=dims, max_size=dims))}
    array = np.random.default_rng(dims).normal(size=(2, 3, *spatial))
    results = []
    for lib in (ember, torch):
        x = lib.tensor(array, requires_grad=True)
        try:
            y = lib.nn.functional.interpolate(x, mode=mode, **kw)
        except RuntimeError as error:
            results.append(str(error))
            continue
        weights = lib.tensor(np.arange(y.numel(), dtype=np.float64).reshape(tuple(y.shape)))
        (y * weights).sum().backward()
        results.append((y.detach().numpy(), x.grad.numpy()))
    if isinstance(results[1], str):
        assert results[0] == results[1]
        return
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)


# Antialiased resizing (Note [Antialiased resizing]). An output width of 1 with a
# resized height is left out of the torch comparison: torch 2.13 gives every row
# the first row's value there (docs/compatibility.md).
AA_SHAPES = [
    ((8, 8), (3, 5)),
    ((32, 24), (7, 9)),
    ((10, 10), (10, 4)),
    ((5, 7), (11, 13)),
    ((64, 48), (17, 33)),
    ((9, 9), (1, 3)),
    ((6, 9), (6, 9)),
]


AA_NODES = {
    "bilinear": "UpsampleBilinear2DAaBackward0",
    "bicubic": "UpsampleBicubic2DAaBackward0",
    "lanczos": "UpsampleLanczos2DAaBackward0",
}


@pytest.mark.parametrize(
    "mode,align_corners",
    # torch refuses align_corners with lanczos (INTERP_ERRORS checks the error)
    [(mode, c) for mode in AA_NODES for c in (False, True) if not (mode == "lanczos" and c)],
)
@pytest.mark.parametrize("shapes", AA_SHAPES)
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_antialiased_resize_matches_torch(mode, align_corners, shapes, dtype, tol):
    (h, w), size = shapes
    node = AA_NODES[mode]
    run_both(
        lambda L, F, x: F.interpolate(
            x, size=size, mode=mode, align_corners=align_corners, antialias=True
        ),
        [rand(np.random.default_rng(h * w), (2, 3, h, w), dtype)],
        tol,
        node=node,
    )


@pytest.mark.parametrize("scale", [0.5, 0.3, 2.0, 1.7])
@pytest.mark.parametrize("recompute", [None, True])
def test_antialiased_resize_by_scale_matches_torch(scale, recompute):
    data = np.random.default_rng(3).standard_normal((1, 2, 20, 15)).astype(np.float32)
    outs = [
        lib.nn.functional.interpolate(
            lib.tensor(data),
            scale_factor=scale,
            mode="bilinear",
            antialias=True,
            recompute_scale_factor=recompute,
        ).numpy()
        for lib in (ember, torch)
    ]
    assert outs[0].shape == outs[1].shape
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", list(AA_NODES))
@pytest.mark.parametrize(
    "shapes", [((37, 53), (12, 20)), ((16, 16), (40, 7)), ((224, 200), (112, 96))]
)
def test_antialiased_resize_of_uint8_images_is_torchs_bit_for_bit(mode, shapes):
    (h, w), size = shapes
    image = np.random.default_rng(w).integers(0, 256, (2, 3, h, w)).astype(np.uint8)
    outs = [
        lib.nn.functional.interpolate(lib.tensor(image), size=size, mode=mode, antialias=True)
        for lib in (ember, torch)
    ]
    assert outs[0].dtype == ember.uint8
    np.testing.assert_array_equal(outs[0].numpy(), outs[1].numpy())


def test_antialiased_resize_to_one_column_resizes_every_row():
    # torch's kernel repeats row 0 here; resizing the transposed image in torch
    # (an output height of 1 is fine there) gives the reference.
    data = np.random.default_rng(5).standard_normal((1, 2, 9, 9))
    got = ember.nn.functional.interpolate(
        ember.tensor(data), size=(3, 1), mode="bilinear", antialias=True
    )
    want = torch.nn.functional.interpolate(
        torch.tensor(data).transpose(2, 3), size=(1, 3), mode="bilinear", antialias=True
    ).transpose(2, 3)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
