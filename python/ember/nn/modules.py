"""Modules: containers of parameters with a forward()."""

import copy
import itertools
import math
from collections import OrderedDict, namedtuple

from .. import _C
from .._device import check_device
from .._hooks import RemovableHandle
from .._tensor import _rebuild_tensor, _tensor_state
from . import functional as F
from . import init

_hook_ids = itertools.count()


class Parameter(_C.Tensor):
    """A tensor that is a module parameter: a leaf that requires grad by default."""

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = _C.empty(0)
        return _C.Tensor.__new__(cls)

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = _C.empty(0)
        super().__init__(data)
        self.requires_grad_(requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        copied = Parameter(self.detach().clone(), self.requires_grad)
        if self.grad is not None:
            copied.grad = copy.deepcopy(self.grad, memo)
        return copied

    def __reduce_ex__(self, protocol):
        # pickled as values + flag, rebuilt as a Parameter (the grad is not kept, as in torch)
        return (_rebuild_parameter, (_tensor_state(self), self.requires_grad))


def _rebuild_parameter(state, requires_grad):
    return Parameter(_rebuild_tensor(state), requires_grad)


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What load_state_dict returns: the keys it could not match."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _type_name(value):
    if isinstance(value, _C.Tensor):
        return _tensor_type_name(value)
    return type(value).__name__


def _tensor_type_name(t):
    # torch.typename: the legacy tensor type name ('torch.FloatTensor' and so on)
    legacy = {"float32": "Float", "float64": "Double", "int64": "Long", "bool": "Bool"}
    return f"ember.{legacy.get(repr(t.dtype).split('.')[-1], '')}Tensor"


def _check_member_name(kind, name, module):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')


class Module:
    """Base class: registers Parameters, buffers and sub-Modules assigned as attributes.

    As in torch, registered members live only in the three dicts (not in the instance
    __dict__), so assigning None, deleting or re-registering one can't leave a stale copy.
    """

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())

    # ----- registration -------------------------------------------------------

    def _members(self, name):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name} before Module.__init__() call")
        return self.__dict__

    def register_parameter(self, name, param):
        self._members("parameter")
        _check_member_name("parameter", name, self)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_type_name(param)}' object to parameter '{name}' "
                "(torch.nn.Parameter or None required)"
            )
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        self._members("buffer")
        _check_member_name("buffer", name, self)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, _C.Tensor):
            raise TypeError(
                f"cannot assign '{_type_name(tensor)}' object to buffer '{name}' "
                "(torch Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_type_name(module)} is not a Module subclass")
        _check_member_name("module", name, self)
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def _forget(self, name, keep):
        """Drop `name` from every member dict but `keep` (and from the plain attributes)."""
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store != keep:
                d[store].pop(name, None)
        if keep != "_buffers":
            d["_non_persistent_buffers_set"].discard(name)
        d.pop(name, None)

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            self._members("parameters")
            self._forget(name, "_parameters")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_type_name(value)}' as parameter '{name}' "
                    "(torch.nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Buffer):
            self._members("buffers")
            self._forget(name, "_buffers")
            self.register_buffer(name, value, value.persistent)
        elif isinstance(value, Module):
            self._members("child module")
            self._forget(name, "_modules")
            self._modules[name] = value
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_type_name(value)}' as child module '{name}' "
                    "(torch.nn.Module or None expected)"
                )
            d["_modules"][name] = None
        elif params is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, _C.Tensor):
                raise TypeError(
                    f"cannot assign '{_type_name(value)}' as buffer '{name}' "
                    "(torch.Tensor or None expected)"
                )
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # only reached when normal lookup fails; __dict__ may still be empty while
        # copy/pickle rebuild the object, so no attribute access through self here
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            members = d.get(store)
            if members is not None and name in members:
                return members[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in ("_parameters", "_buffers", "_modules"):
            members = self.__dict__.get(store)
            if members is not None and name in members:
                del members[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        members = [k for s in ("_parameters", "_buffers", "_modules") for k in self.__dict__[s]]
        return sorted(set(super().__dir__()) | set(members))

    # ----- traversal ----------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args, **kwargs):
        hooks = self.__dict__.get("_forward_hooks_by_kind")
        if not hooks:
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(hooks, args, kwargs)

    # ----- forward hooks --------------------------------------------------------
    # Kept in one dict, created by the first registration, so a module without
    # hooks pays one lookup per call. Each entry: id -> (hook, with_kwargs,
    # always_call); forward pre-hooks never set always_call.

    def _call_with_hooks(self, hooks, args, kwargs):
        for hook, with_kwargs, _ in list(hooks["pre"].values()):
            if with_kwargs:
                changed = hook(self, args, kwargs)
                if changed is not None:
                    if not (isinstance(changed, tuple) and len(changed) == 2):
                        raise RuntimeError(
                            "forward pre-hook must return None or a tuple of (new_args, "
                            f"new_kwargs), but got {changed}."
                        )
                    args, kwargs = changed
            else:
                changed = hook(self, args)
                if changed is not None:
                    args = changed if isinstance(changed, tuple) else (changed,)
        try:
            output = self.forward(*args, **kwargs)
        except Exception:
            # hooks registered with always_call run anyway (seeing no output), then the error
            for hook, with_kwargs, always_call in list(hooks["post"].values()):
                if always_call:
                    hook(self, args, kwargs, None) if with_kwargs else hook(self, args, None)
            raise
        for hook, with_kwargs, _ in list(hooks["post"].values()):
            changed = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if changed is not None:
                output = changed
        return output

    def _add_forward_hook(self, kind, hook, prepend, with_kwargs, always_call=False):
        hooks = self.__dict__.get("_forward_hooks_by_kind")
        if hooks is None:
            hooks = {"pre": OrderedDict(), "post": OrderedDict()}
            object.__setattr__(self, "_forward_hooks_by_kind", hooks)
        key = next(_hook_ids)
        hooks[kind][key] = (hook, with_kwargs, always_call)
        if prepend:
            hooks[kind].move_to_end(key, last=False)
        return RemovableHandle(lambda: hooks[kind].pop(key, None))

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """hook(module, args) runs before forward; a non-None result replaces args."""
        return self._add_forward_hook("pre", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """hook(module, args, output) runs after forward; a non-None result replaces output."""
        return self._add_forward_hook("post", hook, prepend, with_kwargs, always_call)

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Each module once (a module reachable twice is reported at its first name)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                sub = prefix + ("." if prefix else "") + name
                yield from m.named_modules(memo, sub, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and m not in seen:
                seen.add(m)
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
        for mprefix, m in mods if recurse else [(prefix, self)]:
            for name, v in getattr(m, store).items():
                # tensors hash by identity only through id(): == on tensors is elementwise
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield mprefix + ("." if mprefix else "") + name, v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def get_submodule(self, target):
        mod = self
        for item in target.split(".") if target else []:
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError("`" + item + "` is not an nn.Module")
        return mod

    # ----- conversion ---------------------------------------------------------

    def _apply(self, fn):
        """Convert every parameter (and its grad) and buffer with fn.

        As torch does on the CPU, parameters take the new values through ``.data``: the
        Parameter objects stay the same, so optimizers holding them keep working. Buffers
        are plain tensors and are replaced.
        """
        for m in self.modules():
            with _C_no_grad():
                for p in m._parameters.values():
                    if p is None:
                        continue
                    p.data = fn(p)
                    if p.grad is not None:
                        p.grad.data = fn(p.grad)
                for name, b in m._buffers.items():
                    if b is not None:
                        m._buffers[name] = fn(b)
        return self

    def to(self, *args, **kwargs):
        """to(dtype), to(device), to(device, dtype), to(tensor), to(dtype=..., device=...).

        Only floating-point parameters and buffers take the new dtype, as in torch.
        """
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to() received an invalid combination of arguments: {kwargs}")
        for a in args:
            if isinstance(a, _C.Tensor):
                dtype = a.dtype
            elif isinstance(a, _C.dtype):
                dtype = a
            elif not isinstance(a, bool):  # non_blocking may come positionally
                device = a
        if device is not None:
            check_device(device)
        if dtype is not None and not _is_floating_dtype(dtype):
            raise TypeError(
                "nn.Module.to only accepts floating point or complex dtypes, but got desired "
                f"dtype={dtype}"
            )
        if dtype is None:
            return self
        return self._apply(lambda t: t.to(dtype) if t.is_floating_point() else t)

    def float(self):
        return self._apply(lambda t: t.float() if t.is_floating_point() else t)

    def double(self):
        return self._apply(lambda t: t.double() if t.is_floating_point() else t)

    def cpu(self):
        return self

    def share_memory(self):
        """Parameters and buffers into shared memory, for processes forked later."""
        for t in [*self.parameters(), *self.buffers()]:
            t.share_memory_()
        return self

    def cuda(self, device=None):
        check_device("cuda")  # raises: Ember has no CUDA

    # ----- state dict ---------------------------------------------------------

    def _own_state(self):
        """This module's own (name, tensor) entries of the state dict, in torch's order."""
        for name, p in self._parameters.items():
            if p is not None:
                yield name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                yield name, b

    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        # torch doesn't deduplicate here: a module reachable twice gives both keys
        if destination is None:
            destination = OrderedDict()
        for name, t in self._own_state():
            destination[prefix + name] = t if keep_vars else t.detach()
        for name, m in self._modules.items():
            if m is not None:
                sub = prefix + name + "."
                m.state_dict(destination=destination, prefix=sub, keep_vars=keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True, assign=False):
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        own = self.state_dict(keep_vars=True)
        for k in own:
            if k in state_dict and not isinstance(state_dict[k], _C.Tensor):
                raise RuntimeError(
                    f"Error(s) in loading state_dict for {type(self).__name__}:\n\tWhile "
                    f'copying the parameter named "{k}", expected torch.Tensor or Tensor-like '
                    f"object from checkpoint but received {type(state_dict[k])}"
                )
        # Batch norm's step counter is newer than some checkpoints: torch keeps
        # the module's own when one lacks it.
        missing = [
            k for k in own if k not in state_dict and k.rpartition(".")[2] != "num_batches_tracked"
        ]
        unexpected = [k for k in state_dict if k not in own]
        errors = [
            f"size mismatch for {k}: copying a param with shape {state_dict[k].shape} from "
            f"checkpoint, the shape in current model is {own[k].shape}."
            for k in own
            if k in state_dict and tuple(state_dict[k].shape) != tuple(own[k].shape)
        ]
        if strict and unexpected:
            keys = ", ".join(f'"{k}"' for k in unexpected)
            errors.insert(0, f"Unexpected key(s) in state_dict: {keys}. ")
        if strict and missing:
            errors.insert(
                0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". "
            )
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        with _C_no_grad():
            for name, value in state_dict.items():
                if name in own:
                    own[name].copy_(value)
        return _IncompatibleKeys(missing, unexpected)

    # ----- printing -----------------------------------------------------------

    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        return ""

    def __repr__(self):
        # a one-line extra_repr and no children stay on one line; otherwise one item a line
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()
        ]
        if len(extra_lines) == 1 and not child_lines:
            return f"{self._get_name()}({extra_lines[0]})"
        lines = extra_lines + child_lines
        if not lines:
            return f"{self._get_name()}()"
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"


def _is_floating_dtype(dtype):
    return _C.empty(0, dtype=dtype).is_floating_point()


def _C_no_grad():
    from .._grad_mode import no_grad

    return no_grad()


def factory_dtype(device, dtype):
    """The dtype a module's `device=`/`dtype=` arguments ask for its parameters."""
    check_device(device)
    return _C._get_default_dtype() if dtype is None else dtype


class Linear(Module):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        dtype = factory_dtype(device, dtype)
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(_C.empty(out_features, in_features, dtype=dtype))
        self.bias = Parameter(_C.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        # torch's default: kaiming_uniform_(a=sqrt(5)) for the weight, U(-1/sqrt(fan_in), ..) bias.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class _BufferMeta(type(_C.Tensor)):
    # torch: isinstance(t, Buffer) also holds for tensors flagged as buffers
    def __instancecheck__(cls, instance):
        if cls is Buffer and getattr(instance, "_is_buffer", False):
            return True
        return super().__instancecheck__(instance)


class Buffer(_C.Tensor, metaclass=_BufferMeta):
    """A tensor that becomes a module buffer when assigned as an attribute;
    `persistent` says whether state_dict holds it."""

    _is_buffer = True

    def __new__(cls, data=None, *, persistent=True):
        return _C.Tensor.__new__(cls)

    def __init__(self, data=None, *, persistent=True):
        if data is None:
            data = _C.empty(0)
        super().__init__(data.detach())
        self.requires_grad_(data.requires_grad)
        self.persistent = persistent


class UninitializedParameter(Parameter):
    """The placeholder a lazy module holds until its first forward gives the shape."""

    def __repr__(self):
        return "<UninitializedParameter>"

    __str__ = __repr__

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes."
        )


class LazyLinear(Linear):
    """A Linear whose in_features come from its first input; it then becomes a Linear,
    initialized from the generator at that moment (as torch's)."""

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        Module.__init__(self)
        self._factory_dtype = factory_dtype(device, dtype)
        self.in_features = 0
        self.out_features = out_features
        self.weight = UninitializedParameter()
        self.bias = UninitializedParameter() if bias else None

    def has_uninitialized_params(self):
        return isinstance(self.weight, UninitializedParameter)

    def reset_parameters(self):
        if not self.has_uninitialized_params():
            super().reset_parameters()

    def forward(self, input):
        if self.has_uninitialized_params():
            self._materialize(input.shape[-1])
        return Linear.forward(self, input)

    def _materialize(self, in_features):
        dtype = self._factory_dtype
        self.in_features = in_features
        self.weight = Parameter(_C.empty(self.out_features, in_features, dtype=dtype))
        if self.bias is not None:
            self.bias = Parameter(_C.empty(self.out_features, dtype=dtype))
        del self._factory_dtype
        self.__class__ = Linear
        self.reset_parameters()


class Flatten(Module):
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Softmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        # stacklevel 5: the implicit-dim warning points at the line calling the module
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, input):
        return F.log_softmax(input, self.dim, _stacklevel=5)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ReLU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input, self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class SiLU(ReLU):
    def forward(self, input):
        return F.silu(input, self.inplace)


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Sigmoid(Module):
    def forward(self, input):
        return _C.sigmoid(input)


class Tanh(Module):
    def forward(self, input):
        return _C.tanh(input)


class Identity(Module):
    def __init__(self, *args, **kwargs):  # torch accepts and ignores any arguments
        super().__init__()

    def forward(self, input):
        return input


class Dropout(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class MSELoss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(MSELoss):
    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class NLLLoss(Module):
    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__()
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = reduction

    def forward(self, input, target):
        return F.nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class BCELoss(Module):
    def __init__(self, weight=None, reduction="mean"):
        super().__init__()
        self.weight = weight
        self.reduction = reduction

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class CrossEntropyLoss(NLLLoss):
    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, ignore_index, reduction)
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class BCEWithLogitsLoss(Module):
    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__()
        self.weight = weight
        self.reduction = reduction
        self.pos_weight = pos_weight

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


class SmoothL1Loss(MSELoss):
    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(MSELoss):
    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(MSELoss):
    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class CosineSimilarity(Module):
    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class MarginRankingLoss(Module):
    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.margin, self.reduction = margin, reduction

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, self.margin, reduction=self.reduction)


class HingeEmbeddingLoss(Module):
    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.margin, self.reduction = margin, reduction

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class SoftMarginLoss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class CosineEmbeddingLoss(Module):
    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.margin, self.reduction = margin, reduction

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(
            input1, input2, target, self.margin, reduction=self.reduction
        )


class TripletMarginLoss(Module):
    def __init__(
        self,
        margin=1.0,
        p=2.0,
        eps=1e-6,
        swap=False,
        size_average=None,
        reduce=None,
        reduction="mean",
    ):
        super().__init__()
        self.margin, self.p, self.eps, self.swap, self.reduction = margin, p, eps, swap, reduction

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(
            anchor,
            positive,
            negative,
            self.margin,
            self.p,
            self.eps,
            self.swap,
            reduction=self.reduction,
        )


class PoissonNLLLoss(Module):
    def __init__(
        self,
        log_input=True,
        full=False,
        size_average=None,
        eps=1e-8,
        reduce=None,
        reduction="mean",
    ):
        super().__init__()
        self.log_input, self.full, self.eps, self.reduction = log_input, full, eps, reduction

    def forward(self, log_input, target):
        return F.poisson_nll_loss(
            log_input, target, self.log_input, self.full, eps=self.eps, reduction=self.reduction
        )
