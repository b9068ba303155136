"""2-d pooling (C++ ops with torch's nodes), max_pool1d, dropout2d and their modules."""

import warnings

from .. import _C
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
