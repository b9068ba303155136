"""Convolutions: F.conv1d/conv2d (one C++ op, node ConvolutionBackward0) and nn.Conv1d/Conv2d."""

import math
import warnings

from .. import _C
from . import init
from .modules import Module, Parameter, factory_dtype

_warned_same_copy = False


def _ntuple(value, n):
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,) * n


def _param(value, n):
    # torch's int[n] arguments: an int becomes n copies, a sequence goes through as is
    # (the C++ op checks its length against the weight's rank).
    if isinstance(value, bool) or not isinstance(value, int):
        return list(value)
    return [value] * n


def _same_padding(input, weight, stride, dilation, dims):
    """torch's _convolution_mode for padding='same': symmetric padding when it can, else
    the extra row/column goes after, by padding a copy of the input."""
    global _warned_same_copy
    if any(s != 1 for s in _param(stride, dims)):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    k = weight.dim() - 2
    dil = _param(dilation, dims)
    dil = dil * k if len(dil) == 1 else dil
    left, right = [], []
    for i in range(k):
        total = dil[i] * (weight.shape[2 + i] - 1)
        left.append(total // 2)
        right.append(total - total // 2)
    if left == right:
        return input, left
    if not _warned_same_copy:
        _warned_same_copy = True
        warnings.warn(
            "Using padding='same' with even kernel lengths and odd dilation may require a "
            "zero-padded copy of the input be created",
            stacklevel=4,
        )
    from .functional import pad

    pad_nd = [0] * (2 * k)
    for i in range(k):
        delta = right[i] - left[i]
        idx = 2 * (k - 1 - i)
        if delta > 0:
            pad_nd[idx + 1] = delta
        else:
            pad_nd[idx] = delta
            left[i] = right[i]
    return pad(input, pad_nd), left


def _conv(name, dims, input, weight, bias, stride, padding, dilation, groups, kernel=None):
    """Checks and pads as torch's conv<dims>d, then runs `kernel` (the C++ one by default)."""
    if input.dim() not in (dims + 1, dims + 2):
        raise RuntimeError(
            f"Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input to {name}, but got "
            f"input of size: {list(input.shape)}"
        )
    batched = input.dim() == dims + 2
    if not batched:
        input = input.unsqueeze(0)
    if isinstance(padding, str):
        if padding == "valid":
            padding = [0]
        elif padding == "same":
            input, padding = _same_padding(input, weight, stride, dilation, dims)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        padding = _param(padding, dims)
    kernel = kernel or _C._convolution
    out = kernel(input, weight, bias, _param(stride, dims), padding, _param(dilation, dims), groups)
    return out if batched else out.squeeze(0)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


class _ConvNd(Module):
    _dims = 0
    _functional = None

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ):
        super().__init__()
        dtype = factory_dtype(device, dtype)
        n = self._dims
        kernel_size, stride, dilation = (_ntuple(v, n) for v in (kernel_size, stride, dilation))
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        valid_padding_strings = {"same", "valid"}
        if isinstance(padding, str):
            if padding not in valid_padding_strings:
                raise ValueError(
                    f"Invalid padding string {padding!r}, should be one of {valid_padding_strings}"
                )
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = _ntuple(padding, n)
        valid_padding_modes = {"zeros", "reflect", "replicate", "circular"}
        if padding_mode not in valid_padding_modes:
            raise ValueError(
                f"padding_mode must be one of {valid_padding_modes}, but got "
                f"padding_mode='{padding_mode}'"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.transposed, self.output_padding = dilation, False, (0,) * n
        self.groups, self.padding_mode = groups, padding_mode
        # F.pad's order: last dim first, (before, after) each.
        if isinstance(padding, str):
            self._reversed_padding_repeated_twice = [0, 0] * n
            if padding == "same":
                for d, k, i in zip(dilation, kernel_size, range(n - 1, -1, -1)):
                    total = d * (k - 1)
                    self._reversed_padding_repeated_twice[2 * i] = total // 2
                    self._reversed_padding_repeated_twice[2 * i + 1] = total - total // 2
        else:
            self._reversed_padding_repeated_twice = [p for p in reversed(padding) for _ in (0, 1)]
        shape = (out_channels, in_channels // groups, *kernel_size)
        self.weight = Parameter(_C.empty(*shape, dtype=dtype))
        self.bias = Parameter(_C.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        # torch's default: kaiming_uniform_(a=sqrt(5)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = init._fans(self.weight)[0]
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _conv_forward(self, input, weight, bias):
        if self.padding_mode != "zeros":
            from .functional import pad

            return type(self)._functional(
                pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode),
                weight,
                bias,
                self.stride,
                0,
                self.dilation,
                self.groups,
            )
        return type(self)._functional(
            input, weight, bias, self.stride, self.padding, self.dilation, self.groups
        )

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)

    def extra_repr(self):
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)


class Conv1d(_ConvNd):
    _dims = 1
    _functional = staticmethod(conv1d)


class Conv2d(_ConvNd):
    _dims = 2
    _functional = staticmethod(conv2d)


def _conv_transpose(
    name, dims, input, weight, bias, stride, padding, output_padding, groups, dilation
):
    if input.dim() not in (dims + 1, dims + 2):
        raise RuntimeError(
            f"Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input to {name}, but got "
            f"input of size: {list(input.shape)}"
        )
    batched = input.dim() == dims + 2
    if not batched:
        input = input.unsqueeze(0)
    out = _C._convolution(
        input,
        weight,
        bias,
        _param(stride, dims),
        _param(padding, dims),
        _param(dilation, dims),
        groups,
        transposed=True,
        output_padding=_param(output_padding, dims),
    )
    return out if batched else out.squeeze(0)


def conv_transpose1d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    return _conv_transpose(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    return _conv_transpose(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


class _ConvTransposeNd(_ConvNd):
    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups=1,
        bias=True,
        dilation=1,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        # The weight has the transposed layout (in, out / groups, *kernel); the plain
        # convolution's reset_parameters reads its fan-in from that layout, as torch's.
        Module.__init__(self)
        dtype = factory_dtype(device, dtype)
        n = self._dims
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _ntuple(kernel_size, n), _ntuple(stride, n)
        self.padding, self.dilation = _ntuple(padding, n), _ntuple(dilation, n)
        self.transposed, self.output_padding = True, _ntuple(output_padding, n)
        self.groups, self.padding_mode = groups, padding_mode
        self._reversed_padding_repeated_twice = [p for p in reversed(self.padding) for _ in (0, 1)]
        shape = (in_channels, out_channels // groups, *self.kernel_size)
        self.weight = Parameter(_C.empty(*shape, dtype=dtype))
        self.bias = Parameter(_C.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def _output_padding(self, input, output_size):
        """The output_padding that makes the output `output_size` (torch's rules and
        messages): each size may exceed the smallest reachable one by less than the stride."""
        if output_size is None:
            return self.output_padding
        n = self._dims
        leading = 2 if input.dim() == n + 2 else 1
        if len(output_size) == leading + n:
            output_size = output_size[leading:]
        if len(output_size) != n:
            raise ValueError(
                f"ConvTranspose{n}D: for {input.dim()}D input, output_size must have {n} or "
                f"{leading + n} elements (got {len(output_size)})"
            )
        smallest, largest = [], []
        for d in range(n):
            size = (
                (input.size(d + leading) - 1) * self.stride[d]
                - 2 * self.padding[d]
                + self.dilation[d] * (self.kernel_size[d] - 1)
                + 1
            )
            smallest.append(size)
            largest.append(size + self.stride[d] - 1)
        for want, low, high in zip(output_size, smallest, largest):
            if want < low or want > high:
                raise ValueError(
                    f"requested an output size of {output_size}, but valid sizes range from "
                    f"{smallest} to {largest} (for an input of {input.size()[2:]})"
                )
        return [want - low for want, low in zip(output_size, smallest)]

    def forward(self, input, output_size=None):
        output_padding = self._output_padding(input, output_size)
        return type(self)._functional(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTransposeNd):
    _dims = 1
    _functional = staticmethod(conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    _dims = 2
    _functional = staticmethod(conv_transpose2d)
