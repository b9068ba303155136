"""2-d pooling (C++ ops with torch's nodes), max_pool1d, dropout2d and their modules."""

import warnings

from .. import _C
from .._dtype_info import TYPE_NAMES
from .modules import Dropout, Module


def _pair_list(value):
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value, value]


def max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    stride = (
        None if stride is None or (isinstance(stride, (list, tuple)) and not stride) else stride
    )
    out, indices = _C._max_pool2d_with_indices(
        input,
        _pair_list(kernel_size),
        None if stride is None else _pair_list(stride),
        _pair_list(padding),
        _pair_list(dilation),
        bool(ceil_mode),
    )
    return (out, indices) if return_indices else out


def _single(value, name):
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise RuntimeError(
                f"max_pool1d() argument '{name}' should contain one int (got {len(value)})"
            )
        return value[0]
    return value


def max_pool1d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    # torch views the signal as a (1, L) plane and squeezes that row away afterwards.
    if input.dim() not in (2, 3) or input.shape[-1] == 0:
        raise RuntimeError(
            "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size "
            f"for input, but got:{list(input.shape)}"
        )
    if not return_indices and not input.is_floating_point():
        raise NotImplementedError(
            f"\"max_pool1d_impl\" not implemented for '{TYPE_NAMES[input.dtype]}'"
        )
    k = _single(kernel_size, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else stride
    s = _single(s, "stride")
    out, indices = _C._max_pool2d_with_indices(
        input.unsqueeze(-2),
        [1, k],
        [1, s],
        [0, _single(padding, "padding")],
        [1, _single(dilation, "dilation")],
        bool(ceil_mode),
    )
    out, indices = out.squeeze(-2), indices.squeeze(-2)
    return (out, indices) if return_indices else out


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    stride = (
        None if stride is None or (isinstance(stride, (list, tuple)) and not stride) else stride
    )
    return _C._avg_pool2d(
        input,
        _pair_list(kernel_size),
        None if stride is None else _pair_list(stride),
        _pair_list(padding),
        bool(ceil_mode),
        bool(count_include_pad),
        divisor_override,
    )


def adaptive_avg_pool2d(input, output_size):
    if not input.is_floating_point():
        sizes = [output_size] * 2 if isinstance(output_size, int) else list(output_size)
        if all(s == 1 for s in sizes):  # torch takes the mean then
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {TYPE_NAMES[input.dtype]}"
            )
        raise NotImplementedError(
            f"\"adaptive_avg_pool2d\" not implemented for '{TYPE_NAMES[input.dtype]}'"
        )
    if isinstance(output_size, int):
        size = [output_size, output_size]
    else:
        if input.dim() <= len(output_size):
            raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
        defaults = list(input.shape)[-len(output_size) :]
        size = [d if v is None else v for v, d in zip(output_size, defaults)]
    if len(size) != 2:
        raise RuntimeError("adaptive_avg_pool2d: output_size must be 2")
    if size[0] >= 0 and size[1] >= 0 and size[0] == 1 and size[1] == 1:
        return input.mean((-1, -2), keepdim=True)  # torch's shortcut (MeanBackward1)
    return _C._adaptive_avg_pool2d(input, size[0], size[1])


def dropout2d(input, p=0.5, training=True, inplace=False):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    dim = input.dim()
    if dim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {dim}-D input to dropout2d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
    if dim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
            "1D dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    return _feature_dropout(input, p, training, inplace)


def _feature_dropout(input, p, training, inplace):
    # torch's feature dropout: one Bernoulli draw per (sample, channel), from the same
    # stream as dropout's (noise of shape (N, C, 1, ...), then input * noise).
    if p == 0 or not training or input.numel() == 0:
        return input
    if input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 input dimensions")
    if p == 1:
        zero = _C.zeros((), dtype=input.dtype)
        return input.mul_(zero) if inplace else input * zero
    shape = list(input.shape[:2]) + [1] * (input.dim() - 2)
    noise = _C._dropout_mask(_C.empty(shape, dtype=input.dtype), p)
    return input.mul_(noise) if inplace else input * noise


