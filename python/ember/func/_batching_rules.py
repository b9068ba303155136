"""Batching rules: how each op runs on the physical values of BatchedTensors.

A rule takes (level, redo, args, kwargs, key=""): the vmap level it handles, the
dispatching function to call on physical values (it hands arguments batched at
lower levels to their own rules), and the call's arguments. Rules come in
families, each registered under every name it serves (function, method,
``nn.functional.``/``linalg.`` name); see Note [Batching by dispatch] in
``_batched.py``. An op without a rule falls back to a loop over the batch.
"""

import operator

from .. import _C
from ._batched import (
    BINARY_OPERATORS,
    RANDOM_FACTORIES,
    RULES,
    BatchedTensor,
    _stacked,
    active_levels,
    batch_size,
    batched_at,
    ember_module,
    is_inplace,
    is_tensor,
    loop_fallback,
    normalized_dim,
    unwrapped,
    wrapped,
)

_BOOL = _C.bool


def _register(rule, *keys):
    for key in keys:
        RULES[key] = rule


def _all_args(args, kwargs):
    return (*args, *kwargs.values())


def _with_batch_dims(value, count):
    """`value` (mapped dim first) with `count` size-1 dims after the mapped dim."""
    if count <= 0:
        return value
    return value[(slice(None),) + (None,) * count]


def _expanded(x, level, size):
    """x as a physical value batched at `level`: its value, or x repeated `size` times."""
    if batched_at(x, level):
        return x._value
    return x.unsqueeze(0).expand(size, *x.shape)


# --------------------------------------------------------------------------
# elementwise: tensors broadcast against each other, the mapped dim in front
# --------------------------------------------------------------------------


def raise_inplace_into_unbatched():
    raise RuntimeError(
        "vmap: inplace arithmetic(self, *extra_args) is not possible because there exists a "
        "Tensor `other` in extra_args that has more elements than `self`. This happened due to "
        "`other` being vmapped over but `self` not being vmapped over in a vmap. Please try to "
        "use out-of-place operators instead of inplace arithmetic. If said operator is being "
        "called inside the PyTorch framework, please file a bug report instead."
    )


def elementwise(level, redo, args, kwargs, key=""):
    if not kwargs and not is_inplace(key):
        if len(args) == 1:  # unary: the value as is
            return BatchedTensor(redo(args[0]._value), level)
        if len(args) == 2:  # binary: only the batched operand of lower rank needs new dims
            a, b = args
            a_batched, b_batched = batched_at(a, level), batched_at(b, level)
            rank = max(a.dim() if is_tensor(a) else 0, b.dim() if is_tensor(b) else 0)
            if a_batched:
                a = _with_batch_dims(a._value, rank - a.dim())
            if b_batched:
                b = _with_batch_dims(b._value, rank - b.dim())
            return wrapped(redo(a, b), level)
    tensors = [a for a in _all_args(args, kwargs) if is_tensor(a)]
    inplace = is_inplace(key)
    if inplace:
        if not batched_at(args[0], level):
            raise_inplace_into_unbatched()
        rank = args[0].dim()
    else:
        rank = max(t.dim() for t in tensors)

    def aligned(a):
        if batched_at(a, level):
            return _with_batch_dims(a._value, rank - a.dim())
        return a

    out = redo(*[aligned(a) for a in args], **{k: aligned(v) for k, v in kwargs.items()})
    return args[0] if inplace else wrapped(out, level)


_UNARY = """abs absolute acos acosh angle arccos arccosh arcsin arcsinh arctan arctanh asin asinh
atan atanh bitwise_not ceil clone conj contiguous cos cosh deg2rad detach digamma erf erfc erfinv
exp exp2 expm1 fix floor frac i0 isfinite isinf isnan isneginf isposinf isreal lgamma log log10
log1p log2 logical_not logit nan_to_num neg negative positive rad2deg reciprocal relu round rsqrt
sgn sigmoid sign signbit sin sinc sinh sqrt square tan tanh trunc float double half bfloat16 int
long short char byte bool to type type_as cpu cuda requires_grad_ polygamma mvlgamma
zeros_like ones_like empty_like full_like zero_ fill_ copy_""".split()
_BINARY_OPS = """add sub subtract mul multiply div divide true_divide floor_divide fmod remainder
pow float_power atan2 arctan2 hypot copysign maximum minimum fmax fmin logaddexp logaddexp2
xlogy eq ne lt le gt ge greater greater_equal less less_equal not_equal bitwise_and bitwise_or
bitwise_xor bitwise_left_shift bitwise_right_shift logical_and logical_or logical_xor where clamp
clip clamp_min clamp_max lerp addcmul addcdiv masked_fill isclose rsub heaviside nextafter
ldexp""".split()
_SPECIAL = """expit erf erfc erfcx erfinv exp2 expm1 gammaln digamma psi i0 i0e i1 i1e log1p
log_ndtr logit ndtr ndtri sinc xlogy xlog1py entr round""".split()
_ACTIVATIONS = """relu relu_ relu6 elu elu_ selu selu_ celu celu_ gelu silu mish hardtanh hardtanh_
hardsigmoid hardswish leaky_relu leaky_relu_ softplus softsign logsigmoid tanhshrink
softshrink hardshrink threshold threshold_ sigmoid tanh""".split()

