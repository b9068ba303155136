"""gradcheck and gradgradcheck: autograd's gradients against central differences.

As torch's (slow mode): for every input element that requires grad, the
numerical Jacobian perturbs it by +-eps; the analytical one backpropagates
each output element in turn. Jacobians are laid out (input element, output
element), and a mismatch raises GradcheckError with both, as in torch.
"""

import warnings

import numpy as np

from .. import _C


class GradcheckError(RuntimeError):
    """Raised by gradcheck when the gradients disagree."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _differentiable(inputs):
    return [
        (k, x)
        for k, x in enumerate(inputs)
        if isinstance(x, _C.Tensor) and x.requires_grad and x.is_floating_point()
    ]


def _float_outputs(func, inputs):
    return [y for y in _as_tuple(func(*inputs)) if y.is_floating_point()]


def _differentiable_outputs(func, inputs):
    """The outputs with a graph, as torch's gradgradcheck takes them (a float
    output marked non-differentiable, like linalg.lu's P, is left out)."""
    return [y for y in _as_tuple(func(*inputs)) if y.requires_grad]


def _numerical_jacobians(func, inputs, wrt, eps):
    """For each (k, x) in wrt: a list, per output, of (x.numel(), y.numel()) Jacobians.

    func runs with grad mode on and its inputs still requiring grad, so a func
    that differentiates inside (gradgradcheck's) works on the moved inputs too.
    """
    sizes = [y.numel() for y in _float_outputs(func, inputs)]
    jacobians = []
    for k, x in wrt:
        per_output = [_C.zeros((x.numel(), n), dtype=x.dtype) for n in sizes]
        for i in range(x.numel()):
            ends = []
            for step in (eps, -eps):
                moved = x.detach().clone()
                moved.view(-1)[i] += step
                changed = list(inputs)
                changed[k] = moved.requires_grad_()
                ends.append([y.detach() for y in _float_outputs(func, changed)])
            for jac, hi, lo in zip(per_output, *ends):
                jac[i] = (hi - lo).reshape(-1).to(x.dtype) / (2 * eps)
        jacobians.append(per_output)
    return jacobians


def _analytical_jacobians(func, inputs, wrt):
    outputs = _float_outputs(func, inputs)
    leaves = [x for _, x in wrt]
    jacobians = [[_C.zeros((x.numel(), y.numel()), dtype=x.dtype) for y in outputs] for x in leaves]
    for j, y in enumerate(outputs):
        for e in range(y.numel()):
            pick = _C.zeros(y.numel(), dtype=y.dtype)
            pick[e] = 1
            if not y.requires_grad:
                continue
            grads = _C._grad([y], leaves, [pick.view(y.shape)], True, False, True)
            for n, g in enumerate(grads):
                if g is not None:
                    jacobians[n][j][:, e] = g.reshape(-1).to(leaves[n].dtype)
    return jacobians


_UNSUPPORTED_MODES = (
    "fast_mode",
    "check_forward_ad",
    "check_batched_grad",
    "check_batched_forward_grad",
    "check_fwd_over_rev",
)


def gradcheck(
    func,
    inputs,
    *,
    eps=1e-6,
    atol=1e-5,
    rtol=1e-3,
    raise_exception=True,
    nondet_tol=0.0,
    **unsupported,
):
    """True if func's gradients match finite differences for every input and output."""
    del nondet_tol  # Ember's backward is deterministic
    for name in _UNSUPPORTED_MODES:
        if unsupported.pop(name, False):
            raise NotImplementedError(f"ember's gradcheck has no {name} (no forward-mode AD)")
    # The remaining flags turn on checks Ember's slow mode does anyway or has no use for.
    inputs = _as_tuple(inputs)
    wrt = _differentiable(inputs)
    if not wrt:
        raise ValueError(
            "gradcheck expects at least one input tensor to require gradient, but none of them "
            "have requires_grad=True."
        )
    for k, x in wrt:
        if x.dtype != _C.float64:
            warnings.warn(
                f"Input #{k} requires gradient and is not a double precision floating point or "
                "complex. This check will likely fail if all the inputs are not of double "
                "precision floating point or complex. ",
                stacklevel=2,
            )
    numerical = _numerical_jacobians(func, inputs, wrt, eps)
    analytical = _analytical_jacobians(func, inputs, wrt)
    for (k, _), num_per_output, ana_per_output in zip(wrt, numerical, analytical):
        for j, (num, ana) in enumerate(zip(num_per_output, ana_per_output)):
            if not np.allclose(ana.numpy(), num.numpy(), rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                raise GradcheckError(
                    f"Jacobian mismatch for output {j} with respect to input {k},\n"
                    f"numerical:{num}\nanalytical:{ana}\n"
                )
    return True


def gradgradcheck(
    func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **kw
):
    """gradcheck of the gradients themselves (the graph built with create_graph=True)."""
    inputs = _as_tuple(inputs)
    wrt = _differentiable(inputs)
    outputs = _differentiable_outputs(func, inputs)
    if grad_outputs is None:
        grad_outputs = [_C.randn(y.shape, dtype=y.dtype, requires_grad=True) for y in outputs]
    grad_outputs = list(_as_tuple(grad_outputs))
    n_inputs = len(inputs)

    def first_derivatives(*args):
        outs = _differentiable_outputs(func, args[:n_inputs])
        leaves = [args[k] for k, _ in wrt]
        grads = _C._grad(outs, leaves, list(args[n_inputs:]), True, True, True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(
        first_derivatives,
        inputs + tuple(grad_outputs),
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        **kw,
    )
