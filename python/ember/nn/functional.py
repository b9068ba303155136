"""ember.nn.functional: losses, activations, embedding and normalisation.

The kernels are in C++; the functions after them are composed from differentiable
ember ops, so their gradients come from autograd (node names then differ from torch's).
"""

import warnings

import numpy as np

from .. import _C
from .._C import _ActivationOp as _Op
from .._C import _nn
from .._dtype_info import TYPE_NAMES
from .._grad_mode import no_grad
from .._memory_order import inverse, memory_order
from .._pointwise import refuse_integers as _refuse_integers
from .._pointwise import xlogy as _xlogy
from .._stacking import broadcast_tensors as _broadcast_tensors


def binary_cross_entropy(input, target, *args, **kwargs):
    if isinstance(target, _C.Tensor) and target.dtype == input.dtype:
        _refuse_integers(input, "binary_cross_entropy")
    return _nn.binary_cross_entropy(input, target, *args, **kwargs)


def binary_cross_entropy_with_logits(input, target, *args, **kwargs):
    _refuse_integers(input, "log_sigmoid_cpu")
    return _nn.binary_cross_entropy_with_logits(input, target, *args, **kwargs)


mse_loss = _nn.mse_loss
nll_loss = _nn.nll_loss
cross_entropy = _nn.cross_entropy
linear = _nn.linear


def relu(input, inplace=False):
    return input.relu_() if inplace else _C.relu(input)


def relu_(input):
    return input.relu_()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        return _nn._activation_(_Op.leaky_relu, input, negative_slope)
    return _nn._activation(_Op.leaky_relu, input, negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    return _nn._activation_(_Op.leaky_relu, input, negative_slope)


def _warn_if_broadcast(input, target, stacklevel=3):
    if tuple(input.shape) != tuple(target.shape):
        # torch warns and broadcasts; the broadcast result is what it computes
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            stacklevel=stacklevel,
        )


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _warn_if_broadcast(input, target)
    return _reduce((input - target).abs(), reduction)


smooth_l1_loss = _nn.smooth_l1_loss


def _refuse_float_result_into(input):
    """torch's error for a loss that writes its float result into an integer input's dtype."""
    if not input.is_floating_point() and input.dtype != _C.bool:
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type {TYPE_NAMES[input.dtype]}"
        )


huber_loss = _nn.huber_loss


def sigmoid(input):
    return _C.sigmoid(input)


def tanh(input):
    return _C.tanh(input)


