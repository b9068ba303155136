"""Resizing layers: F.interpolate (nearest and linear C++ kernels with torch's
nodes; area, trilinear and bicubic composed), pixel shuffling and their modules."""

import math
import numbers
import warnings

import numpy as np

from .. import _C
from .._dtype_info import TYPE_NAMES
from ..autograd.function import Function
from .modules import Module
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

_AREA_POOLS = {3: adaptive_avg_pool1d, 4: adaptive_avg_pool2d}

_LINEAR_MODES = "linear | bilinear | bicubic | trilinear"
_ALL_MODES = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"


def _check_int_sizes(size):
    items = size if isinstance(size, (list, tuple)) else [size]
    if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in items):
        kinds = [type(v) for v in items]
        raise TypeError(
            "expected size to be one of int or Tuple[int] or Tuple[int, int] or "
            f"Tuple[int, int, int], but got size with types {kinds}"
        )


def _spatial_values(value, dims, input, mismatch):
    """`value` repeated over the spatial dims, or checked against their number."""
    if not isinstance(value, (list, tuple)):
        return [value] * dims
    if len(value) != dims:
        raise ValueError(mismatch(list(input.shape[2:]), value))
    return list(value)


def _size_mismatch(spatial, size):
    return (
        "Input and output must have the same number of spatial dimensions, but got input with "
        f"spatial dimensions of {spatial} and output size of {size}. Please provide input "
        "tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format."
    )


def _scale_mismatch(spatial, scale):
    return (
        "Input and scale_factor must have the same number of spatial dimensions, but got input "
        f"with spatial dimensions of {spatial} and scale_factor of shape {scale}. Please provide "
        "input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) "
        "format."
    )


def _resize_plan(input, size, scale_factor, recompute_scale_factor):
    """(output sizes, scale factors handed to the kernel or None), by torch's rules: a
    size wins as given; scale factors floor the scaled sizes and, unless recomputed,
    also place the samples."""
    dims = input.dim() - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        _check_int_sizes(size)
        sizes = _spatial_values(size, dims, input, _size_mismatch)
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        return [int(s) for s in sizes], None
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    scales = _spatial_values(scale_factor, dims, input, _scale_mismatch)
    scales = [float(s) for s in scales]
    sizes = [math.floor(float(input.shape[2 + i]) * scales[i]) for i in range(dims)]
    return sizes, None if recompute_scale_factor else scales


def interpolate(
    input,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias=False,
):
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: "
                + _LINEAR_MODES
            )
    elif align_corners is None:
        align_corners = False
    sizes, scales = _resize_plan(input, size, scale_factor, recompute_scale_factor)
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.dim() == 4):
        raise ValueError(
            "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires "
            "a 4-D tensor as input"
        )
    rank = input.dim()
    if rank == 4 and mode == "lanczos":
        if align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError("Lanczos mode requires antialias=True")
    kernel_scales = [None] * len(sizes) if scales is None else scales
    if mode == "nearest" and rank in (3, 4):
        return _C._upsample_nearest(input, sizes, kernel_scales)
    if mode in ("nearest", "nearest-exact") and rank in (3, 4, 5):
        return _nearest_by_index(input, sizes, kernel_scales, mode == "nearest-exact")
    if mode == "linear" and rank == 3:
        return _C._upsample_linear(input, sizes, bool(align_corners), kernel_scales)
    if mode == "bilinear" and rank == 4 and not antialias:
        return _C._upsample_linear(input, sizes, bool(align_corners), kernel_scales)
    if mode == "area" and rank in (3, 4):  # the mean over each output's source window
        return _AREA_POOLS[rank](input, sizes)
    if mode == "trilinear" and rank == 5:
        return _separable(input, sizes, kernel_scales, bool(align_corners), _linear_taps)
    if mode == "bicubic" and rank == 4 and not antialias:
        return _separable(input, sizes, kernel_scales, bool(align_corners), _cubic_taps)
    if mode in _AA_FILTERS and antialias:
        return _antialiased(input, sizes, kernel_scales, bool(align_corners), mode)
    needs = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}
    if mode in needs and rank in (3, 4, 5) and rank != needs[mode]:
        raise NotImplementedError(f"Got {rank}D input, but {mode} mode needs {needs[mode]}D input")
    if rank in (3, 4, 5) and mode in _ALL_MODES.split(" | "):
        raise NotImplementedError(
            f"interpolate: mode '{mode}' on a {rank}D input (antialias={antialias}) is not "
            "available in Ember yet"
        )
    raise NotImplementedError(
        f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {rank}D) for the modes: "
        f"{_ALL_MODES} (got {mode})"
    )


