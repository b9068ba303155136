"""Activation checkpointing, as ``torch.utils.checkpoint``: trade compute for memory by
keeping only a segment's inputs and recomputing its activations during backward.

Two variants, as torch's:

- ``use_reentrant=True``: the segment runs under ``no_grad`` inside a custom
  Function. Its backward reruns the segment with grad on and calls
  ``autograd.backward`` on the recomputed outputs (a backward inside a
  backward), which fills the inputs' and parameters' ``.grad``. Only
  positional tensor arguments are tracked; gradients reach parameters only if
  some input requires grad, and ``autograd.grad``/``backward(inputs=...)`` are
  refused, as in torch.
- ``use_reentrant=False``: Note [Non-reentrant checkpoint].
"""

import contextlib
import warnings

from .. import _C
from .._grad_mode import enable_grad, no_grad
from ..autograd.function import Function
from ..func._pytree import tree_flatten, tree_unflatten

__all__ = ["checkpoint", "checkpoint_sequential"]


class _RngSnapshot:
    """The CPU generator's state at a point of the forward, put back for the recompute
    so random ops (dropout) draw the same numbers; the caller's stream is restored after."""

    def __init__(self, enabled):
        # Kept as NumPy bytes: the state tensor holds one byte per int64 (40 KB),
        # which would otherwise sit in the allocator for every checkpoint.
        self.state = _C.get_rng_state().numpy().astype("uint8") if enabled else None

    @contextlib.contextmanager
    def replayed(self):
        if self.state is None:
            yield
            return
        outer = _C.get_rng_state()
        _C.set_rng_state(_C.from_numpy(self.state.astype("int64")))
        try:
            yield
        finally:
            _C.set_rng_state(outer)


def _detached_inputs(inputs):
    if not isinstance(inputs, tuple):
        raise RuntimeError(
            "Only tuple of tensors is supported. Got Unsupported input type: "
            f"{type(inputs).__name__}"
        )
    out = []
    for x in inputs:
        if isinstance(x, _C.Tensor):
            d = x.detach()
            d.requires_grad_(x.requires_grad)
            out.append(d)
        else:
            out.append(x)
    return tuple(out)


# --------------------------------------------------------------------------
# Reentrant
# --------------------------------------------------------------------------


class CheckpointFunction(Function):
    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        if not any(isinstance(a, _C.Tensor) and a.requires_grad for a in args):
            warnings.warn(
                "None of the inputs have requires_grad=True. Gradients will be None",
                stacklevel=4,
            )
        ctx.run_function = run_function
        ctx.rng = _RngSnapshot(preserve_rng_state)
        ctx.non_tensors = [None if isinstance(a, _C.Tensor) else a for a in args]
        ctx.save_for_backward(*[a for a in args if isinstance(a, _C.Tensor)])
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        if not _C._is_checkpoint_valid():
            raise RuntimeError(
                "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() "
                "or passing an `inputs` parameter to .backward(). To resolve this error, you "
                "can either set use_reentrant=False, or call .backward() without passing the "
                "`inputs` argument."
            )
        saved = iter(ctx.saved_tensors)
        inputs = tuple(next(saved) if a is None else a for a in ctx.non_tensors)
        with ctx.rng.replayed():
            inputs = _detached_inputs(inputs)
            with enable_grad():
                outputs = ctx.run_function(*inputs)
        if isinstance(outputs, _C.Tensor):
            outputs = (outputs,)
        with_grad = [
            (o, g) for o, g in zip(outputs, grads) if isinstance(o, _C.Tensor) and o.requires_grad
        ]
        if not with_grad:
            raise RuntimeError(
                "none of output has requires_grad=True, this checkpoint() is not necessary"
            )
        _C._backward([o for o, _ in with_grad], [g for _, g in with_grad], None, False, None)
        return (None, None) + tuple(x.grad if isinstance(x, _C.Tensor) else None for x in inputs)


# --------------------------------------------------------------------------
# Non-reentrant
# --------------------------------------------------------------------------

# Note [Non-reentrant checkpoint]
# torch drops a segment's activations with saved-tensor hooks. Ember runs the
# segment with grad on, then reads off what its graph depends on, its
# frontier: the leaves it reached (parameters, inputs that are leaves) and
# the argument tensors whose own history lies outside the segment. The
# segment's graph is then dropped (its activations freed) and the outputs are
# reattached to one node, `CheckpointBackward`, whose inputs are the frontier.
# That node's backward reruns the segment on detached arguments and returns
# `autograd.grad` of the recomputed outputs with respect to the frontier, so
# gradients flow on through the outer graph as usual (`autograd.grad` and
# `backward(inputs=...)` work, and parameters get gradients even when no
# argument requires grad). A segment that reads a non-leaf tensor it was not
# given as an argument (a closure) keeps its graph: nothing is recomputed for
# it, and its gradients are those of the plain call.


def _frontier(outputs, arg_tensors, start_seq):
    """(tensors the segment's graph depends on, or None when it reaches a non-leaf
    from outside the segment that is not one of its arguments)."""
    by_edge = {}
    for t in arg_tensors:
        if t.grad_fn is not None:
            by_edge[(id(t.grad_fn), t.output_nr)] = t
    keep_alive = [t.grad_fn for t in arg_tensors]  # node objects keep their ids
    found, seen = {}, set()
    stack = []
    for o in outputs:
        if o.grad_fn is not None:
            stack.append((o.grad_fn, o.output_nr))
        elif o.requires_grad:
            found[id(o)] = o
    while stack:
        node, nr = stack.pop()
        if type(node).__name__ == "AccumulateGrad":
            leaf = node.variable
            found[id(leaf)] = leaf
            continue
        if node._sequence_nr() < start_seq:
            arg = by_edge.get((id(node), nr))
            if arg is None:
                return None
            found[id(arg)] = arg
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        keep_alive.append(node)
        for nxt, input_nr in node.next_functions:
            if nxt is not None:
                stack.append((nxt, input_nr))
    del keep_alive
    return list(found.values())


