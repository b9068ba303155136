"""ember.optim (state_dict, param groups, amsgrad/maximize), ember.optim.lr_scheduler,
Module.to/double/float and ember.set_printoptions against PyTorch.

Every test runs the same script on both libraries and compares values, state_dict
layouts, warnings and exceptions.
"""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest
import torch
from conftest import assert_close

# ==========================================================================
# helpers
# ==========================================================================


def _params(L, dtype="float32", shapes=((5, 7), (7,), (3, 2))):
    rng = np.random.default_rng(0)
    return [L.nn.Parameter(L.tensor(rng.standard_normal(s).astype(dtype))) for s in shapes]


def _set_grads(L, params, rng, dtype="float32", skip=()):
    for i, p in enumerate(params):
        if i in skip:
            p.grad = None
        else:
            p.grad = L.tensor(rng.standard_normal(tuple(p.shape)).astype(dtype))


def _run(L, opt, kw, steps, dtype="float32", groups=None, skip=()):
    """`steps` optimizer steps on fixed random grads; returns (params, optimizer)."""
    params = _params(L, dtype)
    spec = (
        params
        if groups is None
        else [dict(g, params=[params[i] for i in g["params"]]) for g in groups]
    )
    o = getattr(L.optim, opt)(spec, **kw)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        _set_grads(L, params, rng, dtype, skip)
        o.step()
    return params, o


def _tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-7} if dtype == "float32" else {"rtol": 1e-12, "atol": 1e-14}


def assert_state_dicts_match(esd, tsd, **tol):
    """Same layout (keys, indices, hyper-parameters) and the same state values."""
    assert esd.keys() == tsd.keys() == {"state", "param_groups"}
    assert esd["param_groups"] == tsd["param_groups"]
    assert list(esd["state"]) == list(tsd["state"])
    for idx, tstate in tsd["state"].items():
        estate = esd["state"][idx]
        assert list(estate) == list(tstate), idx
        for key, tv in tstate.items():
            assert_close(estate[key], tv, **tol, msg=f"state[{idx}][{key!r}]")


