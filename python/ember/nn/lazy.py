"""Lazy convolutions and normalizations: their channel count comes from the
first input, and the module then becomes the plain one (LazyConv2d becomes
Conv2d), initialized from the generator at that moment, as torch's."""

from .. import _C
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .modules import Buffer, UninitializedParameter, factory_dtype
from .normalization import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
)
from .volumetric import Conv3d, ConvTranspose3d


class UninitializedBuffer(Buffer):
    """The placeholder a lazy module holds for a buffer until its first forward."""

    def __repr__(self):
        return "<UninitializedBuffer>"

    __str__ = __repr__

    shape = UninitializedParameter.shape


class _LazyMixin:
    """Keeps the constructor's arguments; the first forward builds the plain
    module from them plus the channel count, moves its members over and takes
    its class."""

    cls_to_become = None

    def _start(self, args, kwargs):
        # set before the plain __init__ runs, so its reset_parameters is skipped
        object.__setattr__(self, "_lazy_args", (args, kwargs))

    def has_uninitialized_params(self):
        return "_lazy_args" in self.__dict__

    def reset_parameters(self):
        if not self.has_uninitialized_params():
            self.cls_to_become.reset_parameters(self)

    def _materialize(self, channels):
        args, kwargs = self.__dict__.pop("_lazy_args")
        # the placeholders' dtype: the factory's, or what .double() etc. made it since
        placeholder = self.weight if self.weight is not None else self._buffers.get("running_mean")
        if placeholder is not None:
            kwargs = dict(kwargs, dtype=placeholder.dtype)
        built = self.cls_to_become(channels, *args, **kwargs)
        training = self.training
        for store in ("_parameters", "_buffers"):
            self.__dict__[store].update(built.__dict__[store])
        for name, value in built.__dict__.items():
            if not name.startswith("_") or name == "_reversed_padding_repeated_twice":
                self.__dict__[name] = value
        self.training = training
        self.__class__ = self.cls_to_become

    def forward(self, input, *args, **kwargs):
        plain = self.cls_to_become
        if self.has_uninitialized_params():
            self._materialize(self._channels_of(input))
        return plain.forward(self, input, *args, **kwargs)


def _uninitialized_parameters(module, bias, kwargs):
    empty = _C.empty(0, dtype=factory_dtype(kwargs["device"], kwargs["dtype"]))
    module.weight = UninitializedParameter(empty)
    module.bias = UninitializedParameter(empty) if bias else None


class _LazyConv(_LazyMixin):
    def __init__(
        self,
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
        args = (out_channels, kernel_size, stride, padding, dilation, groups)
        kwargs = dict(bias=bias, padding_mode=padding_mode, device=device, dtype=dtype)
        self._start(args, kwargs)
        # the plain module's layout with no input channels: its repr and
        # attributes until the first forward, as torch's
        self.cls_to_become.__init__(self, 0, *args, **kwargs)
        _uninitialized_parameters(self, bias, kwargs)

    def _channels_of(self, input):
        unbatched = input.dim() == self._dims + 1
        return input.shape[0] if unbatched else input.shape[1]


class _LazyConvTranspose(_LazyConv):
    def __init__(
        self,
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
        args = (out_channels, kernel_size, stride, padding, output_padding, groups, bias)
        kwargs = dict(dilation=dilation, padding_mode=padding_mode, device=device, dtype=dtype)
        self._start(args, kwargs)
        self.cls_to_become.__init__(self, 0, *args, **kwargs)
        _uninitialized_parameters(self, bias, kwargs)


class _LazyNorm(_LazyMixin):
    def __init__(
        self,
        eps=1e-5,
        momentum=0.1,
        affine=True,
        track_running_stats=True,
        device=None,
        dtype=None,
        **kwargs,
    ):
        args = (eps, momentum, affine, track_running_stats)
        kwargs = dict(kwargs, device=device, dtype=dtype)
        self._start(args, kwargs)
        self.cls_to_become.__init__(self, 0, *args, **kwargs)
        if affine:
            _uninitialized_parameters(self, self.bias is not None, kwargs)
        if track_running_stats:
            empty = _C.empty(0, dtype=factory_dtype(device, dtype))
            self.running_mean = UninitializedBuffer(empty)
            self.running_var = UninitializedBuffer(empty)

    def _channels_of(self, input):
        return input.shape[1]

    def _materialize(self, channels):
        tracked = self._buffers.get("num_batches_tracked")
        super()._materialize(channels)
        if tracked is not None:  # torch keeps the count the lazy module had
            self._buffers["num_batches_tracked"] = tracked


def _lazy(name, base, plain):
    return type(name, (base, plain), {"cls_to_become": plain, "__module__": __name__})


LazyConv1d = _lazy("LazyConv1d", _LazyConv, Conv1d)
LazyConv2d = _lazy("LazyConv2d", _LazyConv, Conv2d)
LazyConv3d = _lazy("LazyConv3d", _LazyConv, Conv3d)
LazyConvTranspose1d = _lazy("LazyConvTranspose1d", _LazyConvTranspose, ConvTranspose1d)
LazyConvTranspose2d = _lazy("LazyConvTranspose2d", _LazyConvTranspose, ConvTranspose2d)
LazyConvTranspose3d = _lazy("LazyConvTranspose3d", _LazyConvTranspose, ConvTranspose3d)
LazyBatchNorm1d = _lazy("LazyBatchNorm1d", _LazyNorm, BatchNorm1d)
LazyBatchNorm2d = _lazy("LazyBatchNorm2d", _LazyNorm, BatchNorm2d)
LazyBatchNorm3d = _lazy("LazyBatchNorm3d", _LazyNorm, BatchNorm3d)
LazyInstanceNorm1d = _lazy("LazyInstanceNorm1d", _LazyNorm, InstanceNorm1d)
LazyInstanceNorm2d = _lazy("LazyInstanceNorm2d", _LazyNorm, InstanceNorm2d)
LazyInstanceNorm3d = _lazy("LazyInstanceNorm3d", _LazyNorm, InstanceNorm3d)

__all__ = [
    "UninitializedBuffer",
    *(
        f"Lazy{kind}{d}d"
        for kind in ("Conv", "ConvTranspose", "BatchNorm", "InstanceNorm")
        for d in (1, 2, 3)
    ),
]