class _CheckpointFrontier(Function):
    """Outputs of a checkpointed segment attached to the segment's frontier."""

    _node_name = "CheckpointBackward"

    @staticmethod
    def forward(ctx, recompute, n_outputs, *tensors):
        ctx.recompute = recompute
        ctx.save_for_backward(*tensors[n_outputs:])  # checks their versions in backward
        outs = tensors[:n_outputs]
        return outs if len(outs) > 1 else outs[0]

    @staticmethod
    def backward(ctx, *grads):
        frontier = ctx.saved_tensors
        outputs, stand_ins = ctx.recompute(frontier)
        pairs = [(o, g) for o, g in zip(outputs, grads) if o.requires_grad and g is not None]
        targets = [s for s in stand_ins if s.requires_grad]
        result = [None] * len(stand_ins)
        if pairs and targets:
            got = iter(
                _C._grad(
                    [o for o, _ in pairs],
                    targets,
                    [g for _, g in pairs],
                    _C.is_grad_enabled(),  # under create_graph the result needs this graph
                    _C.is_grad_enabled(),
                    True,
                )
            )
            result = [next(got) if s.requires_grad else None for s in stand_ins]
        return (None, None, *[None] * len(grads), *result)


def _non_reentrant(function, preserve_rng_state, context_fn, args, kwargs):
    forward_context, recompute_context = context_fn()
    rng = _RngSnapshot(preserve_rng_state)
    arg_tensors = [x for x in tree_flatten((args, kwargs))[0] if isinstance(x, _C.Tensor)]
    if not _C.is_grad_enabled():
        with forward_context:
            return function(*args, **kwargs)
    start_seq = _C._next_sequence_nr()
    with forward_context:
        result = function(*args, **kwargs)
    flat, spec = tree_flatten(result)
    where = [i for i, x in enumerate(flat) if isinstance(x, _C.Tensor) and x.requires_grad]
    if not where:
        return result
    frontier = _frontier([flat[i] for i in where], arg_tensors, start_seq)
    if frontier is None:
        return result  # Note [Non-reentrant checkpoint]: keeps its graph

    def recompute(saved_frontier):
        # Arguments are rerun detached (their history is the outer graph's);
        # leaves the segment reads directly (parameters) are differentiated as is.
        replacement = {
            id(orig): saved.detach().requires_grad_(saved.requires_grad)
            for orig, saved in zip(frontier, saved_frontier)
            if orig.grad_fn is not None
        }
        stand_ins = [replacement.get(id(orig), orig) for orig in frontier]
        leaves, arg_spec = tree_flatten((args, kwargs))
        swapped = [replacement.get(id(x), x) if isinstance(x, _C.Tensor) else x for x in leaves]
        rerun_args, rerun_kwargs = tree_unflatten(swapped, arg_spec)
        with rng.replayed(), enable_grad(), recompute_context:
            again = function(*rerun_args, **rerun_kwargs)
        again_flat, _ = tree_flatten(again)
        return [again_flat[i] for i in where], stand_ins

    # The outputs go in detached: the node must not keep the segment's graph.
    attached = _CheckpointFrontier.apply(
        recompute, len(where), *[flat[i].detach() for i in where], *frontier
    )
    attached = attached if isinstance(attached, tuple) else (attached,)
    for i, t in zip(where, attached):
        flat[i] = t
    return tree_unflatten(flat, spec)


def noop_context_fn():
    """The default context_fn: no context around the forward or the recompute."""
    return contextlib.nullcontext(), contextlib.nullcontext()


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def checkpoint(
    function,
    *args,
    use_reentrant=None,
    context_fn=noop_context_fn,
    determinism_check="default",
    debug=False,
    early_stop=True,
    **kwargs,
):
    """function(*args, **kwargs), keeping only what is needed to rerun it in backward."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
            "exception. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for "
            "more details on the differences between the two variants.",
            stacklevel=2,
        )
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError(
                "Passing `context_fn` or `debug` is only supported when use_reentrant=False."
            )
        return CheckpointFunction.apply(function, preserve, *args)
    if determinism_check not in ("default", "none"):
        raise ValueError(
            f"determinism_check should be one of ['default', 'none'], but got {determinism_check}"
        )
    return _non_reentrant(function, preserve, context_fn, args, kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Runs a Sequential (or list of modules/functions) in `segments` checkpointed
    chunks; the last chunk runs normally."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should "
            "be passed explicitly. In version 2.9 we will raise an exception if use_reentrant "
            "is not passed. use_reentrant=False is recommended, but if you need to preserve "
            "the current default behavior, you can pass use_reentrant=True. Refer to docs for "
            "more details on the differences between the two variants.",
            stacklevel=2,
        )
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    from ..nn import Sequential

    if isinstance(functions, Sequential):
        functions = list(functions.children())

    def run(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x

        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(
            run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve
        )
    return run(end + 1, len(functions) - 1)(input)
