"""Custom differentiable operations: ``ember.autograd.Function``, as in torch.

A subclass defines ``forward(ctx, *args)`` (or ``forward(*args)`` plus
``setup_context(ctx, inputs, output)``) and ``backward(ctx, *grad_outputs)``,
and is called through ``apply``. The graph node is C++ (Note [Python
functions] in python/src/function_node.cpp); this module holds the ctx object
and the calling convention.
"""

import functools
import warnings

from .. import _C
from .._grad_mode import enable_grad, no_grad
from ..func._batched import (
    BatchedTensor,
    active_levels,
    batched_at,
    loop_fallback,
    top_level,
    unwrapped,
)


class FunctionCtx:
    """The ``ctx`` passed to forward/setup_context and backward."""

    def save_for_backward(self, *tensors):
        self.to_save = tensors

    def save_for_forward(self, *tensors):
        """Tensors ``jvp`` reads back as ``ctx.saved_tensors``."""
        self.to_save_for_forward = tensors

    @property
    def saved_tensors(self):
        saved = getattr(self, "_saved_tensors", None)
        if saved is None:
            if getattr(self, "to_save", None) is None:
                return ()
            raise RuntimeError("saved_tensors can only be read inside backward()")
        return saved

    def mark_non_differentiable(self, *tensors):
        self.non_differentiable = tensors

    @property
    def saved_variables(self):
        warnings.warn(
            "'saved_variables' is deprecated; use 'saved_tensors'", DeprecationWarning, stacklevel=2
        )
        return self.saved_tensors

    def mark_dirty(self, *tensors):
        """Declares arguments the forward modified in place; they must be returned."""
        self.dirty_tensors = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


BackwardCFunction = _C.BackwardCFunction


def _read_through_ctx(node, name):
    """Attributes a forward set on ctx (and needs_input_grad) read from the node, as
    torch's grad_fn of a custom Function is its ctx."""
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return getattr(node._ctx, name)
    except AttributeError:
        raise AttributeError(f"'{type(node).__name__}' object has no attribute '{name}'") from None


class VmapInfo:
    """What a Function's ``vmap`` staticmethod learns about the batch."""

    def __init__(self, batch_size, randomness):
        self.batch_size = batch_size
        self.randomness = randomness


def _apply_inside_vmap(cls, args, kwargs):
    """Function.apply on BatchedTensors: the ``vmap`` staticmethod on the physical
    values, or with ``generate_vmap_rule`` one application per sample."""
    if cls.setup_context is Function.setup_context:
        raise RuntimeError(
            "In order to use an autograd.Function with functorch transforms (vmap, grad, jvp, "
            "jacrev, ...), it must override the setup_context staticmethod. For more details, "
            "please see https://pytorch.org/docs/main/notes/extending.func.html"
        )
    level = top_level(args, kwargs)
    if cls.vmap is not Function.vmap:
        size, randomness = next((n, r) for lvl, n, r in active_levels() if lvl == level)
        in_dims = tuple(0 if batched_at(a, level) else None for a in args)
        values = [unwrapped(a, level) for a in args]
        output, out_dims = cls.vmap(VmapInfo(size, randomness), in_dims, *values, **kwargs)
        if isinstance(output, tuple):
            dims = out_dims if isinstance(out_dims, tuple) else (out_dims,) * len(output)
            return tuple(_batched_output(o, d, level) for o, d in zip(output, dims))
        return _batched_output(output, out_dims, level)
    if cls.generate_vmap_rule:
        return loop_fallback(cls.__name__, cls.apply, level, args, kwargs, warn=False)
    raise RuntimeError(
        f"You tried to vmap over {cls.__name__}, but it does not have vmap support. Please "
        "override and implement the vmap staticmethod or set generate_vmap_rule=True. For more "
        "details, please see https://pytorch.org/docs/main/notes/extending.func.html"
    )


def _batched_output(output, out_dim, level):
    if out_dim is None:
        return output
    return BatchedTensor(output.movedim(out_dim, 0) if out_dim else output, level)


