"""nn.utils.weight_norm and nn.utils.spectral_norm (and their remove_*): a
module's weight recomputed before every forward from parameters that train
better.

weight_norm splits the weight into a direction v and a magnitude g (one per
slice along `dim`): weight = g * v / ||v||. spectral_norm divides the weight by
an estimate of its largest singular value, refined by one power iteration per
training-mode forward (u and v are buffers, so the estimate persists). Both
follow torch's parameter and buffer names, initial values and random draws, so
state dicts move between the libraries.
"""

import warnings

from .._grad_mode import no_grad
from .modules import Parameter

_HOOKS = "_reparametrized_weights"


def _hooks(module):
    hooks = module.__dict__.get(_HOOKS)
    if hooks is None:
        hooks = {}
        object.__setattr__(module, _HOOKS, hooks)
    return hooks


def _install(module, name, kind, compute):
    hooks = _hooks(module)
    if (name, kind) in hooks:
        label = "weight_norm" if kind == "weight_norm" else "spectral_norm"
        raise RuntimeError(f"Cannot register two {label} hooks on the same parameter {name}")
    handle = module.register_forward_pre_hook(lambda m, args: setattr(m, name, compute(m)))
    hooks[(name, kind)] = (handle, compute)


def _uninstall(module, name, kind, label):
    entry = _hooks(module).pop((name, kind), None)
    if entry is None:
        raise ValueError(f"{label} of '{name}' not found in {module}")
    entry[0].remove()
    return entry[1]


# ---- weight norm ----


def _norm_except(v, dim):
    """||v|| over every dim but `dim` (all of v for dim None), keeping v's rank."""
    if dim is None:
        return v.norm()
    dim = dim % v.dim()
    others = [d for d in range(v.dim()) if d != dim]
    return v.norm(2, others, keepdim=True) if others else v.abs()


def weight_norm(module, name="weight", dim=0):
    warnings.warn(
        "`torch.nn.utils.weight_norm` is deprecated in favor of "
        "`torch.nn.utils.parametrizations.weight_norm`.",
        FutureWarning,
        stacklevel=2,
    )
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"`weight_norm` cannot be applied as parameter `{name}` is None")
    if dim == -1:
        dim = None
    delattr(module, name)
    module.register_parameter(name + "_g", Parameter(_norm_except(weight, dim).detach()))
    module.register_parameter(name + "_v", Parameter(weight.detach()))

    def compute(m):
        v, g = getattr(m, name + "_v"), getattr(m, name + "_g")
        return v * (g / _norm_except(v, dim))

    setattr(module, name, compute(module))
    _install(module, name, "weight_norm", compute)
    return module


def remove_weight_norm(module, name="weight"):
    compute = _uninstall(module, name, "weight_norm", "weight_norm")
    weight = compute(module)
    delattr(module, name)
    del module._parameters[name + "_g"]
    del module._parameters[name + "_v"]
    module.register_parameter(name, Parameter(weight.detach()))
    return module


# ---- spectral norm ----


def _as_matrix(weight, dim):
    if dim != 0:
        weight = weight.permute(dim, *[d for d in range(weight.dim()) if d != dim])
    return weight.reshape(weight.shape[0], -1)


def _unit(x, eps):
    return x / x.norm().clamp(min=eps)


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    if dim is None:
        transposed = type(module).__name__.startswith("ConvTranspose")
        dim = 1 if transposed else 0
    if n_power_iterations <= 0:
        raise ValueError(
            "Expected n_power_iterations to be positive, but got "
            f"n_power_iterations={n_power_iterations}"
        )
    if (name, "spectral_norm") in _hooks(module):
        raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
    with no_grad():
        rows, cols = _as_matrix(weight, dim).shape
        u = _unit(weight.new_empty(rows).normal_(0, 1), eps)
        v = _unit(weight.new_empty(cols).normal_(0, 1), eps)
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, weight.detach())
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)

    def compute(m, power_iteration=None):
        matrix = _as_matrix(getattr(m, name + "_orig"), dim)
        u, v = getattr(m, name + "_u"), getattr(m, name + "_v")
        if m.training if power_iteration is None else power_iteration:
            with no_grad():  # refine the singular vectors in place (they are buffers)
                for _ in range(n_power_iterations):
                    v.copy_(_unit(matrix.t().mv(u), eps))
                    u.copy_(_unit(matrix.mv(v), eps))
                u, v = u.clone(), v.clone()
        sigma = u.dot(matrix.mv(v))
        return getattr(m, name + "_orig") / sigma

    _install(module, name, "spectral_norm", compute)
    return module


def remove_spectral_norm(module, name="weight"):
    compute = _uninstall(module, name, "spectral_norm", "spectral_norm")
    with no_grad():
        weight = compute(module, power_iteration=False)
    delattr(module, name)
    for suffix in ("_u", "_v"):
        del module._buffers[name + suffix]
    del module._parameters[name + "_orig"]
    module.register_parameter(name, Parameter(weight.detach()))
    return module
