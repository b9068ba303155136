"""BatchedTensor and the dispatch that routes Ember's functions to batching rules.

Note [Batching by dispatch]
vmap runs the user's function once, on BatchedTensors. A BatchedTensor holds a
physical ``value`` whose dim 0 is the mapped dimension and shows the rest as
its logical shape. Ember's functions are C++ builtins that know nothing of
BatchedTensors, so while a vmap runs, the public modules (``ember``,
``ember.nn.functional``, ``ember.linalg``, ``ember.special``) switch their
class to one whose attribute lookup returns dispatching wrappers. A call with a
BatchedTensor among its arguments goes to the op's batching rule, or, for an op
without one, to a loop over the batch that warns once per op (as torch's
fallback does). Any other call goes straight to the original function, so other
threads see the same results while a vmap runs, only a little slower. Switching
a module's class costs the same however many functions it holds, so entering
vmap is cheap; outside vmap nothing is wrapped and nothing slows down.
BatchedTensor's methods and operators go through the same rules by name.

Levels: a nested vmap wraps again. A BatchedTensor of level L holds a value
whose own BatchedTensors have levels below L, so the innermost physical tensor
(the base) holds the mapped dims outermost first. A rule for level L works on
the values of that level's arguments and calls the dispatching functions
again, which hands arguments batched at lower levels to their own rules.
"""

import functools
import operator
import sys
import threading
import types
import warnings

from .. import _C

_state = threading.local()
_Tensor = _C.Tensor  # bound once: _C's attributes dispatch while a vmap runs


def active_levels():
    """[(level, batch size, randomness)] of the vmaps running in this thread, outermost first."""
    stack = getattr(_state, "levels", None)
    if stack is None:
        stack = _state.levels = []
    return stack


class BatchedTensor:
    """A tensor inside vmap: ``value`` with the mapped dim at 0, seen without it."""

    __slots__ = ("_value", "_level", "__weakref__")

    def __init__(self, value, level):
        self._value = value
        self._level = level

    # ---- logical metadata ----
    @property
    def shape(self):
        return self._value.shape[1:]

    def size(self, dim=None):
        shape = self.shape
        if dim is None:
            return shape
        return shape[normalized_dim(dim, len(shape))]

    def dim(self):
        return self._value.dim() - 1

    ndim = property(dim)

    def ndimension(self):
        return self.dim()

    def numel(self):
        return self.shape.numel()

    nelement = numel

    def __len__(self):
        if self.dim() == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.dim() == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    dtype = property(lambda self: self._value.dtype)
    device = property(lambda self: self._value.device)
    is_cuda = property(lambda self: False)
    requires_grad = property(lambda self: self._value.requires_grad)
    grad_fn = property(lambda self: self._value.grad_fn)
    is_leaf = property(lambda self: self._value.is_leaf)
    data = property(lambda self: BatchedTensor(self._value.data, self._level))
    T = property(lambda self: self._method("permute")(*reversed(range(self.dim()))))
    mT = property(lambda self: self._method("transpose")(-2, -1))

    def is_floating_point(self):
        return self._value.is_floating_point()

    def is_complex(self):
        return False

    def element_size(self):
        return self._value.element_size()

    def __repr__(self):
        inner = repr(self._value).replace("\n", "\n    ")
        return f"BatchedTensor(lvl={self._level}, bdim=0, value=\n    {inner}\n)"

    __hash__ = object.__hash__

    # ---- data-dependent Python conversions: refused, as torch's vmap does ----
    def item(self):
        raise RuntimeError(
            "vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over "
            "calling .item() on a Tensor, please try to rewrite what you're doing with other "
            "operations. If error is occurring somewhere inside PyTorch internals, please file "
            "a bug report."
        )

    tolist = item
    __float__ = __int__ = __index__ = item

    def __bool__(self):
        raise RuntimeError(
            "vmap: It looks like you're attempting to use a Tensor in some data-dependent "
            "control flow. We don't support that yet, please file an issue at "
            "https://github.com/pytorch/pytorch/issues ."
        )

    def numpy(self):
        raise RuntimeError("vmap: a BatchedTensor cannot be converted to a NumPy array")

    # ---- methods: every other Tensor method goes through the batching rules ----
    def _method(self, name):
        return functools.partial(dispatch_method, name, self)

    def __getattr__(self, name):
        """Tensor's method `name`, defined on the class at first use (later lookups are
        ordinary method lookups)."""
        if name.startswith("_") or not hasattr(_Tensor, name):
            raise AttributeError(f"'BatchedTensor' object has no attribute '{name}'")
        setattr(BatchedTensor, name, _batched_method(name))
        return getattr(self, name)


