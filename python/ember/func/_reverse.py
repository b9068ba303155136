"""Reverse-mode function transforms: ``grad``, ``grad_and_value``, ``vjp``, ``jacrev``.

Note [Transforms on the tape]
torch.func wraps tensors per nesting level; Ember differentiates on the
ordinary tape instead. Each call gives the differentiated arguments fresh
stand-ins: a leaf that requires grad when the argument does not, else a view
of the argument (so gradients still reach the outer graph). The function runs
with grad mode on, and ``autograd.grad`` takes the gradient with respect to the
stand-ins only, so a nested ``grad(grad(f))`` never confuses the two levels:
the inner gradient is a function of the inner stand-in, which is a view of the
outer one.

The inner pass records its own graph (create_graph) only when someone outside
may differentiate the result: inside another transform, or when the output
depends on a tensor that requires grad other than the stand-ins (an argument
that required grad, a parameter captured by closure). Otherwise the results
come back detached, as torch.func's do at the outermost level.
"""

import functools
import threading

from .. import _C
from .._grad_mode import enable_grad
from ._batched import (
    active_levels,
    batched_at_every_level,
    ember_module,
    from_base,
    is_tensor,
    to_base,
)
from ._pytree import tree_flatten, tree_unflatten

_state = threading.local()


def _depth():
    return getattr(_state, "depth", 0)


class _Nesting:
    """Counts how many transforms are running in this thread."""

    def __enter__(self):
        _state.depth = _depth() + 1

    def __exit__(self, *exc):
        _state.depth -= 1


# --------------------------------------------------------------------------
# argnums
# --------------------------------------------------------------------------


def _wrap_argnum(argnum, num_args):
    if not isinstance(argnum, int):
        raise RuntimeError(f"argnum must be int, got: {type(argnum)}")
    if 0 <= argnum < num_args:
        return argnum
    if -num_args <= argnum < 0:
        return argnum + num_args
    raise RuntimeError(f"Got argnum={argnum}, but only {num_args} positional inputs")


def _checked_argnums(argnums, num_args):
    if isinstance(argnums, int):
        return _wrap_argnum(argnums, num_args)
    if isinstance(argnums, tuple):
        if len(argnums) == 0:
            raise RuntimeError("argnums must be non-empty")
        if len(set(argnums)) != len(argnums):
            raise RuntimeError(f"argnums elements must be unique, got {argnums}")
        return tuple(_wrap_argnum(a, num_args) for a in argnums)
    raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")


def _picked(args, argnums):
    """The argument (int argnums) or tuple of arguments (tuple argnums) differentiated."""
    if isinstance(argnums, int):
        return args[argnums]
    return tuple(args[a] for a in argnums)


def _with_replaced(args, argnums, new):
    args = list(args)
    if isinstance(argnums, int):
        args[argnums] = new
    else:
        for a, value in zip(argnums, new):
            args[a] = value
    return tuple(args)


# --------------------------------------------------------------------------
# stand-ins and the tape
# --------------------------------------------------------------------------


def _stand_in(x):
    if not is_tensor(x):
        raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
    if active_levels():  # inside vmap: differentiate the physical tensor, sample by sample
        base, levels = to_base(batched_at_every_level(x))
        return from_base(_plain_stand_in(base), levels)
    return _plain_stand_in(x)


def _plain_stand_in(x):
    if x.requires_grad:
        return x.view_as(x)
    fresh = x.detach().requires_grad_()
    # A dual input (forward over reverse, as in hessian) keeps its tangent.
    tangent = _C._tangent(x) if _C._current_dual_level() else None
    return fresh if tangent is None else _C._make_dual(fresh, tangent)


def _stand_ins(tree):
    leaves, spec = tree_flatten(tree)
    fresh = [_stand_in(x) for x in leaves]
    return fresh, spec, tree_unflatten(fresh, spec)