def _nearest_by_index(input, sizes, scales, exact):
    """Nearest-neighbour resizing as one index_select per spatial dim, with torch's
    source indices, computed in float32 as its kernel does: floor(o * scale), or
    floor((o + 0.5) * scale) for nearest-exact, clamped to the input."""
    lengths = list(input.shape[2:])
    if min(lengths + list(sizes)) <= 0:
        names = ("D", "H", "W")[-len(sizes) :]
        given = ", ".join(f"{n}: {v}" for n, v in zip(names, lengths))
        wanted = ", ".join(f"{n}: {v}" for n, v in zip(names, sizes))
        joint = " and output " if len(sizes) == 1 else " output "  # torch's wording per rank
        raise RuntimeError(
            "Input and output sizes should be greater than 0, but got input "
            f"({given}){joint}({wanted})"
        )
    out = input
    for i, size in enumerate(sizes):
        length = input.shape[2 + i]
        given = scales[i]
        scale = np.float32(1.0 / given if given is not None and given > 0 else length / size)
        positions = np.arange(size, dtype=np.float32) + np.float32(0.5 if exact else 0.0)
        source = np.minimum(np.floor(positions * scale).astype(np.int64), length - 1)
        if not exact and size == length:
            source = np.arange(size)
        out = out.index_select(2 + i, _C.tensor(source))
    return out


# ---- separable resampling: trilinear and bicubic, one spatial dim at a time ----
#
# Note [Separable resampling]
# A trilinear or bicubic weight is a product of one weight per spatial dim, so
# resizing dim by dim (last dim first, as torch's kernels sum) gives the same
# result: each pass gathers the source positions every output reads
# (index_select, differentiable) and sums them times constant weights. torch
# records one UpsampleTrilinear3DBackward0/UpsampleBicubic2DBackward0 node.

_CUBIC_A = -0.75  # torch's cubic convolution coefficient


def _source_position(out_index, in_size, out_size, scale, align_corners, cubic):
    """Where output position out_index reads in input coordinates (torch's rule)."""
    if align_corners:
        return out_index * ((in_size - 1) / (out_size - 1)) if out_size > 1 else 0.0
    ratio = 1.0 / scale if scale is not None and scale > 0 else in_size / out_size
    position = ratio * (out_index + 0.5) - 0.5
    return position if cubic else max(position, 0.0)


def _linear_taps(in_size, out_size, scale, align_corners):
    taps = [([], []), ([], [])]
    for o in range(out_size):
        x = _source_position(o, in_size, out_size, scale, align_corners, cubic=False)
        x0 = min(int(x), in_size - 1)
        x1 = x0 + (1 if x0 < in_size - 1 else 0)
        t = x - x0
        for (index, weight), (i, w) in zip(taps, ((x0, 1.0 - t), (x1, t))):
            index.append(i)
            weight.append(w)
    return taps


def _cubic_weights(t):
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _cubic_taps(in_size, out_size, scale, align_corners):
    taps = [([], []) for _ in range(4)]
    for o in range(out_size):
        x = _source_position(o, in_size, out_size, scale, align_corners, cubic=True)
        x0 = math.floor(x)
        for k, w in enumerate(_cubic_weights(x - x0)):
            taps[k][0].append(min(max(x0 - 1 + k, 0), in_size - 1))  # border pixels repeat
            taps[k][1].append(w)
    return taps