def _operator(name, fn):
    def method(self, *args):
        return dispatch(name, fn, fn, (self, *args), {})

    method.__name__ = name
    return method


BINARY_OPERATORS = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
    "and": operator.and_,
    "or": operator.or_,
    "xor": operator.xor,
    "lshift": operator.lshift,
    "rshift": operator.rshift,
}
for _name, _fn in BINARY_OPERATORS.items():
    setattr(BatchedTensor, f"__{_name}__", _operator(f"__{_name}__", _fn))
    setattr(
        BatchedTensor,
        f"__r{_name}__",
        _operator(f"__r{_name}__", lambda a, b, _fn=_fn: _fn(b, a)),
    )
    _inplace = getattr(operator, "i" + _name)
    setattr(BatchedTensor, f"__i{_name}__", _operator(f"__i{_name}__", _inplace))
for _name in ("eq", "ne", "lt", "le", "gt", "ge", "neg", "pos", "abs", "invert"):
    setattr(BatchedTensor, f"__{_name}__", _operator(f"__{_name}__", getattr(operator, _name)))
BatchedTensor.__matmul__ = _operator("__matmul__", operator.matmul)
BatchedTensor.__rmatmul__ = _operator("__rmatmul__", lambda a, b: operator.matmul(b, a))
BatchedTensor.__getitem__ = _operator("__getitem__", operator.getitem)
BatchedTensor.__setitem__ = _operator("__setitem__", operator.setitem)


# --------------------------------------------------------------------------
# dispatch
# --------------------------------------------------------------------------


def top_level(args, kwargs):
    """The highest vmap level among the arguments (lists and tuples searched one deep)."""
    level = None
    for a in (*args, *kwargs.values()):
        if type(a) is BatchedTensor:
            if level is None or a._level > level:
                level = a._level
        elif type(a) in (list, tuple):
            for b in a:
                if type(b) is BatchedTensor and (level is None or b._level > level):
                    level = b._level
    return level


def dispatch(key, redo, original, args, kwargs):
    """Calls the batching rule for `key` (or the loop fallback) at the arguments' top
    level; `redo` re-dispatches, `original` is Ember's own function."""
    level = top_level(args, kwargs)
    if level is None:
        rule = RANDOM_FACTORIES.get(key)
        if rule is not None and active_levels():
            return rule(original, args, kwargs)
        return original(*args, **kwargs)
    rule = RULES.get(key)
    if rule is None:
        return loop_fallback(key, redo, level, args, kwargs)
    return rule(level, redo, args, kwargs, key)


def _call_method(name, self, *args, **kwargs):
    return getattr(self, name)(*args, **kwargs)


@functools.cache
def _method_caller(name):
    return functools.partial(_call_method, name)


def dispatch_method(name, self, *args, **kwargs):
    caller = _method_caller(name)
    return dispatch(name, caller, caller, (self, *args), kwargs)


def _batched_method(name):
    caller = _method_caller(name)
    unary = getattr(RULES.get(name), "__name__", "") == "elementwise" and not is_inplace(name)

    def method(self, *args, **kwargs):
        if unary and not args and not kwargs:  # x.exp(): the op on the value, nothing else
            return BatchedTensor(getattr(self._value, name)(), self._level)
        return dispatch(name, caller, caller, (self, *args), kwargs)

    method.__name__ = name
    return method


RULES = {}  # key -> rule(level, redo, args, kwargs, key); filled by _batching_rules
RANDOM_FACTORIES = {}  # key -> rule(original, args, kwargs): factories called inside vmap


# --------------------------------------------------------------------------
# values, wrapping and the loop fallback
# --------------------------------------------------------------------------


def is_tensor(x):
    return isinstance(x, (_Tensor, BatchedTensor))


def batched_at(x, level):
    return type(x) is BatchedTensor and x._level == level


def unwrapped(x, level):
    """The physical value of a BatchedTensor of `level`; anything else unchanged."""
    return x._value if type(x) is BatchedTensor and x._level == level else x


