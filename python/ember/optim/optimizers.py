"""Optimizers. Updates run under no_grad with in-place C++ ops."""

from .. import _C
from .._grad_mode import no_grad


class Optimizer:
    def __init__(self, params, defaults):
        if isinstance(params, _C.Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {params.type() if hasattr(params, 'type') else type(params)}"
            )
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        self.param_groups = []
        for group in params:
            group = dict(group)
            group["params"] = list(group["params"])
            for key, value in defaults.items():
                group.setdefault(key, value)
            self.param_groups.append(group)
        self.defaults = defaults
        self.state = {}

    @staticmethod
    def _grads(group):
        """(param, gradient with L2 weight decay added) for params that have a grad."""
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            if group["weight_decay"]:
                g = g + group["weight_decay"] * p
            yield p, g

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.zero_()


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0, nesterov=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        super().__init__(
            params,
            {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "nesterov": nesterov},
        )

    @no_grad()
    def step(self):
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            for p, g in self._grads(group):
                if momentum:
                    buf = self.state.get(id(p))
                    if buf is None:
                        buf = g.clone()
                        self.state[id(p)] = buf
                    else:
                        buf.mul_(momentum).add_(g)
                    g = g + momentum * buf if group["nesterov"] else buf
                p.sub_(g, alpha=lr)


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        super().__init__(
            params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        )

    @no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p, g in self._grads(group):
                state = self.state.get(id(p))
                if state is None:
                    state = {"step": 0, "m": _C.zeros_like(p), "v": _C.zeros_like(p)}
                    self.state[id(p)] = state
                state["step"] += 1
                state["m"].mul_(beta1).add_(g, alpha=1 - beta1)
                state["v"].mul_(beta2).add_(g * g, alpha=1 - beta2)
                bias1 = 1 - beta1 ** state["step"]
                bias2 = 1 - beta2 ** state["step"]
                denom = (state["v"] / bias2).sqrt() + group["eps"]
                p.sub_(state["m"] / denom, alpha=group["lr"] / bias1)


class AdamW(Adam):
    """Adam with decoupled weight decay (the decay scales the weights, not the gradient)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, 0.0)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = weight_decay

    @no_grad()
    def step(self):
        for group in self.param_groups:
            decay = group["decoupled_weight_decay"]
            if decay:
                for p in group["params"]:
                    if p.grad is not None:
                        p.mul_(1 - group["lr"] * decay)
        super().step()


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0):
        super().__init__(
            params,
            {
                "lr": lr,
                "alpha": alpha,
                "eps": eps,
                "weight_decay": weight_decay,
                "momentum": momentum,
            },
        )

    @no_grad()
    def step(self):
        for group in self.param_groups:
            alpha, eps, lr = group["alpha"], group["eps"], group["lr"]
            for p, g in self._grads(group):
                state = self.state.get(id(p))
                if state is None:
                    state = {"square_avg": _C.zeros_like(p)}
                    if group["momentum"]:
                        state["momentum_buffer"] = _C.zeros_like(p)
                    self.state[id(p)] = state
                state["square_avg"].mul_(alpha).add_(g * g, alpha=1 - alpha)
                avg = state["square_avg"].sqrt() + eps
                if group["momentum"]:
                    buf = state["momentum_buffer"]
                    buf.mul_(group["momentum"]).add_(g / avg)
                    p.sub_(buf, alpha=lr)
                else:
                    p.sub_(g / avg, alpha=lr)