def _implicit_softmax_dim(name, ndim, stacklevel):
    # torch's legacy rule (from when inputs were batched 1-d/3-d or 2-d/4-d), with a warning
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to "
        "include dim=X as an argument.",
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _implicit_softmax_dim("softmax", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _C.softmax(input, dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _implicit_softmax_dim("log_softmax", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _C.log_softmax(input, dim)


def dropout(input, p=0.5, training=True, inplace=False):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input.mul_(0.0) if inplace else input * 0.0
    order = memory_order(input)
    if order is None:
        mask = _C._dropout_mask(input, p)
    else:  # torch draws a dense input's mask in memory order
        mask = _C._dropout_mask(input.permute(*order), p).permute(*inverse(order))
    return input.mul_(mask) if inplace else input * mask


def silu(input, inplace=False):
    _refuse_integers(input, "silu_cpu")
    if inplace:  # SiluBackward0 on a copy of the old values, as torch
        return _C._assign_result_(input, _C._silu, [], "silu_")
    return _C._silu(input)


def softplus(input, beta=1.0, threshold=20.0):
    return _nn._activation(_Op.softplus, input, beta, threshold)


def gelu(input, approximate="none"):
    _refuse_integers(input, "GeluKernelImpl")
    return _nn.gelu(input, approximate)


def one_hot(tensor, num_classes=-1):
    if tensor.dtype != _C.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(tensor.max().item()) + 1
    if tensor.numel() > 0:
        if tensor.min().item() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if tensor.max().item() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    classes = _C.arange(num_classes)
    return (tensor.unsqueeze(-1) == classes).long()


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    if out is not None:
        raise NotImplementedError("ember's normalize has no out= form")
    denom = input.norm(p, dim, keepdim=True).clamp(min=eps).expand_as(input)
    return input / denom


# ----- embedding ------------------------------------------------------------------


def _legacy_type_name(t):
    # torch names the index tensor by its legacy type; a bool tensor by its backend type
    if t.dtype == _C.bool:
        return "CPUBoolType"
    return f"ember.{TYPE_NAMES[t.dtype]}Tensor"


def _no_embedding_option(max_norm, scale_grad_by_freq, sparse):
    # renormalising rows in place, frequency-scaled and sparse gradients are not built
    if max_norm is not None:
        raise NotImplementedError("ember's embedding has no max_norm")
    if scale_grad_by_freq:
        raise NotImplementedError("ember's embedding has no scale_grad_by_freq")
    if sparse:
        raise NotImplementedError("ember's embedding has no sparse gradients")


def _embedding_padding_idx(padding_idx, num_embeddings):
    """padding_idx as a row number in [0, num_embeddings), or None."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx % num_embeddings


def embedding(
    input,
    weight,
    padding_idx=None,
    max_norm=None,
    norm_type=2.0,
    scale_grad_by_freq=False,
    sparse=False,
):
    padding_idx = _embedding_padding_idx(padding_idx, weight.shape[0])
    _no_embedding_option(max_norm, scale_grad_by_freq, sparse)
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    if input.dtype not in (_C.int64, _C.int32):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {_legacy_type_name(input)} instead (while checking "
            "arguments for embedding)"
        )
    return _C._nn.embedding(weight, input, -1 if padding_idx is None else padding_idx)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """Softmax of (logits + Gumbel noise) / tau; with hard, one-hot forward values
    whose gradient is the soft sample's (straight-through)."""
    noise = -_C.empty_like(logits).exponential_().log()  # Gumbel(0, 1)
    soft = ((logits + noise) / tau).softmax(dim)
    if not hard:
        return soft
    winner = soft.max(dim, keepdim=True)[1]
    one_hot = _C.zeros_like(logits).scatter_(dim, winner, 1.0)
    return one_hot - soft.detach() + soft


def embedding_bag(
    input,
    weight,
    offsets=None,
    max_norm=None,
    norm_type=2,
    scale_grad_by_freq=False,
    mode="mean",
    sparse=False,
    per_sample_weights=None,
    include_last_offset=False,
    padding_idx=None,
):
    """Sums, means or maxima of bags of rows of weight.

    A 2-D input is one bag per row; a 1-D input is cut into bags at `offsets`.
    Entries equal to padding_idx are left out of their bag; an empty bag is 0.
    """
    _no_embedding_option(max_norm, scale_grad_by_freq, sparse)
    if not weight.is_floating_point():
        raise RuntimeError(
            "Expected tensor for argument #1 'weight' to have one of the following scalar types: "
            f"Half, BFloat16, Float, Double; but got {_legacy_type_name(weight)} instead (while "
            "checking arguments for embedding_bag)"
        )
    if input.dtype not in (_C.int64, _C.int32):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
            f"Long, Int; but got {_legacy_type_name(input)} instead (while checking arguments "
            "for embedding_bag)"
        )
    ids, bag_of_entry, bags = _bags(input, offsets, include_last_offset)
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                "on GitHub."
            )
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(
                f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not "
                f"None, then it must have the same shape as the input ({input.shape})"
            )
    padding_idx = _embedding_padding_idx(padding_idx, weight.shape[0])
    if padding_idx is not None:  # padding entries leave their bag
        kept = ids != padding_idx
        ids, bag_of_entry = ids[kept], bag_of_entry[kept]
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)[kept]
    rows = embedding(ids, weight)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    out = _C.zeros(bags, weight.shape[1], dtype=weight.dtype)
    index = bag_of_entry.reshape(-1, 1).expand(-1, weight.shape[1])
    if mode == "max":
        return out.scatter_reduce(0, index, rows, "amax", include_self=False)
    summed = out.index_add(0, bag_of_entry, rows)
    if mode == "sum":
        return summed
    counts = _C.zeros(bags, dtype=weight.dtype).index_add(
        0, bag_of_entry, _C.ones(bag_of_entry.shape[0], dtype=weight.dtype)
    )
    return summed / counts.clamp(min=1).reshape(-1, 1)