def wrapped(result, level):
    """`result` of a rule with each tensor marked batched at `level`."""
    if is_tensor(result):
        return BatchedTensor(result, level)
    if isinstance(result, tuple):
        items = [wrapped(r, level) for r in result]
        return type(result)(*items) if hasattr(result, "_fields") else type(result)(items)
    if isinstance(result, list):
        return [wrapped(r, level) for r in result]
    return result


def to_base(x):
    """(the physical tensor under every level, the levels outermost first)."""
    levels = []
    while type(x) is BatchedTensor:
        levels.append(x._level)
        x = x._value
    return x, levels[::-1]


def from_base(base, levels):
    """The inverse of to_base: `base` seen through `levels` (outermost first)."""
    for level in levels:
        base = BatchedTensor(base, level)
    return base


def batched_at_every_level(x):
    """x batched at every vmap level running in this thread, an unbatched input
    repeated along the missing levels: one backward pass through it then gives
    per-sample gradients (the samples never mix)."""
    running = active_levels()
    base, levels = to_base(x)
    if len(levels) == len(running):
        return x
    for position, (level, size, _) in enumerate(running):
        if level not in levels:
            shape = list(base.shape)
            shape.insert(position, size)
            base = base.unsqueeze(position).expand(*shape)
    return from_base(base, [level for level, _, _ in running])


def batch_size(level, args, kwargs):
    for a in (*args, *kwargs.values()):
        for b in a if type(a) in (list, tuple) else (a,):
            if batched_at(b, level):
                return b._value.shape[0]
    raise AssertionError("no argument is batched at this level")


def normalized_dim(dim, rank):
    low, high = (-1, 0) if rank == 0 else (-rank, rank - 1)
    if not low <= dim <= high:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{low}, {high}], but got {dim})"
        )
    return dim + rank if dim < 0 else dim


_warned = set()


def loop_fallback(key, redo, level, args, kwargs, warn=True):
    """The op applied sample by sample and stacked: right for any op, but slow."""
    if warn and key not in _warned:
        _warned.add(key)
        warnings.warn(
            f"There is a performance drop because we have not yet implemented the batching "
            f"rule for {key}. The op runs once per sample and the results are stacked.",
            UserWarning,
            stacklevel=3,
        )
    results = [
        redo(*_sample(args, level, b), **_sample(kwargs, level, b))
        for b in range(batch_size(level, args, kwargs))
    ]
    if is_inplace(key):
        return args[0]
    if key == "__setitem__":
        return None
    return _stacked(results, level)


INPLACE_DUNDERS = {f"__i{name}__" for name in BINARY_OPERATORS}


def is_inplace(key):
    """Whether the op writes into its first argument (add_, __iadd__, ...)."""
    return (key.endswith("_") and not key.endswith("__")) or key in INPLACE_DUNDERS


NOT_BATCHED = object()


def per_sample_inside_vmap(name, call, args):
    """call(*args) once per sample when an argument is batched (a transform without a
    batching rule, such as forward-mode AD), stacked; NOT_BATCHED otherwise."""
    from ._pytree import tree_flatten, tree_unflatten

    flat, spec = tree_flatten(args)
    level = top_level(flat, {})
    if level is None:
        return NOT_BATCHED
    return loop_fallback(name, lambda *a: call(*tree_unflatten(list(a), spec)), level, flat, {})


def loops_inside_vmap(forward):
    """A layer's forward that runs once per sample when given a BatchedTensor
    (layers whose kernels have no batching rules, such as the recurrent ones)."""

    @functools.wraps(forward)
    def wrapper(self, *args, **kwargs):
        if args and _holds_batched_leaf(args):
            looped = per_sample_inside_vmap(
                type(self).__name__, lambda *a: forward(self, *a, **kwargs), args
            )
            if looped is not NOT_BATCHED:
                return looped
        return forward(self, *args, **kwargs)

    return wrapper


def _holds_batched_leaf(tree):
    if type(tree) is BatchedTensor:
        return True
    if isinstance(tree, (tuple, list)):
        return any(_holds_batched_leaf(t) for t in tree)
    return False


def _sample(tree, level, b):
    if isinstance(tree, dict):
        return {k: _sample(v, level, b) for k, v in tree.items()}
    if type(tree) in (list, tuple):
        return type(tree)(_sample(v, level, b) for v in tree)
    return tree._value[b] if batched_at(tree, level) else tree


