"""Optimizers. Updates run under no_grad with in-place C++ ops.

Each step follows torch's single-tensor (CPU) code path operation by operation,
so that parameters track torch's to the last few ulps over many steps. Per-param
state lives in ``self.state[param]`` under torch's key names, so ``state_dict()``
has torch's layout and checkpoints can be moved between the two libraries.

SGD, Adam/AdamW, Adadelta and RMSprop step a whole param group with one fused
C++ call (``ember._C._optim``: one pass over each param's memory, torch's
rounding; Note [Fused optimizer steps]) when ``_fusable`` allows it, and
otherwise param by param with the ops below.
"""

import warnings
from collections import defaultdict
from collections.abc import Iterable
from copy import deepcopy
from itertools import chain

from .. import _C
from .._grad_mode import enable_grad, no_grad

_optim = _C._optim
_FUSED_DTYPES = (_C.float32, _C.float64)

# torch's legacy names of CPU tensor types, as printed by Tensor.type()
_TENSOR_TYPES = {
    "float32": "FloatTensor",
    "float64": "DoubleTensor",
    "int64": "LongTensor",
    "bool": "BoolTensor",
}


def _typename(obj):
    """torch.typename: the tensor type, or 'module.QualName' ('int' for builtins)."""
    if isinstance(obj, _C.Tensor):
        return "ember." + _TENSOR_TYPES.get(str(obj.dtype).split(".")[-1], "Tensor")
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def _reject_unsupported(defaults):
    # The keys are kept (with torch's defaults) so that param_groups and state_dict()
    # have torch's layout; the features behind them do not exist on Ember's CPU path.
    for key in ("fused", "differentiable", "capturable"):
        if defaults.get(key):
            raise NotImplementedError(f"ember.optim does not support {key}=True")


class Optimizer:
    def __init__(self, params, defaults):
        self.defaults = defaults
        if isinstance(params, _C.Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {_typename(params)}"
            )
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if not param_groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self):
        # torch's layout: a blank line between groups
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    def add_param_group(self, param_group):
        """torch's checks and messages; the dict itself is stored (and completed in place)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, _C.Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but "
                "the ordering of tensors in sets will change between runs. "
                "Please use a list instead."
            )
        else:
            param_group["params"] = list(params)

        # named_parameters() gives (name, tensor) pairs: names are kept as param_names
        names = [p[0] for p in param_group["params"] if isinstance(p, tuple)]
        param_group["params"] = [p[1] if isinstance(p, tuple) else p for p in param_group["params"]]
        if names:
            if len(names) != len(param_group["params"]):
                raise ValueError(
                    "all optimizer params should be with/without names. "
                    "Some param names are missing"
                )
            param_group["param_names"] = names

        for param in param_group["params"]:
            if not isinstance(param, _C.Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    + _typename(param)
                )
            if not self.defaults.get("differentiable", None) and not (
                param.is_leaf or param.retains_grad
            ):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            param_group.setdefault(name, default)

        ids = [id(p) for p in param_group["params"]]
        if len(ids) != len(set(ids)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; "
                "in future, this will cause an error; "
                "see github.com/pytorch/pytorch/issues/40967 for more information",
                stacklevel=3,
            )

        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {which} to the optimizer"
                )
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")

        self.param_groups.append(param_group)

    def state_dict(self):
        """{'state': {index: per-param state}, 'param_groups': [{..., 'params': [index]}]}.

        As in torch, params are numbered in group order and the state tensors are the
        live ones (not copies).
        """
        index = {}
        start = 0

        def pack_group(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {
            (index[id(k)] if isinstance(k, _C.Tensor) else k): v for k, v in self.state.items()
        }
        return {"state": packed_state, "param_groups": param_groups}

    def load_state_dict(self, state_dict):
        state_dict = state_dict.copy()
        groups = self.param_groups
        # deep copy: the saved groups become this optimizer's groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group "
                "that doesn't match the size of optimizer's group"
            )
        id_map = dict(
            zip(
                chain.from_iterable(g["params"] for g in saved_groups),
                chain.from_iterable(g["params"] for g in groups),
            )
        )
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = _cast(id_map[k], v)
            else:  # state not tied to a param is kept as is, like torch
                state[k] = v
        for group, new_group in zip(groups, saved_groups):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
        self.__setstate__({"state": state, "param_groups": saved_groups})

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad_(False)
                    p.grad.zero_()

    @staticmethod
    def _closure(closure):
        """torch runs the closure (if any) with grad enabled before the update."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    @staticmethod
    def _grads(group, weight_decay=True, params=None):
        """(param, gradient) for params that have a grad (of `params`, default the
        group's): negated under maximize, then with L2 weight decay added (unless the
        optimizer decouples it)."""
        for p in group["params"] if params is None else params:
            g = p.grad
            if g is None:
                continue
            if group.get("maximize"):
                g = -g
            if weight_decay and group["weight_decay"] != 0:
                g = g.add(p, alpha=group["weight_decay"])
            yield p, g


