"""searchsorted, bucketize and isin: positions in sorted sequences and set
membership, as torch's. They have no gradient; NumPy does the searching (NaN
sorts last, as in torch)."""

import numpy as np

from . import _C
from ._dtype_info import numpy_values


def _shape_text(t):
    return "[" + ", ".join(str(s) for s in t.shape) + "]"


def _binary_search(rows, targets, right):
    """Each target's insertion point in its row, by torch's binary search: its
    comparisons (not NumPy's NaN-last order) decide where NaN goes."""
    start = np.zeros(targets.shape, dtype=np.int64)
    end = np.full(targets.shape, rows.shape[1], dtype=np.int64)
    line = np.arange(rows.shape[0])[:, None]
    with np.errstate(invalid="ignore"):
        while True:
            active = start < end
            if not active.any():
                return start
            mid = (start + end) >> 1
            probe = rows[line, np.minimum(mid, rows.shape[1] - 1)]
            go_right = ~(probe > targets) if right else ~(probe >= targets)
            start = np.where(active & go_right, mid + 1, start)
            end = np.where(active & ~go_right, mid, end)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):  # noqa: A002 - torch's argument name
    """For each value, the index where it would be inserted into the (last dim of
    the) sorted sequence: before equal entries, or after them with right=True."""
    if (
        isinstance(sorted_sequence, _C.Tensor)
        and isinstance(input, _C.Tensor)
        and sorted_sequence.dtype == input.dtype == _C.bool
    ):
        raise NotImplementedError("\"searchsorted_out_cpu\" not implemented for 'Bool'")
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(
                f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}"
            )
        if right and side == "left":
            raise RuntimeError(
                "torch.searchsorted(): side and right can't be set to opposites, got side of "
                "left while right was True"
            )
        right = side == "right"
    scalar = not isinstance(input, _C.Tensor)
    values = _C.tensor(input, dtype=sorted_sequence.dtype) if scalar else input
    boundaries = numpy_values(sorted_sequence)
    found = numpy_values(values)
    if boundaries.ndim > 1 and (
        boundaries.shape[:-1] != found.shape[:-1] or found.ndim != boundaries.ndim
    ):
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            "dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {_shape_text(sorted_sequence)} and input value tensor "
            f"{_shape_text(values)}"
        )
    if boundaries.size == 0:  # nowhere to go but the start
        return _C.zeros(found.shape, dtype=_C.int32 if out_int32 else _C.int64)
    rows = boundaries.reshape(-1, boundaries.shape[-1] if boundaries.ndim else 1)
    if sorter is not None:
        order = numpy_values(sorter).astype(np.int64).reshape(rows.shape)
        rows = np.take_along_axis(rows, order, axis=1)
    if boundaries.ndim <= 1:
        targets = found.reshape(1, -1)
    else:
        targets = found.reshape(rows.shape[0], -1)
    result = _binary_search(rows, targets, right).reshape(found.shape)
    return _C.tensor(result, dtype=_C.int32 if out_int32 else _C.int64)


def bucketize(input, boundaries, *, out_int32=False, right=False):  # noqa: A002
    """The bucket of each value among 1-d boundaries (searchsorted with the roles swapped)."""
    if boundaries.dim() != 1:
        raise RuntimeError(
            f"boundaries tensor must be 1 dimension, but got dim({boundaries.dim()})"
        )
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element occurs among test_elements (or not, with invert)."""
    for t in (elements, test_elements):
        if isinstance(t, _C.Tensor) and t.dtype == _C.bool:
            raise RuntimeError("Unsupported input type encountered for isin(): Bool")
    like = elements if isinstance(elements, _C.Tensor) else test_elements
    values = numpy_values(elements) if isinstance(elements, _C.Tensor) else np.asarray(elements)
    tests = (
        numpy_values(test_elements)
        if isinstance(test_elements, _C.Tensor)
        else np.asarray(test_elements, dtype=numpy_values(like).dtype)
    )
    found = np.isin(values, tests, assume_unique=assume_unique, invert=invert)
    return _C.tensor(found, dtype=_C.bool)
