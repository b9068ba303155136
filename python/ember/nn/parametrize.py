"""nn.utils.parametrize: a module tensor computed from `original` tensors by
small modules, every time it is read.

register_parametrization(module, "weight", P) moves the weight to
module.parametrizations.weight.original (or original0, original1, ... when P's
right_inverse splits it), and turns module.weight into a property that returns
P(original). Assigning module.weight runs right_inverse back into the
originals. The module's class is swapped for a subclass holding the property
(named Parametrized<Class>, as torch's), so state dicts, reprs and optimizers
see what torch's do.
"""

import contextlib

from .._grad_mode import no_grad
from .container import ModuleDict, ModuleList
from .modules import Module, Parameter

_cache = None  # {(id(list), name): tensor} inside cached(), else None


@contextlib.contextmanager
def cached():
    """Within the block, each parametrized tensor is computed once per read site."""
    global _cache
    outer = _cache
    _cache = {} if outer is None else outer
    try:
        yield
    finally:
        _cache = outer


def _set_original(module, name, value):
    if isinstance(value, Parameter) or name in module._parameters:
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _assign_into(original, value):
    """original takes value's data in place, keeping the object optimizers hold."""
    with no_grad():
        if tuple(original.shape) == tuple(value.shape):
            original.copy_(value)
        else:
            original.data = value.detach().clone()


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, in registration order, and its originals."""

    def __init__(self, modules, original, unsafe=False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = tuple(original.shape), original.dtype
        with no_grad():
            new = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        self.is_tensor = not isinstance(new, (list, tuple))
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new.dtype != original.dtype:
                raise ValueError(
                    "When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                    f"original.dtype: {original.dtype}\nright_inverse(original).dtype: {new.dtype}"
                )
            if new is not original:
                _assign_into(original, new)
            _set_original(self, "original", original)
        else:
            for i, part in enumerate(new):
                if isinstance(original, Parameter):
                    part = Parameter(part.detach().clone(), original.requires_grad)
                _set_original(self, f"original{i}", part)
        if not unsafe:
            value = self()
            if value.dtype != dtype:
                raise ValueError(
                    "Registering a parametrization may not change the dtype of the tensor, unless "
                    f"`unsafe` flag is enabled.\nunparametrized dtype: {dtype}\n"
                    f"parametrized dtype: {value.dtype}"
                )
            if tuple(value.shape) != shape:
                raise ValueError(
                    "Registering a parametrization may not change the shape of the tensor, unless "
                    f"`unsafe` flag is enabled.\nunparametrized shape: {original.shape}\n"
                    f"parametrized shape: {value.shape}"
                )

    def originals(self):
        if self.is_tensor:
            return (self.original,)
        return tuple(getattr(self, f"original{i}") for i in range(self.ntensors))

    def right_inverse(self, value):
        with no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(
                        f"parametrization {type(module).__name__} does not implement right_inverse."
                    )
                value = module.right_inverse(value)
        parts = (value,) if self.is_tensor else tuple(value)
        if len(parts) != self.ntensors:
            raise ValueError(
                "'right_inverse' must return a sequence of tensors of length "
                f"{self.ntensors}. Got a sequence of length {len(parts)}."
            )
        for original, part in zip(self.originals(), parts):
            _assign_into(original, part)

    def forward(self):
        modules = list(self)
        value = modules[0](*self.originals())
        for module in modules[1:]:
            value = module(value)
        return value


def _parametrized_class(module):
    """A subclass of the module's class with a property per parametrized tensor."""
    cls = type(module)
    if getattr(cls, "_is_parametrized_class", False):
        return cls
    return type(f"Parametrized{cls.__name__}", (cls,), {"_is_parametrized_class": True})


def _add_property(cls, name):
    def read(self):
        parametrization = self.parametrizations[name]
        if _cache is None:
            return parametrization()
        key = (id(parametrization), name)
        if key not in _cache:
            _cache[key] = parametrization()
        return _cache[key]

    def write(self, value):
        self.parametrizations[name].right_inverse(value)

    setattr(cls, name, property(read, write))


def is_parametrized(module, tensor_name=None):
    parametrizations = module.__dict__.get("_modules", {}).get("parametrizations")
    if parametrizations is None or not isinstance(parametrizations, ModuleDict):
        return False
    return tensor_name is None or tensor_name in parametrizations


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    if not isinstance(parametrization, Module):
        raise TypeError("A parametrization must be an nn.Module")
    if is_parametrized(module, tensor_name):
        chain = module.parametrizations[tensor_name]
        if not unsafe:
            before = getattr(module, tensor_name)
            after = parametrization(before)
            if tuple(after.shape) != tuple(before.shape) or after.dtype != before.dtype:
                raise ValueError(
                    "Registering a parametrization may not change the shape or dtype of the "
                    "tensor, unless the `unsafe` flag is enabled."
                )
        chain.append(parametrization)
        chain.unsafe |= unsafe
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(
            f"Module '{module}' does not have a parameter, a buffer, or a parametrized element "
            f"with name '{tensor_name}'"
        )
    original = getattr(module, tensor_name)
    chain = ParametrizationList([parametrization], original, unsafe=unsafe)
    module._parameters.pop(tensor_name, None)
    module._buffers.pop(tensor_name, None)
    if not is_parametrized(module):
        module.parametrizations = ModuleDict()
        object.__setattr__(module, "__class__", _parametrized_class(module))
    module.parametrizations[tensor_name] = chain
    _add_property(type(module), tensor_name)
    return module


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    chain = module.parametrizations[tensor_name]
    if leave_parametrized:
        with no_grad():
            value = getattr(module, tensor_name)
        if chain.is_tensor:
            original = chain.original
            _assign_into(original, value)
        else:
            original = Parameter(value.detach().clone())
    else:
        if not chain.is_tensor:
            raise ValueError(
                "Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
                "parametrized in terms of a sequence of tensors."
            )
        original = chain.original
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _set_original(module, tensor_name, original)
    if len(module.parametrizations) == 0:
        del module.parametrizations
        object.__setattr__(module, "__class__", type(module).__bases__[0])
    return module


def type_before_parametrizations(module):
    cls = type(module)
    return cls.__bases__[0] if getattr(cls, "_is_parametrized_class", False) else cls