def _params_with_grads(group):
    return [p for p in group["params"] if p.grad is not None]


def _fusable(group, hyperparameters, params, *buffers, steps=()):
    """Whether the fused C++ step (``ember._C._optim``) may run a group's update:
    the hyperparameters are plain numbers (not tensors), `differentiable` is off,
    every param, grad and state tensor is contiguous with the params' dtype
    (float32 or float64), and the 'step' counts are float32 scalars. Anything
    else takes the param-by-param ops."""
    if group.get("differentiable") or not params:
        return False
    if not all(isinstance(h, (int, float)) for h in hyperparameters):
        return False
    dtype = params[0].dtype
    if dtype not in _FUSED_DTYPES:
        return False
    for tensors in (params, *buffers):
        for t in tensors:
            if not isinstance(t, _C.Tensor) or t.dtype is not dtype or not t.is_contiguous():
                return False
    return all(isinstance(s, _C.Tensor) and s.dtype is _C.float32 and s.numel() == 1 for s in steps)


def _cast(param, value, key=None):
    """torch's load-time copy of saved state: tensors other than 'step' take the param's
    floating dtype (no copy when it already matches); containers are rebuilt."""
    if isinstance(value, _C.Tensor):
        if key != "step" and param.is_floating_point():
            return value.to(dtype=param.dtype)
        return value
    if isinstance(value, dict):
        return {k: _cast(param, v, key=k) for k, v in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        return type(value)(_cast(param, v) for v in value)
    return value


def _mul_(t, value):
    """t.mul_(value) with value in t's dtype: Tensor.mul_(python float) rounds the float
    to float32 first, which would cost float64 params ~1e-8 per step."""
    return t.mul_(_C.tensor(value, dtype=t.dtype))


def _lerp_(start, end, weight):
    """start.lerp_(end, weight) with torch's two formulas (exact at both ends)."""
    if abs(weight) < 0.5:
        return start.add_(end - start, alpha=weight)
    return start.copy_(end - (end - start) * (1 - weight))


def _addcmul_(t, a, b, value):
    """t.addcmul_(a, b, value=value): torch evaluates t + value * a * b left to right."""
    return t.add_(a * value * b)


class SGD(Optimizer):
    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0,
        dampening=0,
        weight_decay=0,
        nesterov=False,
        *,
        maximize=False,
        foreach=None,
        differentiable=False,
        fused=None,
    ):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        _reject_unsupported(defaults)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            params = _params_with_grads(group)
            grads = [p.grad for p in params]
            momentum = group["momentum"]
            # torch keeps no state without momentum; the first step's buffer is None
            buffers = [self.state[p].get("momentum_buffer") for p in params] if momentum else []
            hyper = (group["lr"], momentum, group["dampening"], group["weight_decay"])
            existing = [b for b in buffers if b is not None]
            if _fusable(group, hyper, params, grads, existing):
                buffers = _optim.sgd(
                    params,
                    grads,
                    buffers,
                    lr=group["lr"],
                    momentum=momentum,
                    dampening=group["dampening"],
                    weight_decay=group["weight_decay"],
                    nesterov=group["nesterov"],
                    maximize=group["maximize"],
                )
                for p, buf in zip(params, buffers):
                    self.state[p]["momentum_buffer"] = buf
            else:
                self._step_params(group, params)
        return loss

    def _step_params(self, group, params):
        """The update param by param, with torch's single-tensor ops."""
        lr, momentum = group["lr"], group["momentum"]
        for p, g in self._grads(group, params=params):
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = g.clone().detach()
                    state["momentum_buffer"] = buf
                else:
                    _mul_(buf, momentum).add_(g, alpha=1 - group["dampening"])
                g = g.add(buf, alpha=momentum) if group["nesterov"] else buf
            p.add_(g, alpha=-lr)