def _bags(input, offsets, include_last_offset):
    """(flat ids, the bag of each id, number of bags) with torch's checks."""
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                "mini-batch of fixed length sequences. However, found offsets of type "
                f"{type(offsets)}"
            )
        bags, length = input.shape
        bag_of_entry = _C.arange(bags).reshape(-1, 1).expand(bags, length).reshape(-1)
        return input.reshape(-1), bag_of_entry, bags
    if input.dim() != 1:
        raise ValueError(
            f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}"
        )
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if offsets.dim() != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    starts = offsets.tolist()
    if starts and starts[0] != 0:
        raise RuntimeError(
            "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
            f"from position 0. However, got {starts[0]}"
        )
    if include_last_offset:
        starts, end = starts[:-1], starts[-1] if starts else 0
    else:
        end = input.shape[0]
    sizes = [b - a for a, b in zip(starts, [*starts[1:], end])]
    bag_of_entry = _C.tensor(np.repeat(np.arange(len(sizes), dtype=np.int64), sizes))
    return input[: sum(sizes)], bag_of_entry, len(sizes)


# ----- normalisation --------------------------------------------------------------


def _shape_list(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _normalized_shape_arg(normalized_shape):
    if not isinstance(normalized_shape, (list, tuple)):
        raise TypeError(
            "layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, "
            f"not {type(normalized_shape).__name__}"
        )
    return tuple(normalized_shape)


def _same_dtype(input, *others):
    if any(t is not None and t.dtype != input.dtype for t in others):
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")


def _check_layer_norm(input, shape, weight, bias):
    _same_dtype(input, weight, bias)
    if not shape:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at "
            f"least one element, but got normalized_shape = {_shape_list(shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {_shape_list(t.shape)} and normalized_shape = {_shape_list(shape)}"
            )
    if tuple(input.shape[input.dim() - len(shape) :]) != shape or input.dim() < len(shape):
        expected = _shape_list(("*",) + shape)
        raise RuntimeError(
            f"Given normalized_shape={_shape_list(shape)}, expected input with shape "
            f"{expected}, but got input of size{_shape_list(input.shape)}"
        )


def _affine(out, weight, bias):
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _normalize_over(input, dims, eps):
    """(input - mean) / sqrt(biased var + eps) over dims, and the two statistics."""
    mean = input.mean(dims, keepdim=True)
    centered = input - mean
    var = (centered * centered).mean(dims, keepdim=True)
    return centered * (var + eps).rsqrt(), mean, var


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    shape = _normalized_shape_arg(normalized_shape)
    _check_layer_norm(input, shape, weight, bias)
    _refuse_integers(input, "LayerNormKernelImpl")
    return _C._nn.layer_norm(input, shape, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    shape = _normalized_shape_arg(normalized_shape)
    _check_layer_norm(input, shape, weight, None)
    _refuse_integers(input, "rms_norm")
    if eps is None:  # torch's default: the dtype's machine epsilon
        eps = float(np.finfo(np.float32 if input.dtype == _C.float32 else np.float64).eps)
    dims = tuple(range(-len(shape), 0))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


def _verify_batch_size(size):
    values = size[0]
    for s in size[2:]:
        values *= s
    if values == 1:
        # the message shows the Size repr, so it reads ember.Size where torch's reads torch.Size
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {size}"
        )