for _name in _UNARY + _BINARY_OPS:
    for _key in (_name, _name + "_"):
        _register(elementwise, _key)
for _name in _SPECIAL:
    _register(elementwise, "special." + _name)
for _name in _ACTIVATIONS:
    _register(elementwise, "nn.functional." + _name)
_COMPARISONS_AND_UNARY = ["eq", "ne", "lt", "le", "gt", "ge", "neg", "pos", "abs", "invert"]
for _name in list(BINARY_OPERATORS) + _COMPARISONS_AND_UNARY:
    for _key in (f"__{_name}__", f"__r{_name}__", f"__i{_name}__"):
        _register(elementwise, _key)


# --------------------------------------------------------------------------
# ops along dims: the dims move past the mapped dim
# --------------------------------------------------------------------------


def _arg(args, kwargs, position, names, default):
    for name in names:
        if name in kwargs:
            return kwargs[name], ("kw", name)
    if position is not None and position < len(args):
        return args[position], ("pos", position)
    return default, None


def _replaced(args, kwargs, where, value, names):
    args, kwargs = list(args), dict(kwargs)
    if where is None:
        kwargs[names[0]] = value
    elif where[0] == "kw":
        kwargs[where[1]] = value
    else:
        args[where[1]] = value
    return args, kwargs


def _shifted(dim, rank):
    if isinstance(dim, (list, tuple)):
        return type(dim)(normalized_dim(d, rank) + 1 for d in dim)
    return normalized_dim(dim, rank) + 1


class DimOp:
    """An op whose dim arguments (each at a position or under a name) index the
    logical shape. `none` says what a missing dim means: "all" (reduce everything),
    "values" (reduce everything, return only values), or a default dim."""

    def __init__(self, dims, none=None, extra_rank=0):
        self.dims = dims  # [(position, names, default)]
        self.none = none
        self.extra_rank = extra_rank  # the dim indexes a result with more dims (unsqueeze)

    def __call__(self, level, redo, args, kwargs, key=""):
        x = args[0]
        if not batched_at(x, level) or any(
            batched_at(a, level) for a in _all_args(args[1:], kwargs)
        ):
            return _loop(level, redo, args, kwargs, key)
        value, rank = x._value, x.dim() + self.extra_rank
        scalar = rank == 0
        if scalar:  # torch lets dim 0/-1 name a 0-d tensor's only "dim"
            value, rank = value.unsqueeze(1), 1
        args = [value, *args[1:]]
        reduce_all = False
        for position, names, default in self.dims:
            dim, where = _arg(args, kwargs, position, names, default)
            if dim is None or (isinstance(dim, (list, tuple)) and len(dim) == 0 and self.none):
                if self.none in ("all", "values"):
                    reduce_all = True
                    dim = 1
                    args[0] = args[0].reshape(args[0].shape[0], -1)
                elif self.none is not None:
                    dim = self.none(rank) if callable(self.none) else self.none
                else:
                    continue
                args, kwargs = _replaced(args, kwargs, where, dim, names)
                if reduce_all:
                    continue
            args, kwargs = _replaced(args, kwargs, where, _shifted(dim, rank), names)
        out = redo(*args, **kwargs)
        if reduce_all and self.none == "values" and isinstance(out, tuple):
            out = out[0]
        if reduce_all and kwargs.get("keepdim"):
            out = _map_tensors(out, lambda t: t.reshape(t.shape[0], *[1] * x.dim()))
        if scalar:
            out = _map_tensors(out, lambda t: t.squeeze(1) if t.dim() > 1 else t)
        return wrapped(out, level)


def _map_tensors(out, fn):
    if is_tensor(out):
        return fn(out)
    if isinstance(out, tuple):
        items = [_map_tensors(o, fn) for o in out]
        return type(out)(*items) if hasattr(out, "_fields") else type(out)(items)
    if isinstance(out, list):
        return [_map_tensors(o, fn) for o in out]
    return out


def _loop(level, redo, args, kwargs, key=""):
    return loop_fallback(key, redo, level, args, kwargs)


