"""ember.autograd: backward() and grad() over any number of outputs."""

from .. import _C
from .._grad_mode import enable_grad, no_grad, set_grad_enabled  # noqa: F401
from . import forward_ad, functional  # noqa: F401
from .anomaly_mode import detect_anomaly, set_detect_anomaly  # noqa: F401
from .function import Function, FunctionCtx, once_differentiable  # noqa: F401
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: F401


def _as_list(x):
    if x is None:
        return None
    if isinstance(x, _C.Tensor):
        return [x]
    return list(x)


def _paired(outputs, grads):
    """outputs and one gradient each; like torch, extra gradients are ignored."""
    outputs, grads = _as_list(outputs), _as_list(grads)
    if grads is not None and len(grads) < len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grads)} gradients")
    return outputs, grads if grads is None else grads[: len(outputs)]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulates gradients of `tensors` into the leaves' .grad."""
    outputs, grads = _paired(tensors, grad_tensors)
    _C._backward(outputs, grads, retain_graph, create_graph, _as_list(inputs))


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    only_inputs=True,
    allow_unused=None,
    is_grads_batched=False,
    materialize_grads=False,
):
    """Returns the gradients of `outputs` w.r.t. `inputs` as a tuple, leaving .grad alone."""
    if is_grads_batched:
        raise NotImplementedError("ember.autograd.grad does not support is_grads_batched")
    if not _as_list(inputs):
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    outputs, grad_outputs = _paired(outputs, grad_outputs)
    result = _C._grad(
        outputs,
        _as_list(inputs),
        grad_outputs,
        retain_graph,
        create_graph,
        bool(allow_unused) or materialize_grads,
    )
    if materialize_grads:
        result = tuple(
            _C.zeros_like(i) if g is None else g for g, i in zip(result, _as_list(inputs))
        )
    return result