OPTIMIZERS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.02, "amsgrad": True, "weight_decay": 0.1, "betas": (0.8, 0.95)}),
    ("Adam", {"lr": 0.01, "maximize": True, "betas": (0.3, 0.4)}),
    ("AdamW", {"lr": 0.01, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "maximize": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "maximize": True}),
    ("Adagrad", {}),
    (
        "Adagrad",
        {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.5},
    ),
    ("Adagrad", {"lr": 0.05, "eps": 1e-6, "maximize": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1, "maximize": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.01, "betas": (0.5, 0.6), "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2), "maximize": True}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 5, "weight_decay": 0.1}),
    ("ASGD", {"lr": 0.05, "t0": 0, "maximize": True}),
]


# ==========================================================================
# trajectories and state_dict layout
# ==========================================================================


@pytest.mark.parametrize("opt, kw", OPTIMIZERS, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_twenty_steps_and_state_dict_match_torch(opt, kw, dtype):
    ep, eo = _run(ember, opt, kw, 20, dtype)
    tp, to = _run(torch, opt, kw, 20, dtype)
    tol = _tol(dtype)
    if opt == "RMSprop" and kw.get("centered") and dtype == "float32":
        # sqrt(square_avg - grad_avg**2) cancels, and torch's MKL sqrt is off by an
        # ulp now and then (how often depends on the CPU): an ulp at the values' scale
        tol = {"rtol": 1e-4, "atol": 1e-6}
    for e, t in zip(ep, tp):
        assert_close(e, t, **tol)
    assert_state_dicts_match(eo.state_dict(), to.state_dict(), **tol)


def test_state_dict_groups_and_params_without_grads():
    # two groups; param 1 never has a grad, so it has no state (torch leaves it out)
    groups = [{"params": [0, 1], "lr": 0.1}, {"params": [2], "momentum": 0.5}]
    ep, eo = _run(ember, "SGD", {"lr": 0.01, "momentum": 0.9}, 3, groups=groups, skip={1})
    tp, to = _run(torch, "SGD", {"lr": 0.01, "momentum": 0.9}, 3, groups=groups, skip={1})
    esd, tsd = eo.state_dict(), to.state_dict()
    assert list(tsd["state"]) == [0, 2]
    assert_state_dicts_match(esd, tsd)
    # the state tensors are the live ones in both libraries
    assert (esd["state"][0]["momentum_buffer"] is eo.state[ep[0]]["momentum_buffer"]) == (
        tsd["state"][0]["momentum_buffer"] is to.state[tp[0]]["momentum_buffer"]
    )


def test_state_is_keyed_by_param():
    ep, eo = _run(ember, "Adam", {"amsgrad": True}, 2)
    tp, to = _run(torch, "Adam", {"amsgrad": True}, 2)
    assert len(eo.state) == len(to.state) == 3
    assert list(eo.state[ep[0]]) == list(to.state[tp[0]])
    assert_close(eo.state[ep[0]]["step"], to.state[tp[0]]["step"])
    assert_close(eo.state[ep[2]]["max_exp_avg_sq"], to.state[tp[2]]["max_exp_avg_sq"])


@pytest.mark.parametrize("opt, kw", [OPTIMIZERS[1], OPTIMIZERS[5], OPTIMIZERS[8], OPTIMIZERS[10]])
def test_load_state_dict_resumes_like_torch(opt, kw):
    def script(L):
        params, o = _run(L, opt, kw, 5)
        sd = o.state_dict()
        # a fresh optimizer (other hyper-parameters) on fresh copies of the params
        fresh = [L.nn.Parameter(p.detach().clone()) for p in params]
        o2 = getattr(L.optim, opt)(fresh, lr=0.5)
        o2.load_state_dict(sd)
        shared = o2.state[fresh[0]] and all(
            o2.state[fresh[0]][k] is sd["state"][0][k] for k in o2.state[fresh[0]]
        )
        rng = np.random.default_rng(2)
        for _ in range(5):
            _set_grads(L, fresh, rng)
            o2.step()
        return fresh, o2, shared

    ep, eo, e_shared = script(ember)
    tp, to, t_shared = script(torch)
    assert e_shared == t_shared
    assert eo.param_groups[0]["lr"] == to.param_groups[0]["lr"] == kw["lr"]
    for e, t in zip(ep, tp):
        assert_close(e, t, **_tol("float32"))
    assert_state_dicts_match(eo.state_dict(), to.state_dict(), **_tol("float32"))


def test_load_state_dict_casts_state_to_param_dtype():
    def script(L):
        _, o = _run(L, "Adam", {}, 2, "float32")
        o2 = L.optim.Adam(_params(L, "float64"))
        o2.load_state_dict(o.state_dict())
        s = o2.state[o2.param_groups[0]["params"][0]]
        return str(s["exp_avg"].dtype), str(s["step"].dtype)

    assert [d.split(".")[-1] for d in script(ember)] == [d.split(".")[-1] for d in script(torch)]


@pytest.mark.parametrize("case", ["groups", "sizes"])
def test_load_state_dict_mismatch_raises_like_torch(case):
    def script(L):
        params = _params(L)
        o = L.optim.SGD(params, lr=0.1)
        if case == "groups":
            other = L.optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1)
        else:
            other = L.optim.SGD(params[:2], lr=0.1)
        other.load_state_dict(o.state_dict())

    with pytest.raises(ValueError) as t:
        script(torch)
    with pytest.raises(ValueError) as e:
        script(ember)
    assert str(e.value) == str(t.value)


# ==========================================================================
# param groups, zero_grad, closures, argument checks
# ==========================================================================


def test_add_param_group_steps_like_torch():
    def script(L):
        params = _params(L)
        o = L.optim.Adam(params[:2], lr=0.01)
        group = {"params": params[2], "lr": 0.1, "amsgrad": True}
        o.add_param_group(group)
        rng = np.random.default_rng(3)
        for _ in range(4):
            _set_grads(L, params, rng)
            o.step()
        return params, o, group is o.param_groups[1]

    ep, eo, e_same = script(ember)
    tp, to, t_same = script(torch)
    assert e_same == t_same
    for e, t in zip(ep, tp):
        assert_close(e, t, **_tol("float32"))
    assert_state_dicts_match(eo.state_dict(), to.state_dict())


@pytest.mark.parametrize(
    "bad",
    ["duplicate", "not_dict", "set", "not_tensor", "non_leaf", "names_mixed"],
)
def test_add_param_group_errors_like_torch(bad):
    def script(L):
        params = _params(L)
        o = L.optim.SGD(params[:2], lr=0.1)
        if bad == "duplicate":
            o.add_param_group({"params": [params[0]]})
        elif bad == "not_dict":
            o.add_param_group([params[2]])
        elif bad == "set":
            o.add_param_group({"params": {params[2]}})
        elif bad == "not_tensor":
            o.add_param_group({"params": [1.5]})
        elif bad == "non_leaf":
            o.add_param_group({"params": [params[2] * 2]})
        else:
            o.add_param_group({"params": [("w", params[2])]})

    with pytest.raises(Exception) as t:
        script(torch)
    with pytest.raises(Exception) as e:
        script(ember)
    assert type(e.value) is type(t.value)
    assert str(e.value) == str(t.value)


def test_named_params_become_param_names():
    def script(L):
        m = L.nn.Linear(3, 2)
        return L.optim.SGD(m.named_parameters(), lr=0.1).state_dict()["param_groups"]

    assert script(ember) == script(torch)


def test_duplicate_params_warn_like_torch():
    def script(L):
        p = _params(L)[0]
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            L.optim.SGD([p, p], lr=0.1)
        return [str(x.message) for x in w]

    assert script(ember) == script(torch) != []


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_like_torch(set_to_none):
    def script(L):
        params = _params(L)
        o = L.optim.SGD(params, lr=0.1)
        _set_grads(L, params, np.random.default_rng(4), skip={1})
        o.zero_grad(set_to_none=set_to_none)
        return [None if p.grad is None else p.grad.numpy().tolist() for p in params]

    assert script(ember) == script(torch)


def test_step_closure_returns_loss_like_torch():
    def script(L):
        p = _params(L)[0]
        o = L.optim.SGD([p], lr=0.1)

        def closure():
            o.zero_grad()
            loss = (p * p).sum()
            loss.backward()
            return loss

        with L.no_grad():  # the closure still runs with grad enabled
            loss = o.step(closure)
        return loss.item(), p

    (el, ep), (tl, tp) = script(ember), script(torch)
    assert el == pytest.approx(tl, rel=1e-6)
    assert_close(ep, tp)


@pytest.mark.parametrize(
    "opt, kw",
    [
        ("SGD", {"lr": -1.0}),
        ("SGD", {"momentum": -0.1}),
        ("SGD", {"weight_decay": -0.1}),
        ("SGD", {"nesterov": True}),
        ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
        ("Adam", {"lr": -1.0}),
        ("Adam", {"eps": -1.0}),
        ("Adam", {"betas": (1.0, 0.9)}),
        ("Adam", {"betas": (0.9, -0.1)}),
        ("Adam", {"betas": (0.9, 0)}),
        ("AdamW", {"weight_decay": -0.1}),
        ("RMSprop", {"alpha": -0.5}),
        ("RMSprop", {"momentum": -0.5}),
        ("Adagrad", {"lr_decay": -0.1}),
        ("Adagrad", {"initial_accumulator_value": -1.0}),
    ],
    ids=str,
)
def test_invalid_arguments_raise_like_torch(opt, kw):
    with pytest.raises(ValueError) as t:
        getattr(torch.optim, opt)(_params(torch), **kw)
    with pytest.raises(ValueError) as e:
        getattr(ember.optim, opt)(_params(ember), **kw)
    assert str(e.value) == str(t.value)


@pytest.mark.parametrize("opt, kw", [OPTIMIZERS[1], OPTIMIZERS[4], OPTIMIZERS[10]], ids=str)
def test_optimizer_repr_like_torch(opt, kw):
    def script(L):
        params = _params(L)
        return repr(getattr(L.optim, opt)([{"params": params[:1]}, {"params": params[1:]}], **kw))

    assert script(ember) == script(torch)


def test_tensor_instead_of_params_raises_like_torch():
    with pytest.raises(TypeError) as t:
        torch.optim.SGD(torch.ones(2), lr=0.1)
    with pytest.raises(TypeError) as e:
        ember.optim.SGD(ember.ones(2), lr=0.1)
    assert str(e.value) == str(t.value).replace("torch.", "ember.")


# ==========================================================================
# lr schedulers
# ==========================================================================

SCHEDULERS = {
    "StepLR": lambda S, o: S.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda S, o: S.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    "LambdaLR": lambda S, o: S.LambdaLR(o, lambda e: 1.0 / (e + 1)),
    "LambdaLR(list)": lambda S, o: S.LambdaLR(o, [lambda e: 0.95**e, lambda e: 1 + e % 3]),
    "LinearLR": lambda S, o: S.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=9),
    "LinearLR(default)": lambda S, o: S.LinearLR(o),
    "MultiplicativeLR": lambda S, o: S.MultiplicativeLR(o, lambda e: 0.9 if e % 2 else 1.05),
    "ConstantLR": lambda S, o: S.ConstantLR(o, factor=0.25, total_iters=6),
    "PolynomialLR": lambda S, o: S.PolynomialLR(o, total_iters=12, power=2.0),
    "CyclicLR": lambda S, o: S.CyclicLR(o, 0.01, [0.2, 0.5], step_size_up=4, step_size_down=3),
    "CyclicLR(triangular2)": lambda S, o: S.CyclicLR(
        o, 0.01, 0.1, step_size_up=3, mode="triangular2", cycle_momentum=False
    ),
    "CyclicLR(exp_range)": lambda S, o: S.CyclicLR(
        o, 0.01, 0.1, step_size_up=2, mode="exp_range", gamma=0.9
    ),
    "SequentialLR": lambda S, o: S.SequentialLR(
        o,
        [S.ConstantLR(o, factor=0.1, total_iters=4), S.ExponentialLR(o, gamma=0.9)],
        milestones=[5],
    ),
    "SequentialLR(three)": lambda S, o: S.SequentialLR(
        o,
        [S.LinearLR(o, 0.2, total_iters=3), S.StepLR(o, 2), S.CosineAnnealingLR(o, 9)],
        milestones=[4, 11],
    ),
    "ChainedScheduler": lambda S, o: S.ChainedScheduler(
        [S.ConstantLR(o, factor=0.5, total_iters=5), S.ExponentialLR(o, gamma=0.95)]
    ),
}


