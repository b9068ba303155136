"""Forward-mode function transforms: ``jvp``, ``jacfwd``, ``hessian``.

``jvp`` pushes tangents through dual tensors (``ember.autograd.forward_ad``);
``jacfwd`` builds the Jacobian column by column, one dual pass per input
element; ``hessian`` is ``jacfwd(jacrev(f))``, forward over reverse.
"""

import functools

from .. import _C
from ._batched import NOT_BATCHED, BatchedTensor, per_sample_inside_vmap
from ._pytree import tree_flatten, tree_unflatten
from ._reverse import (
    _checked_argnums,
    _picked,
    _split_aux,
    _with_replaced,
    jacrev,
)

_JVP = "jvp(f, primals, tangents)"


def _forward_ad():
    """ember.autograd.forward_ad (imported on first use: ember.func loads before it)."""
    from ..autograd import forward_ad

    return forward_ad


def _checked_primals_and_tangents(primals, tangents):
    if not isinstance(primals, tuple):
        raise RuntimeError(
            f"{_JVP}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals)."
        )
    flat_primals, primals_spec = tree_flatten(primals)
    flat_tangents, tangents_spec = tree_flatten(tangents)
    if primals_spec != tangents_spec:
        raise RuntimeError(
            f"{_JVP}: Expected primals and tangents to have the same python structure. For "
            "example, if primals is a tuple of 3 tensors, tangents also must be. Got primals "
            f"with structure {primals_spec} and tangents with structure {tangents_spec}"
        )
    for name, flat in (("primals", flat_primals), ("tangents", flat_tangents)):
        if not flat:
            raise RuntimeError(f"{_JVP}: Expected {name} to contain at least one Tensor.")
        for x in flat:
            if not isinstance(x, _C.Tensor):
                raise RuntimeError(
                    f"{_JVP}: Expected {name} to only contain Tensors, got {type(x)}"
                )
    for p, t in zip(flat_primals, flat_tangents):
        if t.shape != p.shape:
            raise RuntimeError(
                "Trying to set a forward gradient that has a different size than that of the "
                f"original Tensor, this is not supported. Tensor is of size {list(p.shape)} "
                f"while the given forward gradient is of size {list(t.shape)}."
            )
    return flat_primals, primals_spec, flat_tangents


def _flat_outputs(output):
    flat, spec = tree_flatten(output)
    if not flat:
        raise RuntimeError(
            f"{_JVP}: Expected f to be a function that has non-empty output (got output = {flat})"
        )
    for o in flat:
        if not isinstance(o, _C.Tensor):
            raise RuntimeError(
                f"{_JVP}: expected f(*args) to return only tensors, got unsupported type {type(o)}"
            )
    return flat, spec


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """(func(*primals), J @ tangents[, aux]): the Jacobian-vector product."""
    if strict:
        raise RuntimeError(f"{_JVP}: strict=True is not supported.")
    looped = per_sample_inside_vmap(
        "jvp", lambda p, t: jvp(func, p, t, has_aux=has_aux), (primals, tangents)
    )
    if looped is not NOT_BATCHED:
        return looped
    flat_primals, primals_spec, flat_tangents = _checked_primals_and_tangents(primals, tangents)
    return _jvp_dual(_forward_ad(), func, flat_primals, primals_spec, flat_tangents, has_aux)


def _jvp_dual(fwad, func, flat_primals, primals_spec, flat_tangents, has_aux):
    with fwad.dual_level():
        duals = [fwad.make_dual(p, t) for p, t in zip(flat_primals, flat_tangents)]
        output = func(*tree_unflatten(duals, primals_spec))
        output, aux = _split_aux(output, has_aux, _JVP)
        flat_out, out_spec = _flat_outputs(output)
        primal_out, tangent_out = [], []
        for o in flat_out:
            p, t = fwad.unpack_dual(o)
            primal_out.append(p)
            tangent_out.append(_C.zeros_like(p) if t is None else t)
    result = (tree_unflatten(primal_out, out_spec), tree_unflatten(tangent_out, out_spec))
    return (*result, aux) if has_aux else result


_RANDOMNESS = ("error", "different", "same")


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """A function returning the Jacobian of func w.r.t. the args at `argnums`, laid out
    as jacrev's."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if randomness not in _RANDOMNESS:
            raise RuntimeError(
                "Only allowed values for randomness are 'error', 'different', or 'same'. Got "
                f"{randomness}"
            )
        if any(isinstance(x, BatchedTensor) for x in tree_flatten(args)[0]):
            # inside vmap: the same Jacobian from reverse mode, which has batching rules
            return jacrev(func, argnums, has_aux=has_aux)(*args, **kwargs)
        return _jacfwd_dual(_forward_ad(), func, argnums, has_aux, args, kwargs)

    return wrapper


def _jacfwd_dual(fwad, func, argnums, has_aux, args, kwargs):
    """One dual pass per input element: column k of every block."""
    wrapped = _checked_argnums(argnums, len(args))
    flat_in, in_spec = tree_flatten(_picked(args, wrapped))
    columns, out_spec, primals_out, aux = None, None, None, None
    for j, x in enumerate(flat_in):
        for k in range(x.numel()):
            with fwad.dual_level():
                duals = []
                for jj, other in enumerate(flat_in):
                    tangent = _C.zeros_like(other)
                    if jj == j:
                        tangent.reshape(-1)[k] = 1.0
                    duals.append(fwad.make_dual(other, tangent))
                call_args = _with_replaced(args, wrapped, tree_unflatten(duals, in_spec))
                output, aux = _split_aux(func(*call_args, **kwargs), has_aux, _JVP)
                flat_out, out_spec = _flat_outputs(output)
                unpacked = [fwad.unpack_dual(o) for o in flat_out]
            primals_out = [p for p, _ in unpacked]
            if columns is None:
                columns = [[[] for _ in flat_in] for _ in flat_out]
            for o, (p, t) in enumerate(unpacked):
                columns[o][j].append(_C.zeros_like(p) if t is None else t)
    blocks = []
    for o, p in enumerate(primals_out):
        per_input = []
        for j, x in enumerate(flat_in):
            shape = tuple(p.shape) + tuple(x.shape)
            cols = columns[o][j]
            per_input.append(
                _C.stack(cols, -1).reshape(shape) if cols else _C.zeros(shape, dtype=x.dtype)
            )
        blocks.append(tree_unflatten(per_input, in_spec))
    jac = tree_unflatten(blocks, out_spec)
    return (jac, aux) if has_aux else jac


def hessian(func, argnums=0):
    """The Hessian of func w.r.t. the args at `argnums`: jacfwd(jacrev(func))."""
    return jacfwd(jacrev(func, argnums), argnums)