def _check_adam_args(lr, betas, eps, weight_decay):
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if not all(isinstance(b, float) for b in betas):
        raise ValueError("betas must be either both floats or both Tensors")


class Adam(Optimizer):
    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        amsgrad=False,
        *,
        foreach=None,
        maximize=False,
        capturable=False,
        differentiable=False,
        fused=None,
        decoupled_weight_decay=False,
    ):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        _reject_unsupported(defaults)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        # torch fills keys that older checkpoints lack, and makes 'step' a tensor
        super().__setstate__(state)
        for group in self.param_groups:
            for key, value in (
                ("amsgrad", False),
                ("maximize", False),
                ("foreach", None),
                ("capturable", False),
                ("differentiable", False),
                ("decoupled_weight_decay", False),
                ("fused", None),
            ):
                group.setdefault(key, value)
            for p in group["params"]:
                p_state = self.state.get(p, [])
                if len(p_state) != 0 and not isinstance(p_state["step"], _C.Tensor):
                    p_state["step"] = _C.tensor(float(p_state["step"]))

    def _init_state(self, group, p):
        state = self.state[p]
        if not state:
            # torch keeps the step count as a float32 tensor (it shows in state_dict)
            state["step"] = _C.tensor(0.0)
            state["exp_avg"] = _C.zeros_like(p)
            state["exp_avg_sq"] = _C.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = _C.zeros_like(p)
        return state

    @no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            params = _params_with_grads(group)
            states = [self._init_state(group, p) for p in params]
            beta1, beta2 = group["betas"]
            hyper = (group["lr"], beta1, beta2, group["eps"], group["weight_decay"])
            exp_avgs = [s["exp_avg"] for s in states]
            exp_avg_sqs = [s["exp_avg_sq"] for s in states]
            max_exp_avg_sqs = [s["max_exp_avg_sq"] for s in states] if group["amsgrad"] else []
            steps = [s["step"] for s in states]
            grads = [p.grad for p in params]
            buffers = (grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs)
            if _fusable(group, hyper, params, *buffers, steps=steps):
                _optim.adam(
                    params,
                    *buffers,
                    steps,
                    lr=group["lr"],
                    beta1=beta1,
                    beta2=beta2,
                    eps=group["eps"],
                    weight_decay=group["weight_decay"],
                    amsgrad=group["amsgrad"],
                    maximize=group["maximize"],
                    decoupled_weight_decay=group["decoupled_weight_decay"],
                )
            else:
                self._step_params(group, params)
        return loss

    def _step_params(self, group, params):
        """The update param by param, with torch's single-tensor ops."""
        beta1, beta2 = group["betas"]
        lr, eps, decay = group["lr"], group["eps"], group["weight_decay"]
        decoupled = group["decoupled_weight_decay"]
        for p, g in self._grads(group, weight_decay=not decoupled, params=params):
            state = self._init_state(group, p)
            state["step"].add_(1)
            if decoupled and decay != 0:
                _mul_(p, 1 - lr * decay)
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            _lerp_(exp_avg, g, 1 - beta1)
            _addcmul_(_mul_(exp_avg_sq, beta2), g, g, 1 - beta2)
            step = state["step"].item()
            bias_correction1 = 1 - beta1**step
            bias_correction2_sqrt = (1 - beta2**step) ** 0.5
            if group["amsgrad"]:
                # the running max of the second moment, never decreasing
                state["max_exp_avg_sq"].copy_(_C.maximum(state["max_exp_avg_sq"], exp_avg_sq))
                exp_avg_sq = state["max_exp_avg_sq"]
            denom = exp_avg_sq.sqrt() / bias_correction2_sqrt + eps
            p.add_(exp_avg / denom, alpha=-(lr / bias_correction1))


class AdamW(Adam):
    """Adam with decoupled weight decay (the decay scales the weights, not the gradient)."""

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=1e-2,
        amsgrad=False,
        *,
        maximize=False,
        foreach=None,
        capturable=False,
        differentiable=False,
        fused=None,
    ):
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True


