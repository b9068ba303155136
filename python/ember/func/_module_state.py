"""Calling a Module with substitute parameters and buffers: ``functional_call`` and
``stack_module_state``, as torch.func's."""

import contextlib
from collections.abc import Sequence

from .. import _C


def _merged(parameter_and_buffer_dicts):
    if isinstance(parameter_and_buffer_dicts, dict):
        return parameter_and_buffer_dicts
    if isinstance(parameter_and_buffer_dicts, Sequence):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError(
                "Expected all elements of parameter_and_buffer_dicts to be dictionaries"
            )
        counts = {}
        for d in parameter_and_buffer_dicts:
            for k in d:
                counts[k] = counts.get(k, 0) + 1
        repeated = [k for k, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(
                f"{repeated} appeared in multiple dictionaries; behavior of functional call "
                "is ambiguous"
            )
        return {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    raise ValueError(
        "Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
        f"{type(parameter_and_buffer_dicts)}"
    )


def _tensor_names(module):
    """{id(tensor): every dotted name it is registered under} (tied tensors share one)."""
    names = {}
    for prefix, m in module.named_modules(remove_duplicate=False):
        for store in ("_parameters", "_buffers"):
            for name, t in getattr(m, store).items():
                if t is not None:
                    full = f"{prefix}.{name}" if prefix else name
                    names.setdefault(id(t), []).append(full)
    return names


def _untied(module, given):
    """`given` with each value also under the other names of a tied tensor."""
    groups = [set(g) for g in _tensor_names(module).values() if len(g) > 1]
    result = dict(given)
    for group in groups:
        named = sorted(group & given.keys())
        if not named:
            continue
        if len({id(given[n]) for n in named}) > 1:
            raise ValueError(
                f"functional_call got multiple values for keys {sorted(group)}, which are "
                "tied. Consider using tie_weights=False"
            )
        for n in group:
            result[n] = given[named[0]]
    return result


def _owner(module, dotted):
    *path, leaf = dotted.split(".")
    for part in path:
        module = getattr(module, part)
    return module, leaf


def _check_keys(module, tensors):
    known = set()
    for prefix, m in module.named_modules(remove_duplicate=False):
        for store in ("_parameters", "_buffers"):
            for name in getattr(m, store):
                known.add(f"{prefix}.{name}" if prefix else name)
    unexpected = sorted(set(tensors) - known)
    missing = sorted(known - set(tensors))
    errors = []
    if unexpected:
        errors.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        errors.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if errors:
        raise RuntimeError(
            "Error(s) in reparametrizing for {}:\n\t{}".format(
                type(module).__name__, "\n\t".join(errors)
            )
        )


@contextlib.contextmanager
def _swapped(module, tensors):
    """Puts `tensors` in place of the named parameters/buffers, restoring them after.
    The member dicts are written directly: a plain tensor may stand in for a Parameter."""
    saved = []
    try:
        for dotted, value in tensors.items():
            owner, name = _owner(module, dotted)
            for store in ("_parameters", "_buffers"):
                members = getattr(owner, store)
                if name in members:
                    saved.append((members, name, members[name]))
                    members[name] = value
                    break
            else:
                saved.append((owner.__dict__, name, owner.__dict__.get(name, _MISSING)))
                owner.__dict__[name] = value
        yield
    finally:
        for members, name, old in reversed(saved):
            if old is _MISSING:
                members.pop(name, None)
            else:
                members[name] = old


_MISSING = object()


def functional_call(
    module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False
):
    """module(*args, **kwargs) with its parameters and buffers replaced by the given tensors
    (by dotted name) for this call only."""
    tensors = _merged(parameter_and_buffer_dicts)
    if tie_weights:
        tensors = _untied(module, tensors)
    if strict:
        _check_keys(module, tensors)
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _swapped(module, tensors):
        return module(*args, **kwargs)


def _stacked_leaf(tensors, name):
    all_grad = all(t.requires_grad for t in tensors)
    if not all_grad and any(t.requires_grad for t in tensors):
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    result = _C.stack(list(tensors), 0)
    return result.detach().requires_grad_() if all_grad else result


def stack_module_state(models):
    """(params, buffers): each model's parameters and buffers stacked along a new first
    dim, by name; the stacked parameters are new leaves."""
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or not any(m.training for m in models)):
        raise RuntimeError(
            "stack_module_state: Expected all models to have the same training/eval mode."
        )
    if not all(type(m) is type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    all_params = [dict(m.named_parameters()) for m in models]
    params = {k: _stacked_leaf([p[k] for p in all_params], k) for k in all_params[0]}
    all_buffers = [dict(m.named_buffers()) for m in models]
    buffers = {k: _stacked_leaf([b[k] for b in all_buffers], k) for k in all_buffers[0]}
    return params, buffers