def _depends_on_others(outputs, own):
    """Whether the outputs' graph reaches a leaf that requires grad besides `own`."""
    own_ids = {id(to_base(t)[0]) for t in own}
    outputs = [to_base(t)[0] for t in outputs]
    seen, alive = set(), []  # alive: node objects keep their ids while we look
    stack = [t.grad_fn for t in outputs if isinstance(t, _C.Tensor) and t.grad_fn is not None]
    for t in outputs:
        if isinstance(t, _C.Tensor) and t.grad_fn is None and t.requires_grad:
            if id(t) not in own_ids:
                return True
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        alive.append(node)
        if type(node).__name__ == "AccumulateGrad":
            if id(node.variable) not in own_ids:
                return True
            continue
        for nxt, _ in node.next_functions:
            if nxt is not None:
                stack.append(nxt)
    return False


def _keeps_graph(outer_grad_enabled, outputs, own):
    """Note [Transforms on the tape]: whether results stay attached to a graph."""
    if not outer_grad_enabled:
        return False
    return _depth() > 1 or _depends_on_others(outputs, own)


def _grads_or_zeros(outputs, inputs, grad_outputs, create_graph, retain_graph=None):
    """autograd.grad over the outputs that carry a graph; zeros for unreached inputs.

    Batched outputs and inputs (inside vmap) are differentiated through their
    physical tensors: the samples never mix, so the gradient of the sum over
    samples holds each sample's own gradient."""
    pairs = []
    for o, g in zip(outputs, grad_outputs or [None] * len(outputs)):
        base, levels = to_base(o)
        if not base.requires_grad:
            continue
        if levels:
            g = _C.ones_like(base) if g is None else _cotangent_like(g, o)
        pairs.append((base, g))
    bases = [to_base(x) for x in inputs]
    if pairs:
        cotangents = [g for _, g in pairs]
        got = _C._grad(
            [o for o, _ in pairs],
            [b for b, _ in bases],
            None if all(g is None for g in cotangents) else cotangents,
            retain_graph,
            create_graph,
            True,
        )
    else:
        got = (None,) * len(inputs)
    return [
        from_base(_C.zeros_like(b) if g is None else g, levels)
        for g, (b, levels) in zip(got, bases)
    ]


def _cotangent_like(g, output):
    """The cotangent as a physical tensor laid out as the batched output."""
    return to_base(ember_module().zeros_like(output) + g)[0]


def _detached(tree, keep):
    if keep:
        return tree
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([x.detach() if is_tensor(x) else x for x in leaves], spec)


def _checked_aux(aux):
    leaves, _ = tree_flatten(aux)
    for x in leaves:
        if not is_tensor(x):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(x)}")
    return aux


def _split_aux(output, has_aux, api):
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(
            f"{api}: output of function f should be a tuple: (output, aux) if has_aux is True"
        )
    return output[0], _checked_aux(output[1])


# --------------------------------------------------------------------------
# grad and grad_and_value
# --------------------------------------------------------------------------