_DIM = ("dim",)
_all = DimOp([(1, _DIM, None)], none="all")
_register(_all, "sum", "mean", "nansum", "nanmean", "all", "any", "count_nonzero", "std_mean")
_register(_all, "var_mean", "amax", "amin", "logsumexp", "argmax", "argmin", "aminmax")
_register(DimOp([(1, _DIM, None)], none="values"), "median", "nanmedian", "mode")
_register(DimOp([(1, _DIM, None)], none="all"), "prod")
_register(DimOp([(1, _DIM, None)], none="all"), "std", "var")
_register(DimOp([(2, _DIM, None)], none="all"), "norm", "linalg.vector_norm")
_register(DimOp([(1, _DIM, -1)]), "sort", "argsort", "mode", "diff")
_register(DimOp([(2, _DIM, -1)]), "topk", "kthvalue")
_register(DimOp([(1, _DIM, -1)]), "nn.functional.glu")
_register(DimOp([(1, _DIM, None)]), "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp")
_register(DimOp([(1, _DIM, None)]), "cumsum_", "cumprod_", "softmax", "log_softmax")
_register(DimOp([(1, _DIM, 0)]), "unbind")
_register(DimOp([(2, _DIM, 0)]), "chunk", "split", "tensor_split", "split_with_sizes")
_register(DimOp([(1, _DIM, None)]), "narrow", "select", "index_select", "unflatten")
_register(DimOp([(1, ("dims",), None)]), "flip")
_register(DimOp([(1, _DIM, None)], extra_rank=1), "unsqueeze", "unsqueeze_")
_register(DimOp([(1, ("dim0",), None), (2, ("dim1",), None)]), "transpose", "transpose_")
_register(DimOp([(1, ("axis0",), None), (2, ("axis1",), None)]), "swapaxes")
_register(DimOp([(1, ("dim0",), None), (2, ("dim1",), None)]), "swapdims")
_register(DimOp([(1, ("source",), None), (2, ("destination",), None)]), "movedim", "moveaxis")
_register(DimOp([(1, ("start_dim",), 0), (2, ("end_dim",), -1)]), "flatten")
_register(DimOp([(2, ("dim1",), 0), (3, ("dim2",), 1)]), "diagonal")
_register(DimOp([(2, _DIM, 1)]), "nn.functional.normalize")
_register(DimOp([(2, ("dim1",), -2), (3, ("dim2",), -1)], extra_rank=1), "diag_embed")


def _implicit_softmax_dim(rank):
    return 0 if rank in (0, 1, 3) else 1


_register(
    DimOp([(1, _DIM, None)], none=_implicit_softmax_dim),
    "nn.functional.softmax",
    "nn.functional.log_softmax",
    "nn.functional.softmin",
)


def _max_min(level, redo, args, kwargs, key=""):
    second = args[1] if len(args) > 1 else kwargs.get("other")
    if is_tensor(second):
        return elementwise(level, redo, args, kwargs, key)
    return _max_min_values(level, redo, args, kwargs, key)


_register(_max_min, "max", "min")
_max_min_values = DimOp([(1, _DIM, None)], none="values")


def _squeeze(level, redo, args, kwargs, key=""):
    x = args[0]
    dim = args[1] if len(args) > 1 else kwargs.get("dim")
    if dim is None:
        dim = tuple(i for i, s in enumerate(x.shape) if s == 1)
    if x.dim() == 0:
        return x
    dims = dim if isinstance(dim, (list, tuple)) else (dim,)
    keep = [s for i, s in enumerate(x.shape) if not (i in _norm_all(dims, x.dim()) and s == 1)]
    return BatchedTensor(redo_view(x._value, keep), level)


def _norm_all(dims, rank):
    return {normalized_dim(d, rank) for d in dims}


def redo_view(value, logical_shape):
    return value.reshape(value.shape[0], *logical_shape)


_register(_squeeze, "squeeze", "squeeze_")


# --------------------------------------------------------------------------
# shapes
# --------------------------------------------------------------------------


def _sizes(args):
    """Sizes given as varargs or as one sequence."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return tuple(args[0])
    return tuple(args)


def _view_like(method):
    def rule(level, redo, args, kwargs, key=""):
        x, shape = args[0], _sizes(args[1:] or (kwargs.get("shape", kwargs.get("size")),))
        if len(shape) == 1 and not isinstance(shape[0], int):  # view(dtype)
            return wrapped(redo(x._value, shape[0]), level)
        return BatchedTensor(getattr(x._value, method)(x._value.shape[0], *shape), level)

    return rule


def _as_strided(level, redo, args, kwargs, key=""):
    """Sample by sample, each sample's storage_offset counted from where the
    sample starts, as torch's batching rule counts it."""
    x = args[0]
    if not batched_at(x, level):
        return loop_fallback(key, redo, level, args, kwargs, warn=False)
    offset, where = _arg(args, kwargs, 3, ("storage_offset",), None)
    start = x._value.storage_offset()
    results = []
    for b in range(x._value.shape[0]):
        sample = x._value[b]
        sample_args, sample_kwargs = _replaced(args, kwargs, ("pos", 0), sample, ())
        if offset is not None:
            shifted = offset + sample.storage_offset() - start
            sample_args, sample_kwargs = _replaced(
                sample_args, sample_kwargs, where, shifted, ("storage_offset",)
            )
        results.append(redo(*sample_args, **sample_kwargs))
    return _stacked(results, level)


_register(_as_strided, "as_strided", "as_strided_copy")
_register(_view_like("reshape"), "reshape")
_register(_view_like("view"), "view")


def _as_other(method):
    def rule(level, redo, args, kwargs, key=""):
        return getattr(args[0], method)(*args[1].shape)

    return rule


_register(_as_other("reshape"), "reshape_as")
_register(_as_other("view"), "view_as")
_register(_as_other("expand"), "expand_as")