class RMSprop(Optimizer):
    def __init__(
        self,
        params,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0,
        momentum=0,
        centered=False,
        capturable=False,
        foreach=None,
        maximize=False,
        differentiable=False,
    ):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        _reject_unsupported(defaults)
        super().__init__(params, defaults)

    def _init_state(self, group, p):
        state = self.state[p]
        if not state:
            state["step"] = _C.tensor(0.0)
            state["square_avg"] = _C.zeros_like(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = _C.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = _C.zeros_like(p)
        return state

    @no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            params = _params_with_grads(group)
            states = [self._init_state(group, p) for p in params]
            momentum = group["momentum"]
            hyper = (group["lr"], group["alpha"], group["eps"], group["weight_decay"], momentum)
            square_avgs = [s["square_avg"] for s in states]
            grad_avgs = [s["grad_avg"] for s in states] if group["centered"] else []
            momentum_buffers = [s["momentum_buffer"] for s in states] if momentum > 0 else []
            steps = [s["step"] for s in states]
            grads = [p.grad for p in params]
            buffers = (grads, square_avgs, grad_avgs, momentum_buffers)
            if _fusable(group, hyper, params, *buffers, steps=steps):
                _optim.rmsprop(
                    params,
                    *buffers,
                    steps,
                    lr=group["lr"],
                    alpha=group["alpha"],
                    eps=group["eps"],
                    weight_decay=group["weight_decay"],
                    momentum=momentum,
                    centered=group["centered"],
                    maximize=group["maximize"],
                )
            else:
                self._step_params(group, params)
        return loss

    def _step_params(self, group, params):
        """The update param by param, with torch's single-tensor ops."""
        alpha, eps, lr = group["alpha"], group["eps"], group["lr"]
        for p, g in self._grads(group, params=params):
            state = self._init_state(group, p)
            state["step"].add_(1)
            square_avg = state["square_avg"]
            _addcmul_(_mul_(square_avg, alpha), g, g, 1 - alpha)
            if group["centered"]:
                # variance instead of the raw second moment
                grad_avg = _lerp_(state["grad_avg"], g, 1 - alpha)
                avg = (square_avg - grad_avg * grad_avg).sqrt()
            else:
                avg = square_avg.sqrt()
            avg = avg + eps
            if group["momentum"] > 0:
                buf = state["momentum_buffer"]
                _mul_(buf, group["momentum"]).add_(g / avg)
                p.add_(buf, alpha=-lr)
            else:
                p.add_(g / avg, alpha=-lr)


class Adadelta(Optimizer):
    def __init__(
        self,
        params,
        lr=1.0,
        rho=0.9,
        eps=1e-6,
        weight_decay=0,
        foreach=None,
        *,
        capturable=False,
        maximize=False,
        differentiable=False,
    ):
        if isinstance(lr, _C.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "capturable": capturable,
            "foreach": foreach,
            "differentiable": differentiable,
        }
        _reject_unsupported(defaults)
        super().__init__(params, defaults)

    def _init_state(self, p):
        state = self.state[p]
        if not state:
            state["step"] = _C.tensor(0.0)
            state["square_avg"] = _C.zeros_like(p)
            state["acc_delta"] = _C.zeros_like(p)
        return state

    @no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            params = _params_with_grads(group)
            states = [self._init_state(p) for p in params]
            hyper = (group["lr"], group["rho"], group["eps"], group["weight_decay"])
            square_avgs = [s["square_avg"] for s in states]
            acc_deltas = [s["acc_delta"] for s in states]
            steps = [s["step"] for s in states]
            grads = [p.grad for p in params]
            if _fusable(group, hyper, params, grads, square_avgs, acc_deltas, steps=steps):
                _optim.adadelta(
                    params,
                    grads,
                    square_avgs,
                    acc_deltas,
                    steps,
                    lr=group["lr"],
                    rho=group["rho"],
                    eps=group["eps"],
                    weight_decay=group["weight_decay"],
                    maximize=group["maximize"],
                )
            else:
                self._step_params(group, params)
        return loss

    def _step_params(self, group, params):
        """The update param by param, with torch's single-tensor ops."""
        rho, eps, lr = group["rho"], group["eps"], group["lr"]
        if isinstance(lr, _C.Tensor):  # torch's add_ takes a 1-element tensor's value as alpha
            lr = lr.item()
        for p, g in self._grads(group, params=params):
            state = self._init_state(p)
            state["step"].add_(1)
            square_avg, acc_delta = state["square_avg"], state["acc_delta"]
            _addcmul_(_mul_(square_avg, rho), g, g, 1 - rho)
            # torch's order: sqrt(acc_delta + eps) / sqrt(square_avg + eps) * grad
            std = (square_avg + eps).sqrt_()
            delta = (acc_delta + eps).sqrt_().div_(std).mul_(g)
            _addcmul_(_mul_(acc_delta, rho), delta, delta, 1 - rho)
            p.add_(delta, alpha=-lr)


class Adagrad(Optimizer):
    def __init__(
        self,
        params,
        lr=1e-2,
        lr_decay=0,
        weight_decay=0,
        initial_accumulator_value=0,
        eps=1e-10,
        foreach=None,
        *,
        maximize=False,
        differentiable=False,
        fused=None,
    ):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}"
            )
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        _reject_unsupported(defaults)
        super().__init__(params, defaults)
        # torch fills the state at construction, not at the first step
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = _C.tensor(0.0)
                state["sum"] = _C.full_like(p, initial_accumulator_value)

    @no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, eps = group["lr"], group["eps"]
            for p, g in self._grads(group):
                state = self.state[p]
                state["step"].add_(1)
                step = state["step"].item()
                clr = lr / (1 + (step - 1) * group["lr_decay"])
                total = _addcmul_(state["sum"], g, g, 1)
                p.add_(g / (total.sqrt() + eps), alpha=-clr)
        return loss


