"""The losses torch composes in Python or computes with small kernels, written with
torch's formulas from differentiable ember ops (so gradients of any order come
from autograd): gaussian_nll_loss, multilabel_soft_margin_loss, multi_margin_loss,
multilabel_margin_loss, triplet_margin_with_distance_loss, and pdist."""

import math

import numpy as np

from .. import _C
from .._grad_mode import no_grad
from ._loss_bases import _legacy_reduction, _Loss, _WeightedLoss
from .activation import logsigmoid
from .modules import PairwiseDistance

_REDUCTIONS = ("none", "mean", "sum")


def _legacy(size_average, reduce, reduction):
    """torch's _Reduction.legacy_get_string when either legacy flag is given."""
    if size_average is None and reduce is None:
        return reduction
    return _legacy_reduction(size_average, reduce, stacklevel=4)


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _size(t):
    return list(t.shape)


# ---- gaussian_nll_loss ----


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * _C.ones_like(input)
    elif not isinstance(var, _C.Tensor):  # torch.any(var < 0) refuses the bool
        raise TypeError(
            f"any() received an invalid combination of arguments - got ({type(var < 0).__name__}"
            "), but expected one of:\n"
            " * (Tensor input, *, Tensor out = None)\n"
            " * (Tensor input, tuple of ints dim = None, bool keepdim = False, *, Tensor out = "
            "None)\n"
            " * (Tensor input, int dim, bool keepdim = False, *, Tensor out = None)\n"
        )
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape)[:-1] == tuple(var.shape):
            var = var.unsqueeze(-1)  # one variance per row of the last dimension
        elif input.dim() == var.dim() and (
            sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1
        ):
            pass  # broadcastable with a single mismatched dimension of size 1
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ---- multilabel_soft_margin_loss ----


def multilabel_soft_margin_loss(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean"
):
    reduction = _legacy(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(dim=class_dim) / input.shape[class_dim]
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    return _reduce(loss, reduction)


# ---- multi_margin_loss and multilabel_margin_loss ----


def _check_matrix(input):
    if not (input.dim() in (1, 2) and input.numel() > 0 or input.dim() == 2 and input.shape[1]):
        raise RuntimeError(
            "Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
            f"{_size(input)}"
        )


def _check_long(target):
    if target.dtype != _C.int64:
        raise RuntimeError(
            f"expected scalar type Long but found {_type_name(target)}",
        )


def _check_kernel_dtype(input, kernel):
    if input.dtype not in (_C.float32, _C.float64):
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_type_name(input)}'")


def _type_name(t):
    from .._dtype_info import TYPE_NAMES

    return TYPE_NAMES.get(t.dtype, str(t.dtype))


def _rows(input):
    """The input as (N, C), and whether it was a single vector."""
    return (input.unsqueeze(0), True) if input.dim() == 1 else (input, False)


def multi_margin_loss(
    input,
    target,
    p=1,
    margin=1.0,
    weight=None,
    size_average=None,
    reduce=None,
    reduction="mean",
):
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    _check_matrix(input)
    x, _ = _rows(input)
    n, c = x.shape
    if target.dim() > 1 or target.numel() != n:
        raise RuntimeError(
            "multi_margin_loss: target tensor should be 1-D with size equal to the number of "
            f"input samples (batch size). Expected target size [{n}], but got {_size(target)}. "
            f"Input has shape {_size(input)}."
        )
    if weight is not None and weight.numel() != c:
        raise RuntimeError(f"inconsistent weight size, expected {c} but got {_size(weight)}")
    _check_kernel_dtype(input, "multi_margin_loss_cpu_kernel")
    _check_long(target)
    if weight is not None and weight.requires_grad and _C.is_grad_enabled():
        raise RuntimeError(
            "The function 'multi_margin_loss' is not differentiable with respect to argument "
            "'weight'. This input cannot have requires_grad True."
        )
    labels = np.asarray(target.detach().numpy()).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= c):
        raise RuntimeError("target out of range")
    index = _C.tensor(labels.reshape(n, 1).astype(np.int64))
    others = _C.tensor(np.arange(c)[None, :] != labels[:, None])  # every class but the target
    z = (margin - x.gather(1, index) + x).relu()
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.gather(0, index.reshape(-1)).unsqueeze(1)
    z = _C.where(others, z, _C.zeros((), dtype=z.dtype))
    loss = z.sum(1) / c
    if target.dim() == 0:  # torch's unreduced loss has the target's rank
        loss = loss.squeeze(0)
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    _check_matrix(input)
    x, vector = _rows(input)
    n, c = x.shape
    if (
        target.dim() != input.dim()
        or tuple(target.shape) != tuple(input.shape)
        and not (input.dim() == 1 and target.numel() == c)
    ):
        raise RuntimeError(
            f"inconsistent target size: {_size(target)} for input of size: {_size(input)}"
        )
    _check_kernel_dtype(input, "multilabel_margin_loss_forward_out_frame")
    _check_long(target)
    labels = np.asarray(target.detach().numpy()).reshape(n, c)
    # each row's targets are its labels up to the first -1
    valid = np.cumprod(labels != -1, axis=1).astype(bool)
    if ((labels < -1) | (labels >= c))[valid].any() or (labels < -1).any():
        raise RuntimeError("argument #2 'target' is out of range")
    counts = np.zeros((n, c))
    rows = np.nonzero(valid)
    np.add.at(counts, (rows[0], labels[rows]), 1.0)  # a repeated label counts again
    pairs = counts[:, :, None] * (counts[:, None, :] == 0)  # (target j, non-target k)
    hinge = (1 - x.unsqueeze(2) + x.unsqueeze(1)).relu()
    loss = (hinge * _C.tensor(pairs, dtype=x.dtype)).sum((1, 2)) / c
    if vector:
        loss = loss.squeeze(0)
    if reduction == "mean" and n == 0:  # torch's mean of no samples is 0
        return loss.sum()
    return _reduce(loss, reduction)