def _check_batch_norm(input, running_mean, running_var, weight, bias, training, eps):
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    channels = input.size(1)  # a 1-d input raises torch's dimension-out-of-range error
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is None and not training and name.startswith("running"):
            raise RuntimeError(f"{name} must be defined in evaluation mode")
        if t is not None and t.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")


def _update_running_stats(running_mean, running_var, mean, var, count, momentum):
    # the running variance is the unbiased one, though the batch is normalised by the biased
    if count == 0:  # an empty batch has no statistics: torch leaves the running ones alone
        return
    with no_grad():
        unbiased = var.reshape(-1) * (count / (count - 1)) if count > 1 else var.reshape(-1)
        if running_mean is not None:
            running_mean.copy_(mean.reshape(-1) * momentum + running_mean * (1 - momentum))
        if running_var is not None:
            running_var.copy_(unbiased * momentum + running_var * (1 - momentum))


def batch_norm(
    input,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training=False,
    momentum=0.1,
    eps=1e-5,
):
    if momentum is None:  # torch's binding takes a float only; the modules pass one
        raise TypeError(
            "batch_norm(): argument 'momentum' (position 7) must be float, not NoneType"
        )
    if training:
        _verify_batch_size(input.shape)
    _same_dtype(input, running_mean, running_var, weight, bias)
    _check_batch_norm(input, running_mean, running_var, weight, bias, training, eps)
    _refuse_integers(input, "batch_norm")
    if input.numel() > 0:
        return _C._nn.batch_norm(
            input, weight, bias, running_mean, running_var, training, momentum, eps
        )
    # an empty batch: statistics per channel (dim 1), broadcast back as (1, C, 1, ...)
    dims = (0,) + tuple(range(2, input.dim()))
    per_channel = (-1,) + (1,) * (input.dim() - 2)
    if training:
        out, mean, var = _normalize_over(input, dims, eps)
        count = input.numel() // input.shape[1] if input.shape[1] else 0
        _update_running_stats(running_mean, running_var, mean, var, count, momentum)
    else:
        mean = running_mean.reshape(per_channel)
        out = (input - mean) * (running_var.reshape(per_channel) + eps).rsqrt()
    if weight is not None:
        weight = weight.reshape(per_channel)
    if bias is not None:
        bias = bias.reshape(per_channel)
    return _affine(out, weight, bias)


# ---- distances, divergence and padding ----


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    # torch normalizes each side by max(norm, eps) before the dot product, and
    # clamps the norms without recording it: below eps the gradient is that of
    # x / ||x|| with ||x|| replaced by eps in value only.
    def normalized(x):
        norm = x.norm(dim=dim, keepdim=True).clone()
        with no_grad():
            norm.clamp_(min=eps)
        return x / norm

    x1, x2 = _broadcast_tensors(x1, x2)
    return (normalized(x1) * normalized(x2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    return (x1 - x2 + eps).norm(p, dim=-1, keepdim=keepdim)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if not (input.is_floating_point() and target.is_floating_point()):
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = _xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() else loss.sum()
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.",
            stacklevel=2,
        )
    return _reduce(loss, reduction)


# torch's F.pad: constant_pad_nd (ConstantPadNdBackward0) or the reflect and
# replicate ops (ReflectionPad2DBackward0, ...); circular padding calls back
# into _pad_circular.
pad = _nn.pad


def _pad_circular(input, pad):
    """Circular padding as torch composes it: the kept input copied into the middle
    of a fresh tensor, then each padded dim's borders copied from the far side of
    that tensor (so a corner is copied twice, and its gradient taken once, as in
    torch). The last copy's CopySlices is the result's node."""
    padded = len(pad) // 2
    if padded > 3 or input.dim() not in (padded + 1, padded + 2):  # 1-3 dims, batched or not
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.dim()}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
        )
    shape = list(input.shape)
    sides = [(input.dim() - 1 - k, pad[2 * k], pad[2 * k + 1]) for k in range(padded)]
    for dim, before, after in sides:
        n = shape[dim]
        if before > n or after > n:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if n + before + after < 0:
            raise RuntimeError("Negative padding value is resulting in an empty dimension")
        if n - max(-before, 0) - max(-after, 0) <= 0 and n + before + after:
            # nothing left to wrap: torch reads uninitialized memory here
            raise RuntimeError(
                f"Negative padding ({before}, {after}) leaves nothing of dimension {dim} of "
                f"input {list(input.shape)} to wrap around"
            )
        shape[dim] = n + before + after
    out = _C.empty(shape, dtype=input.dtype)
    middle, kept = [slice(None)] * input.dim(), [slice(None)] * input.dim()
    for dim, before, after in sides:
        middle[dim] = slice(max(before, 0), shape[dim] - max(after, 0))
        kept[dim] = slice(max(-before, 0), input.shape[dim] - max(-after, 0))
    out[tuple(middle)] = input[tuple(kept)]
    for dim, before, after in sides:
        end = shape[dim] - max(after, 0)
        if before > 0:
            out[_along(out, dim, 0, before)] = out[_along(out, dim, end - before, end)]
        # The right border reads from start on; where it reaches its own first
        # columns (a wide pad of a cropped dim) torch's copy has written them
        # already, so it goes in pieces no wider than what lies before them.
        start, piece = max(before, 0), max(end - max(before, 0), 1)
        for at in range(0, max(after, 0), piece):
            width = min(piece, after - at)
            out[_along(out, dim, end + at, end + at + width)] = out[
                _along(out, dim, start + at, start + at + width)
            ]
    return out


