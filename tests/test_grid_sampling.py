"""F.affine_grid and F.grid_sample against torch: every mode, padding mode and
align_corners, gradients to the image and through the grid to theta, errors."""

import numpy as np
import pytest
from conftest import capture, ember, torch
from hypothesis import given, settings
from hypothesis import strategies as st


def transform(lib, image, theta, size, **kw):
    x = lib.tensor(image, requires_grad=True)
    t = lib.tensor(theta, requires_grad=True)
    grid = lib.nn.functional.affine_grid(t, size, align_corners=kw.get("align_corners"))
    out = lib.nn.functional.grid_sample(x, grid, **kw)
    (out * lib.arange(float(out.numel()), dtype=lib.float64).reshape(out.shape)).sum().backward()
    return grid.detach().numpy(), out.detach().numpy(), x.grad.numpy(), t.grad.numpy()


@settings(max_examples=40, deadline=None)
@given(
    mode=st.sampled_from(["bilinear", "nearest"]),
    padding_mode=st.sampled_from(["zeros", "border", "reflection"]),
    align_corners=st.booleans(),
    seed=st.integers(0, 10_000),
    out_h=st.integers(1, 6),
    out_w=st.integers(1, 6),
)
def test_transformed_images_and_gradients_match_torch(
    mode, padding_mode, align_corners, seed, out_h, out_w
):
    rng = np.random.default_rng(seed)
    image = rng.standard_normal((2, 3, 5, 4))
    theta = rng.standard_normal((2, 2, 3))  # scales past 1: points leave the image
    kw = {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}
    size = (2, 3, out_h, out_w)
    for e, t in zip(
        transform(ember, image, theta, size, **kw), transform(torch, image, theta, size, **kw)
    ):
        np.testing.assert_allclose(e, t, rtol=1e-9, atol=1e-9)


def test_identity_transform_reproduces_the_image():
    image = np.random.default_rng(1).standard_normal((1, 2, 4, 5))
    theta = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    _, out, _, _ = transform(ember, image, theta, (1, 2, 4, 5), align_corners=False)
    np.testing.assert_allclose(out, image, atol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.nn.functional.grid_sample(
            L.ones(1, 1, 3, 3), L.zeros(1, 2, 2, 2), mode="cubic"
        ),
        lambda L: L.nn.functional.grid_sample(
            L.ones(1, 1, 3, 3), L.zeros(1, 2, 2, 2), padding_mode="wrap"
        ),
        lambda L: L.nn.functional.grid_sample(L.ones(2, 1, 3, 3), L.zeros(1, 2, 2, 2)),
        lambda L: L.nn.functional.affine_grid(L.zeros(1, 3, 3), (1, 1, 2, 2)),
        lambda L: L.nn.functional.affine_grid(L.zeros(1, 2, 3, dtype=L.int64), (1, 1, 2, 2)),
    ],
    ids=["mode", "padding_mode", "batch", "theta_shape", "theta_dtype"],
)
def test_bad_arguments_raise_like_torch(call):
    e, t = capture(call, ember), capture(call, torch)
    assert type(e) is type(t)
    assert str(e).replace("ember", "torch") == str(t)


def test_unset_align_corners_warns_like_torch():
    for lib in (ember, torch):
        with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
            lib.nn.functional.affine_grid(lib.zeros(1, 2, 3), (1, 1, 2, 2))