class FunctionMeta(type):
    """Gives each Function subclass its own node class, ``<Name>Backward``, as torch's:
    ``type(Cube.apply(x).grad_fn).__name__ == "CubeBackward"``."""

    def __init__(cls, name, bases, attrs):
        namespace = {
            # No slots added: instances keep the base's layout, so the bindings
            # can give an existing node object this class.
            "__slots__": (),
            "_forward_cls": cls,
            "__module__": __name__,
            "__getattr__": _read_through_ctx,
        }
        if "_node_name" not in attrs:
            # <ember.autograd.function.CubeBackward object at 0x...>, as torch's; a
            # Function standing in for a torch op keeps the op node's repr.
            namespace["__repr__"] = object.__repr__
        cls._backward_cls = type(
            attrs.get("_node_name", name + "Backward"), (BackwardCFunction,), namespace
        )
        super().__init__(name, bases, attrs)


class Function(metaclass=FunctionMeta):
    """Base class for custom autograd operations; call them with ``apply``."""

    # Inside vmap: run once per sample (True), or through the ``vmap`` staticmethod.
    generate_vmap_rule = False

    def __init__(self, *args, **kwargs):
        warnings.warn(
            f"{self.__class__} should not be instantiated. Methods on autograd functions are "
            "all static, so you should invoke them on the class itself. Instantiating an "
            "autograd function will raise an error in a future version of PyTorch.",
            DeprecationWarning,
            stacklevel=2,
        )

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD."
        )

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with "
            "forward mode AD."
        )

    @staticmethod
    def vmap(info, in_dims, *args):
        """(output, out_dims) of the Function over a batch: `info.batch_size`,
        `info.randomness`; `in_dims` holds each argument's mapped dim or None."""
        raise NotImplementedError("vmap is not implemented.")

    @classmethod
    def apply(cls, *args, **kwargs):
        if kwargs:  # like torch: keywords are bound to forward's positions
            args, kwargs = _positional(cls, args, kwargs)
        if any(isinstance(a, BatchedTensor) for a in args):
            return _apply_inside_vmap(cls, args, kwargs)
        ctx = FunctionCtx()
        records = _C.is_grad_enabled()
        ctx.needs_input_grad = tuple(
            records and isinstance(a, _C.Tensor) and a.requires_grad for a in args
        )
        separate_setup = cls.setup_context is not Function.setup_context
        tangents = _input_tangents(args)
        with no_grad(), _FormulaScope(tangents is not None):
            if separate_setup:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        if tangents is not None:
            output_tangents = _run_jvp(cls, ctx, tangents)
        if not any(ctx.needs_input_grad):
            if tangents is not None:
                _set_output_tangents(output, output_tangents)
            return output
        single = not isinstance(output, tuple)
        outputs = (output,) if single else output
        dirty = tuple(getattr(ctx, "dirty_tensors", ()))
        # A dirty view is rebased through copy_ (CopySlices on its base), as a
        # built-in in-place op on a view is: the node records a copy of it.
        dirty_views = {id(t): t for t in dirty if t._is_view() and any(t is a for a in args)}
        if dirty_views:
            with no_grad():
                outputs = tuple(
                    o.clone() if isinstance(o, _C.Tensor) and id(o) in dirty_views else o
                    for o in outputs
                )
        tensors = tuple(o for o in outputs if isinstance(o, _C.Tensor))
        recorded = iter(
            _C._record_function(
                # Ember's own Functions standing in for a torch op take its node name.
                getattr(cls, "_node_name", cls.__name__ + "Backward"),
                cls._backward_cls,
                _backward_over_all_outputs(cls.backward, outputs),
                ctx,
                args,
                tensors,
                tuple(getattr(ctx, "to_save", None) or ()),
                tuple(getattr(ctx, "non_differentiable", ())),
                tuple(t for t in dirty if id(t) not in dirty_views),
                getattr(ctx, "materialize_grads", True),
            )
        )
        ctx.to_save = None  # the node holds them now
        ctx.dirty_tensors = ()
        result = tuple(next(recorded) if isinstance(o, _C.Tensor) else o for o in outputs)
        if dirty_views:
            result = tuple(
                _write_back(output, r, dirty_views)
                for output, r in zip((output,) if single else output, result)
            )
        result = result[0] if single else result
        if tangents is not None:
            _set_output_tangents(result, output_tangents)
        return result