def _sched_optimizer(L):
    params = _params(L)
    return L.optim.SGD([{"params": params[:1], "lr": 0.3}, {"params": params[1:]}], lr=0.1)


def _lr_sequence(L, name, steps=30):
    o = _sched_optimizer(L)
    s = SCHEDULERS[name](L.optim.lr_scheduler, o)
    lrs = [s.get_last_lr()]
    for _ in range(steps):
        o.step()
        s.step()
        lrs.append(s.get_last_lr())
        assert lrs[-1] == [g["lr"] for g in o.param_groups]
    return lrs, s


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_lrs_match_torch_exactly(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the right call order warns in neither library
        e_lrs, es = _lr_sequence(ember, name)
        t_lrs, ts = _lr_sequence(torch, name)
    assert e_lrs == t_lrs
    if name == "ChainedScheduler":  # it keeps no epoch of its own, in either library
        assert not hasattr(es, "last_epoch") and not hasattr(ts, "last_epoch")
    else:
        assert es.last_epoch == ts.last_epoch == 30


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_state_dict_resumes_like_torch(name):
    def script(L):
        o = _sched_optimizer(L)
        s = SCHEDULERS[name](L.optim.lr_scheduler, o)
        for _ in range(7):
            o.step()
            s.step()
        sd = s.state_dict()
        o2 = _sched_optimizer(L)
        o2.load_state_dict(o.state_dict())
        s2 = SCHEDULERS[name](L.optim.lr_scheduler, o2)
        s2.load_state_dict(sd)
        lrs = []
        for _ in range(10):
            o2.step()
            s2.step()
            lrs.append(s2.get_last_lr())
        return sd, lrs

    (esd, e_lrs), (tsd, t_lrs) = script(ember), script(torch)
    assert e_lrs == t_lrs
    assert sorted(esd) == sorted(tsd)
    for key in tsd:
        if key == "milestones":
            assert dict(esd[key]) == dict(tsd[key])
        elif key != "lr_lambdas":
            assert esd[key] == tsd[key], key


def test_scheduler_before_optimizer_step_warns_like_torch():
    def script(L):
        o = _sched_optimizer(L)
        s = L.optim.lr_scheduler.StepLR(o, step_size=2)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            s.step()
            s.step()  # only the first step is checked
        return [(x.category, str(x.message)) for x in w]

    e, t = script(ember), script(torch)
    assert len(t) == 1
    assert e == t


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR"])
def test_scheduler_step_with_epoch_uses_closed_form(name):
    def script(L):
        o = _sched_optimizer(L)
        s = SCHEDULERS[name](L.optim.lr_scheduler, o)
        o.step()
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            s.step(11)
        return s.get_last_lr(), [str(x.message) for x in w]

    assert script(ember) == script(torch)


def test_scheduler_get_lr_outside_step_warns_like_torch():
    def script(L):
        s = L.optim.lr_scheduler.ExponentialLR(_sched_optimizer(L), gamma=0.5)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lrs = s.get_lr()
        return lrs, [str(x.message) for x in w]

    assert script(ember) == script(torch)


@pytest.mark.parametrize(
    "make",
    [
        lambda L, o: L.optim.lr_scheduler.StepLR(o, 3, last_epoch=4),
        lambda L, o: L.optim.lr_scheduler.LinearLR(o, start_factor=0.0),
        lambda L, o: L.optim.lr_scheduler.LinearLR(o, end_factor=1.5),
        lambda L, o: L.optim.lr_scheduler.LambdaLR(o, [lambda e: 1.0]),
        lambda L, o: L.optim.lr_scheduler.StepLR(object(), 3),
    ],
    ids=["resume_without_initial_lr", "start_factor", "end_factor", "lambdas", "not_optimizer"],
)
def test_scheduler_errors_like_torch(make):
    with pytest.raises(Exception) as t:
        make(torch, _sched_optimizer(torch))
    with pytest.raises(Exception) as e:
        make(ember, _sched_optimizer(ember))
    assert type(e.value) is type(t.value)
    assert str(e.value) == str(t.value)


def test_scheduler_resume_with_last_epoch_like_torch():
    def script(L):
        o = _sched_optimizer(L)
        L.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10)  # sets initial_lr
        s = L.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, last_epoch=4)
        lrs = [s.get_last_lr()]
        for _ in range(8):
            o.step()
            s.step()
            lrs.append(s.get_last_lr())
        return lrs

    assert script(ember) == script(torch)