def _expand(level, redo, args, kwargs, key=""):
    x, sizes = args[0], _sizes(args[1:] or (kwargs["size"],))
    value = _with_batch_dims(x._value, len(sizes) - x.dim())
    return BatchedTensor(value.expand(value.shape[0], *sizes), level)


_register(_expand, "expand", "broadcast_to")


def _repeat(level, redo, args, kwargs, key=""):
    x, sizes = args[0], _sizes(args[1:] or (kwargs.get("repeats", kwargs.get("dims")),))
    if key == "tile":  # tile pads short repeats with leading ones
        sizes = (1,) * (x.dim() - len(sizes)) + tuple(sizes)
    value = _with_batch_dims(x._value, len(sizes) - x.dim())
    return BatchedTensor(value.repeat(1, *sizes), level)


_register(_repeat, "repeat", "tile")


def _permute(level, redo, args, kwargs, key=""):
    x, dims = args[0], _sizes(args[1:] or (kwargs["dims"],))
    return BatchedTensor(x._value.permute(0, *_shifted(tuple(dims), x.dim())), level)


_register(_permute, "permute")


def _t(level, redo, args, kwargs, key=""):
    x = args[0]
    return x if x.dim() < 2 else x.transpose(0, 1)


_register(_t, "t", "t_")


def _passthrough(level, redo, args, kwargs, key=""):
    """Ops on the trailing dims that broadcast over leading ones: the value as is."""
    if any(batched_at(a, level) for a in _all_args(args[1:], kwargs)):
        return _loop(level, redo, args, kwargs, key)
    return wrapped(redo(args[0]._value, *args[1:], **kwargs), level)


_LINALG_UNARY = """inv inv_ex det slogdet cholesky cholesky_ex eigh eigvalsh svd svdvals qr
matrix_exp pinv matrix_norm matrix_rank cond eigvals""".split()
_register(_passthrough, "nn.functional.pixel_shuffle", "nn.functional.pixel_unshuffle")
_register(_passthrough, "tril", "triu", "tril_", "triu_", "inverse", "det", "logdet", "slogdet")
_register(_passthrough, "matrix_power", "matrix_exp", "pinverse", "cholesky")
for _name in _LINALG_UNARY:
    _register(_passthrough, "linalg." + _name)


def _trace(level, redo, args, kwargs, key=""):
    return args[0].diagonal().sum(-1)


_register(_trace, "trace")


def _getitem(level, redo, args, kwargs, key=""):
    x, index = args
    index = index if isinstance(index, tuple) else (index,)
    if any(is_tensor(i) and i.dtype == _BOOL for i in index):
        raise RuntimeError(
            "vmap: We do not support batching operators that can support dynamic shape. "
            "Attempting to batch over indexing with a boolean mask."
        )
    if not batched_at(x, level) or not _index_keeps_dims_in_place(index, level):
        return _loop(level, redo, args, kwargs, key)
    return BatchedTensor(x._value[(slice(None), *index)], level)


def _index_keeps_dims_in_place(index, level):
    """Whether x[:, *index] puts the indexed dims where x[index] does after the mapped
    dim: no batched or list index, and the tensor indices side by side (else the
    advanced-index dims would move in front of the mapped dim)."""
    advanced = []
    for position, i in enumerate(index):
        if batched_at(i, level) or isinstance(i, (list, bool)):
            return False
        if is_tensor(i):
            advanced.append(position)
    return not advanced or advanced[-1] - advanced[0] == len(advanced) - 1


_register(_getitem, "__getitem__")


def _setitem(level, redo, args, kwargs, key=""):
    x, index, value = args
    index = index if isinstance(index, tuple) else (index,)
    if not batched_at(x, level) or any(is_tensor(i) or isinstance(i, (list, bool)) for i in index):
        if not batched_at(x, level):
            raise_inplace_into_unbatched()
        return _loop(level, redo, args, kwargs, key)
    if batched_at(value, level):
        region = x[index if len(index) != 1 else index[0]].dim()
        value = _with_batch_dims(value._value, region - value.dim())
    x._value[(slice(None), *index)] = value
    return None


_register(_setitem, "__setitem__")


def _concatenate(stack):
    def rule(level, redo, args, kwargs, key=""):
        tensors = args[0]
        dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        size = batch_size(level, args, kwargs)
        values = [_expanded(t, level, size) for t in tensors]
        rank = tensors[0].dim() + (1 if stack else 0)
        if not stack and rank == 0:
            return _loop(level, redo, args, kwargs, key)
        return BatchedTensor(redo(values, _shifted(dim, rank)), level)

    return rule


_register(_concatenate(False), "cat", "concat", "concatenate")
_register(_concatenate(True), "stack")


