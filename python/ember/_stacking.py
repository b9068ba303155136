"""Stacking, broadcasting helpers and meshgrid, written with cat/stack/reshape/expand."""

import warnings

from . import _C
from ._size import Size


def atleast_1d(*tensors):
    out = [t.reshape(1) if t.dim() == 0 else t for t in _flat(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*tensors):
    out = [t.reshape(1, -1) if t.dim() < 2 else t for t in _flat(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_3d(*tensors):
    def lift(t):
        if t.dim() == 0:
            return t.reshape(1, 1, 1)
        if t.dim() == 1:
            return t.reshape(1, -1, 1)
        return t.unsqueeze(-1) if t.dim() == 2 else t

    out = [lift(t) for t in _flat(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def _flat(tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return list(tensors[0])
    return list(tensors)


def hstack(tensors):
    tensors = [atleast_1d(t) for t in tensors]
    return _C.cat(tensors, 0 if tensors[0].dim() == 1 else 1)


def vstack(tensors):
    return _C.cat([atleast_2d(t) for t in tensors], 0)


def row_stack(tensors):
    return vstack(tensors)


def concatenate(tensors, axis=0, *, dim=None):
    """cat under NumPy's name; torch takes the dim as `axis` or `dim`."""
    return _C.cat(tensors, axis if dim is None else dim)


def dstack(tensors):
    return _C.cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors):
    columns = [t.reshape(-1, 1) if t.dim() <= 1 else t for t in tensors]
    return _C.cat(columns, 1)


def meshgrid(*tensors, indexing=None):
    tensors = _flat(tensors)
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing "
            "argument.",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    for t in tensors:
        if t.dim() > 1:
            raise RuntimeError(
                f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}"
            )
    swap = indexing == "xy" and len(tensors) >= 2
    order = list(tensors)
    if swap:
        order[0], order[1] = order[1], order[0]
    sizes = [t.numel() for t in order]
    grids = []
    for k, t in enumerate(order):
        shape = [1] * len(order)
        shape[k] = -1
        grids.append(t.reshape(shape).expand(sizes))
    if swap:  # the first two inputs swapped going in, their grids swap back
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def broadcast_shapes(*shapes):
    sizes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    ndim = max((len(s) for s in sizes), default=0)
    out = [1] * ndim
    for i, shape in enumerate(sizes):
        for k, n in enumerate(shape, start=ndim - len(shape)):
            if n < 0 or (n != out[k] and out[k] != 1 and n != 1):
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {n} at {k - ndim}! "
                    f"Mismatching argument at index {i} had {shape}; but expected shape should "
                    f"be broadcastable to {out}"
                )
            if n != 1:
                out[k] = n
    return Size(out)


def broadcast_tensors(*tensors):
    tensors = _flat(tensors)
    shape = []
    for t in tensors:  # pairwise, with the operators' message on a mismatch
        a, b = [1] * (t.dim() - len(shape)) + shape, [1] * (len(shape) - t.dim()) + list(t.shape)
        for k, (m, n) in enumerate(zip(a, b)):
            if m != n and m != 1 and n != 1:
                raise RuntimeError(
                    f"The size of tensor a ({m}) must match the size of tensor b ({n}) at "
                    f"non-singleton dimension {k}"
                )
        shape = [n if m == 1 else m for m, n in zip(a, b)]
    return tuple(t.expand(shape) for t in tensors)


STACKING = {
    "atleast_1d": atleast_1d,
    "atleast_2d": atleast_2d,
    "atleast_3d": atleast_3d,
    "hstack": hstack,
    "vstack": vstack,
    "dstack": dstack,
    "row_stack": row_stack,
    "concatenate": concatenate,
    "column_stack": column_stack,
    "meshgrid": meshgrid,
    "broadcast_shapes": broadcast_shapes,
    "broadcast_tensors": broadcast_tensors,
}
# torch has these as functions only.
FUNCTIONS_ONLY = set(STACKING)
