"""3-D convolution and pooling over (N, C, D, H, W) volumes, composed from the
2-D kernels.

A 3-D window is a stack of 2-D windows, one per depth tap. conv3d runs one
conv2d per depth tap over every output depth at once (the planes the tap sees
are batched) and sums them; max_pool3d takes each plane's 2-D maximum, then the
maximum over the depth taps; avg_pool3d sums 2-D window sums the same way and
divides by torch's divisor; conv_transpose3d runs one conv_transpose2d per
depth tap over every input depth and places its planes along the output depth.
Values and gradients are torch's; the graph holds
the 2-D nodes (ConvolutionBackward0, MaxPool2DWithIndicesBackward0, ...) where
torch records one 3-D node.
"""

import math

from .. import _C
from .conv import _conv, _ConvNd, _ConvTransposeNd, _ntuple, conv2d, conv_transpose2d
from .modules import Module
from .pooling import avg_pool2d, max_pool2d


def _depth_planes(x, first, stride, count):
    """Depths first, first + stride, ... (count of them), batched as 2-D images."""
    n, c, _, h, w = x.shape
    planes = x[:, :, first : first + stride * (count - 1) + 1 : stride]
    return planes.transpose(1, 2).reshape(n * count, c, h, w)


def _from_planes(y, n, count):
    """The inverse of _depth_planes for a result of (n * count, c, h, w)."""
    return y.reshape(n, count, *y.shape[1:]).transpose(1, 2).contiguous()


def _conv3d_planes(input, weight, bias, stride, padding, dilation, groups):
    stride, padding, dilation = (_ntuple(v, 3) for v in (stride, padding, dilation))
    _check_conv3d(input, weight, groups, padding, dilation)
    input = _pad_depth(input, padding[0], padding[0], 0.0)
    n, depth, taps = input.shape[0], input.shape[2], weight.shape[2]
    out_depth = (depth - dilation[0] * (taps - 1) - 1) // stride[0] + 1
    total = None
    for tap in range(taps):
        planes = _depth_planes(input, tap * dilation[0], stride[0], out_depth)
        y = conv2d(planes, weight[:, :, tap], None, stride[1:], padding[1:], dilation[1:], groups)
        total = y if total is None else total + y
    out = _from_planes(total, n, out_depth)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1, 1)


def _check_conv3d(input, weight, groups, padding, dilation):
    if weight.dim() != 5:
        raise RuntimeError(
            f"Expected 5-dimensional input for 5-dimensional weight {list(weight.shape)}, but "
            f"got {input.dim()}-dimensional input of size {list(input.shape)} instead"
        )
    if input.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
            f"input{list(input.shape)} to have {weight.shape[1] * groups} channels, but got "
            f"{input.shape[1]} channels instead"
        )
    padded = [input.shape[2 + i] + 2 * padding[i] for i in range(3)]
    kernel = [dilation[i] * (weight.shape[2 + i] - 1) + 1 for i in range(3)]
    if any(k > p for k, p in zip(kernel, padded)):
        raise RuntimeError(
            "Calculated padded input size per channel: ("
            + " x ".join(map(str, padded))
            + "). Kernel size: ("
            + " x ".join(map(str, kernel))
            + "). Kernel size can't be greater than actual input size"
        )


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(
        "conv3d", 3, input, weight, bias, stride, padding, dilation, groups, _conv3d_planes
    )


class Conv3d(_ConvNd):
    _dims = 3
    _functional = staticmethod(conv3d)


# ---- transposed convolution ----


def _spread_depth(y, n, depth, stride, front, total):
    """(n * depth, c, h, w) planes placed at depths front + i * stride of a
    (n, total, c, h, w) volume, zeros elsewhere."""
    planes = y.reshape(n, depth, *y.shape[1:])
    rest = tuple(planes.shape[2:])
    if stride > 1:  # a stride leaves stride - 1 empty depths after each plane
        gaps = _C.zeros((n, depth, stride - 1, *rest), dtype=y.dtype)
        planes = _C.cat([planes.unsqueeze(2), gaps], 2).reshape(n, depth * stride, *rest)
        planes = planes[:, : (depth - 1) * stride + 1]
    back = total - front - planes.shape[1]
    parts = [planes]
    if front:
        parts.insert(0, _C.zeros((n, front, *rest), dtype=y.dtype))
    if back:
        parts.append(_C.zeros((n, back, *rest), dtype=y.dtype))
    return _C.cat(parts, 1) if len(parts) > 1 else planes