def _index_args(level, redo, args, kwargs, key=""):
    """gather/scatter-style ops: (self, dim, index[, src]); every tensor gets the mapped dim."""
    x, kwargs = args[0], dict(kwargs)
    dim = args[1] if len(args) > 1 else kwargs.pop("dim")
    if is_inplace(key) and not batched_at(x, level):
        return elementwise(level, redo, args, kwargs, key)  # raises torch's in-place error
    size = batch_size(level, args, kwargs)
    rest = [_expanded(a, level, size) if is_tensor(a) else a for a in args[2:]]
    kwargs = {k: _expanded(v, level, size) if is_tensor(v) else v for k, v in kwargs.items()}
    out = redo(_expanded(x, level, size), _shifted(dim, x.dim()), *rest, **kwargs)
    return x if is_inplace(key) else wrapped(out, level)


_register(_index_args, "gather", "scatter", "scatter_add", "scatter_reduce")
_register(_index_args, "scatter_", "scatter_add_", "scatter_reduce_")


def _masked_select(level, redo, args, kwargs, key=""):
    """masked_select with an unbatched mask: every sample keeps the same elements."""
    x, mask = args[:2]
    if batched_at(mask, level) or not batched_at(x, level):
        raise RuntimeError(
            "vmap: We do not support batching operators that can output dynamic shape. "
            "Attempted to vmap over masked_select. Please file an issue at "
            "https://github.com/pytorch/pytorch/issues if you need this feature."
        )
    shape = ember_module().broadcast_shapes(tuple(x.shape), tuple(mask.shape))
    value = x._value.expand(x._value.shape[0], *shape)
    return BatchedTensor(value[:, mask.expand(*shape)], level)


_register(_masked_select, "masked_select")


def _new_tensor(level, redo, args, kwargs, key=""):
    """x.new_zeros(...) and friends: an unbatched tensor of the given size."""
    return redo(args[0]._value, *args[1:], **kwargs)


_register(_new_tensor, "new_zeros", "new_ones", "new_full", "new_empty", "new_tensor")


# --------------------------------------------------------------------------
# matrix products
# --------------------------------------------------------------------------


def matmul(level, redo, args, kwargs, key=""):
    """matmul with either or both operands batched: vectors become matrices, the
    operands get as many leading dims as each other, the product broadcasts."""
    a, b = args[:2]
    ra, rb = a.dim(), b.dim()
    if ra == 0 or rb == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {ra}D and {rb}D"
        )
    va, vb = unwrapped(a, level), unwrapped(b, level)
    if rb <= 2 and not batched_at(b, level):  # one GEMM over the mapped and leading dims
        return BatchedTensor(operator.matmul(va, vb), level)
    if ra == 1:
        va = va.unsqueeze(-2)
    if rb == 1:
        vb = vb.unsqueeze(-1)
    lead = max(max(ra, 2), max(rb, 2)) - 2  # logical batch dims of the product
    if batched_at(a, level):
        va = _with_batch_dims(va, lead - (max(ra, 2) - 2))
    if batched_at(b, level):
        vb = _with_batch_dims(vb, lead - (max(rb, 2) - 2))
    out = operator.matmul(va, vb)
    if rb == 1:
        out = out.squeeze(-1)
    if ra == 1:
        out = out.squeeze(-1 if rb == 1 else -2)
    return BatchedTensor(out, level)


def _matmul_reversed(level, redo, args, kwargs, key=""):
    return matmul(level, redo, (args[1], args[0]), kwargs)


_register(matmul, "matmul", "mm", "bmm", "mv", "dot", "__matmul__")
_register(_matmul_reversed, "__rmatmul__")


def _einsum(level, redo, args, kwargs, key=""):
    """einsum: the mapped dim becomes one more index, carried to the output."""
    equation, *operands = args
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = list(operands[0])
    equation = equation.replace(" ", "")
    if "..." in equation or kwargs:
        return _loop(level, redo, args, kwargs, key)
    inputs, _, output = equation.partition("->")
    terms = inputs.split(",")
    if not _:
        letters = "".join(terms)
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    batch = next(c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA"
                 if c not in equation)  # fmt: skip
    terms = [batch + t if batched_at(o, level) else t for t, o in zip(terms, operands)]
    values = [unwrapped(o, level) for o in operands]
    return BatchedTensor(redo(f"{','.join(terms)}->{batch}{output}", *values), level)


_register(_einsum, "einsum")


def _cosine_similarity(level, redo, args, kwargs, key=""):
    """cosine_similarity(x1, x2, dim=1): the operands broadcast, the dim counts in the
    broadcast shape."""
    kwargs = dict(kwargs)
    x1, x2 = args[:2]
    dim = args[2] if len(args) > 2 else kwargs.pop("dim", 1)
    rank = max(x1.dim(), x2.dim())
    v1, v2 = (
        _with_batch_dims(x._value, rank - x.dim()) if batched_at(x, level) else x for x in (x1, x2)
    )
    return wrapped(redo(v1, v2, _shifted(dim, rank), *args[3:], **kwargs), level)


_register(_cosine_similarity, "nn.functional.cosine_similarity", "cosine_similarity")


def _outer(level, redo, args, kwargs, key=""):
    return args[0].unsqueeze(-1) * args[1].unsqueeze(-2)


_register(_outer, "outer", "ger")