class _MaxPoolNd(Module):
    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool2d(_MaxPoolNd):
    def forward(self, input):
        return max_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class MaxPool1d(_MaxPoolNd):
    def forward(self, input):
        return max_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class AvgPool2d(Module):
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
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return avg_pool2d(
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


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class Dropout2d(Dropout):
    def forward(self, input):
        return dropout2d(input, self.p, self.training, self.inplace)


def max_pool2d_with_indices(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=True
):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool1d_with_indices(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=True
):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ---- 1-d pooling over the 2-d kernels, adaptive max pooling, channel dropout ----


def _check_signal_rank(input, op):
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for argument "
            f"#1 'self' (while checking arguments for {op})"
        )


def _one(value):
    return value[0] if isinstance(value, (list, tuple)) else value


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    # A signal is a plane one row high: torch pools it in 2-d and squeezes the row away.
    _check_signal_rank(input, "avg_pool1d")
    k = _one(kernel_size)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else _one(stride)
    out = avg_pool2d(
        input.unsqueeze(-2), [1, k], [1, s], [0, _one(padding)], ceil_mode, count_include_pad
    )
    return out.squeeze(-2)


def adaptive_avg_pool1d(input, output_size):
    _check_signal_rank(input, "adaptive_avg_pool1d")
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, _one(output_size))).squeeze(-2)


def _adaptive_sizes(input, output_size):
    if isinstance(output_size, int):
        return [output_size, output_size]
    sizes = list(output_size)
    defaults = list(input.shape)[-len(sizes) :]
    return [d if v is None else v for v, d in zip(sizes, defaults)]


def adaptive_max_pool2d(input, output_size, return_indices=False):
    out_h, out_w = _adaptive_sizes(input, output_size)
    out, indices = _C._adaptive_max_pool2d(input, out_h, out_w)
    return (out, indices) if return_indices else out


def adaptive_max_pool1d(input, output_size, return_indices=False):
    _check_signal_rank(input, "adaptive_max_pool1d")
    out, indices = _C._adaptive_max_pool2d(input.unsqueeze(-2), 1, _one(output_size))
    out, indices = out.squeeze(-2), indices.squeeze(-2)
    return (out, indices) if return_indices else out


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool1d(input, output_size, True)


class AvgPool1d(Module):
    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ):
        super().__init__()
        self.kernel_size = _tuple1(kernel_size)
        self.stride = _tuple1(stride if stride is not None else kernel_size)
        self.padding = _tuple1(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _tuple1(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


class _AdaptivePool(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    def forward(self, input):
        return adaptive_avg_pool1d(input, self.output_size)


class _AdaptiveMaxPool(_AdaptivePool):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    def forward(self, input):
        return adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    def forward(self, input):
        return adaptive_max_pool2d(input, self.output_size, self.return_indices)


def _check_probability(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout1d(input, p=0.5, training=True, inplace=False):
    _check_probability(p)
    dim = input.dim()
    if dim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {dim}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, "
            "a channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs)."
        )
    if dim == 3:
        return _feature_dropout(input, p, training, inplace)
    # Unbatched: the channels are dim 0, so one draw per channel over a batch of one.
    out = _feature_dropout(input.unsqueeze(0), p, training, inplace)
    return out.squeeze(0)


def dropout3d(input, p=0.5, training=True, inplace=False):
    _check_probability(p)
    dim = input.dim()
    if dim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {dim}-D input to dropout3d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout3d exists to provide "
            "channel-wise dropout on inputs with 3 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 4D or 5D inputs).",
            stacklevel=2,
        )
    if dim != 4:
        return _feature_dropout(input, p, training, inplace)
    out = _feature_dropout(input.unsqueeze(0), p, training, inplace)
    return out.squeeze(0)


class Dropout1d(Dropout):
    def forward(self, input):
        return dropout1d(input, self.p, self.training, self.inplace)


class Dropout3d(Dropout):
    def forward(self, input):
        return dropout3d(input, self.p, self.training, self.inplace)
