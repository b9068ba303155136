"""``vmap``: a function mapped over a dim of its inputs, run once on the whole batch.

The inputs' mapped dims become BatchedTensors, the function runs once with
Ember's functions dispatching to batching rules (Note [Batching by dispatch]
in ``_batched.py``), and the outputs' mapped dims move to ``out_dims``.
"""

import functools

from . import _batching_rules  # noqa: F401  (fills the rule table)
from ._batched import (
    BatchedTensor,
    active_levels,
    batched_at,
    dispatching_version,
    enter_dispatch,
    exit_dispatch,
    is_tensor,
)
from ._pytree import TreeSpec, tree_flatten, tree_unflatten


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """func mapped over dim `in_dims` of its inputs; results stacked along `out_dims`.

    randomness: "error" refuses random ops inside, "different" draws per sample,
    "same" draws once for the whole batch. chunk_size runs the batch in chunks
    of that many samples (less memory, same values)."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. "
            f"Got {randomness}"
        )
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    func = dispatching_version(func)

    @functools.wraps(func)
    def mapped(*args, **kwargs):
        name = _name(func)
        if type(in_dims) is int and all(is_tensor(a) for a in args):  # the common case
            flat_args, args_spec, flat_dims = args, None, [in_dims] * len(args)
        else:
            flat_args, args_spec = tree_flatten(args)
            flat_dims = _dims_per_leaf(in_dims, args, args_spec, name)
        size = _mapped_size(flat_args, flat_dims, in_dims, name)
        if chunk_size is None or chunk_size >= size:
            return _run(func, flat_args, flat_dims, args_spec, kwargs, size, out_dims,
                        randomness, name)  # fmt: skip
        chunks = []
        for start in range(0, size, chunk_size):
            stop = min(start + chunk_size, size)
            part = [
                x if d is None else x.narrow(d, start, stop - start)
                for x, d in zip(flat_args, flat_dims)
            ]
            chunks.append(
                _run(
                    func,
                    part,
                    flat_dims,
                    args_spec,
                    kwargs,
                    stop - start,
                    out_dims,
                    randomness,
                    name,
                )  # fmt: skip
            )
        return _concatenated(chunks, out_dims)

    return mapped


def _name(func):
    return getattr(func, "__name__", repr(func))


def _dims_per_leaf(in_dims, args, args_spec, name):
    """in_dims broadcast to one entry per input leaf (an int or None covers a subtree)."""
    if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or a "
            f"(potentially nested) tuple matching the structure of inputs, got: {type(in_dims)}."
        )
    if isinstance(in_dims, int):
        return [in_dims] * args_spec.num_leaves
    out = []
    if not _broadcast_into(in_dims, args, out):
        _, dims_spec = tree_flatten(in_dims)
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with "
            f"the structure of `inputs`. in_dims has structure {dims_spec} but inputs has "
            f"structure {args_spec}."
        )
    return out


def _broadcast_into(dims, tree, out):
    if dims is None or isinstance(dims, int):
        out.extend([dims] * tree_flatten(tree)[1].num_leaves)
        return True
    if isinstance(dims, (tuple, list)) and isinstance(tree, (tuple, list)):
        if len(dims) != len(tree):
            return False
        return all(_broadcast_into(d, t, out) for d, t in zip(dims, tree))
    if isinstance(dims, dict) and isinstance(tree, dict):
        if dims.keys() != tree.keys():
            return False
        return all(_broadcast_into(dims[k], tree[k], out) for k in tree)
    return False


def _mapped_size(flat_args, flat_dims, in_dims, name):
    sizes = []
    for x, d in zip(flat_args, flat_dims):
        if d is None:
            continue
        if not is_tensor(x):
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an input "
                f"but the input is of type {type(x)}. We cannot vmap over non-Tensor "
                "arguments, please use None as the respective in_dim"
            )
        rank = x.dim()
        if not -rank <= d < rank:
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for some "
                f"input, but that input is a Tensor of dimensionality {rank} so expected in_dim "
                f"to satisfy -{rank} <= in_dim < {rank}."
            )
        sizes.append(x.shape[d])
    if not sizes:
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got all in_dims=None, but at "
            "least one input must be a Tensor with a non-None in_dim"
        )
    if any(s != sizes[0] for s in sizes):
        raise ValueError(
            "vmap: Expected all tensors to have the same size in the mapped dimension, got "
            f"sizes {sizes} for the mapped dimension"
        )
    return sizes[0]


def _run(func, flat_args, flat_dims, args_spec, kwargs, size, out_dims, randomness, name):
    levels = active_levels()
    level = levels[-1][0] + 1 if levels else 1
    levels.append((level, size, randomness))
    enter_dispatch()
    try:
        batched = [
            x if d is None else BatchedTensor(x.movedim(d, 0) if d else x, level)
            for x, d in zip(flat_args, flat_dims)
        ]
        output = func(*(batched if args_spec is None else tree_unflatten(batched, args_spec)),
                      **kwargs)  # fmt: skip
        return _unbatched(output, out_dims, level, size, name)
    finally:
        levels.pop()
        exit_dispatch()


def _unbatched(output, out_dims, level, size, name):
    if type(out_dims) is int and is_tensor(output):
        return _moved_out(output, out_dims, level, size, name)
    flat, spec = tree_flatten(output)
    if isinstance(out_dims, int):
        dims = [out_dims] * len(flat)
    else:
        dims = []
        if not _broadcast_into(out_dims, output, dims):
            _, dims_spec = tree_flatten(out_dims)
            raise ValueError(
                f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible "
                f"with the structure of `outputs`. out_dims has structure {dims_spec} but "
                f"outputs has structure {spec}."
            )
    return tree_unflatten([_moved_out(x, d, level, size, name) for x, d in zip(flat, dims)], spec)


def _moved_out(x, out_dim, level, size, name):
    if out_dim is None:
        if batched_at(x, level):
            raise ValueError(
                f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is None"
            )
        return x
    if not is_tensor(x):
        raise ValueError(
            f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(x)}. Did you "
            "mean to set out_dims= to None for output?"
        )
    if batched_at(x, level):
        value = x._value
    else:  # the same for every sample: broadcast, as torch's vmap does
        value = x.unsqueeze(0).expand(size, *x.shape)
    return value.movedim(0, out_dim) if out_dim else value


def _concatenated(chunks, out_dims):
    from .. import cat

    flat0, spec = tree_flatten(chunks[0])
    flat_chunks = [tree_flatten(c)[0] for c in chunks]
    if isinstance(out_dims, int):
        dims = [out_dims] * len(flat0)
    else:
        dims = []
        _broadcast_into(out_dims, chunks[0], dims)
    leaves = [
        cat([c[i] for c in flat_chunks], d) if d is not None else flat0[i]
        for i, d in enumerate(dims)
    ]
    return tree_unflatten(leaves, spec)


__all__ = ["vmap", "TreeSpec"]
