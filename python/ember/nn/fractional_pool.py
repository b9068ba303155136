"""Fractional max pooling in 2D (Graham, 2014): pooling windows start at
pseudo-random positions drawn from one uniform sample per plane and direction.
The samples come from ember.rand, whose stream is torch's, so a seeded run
picks torch's windows."""

import numpy as np

from .. import _C
from .._dtype_info import numpy_values
from ..autograd.function import Function
from .modules import Module


def _pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def _starts(sample, size, out, pool, real):
    """The window starts along one dim, computed in the input's float type as
    torch's kernel computes them (the truncations depend on its roundings)."""
    starts = np.empty(out, dtype=np.int64)
    if out > 1:
        alpha = real(size - pool) / real(out - 1)
        i = np.arange(out - 1, dtype=real)
        starts[:-1] = ((i + sample) * alpha).astype(np.int64) - np.int64(real(sample * alpha))
    starts[-1] = size - pool
    return starts


def _pool_plane(plane, samples, pool, out):
    """(values, flat indices) of one (H, W) plane; NaN wins, as in torch."""
    real = plane.dtype.type
    rows = _starts(samples[1], plane.shape[0], out[0], pool[0], real)
    cols = _starts(samples[0], plane.shape[1], out[1], pool[1], real)
    # every window's elements: (out_h, out_w, pool_h * pool_w) flat positions
    dh, dw = np.meshgrid(np.arange(pool[0]), np.arange(pool[1]), indexing="ij")
    r = rows[:, None, None] + dh.reshape(-1)[None, None, :]
    c = cols[None, :, None] + dw.reshape(-1)[None, None, :]
    flat = r * plane.shape[1] + c
    windows = plane.reshape(-1)[flat]
    nan = np.isnan(windows)
    pick = np.where(nan.any(-1), nan.argmax(-1), windows.argmax(-1))
    indices = np.take_along_axis(flat, pick[..., None], -1)[..., 0]
    return indices


class _FractionalMaxPool2d(Function):
    _node_name = "FractionalMaxPool2DBackward0"

    @staticmethod
    def forward(ctx, input, indices):
        ctx.save_for_backward(indices)
        ctx.shape = tuple(input.shape)
        flat = input.flatten(-2)
        return flat.gather(-1, indices.flatten(-2)).view(indices.shape)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        zeros = _C.zeros((*ctx.shape[:-2], ctx.shape[-2] * ctx.shape[-1]), dtype=grad.dtype)
        placed = zeros.scatter_add(-1, indices.flatten(-2), grad.flatten(-2))
        return placed.view(ctx.shape), None


def _check(input, pool, out, samples):
    fn = "fractional_max_pool2d()"
    if input.dim() not in (3, 4):
        raise RuntimeError(f"{fn}: Expected 3D or 4D tensor, but got: {list(input.shape)}")
    if samples.dtype != input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if samples.dim() != 3:
        raise RuntimeError(f"Expect _random_samples to be 3D tensor, got: {samples.dim()}")
    batch = input.shape[0] if input.dim() == 4 else 1
    if samples.shape[0] < batch:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if samples.shape[1] != input.shape[-3]:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if samples.shape[2] != 2:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to 2 got: {samples.shape[2]}.")
    for name, o, p, size in zip(("height", "width"), out, pool, input.shape[-2:]):
        if o + p - 1 > size:
            raise RuntimeError(f"{fn}: pool {name} {p} too large relative to input {name} {size}")


def fractional_max_pool2d_with_indices(
    input,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices=False,
    _random_samples=None,
):
    if output_size is None and output_ratio is None:
        raise ValueError(
            "fractional_max_pool2d requires specifying either an output_size or an output_ratio"
        )
    if output_size is None:
        if not isinstance(output_ratio, (list, tuple)):  # torch indexes it as given
            raise TypeError(f"object of type '{type(output_ratio).__name__}' has no len()")
        output_size = [int(input.size(-2) * output_ratio[0]), int(input.size(-1) * output_ratio[1])]
    if _random_samples is None:
        batch = 1 if input.dim() == 3 else input.size(0)
        _random_samples = _C.rand(batch, input.size(-3), 2, dtype=input.dtype)
    pool, out = _pair(kernel_size), _pair(output_size)
    _check(input, pool, out, _random_samples)
    batched = input if input.dim() == 4 else input.unsqueeze(0)
    values = numpy_values(batched.detach())
    samples = numpy_values(_random_samples)
    indices = np.empty((*values.shape[:2], *out), dtype=np.int64)
    for b in range(values.shape[0]):
        for c in range(values.shape[1]):
            indices[b, c] = _pool_plane(values[b, c], samples[b, c], pool, out)
    index = _C.tensor(indices if input.dim() == 4 else indices[0])
    return _FractionalMaxPool2d.apply(input, index), index


def fractional_max_pool2d(
    input,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices=False,
    _random_samples=None,
):
    out, indices = fractional_max_pool2d_with_indices(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples
    )
    return (out, indices) if return_indices else out


class FractionalMaxPool2d(Module):
    def __init__(
        self,
        kernel_size,
        output_size=None,
        output_ratio=None,
        return_indices=False,
        _random_samples=None,
    ):
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _pair(output_size) if output_size is not None else None
        self.output_ratio = _pair(output_ratio) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(
                "FractionalMaxPool2d requires specifying either an output size, or a pooling ratio"
            )
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):
        return fractional_max_pool2d(
            input,
            self.kernel_size,
            self.output_size,
            self.output_ratio,
            self.return_indices,
            _random_samples=self._random_samples,
        )