# ==========================================================================
# Module.to / double / float / cpu
# ==========================================================================


def _mlp(L):
    torch.manual_seed(0)
    ember.manual_seed(0)
    return L.nn.Sequential(L.nn.Linear(4, 6), L.nn.Tanh(), L.nn.Linear(6, 2))


def _copy_from_torch(em, tm):
    with ember.no_grad():
        for ep, tp in zip(em.parameters(), tm.parameters()):
            ep.copy_(ember.tensor(tp.detach().numpy()))


@pytest.mark.parametrize("convert", ["double", "to_dtype", "to_kw", "to_tensor"])
def test_module_conversion_keeps_parameters_and_optimizer(convert):
    tm, em = _mlp(torch), _mlp(ember)
    _copy_from_torch(em, tm)

    def script(L, m):
        before = list(m.parameters())
        o = L.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)  # created before converting
        x = L.ones(3, 4)
        m(x).sum().backward()  # grads are converted along with the params
        if convert == "double":
            out = m.double()
        elif convert == "to_dtype":
            out = m.to(L.float64)
        elif convert == "to_kw":
            out = m.to(device="cpu", dtype=L.float64)
        else:
            out = m.to(L.zeros(1, dtype=L.float64))
        assert out is m
        assert all(a is b for a, b in zip(before, m.parameters()))
        o.step()
        o.zero_grad()
        rng = np.random.default_rng(5)
        for _ in range(3):
            x = L.tensor(rng.standard_normal((3, 4)))
            (m(x) ** 2).sum().backward()
            o.step()
            o.zero_grad()
        return m

    em, tm = script(ember, em), script(torch, tm)
    for ep, tp in zip(em.parameters(), tm.parameters()):
        assert isinstance(ep, ember.nn.Parameter) and ep.requires_grad and ep.is_leaf
        assert_close(ep, tp, rtol=1e-6, atol=1e-7)  # float64 now, from float32 values


