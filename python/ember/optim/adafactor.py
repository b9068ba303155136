"""Adafactor (torch.optim.Adafactor's variant): second moments of a matrix
gradient kept as row and column means, steps scaled by the parameter's RMS and
clipped by the update's RMS; and SparseAdam, which takes sparse gradients only."""

import math

from .. import _C
from .._dtype_info import finfo
from .._grad_mode import no_grad
from .optimizers import Optimizer, _lerp_


def _check_adafactor_args(lr, beta2_decay, eps, d, weight_decay):
    if isinstance(lr, _C.Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    checks = [
        (0.0 <= lr, f"Learning rate should be >= 0 but is: {lr}"),
        (0.0 >= beta2_decay, f"beta2_decay should be <= 0 but is: {beta2_decay}"),
        (eps[0] is None or 0.0 <= eps[0], f"epsilon1 should be >= 0 but is: {eps[0]}"),
        (0.0 <= eps[1], f"epsilon2 should be >= 0 but is: {eps[1]}"),
        (1.0 <= d, f"Clipping threshold d should be >= 1 but is: {d}"),
        (0.0 <= weight_decay, f"weight_decay should be >= 0 but is: {weight_decay}"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)


def _rms(t):
    return t.norm(2).item() / math.sqrt(t.numel())


class Adafactor(Optimizer):
    def __init__(
        self,
        params,
        lr=1e-2,
        beta2_decay=-0.8,
        eps=(None, 1e-3),
        d=1.0,
        weight_decay=0.0,
        *,
        foreach=None,
        maximize=False,
    ):
        _check_adafactor_args(lr, beta2_decay, eps, d, weight_decay)
        defaults = {
            "lr": lr,
            "beta2_decay": beta2_decay,
            "eps": eps,
            "d": d,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    @staticmethod
    def _new_state(g):
        state = {"step": _C.tensor(0.0)}
        if g.dim() > 1:  # one mean per row and per column instead of a full matrix
            state["row_var"] = _C.zeros((*g.shape[:-1], 1), dtype=g.dtype)
            state["col_var"] = _C.zeros((*g.shape[:-2], 1, g.shape[-1]), dtype=g.dtype)
        else:
            state["variance"] = _C.zeros_like(g)
        return state

    @staticmethod
    def _variance(state, g, weight, eps1):
        """The second-moment estimate after this step's gradient."""
        if g.dim() <= 1:
            _lerp_(state["variance"], g * g, weight)
            return state["variance"].clone()
        row, col = state["row_var"], state["col_var"]
        _lerp_(row, g.norm(dim=-1, keepdim=True).square() / g.shape[-1], weight)
        _lerp_(col, g.norm(dim=-2, keepdim=True).square() / g.shape[-2], weight)
        return (row @ col) / row.mean(dim=-2, keepdim=True).clamp(min=eps1)

    @no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            eps1, eps2 = group["eps"]
            lr = float(group["lr"])
            for p, g in self._grads(group, weight_decay=False):
                state = self.state[p]
                if not state:
                    state.update(self._new_state(g))
                state["step"].add_(1)
                step = state["step"].item()
                e1 = finfo(p.dtype).eps if eps1 is None else eps1
                alpha = max(eps2, _rms(p)) * min(lr, 1 / math.sqrt(step))
                if group["weight_decay"] != 0:
                    p.mul_(1 - lr * group["weight_decay"])
                variance = self._variance(state, g, step ** group["beta2_decay"], e1)
                update = variance.clamp(min=e1 * e1).rsqrt() * g
                denom = max(1.0, _rms(update) / group["d"])
                p.add_(update, alpha=-alpha / denom)
        return loss


class SparseAdam(Optimizer):
    """Adam for sparse gradients. Ember has no sparse tensors, so every gradient
    it meets is dense, which torch refuses with the same error."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    raise RuntimeError(
                        "SparseAdam does not support dense gradients, please consider Adam instead"
                    )
        return loss
