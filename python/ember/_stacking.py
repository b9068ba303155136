"""Stacking helpers and meshgrid, written with cat/stack/reshape/expand."""

import warnings

from . import _C


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


STACKING = {
    "atleast_1d": atleast_1d,
    "atleast_2d": atleast_2d,
    "atleast_3d": atleast_3d,
    "hstack": hstack,
    "vstack": vstack,
    "dstack": dstack,
    "column_stack": column_stack,
    "meshgrid": meshgrid,
}
# torch has these as functions only.
FUNCTIONS_ONLY = set(STACKING)