def test_module_float_cpu_and_bad_dtype_like_torch():
    def script(L):
        m = _mlp(L).double()
        p = next(m.parameters())
        p.grad = L.ones(p.shape, dtype=L.float64)
        assert m.float() is m and m.cpu() is m and m.to("cpu") is m
        return [str(q.dtype).split(".")[-1] for q in m.parameters()], str(p.grad.dtype)

    e, t = script(ember), script(torch)
    assert e[0] == t[0] == ["float32"] * 4
    assert e[1].split(".")[-1] == t[1].split(".")[-1]
    with pytest.raises(TypeError) as te:
        _mlp(torch).to(torch.int64)
    with pytest.raises(TypeError) as ee:
        _mlp(ember).to(ember.int64)
    assert str(ee.value) == str(te.value).replace("torch.", "ember.")


# ==========================================================================
# set_printoptions
# ==========================================================================


@pytest.fixture
def restore_printoptions():
    yield
    torch.set_printoptions(profile="default")
    ember.set_printoptions(profile="default")


PRINT_OPTIONS = [
    {"precision": 2},
    {"precision": 8, "sci_mode": True},
    {"sci_mode": False},
    {"threshold": 5, "edgeitems": 1},
    {"linewidth": 30},
    {"profile": "short"},
    {"profile": "full"},
    {"profile": "short", "precision": 6, "linewidth": 120},
]