def conv_transpose3d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """One conv_transpose2d per depth tap over every input depth at once; each tap's
    planes land at depths i * stride + tap * dilation, and the padding is cropped."""
    if input.dim() not in (4, 5):
        raise RuntimeError(
            "Expected 4D (unbatched) or 5D (batched) input to conv_transpose3d, but got input "
            f"of size: {list(input.shape)}"
        )
    if weight.dim() != 5:
        raise RuntimeError(
            f"Expected 5-dimensional input for 5-dimensional weight {list(weight.shape)}, but "
            f"got {input.dim()}-dimensional input of size {list(input.shape)} instead"
        )
    batched = input.dim() == 5
    x = input if batched else input.unsqueeze(0)
    stride, padding, dilation = (_ntuple(v, 3) for v in (stride, padding, dilation))
    output_padding = _ntuple(output_padding, 3)
    if any(output_padding[i] >= max(stride[i], dilation[i]) for i in range(3)):
        sizes = " ".join(
            f"{name}_{axis}: {value}"
            for name, values in (
                ("output_padding", output_padding),
                ("stride", stride),
                ("dilation", dilation),
            )
            for axis, value in zip(("depth", "height", "width"), values)
        )
        raise RuntimeError(
            f"output padding must be smaller than either stride or dilation, but got {sizes}"
        )
    n, depth, taps = x.shape[0], x.shape[2], weight.shape[2]
    full = (depth - 1) * stride[0] + dilation[0] * (taps - 1) + 1 + output_padding[0]
    planes = x.transpose(1, 2).reshape(n * depth, *x.shape[1:2], *x.shape[3:])
    total = None
    for tap in range(taps):
        y = conv_transpose2d(
            planes,
            weight[:, :, tap],
            None,
            stride[1:],
            padding[1:],
            output_padding[1:],
            groups,
            dilation[1:],
        )
        y = _spread_depth(y, n, depth, stride[0], tap * dilation[0], full)
        total = y if total is None else total + y
    out = total[:, padding[0] : full - padding[0]].transpose(1, 2)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return out if batched else out.squeeze(0)


class ConvTranspose3d(_ConvTransposeNd):
    _dims = 3
    _functional = staticmethod(conv_transpose3d)


# ---- pooling ----


def _pool_geometry(input, kernel_size, stride, padding, dilation, ceil_mode):
    k = _ntuple(kernel_size, 3)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else stride
    s, p, d = _ntuple(s, 3), _ntuple(padding, 3), _ntuple(dilation, 3)
    if input.dim() not in (4, 5):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    for i in range(3):
        if p[i] > k[i] // 2:
            raise RuntimeError(
                "pad should be at most half of effective kernel size, but got pad="
                f"{p[i]}, kernel_size={k[i]} and dilation={d[i]}"
            )
    return k, s, p, d


