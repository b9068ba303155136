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
from .._grad_mode import no_grad


class FunctionCtx:
    """The ``ctx`` passed to forward/setup_context and backward."""

    def save_for_backward(self, *tensors):
        self.to_save = tensors

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

    def mark_dirty(self, *tensors):
        raise NotImplementedError(
            "ember.autograd.Function does not support in-place forward (mark_dirty); "
            "return a new tensor instead"
        )

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


class Function:
    """Base class for custom autograd operations; call them with ``apply``."""

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

    @classmethod
    def apply(cls, *args, **kwargs):
        if kwargs:  # like torch: keywords are bound to forward's positions
            args, kwargs = _positional(cls, args, kwargs)
        ctx = FunctionCtx()
        records = _C.is_grad_enabled()
        ctx.needs_input_grad = tuple(
            records and isinstance(a, _C.Tensor) and a.requires_grad for a in args
        )
        separate_setup = cls.setup_context is not Function.setup_context
        with no_grad():
            if separate_setup:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        if not any(ctx.needs_input_grad):
            return output
        single = not isinstance(output, tuple)
        outputs = (output,) if single else output
        tensors = tuple(o for o in outputs if isinstance(o, _C.Tensor))
        recorded = iter(
            _C._record_function(
                # Ember's own Functions standing in for a torch op take its node name.
                getattr(cls, "_node_name", cls.__name__ + "Backward"),
                _backward_over_all_outputs(cls.backward, outputs),
                ctx,
                args,
                tensors,
                tuple(getattr(ctx, "to_save", None) or ()),
                tuple(getattr(ctx, "non_differentiable", ())),
                getattr(ctx, "materialize_grads", True),
            )
        )
        ctx.to_save = None  # the node holds them now
        result = tuple(next(recorded) if isinstance(o, _C.Tensor) else o for o in outputs)
        return result[0] if single else result


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
