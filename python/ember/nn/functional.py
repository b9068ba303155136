"""ember.nn.functional: losses and activations.

The kernels are in C++; the functions after them are composed from differentiable
ember ops, so their gradients come from autograd (node names then differ from torch's).
"""

import math
import warnings

from .. import _C
from .._C import _nn

binary_cross_entropy_with_logits = _nn.binary_cross_entropy_with_logits
binary_cross_entropy = _nn.binary_cross_entropy
mse_loss = _nn.mse_loss
nll_loss = _nn.nll_loss
cross_entropy = _nn.cross_entropy
linear = _nn.linear


def _in_place(input, out):
    """Write out into input, as torch's in-place activations do.

    copy_ records the write in autograd (grad_fn CopyBackwards where torch names the
    activation's node), refuses leaves that require grad and bumps the version counter,
    so a later backward through a saved input fails as in torch.
    """
    input.copy_(out)
    return input


def relu(input, inplace=False):
    out = _C.relu(input)
    return _in_place(input, out) if inplace else out


def relu_(input):
    return relu(input, inplace=True)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    out = _C.where(input > 0, input, input * negative_slope)
    return _in_place(input, out) if inplace else out


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


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


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    _warn_if_broadcast(input, target)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    diff = (input - target).abs()
    if beta == 0.0:  # the quadratic part vanishes: plain L1
        return _reduce(diff, reduction)
    loss = _C.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    _warn_if_broadcast(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    diff = (input - target).abs()
    loss = _C.where(diff < delta, 0.5 * diff * diff, delta * (diff - 0.5 * delta))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


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
    mask = _C._dropout_mask(input, p)
    return input.mul_(mask) if inplace else input * mask


def silu(input, inplace=False):
    # the product saves its operands: in place, they must be a copy of the old values
    x = input.clone() if inplace else input
    out = x * _C.sigmoid(x)
    return _in_place(input, out) if inplace else out


def softplus(input, beta=1.0, threshold=20.0):
    scaled = input * beta
    # above the threshold torch returns the input; clamping keeps exp() finite there, so
    # the branch where() discards has a zero (not NaN) gradient
    smooth = (scaled.clamp(max=threshold)).exp().log1p() / beta
    return _C.where(scaled > threshold, input, smooth)


def gelu(input, approximate="none"):
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (input + 0.044715 * input * input * input)
        return 0.5 * input * (1.0 + inner.tanh())
    if approximate == "none":
        return 0.5 * input * (1.0 + (input * (1.0 / math.sqrt(2.0))).erf())
    raise RuntimeError("approximate argument must be either none or tanh.")


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