def _stacked(results, level):
    first = results[0]
    if is_tensor(first):
        return BatchedTensor(ember_module().stack(results), level)
    if isinstance(first, tuple):
        columns = [_stacked(list(col), level) for col in zip(*results)]
        return type(first)(*columns) if hasattr(first, "_fields") else tuple(columns)
    if isinstance(first, list):
        return [_stacked(list(col), level) for col in zip(*results)]
    if any(r != first for r in results[1:]):
        raise RuntimeError(
            "vmap: an op returned a Python value that differs between samples; return a "
            "Tensor instead"
        )
    return first


# --------------------------------------------------------------------------
# the dispatching modules
# --------------------------------------------------------------------------

_MODULES = {
    "ember": "",
    "ember.nn.functional": "nn.functional.",
    "ember.linalg": "linalg.",
    "ember.special": "special.",
    "ember._C": None,  # the package's own Python code calls these; keyed by public name
    "ember._C._nn": None,
    "ember._C._linalg": None,
}
_wrappers = {}
_lock = threading.Lock()
_active = 0


def ember_module():
    return sys.modules["ember"]


def _wrapper(key, original):
    cached = _wrappers.get(key)
    if cached is not None and cached[0] is original:
        return cached[1]

    def dispatching(*args, **kwargs):
        return dispatch(key, dispatching, original, args, kwargs)

    functools.update_wrapper(dispatching, original)
    _wrappers[key] = (original, dispatching)
    return dispatching


_WRAPPABLE = (types.BuiltinFunctionType, types.FunctionType)


def dispatching_version(fn):
    """The dispatching wrapper of `fn` when it is one of the public modules' functions
    (vmap(ember.sin) was handed the function before any dispatch started)."""
    for module_name, prefix in _MODULES.items():
        module = sys.modules.get(module_name)
        name = getattr(fn, "__name__", None)
        if module is not None and name and vars(module).get(name) is fn:
            return _wrapper(prefix + name, fn)
    return fn


class _DispatchingModule(types.ModuleType):
    def __getattribute__(self, name):
        value = types.ModuleType.__getattribute__(self, name)
        if isinstance(value, _WRAPPABLE) and not name.startswith("__"):
            prefix = _MODULES[types.ModuleType.__getattribute__(self, "__name__")]
            key = _public_key(value, name) if prefix is None else prefix + name
            return _wrapper(key, value)
        return value


@functools.cache
def _public_names():
    """{id(function): its public key} over the public modules."""
    names = {}
    for module_name, prefix in _MODULES.items():
        module = sys.modules.get(module_name)
        if prefix is None or module is None:
            continue
        for name, value in vars(module).items():
            if isinstance(value, _WRAPPABLE) and not name.startswith("_"):
                names.setdefault(id(value), prefix + name)
    return names


def _public_key(value, name):
    return _public_names().get(id(value), name)


_plain_item_access = (_Tensor.__getitem__, _Tensor.__setitem__)


def _tensor_getitem(self, index):
    if _holds_batched(index):
        return dispatch("__getitem__", operator.getitem, operator.getitem, (self, index), {})
    return _plain_item_access[0](self, index)


def _tensor_setitem(self, index, value):
    if type(value) is BatchedTensor or _holds_batched(index):
        dispatch("__setitem__", operator.setitem, operator.setitem, (self, index, value), {})
        return
    _plain_item_access[1](self, index, value)


def _holds_batched(index):
    if type(index) is tuple:
        return any(type(i) is BatchedTensor for i in index)
    return type(index) is BatchedTensor


def enter_dispatch():
    """Note [Batching by dispatch]: route the public modules through the rules, and
    plain tensors' indexing too (x[batched_index], x[i] = batched_value)."""
    global _active
    with _lock:
        _active += 1
        if _active == 1:
            for module in _public_modules():
                module.__class__ = _DispatchingModule
            _Tensor.__getitem__ = _tensor_getitem
            _Tensor.__setitem__ = _tensor_setitem


def exit_dispatch():
    global _active
    with _lock:
        _active -= 1
        if _active == 0:
            for module in _public_modules():
                module.__class__ = types.ModuleType
            _Tensor.__getitem__, _Tensor.__setitem__ = _plain_item_access


_loaded_modules = []


def _public_modules():
    """The public modules loaded so far (ember.special etc. load on first use)."""
    if len(_loaded_modules) < len(_MODULES):
        _loaded_modules[:] = [sys.modules[n] for n in _MODULES if n in sys.modules]
    return _loaded_modules