# ---- triplet_margin_with_distance_loss ----


def triplet_margin_with_distance_loss(
    anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False, reduction="mean"
):
    _check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a_dim, p_dim, n_dim = anchor.dim(), positive.dim(), negative.dim()
    if not (a_dim == p_dim and p_dim == n_dim):
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {a_dim}D, positive {p_dim}D, and negative "
            f"{n_dim}D inputs"
        )
    if distance_function is None:
        from . import functional

        distance_function = functional.pairwise_distance
    dist_pos = distance_function(anchor, positive)
    dist_neg = distance_function(anchor, negative)
    if swap:
        dist_neg = _C.minimum(dist_neg, distance_function(positive, negative))
    return _reduce((margin + dist_pos - dist_neg).clamp_min(0), reduction)


# ---- pdist ----


def pdist(input, p=2):
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if not input.is_floating_point():
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    if input.dtype not in (_C.float32, _C.float64):
        raise NotImplementedError(f"\"pdist\" not implemented for '{_type_name(input)}'")
    n = input.shape[0]
    first, second = np.triu_indices(n, 1)
    if first.size == 0:
        return _C.zeros((0,), dtype=input.dtype) + input.sum() * 0
    diff = input[_C.tensor(first.astype(np.int64))] - input[_C.tensor(second.astype(np.int64))]
    return diff.norm(p, dim=-1)


# ---- modules ----


class GaussianNLLLoss(_Loss):
    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(None, None, reduction)
        self.full = full
        self.eps = eps

    def forward(self, input, target, var):
        return gaussian_nll_loss(
            input, target, var, full=self.full, eps=self.eps, reduction=self.reduction
        )


class MultiLabelSoftMarginLoss(_WeightedLoss):
    def forward(self, input, target):
        return multilabel_soft_margin_loss(
            input, target, weight=self.weight, reduction=self.reduction
        )


class MultiMarginLoss(_WeightedLoss):
    def __init__(
        self, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"
    ):
        super().__init__(weight, size_average, reduce, reduction)
        if p != 1 and p != 2:
            raise ValueError("only p == 1 and p == 2 supported")
        if weight is not None and weight.dim() != 1:
            raise ValueError(
                "MultiMarginLoss: expected weight to be None or 1D tensor, got "
                f"{weight.dim()}D instead"
            )
        self.p = p
        self.margin = margin

    def forward(self, input, target):
        return multi_margin_loss(
            input,
            target,
            p=self.p,
            margin=self.margin,
            weight=self.weight,
            reduction=self.reduction,
        )


class MultiLabelMarginLoss(_Loss):
    def forward(self, input, target):
        return multilabel_margin_loss(input, target, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
        super().__init__(None, None, reduction)
        if margin <= 0:
            raise ValueError(
                "TripletMarginWithDistanceLoss: expected margin to be greater than 0, got "
                f"{margin} instead"
            )
        self.distance_function = (
            distance_function if distance_function is not None else PairwiseDistance()
        )
        self.margin = margin
        self.swap = swap

    def forward(self, anchor, positive, negative):
        return triplet_margin_with_distance_loss(
            anchor,
            positive,
            negative,
            distance_function=self.distance_function,
            margin=self.margin,
            swap=self.swap,
            reduction=self.reduction,
        )


FUNCTIONS = {
    f.__name__: f
    for f in (
        gaussian_nll_loss,
        multilabel_soft_margin_loss,
        multi_margin_loss,
        multilabel_margin_loss,
        triplet_margin_with_distance_loss,
        pdist,
    )
}
MODULES = (
    GaussianNLLLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    MultiLabelMarginLoss,
    TripletMarginWithDistanceLoss,
)