class Adamax(Optimizer):
    """Adam with the infinity norm: the second moment is a running max of |g|."""

    def __init__(
        self,
        params,
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        foreach=None,
        *,
        maximize=False,
        differentiable=False,
        capturable=False,
    ):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        _reject_unsupported(defaults)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p, g in self._grads(group):
                state = self.state[p]
                if not state:
                    state["step"] = _C.tensor(0.0)
                    state["exp_avg"] = _C.zeros_like(p)
                    state["exp_inf"] = _C.zeros_like(p)
                state["step"].add_(1)
                exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
                _lerp_(exp_avg, g, 1 - beta1)
                exp_inf.copy_(_C.maximum(_mul_(exp_inf, beta2), g.abs() + group["eps"]))
                clr = group["lr"] / (1 - beta1 ** state["step"].item())
                p.add_(exp_avg / exp_inf, alpha=-clr)
        return loss


class RAdam(Optimizer):
    """Adam with the variance of the adaptive rate rectified: plain momentum
    SGD while too few steps make that variance intractable (rho_t <= 5)."""

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        decoupled_weight_decay=False,
        *,
        foreach=None,
        maximize=False,
        capturable=False,
        differentiable=False,
    ):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
        }
        _reject_unsupported(defaults)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, decay = group["lr"], group["eps"], group["weight_decay"]
            decoupled = group["decoupled_weight_decay"]
            for p, g in self._grads(group, weight_decay=not decoupled):
                state = self.state[p]
                if not state:
                    state["step"] = _C.tensor(0.0)
                    state["exp_avg"] = _C.zeros_like(p)
                    state["exp_avg_sq"] = _C.zeros_like(p)
                state["step"].add_(1)
                step = state["step"].item()
                if decoupled and decay != 0:
                    _mul_(p, 1 - lr * decay)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                _lerp_(exp_avg, g, 1 - beta1)
                _addcmul_(_mul_(exp_avg_sq, beta2), g, g, 1 - beta2)
                bias_correction1 = 1 - beta1**step
                bias_correction2 = 1 - beta2**step
                corrected = exp_avg / bias_correction1
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
                if rho_t > 5.0:
                    rect = (
                        (rho_t - 4)
                        * (rho_t - 2)
                        * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                    ) ** 0.5
                    adaptive = (bias_correction2**0.5) / (exp_avg_sq.sqrt() + eps)
                    p.add_(corrected * lr * adaptive * rect, alpha=-1.0)
                else:
                    p.add_(corrected * lr, alpha=-1.0)
        return loss