@pytest.mark.parametrize("opts", PRINT_OPTIONS, ids=str)
def test_set_printoptions_prints_like_torch(opts, restore_printoptions):
    rng = np.random.default_rng(6)
    arrays = [
        rng.standard_normal((4, 5)).astype(np.float32) * 1000,
        rng.standard_normal((3, 4)) * 1e-5,
        np.arange(1200, dtype=np.float32).reshape(40, 30),
        np.array([1.5, -2.25, 3.0], dtype=np.float32),
        np.arange(12, dtype=np.int64),
    ]
    torch.set_printoptions(**opts)
    ember.set_printoptions(**opts)
    for arr in arrays:
        expected = repr(torch.tensor(arr)).replace("torch.", "ember.")
        assert repr(ember.tensor(arr)) == expected


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"mode": "max", "factor": 0.5, "patience": 1},
        {"threshold_mode": "abs", "threshold": 0.05, "patience": 0, "cooldown": 2},
        {"patience": 1, "min_lr": [0.02, 0.001], "eps": 1e-3},
    ],
    ids=str,
)
def test_reduce_lr_on_plateau_matches_torch(kw):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.8, 0.85, 0.85, 0.85, 0.85] * 3

    def run(lib):
        a, b = lib.zeros(1, requires_grad=True), lib.zeros(1, requires_grad=True)
        opt = lib.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        seen = []
        for m in metrics:
            opt.step()
            sched.step(m)
            seen.append((sched.get_last_lr(), sched.num_bad_epochs, sched.cooldown_counter))
        state = sched.state_dict()
        return seen, state["best"], state["last_epoch"]

    assert run(ember) == run(torch)


def test_reduce_lr_on_plateau_refusals_match_torch():
    for lib in (ember, torch):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        for kw in ({"factor": 1.0}, {"mode": "median"}, {"threshold_mode": "pct"}):
            with pytest.raises(ValueError):
                lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        with pytest.raises(ValueError):
            lib.optim.lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2])