def _resample_dim(x, dim, out_size, scale, align_corners, taps_of):
    shape = [1] * x.dim()
    shape[dim] = out_size
    out = None
    for index, weight in taps_of(x.shape[dim], out_size, scale, align_corners):
        picked = x.index_select(dim, _C.tensor(index, dtype=_C.int64))
        term = picked * _C.tensor(weight, dtype=x.dtype).reshape(shape)
        out = term if out is None else out + term
    return out


def _separable(input, sizes, scales, align_corners, taps_of):
    if not input.is_floating_point():
        kind = "linear" if taps_of is _linear_taps else "cubic"
        raise NotImplementedError(
            f"\"compute_indices_weights_{kind}\" not implemented for '{TYPE_NAMES[input.dtype]}'"
        )
    out = input
    for i in reversed(range(len(sizes))):
        out = _resample_dim(out, 2 + i, sizes[i], scales[i], align_corners, taps_of)
    return out


# ---- antialiased bilinear, bicubic and lanczos resizing ----
#
# Note [Antialiased resizing]
# With antialias=True a downscaling filter widens with the scale (support
# interp_size / 2 * scale input pixels), so every output averages all the
# input it covers, as PIL's resize does. The weights follow torch's CPU
# kernel term by term, in the input's float type: the centre scale * (i + 0.5),
# the window [center - support + 0.5, center + support + 0.5) cut to the
# input, the filter at (j - center + 0.5) / scale, then normalised to sum 1.
# Floats resize as one weight matrix per spatial dim, width first as torch
# does (two matrix products; one UpsampleBilinear2DAaBackward0 or
# UpsampleBicubic2DAaBackward0 node whose backward is the transposed
# products). uint8 images follow torch's integer kernel: weights in double,
# scaled to int16 at the largest precision that fits, each pass rounded half
# up and clamped to 0..255.


def _triangle(x):
    x = abs(x)
    return x.dtype.type(1.0 - x) if x < 1.0 else x.dtype.type(0.0)


def _keys_cubic(x):  # Keys' cubic convolution, a = -0.5
    a = x.dtype.type(-0.5)
    x = abs(x)
    if x < 1.0:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2.0:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return x.dtype.type(0.0)


def _sinc(x):
    """sin(pi x) / (pi x) in x's float type, pi rounded to that type first."""
    if x == 0.0:
        return x.dtype.type(1.0)
    x = x * x.dtype.type(math.pi)
    return np.sin(x) / x


def _lanczos3(x):
    # sinc(x) sinc(x / 3) for |x| < 3, Pillow's filter as torch computes it:
    # x / 3.0 is a double whatever x's type, so the second factor is double
    # and the product rounds once to x's type.
    x = abs(x)
    if x < 3.0:
        return x.dtype.type(float(_sinc(x)) * float(_sinc(np.float64(x) / 3.0)))
    return x.dtype.type(0.0)


_AA_FILTERS = {"bilinear": (2, _triangle), "bicubic": (4, _keys_cubic), "lanczos": (6, _lanczos3)}


def _aa_weight_matrix(in_size, out_size, scale_arg, align_corners, mode, real):
    """The (out_size, in_size) weights of one dim, computed in `real` (np.float32 or
    np.float64) the way torch's kernel computes them (Note [Antialiased resizing])."""
    interp_size, filter_fn = _AA_FILTERS[mode]
    if align_corners:
        scale = real(in_size - 1) / real(out_size - 1) if out_size > 1 else real(0.0)
    elif scale_arg is not None and scale_arg > 0:
        scale = real(1.0 / scale_arg)
    else:
        scale = real(in_size) / real(out_size)
    wide = scale >= 1.0
    support = real(interp_size * 0.5 * float(scale)) if wide else real(interp_size * 0.5)
    max_taps = math.ceil(support) * 2 + 1
    invscale = real(1.0 / float(scale)) if wide else real(1.0)
    weights = np.zeros((out_size, in_size), dtype=real)
    for i in range(out_size):
        center = real(float(scale) * (i + 0.5))
        first = max(int(float(center - support) + 0.5), 0)
        count = min(int(float(center + support) + 0.5), in_size) - first
        count = min(max(count, 0), max_taps)
        taps = [
            filter_fn(real((float(real(first + j) - center) + 0.5) * float(invscale)))
            for j in range(count)
        ]
        total = real(0.0)
        for w in taps:
            total = real(total + w)
        if total != 0:
            taps = [real(w / total) for w in taps]
        weights[i, first : first + count] = taps
    return weights