class NAdam(Optimizer):
    """Adam with Nesterov momentum, its momentum warmed up by momentum_decay."""

    def __init__(
        self,
        params,
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        momentum_decay=4e-3,
        decoupled_weight_decay=False,
        *,
        foreach=None,
        maximize=False,
        capturable=False,
        differentiable=False,
    ):
        _check_adam_args(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        _reject_unsupported(defaults)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, decay = group["lr"], group["eps"], group["weight_decay"]
            decoupled = group["decoupled_weight_decay"]
            for p, g in self._grads(group, weight_decay=not decoupled):
                state = self.state[p]
                if not state:
                    state["step"] = _C.tensor(0.0)
                    state["mu_product"] = _C.tensor(1.0)  # float32, rounded as torch's
                    state["exp_avg"] = _C.zeros_like(p)
                    state["exp_avg_sq"] = _C.zeros_like(p)
                state["step"].add_(1)
                step = state["step"].item()
                if decoupled and decay != 0:
                    _mul_(p, 1 - lr * decay)
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * group["momentum_decay"])))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * group["momentum_decay"])))
                state["mu_product"].mul_(mu)
                mu_product = state["mu_product"].item()
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                _lerp_(exp_avg, g, 1 - beta1)
                _addcmul_(_mul_(exp_avg_sq, beta2), g, g, 1 - beta2)
                denom = (exp_avg_sq / (1 - beta2**step)).sqrt().add_(eps)
                p.add_(g / denom, alpha=-lr * (1.0 - mu) / (1.0 - mu_product))
                p.add_(exp_avg / denom, alpha=(-lr * mu_next) / (1.0 - mu_product * mu_next))
        return loss


class Rprop(Optimizer):
    """Resilient backpropagation: per-element step sizes that grow while the
    gradient keeps its sign and shrink when it flips; only signs are used."""

    def __init__(
        self,
        params,
        lr=1e-2,
        etas=(0.5, 1.2),
        step_sizes=(1e-6, 50),
        *,
        capturable=False,
        foreach=None,
        maximize=False,
        differentiable=False,
    ):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {
            "lr": lr,
            "etas": tuple(etas),
            "step_sizes": tuple(step_sizes),
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        _reject_unsupported(defaults)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            shrink, grow = group["etas"]
            smallest, largest = group["step_sizes"]
            for p, g in self._grads(group, weight_decay=False):
                state = self.state[p]
                if not state:
                    state["step"] = _C.tensor(0.0)
                    state["prev"] = _C.zeros_like(p)
                    state["step_size"] = _C.full_like(g, group["lr"])
                state["step"].add_(1)
                agreement = (g * state["prev"]).sign()
                factor = _C.where(
                    agreement > 0,
                    _C.tensor(grow, dtype=g.dtype),
                    _C.where(agreement < 0, _C.tensor(shrink, dtype=g.dtype), 1.0),
                )
                state["step_size"].mul_(factor).clamp_(smallest, largest)
                # after a sign flip the step is skipped and the flip forgotten
                g = _C.where(factor == shrink, 0.0, g)
                p.add_(g.sign() * state["step_size"], alpha=-1)
                state["prev"].copy_(g)
        return loss


class ASGD(Optimizer):
    """Averaged SGD: SGD with a decaying rate, keeping a running average of the
    parameters (state "ax") that starts after t0 steps."""

    def __init__(
        self,
        params,
        lr=1e-2,
        lambd=1e-4,
        alpha=0.75,
        t0=1e6,
        weight_decay=0,
        foreach=None,
        maximize=False,
        differentiable=False,
        capturable=False,
    ):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        _reject_unsupported(defaults)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
            for p, g in self._grads(group):
                state = self.state[p]
                if not state:
                    state["step"] = _C.tensor(0.0)
                    state["eta"] = _C.tensor(lr)  # float32: the rate is rounded as torch's
                    state["mu"] = _C.tensor(1.0)
                    state["ax"] = _C.zeros_like(p)
                state["step"].add_(1)
                eta = state["eta"].item()
                _mul_(p, 1 - lambd * eta)
                p.add_(g, alpha=-eta)
                if state["mu"].item() != 1:
                    state["ax"].add_((p - state["ax"]).mul_(state["mu"]))
                else:
                    state["ax"].copy_(p)
                step = state["step"].item()
                state["eta"].fill_(lr / ((1 + lambd * lr * step) ** alpha))
                state["mu"].fill_(1 / max(1, step - t0))
        return loss
