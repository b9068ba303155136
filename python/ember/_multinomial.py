"""multinomial: torch's CPU sampling algorithm, drawing from Ember's torch-identical generator.

torch (aten/src/ATen/native/Distributions.cpp, cpu/MultinomialKernel.cpp) has two paths:

- Without replacement, or for one sample: the exponential race (Gumbel-max). One double
  uniform per element of the input, in memory order (`exponential_` is a serial kernel),
  `e = -log1p(-u)` computed in double and rounded to the input's dtype, `q = p / e` in
  the input's dtype, then `argmax` (one sample) or `topk(q, n)` (largest first).
- With replacement and more than one sample: per row, a cumulative sum in the input's
  dtype, divided by the total, its last entry set to 1; then one double uniform per
  sample and a lower-bound binary search.

Exact ties in `q` (only zero probabilities in practice) are ordered as torch's `topk`
orders them, which is libstdc++'s `nth_element` + `sort` (or `partial_sort` when
64 * k <= n); `_select_like_libstdcxx` replays those algorithms.
"""

import numpy as np

from . import _C


def _check_num_samples(num_samples):
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
        raise TypeError(
            "multinomial(): argument 'num_samples' (position 2) must be int, "
            f"not {type(num_samples).__name__}"
        )


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    if out is not None:
        raise NotImplementedError("multinomial(out=) is not supported by Ember")
    _check_num_samples(num_samples)
    if not 0 < input.dim() <= 2:
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    dtype = input.dtype
    if dtype not in (_C.float32, _C.float64):
        name = {"int64": "Long", "bool": "Bool"}.get(repr(dtype).split(".")[-1], repr(dtype))
        raise RuntimeError(
            f"multinomial only supports floating-point dtypes for input, got: {name}"
        )
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n_categories = input.shape[-1]
    if not replacement and num_samples > n_categories:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    if n_categories > 2**24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    p = input.detach().numpy()
    np_dtype = p.dtype
    rows = p.reshape(1, -1) if p.ndim == 1 else p
    if not replacement or num_samples == 1:
        result = _exponential_race(input, rows, num_samples, np_dtype, generator)
    else:
        result = _with_replacement(rows, num_samples, np_dtype, generator)
    out_shape = (num_samples,) if p.ndim == 1 else (rows.shape[0], num_samples)
    return _C.tensor(result.reshape(out_shape))


def _uniform_doubles(shape, generator):
    kw = {} if generator is None else {"generator": generator}
    return _C.rand(*shape, dtype=_C.float64, **kw).numpy()


def _exponential_race(input, rows, k, np_dtype, generator):
    if rows.size:
        valid = (rows.max() < np.inf) & (rows.min() >= 0)  # NaN fails both
    else:
        valid = True
    if not valid:
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if rows.shape[0] == 1 and input.dim() == 1:
        empty = rows.sum() == 0
    else:
        empty = (rows.sum(1) == 0).any()
    if empty:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    # empty_like keeps a transposed input's layout, and the serial kernel walks memory
    transposed = input.dim() == 2 and input.stride(0) < input.stride(1) and rows.shape[0] > 1
    if transposed:
        u = _uniform_doubles(rows.shape[::-1], generator).T
    else:
        u = _uniform_doubles(rows.shape, generator)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = (-1.0 * np.log1p(-u)).astype(np_dtype)
        q = rows / e
    if k == 1:
        return np.argmax(q, axis=-1).reshape(-1, 1)
    return np.stack([_top_k(row, k) for row in q]) if q.shape[0] else np.zeros((0, k), np.int64)


def _top_k(q, k):
    """Indices of the k largest q, largest first, ties (and NaNs) placed as torch's topk."""
    order = np.argsort(-q, kind="stable")
    top = q[order[:k]]
    boundary = q[order[k]] if k < q.size else None
    ties = np.unique(top).size < k or (boundary is not None and np.any(top == boundary))
    if not ties and not np.isnan(q).any():
        return order[:k]
    return np.array(_select_like_libstdcxx(q, k), dtype=np.int64)


# ----- torch's topk selection, as libstdc++ runs it ------------------------------------


def _select_like_libstdcxx(q, k):
    values = [float(v) for v in q]
    isnan = [v != v for v in values]

    def comp(x, y):  # torch's "largest" comparator over (value, index) pairs
        return (isnan[x] and not isnan[y]) or values[x] > values[y]

    a = list(range(len(values)))
    n = len(a)
    if k * 64 <= n:
        _partial_sort(a, k, comp)
    else:
        _nth_element(a, k - 1, comp)
        _sort(a, 0, k - 1, comp)
    return a[:k]


def _lg(n):
    return n.bit_length() - 1


def _insertion_sort(a, first, last, comp):
    if first == last:
        return
    for i in range(first + 1, last):
        val = a[i]
        if comp(val, a[first]):
            a[first + 1 : i + 1] = a[first:i]
            a[first] = val
        else:
            j = i
            while comp(val, a[j - 1]):
                a[j] = a[j - 1]
                j -= 1
            a[j] = val