def _aa_node(name):
    class Resize(Function):
        _node_name = name

        @staticmethod
        def forward(ctx, input, rows, cols):
            ctx.rows, ctx.cols = rows, cols
            out = input if cols is None else input @ cols.t()
            return out if rows is None else rows @ out

        @staticmethod
        def backward(ctx, grad):
            if ctx.rows is not None:
                grad = ctx.rows.t() @ grad
            if ctx.cols is not None:
                grad = grad @ ctx.cols
            return grad, None, None

    return Resize


_AA_NODES = {
    "bilinear": _aa_node("UpsampleBilinear2DAaBackward0"),
    "bicubic": _aa_node("UpsampleBicubic2DAaBackward0"),
    "lanczos": _aa_node("UpsampleLanczos2DAaBackward0"),
}


def _antialiased(input, sizes, scales, align_corners, mode):
    lengths = list(input.shape[2:])
    if min(lengths + list(sizes)) <= 0:
        raise RuntimeError(
            "Input and output sizes should be greater than 0, but got input "
            f"(H: {lengths[0]}, W: {lengths[1]}) output (H: {sizes[0]}, W: {sizes[1]})"
        )
    if input.dtype == _C.uint8:
        return _antialiased_uint8(input, sizes, scales, align_corners, mode)
    if input.dtype not in (_C.float32, _C.float64):
        raise NotImplementedError(
            f"\"compute_index_ranges_weights\" not implemented for '{TYPE_NAMES[input.dtype]}'"
        )
    real = np.float64 if input.dtype == _C.float64 else np.float32
    matrices = [
        None
        if sizes[i] == lengths[i]  # torch skips a dim whose size does not change
        else _C.tensor(
            _aa_weight_matrix(lengths[i], sizes[i], scales[i], align_corners, mode, real),
            dtype=input.dtype,
        )
        for i in range(2)
    ]
    return _AA_NODES[mode].apply(input, *matrices)


def _antialiased_uint8(input, sizes, scales, align_corners, mode):
    out = input.detach().numpy().astype(np.int64)
    for axis in (3, 2):  # width first, as torch
        length, size = out.shape[axis], sizes[axis - 2]
        if size == length:
            continue
        weights = _aa_weight_matrix(length, size, scales[axis - 2], align_corners, mode, np.float64)
        precision = 0
        while precision < 22 and int(0.5 + weights.max() * (1 << (precision + 1))) < (1 << 15):
            precision += 1
        scaled = weights * (1 << precision)
        fixed = np.where(
            scaled < 0, (-0.5 + scaled).astype(np.int64), (0.5 + scaled).astype(np.int64)
        )
        # float64 products of uint8 by int16 weights sum exactly (far below 2^53)
        rows = np.moveaxis(out, axis, -1).astype(np.float64)
        summed = np.moveaxis((rows @ fixed.T.astype(np.float64)).astype(np.int64), -1, axis)
        out = np.clip((summed + (1 << (precision - 1))) >> precision, 0, 255)
    return _C.tensor(out.astype(np.uint8))


def _deprecated(name):
    warnings.warn(
        f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=3,
    )


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _float_factors(scale_factor):
    if isinstance(scale_factor, tuple):
        return tuple(float(f) for f in scale_factor)
    return float(scale_factor) if scale_factor else None


class Upsample(Module):
    def __init__(
        self,
        size=None,
        scale_factor=None,
        mode="nearest",
        align_corners=None,
        recompute_scale_factor=None,
    ):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        self.scale_factor = _float_factors(scale_factor)
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return interpolate(
            input,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            recompute_scale_factor=self.recompute_scale_factor,
        )

    def extra_repr(self):
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input, upscale_factor):
    return _C._pixel_shuffle(input, int(upscale_factor))


def pixel_unshuffle(input, downscale_factor):
    return _C._pixel_unshuffle(input, int(downscale_factor))


class PixelShuffle(Module):
    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
