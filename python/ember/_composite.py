"""Tensor ops written with other differentiable ops (so autograd comes free).

They run a few C++ ops each and are not on the hot path of small models; a
new op that is goes into the C++ core instead. Each is installed both as
``ember.<name>`` and ``Tensor.<name>``, like torch's.
"""

from . import _C


def _dim(dim, ndim):
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(
            f"Dimension out of range (expected to be in range of "
            f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {dim})"
        )
    return dim % max(ndim, 1)


def _along(input, dim, start, end):
    """input[..., start:end, ...] with the slice on `dim`."""
    return input[(slice(None),) * dim + (slice(start, end),)]


def masked_fill(input, mask, value):
    if mask.dtype != _C.bool:
        raise RuntimeError(
            f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}"
        )
    fill = value if isinstance(value, _C.Tensor) else _C.tensor(value, dtype=input.dtype)
    if fill.dim() != 0:
        raise RuntimeError(
            "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
            f"{fill.dim()} dimension(s)."
        )
    out = _C.where(mask, fill.to(input.dtype), input)
    if tuple(out.shape) != tuple(input.shape):
        raise RuntimeError(
            f"The size of tensor a ({mask.shape[-1]}) must match the size of tensor b "
            f"({input.shape[-1]}) at non-singleton dimension {out.dim() - 1}"
        )
    return out


def repeat(input, *sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if len(sizes) < input.dim():
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    shape = (1,) * (len(sizes) - input.dim()) + tuple(input.shape)
    x = input.reshape(shape)
    # (s0, s1, ...) -> (1, s0, 1, s1, ...) -> (r0, s0, r1, s1, ...) -> (r0*s0, r1*s1, ...)
    interleaved = x.reshape(tuple(v for s in shape for v in (1, s)))
    expanded = interleaved.expand(tuple(v for r, s in zip(sizes, shape) for v in (r, s)))
    return expanded.reshape(tuple(r * s for r, s in zip(sizes, shape)))


def split(tensor, split_size_or_sections, dim=0):
    d = _dim(dim, tensor.dim())
    size = tensor.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and size > 0:
            raise RuntimeError(
                f"split expects split_size be non-negative, but got split_size={step}"
            )
        bounds = [(s, min(s + step, size)) for s in range(0, size, max(step, 1))] or [(0, 0)]
    else:
        sections = list(split_size_or_sections)
        if sum(sections) != size:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                f"size at dimension {d}), but got split_sizes={sections}"
            )
        starts = [sum(sections[:i]) for i in range(len(sections))]
        bounds = [(s, s + n) for s, n in zip(starts, sections)]
    return tuple(_along(tensor, d, s, e) for s, e in bounds)


def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    size = input.shape[_dim(dim, input.dim())]
    return split(input, max(-(-size // chunks), 1), dim)


def unbind(input, dim=0):
    d = _dim(dim, input.dim())
    return tuple(input.select(d, i) for i in range(input.shape[d]))


def _triangle(input, diagonal, lower):
    if input.dim() < 2:
        raise RuntimeError(
            f"{'tril' if lower else 'triu'}: input tensor must have at least 2 dimensions"
        )
    rows, cols = input.shape[-2], input.shape[-1]
    r = _C.arange(rows).reshape(rows, 1)
    c = _C.arange(cols).reshape(1, cols)
    keep = (c - r <= diagonal) if lower else (c - r >= diagonal)
    return _C.where(keep, input, _C.zeros((), dtype=input.dtype))


def tril(input, diagonal=0):
    return _triangle(input, diagonal, True)


def triu(input, diagonal=0):
    return _triangle(input, diagonal, False)


def flip(input, dims):
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    out = input
    for d in dims:
        d = _dim(d, input.dim())
        out = out.index_select(d, _C.arange(input.shape[d] - 1, -1, -1))
    return out


COMPOSITES = {
    "masked_fill": masked_fill,
    "repeat": repeat,
    "split": split,
    "chunk": chunk,
    "unbind": unbind,
    "tril": tril,
    "triu": triu,
    "flip": flip,
}


def install(module_namespace):
    for name, fn in COMPOSITES.items():
        setattr(_C.Tensor, name, fn)
        if name != "repeat":  # torch has Tensor.repeat only
            module_namespace[name] = fn
