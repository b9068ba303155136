"""Connectionist temporal classification: ``F.ctc_loss`` and ``nn.CTCLoss``.

The loss of a target is minus the log of the summed probability of every
frame-by-frame path that collapses to it (repeats merged, blanks dropped). It
is computed with the forward (alpha) recursion over the target with a blank
between and around its labels, in log space and float64, and the gradient
with the backward (beta) recursion, with torch's formula: for log
probabilities ``lp`` at frame t, ``exp(lp) - exp(log sum_{s: label(s)=c}
alpha_t(s) beta_t(s) + nll - lp)``. Like torch's, that is the gradient for
``lp = log_softmax(logits)`` taken through the softmax, and it has no second
derivative.
"""

import numpy as np

from .. import _C
from ..autograd.function import Function
from ._loss_bases import _Loss

_NEG_INF = -np.inf


def _logaddexp(*terms):
    return np.logaddexp.reduce(np.stack(terms), axis=0)


def _shifted(a, k):
    """a moved k places right (k > 0) or left (k < 0), -inf coming in."""
    pad = np.full(abs(k), _NEG_INF)
    if k > 0:
        return np.concatenate((pad, a))[: len(a)]
    return np.concatenate((a, pad))[-k:]


def _extended(target, blank):
    """The target with a blank before, between and after its labels."""
    out = np.full(2 * len(target) + 1, blank, dtype=np.int64)
    out[1::2] = target
    return out


def _skip_allowed(ext):
    """Where alpha may skip the blank before s: a label different from two back."""
    allowed = np.zeros(len(ext), dtype=bool)
    allowed[2:] = (ext[2:] != ext[:-2]) & (np.arange(2, len(ext)) % 2 == 1)
    return allowed


def _alpha(lp, ext, length):
    """log alpha (length x len(ext)): paths through ext[:s+1] ending at frame t."""
    alpha = np.full((length, len(ext)), _NEG_INF)
    if length == 0:
        return alpha
    skip = _skip_allowed(ext)
    alpha[0, 0] = lp[0, ext[0]]
    if len(ext) > 1:
        alpha[0, 1] = lp[0, ext[1]]
    for t in range(1, length):
        prev = alpha[t - 1]
        jump = np.where(skip, _shifted(prev, 2), _NEG_INF)
        alpha[t] = _logaddexp(prev, _shifted(prev, 1), jump) + lp[t, ext]
    return alpha


def _beta(lp, ext, length):
    """log beta: paths through ext[s:] starting at frame t (emission at t included)."""
    beta = np.full((length, len(ext)), _NEG_INF)
    if length == 0:
        return beta
    skip = np.zeros(len(ext), dtype=bool)  # may jump from s to s + 2
    skip[:-2] = (ext[:-2] != ext[2:]) & (np.arange(len(ext) - 2) % 2 == 1)
    beta[length - 1, -1] = lp[length - 1, ext[-1]]
    if len(ext) > 1:
        beta[length - 1, -2] = lp[length - 1, ext[-2]]
    for t in range(length - 2, -1, -1):
        nxt = beta[t + 1]
        jump = np.where(skip, _shifted(nxt, -2), _NEG_INF)
        beta[t] = _logaddexp(nxt, _shifted(nxt, -1), jump) + lp[t, ext]
    return beta


def _sample_loss(lp, target, length, blank):
    ext = _extended(target, blank)
    alpha = _alpha(lp, ext, length)
    if length == 0:
        return (0.0 if len(target) == 0 else np.inf), ext, alpha
    tail = alpha[length - 1, -2:] if len(ext) > 1 else alpha[length - 1, -1:]
    return -np.logaddexp.reduce(tail), ext, alpha


def _sample_grad(lp, ext, alpha, length, nll):
    """torch's gradient of one sample's loss w.r.t. its (T, C) log probabilities."""
    grad = np.exp(lp)
    grad[length:] = 0.0
    if length == 0:
        return grad
    both = alpha + _beta(lp, ext, length)
    per_class = np.full((length, lp.shape[1]), _NEG_INF)
    for s, label in enumerate(ext):
        per_class[:, label] = np.logaddexp(per_class[:, label], both[:, s])
    with np.errstate(invalid="ignore", over="ignore"):  # an impossible target: NaN, as torch
        grad[:length] -= np.exp(per_class + nll - lp[:length])
    return grad