def _linear(level, redo, args, kwargs, key=""):
    x, weight = args[:2]
    bias = args[2] if len(args) > 2 else kwargs.get("bias")
    if not batched_at(weight, level) and not batched_at(bias, level):
        return BatchedTensor(redo(x._value, weight, bias), level)
    out = ember_module().matmul(x, weight.transpose(-1, -2))
    return out if bias is None else out + bias


_register(_linear, "nn.functional.linear")


def _addmm_like(level, redo, args, kwargs, key=""):
    base, m1, m2 = args[:3]
    beta, alpha = kwargs.get("beta", 1), kwargs.get("alpha", 1)
    product = ember_module().matmul(m1, m2)
    if alpha != 1:
        product = product * alpha
    if beta == 0:  # torch ignores the input then, NaNs included
        return product
    return (base if beta == 1 else base * beta) + product


_register(_addmm_like, "addmm", "addmv", "baddbmm")


# --------------------------------------------------------------------------
# nn.functional: losses, normalization, embedding, convolution and pooling
# --------------------------------------------------------------------------


def _pointwise_loss(level, redo, args, kwargs, key=""):
    kwargs = dict(kwargs)
    reduction = kwargs.pop("reduction", "mean")
    for name in ("size_average", "reduce"):
        if kwargs.get(name) is not None:
            return _loop(level, redo, args, {**kwargs, "reduction": reduction}, key)
    input, target = args[:2]
    if is_tensor(target) and input.shape == target.shape:  # keep the physical sizes equal too
        size = batch_size(level, args, kwargs)
        args = (*(BatchedTensor(_expanded(a, level, size), level) for a in args[:2]), *args[2:])
    loss = elementwise(level, redo, args, {**kwargs, "reduction": "none"}, key)
    return _reduced(loss, reduction)