def _move_median_to_first(arr, result, a, b, c, comp):
    x, y, z = arr[a], arr[b], arr[c]
    if comp(x, y):
        if comp(y, z):
            pick = b
        elif comp(x, z):
            pick = c
        else:
            pick = a
    elif comp(x, z):
        pick = a
    elif comp(y, z):
        pick = c
    else:
        pick = b
    arr[result], arr[pick] = arr[pick], arr[result]


def _unguarded_partition_pivot(a, first, last, comp):
    mid = first + (last - first) // 2
    _move_median_to_first(a, first, first + 1, mid, last - 1, comp)
    pivot = a[first]
    lo, hi = first + 1, last
    while True:
        while comp(a[lo], pivot):
            lo += 1
        hi -= 1
        while comp(pivot, a[hi]):
            hi -= 1
        if not lo < hi:
            return lo
        a[lo], a[hi] = a[hi], a[lo]
        lo += 1


def _nth_element(a, nth, comp):
    first, last = 0, len(a)
    if first == last or nth == last:
        return
    depth = 2 * _lg(last - first)
    while last - first > 3:
        if depth == 0:
            _heap_select(a, first, nth + 1, last, comp)
            a[first], a[nth] = a[nth], a[first]
            return
        depth -= 1
        cut = _unguarded_partition_pivot(a, first, last, comp)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(a, first, last, comp)


def _sort(a, first, last, comp):
    if first == last:
        return
    _introsort_loop(a, first, last, 2 * _lg(last - first), comp)
    if last - first > 16:
        _insertion_sort(a, first, first + 16, comp)
        for i in range(first + 16, last):  # unguarded insertion
            val, j = a[i], i
            while comp(val, a[j - 1]):
                a[j] = a[j - 1]
                j -= 1
            a[j] = val
    else:
        _insertion_sort(a, first, last, comp)


def _introsort_loop(a, first, last, depth, comp):
    while last - first > 16:
        if depth == 0:
            _partial_sort_range(a, first, last, last, comp)
            return
        depth -= 1
        cut = _unguarded_partition_pivot(a, first, last, comp)
        _introsort_loop(a, cut, last, depth, comp)
        last = cut


# heap helpers (libstdc++'s __adjust_heap/__push_heap/__make_heap/__pop_heap), on a[first:]


def _push_heap(a, first, hole, top, val, comp):
    parent = (hole - 1) // 2
    while hole > top and comp(a[first + parent], val):
        a[first + hole] = a[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[first + hole] = val


def _adjust_heap(a, first, hole, length, val, comp):
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if comp(a[first + child], a[first + child - 1]):
            child -= 1
        a[first + hole] = a[first + child]
        hole = child
    if (length & 1) == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        a[first + hole] = a[first + child - 1]
        hole = child - 1
    _push_heap(a, first, hole, top, val, comp)


def _make_heap(a, first, last, comp):
    length = last - first
    if length < 2:
        return
    parent = (length - 2) // 2
    while True:
        _adjust_heap(a, first, parent, length, a[first + parent], comp)
        if parent == 0:
            return
        parent -= 1


def _pop_heap(a, first, last, result, comp):
    val = a[result]
    a[result] = a[first]
    _adjust_heap(a, first, 0, last - first, val, comp)


def _heap_select(a, first, middle, last, comp):
    _make_heap(a, first, middle, comp)
    for i in range(middle, last):
        if comp(a[i], a[first]):
            _pop_heap(a, first, middle, i, comp)


def _sort_heap(a, first, last, comp):
    while last - first > 1:
        last -= 1
        _pop_heap(a, first, last, last, comp)


def _partial_sort_range(a, first, middle, last, comp):
    _heap_select(a, first, middle, last, comp)
    _sort_heap(a, first, middle, comp)


def _partial_sort(a, k, comp):
    _partial_sort_range(a, 0, k, len(a), comp)


def _with_replacement(rows, k, np_dtype, generator):
    n_dist, n_categories = rows.shape
    result = np.zeros((n_dist, k), dtype=np.int64)
    for i in range(n_dist):
        row = rows[i]
        bad = np.flatnonzero(~(row >= 0) | ~np.isfinite(row))
        if bad.size:  # torch checks entry by entry, the sign first
            if not row[bad[0]] >= 0:  # NaN fails this check first, as in torch
                raise RuntimeError(
                    "invalid multinomial distribution (encountering probability entry < 0)"
                )
            raise RuntimeError(
                "invalid multinomial distribution (encountering probability entry = "
                "infinity or NaN)"
            )
        cum = np.cumsum(row, dtype=np_dtype)  # sequential, in the input's dtype
        total = cum[-1] if n_categories else np_dtype.type(0)
        if not total > 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        cum = cum / total
        cum[-1] = 1
        u = _uniform_doubles((k,), generator)
        result[i] = np.searchsorted(cum.astype(np.float64), u, side="left")
    return result
