"""Higher-level differentiation of whole functions, as ``torch.autograd.functional``.

Everything here is built on reverse mode (``autograd.grad``). ``jvp`` and
``hvp`` use the double-backward trick: the backward of a function is linear
in its incoming gradient ``u``, so differentiating ``u -> J^T u`` with
respect to ``u`` in the direction ``v`` gives ``J v``. The dummy ``u`` never
appears in the second graph, so its value does not matter (zeros are used).

Inputs and outputs are a Tensor or a tuple of Tensors; results mirror that
structure. ``create_graph`` keeps the results differentiable; ``strict``
raises where an output is independent of an input instead of giving zeros.
"""

from .. import _C
from .._grad_mode import enable_grad, set_grad_enabled

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


# --------------------------------------------------------------------------
# Tuples in, tuples out
# --------------------------------------------------------------------------


def _tupled(value, what, fn_name):
    """(was it a tuple, value as a tuple of Tensors), refusing anything else."""
    was_tuple = isinstance(value, tuple)
    items = value if was_tuple else (value,)
    for i, item in enumerate(items):
        if isinstance(item, _C.Tensor):
            continue
        where = f"the value at index {i}" if was_tuple else f"the given {what}"
        raise TypeError(
            f"The {what} given to {fn_name} must be either a Tensor or a tuple of Tensors but "
            f"{where} has type {type(item)}."
        )
    return was_tuple, items


def _untupled(result, was_tuple):
    """Undoes _tupled: a single result comes back bare when the argument was bare."""
    return result if was_tuple else result[0]


def _untupled2(result, outer_was_tuple, inner_was_tuple):
    """Undoes two levels of _tupled (Jacobian blocks: per output, then per input)."""
    if not inner_was_tuple:
        result = tuple(row[0] for row in result)
    return result if outer_was_tuple else result[0]


def _fresh(tensors, create_graph, need_graph):
    """New tensor objects for the inputs, so the function's use of them can be
    told apart from the same tensors captured by closure. Under create_graph an
    input that requires grad stays connected (a view of itself)."""
    out = []
    for t in tensors:
        if create_graph and t.requires_grad:
            out.append(t.view_as(t))
        else:
            out.append(t.detach().requires_grad_(need_graph))
    return tuple(out)


def _finished(tensors, create_graph):
    """Results without history unless create_graph asked for it (nested tuples too)."""
    if create_graph:
        return tensors
    return tuple(
        t.detach() if isinstance(t, _C.Tensor) else _finished(t, create_graph) for t in tensors
    )


def _check_v(v, against, against_was_tuple):
    if len(v) != len(against):
        if against_was_tuple:
            raise RuntimeError(
                f"v is a tuple of invalid length: should be {len(against)} but got {len(v)}."
            )
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (vi, ai) in enumerate(zip(v, against)):
        if vi.shape != ai.shape:
            where = f"Entry {i} in " if against_was_tuple else ""
            raise RuntimeError(
                f"{where}v has invalid size: should be {ai.size()} but got {vi.size()}."
            )


_STRICT_NO_GRAD = {
    "outputs": lambda i: (
        f"Output {i} of the user-provided function does not require gradients. The outputs "
        "must be computed in a differentiable manner from the input when running in strict mode."
    ),
    "grad_inputs": lambda i: (
        f"The gradient with respect to input {i} is independent of the inputs of the "
        "user-provided function. This is not allowed in strict mode."
    ),
    "jacobian": lambda i: (
        "While computing the hessian, found that the jacobian of the user-provided function "
        f"with respect to input {i} is independent of the input. This is not allowed in strict "
        "mode. You should ensure that your function is twice differentiable and that the "
        "jacobian depends on the inputs (this would be violated by a linear function for "
        "example)."
    ),
    "hessian": lambda i: (
        f"The hessian of the user-provided function with respect to input {i} is independent "
        "of the input. This is not allowed in strict mode. You should ensure that your "
        "function is thrice differentiable and that the hessian depends on the inputs."
    ),
}


def _require_grad_in_strict(tensors, kind, strict):
    """In strict mode, every tensor must carry a graph (None: no gradient at all)."""
    if not strict:
        return
    for i, t in enumerate(tensors):
        if t is None:
            raise RuntimeError(
                f"The output of the user-provided function is independent of input {i}. "
                "This is not allowed in strict mode."
            )
        if not t.requires_grad:
            raise RuntimeError(_STRICT_NO_GRAD[kind](i))