class _CtcLoss(Function):
    """Per-sample negative log likelihoods of (T, N, C) log probabilities."""

    _node_name = "CtcLossBackward0"

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        lp = log_probs.detach().double().numpy()
        losses, saved = [], []
        for n, (length, target) in enumerate(zip(input_lengths, targets)):
            nll, ext, alpha = _sample_loss(lp[:, n], target, length, blank)
            if zero_infinity and np.isinf(nll):
                ext = None  # its gradient is zero
            losses.append(nll)
            saved.append((ext, alpha, length, nll))
        ctx.saved = saved
        ctx.lp, ctx.dtype = lp, log_probs.dtype
        ctx.differentiable_input = log_probs.requires_grad
        return _C.tensor(np.array(losses), dtype=log_probs.dtype)

    @staticmethod
    def backward(ctx, grad_losses):
        scale = grad_losses.detach().double().numpy()
        grad = np.zeros_like(ctx.lp)
        for n, (ext, alpha, length, nll) in enumerate(ctx.saved):
            if ext is not None:  # a zeroed infinite loss has a zero gradient
                grad[:, n] = _sample_grad(ctx.lp[:, n], ext, alpha, length, nll) * scale[n]
        grad = _C.tensor(grad, dtype=ctx.dtype)
        if _C.is_grad_enabled() and ctx.differentiable_input:  # create_graph: as torch,
            grad = _NoSecondDerivative.apply(grad.requires_grad_())  # refuse to go on
        return grad, None, None, None, None, None


class _NoSecondDerivative(Function):
    """Stands for the gradient under create_graph; differentiating it raises torch's error."""

    _node_name = "NotImplemented"

    @staticmethod
    def forward(ctx, grad):
        return grad.clone()

    @staticmethod
    def backward(ctx, _):
        raise RuntimeError("derivative for aten::_ctc_loss_backward is not implemented")


def _lengths(value, name, count):
    if isinstance(value, _C.Tensor):
        if value.dtype not in (_C.int64, _C.int32, _C.int16, _C.int8, _C.uint8):
            raise RuntimeError(f"{name} must be integral")
        value = value.tolist()
    value = [int(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    if len(value) != count:
        raise RuntimeError(f"Expected {name} to have value at most {count}, but got {value}")
    return value


def _split_targets(targets, target_lengths, batch):
    """One label array per sample, from padded (N, S) or concatenated targets."""
    data = targets.detach().numpy().astype(np.int64)
    if targets.dim() == 2:
        rows = data
        for length in target_lengths:
            if length > rows.shape[1]:
                raise RuntimeError(
                    f"Expected tensor to have size at least {length} at dimension 1, but got "
                    f"size {rows.shape[1]} for argument #2 'targets' (while checking arguments "
                    "for ctc_loss_cpu)"
                )
        return [rows[n, :length] for n, length in enumerate(target_lengths)]
    offsets = np.concatenate(([0], np.cumsum(target_lengths)))
    return [data[offsets[n] : offsets[n + 1]] for n in range(batch)]


def ctc_loss(
    log_probs,
    targets,
    input_lengths,
    target_lengths,
    blank=0,
    reduction="mean",
    zero_infinity=False,
):
    """The CTC loss of (T, N, C) log probabilities (or (T, C) for one sequence)."""
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0)
    if log_probs.dim() != 3:
        raise RuntimeError(f"log_probs must be 3-D or 2-D, got {log_probs.dim()}-D")
    if not log_probs.is_floating_point():
        raise RuntimeError(f"\"ctc_loss_cpu\" not implemented for '{_type_name(log_probs)}'")
    frames, batch, classes = log_probs.shape
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    input_lengths = _lengths(input_lengths, "input_lengths", batch)
    target_lengths = _lengths(target_lengths, "target_lengths", batch)
    for length in input_lengths:
        if length > frames:
            raise RuntimeError(
                f"Expected input_lengths to have value at most {frames}, but got value {length} "
                "(while checking arguments for ctc_loss_cpu)"
            )
    per_sample = _split_targets(targets, target_lengths, batch)
    losses = _CtcLoss.apply(
        log_probs, per_sample, input_lengths, target_lengths, blank, zero_infinity
    )
    if zero_infinity:  # as torch: a where over the losses (WhereBackward0)
        losses = _C.where(losses == np.inf, _C.zeros((), dtype=losses.dtype), losses)
    if reduction == "none":
        return losses.squeeze(0) if unbatched else losses
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        divisor = _C.tensor([max(t, 1) for t in target_lengths], dtype=losses.dtype)
        return (losses / divisor).mean()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _type_name(t):
    return str(t.dtype).split(".")[-1].capitalize()


class CTCLoss(_Loss):
    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return ctc_loss(
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            self.blank,
            self.reduction,
            self.zero_infinity,
        )