def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning (gradient of func w.r.t. the args at `argnums`, func's value),
    or (gradient, (value, aux)) when has_aux."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gradients, value, aux = _grad_and_value(func, argnums, has_aux, args, kwargs)
        return (gradients, (value, aux)) if has_aux else (gradients, value)

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """A function returning the gradient of scalar-valued func w.r.t. the args at `argnums`
    (and func's aux output when has_aux)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gradients, _, aux = _grad_and_value(func, argnums, has_aux, args, kwargs)
        return (gradients, aux) if has_aux else gradients

    return wrapper


_API = "grad_and_value(f)(*args)"


def _grad_and_value(func, argnums, has_aux, args, kwargs):
    outer_grad = _C.is_grad_enabled()
    argnums = _checked_argnums(argnums, len(args))
    with _Nesting(), enable_grad():
        own, spec, picked = _stand_ins(_picked(args, argnums))
        output = func(*_with_replaced(args, argnums, picked), **kwargs)
        output, aux = _split_aux(output, has_aux, _API)
        if not is_tensor(output):
            raise RuntimeError(f"{_API}: Expected f(*args) to return a Tensor, got {type(output)}")
        if output.dim() != 0:
            raise RuntimeError(
                f"{_API}: Expected f(*args) to return a scalar Tensor, got tensor with "
                f"{output.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?"
            )
        keep = _keeps_graph(outer_grad, [output], own)
        gradients = tree_unflatten(_grads_or_zeros([output], own, None, keep), spec)
    return gradients, _detached(output, keep), _detached(aux, keep)


# --------------------------------------------------------------------------
# vjp
# --------------------------------------------------------------------------


def _flat_float_outputs(output, api):
    flat, spec = tree_flatten(output)
    if (len(flat) == 1 and flat[0] is None) or not flat:
        raise RuntimeError(
            f"{api}: Expected f to be a function that has non-empty output (got output = {flat})"
        )
    for o in flat:
        if not is_tensor(o):
            raise RuntimeError(
                f"{api}: expected f(*primals) to return only tensors, got unsupported type "
                f"{type(o)}"
            )
    for o in flat:
        if not o.is_floating_point():
            raise RuntimeError(
                "vjp(f, ...): All outputs of f must be floating-point or complex Tensors, got "
                f"Tensor with dtype {o.dtype}"
            )
    return flat, spec


def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn[, aux]); vjp_fn(cotangents) gives one gradient per primal,
    nested as the primals."""
    outer_grad = _C.is_grad_enabled()
    with _Nesting(), enable_grad():
        own, primals_spec, fresh = _stand_ins(primals)
        output = func(*fresh)
        output, aux = _split_aux(output, has_aux, "vjp(f, *primals)")
        flat_out, out_spec = _flat_float_outputs(output, "vjp(f, *primals)")
        keep = _keeps_graph(outer_grad, flat_out, own)

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        if create_graph is None:
            create_graph = _C.is_grad_enabled()
        flat_cot, cot_spec = tree_flatten(cotangents)
        if cot_spec != out_spec:
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure "
                f"of outputs to the function. cotangents: {cot_spec}, primal output: {out_spec}"
            )
        for c, o in zip(flat_cot, flat_out):
            if is_tensor(c) and c.shape != o.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of torch.Size("
                    f"{list(c.shape)}) and output[0] has a shape of torch.Size({list(o.shape)})."
                )
        graph = create_graph and (keep or any(is_tensor(c) and c.requires_grad for c in flat_cot))
        with _Nesting(), enable_grad():
            result = _grads_or_zeros(flat_out, own, flat_cot, graph, retain_graph)
        return tree_unflatten([_detached(r, graph) for r in result], primals_spec)

    results = _detached(output, keep)
    if has_aux:
        return results, vjp_fn, _detached(aux, keep)
    return results, vjp_fn


# --------------------------------------------------------------------------
# jacrev
# --------------------------------------------------------------------------


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """A function returning the Jacobian of func w.r.t. the args at `argnums`: per output
    leaf, blocks of shape output.shape + input.shape nested as the inputs.

    Rows are computed by one reverse pass each; `chunk_size` is validated and
    does not change the values.
    """
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        outer_grad = _C.is_grad_enabled()
        wrapped = _checked_argnums(argnums, len(args))
        with _Nesting(), enable_grad():
            own, in_spec, picked = _stand_ins(_picked(args, wrapped))
            output = func(*_with_replaced(args, wrapped, picked), **kwargs)
            output, aux = _split_aux(output, has_aux, "vjp(f, *primals)")
            flat_out, out_spec = _flat_float_outputs(output, "vjp(f, *primals)")
            keep = _keeps_graph(outer_grad, flat_out, own)
            blocks = [_jacobian_blocks(o, own, keep) for o in flat_out]
        jac = tree_unflatten([tree_unflatten(b, in_spec) for b in blocks], out_spec)
        if has_aux:
            return jac, _detached(aux, keep)
        return jac

    return wrapper


def _jacobian_blocks(out, inputs, keep):
    """[d out / d x for x in inputs], each of shape out.shape + x.shape."""
    rows = [[] for _ in inputs]
    flat = out.reshape(-1)
    for k in range(out.numel()):
        for j, g in enumerate(_grads_or_zeros([flat[k]], inputs, None, keep, retain_graph=True)):
            rows[j].append(g)
    blocks = []
    for r, x in zip(rows, inputs):
        shape = tuple(out.shape) + tuple(x.shape)
        block = _C.stack(r, 0).reshape(shape) if r else _C.zeros(shape, dtype=x.dtype)
        blocks.append(block if keep else block.detach())
    return blocks