def _reduced(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "batchmean":
        return loss.sum() / (loss.shape[0] if loss.dim() else 1)
    return loss.mean()


_register(
    _pointwise_loss,
    *(
        "nn.functional." + n
        for n in """mse_loss l1_loss smooth_l1_loss huber_loss binary_cross_entropy
        binary_cross_entropy_with_logits kl_div soft_margin_loss poisson_nll_loss
        hinge_embedding_loss""".split()
    ),
)
# its var follows shape rules of its own (one dimension short, or one of size 1)
_register(_loop, "nn.functional.gaussian_nll_loss")


def _class_loss(level, redo, args, kwargs, key=""):
    """cross_entropy and nll_loss: the mapped dim joins the loss's own batch dim; the
    reductions then run per sample with torch's weighted mean."""
    kwargs = dict(kwargs)
    input, target = args[:2]
    weight = kwargs.get("weight")
    if (
        len(args) > 2
        or batched_at(weight, level)
        or any(kwargs.get(n) is not None for n in ("size_average", "reduce"))
    ):
        return _loop(level, redo, args, kwargs, key)
    reduction = kwargs.pop("reduction", "mean")
    size = batch_size(level, args, kwargs)
    vi, vt = _expanded(input, level, size), _expanded(target, level, size)
    if input.dim() >= 2:  # (N, C, ...): fold the mapped dim into N
        vi = vi.reshape(size * input.shape[0], *input.shape[1:])
        vt = vt.reshape(size * target.shape[0], *target.shape[1:])
    losses = redo(vi, vt, **kwargs, reduction="none").reshape(size, -1)
    if reduction == "none":
        return BatchedTensor(losses.reshape(size, *_loss_shape(input, target)), level)
    total = losses.sum(1)
    if reduction == "sum":
        return BatchedTensor(total, level)
    if target.is_floating_point():  # class probabilities: the mean over samples
        return BatchedTensor(total / max(losses.shape[1], 1), level)
    vt = vt.reshape(size, -1)
    counted = vt != kwargs.get("ignore_index", -100)
    if weight is not None:
        counted = weight[vt.clamp(min=0)] * counted
    return BatchedTensor(total / counted.to(total.dtype).sum(1), level)


def _loss_shape(input, target):
    if target.is_floating_point():
        return (input.shape[0], *input.shape[2:]) if input.dim() >= 2 else ()
    return tuple(target.shape)


_register(_class_loss, "nn.functional.cross_entropy", "nn.functional.nll_loss")


def _layer_norm(level, redo, args, kwargs, key=""):
    x, shape = args[:2]
    weight = args[2] if len(args) > 2 else kwargs.get("weight")
    bias = args[3] if len(args) > 3 else kwargs.get("bias")
    eps = args[4] if len(args) > 4 else kwargs.get("eps", 1e-5)
    if not batched_at(weight, level) and not batched_at(bias, level):
        return BatchedTensor(redo(unwrapped(x, level), shape, weight, bias, eps), level)
    size = batch_size(level, args, kwargs)
    out = BatchedTensor(redo(_expanded(x, level, size), shape, None, None, eps), level)
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


_register(_layer_norm, "nn.functional.layer_norm")


def _embedding(level, redo, args, kwargs, key=""):
    indices, weight = args[:2]
    if not batched_at(weight, level):
        return wrapped(redo(indices._value, weight, *args[2:], **kwargs), level)
    if len(args) > 2 or any(v not in (None, False, 2.0) for v in kwargs.values()):
        return _loop(level, redo, args, kwargs, key)
    size = batch_size(level, args, kwargs)
    vi = _expanded(indices, level, size)
    rows = ember_module().arange(size).reshape(size, *[1] * indices.dim())
    return BatchedTensor(weight._value[rows, vi], level)


_register(_embedding, "nn.functional.embedding")


def _spatial(spatial_dims):
    """Ops on (N, C, *spatial) or (C, *spatial) inputs with unbatched parameters:
    the mapped dim folds into N. spatial_dims None: the op always takes an N."""

    def rule(level, redo, args, kwargs, key=""):
        x = args[0]
        if not batched_at(x, level) or any(
            batched_at(a, level) for a in _all_args(args[1:], kwargs)
        ):
            return _loop(level, redo, args, kwargs, key)
        value = x._value
        if spatial_dims is not None and x.dim() == spatial_dims + 1:
            # the unbatched form: the mapped dim serves as its N
            return wrapped(redo(value, *args[1:], **kwargs), level)
        size, n = value.shape[0], x.shape[0]
        out = redo(value.reshape(size * n, *x.shape[1:]), *args[1:], **kwargs)
        return wrapped(_map_tensors(out, lambda t: t.reshape(size, n, *t.shape[1:])), level)

    return rule


for _name, _dims in [
    ("conv3d", 3), ("conv_transpose1d", 1),
    ("conv_transpose2d", 2), ("max_pool1d", 1), ("max_pool2d", 2), ("max_pool3d", 3),
    ("avg_pool1d", 1), ("avg_pool2d", 2), ("avg_pool3d", 3), ("adaptive_avg_pool1d", 1),
    ("adaptive_avg_pool2d", 2), ("adaptive_max_pool1d", 1), ("adaptive_max_pool2d", 2),
    ("interpolate", None), ("upsample", None), ("group_norm", None), ("instance_norm", None),
    ("local_response_norm", None),
]:  # fmt: skip
    _register(_spatial(_dims), "nn.functional." + _name)


def _batch_norm(level, redo, args, kwargs, key=""):
    """batch_norm with running statistics (eval): each sample normalizes with the same
    statistics, so the mapped dim folds into N. In training each sample has its own
    batch statistics: one call per sample."""
    training = kwargs.get("training", args[5] if len(args) > 5 else False)
    if training:
        return _loop(level, redo, args, kwargs, key)
    return _spatial(None)(level, redo, args, kwargs, key)


_register(_batch_norm, "nn.functional.batch_norm")


def _attention(level, redo, args, kwargs, key=""):
    """scaled_dot_product_attention: q, k, v and the mask broadcast over their leading
    dims, so each batched one gets the same number of them."""
    dropout = kwargs.get("dropout_p", args[4] if len(args) > 4 else 0.0)
    if dropout and _randomness(level) == "same":
        return _loop(level, redo, args, kwargs, key)
    return elementwise(level, redo, args, kwargs, key)


_register(_attention, "nn.functional.scaled_dot_product_attention")


def _conv_batched_weight(spatial_dims):
    """conv with a batched weight (per-sample gradients): one grouped convolution, the
    mapped dim folded into the channels and the groups. spatial_dims None: the
    kernel under the conv functions, which always takes an N."""
    plain = _spatial(spatial_dims)

    def rule(level, redo, args, kwargs, key=""):
        x, weight = args[:2]
        if not batched_at(weight, level):
            return plain(level, redo, args, kwargs)
        bias = args[2] if len(args) > 2 else kwargs.get("bias")
        rest = list(args[3:])
        stride, padding, dilation, groups = (rest + [1, 0, 1, 1][len(rest) :])[:4]
        stride = kwargs.get("stride", stride)
        padding = kwargs.get("padding", padding)
        dilation = kwargs.get("dilation", dilation)
        groups = kwargs.get("groups", groups)
        size = batch_size(level, args, kwargs)
        vx = _expanded(x, level, size)
        unbatched_input = spatial_dims is not None and x.dim() == spatial_dims + 1
        if unbatched_input:
            vx = vx.unsqueeze(1)
        n, channels = vx.shape[1], vx.shape[2]
        folded = vx.transpose(0, 1).reshape(n, size * channels, *vx.shape[3:])
        vw = weight._value
        out = redo(
            folded,
            vw.reshape(size * vw.shape[1], *vw.shape[2:]),
            None,
            stride,
            padding,
            dilation,
            size * groups,
        )
        out = out.reshape(n, size, -1, *out.shape[2:]).transpose(0, 1)
        if unbatched_input:
            out = out.squeeze(1)
        out = BatchedTensor(out, level)
        if bias is not None:
            out = out + bias.reshape(-1, *[1] * (weight.dim() - 2))
        return out

    return rule


_register(_conv_batched_weight(1), "nn.functional.conv1d")
_register(_conv_batched_weight(2), "nn.functional.conv2d")
_register(_conv_batched_weight(None), "_convolution")
# The kernels under nn.functional and the layers, which call them directly.
for _name in """_max_pool2d_with_indices _avg_pool2d _adaptive_avg_pool2d _adaptive_max_pool2d
_upsample_linear _upsample_nearest _im2col _col2im""".split():
    _register(_spatial(None), _name)
_register(_passthrough, "_pixel_shuffle", "_pixel_unshuffle")
_register(elementwise, "_silu", "_xlogy")


def _pad(level, redo, args, kwargs, key=""):
    """F.pad: constant padding works on any rank; the other modes take (N, C, *) or
    (C, *) inputs, so the mapped dim folds into N."""
    mode = kwargs.get("mode", args[2] if len(args) > 2 else "constant")
    if mode == "constant":
        return _passthrough(level, redo, args, kwargs, key)
    x, padding = args[0], args[1]
    return _spatial(len(padding) // 2)(level, redo, args, kwargs, key) if x.dim() else x


_register(_pad, "nn.functional.pad")


def _random_op(level, redo, args, kwargs, key=""):
    """Random ops with a batched argument. 'different' draws per sample (the op on the
    physical value); 'same' draws once for the logical shape and broadcasts it."""
    x = args[0]
    if "dropout" in key:
        training = kwargs.get("training", args[2] if len(args) > 2 else True)
        p = kwargs.get("p", args[1] if len(args) > 1 else 0.5)
        if not training or p == 0:
            return wrapped(redo(unwrapped(x, level), *args[1:], **kwargs), level)
    mode = _randomness(level)
    if not batched_at(x, level):
        return _loop(level, redo, args, kwargs, key)
    if mode == "different":
        return wrapped(redo(x._value, *args[1:], **kwargs), level)
    ember = ember_module()
    if "dropout" in key:
        mask = redo(ember.ones(x.shape, dtype=x.dtype), *args[1:], **kwargs)
        return mask if key == "_dropout_mask" else x * mask
    if key.endswith("_like"):
        return redo(ember.empty(x.shape, dtype=x.dtype), *args[1:], **kwargs)
    if key == "bernoulli" and len(args) == 1 and not kwargs:
        return (ember.rand(x.shape, dtype=x.dtype) < x).to(x.dtype)
    if is_inplace(key):  # normal_, uniform_, ...: one draw copied into every sample
        draw = redo(ember.empty(x.shape, dtype=x.dtype), *args[1:], **kwargs)
        x._value.copy_(draw.expand(x._value.shape))
        return x
    return _loop(level, redo, args, kwargs, key)


def _randomness(level):
    for lvl, _, mode in active_levels():
        if lvl == level:
            if mode == "error":
                raise RuntimeError(
                    "vmap: called random operation while in randomness error mode. Please "
                    "either use the 'same' or 'different' randomness flags on vmap or perform "
                    "the randomness operation out of vmap"
                )
            return mode
    return "different"


_RANDOM = """rand_like randn_like randint_like bernoulli bernoulli_ normal_ uniform_ random_
exponential_ cauchy_ log_normal_ geometric_ multinomial poisson""".split()
_DROPOUT = "dropout dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout".split()
_register(_random_op, *_RANDOM, *("nn.functional." + n for n in _DROPOUT), "_dropout_mask")


def _random_factory(original, args, kwargs):
    """rand/randn called inside vmap: one draw per sample under 'different'."""
    level, size, mode = active_levels()[-1]
    _randomness(level)
    if mode == "same":
        return original(*args, **kwargs)
    kwargs = dict(kwargs)
    shape = _sizes(args) if args else tuple(kwargs.pop("size"))
    return BatchedTensor(original(size, *shape, **kwargs), level)


def _random_factory_with_high(original, args, kwargs):
    """randint(low, high, size) / randint(high, size) inside vmap."""
    level, size, mode = active_levels()[-1]
    _randomness(level)
    if mode == "same":
        return original(*args, **kwargs)
    kwargs = dict(kwargs)
    if "size" in kwargs:
        bounds, shape = args, kwargs.pop("size")
    else:
        *bounds, shape = args
    return BatchedTensor(original(*bounds, (size, *shape), **kwargs), level)


for _name in ("rand", "randn"):
    RANDOM_FACTORIES[_name] = _random_factory
RANDOM_FACTORIES["randint"] = _random_factory_with_high


def _refused(message):
    def rule(level, redo, args, kwargs, key=""):
        raise RuntimeError(message)

    return rule


_register(
    _refused(
        "vmap: We do not support batching operators that can output dynamic shape. Attempted "
        "to vmap over nonzero. Please file an issue at https://github.com/pytorch/pytorch/issues "
        "if you need this feature."
    ),
    "nonzero",
    "unique",
    "unique_consecutive",
)
_register(
    _refused(
        "vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over "
        "calling .item() on a Tensor, please try to rewrite what you're doing with other "
        "operations. If error is occurring somewhere inside PyTorch internals, please file a "
        "bug report."
    ),
    "item",
    "tolist",
)