def _along(t, dim, start, stop):
    """The index t[..., start:stop, ...] with the slice at `dim`."""
    index = [slice(None)] * t.dim()
    index[dim] = slice(start, stop)
    return tuple(index)


# ---- attention ----


def scaled_dot_product_attention(
    query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False
):
    """softmax(q k^T * scale + mask) v, composed as torch's CPU math path: q and k
    each scaled by sqrt(scale), a boolean mask (or is_causal's lower triangle,
    aligned top-left) adding -inf where False, and rows with every key masked
    giving 0, not NaN."""
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
            "is_causal=True"
        )
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError("scaled_dot_product_attention expects inputs of at least 2 dims")
    length, source = query.shape[-2], key.shape[-2]
    factor = (1.0 / query.shape[-1] ** 0.5 if scale is None else scale) ** 0.5
    if enable_gqa and query.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        groups = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(groups, dim=-3)
        value = value.repeat_interleave(groups, dim=-3)
    scores = (query * factor) @ (key * factor).transpose(-2, -1)
    if is_causal:
        attn_mask = _C.ones(length, source, dtype=_C.bool).tril()
    if attn_mask is not None:
        if attn_mask.dtype == _C.bool:
            attn_mask = _C.where(
                attn_mask,
                _C.zeros((), dtype=scores.dtype),
                _C.tensor(float("-inf"), dtype=scores.dtype),
            )
        scores = scores + attn_mask
    blocked = (scores == float("-inf")).all(-1, keepdim=True)
    if bool(blocked.any()):
        # softmax of an all -inf row is NaN, and so would be its gradient: such
        # rows are given finite scores first and zero weights after
        zero = _C.zeros((), dtype=scores.dtype)
        weights = _C.where(blocked, zero, _C.softmax(_C.where(blocked, zero, scores), -1))
    else:
        weights = _C.softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return weights @ value


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Each sample's channels in num_groups groups, each group normalized over its
    channels and positions (as layer_norm over rows), then a per-channel affine."""
    if input.dim() < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {input.dim()}"
        )
    n, c = input.shape[0], input.shape[1]
    if c % num_groups != 0:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got "
            f"input of shape {_shape_list(input.shape)} and num_groups={num_groups}"
        )
    _same_dtype(input, weight, bias)
    _refuse_integers(input, "group_norm")
    rows = input.reshape(n, num_groups, -1)
    out = layer_norm(rows, (rows.shape[-1],), eps=eps).reshape(tuple(input.shape))
    per_channel = (c,) + (1,) * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out


def instance_norm(
    input,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats=True,
    momentum=0.1,
    eps=1e-5,
):
    """Each sample's channels normalized over their positions: a group norm
    with one group per channel."""
    if input.dim() < 3:
        raise ValueError(f"Expected input to have at least 3 dimensions, got {input.dim()}")
    if running_mean is not None or running_var is not None or not use_input_stats:
        return _instance_norm_with_running_stats(
            input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps
        )
    return group_norm(input, input.shape[1], weight, bias, eps)


def _instance_norm_with_running_stats(
    input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps
):
    """torch's own composition: a batch norm of one sample whose channels are
    the (sample, channel) pairs, each starting from its channel's running
    statistics, which then take the mean of the updated copies."""
    n, c = input.shape[0], input.shape[1]

    def repeated(t):
        return None if t is None else t.repeat(n)

    mean, var = repeated(running_mean), repeated(running_var)
    out = batch_norm(
        input.reshape(1, n * c, *input.shape[2:]),
        mean,
        var,
        repeated(weight),
        repeated(bias),
        use_input_stats,
        momentum,
        eps,
    )
    if use_input_stats:
        with no_grad():
            for running, updated in ((running_mean, mean), (running_var, var)):
                if running is not None:
                    running.copy_(updated.view(n, c).mean(0))
    return out.view(input.shape)


# ---- margin and ranking losses (torch's formulas, composed) ----


def _zeros_like(t):
    return _C.zeros((), dtype=t.dtype)


def margin_ranking_loss(
    input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"
):
    if not (input1.dim() == input2.dim() == target.dim()):
        raise RuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got "
            f"sizes: input1: {tuple(input1.shape)}, input2: {tuple(input2.shape)}, "
            f"target: {tuple(target.shape)} "
        )
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(
    input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"
):
    if not input.is_floating_point() and input.dtype != _C.bool:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {TYPE_NAMES[input.dtype]}"
        )
    zero = _zeros_like(input)
    from_margin = _C.where(target != 1, (margin - input).clamp_min(0), zero)
    from_input = _C.where(target != -1, input, zero)
    return _reduce(from_margin + from_input, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _refuse_float_result_into(input)
    return _reduce((-input * target).exp().log1p(), reduction)


def cosine_embedding_loss(
    input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"
):
    tiny = 1e-12  # torch's EPSILON: keeps zero vectors finite
    dot = (input1 * input2).sum(-1)
    norms = (((input1 * input1).sum(-1) + tiny) * ((input2 * input2).sum(-1) + tiny)).sqrt()
    cos = dot / norms
    zero = _zeros_like(cos)
    loss = _C.where(target == 1, 1 - cos, zero) + _C.where(
        target == -1, (cos - margin).clamp_min(0), zero
    )
    return _reduce(loss, reduction)


def triplet_margin_loss(
    anchor,
    positive,
    negative,
    margin=1.0,
    p=2,
    eps=1e-6,
    swap=False,
    size_average=None,
    reduce=None,
    reduction="mean",
):
    to_positive = pairwise_distance(anchor, positive, p, eps)
    to_negative = pairwise_distance(anchor, negative, p, eps)
    if swap:
        to_negative = _C.minimum(to_negative, pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + to_positive - to_negative).clamp_min(0), reduction)


def poisson_nll_loss(
    input,
    target,
    log_input=True,
    full=False,
    size_average=None,
    eps=1e-8,
    reduce=None,
    reduction="mean",
):
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        # Stirling's term for target > 1, as torch adds it
        stirling = target * target.log() - target + 0.5 * (2 * np.pi * target).log()
        loss = loss + _C.where(target > 1, stirling, _zeros_like(stirling))
    return _reduce(loss, reduction)