class _FormulaScope:
    """While active, Ember's ops compute no tangents: a custom Function's forward
    and jvp see its dual inputs as plain values, as torch's do."""

    def __init__(self, active):
        self.active = active

    def __enter__(self):
        if self.active:
            _C._enter_formula_scope()

    def __exit__(self, *exc):
        if self.active:
            _C._exit_formula_scope()


def _input_tangents(args):
    """One tangent per argument (zeros for a tensor without one, None for a
    non-tensor), or None when no argument carries a tangent."""
    if not _C._current_dual_level():
        return None
    found = [_C._tangent(a) if isinstance(a, _C.Tensor) else None for a in args]
    if all(t is None for t in found):
        return None
    return tuple(
        t if t is not None or not isinstance(a, _C.Tensor) else _C.zeros_like(a)
        for a, t in zip(args, found)
    )


def _run_jvp(cls, ctx, tangents):
    """cls.jvp(ctx, *tangents), reading save_for_forward's tensors as saved_tensors."""
    saved = getattr(ctx, "to_save_for_forward", None) or ()
    # jvp reads primals, as torch's: their tangents arrive as its arguments.
    ctx._saved_tensors = tuple(_C._primal(t) if isinstance(t, _C.Tensor) else t for t in saved)
    try:
        with _FormulaScope(True):
            return cls.jvp(ctx, *tangents)
    finally:
        ctx._saved_tensors = None


def _set_output_tangents(output, output_tangents):
    outputs = output if isinstance(output, tuple) else (output,)
    found = output_tangents if isinstance(output_tangents, tuple) else (output_tangents,)
    if len(found) != len(outputs):
        raise RuntimeError(
            f"jvp() returned {len(found)} tangents but forward() returned {len(outputs)} outputs"
        )
    for o, t in zip(outputs, found):
        if isinstance(o, _C.Tensor) and t is not None:
            _C._set_tangent(o, t)


def _write_back(original, recorded, dirty_views):
    """The dirty view itself, now holding the node's result through copy_."""
    view = dirty_views.get(id(original)) if isinstance(original, _C.Tensor) else None
    if view is None:
        return recorded
    with enable_grad():
        view.copy_(recorded)
    return view


_TWICE = "trying to differentiate twice a function that was marked with @once_differentiable"


def once_differentiable(fn):
    """Marks a backward as not differentiable again, as torch's: under
    create_graph its gradients exist, but differentiating them raises."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        if not _C.is_grad_enabled() or not any(
            isinstance(a, _C.Tensor) and a.requires_grad for a in args
        ):
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        where = [
            i for i, o in enumerate(outs) if isinstance(o, _C.Tensor) and o.is_floating_point()
        ]
        if not where:
            return outputs
        flagged = _DelayedError.apply(*[outs[i].detach().requires_grad_() for i in where])
        flagged = flagged if isinstance(flagged, tuple) else (flagged,)
        result = list(outs)
        for i, t in zip(where, flagged):
            result[i] = t
        return result[0] if single else tuple(result)

    return wrapper


class _DelayedError(Function):
    """Passes gradients of a once_differentiable backward on; its own backward raises."""

    _node_name = "DelayedError"

    @staticmethod
    def forward(ctx, *tensors):
        out = tuple(t.clone() for t in tensors)
        return out[0] if len(out) == 1 else out

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(_TWICE)


def _backward_over_all_outputs(backward, outputs):
    """The node passes one gradient per tensor output; like torch, the user's
    backward takes one per output, None for those that are not tensors."""
    where = [i for i, o in enumerate(outputs) if isinstance(o, _C.Tensor)]
    if len(where) == len(outputs):
        return backward

    def with_nones(ctx, *grads):
        full = [None] * len(outputs)
        for i, g in zip(where, grads):
            full[i] = g
        return backward(ctx, *full)

    return with_nones


def _positional(cls, args, kwargs):
    """args and kwargs bound to forward's parameters: positional ones (defaults
    filled in) become args; keyword-only ones stay keywords."""
    import inspect

    signature = inspect.signature(cls.forward)
    separate_setup = cls.setup_context is not Function.setup_context
    leading = () if separate_setup else (None,)  # forward(ctx, ...) takes ctx first
    bound = signature.bind(*leading, *args, **kwargs)
    bound.apply_defaults()
    return bound.args[len(leading) :], bound.kwargs