def _grad_allowing_none(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """autograd.grad over the outputs that require grad; None where nothing flows."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return _C._grad(
        [o for o, _ in pairs],
        list(inputs),
        [g for _, g in pairs] if any(g is not None for _, g in pairs) else None,
        retain_graph,
        create_graph,
        True,
    )


_STAGE_MESSAGES = {
    "back": lambda i: (
        f"The output of the user-provided function is independent of input {i}. "
        "This is not allowed in strict mode."
    ),
    "back_trick": lambda i: (
        f"The gradient with respect to the input is independent of entry {i} in the "
        "grad_outputs when using the double backward trick to compute forward mode "
        "gradients. This is not allowed in strict mode."
    ),
    "double_back": lambda i: (
        f"The jacobian of the user-provided function is independent of input {i}. "
        "This is not allowed in strict mode."
    ),
    "double_back_trick": lambda i: (
        "The hessian of the user-provided function is independent of entry "
        f"{i} in the grad_jacobian. This is not allowed in strict mode as it prevents from "
        "using the double backward trick to replace forward mode AD."
    ),
}


def _zeros_for_missing(grads, like, strict, create_graph, stage):
    """Zeros where no gradient arrived (or strict's error for that stage)."""
    out = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_STAGE_MESSAGES[stage](i))
            g = _C.zeros_like(like[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(
                f"The {what} of the user-provided function is independent of input {i}. "
                "This is not allowed in strict mode when create_graph=True."
            )
        out.append(g)
    return tuple(out)


def _call(func, inputs, fn_name, strict):
    was_tuple, outputs = _tupled(func(*inputs), "outputs of the user-provided function", fn_name)
    _require_grad_in_strict(outputs, "outputs", strict)
    return was_tuple, outputs


def _vector_or_default(v, against, against_was_tuple, fn_name, create_graph, default_message):
    if v is None:
        if len(against) != 1 or against[0].numel() != 1:
            raise RuntimeError(default_message)
        return None
    _, v = _tupled(v, "v", fn_name)
    v = _fresh(v, create_graph, need_graph=False)
    _check_v(v, against, against_was_tuple)
    return v


_V_FOR_SCALAR_INPUT = (
    "The vector v can only be None if the input to the user-provided function is a single "
    "Tensor with a single element."
)


# --------------------------------------------------------------------------
# Products with the Jacobian
# --------------------------------------------------------------------------


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product at ``inputs``."""
    with enable_grad():
        inputs_were_tuple, inputs = _tupled(inputs, "inputs", "vjp")
        inputs = _fresh(inputs, create_graph, need_graph=True)
        outputs_were_tuple, outputs = _call(func, inputs, "vjp", strict)
        v = _vector_or_default(
            v,
            outputs,
            outputs_were_tuple,
            "vjp",
            create_graph,
            "The vector v can only be None if the user-provided function returns a single "
            "Tensor with a single element.",
        )
    with set_grad_enabled(create_graph or _C.is_grad_enabled()):
        grads = _grad_allowing_none(outputs, inputs, v, create_graph)
        result = _zeros_for_missing(grads, inputs, strict, create_graph, "back")
    return (
        _untupled(_finished(outputs, create_graph), outputs_were_tuple),
        _untupled(_finished(result, create_graph), inputs_were_tuple),
    )


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, by the double-backward trick."""
    with enable_grad():
        inputs_were_tuple, inputs = _tupled(inputs, "inputs", "jvp")
        inputs = _fresh(inputs, create_graph, need_graph=True)
        v = _vector_or_default(
            v, inputs, inputs_were_tuple, "jvp", create_graph, _V_FOR_SCALAR_INPUT
        )
        outputs_were_tuple, outputs = _call(func, inputs, "jvp", strict)
        # u -> J^T u is linear in u: any finite u gives the same second graph.
        dummies = tuple(_C.zeros_like(o).requires_grad_(True) for o in outputs)
        grads_in = _grad_allowing_none(outputs, inputs, dummies, create_graph=True)
        _require_grad_in_strict(grads_in, "grad_inputs", strict)
    with set_grad_enabled(create_graph or _C.is_grad_enabled()):
        grads = _grad_allowing_none(grads_in, dummies, v, create_graph)
        result = _zeros_for_missing(grads, outputs, strict, create_graph, "back_trick")
    return (
        _untupled(_finished(outputs, create_graph), outputs_were_tuple),
        _untupled(_finished(result, create_graph), outputs_were_tuple),
    )


# --------------------------------------------------------------------------
# Jacobians and Hessians
# --------------------------------------------------------------------------

_STRATEGIES = ("forward-mode", "reverse-mode")


def jacobian(
    func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"
):
    """The Jacobian of ``func`` at ``inputs``: one block per (output, input) pair of
    shape ``output.shape + input.shape``, nested as the output and input tuples.

    ``vectorize=True`` is accepted and gives the same values (rows are computed
    one at a time, as ``vectorize=False`` does). ``strategy="forward-mode"``
    runs one forward-mode pass per input element.
    """
    if strategy not in _STRATEGIES:
        raise AssertionError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
            'function has more outputs than inputs, "forward-mode" tends to be more '
            'performant. Otherwise, prefer to use "reverse-mode".'
        )
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "ember.autograd.functional.jacobian: `create_graph=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either '
                'set `create_graph=False` or `strategy="reverse-mode"`.'
            )
        return _jacobian_forward(func, inputs, strict, vectorize)

    with enable_grad():
        inputs_were_tuple, inputs = _tupled(inputs, "inputs", "jacobian")
        inputs = _fresh(inputs, create_graph, need_graph=True)
        outputs_were_tuple, outputs = _call(func, inputs, "jacobian", strict)
        if vectorize and strict:
            raise RuntimeError(
                "ember.autograd.functional.jacobian: `strict=True` and `vectorized=True` are "
                "not supported together. Please either set `strict=False` or "
                "`vectorize=False`."
            )
        blocks = tuple(
            _jacobian_rows(i, out, inputs, create_graph, strict) for i, out in enumerate(outputs)
        )
    return _untupled2(_finished(blocks, create_graph), outputs_were_tuple, inputs_were_tuple)


def _jacobian_rows(i, out, inputs, create_graph, strict):
    """d out / d inputs, one reverse pass per element of ``out``."""
    rows = tuple([] for _ in inputs)
    flat = out.reshape(-1)
    for k in range(out.numel()):
        grads = _grad_allowing_none((flat[k],), inputs, None, create_graph, retain_graph=True)
        for j, (g, inp) in enumerate(zip(grads, inputs)):
            if g is None:
                if strict:
                    raise RuntimeError(
                        f"Output {i} of the user-provided function is independent of input "
                        f"{j}. This is not allowed in strict mode."
                    )
                g = _C.zeros_like(inp)
            elif strict and create_graph and not g.requires_grad:
                raise RuntimeError(
                    f"The jacobian of the user-provided function is independent of input {i}. "
                    "This is not allowed in strict mode when create_graph=True."
                )
            rows[j].append(g)
    # An empty output has no rows: stack raises, as torch's jacobian does.
    return tuple(
        _C.stack(r, 0).reshape(tuple(out.shape) + tuple(inp.shape)) for r, inp in zip(rows, inputs)
    )


def _jacobian_forward(func, inputs, strict, vectorize):
    """Columns of the Jacobian from one forward-mode pass per input element."""
    if strict:
        raise RuntimeError(
            "ember.autograd.functional.jacobian: `strict=True` and "
            '`strategy="forward-mode"` are not supported together (yet). Please either set '
            '`strict=False` or `strategy="reverse-mode"`.'
        )
    inputs_were_tuple, inputs = _tupled(inputs, "inputs", "jacobian")
    if not vectorize:
        raise NotImplementedError(
            "Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
            "only implemented for `vectorize=True`."
        )
    from . import forward_ad as fwad

    columns = None  # columns[out][inp]: list of tangents, one per input element
    outputs_were_tuple = False
    primals = None
    for j, inp in enumerate(inputs):
        for k in range(inp.numel()):
            with fwad.dual_level():
                duals = []
                for jj, other in enumerate(inputs):
                    tangent = _C.zeros_like(other)
                    if jj == j:
                        tangent.reshape(-1)[k] = 1.0
                    duals.append(fwad.make_dual(other, tangent))
                outputs_were_tuple, outs = _tupled(func(*duals), "outputs", "jacobian")
                unpacked = [fwad.unpack_dual(o) for o in outs]
            primals = [u[0] for u in unpacked]
            if columns is None:
                columns = [[[] for _ in inputs] for _ in outs]
            for o, (primal, tangent) in enumerate(unpacked):
                columns[o][j].append(_C.zeros_like(primal) if tangent is None else tangent)
    blocks = tuple(
        tuple(
            _C.stack(columns[o][j], -1).reshape(tuple(primals[o].shape) + tuple(inp.shape))
            if columns[o][j]
            else _C.zeros(tuple(primals[o].shape) + tuple(inp.shape), dtype=inp.dtype)
            for j, inp in enumerate(inputs)
        )
        for o in range(len(primals))
    )
    return _untupled2(_finished(blocks, False), outputs_were_tuple, inputs_were_tuple)


def hessian(
    func,
    inputs,
    create_graph=False,
    strict=False,
    vectorize=False,
    outer_jacobian_strategy="reverse-mode",
):
    """The Hessian of a scalar function: blocks nested per pair of inputs."""
    inputs_were_tuple, inputs = _tupled(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in _STRATEGIES:
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def scalar_func(*args):
        out = func(*args)
        was_tuple, outs = _tupled(out, "outputs of the user-provided function", "hessian")
        _require_grad_in_strict(outs, "outputs", strict)
        if was_tuple or not isinstance(out, _C.Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError(
                "The Tensor returned by the function given to hessian should contain a single "
                "element"
            )
        return out.squeeze()

    def gradient(*args):
        if outer_jacobian_strategy == "forward-mode":
            args = tuple(a.requires_grad_(True) for a in args)
        jac = jacobian(scalar_func, args, create_graph=True)
        _require_grad_in_strict(jac, "jacobian", strict)
        return jac

    result = jacobian(
        gradient,
        inputs,
        create_graph=create_graph,
        strict=strict,
        vectorize=vectorize,
        strategy=outer_jacobian_strategy,
    )
    return _untupled2(result, inputs_were_tuple, inputs_were_tuple)


def _single_scalar_output(outputs, outputs_were_tuple, fn_name):
    if outputs_were_tuple or not isinstance(outputs[0], _C.Tensor):
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(
            f"The Tensor returned by the function given to {fn_name} should contain a single "
            "element"
        )


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar function."""
    with enable_grad():
        inputs_were_tuple, inputs = _tupled(inputs, "inputs", "vhp")
        inputs = _fresh(inputs, create_graph, need_graph=True)
        v = _vector_or_default(
            v, inputs, inputs_were_tuple, "vhp", create_graph, _V_FOR_SCALAR_INPUT
        )
        outputs_were_tuple, outputs = _call(func, inputs, "vhp", strict)
        _single_scalar_output(outputs, outputs_were_tuple, "vhp")
        jac = _grad_allowing_none(outputs, inputs, create_graph=True)
        _require_grad_in_strict(jac, "jacobian", strict)
    with set_grad_enabled(create_graph or _C.is_grad_enabled()):
        grads = _grad_allowing_none(jac, inputs, v, create_graph)
        result = _zeros_for_missing(grads, inputs, strict, create_graph, "double_back")
    return (
        _untupled(_finished(outputs, create_graph), outputs_were_tuple),
        _untupled(_finished(result, create_graph), inputs_were_tuple),
    )


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar function, by the double-backward trick."""
    with enable_grad():
        inputs_were_tuple, inputs = _tupled(inputs, "inputs", "hvp")
        inputs = _fresh(inputs, create_graph, need_graph=True)
        v = _vector_or_default(
            v, inputs, inputs_were_tuple, "hvp", create_graph, _V_FOR_SCALAR_INPUT
        )
        outputs_were_tuple, outputs = _call(func, inputs, "hvp", strict)
        _single_scalar_output(outputs, outputs_were_tuple, "hvp")
        jac = _grad_allowing_none(outputs, inputs, create_graph=True)
        _require_grad_in_strict(jac, "jacobian", strict)
        dummies = tuple(_C.zeros_like(x).requires_grad_(True) for x in inputs)
        double_back = _grad_allowing_none(jac, inputs, dummies, create_graph=True)
        _require_grad_in_strict(jac, "hessian", strict)
    with set_grad_enabled(create_graph or _C.is_grad_enabled()):
        grads = _grad_allowing_none(double_back, dummies, v, create_graph)
        result = _zeros_for_missing(grads, inputs, strict, create_graph, "double_back_trick")
    return (
        _untupled(_finished(outputs, create_graph), outputs_were_tuple),
        _untupled(_finished(result, create_graph), inputs_were_tuple),
    )
