"""Writing values into a copy of a tensor (index_put, masked_scatter_),
fill_diagonal_, sum_to_size and unravel_index (masked_scatter and
select/slice/diagonal_scatter are C++ ops).

index_put writes through a view of a clone, so autograd records the
placement (CopySlices) and gradients reach both the tensor and the values.
"""

import numpy as np

from . import _C
from ._dtype_info import TYPE_NAMES

# ----------------------------------------------------------------- index_put


def _check_index_put_dtypes(self, values):
    if self.dtype != values.dtype:
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{TYPE_NAMES[self.dtype]} for the destination and {TYPE_NAMES[values.dtype]} for "
            "the source."
        )


def _index_tuple(self, indices):
    for i, index in enumerate(indices):
        if not isinstance(index, _C.Tensor):
            # torch's binding numbers the indices argument 0
            raise TypeError(
                f"expected Tensor as element {i} in argument 0, but got {type(index).__name__}"
            )
    indexed = sum(t.dim() if t.dtype in (_C.bool, _C.uint8) else 1 for t in indices)
    if indexed > self.dim():
        raise IndexError(f"too many indices for tensor of dimension {self.dim()} (got {indexed})")
    return tuple(indices)


def _accumulated(self, indices, values):
    """self with values added at self[indices], duplicates summed (index_add on positions)."""
    positions = _C.arange(self.numel()).reshape(tuple(self.shape))[indices]
    flat_values = values.expand(tuple(positions.shape)).reshape(-1)
    return self.reshape(-1).index_add(0, positions.reshape(-1), flat_values).view(self.shape)


def index_put_(self, indices, values, accumulate=False):
    _check_index_put_dtypes(self, values)
    indices = _index_tuple(self, indices)
    if accumulate:
        return self.copy_(_accumulated(self, indices, values))
    self[indices] = values
    return self


def index_put(input, indices, values, accumulate=False):
    _check_index_put_dtypes(input, values)
    indices = _index_tuple(input, indices)
    if accumulate:
        return _accumulated(input, indices, values)
    out = input.clone()
    out[indices] = values
    return out


# ----------------------------------------------------------------- masked_scatter


def masked_scatter_(self, mask, source):
    """In place, recording masked_scatter's node on self as torch does."""
    if tuple(mask.shape) != tuple(self.shape):
        mask = mask.expand(tuple(self.shape))  # the mask broadcasts to self, not the reverse
    return _C._assign_result_(
        self,
        lambda original: original.masked_scatter(mask, source),
        [mask, source],
        "masked_scatter_",
    )


# ----------------------------------------------------------------- fill_diagonal_


def _diagonal_positions(shape, wrap):
    """Flat (row-major) positions of the main diagonal; a tall matrix with wrap
    starts again one row below each filled square, as torch (and numpy) do."""
    if len(shape) == 2:
        rows, cols = shape
        step = cols + 1
        end = rows * cols if wrap and rows > cols else min(rows, cols) * cols
        return np.arange(0, end, step)
    step = sum(int(np.prod(shape[k + 1 :])) for k in range(len(shape)))
    return np.arange(shape[0]) * step


def fill_diagonal_(self, fill_value, wrap=False):
    shape = tuple(self.shape)
    if len(shape) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    positions = _diagonal_positions(shape, wrap)
    if positions.size == 0:
        return self
    where = tuple(_C.tensor(c.astype(np.int64)) for c in np.unravel_index(positions, shape))
    self[where] = fill_value
    return self


# ----------------------------------------------------------------- sum_to_size


def sum_to_size(self, *size):
    """Sums self down to size, the reverse of expanding size to self's shape."""
    if not size:
        raise TypeError('sum_to_size() missing 1 required positional arguments: "size"')
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    shape = tuple(self.shape)
    lead = len(shape) - len(size)
    fits = lead >= 0 and all(n in (1, s) for n, s in zip(size, shape[lead:]))
    if not fits:
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    if tuple(size) == shape:
        return self
    out = self.sum(tuple(range(lead))) if lead else self
    squeezed = tuple(i for i, n in enumerate(size) if n == 1 and out.shape[i] != 1)
    return out.sum(squeezed, keepdim=True) if squeezed else out


# ----------------------------------------------------------------- unravel_index


def unravel_index(indices, shape):
    """Coordinates of flat (row-major) indices in shape; out-of-range indices wrap,
    as torch's do (each coordinate is a floor modulo)."""
    if not isinstance(indices, _C.Tensor):
        raise TypeError(f"expected 'indices' to be a tensor, but got {type(indices).__name__}")
    if indices.is_floating_point() or indices.dtype == _C.bool:
        raise TypeError(
            f"expected 'indices' to be integer dtype, but got ember.{_torch_name(indices.dtype)}"
        )
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(n < 0 for n in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    remaining = indices.long()
    coordinates = []
    for n in reversed(shape):
        coordinates.append(remaining.remainder(n))
        remaining = remaining.div(n, rounding_mode="floor")
    return tuple(reversed(coordinates))


def _torch_name(dtype):
    return repr(dtype).split(".")[-1]


TENSOR_AND_FUNCTION = {
    "index_put": index_put,
    "index_put_": index_put_,
}
METHODS_ONLY = {
    "masked_scatter_": masked_scatter_,
    "fill_diagonal_": fill_diagonal_,
    "sum_to_size": sum_to_size,
}
FUNCTIONS_ONLY = {"unravel_index": unravel_index}