def _out_size(size, k, s, p, d, ceil_mode):
    span = size + 2 * p - d * (k - 1) - 1
    out = (math.ceil(span / s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:  # the last window must start inside
        out -= 1
    return out


def max_pool3d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    k, s, p, d = _pool_geometry(input, kernel_size, stride, padding, dilation, ceil_mode)
    batched = input.dim() == 5
    x = input if batched else input.unsqueeze(0)
    n, depth = x.shape[0], x.shape[2]
    outs = [_out_size(x.shape[2 + i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(3)]
    _check_output_size(x, outs)
    out_depth = outs[0]
    reach = (out_depth - 1) * s[0] + d[0] * (k[0] - 1) + 1  # depths the windows cover
    x = _pad_depth(x, p[0], reach - depth - p[0], -math.inf)
    best = best_index = None
    for tap in range(k[0]):
        planes = _depth_planes(x, tap * d[0], s[0], out_depth)
        if not return_indices:
            y = max_pool2d(planes, k[1:], s[1:], p[1:], d[1:], ceil_mode=ceil_mode)
            best = y if best is None else _first_max(best, y)
            continue
        y, plane_index = max_pool2d(planes, k[1:], s[1:], p[1:], d[1:], ceil_mode, True)
        index = _volume_index(plane_index, tap * d[0] - p[0], s[0], out_depth, input)
        if best is None:
            best, best_index = y, index
        else:
            take = (y > best) | (y != y)  # _first_max's choice
            best, best_index = _C.where(take, y, best), _C.where(take, index, best_index)
    out = _from_planes(best, n, out_depth)
    if not return_indices:
        return out if batched else out.squeeze(0)
    indices = _from_planes(best_index, n, out_depth)
    return (out, indices) if batched else (out.squeeze(0), indices.squeeze(0))


def _volume_index(plane_index, first_depth, stride, out_depth, input):
    """Flat indices into each (D, H, W) volume, as torch's, from indices into the
    (H, W) planes that _depth_planes batches: plane b * out_depth + o lies at depth
    o * stride + first_depth."""
    height, width = input.shape[-2], input.shape[-1]
    planes = plane_index.shape[0]
    depth = _C.arange(planes) % out_depth * stride + first_depth
    return depth.reshape(planes, 1, 1, 1) * (height * width) + plane_index


def _check_output_size(x, outs):
    if min(outs) < 1:
        given = "x".join(map(str, x.shape[1:]))
        calculated = "x".join(map(str, [x.shape[1], *outs]))
        raise RuntimeError(
            f"Given input size: ({given}). Calculated output size: ({calculated}). "
            "Output size is too small"
        )


def _first_max(best, candidate):
    """Element-wise max keeping the earlier tap on ties (torch's first maximum)
    and a NaN wherever one appears."""
    take = (candidate > best) | (candidate != candidate)
    return _C.where(take, candidate, best)


def _pad_depth(x, front, back, value):
    """x with `front` and `back` planes of `value` around its depth."""
    if front <= 0 and back <= 0:
        return x
    from .functional import pad

    return pad(x, (0, 0, 0, 0, max(front, 0), max(back, 0)), value=value)


def avg_pool3d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    k, s, p, _ = _pool_geometry(input, kernel_size, stride, padding, 1, ceil_mode)
    batched = input.dim() == 5
    x = input if batched else input.unsqueeze(0)
    n, sizes = x.shape[0], x.shape[2:]
    if any(sizes[i] + 2 * p[i] < k[i] for i in range(3)):
        raise RuntimeError(
            f"input image (T: {sizes[0]} H: {sizes[1]} W: {sizes[2]}) smaller than kernel "
            f"size (kT: {k[0]} kH: {k[1]} kW: {k[2]})"
        )
    outs = [_out_size(sizes[i], k[i], s[i], p[i], 1, ceil_mode) for i in range(3)]
    _check_output_size(x, outs)
    reach = (outs[0] - 1) * s[0] + k[0]  # depths the windows cover, padding included
    x = _pad_depth(x, p[0], reach - sizes[0] - p[0], 0.0)
    sums = None
    for tap in range(k[0]):
        planes = _depth_planes(x, tap, s[0], outs[0])
        y = avg_pool2d(planes, k[1:], s[1:], p[1:], ceil_mode, True, 1)  # window sums
        sums = y if sums is None else sums + y
    sums = _from_planes(sums, n, outs[0])
    if divisor_override:
        out = sums / divisor_override
    else:
        out = sums / _divisors(sizes, outs, k, s, p, count_include_pad, x.dtype)
    return out if batched else out.squeeze(0)


def _window_counts(size, out, k, s, p, count_include_pad):
    """Per output position along one dim, the elements torch divides by: the window
    clipped to the padded extent, and to the input without count_include_pad."""
    counts = []
    for o in range(out):
        start, end = o * s - p, min(o * s - p + k, size + p)
        if not count_include_pad:
            start, end = max(start, 0), min(end, size)
        counts.append(end - start)
    return counts


def _divisors(sizes, outs, k, s, p, count_include_pad, dtype):
    depth, height, width = (
        _C.tensor(
            _window_counts(sizes[i], outs[i], k[i], s[i], p[i], count_include_pad), dtype=dtype
        )
        for i in range(3)
    )
    return depth.reshape(-1, 1, 1) * height.reshape(1, -1, 1) * width.reshape(1, 1, -1)


def _adaptive_bins(size, out):
    """torch's adaptive windows: output i reads [floor(i*size/out), ceil((i+1)*size/out))."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def _adaptive_sizes3(input, output_size):
    sizes = list(output_size) if isinstance(output_size, (list, tuple)) else [output_size] * 3
    if len(sizes) != 3:
        raise RuntimeError("adaptive_avg_pool3d: output_size must be 3")
    return [input.shape[-3 + i] if s is None else s for i, s in enumerate(sizes)]


def _adaptive_pool3d(input, output_size, reduce_depth, pool2d, name):
    if input.dim() not in (4, 5):
        raise RuntimeError(f"{name}(): Expected 4D or 5D tensor, but got {list(input.shape)}")
    batched = input.dim() == 5
    x = input if batched else input.unsqueeze(0)
    out_d, out_h, out_w = _adaptive_sizes3(x, output_size)
    n, depth = x.shape[0], x.shape[2]
    planes = _from_planes(pool2d(_depth_planes(x, 0, 1, depth), (out_h, out_w)), n, depth)
    bins = [reduce_depth(planes[:, :, a:b]) for a, b in _adaptive_bins(depth, out_d)]
    out = _C.stack(bins, dim=2)
    return out if batched else out.squeeze(0)


def adaptive_avg_pool3d(input, output_size):
    from .pooling import adaptive_avg_pool2d

    return _adaptive_pool3d(
        input, output_size, lambda t: t.mean(2), adaptive_avg_pool2d, "adaptive_avg_pool3d"
    )


def adaptive_max_pool3d(input, output_size, return_indices=False):
    from .pooling import adaptive_max_pool2d

    if return_indices:
        return _adaptive_max_pool3d_with_indices(input, output_size)
    return _adaptive_pool3d(
        input, output_size, lambda t: t.max(2)[0], adaptive_max_pool2d, "adaptive_max_pool3d"
    )


def _adaptive_max_pool3d_with_indices(input, output_size):
    """Each depth bin keeps its planes' first maximum (a NaN wins), with torch's flat
    (D, H, W) index: depth * H * W plus the index within the plane."""
    from .pooling import adaptive_max_pool2d

    if input.dim() not in (4, 5):
        raise RuntimeError(
            f"adaptive_max_pool3d(): Expected 4D or 5D tensor, but got {list(input.shape)}"
        )
    batched = input.dim() == 5
    x = input if batched else input.unsqueeze(0)
    out_d, out_h, out_w = _adaptive_sizes3(x, output_size)
    n, depth, plane = x.shape[0], x.shape[2], x.shape[3] * x.shape[4]
    values, within = adaptive_max_pool2d(
        _depth_planes(x, 0, 1, depth), (out_h, out_w), return_indices=True
    )
    values, within = _from_planes(values, n, depth), _from_planes(within, n, depth)
    outs, indices = [], []
    for first, end in _adaptive_bins(depth, out_d):
        best, best_index = values[:, :, first], within[:, :, first] + first * plane
        for d in range(first + 1, end):
            y = values[:, :, d]
            take = (y > best) | (y != y)
            best = _C.where(take, y, best)
            best_index = _C.where(take, within[:, :, d] + d * plane, best_index)
        outs.append(best)
        indices.append(best_index)
    out, index = _C.stack(outs, dim=2), _C.stack(indices, dim=2)
    return (out, index) if batched else (out.squeeze(0), index.squeeze(0))


class AdaptiveAvgPool3d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return adaptive_avg_pool3d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool3d(AdaptiveAvgPool3d):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):
        return adaptive_max_pool3d(input, self.output_size, self.return_indices)


class MaxPool3d(Module):
    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):
        return max_pool3d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )

    def extra_repr(self):
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool3d(Module):
    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        return avg_pool3d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