@pytest.mark.parametrize(
    "opt_name,kw",
    [
        ("SGD", {"max_lr": 0.5, "total_steps": 20}),
        ("SGD", {"max_lr": [0.5, 0.2], "epochs": 3, "steps_per_epoch": 7, "three_phase": True}),
        ("Adam", {"max_lr": 0.01, "total_steps": 15, "anneal_strategy": "linear"}),
        ("Adam", {"max_lr": 0.01, "total_steps": 12, "cycle_momentum": False, "pct_start": 0.5}),
    ],
    ids=str,
)
def test_one_cycle_lr_matches_torch(opt_name, kw):
    def run(lib):
        a, b = lib.zeros(1, requires_grad=True), lib.zeros(1, requires_grad=True)
        extra = {"momentum": 0.9} if opt_name == "SGD" else {}
        opt = getattr(lib.optim, opt_name)([{"params": [a]}, {"params": [b]}], lr=0.1, **extra)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, **kw)
        key = "momentum" if opt_name == "SGD" else "betas"
        seen = [(sched.get_last_lr(), [g[key] for g in opt.param_groups])]
        steps = kw.get("total_steps") or kw["epochs"] * kw["steps_per_epoch"]
        for _ in range(steps - 1):
            opt.step()
            sched.step()
            seen.append((sched.get_last_lr(), [g[key] for g in opt.param_groups]))
        opt.step()
        try:
            sched.step()
        except ValueError as error:  # one step past the end
            seen.append(str(error))
        return seen

    assert run(ember) == run(torch)


@pytest.mark.parametrize("t_mult", [1, 2])
def test_cosine_annealing_warm_restarts_matches_torch(t_mult):
    def run(lib):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, 3, t_mult, eta_min=0.01)
        seen = []
        for _ in range(16):
            opt.step()
            sched.step()
            seen.append(sched.get_last_lr())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in (0.5, 4.25, 11.0, 2):
                sched.step(epoch)
                seen.append((sched.get_last_lr(), sched.T_i, sched.T_cur))
        return seen

    assert run(ember) == run(torch)


def test_one_cycle_and_warm_restart_refusals_match_torch():
    for lib in (ember, torch):
        sgd = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        schedulers = lib.optim.lr_scheduler
        for kw in ({}, {"total_steps": 0}, {"total_steps": 5, "pct_start": 1.5}):
            with pytest.raises(ValueError):
                schedulers.OneCycleLR(sgd, 0.1, **kw)
        with pytest.raises(ValueError):
            schedulers.OneCycleLR(sgd, 0.1, total_steps=5, anneal_strategy="step")
        with pytest.raises(ValueError):
            schedulers.CosineAnnealingWarmRestarts(sgd, 0)
        with pytest.raises(ValueError):
            schedulers.CosineAnnealingWarmRestarts(sgd, 2, T_mult=0)


def test_cyclic_lr_cycles_adams_beta1_as_torch():
    def script(L):
        o = L.optim.Adam(_params(L), lr=0.1, betas=(0.9, 0.99))
        s = L.optim.lr_scheduler.CyclicLR(o, 0.001, 0.01, step_size_up=3, max_momentum=0.95)
        seen = []
        for _ in range(10):
            o.step()
            s.step()
            seen.append((s.get_last_lr(), o.param_groups[0]["betas"]))
        return seen

    assert script(ember) == script(torch)


@pytest.mark.parametrize("name", ["ConstantLR", "PolynomialLR"])
def test_new_schedulers_jump_to_an_epoch_by_closed_form(name):
    def script(L):
        o = _sched_optimizer(L)
        s = SCHEDULERS[name](L.optim.lr_scheduler, o)
        o.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s.step(4)
            first = s.get_last_lr()
            s.step(20)
        return first, s.get_last_lr()

    assert script(ember) == script(torch)


