"""The fused optimizer steps (ember._C._optim, Note [Fused optimizer steps]) of SGD,
Adam/AdamW, Adadelta and RMSprop against torch: every option in float32 and float64,
bit for bit once torch's sqrt rounds correctly, version counters, and the
param-by-param path that takes over when a group does not qualify.
"""

from __future__ import annotations

import itertools

import ember
import ember.optim.optimizers as optimizers
import numpy as np
import pytest
import torch
from conftest import assert_close, capture
from hypothesis import given, settings
from hypothesis import strategies as st
from test_optim import _tol, assert_state_dicts_match

# shapes with vector-width tails, a 0-d and an empty param
SHAPES = ((5, 7), (7,), (), (0, 3), (40, 33))


def _grid(**options):
    return [dict(zip(options, values)) for values in itertools.product(*options.values())]


CASES = (
    [
        ("SGD", dict(kw, lr=0.05))
        for kw in _grid(
            momentum=[0, 0.9],
            dampening=[0, 0.2],
            nesterov=[False, True],
            weight_decay=[0, 0.05],
            maximize=[False, True],
        )
        if not kw["nesterov"] or (kw["momentum"] and not kw["dampening"])
    ]
    + [
        (opt, dict(kw, lr=0.02))
        for opt in ("Adam", "AdamW")
        for kw in _grid(amsgrad=[False, True], maximize=[False, True], weight_decay=[0, 0.1])
    ]
    + [("Adam", {"lr": 0.02, "betas": (0.3, 0.6), "weight_decay": 0.1, "amsgrad": True})]
    + [
        ("Adam", {"lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ]
    + [
        ("Adadelta", dict(kw, lr=0.5, rho=0.8))
        for kw in _grid(maximize=[False, True], weight_decay=[0, 0.1])
    ]
    + [
        ("RMSprop", dict(kw, lr=0.01))
        for kw in _grid(
            centered=[False, True],
            momentum=[0, 0.9],
            maximize=[False, True],
            weight_decay=[0, 0.1],
        )
    ]
    + [("RMSprop", {"lr": 0.01, "alpha": 0.3, "centered": True, "momentum": 0.5})]
)


def _richest(opt):
    """The case of `opt` with the most options on."""
    return max((c for c in CASES if c[0] == opt), key=lambda c: sum(map(bool, c[1].values())))


ONE_EACH = [_richest(opt) for opt in ("SGD", "Adam", "AdamW", "Adadelta", "RMSprop")]
FUSED_NAME = {"SGD": "sgd", "Adam": "adam", "AdamW": "adam", "Adadelta": "adadelta"}


class _Spy:
    """Stands in for ember._C._optim and records which fused steps ran."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        fn = getattr(ember._C._optim, name)

        def call(*args, **kwargs):
            self.calls.append(name)
            return fn(*args, **kwargs)

        return call


@pytest.fixture
def fused_calls(monkeypatch):
    spy = _Spy()
    monkeypatch.setattr(optimizers, "_optim", spy)
    return spy.calls


@pytest.fixture
def correctly_rounded_torch_sqrt(monkeypatch):
    """torch's CPU sqrt is MKL's (VML high-accuracy mode): within 1 ulp, and off by
    one in ~0.6% of elements. The fused kernels' sqrt is correctly rounded, and with
    torch's replaced by one that is, the two trajectories agree bit for bit."""

    def sqrt(self):
        return torch.from_numpy(np.asarray(np.sqrt(self.numpy())))

    monkeypatch.setattr(torch.Tensor, "sqrt", sqrt)
    monkeypatch.setattr(torch.Tensor, "sqrt_", lambda self: self.copy_(sqrt(self)))


def _run(L, opt, kw, dtype, steps=20, shapes=SHAPES, grad_layout=None):
    rng = np.random.default_rng(0)
    params = [L.nn.Parameter(L.tensor(rng.standard_normal(s).astype(dtype))) for s in shapes]
    o = getattr(L.optim, opt)(params, **kw)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        for p in params:
            g = rng.standard_normal(tuple(p.shape)).astype(dtype)
            p.grad = grad_layout(L, g) if grad_layout else L.tensor(g)
        o.step()
    return params, o


def _fused_name(opt):
    return FUSED_NAME.get(opt, "rmsprop")


def _torch_tol(opt, kw, dtype):
    """Tolerance against torch itself, whose sqrt is off by an ulp now and then (see
    correctly_rounded_torch_sqrt). Centered RMSprop's sqrt(square_avg - grad_avg**2)
    cancels, and momentum carries a differing sqrt's ulp on into parameters that pass
    through ~2 on their way near 0 (how often MKL's sqrt is off depends on the CPU's
    vector width): float32 needs an ulp at that scale there."""
    if opt == "RMSprop" and (kw.get("centered") or kw.get("momentum")) and dtype == "float32":
        return {"rtol": 1e-4, "atol": 1e-6}
    return _tol(dtype)


@pytest.mark.parametrize("opt, kw", CASES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_step_matches_torch(opt, kw, dtype, fused_calls):
    ep, eo = _run(ember, opt, kw, dtype)
    tp, to = _run(torch, opt, kw, dtype)
    assert fused_calls == [_fused_name(opt)] * 20
    for e, t in zip(ep, tp):
        assert_close(e, t, **_torch_tol(opt, kw, dtype))
    assert_state_dicts_match(eo.state_dict(), to.state_dict(), **_torch_tol(opt, kw, dtype))


@pytest.mark.parametrize("opt, kw", CASES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_step_is_torchs_arithmetic_bit_for_bit(
    opt, kw, dtype, fused_calls, correctly_rounded_torch_sqrt
):
    ep, eo = _run(ember, opt, kw, dtype)
    tp, to = _run(torch, opt, kw, dtype)
    assert fused_calls
    for e, t in zip(ep, tp):
        np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())
    assert_state_dicts_match(eo.state_dict(), to.state_dict(), rtol=0, atol=0)


@pytest.mark.parametrize("opt, kw", CASES[:: len(CASES) // 12], ids=str)
def test_fused_step_bumps_versions_like_torch(opt, kw):
    def versions(L):
        params, o = _run(L, opt, kw, "float32", steps=3)
        states = [
            {k: v._version for k, v in o.state[p].items() if hasattr(v, "_version")} for p in params
        ]
        return [p._version for p in params], states

    assert versions(ember) == versions(torch)


@pytest.mark.parametrize("opt, kw", ONE_EACH, ids=str)
def test_param_saved_for_backward_then_stepped_raises_like_torch(opt, kw, fused_calls):
    def script(L):
        p = L.nn.Parameter(L.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)))
        o = getattr(L.optim, opt)([p], **kw)
        y = (p * p).sum()  # saves p
        p.grad = L.ones(2, 3)
        o.step()
        y.backward()

    te, ee = capture(script, torch), capture(script, ember)
    assert fused_calls
    assert type(ee) is type(te)
    version = str(te).split("is at version ")[1].split(";")[0]
    for fragment in ("modified by an inplace operation", f"is at version {version}; expected"):
        assert fragment in str(te) and fragment in str(ee), (str(ee), str(te))


@pytest.mark.parametrize("opt, kw", ONE_EACH, ids=str)
def test_params_without_grads_are_skipped_like_torch(opt, kw, fused_calls):
    def script(L):
        rng = np.random.default_rng(0)
        params = [
            L.nn.Parameter(L.tensor(rng.standard_normal(s).astype("float32"))) for s in SHAPES
        ]
        o = getattr(L.optim, opt)(params, **kw)
        for step in range(4):
            for i, p in enumerate(params):
                skip = i == 1 or (i == 3 and step % 2)
                p.grad = (
                    None
                    if skip
                    else L.tensor(rng.standard_normal(tuple(p.shape)).astype("float32"))
                )
            o.step()
        return params, o

    (ep, eo), (tp, to) = script(ember), script(torch)
    assert fused_calls
    assert list(eo.state_dict()["state"]) == list(to.state_dict()["state"])
    assert_state_dicts_match(eo.state_dict(), to.state_dict(), **_torch_tol(opt, kw, "float32"))
    for e, t in zip(ep, tp):
        assert_close(e, t, **_torch_tol(opt, kw, "float32"))


def test_a_param_listed_twice_is_stepped_twice_like_torch(fused_calls):
    def script(L):
        p = L.nn.Parameter(L.tensor(np.linspace(-1, 1, 40, dtype=np.float32)))
        with pytest.warns(UserWarning, match="duplicate parameters"):
            o = L.optim.Adam([p, p], lr=0.1)
        p.grad = L.ones(40)
        o.step()
        return p, o

    (ep, eo), (tp, to) = script(ember), script(torch)
    assert fused_calls == ["adam"]
    assert_close(ep, tp)
    for key, value in to.state[tp].items():
        assert_close(eo.state[ep][key], value, msg=key)


# ==========================================================================
# groups the fused step does not take: the param-by-param ops, like torch
# ==========================================================================


def _transposed(L, g):
    """The gradient as a non-contiguous tensor: the transpose of a contiguous one."""
    return L.tensor(np.ascontiguousarray(g.T)).T if g.ndim == 2 else L.tensor(g)


@pytest.mark.parametrize("opt, kw", CASES[::4], ids=str)
def test_non_contiguous_grads_take_the_param_by_param_path(opt, kw, fused_calls):
    # test_optim.py's shapes, on which the param-by-param ops stay within _tol of torch
    shapes = ((5, 7), (7,), ())
    ep, eo = _run(ember, opt, kw, "float32", shapes=shapes, grad_layout=_transposed)
    tp, to = _run(torch, opt, kw, "float32", shapes=shapes, grad_layout=_transposed)
    assert not ep[0].grad.is_contiguous()
    assert fused_calls == []
    for e, t in zip(ep, tp):
        assert_close(e, t, **_torch_tol(opt, kw, "float32"))
    assert_state_dicts_match(eo.state_dict(), to.state_dict(), **_torch_tol(opt, kw, "float32"))


@pytest.mark.parametrize("opt, kw", CASES[1::4], ids=str)
def test_mixed_dtypes_take_the_param_by_param_path(opt, kw, fused_calls):
    def script(L):
        rng = np.random.default_rng(0)
        params = [
            L.nn.Parameter(L.tensor(rng.standard_normal((4, 3)).astype("float64"))),
            L.nn.Parameter(L.tensor(rng.standard_normal(5).astype("float32"))),
        ]
        o = getattr(L.optim, opt)(params, **kw)
        for _ in range(10):
            for p in params:
                dtype = "float64" if p.dtype == L.float64 else "float32"
                p.grad = L.tensor(rng.standard_normal(tuple(p.shape)).astype(dtype))
            o.step()
        return params, o

    (ep, eo), (tp, to) = script(ember), script(torch)
    assert fused_calls == []
    assert_close(ep[0], tp[0], **_tol("float64"))
    assert_close(ep[1], tp[1], **_tol("float32"))
    assert_state_dicts_match(eo.state_dict(), to.state_dict(), **_tol("float32"))


def test_tensor_lr_takes_the_param_by_param_path(fused_calls):
    def script(L):
        p = L.nn.Parameter(L.tensor(np.linspace(-1, 1, 12, dtype=np.float32)))
        o = L.optim.Adadelta([p], lr=L.tensor(0.5))
        for i in range(5):
            p.grad = L.tensor(np.cos(np.arange(12, dtype=np.float32) + i))
            o.step()
        return p

    assert_close(script(ember), script(torch), **_tol("float32"))
    assert fused_calls == []


def test_groups_decide_separately(fused_calls):
    # one group qualifies, the other (a non-contiguous grad) does not
    def script(L):
        a = L.nn.Parameter(L.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)))
        b = L.nn.Parameter(L.tensor(np.linspace(1, 2, 6, dtype=np.float32).reshape(2, 3)))
        o = L.optim.RMSprop([{"params": [a]}, {"params": [b], "lr": 0.1}], momentum=0.5)
        for i in range(3):
            a.grad = L.full((2, 3), 0.5 + i)
            b.grad = L.tensor(np.full((3, 2), 1.5 - i, dtype=np.float32)).T
            o.step()
        return a, b

    for e, t in zip(script(ember), script(torch)):
        assert_close(e, t, **_tol("float32"))
    assert fused_calls == ["rmsprop"] * 3


# ==========================================================================
# shapes
# ==========================================================================


@settings(max_examples=40, deadline=None)
@given(
    shapes=st.lists(
        st.lists(st.integers(0, 9), min_size=0, max_size=3).map(tuple), min_size=1, max_size=4
    ),
    case=st.sampled_from(CASES),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_fused_step_over_shapes_hypothesis(shapes, case, dtype):
    opt, kw = case
    ep, eo = _run(ember, opt, kw, dtype, steps=3, shapes=shapes)
    tp, to = _run(torch, opt, kw, dtype, steps=3, shapes=shapes)
    for e, t in zip(ep, tp):
        assert_close(e, t, **_tol(dtype))
    assert_state_dicts_match(eo.state_dict(), to.state_dict(), **_tol(dtype))
