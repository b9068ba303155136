"""histc and histogram, binned as torch's CPU kernel (native/cpu/HistogramKernel.cpp).

Edges are `linspace(left, right, bins + 1)` in the input's dtype. An element's bin comes
from `(x - left) * bins / (right - left)` computed in that dtype: histc takes it as is,
histogram with a bin count then looks at the neighbouring edges to correct rounding,
and histogram with explicit edges searches them. The last bin includes its right edge;
NaNs and elements outside [left, right] are not counted. Neither output has a gradient.

Known difference: the edges come from `ember.linspace`, whose float values can differ
from torch's `linspace` in the last bit (torch's depend on its SIMD width), so an
element within an ulp of an interior edge may be counted one bin over.
"""

import math
from collections import namedtuple

import numpy as np

from . import _C, _return_types


class _HistogramResult(namedtuple("histogram", ["hist", "bin_edges"])):
    __slots__ = ()

    def __repr__(self):
        fields = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"ember.return_types.histogram(\n{fields})"


_HistogramResult.__name__ = _HistogramResult.__qualname__ = "histogram"
_HistogramResult.__module__ = _return_types.__name__
_return_types.histogram = _HistogramResult


def _c_double(v):
    """A double as C++'s ostream prints it (what torch's messages show)."""
    if math.isnan(v):
        return "-nan"
    return f"{v:g}"


def _dtype_check(input, op):
    if input.dtype not in (_C.float32, _C.float64):
        name = {"int64": "Long", "bool": "Bool"}.get(repr(input.dtype).split(".")[-1])
        raise NotImplementedError(f"\"{op}\" not implemented for '{name}'")


def _check_bins(bins):
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")


def _counts(x, edges, mode, weight):
    """Per-bin sums (counts, or weights) of x over edges; mode 'linear', 'local' or 'search'."""
    dtype = edges.dtype
    n_edges = edges.size
    hist = np.zeros(n_edges - 1, dtype=dtype)
    left, right = edges[0], edges[-1]
    keep = (x >= left) & (x <= right)
    xs = x[keep]
    if mode == "search":
        pos = np.searchsorted(edges, xs, side="right") - 1
    else:
        with np.errstate(all="ignore"):
            scaled = (xs - left) * dtype.type(n_edges - 1) / (right - left)
        pos = scaled.astype(np.int64)
        if mode == "local":
            # upper_bound over edges[max(0, pos - 1) : min(pos + 2, n_edges)], minus one
            lo = np.maximum(pos - 1, 0)
            hi = np.minimum(pos + 2, n_edges)
            count = np.zeros_like(pos)
            for off in range(3):
                j = lo + off
                inside = j < hi
                count += inside & (edges[np.minimum(j, n_edges - 1)] <= xs)
            pos = lo + count - 1
    pos[pos == n_edges - 1] -= 1
    if weight is None:
        np.add.at(hist, pos, dtype.type(1))
    else:
        np.add.at(hist, pos, weight[keep])
    return hist


def histc(input, bins=100, min=0, max=0):  # noqa: A002 - torch's names
    _dtype_check(input, "histogram_cpu")
    _check_bins(bins)
    x = input.detach().numpy().reshape(-1)
    left, right = float(min), float(max)
    if left == right and x.size:
        left, right = float(x.min()), float(x.max())
        if np.isnan(x).any():
            left = right = math.nan
    if left == right:
        left, right = left - 1, right + 1
    if not (math.isfinite(left) and math.isfinite(right)):
        raise RuntimeError(
            f"torch.histc: range of [{_c_double(left)}, {_c_double(right)}] is not finite"
        )
    if not left < right:
        raise RuntimeError("torch.histc: max must be larger than min")
    edges = _C.linspace(left, right, bins + 1, dtype=input.dtype).numpy()
    return _C.tensor(_counts(x, edges, "linear", None))


def histogram(input, bins=100, *, range=None, weight=None, density=False):  # noqa: A002
    _dtype_check(input, "histogramdd")
    x = input.detach().numpy().reshape(-1)
    w = None
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape):
            raise RuntimeError(
                "torch.histogramdd: if weight tensor is provided it should have the same "
                "shape as the input tensor excluding its innermost dimension"
            )
        w = weight.detach().numpy().reshape(-1).astype(x.dtype)
    if isinstance(bins, _C.Tensor):
        if bins.dtype != input.dtype:
            c_names = {"float32": "float", "float64": "double", "int64": "long int", "bool": "bool"}
            a, b = (c_names[repr(t.dtype).split(".")[-1]] for t in (input, bins))
            raise RuntimeError(
                "torch.histogramdd: input tensor and bins tensors should have the same dtype, "
                f"but got input with dtype {a} and bins for dimension 0 with dtype {b}"
            )
        edges = bins.detach().numpy().reshape(-1).copy()
        hist = _counts(x, edges, "search", w)
        edge_tensor = bins.detach().clone()
    else:
        _check_bins(bins)
        if range is not None:
            left, right = float(range[0]), float(range[1])
        elif x.size:
            left, right = float(x.min()), float(x.max())
        else:
            left, right = 0.0, 1.0
        if not (math.isfinite(left) and math.isfinite(right)):
            raise RuntimeError(
                f"torch.histogramdd: dimension 0's range [{_c_double(left)}, "
                f"{_c_double(right)}] is not finite"
            )
        if left > right:
            raise RuntimeError(
                "torch.histogramdd: min should not exceed max, but got min "
                f"{_c_double(left)} max {_c_double(right)} for dimension 0"
            )
        if left == right:
            left, right = left - 0.5, right + 0.5
        edge_tensor = _C.linspace(left, right, bins + 1, dtype=input.dtype)
        edges = edge_tensor.numpy()
        hist = _counts(x, edges, "local", w)
    if density:
        total = hist.sum(dtype=hist.dtype)
        with np.errstate(all="ignore"):  # no elements: NaN, as torch
            hist = hist / total / np.diff(edges).astype(hist.dtype)
    return _HistogramResult(_C.tensor(hist.astype(x.dtype)), edge_tensor)
