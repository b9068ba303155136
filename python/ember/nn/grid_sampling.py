"""F.affine_grid and F.grid_sample (spatial transformer networks), composed from
differentiable ops so gradients reach both the image and the sampling grid.

grid_sample reads each output pixel at a point of the input given in [-1, 1]
coordinates: the point is mapped to pixel units (the corner pixels' centres or
their outer edges, per align_corners), moved back inside by the padding mode,
and the neighbouring pixels are gathered and weighted (bilinear) or the nearest
one is taken. Values and gradients are torch's; the graph holds the gathers
and arithmetic where torch records GridSampler2DBackward0.
"""

import warnings

from .. import _C

_MODES = ("bilinear", "nearest")
_PADDINGS = ("zeros", "border", "reflection")


def affine_grid(theta, size, align_corners=None):
    """Sampling points theta @ [x, y, 1] for every pixel of an N x C x H x W output."""
    align_corners = _default_align_corners(align_corners)
    if not theta.is_floating_point():
        raise ValueError(
            f"Expected theta to have floating point type, but got {theta.dtype}".replace(
                "ember.", "torch."
            )
        )
    if len(size) != 4:
        raise NotImplementedError(
            "affine_grid only supports 4D sizes, for 2D affine transformations."
        )
    if theta.dim() != 3 or tuple(theta.shape[-2:]) != (2, 3):
        raise ValueError(
            f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. "
            f"Got {theta.shape}."
        )
    n, _, h, w = size
    xs = _base_coordinates(w, align_corners, theta.dtype)
    ys = _base_coordinates(h, align_corners, theta.dtype)
    base = _C.stack(
        [
            xs.reshape(1, w).expand(h, w),
            ys.reshape(h, 1).expand(h, w),
            _C.ones(h, w, dtype=theta.dtype),
        ],
        dim=-1,
    )
    grid = base.reshape(1, h * w, 3).matmul(theta.transpose(1, 2))
    return grid.reshape(n, h, w, 2)


def _default_align_corners(align_corners):
    if align_corners is None:
        warnings.warn(
            "Default grid_sample and affine_grid behavior has changed to align_corners=False "
            "since 1.3.0. Please specify align_corners=True if the old behavior is desired. See "
            "the documentation of grid_sample for details.",
            stacklevel=3,
        )
    return bool(align_corners)


def _base_coordinates(steps, align_corners, dtype):
    if steps <= 1:  # one pixel sits at the centre
        return _C.zeros(max(steps, 0), dtype=dtype)
    points = _C.linspace(-1.0, 1.0, steps, dtype=dtype)
    return points if align_corners else points * ((steps - 1) / steps)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    if mode not in _MODES:
        raise ValueError(
            f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in _PADDINGS:
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
            f"'reflection', but got: '{padding_mode}'"
        )
    if input.dim() != 4 or grid.dim() != 4 or grid.shape[-1] != 2:
        raise RuntimeError(
            "grid_sampler(): expected 4D input and grid with same number of dimensions, but got "
            f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
        )
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(
            "grid_sampler(): expected grid and input to have same batch size, but got input "
            f"with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
        )
    align_corners = _default_align_corners(align_corners)
    n, c, h, w = input.shape
    x = _source_coordinate(grid[..., 0], w, padding_mode, align_corners)
    y = _source_coordinate(grid[..., 1], h, padding_mode, align_corners)
    flat = input.reshape(n, c, h * w)
    if mode == "nearest":
        x, y = x.round(), y.round()  # half to even, as torch's nearbyint
        picked = _gather(flat, x, y, h, w, c) + _zero_linked_to(x + y).reshape(n, 1, -1)
        return picked.reshape(n, c, *grid.shape[1:3])
    x0, y0 = x.floor(), y.floor()
    wx, wy = x - x0, y - y0
    out = 0
    for dx, dy, weight in (
        (0, 0, (1 - wx) * (1 - wy)),
        (1, 0, wx * (1 - wy)),
        (0, 1, (1 - wx) * wy),
        (1, 1, wx * wy),
    ):
        out = out + _gather(flat, x0 + dx, y0 + dy, h, w, c) * weight.reshape(n, 1, -1)
    return out.reshape(n, c, *grid.shape[1:3])


def _zero_linked_to(t):
    """Zeros whose gradient reaches t (as zeros): the nearest mode's grid gets a
    zero gradient, as torch's, instead of none. Infinities are masked first."""
    finite = _C.where(t - t == 0, t, _C.zeros_like(t))
    return finite - finite.detach()


def _source_coordinate(coord, size, padding_mode, align_corners):
    """[-1, 1] -> pixel units, then moved inside as the padding mode says."""
    if align_corners:
        pixel = (coord + 1) / 2 * (size - 1)
    else:
        pixel = ((coord + 1) * size - 1) / 2
    if padding_mode == "border":
        return pixel.clamp(0, size - 1)
    if padding_mode == "reflection":
        if align_corners:
            pixel = _reflect(pixel, 0, 2 * (size - 1))
        else:
            pixel = _reflect(pixel, -1, 2 * size - 1)
        return pixel.clamp(0, size - 1)
    return pixel


def _reflect(coord, twice_low, twice_high):
    """coord folded back and forth into [low, high] (halves of the twice_* bounds)."""
    if twice_low == twice_high:
        return _C.zeros_like(coord)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    distance = (coord - low).abs()
    extra = distance.fmod(span)
    flips = (distance / span).floor()
    even = flips.fmod(2) == 0
    return _C.where(even, extra + low, span - extra + low)


def _gather(flat, x, y, h, w, c):
    """flat[n, :, y * w + x] for integer-valued x, y; 0 outside the image."""
    inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    index = (y.clamp(0, h - 1) * w + x.clamp(0, w - 1)).long()
    n = flat.shape[0]
    picked = flat.gather(2, index.reshape(n, 1, -1).expand(n, c, index[0].numel()))
    return picked * inside.reshape(n, 1, -1).to(flat.dtype)