@pytest.mark.parametrize("averaging", ["swa", "ema", "ema_multi", "swa_buffers"])
def test_weight_averaging_and_swalr_match_torch(averaging):
    def script(L):
        L.manual_seed(0)
        model = L.nn.Sequential(
            L.nn.Linear(4, 6), L.nn.BatchNorm1d(6), L.nn.ReLU(), L.nn.Linear(6, 2)
        )
        swa = L.optim.swa_utils
        kwargs = {
            "swa": {},
            "ema": {"avg_fn": swa.get_ema_avg_fn(0.9)},
            "ema_multi": {"multi_avg_fn": swa.get_ema_multi_avg_fn(0.8)},
            "swa_buffers": {"use_buffers": True},
        }[averaging]
        averaged = swa.AveragedModel(model, **kwargs)
        opt = L.optim.SGD(model.parameters(), lr=0.5)
        schedule = swa.SWALR(opt, swa_lr=0.05, anneal_epochs=3, anneal_strategy="cos")
        data = [L.linspace(-1, 1, 32).reshape(8, 4) * (k + 1) for k in range(3)]
        lrs = []
        for step in range(6):
            opt.zero_grad()
            model(data[step % 3]).pow(2).mean().backward()
            opt.step()
            schedule.step()
            averaged.update_parameters(model)
            lrs.append(schedule.get_last_lr())
        swa.update_bn([(x, 0) for x in data], averaged)
        out = averaged(data[0]).detach()
        return lrs, out, {k: v.detach().clone() for k, v in averaged.state_dict().items()}

    (e_lrs, e_out, e_sd), (t_lrs, t_out, t_sd) = script(ember), script(torch)
    assert e_lrs == t_lrs
    assert list(e_sd) == list(t_sd)
    for key in t_sd:
        assert_close(e_sd[key], t_sd[key], rtol=1e-5, atol=1e-6, msg=key)
    assert_close(e_out, t_out, rtol=1e-5, atol=1e-6)


# ==========================================================================
# Adafactor and SparseAdam
# ==========================================================================

_ADAFACTOR_SHAPES = ((5, 7), (7,), (2, 3, 4), ())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"weight_decay": 0.1, "maximize": True},
        {"lr": 0.5, "d": 2.0, "eps": (1e-6, 1e-2), "beta2_decay": -0.5},
    ],
)
def test_adafactor_matches_torch(dtype, kwargs):
    results = {}
    for L in (ember, torch):
        params = _params(L, dtype, _ADAFACTOR_SHAPES)
        opt = L.optim.Adafactor(params, **kwargs)
        rng = np.random.default_rng(1)
        for _ in range(6):
            _set_grads(L, params, rng, dtype)
            opt.step()
        sd = opt.state_dict()
        results[L] = (params, sd)
    (ep, esd), (tp, tsd) = results[ember], results[torch]
    tol = 1e-6 if dtype == "float32" else 1e-13
    for a, b in zip(ep, tp):
        assert_close(a.detach(), b.detach(), rtol=tol, atol=tol)
    assert esd["param_groups"] == tsd["param_groups"]
    for i, state in tsd["state"].items():
        assert list(esd["state"][i]) == list(state)
        for key, value in state.items():
            assert_close(esd["state"][i][key], value, rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": -1},
        {"beta2_decay": 0.5},
        {"eps": (-1, 1e-3)},
        {"eps": (None, -1)},
        {"d": 0.5},
        {"weight_decay": -1},
    ],
)
def test_adafactor_argument_errors(kwargs):
    errors = []
    for L in (ember, torch):
        with pytest.raises(ValueError) as info:
            L.optim.Adafactor(_params(L), **kwargs)
        errors.append(str(info.value))
    assert errors[0] == errors[1]


def test_sparse_adam_refuses_dense_gradients():
    errors = []
    for L in (ember, torch):
        params = _params(L)
        opt = L.optim.SparseAdam(params)
        _set_grads(L, params, np.random.default_rng(0))
        with pytest.raises(RuntimeError) as info:
            opt.step()
        errors.append(str(info.value))
        assert opt.defaults == {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-08, "maximize": False}
        for bad in ({"lr": 0}, {"eps": 0}, {"betas": (1.0, 0.9)}, {"betas": (0.9, 1.0)}):
            with pytest.raises(ValueError) as info:
                L.optim.SparseAdam(params, **bad)
            errors.append(str(info.value))
    half = len(errors) // 2
    assert errors[:half] == errors[half:]
