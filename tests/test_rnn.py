"""nn.RNN / LSTM / GRU and their cells against torch 2.13.0.

Each case builds the layer in both libraries from the same seed (so the
initialisation itself is compared, bit for bit), loads torch's weights into
Ember's layer as well (identical weights even if the init drifted), runs the
same input, and compares outputs, final states and the gradients of the input,
the initial states and every parameter.
"""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest
import torch
from conftest import capture

FLOATS = ["float32", "float64"]
TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-10, atol=1e-12)}

LAYERS = [
    ("RNN", dict(input_size=3, hidden_size=5)),
    ("RNN", dict(input_size=3, hidden_size=4, num_layers=2, nonlinearity="relu")),
    ("RNN", dict(input_size=3, hidden_size=4, bias=False, bidirectional=True)),
    ("LSTM", dict(input_size=3, hidden_size=5)),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True)),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, batch_first=True)),
    ("LSTM", dict(input_size=3, hidden_size=4, bias=False)),
    ("LSTM", dict(input_size=3, hidden_size=5, proj_size=2, num_layers=2, bidirectional=True)),
    ("GRU", dict(input_size=3, hidden_size=5)),
    ("GRU", dict(input_size=3, hidden_size=4, num_layers=3, bidirectional=True, batch_first=True)),
    ("GRU", dict(input_size=3, hidden_size=4, bias=False)),
]


def _np(t):
    return t.detach().numpy()


def _state_shapes(name, kw, batch):
    dirs = 2 if kw.get("bidirectional") else 1
    layers = kw.get("num_layers", 1)
    h = kw.get("proj_size", 0) or kw["hidden_size"]
    shapes = [(layers * dirs, batch, h)] if batch else [(layers * dirs, h)]
    if name == "LSTM":
        shapes.append(
            (layers * dirs, batch, kw["hidden_size"])
            if batch
            else (layers * dirs, kw["hidden_size"])
        )
    return shapes


def _run(lib, name, kw, dtype, x_np, states_np, seed=0, train=False, weights=None):
    lib.manual_seed(seed)
    layer = getattr(lib.nn, name)(**kw, dtype=getattr(lib, dtype))
    if weights is not None:
        layer.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
    layer.train(train)
    x = lib.tensor(x_np, requires_grad=True)
    states = [lib.tensor(s, requires_grad=True) for s in states_np]
    if not states:
        out, hidden = layer(x)
    elif name == "LSTM":
        out, hidden = layer(x, tuple(states))
    else:
        out, hidden = layer(x, states[0])
    finals = list(hidden) if isinstance(hidden, tuple) else [hidden]
    rng = np.random.default_rng(7)
    loss = (out * lib.tensor(rng.standard_normal(tuple(out.shape)).astype(dtype))).sum()
    for f in finals:
        loss = loss + (f * lib.tensor(rng.standard_normal(tuple(f.shape)).astype(dtype))).sum()
    loss.backward()
    grads = {n: _np(p.grad) for n, p in layer.named_parameters()}
    return dict(
        layer=layer,
        out=_np(out),
        finals=[_np(f) for f in finals],
        x_grad=_np(x.grad),
        state_grads=[_np(s.grad) for s in states],
        grads=grads,
        params={n: _np(p) for n, p in layer.named_parameters()},
    )


def _check(t, e, dtype):
    tol = TOL[dtype]
    assert e["out"].shape == t["out"].shape
    np.testing.assert_allclose(e["out"], t["out"], **tol)
    assert len(e["finals"]) == len(t["finals"])
    for a, b in zip(e["finals"], t["finals"]):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, **tol)
    np.testing.assert_allclose(e["x_grad"], t["x_grad"], **tol)
    for a, b in zip(e["state_grads"], t["state_grads"]):
        np.testing.assert_allclose(a, b, **tol)
    assert list(e["grads"]) == list(t["grads"])
    for n in t["grads"]:
        np.testing.assert_allclose(e["grads"][n], t["grads"][n], **tol, err_msg=n)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("with_states", [False, True])
@pytest.mark.parametrize("case", range(len(LAYERS)))
def test_layer_matches_torch(case, with_states, dtype):
    name, kw = LAYERS[case]
    rng = np.random.default_rng(case)
    seq, batch = 5, 3
    shape = (batch, seq, 3) if kw.get("batch_first") else (seq, batch, 3)
    x = rng.standard_normal(shape).astype(dtype)
    states = [rng.standard_normal(s).astype(dtype) for s in _state_shapes(name, kw, batch)]
    states = states if with_states else []
    t = _run(torch, name, kw, dtype, x, states)
    e = _run(ember, name, kw, dtype, x, states)
    # same seed, same initial weights, bit for bit
    assert list(e["params"]) == list(t["params"])
    for n in t["params"]:
        np.testing.assert_array_equal(e["params"][n], t["params"][n], err_msg=n)
    _check(t, e, dtype)
    # and from torch's weights loaded into a differently seeded layer
    e2 = _run(ember, name, kw, dtype, x, states, seed=123, weights=t["params"])
    _check(t, e2, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("with_states", [False, True])
def test_unbatched_input(name, with_states, dtype):
    kw = dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 3)).astype(dtype)
    states = [rng.standard_normal(s).astype(dtype) for s in _state_shapes(name, kw, 0)]
    states = states if with_states else []
    t = _run(torch, name, kw, dtype, x, states)
    e = _run(ember, name, kw, dtype, x, states)
    assert e["out"].shape == (6, 8)
    _check(t, e, dtype)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("seed", [0, 5])
def test_dropout_between_layers_draws_as_torch(name, seed):
    kw = dict(input_size=3, hidden_size=6, num_layers=3, dropout=0.4, bidirectional=True)
    x = np.random.default_rng(seed).standard_normal((4, 2, 3)).astype("float32")
    t = _run(torch, name, kw, "float32", x, [], seed=seed, train=True)
    e = _run(ember, name, kw, "float32", x, [], seed=seed, train=True)
    _check(t, e, "float32")
    # the draws continue identically after the layer
    assert ember.rand(5).tolist() == torch.rand(5).tolist()
    # in eval mode there is no dropout at all
    te = _run(torch, name, kw, "float32", x, [], seed=seed, train=False)
    assert not np.allclose(te["out"], t["out"])
    _check(te, _run(ember, name, kw, "float32", x, [], seed=seed, train=False), "float32")


CELLS = [
    ("RNNCell", dict(input_size=3, hidden_size=5)),
    ("RNNCell", dict(input_size=3, hidden_size=5, nonlinearity="relu", bias=False)),
    ("LSTMCell", dict(input_size=3, hidden_size=5)),
    ("LSTMCell", dict(input_size=3, hidden_size=4, bias=False)),
    ("GRUCell", dict(input_size=3, hidden_size=5)),
    ("GRUCell", dict(input_size=3, hidden_size=4, bias=False)),
]


def _run_cell(lib, name, kw, dtype, x_np, states_np, steps=3):
    lib.manual_seed(11)
    cell = getattr(lib.nn, name)(**kw, dtype=getattr(lib, dtype))
    x = lib.tensor(x_np, requires_grad=True)
    states = [lib.tensor(s, requires_grad=True) for s in states_np]
    hx = None
    if states:
        hx = tuple(states) if name == "LSTMCell" else states[0]
    loss = 0
    for _ in range(steps):  # feed the state back in: the recurrence's gradients
        hx = cell(x, hx)
        loss = loss + (hx[0] * 1.5 + hx[1]).sum() if name == "LSTMCell" else loss + hx.sum()
    loss.backward()
    outs = hx if isinstance(hx, tuple) else (hx,)
    return dict(
        out=_np(outs[0]),
        finals=[_np(o) for o in outs],
        x_grad=_np(x.grad),
        state_grads=[_np(s.grad) for s in states],
        grads={n: _np(p.grad) for n, p in cell.named_parameters()},
        params={n: _np(p) for n, p in cell.named_parameters()},
        repr=repr(cell),
    )


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_states", [False, True])
@pytest.mark.parametrize("case", range(len(CELLS)))
def test_cell_matches_torch(case, with_states, batched, dtype):
    name, kw = CELLS[case]
    rng = np.random.default_rng(case)
    lead = (2,) if batched else ()
    x = rng.standard_normal(lead + (3,)).astype(dtype)
    n_states = 2 if name == "LSTMCell" else 1
    states = [
        rng.standard_normal(lead + (kw["hidden_size"],)).astype(dtype) for _ in range(n_states)
    ]
    t = _run_cell(torch, name, kw, dtype, x, states if with_states else [])
    e = _run_cell(ember, name, kw, dtype, x, states if with_states else [])
    assert e["repr"] == t["repr"]
    for n in t["params"]:
        np.testing.assert_array_equal(e["params"][n], t["params"][n], err_msg=n)
    _check(t, e, dtype)


def test_names_shapes_state_dict_and_repr():
    for lib_pair in [
        lambda L: L.nn.LSTM(
            3, 4, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True
        ),
        lambda L: L.nn.LSTM(3, 5, proj_size=2, num_layers=2),
        lambda L: L.nn.GRU(3, 4, 2, True, False, 0.0, True),
        lambda L: L.nn.RNN(3, 4, 1, "relu"),
        lambda L: L.nn.RNN(3, 4, nonlinearity="tanh", bias=False),
        lambda L: L.nn.RNNCell(3, 4, nonlinearity="relu"),
        lambda L: L.nn.LSTMCell(3, 4, bias=False),
        lambda L: L.nn.GRUCell(3, 4),
    ]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, e = lib_pair(torch), lib_pair(ember)
        assert repr(e) == repr(t)
        assert list(e.state_dict()) == list(t.state_dict())
        assert [tuple(p.shape) for p in e.parameters()] == [tuple(p.shape) for p in t.parameters()]
        if hasattr(t, "all_weights"):
            assert [[tuple(w.shape) for w in ws] for ws in e.all_weights] == [
                [tuple(w.shape) for w in ws] for ws in t.all_weights
            ]
            assert e._flat_weights_names == t._flat_weights_names
        assert [type(m).__name__ for m in e.modules()] == [type(m).__name__ for m in t.modules()]
    # a model holding an LSTM prints the way torch's does
    assert repr(ember.nn.Sequential(ember.nn.GRU(2, 3))) == repr(
        torch.nn.Sequential(torch.nn.GRU(2, 3))
    )


def test_dropout_warning_and_constructor_errors():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        ember.nn.LSTM(3, 4, dropout=0.5)
    cases = [
        lambda L: L.nn.LSTM(3, 4, dropout=1.5),
        lambda L: L.nn.LSTM(3, 4, dropout=True),
        lambda L: L.nn.LSTM(3, 0),
        lambda L: L.nn.LSTM(0, 3),
        lambda L: L.nn.LSTM(3, 4.0),
        lambda L: L.nn.LSTM(3, 4, num_layers=0),
        lambda L: L.nn.LSTM(3, 4, bias=1),
        lambda L: L.nn.LSTM(3, 4, batch_first=None),
        lambda L: L.nn.LSTM(3, 4, proj_size=4),
        lambda L: L.nn.LSTM(3, 4, proj_size=-1),
        lambda L: L.nn.GRU(3, 4, proj_size=2),
        lambda L: L.nn.RNN(3, 4, proj_size=2),
        lambda L: L.nn.RNN(3, 4, nonlinearity="sigmoid"),
    ]
    for i, case in enumerate(cases):
        te, ee = capture(case, torch), capture(case, ember)
        assert te is not None and type(ee) is type(te), (i, te, ee)
        assert str(ee) == str(te), i


def _forward_errors(name):
    def mk(L):
        L.manual_seed(0)
        return getattr(L.nn, name)(3, 4, num_layers=2)

    two = 2 if name == "LSTM" else 1

    def states(L, *shapes):
        ts = [L.zeros(*s) for s in shapes]
        return tuple(ts) if name == "LSTM" else ts[0]

    extra = []
    if name == "LSTM":  # only the cell state is wrong
        extra = [
            lambda L: mk(L)(L.zeros(5, 2, 3), (L.zeros(2, 2, 4), L.zeros(2, 2, 5))),
            lambda L: mk(L)(L.zeros(5, 2, 3), (L.zeros(2, 2, 4), L.zeros(2, 4))),
            lambda L: mk(L)(L.zeros(5, 2, 3), L.zeros(2, 2, 4)),
        ]
    return extra + [
        lambda L: mk(L)(L.zeros(5, 2, 7)),  # wrong input size
        lambda L: mk(L)(L.zeros(5, 2, 2, 3)),  # 4-D input
        lambda L: mk(L)(L.zeros(3)),  # 1-D input
        lambda L: mk(L)(L.zeros(5, 2, 3, dtype=L.float64)),  # dtype
        lambda L: mk(L)(L.zeros(0, 2, 3)),  # empty sequence
        lambda L: mk(L)(L.zeros(5, 2, 3), states(L, *[(2, 3, 4)] * two)),  # batch
        lambda L: mk(L)(L.zeros(5, 2, 3), states(L, *[(1, 2, 4)] * two)),  # layers
        lambda L: mk(L)(L.zeros(5, 2, 3), states(L, *[(2, 2, 5)] * two)),  # hidden
        lambda L: mk(L)(L.zeros(5, 2, 3), states(L, *[(2, 4)] * two)),  # 2-D state
        lambda L: mk(L)(L.zeros(5, 3), states(L, *[(2, 1, 4)] * two)),  # 3-D state, unbatched
        lambda L: mk(L)(L.zeros(5, 3), states(L, *[(2, 5)] * two)),
    ]


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_forward_errors_match_torch(name):
    for i, case in enumerate(_forward_errors(name)):
        te, ee = capture(case, torch), capture(case, ember)
        assert te is not None, i
        assert type(ee) is type(te), (i, te, ee)
        assert str(ee) == str(te).replace("torch.", "ember."), (i, str(te), str(ee))


def test_lstm_cell_state_errors_match_torch():
    def mk(L, name):
        return getattr(L.nn, name)(3, 4)

    cases = [
        lambda L: mk(L, "LSTMCell")(L.zeros(2, 5)),
        lambda L: mk(L, "LSTMCell")(L.zeros(2, 3), (L.zeros(3, 4), L.zeros(2, 4))),
        lambda L: mk(L, "LSTMCell")(L.zeros(2, 3), (L.zeros(2, 5), L.zeros(2, 4))),
        lambda L: mk(L, "LSTMCell")(L.zeros(2, 3), (L.zeros(2, 4), L.zeros(2, 5))),
        lambda L: mk(L, "LSTMCell")(L.zeros(2, 3), (L.zeros(2, 4, 1), L.zeros(2, 4))),
        lambda L: mk(L, "LSTMCell")(L.zeros(2, 2, 3)),
        lambda L: mk(L, "GRUCell")(L.zeros(2, 5)),
        lambda L: mk(L, "GRUCell")(L.zeros(2, 3), L.zeros(3, 4)),
        lambda L: mk(L, "GRUCell")(L.zeros(2, 3), L.zeros(2, 4, 1)),
        lambda L: mk(L, "RNNCell")(L.zeros(2, 3), L.zeros(4)),
        lambda L: mk(L, "RNNCell")(L.zeros(1, 1, 3)),
    ]
    for i, case in enumerate(cases):
        te, ee = capture(case, torch), capture(case, ember)
        assert te is not None, i
        assert type(ee) is type(te), (i, te, ee)
        assert str(ee) == str(te), (i, str(te), str(ee))


def test_lstm_gradcheck_float64():
    ember.manual_seed(0)
    layer = ember.nn.LSTM(2, 3, num_layers=2, bidirectional=True, dtype=ember.float64)
    names = [n for n, _ in layer.named_parameters()]
    params = list(layer.parameters())
    x = ember.randn(3, 2, 2, dtype=ember.float64, requires_grad=True)
    h0 = ember.randn(4, 2, 3, dtype=ember.float64, requires_grad=True)
    c0 = ember.randn(4, 2, 3, dtype=ember.float64, requires_grad=True)

    def fn(x, h0, c0, *ws):
        for n, w in zip(names, ws):
            layer._parameters[n] = w
        out, (h, c) = layer(x, (h0, c0))
        return out, h, c

    ws = [ember.nn.Parameter(p.detach().clone()) for p in params]
    assert ember.autograd.gradcheck(fn, (x, h0, c0, *ws))


def test_gru_gradcheck_float64():
    ember.manual_seed(1)
    cell = ember.nn.GRU(2, 3, dtype=ember.float64)
    x = ember.randn(4, 2, dtype=ember.float64, requires_grad=True)
    h0 = ember.randn(1, 3, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda x, h: cell(x, h), (x, h0))
    assert ember.autograd.gradgradcheck(lambda x, h: cell(x, h)[0], (x, h0))


def test_outputs_feed_training_like_torch():
    # a two-step SGD loop: the trained parameters stay equal to torch's
    def train(L):
        L.manual_seed(3)
        emb, rnn, head = L.nn.Embedding(11, 4), L.nn.LSTM(4, 6, 2), L.nn.Linear(6, 11)
        params = list(emb.parameters()) + list(rnn.parameters()) + list(head.parameters())
        opt = L.optim.SGD(params, lr=0.5)
        idx = L.tensor(np.random.default_rng(0).integers(0, 11, size=(7, 3)))
        hidden = None
        for _ in range(2):
            opt.zero_grad()
            out, hidden = rnn(emb(idx), hidden)
            hidden = tuple(h.detach() for h in hidden)
            loss = L.nn.functional.cross_entropy(head(out).view(-1, 11), idx.view(-1))
            loss.backward()
            L.nn.utils.clip_grad_norm_(params, 0.25)
            opt.step()
        return [_np(p) for p in params]

    for a, b in zip(train(ember), train(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ----- the fused float32 LSTM layer ----------------------------------------------------


def _lstm_pair(L, dtype="float32", **kw):
    L.manual_seed(0)
    layer = L.nn.LSTM(3, 4, **kw, dtype=getattr(L, dtype))
    x = L.tensor(
        np.random.default_rng(0).standard_normal((5, 2, 3)).astype(dtype), requires_grad=True
    )
    return layer, x


def test_fused_lstm_node_and_second_derivatives_match_torch():
    def run(L):
        layer, x = _lstm_pair(L, num_layers=2, bidirectional=True)
        out, (h, c) = layer(x)
        names = {
            (fn.name(), type(fn).__name__) for fn, _ in out.grad_fn.next_functions if fn is not None
        }
        assert names == {("MkldnnRnnLayerBackward0", "MkldnnRnnLayerBackward0")}
        (g,) = L.autograd.grad((out**2).sum() + (h * c).sum(), x, create_graph=True)
        (g**2).sum().backward()
        return [_np(g), _np(x.grad)] + [_np(p.grad) for p in layer.parameters()]

    for a, b in zip(run(torch), run(ember)):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)


def test_fused_lstm_retain_graph_and_no_grad():
    layer, x = _lstm_pair(ember)
    out, _ = layer(x)
    loss = out.sum()
    loss.backward(retain_graph=True)
    first = x.grad.clone()
    loss.backward()
    np.testing.assert_allclose(_np(x.grad), 2 * _np(first), rtol=1e-6)
    with ember.no_grad():
        again, (h, c) = layer(x)
    assert again.grad_fn is None and not h.requires_grad
    np.testing.assert_array_equal(_np(again), _np(out))


def test_fused_lstm_model_sized_layer_matches_torch():
    # the benchmark's shapes: the vector loops over a hidden size of 128
    def run(L):
        L.manual_seed(1)
        layer = L.nn.LSTM(64, 128)
        x = L.tensor(
            np.random.default_rng(1).standard_normal((7, 20, 64)).astype("float32"),
            requires_grad=True,
        )
        out, (h, c) = layer(x)
        (out.sum() + (c * c).sum()).backward()
        return [_np(out), _np(h), _np(c), _np(x.grad)] + [_np(p.grad) for p in layer.parameters()]

    # The weight gradients sum 140 products of size ~1 each, in another order than
    # torch's BLAS: a few float32 ulps of 1 apart where the sum cancels to near 0.
    for a, b in zip(run(torch), run(ember)):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def _composed_lstm_layer(xw, h, c, w_hh, reverse):
    """The recurrence written with differentiable ops, the reference for the kernels."""
    outs = [None] * xw.shape[0]
    for t in reversed(range(xw.shape[0])) if reverse else range(xw.shape[0]):
        i, f, g, o = (xw[t] + h @ w_hh.t()).chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        outs[t] = h
    return ember.stack(outs, 0), h, c


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("T, B, H", [(1, 1, 1), (5, 3, 7), (4, 9, 40)])
def test_fused_layer_kernels_match_composition(T, B, H, reverse):
    from ember._C import _nn

    rng = np.random.default_rng(T * 100 + B * 10 + H)

    def leaf(*shape, scale=1.0):
        values = rng.standard_normal(shape).astype("float32") * scale
        return ember.tensor(values, requires_grad=True)

    xw, h0, c0, w_hh = leaf(T, B, 4 * H, scale=2.0), leaf(B, H), leaf(B, H), leaf(4 * H, H)
    out, hy, cy, gates, tanh_c, cs = _nn._lstm_layer_forward(
        xw.detach(), h0.detach(), c0.detach(), w_hh.detach(), reverse, True
    )
    ref = _composed_lstm_layer(xw, h0, c0, w_hh, reverse)
    tol = dict(rtol=1e-4, atol=1e-5)
    for got, want in zip((out, hy, cy), ref):
        np.testing.assert_allclose(_np(got), _np(want), **tol)
    no_keep = _nn._lstm_layer_forward(
        xw.detach(), h0.detach(), c0.detach(), w_hh.detach(), reverse, False
    )
    assert no_keep[3:] == (None, None, None)
    for got, want in zip(no_keep[:3], (out, hy, cy)):
        np.testing.assert_array_equal(_np(got), _np(want))
    grads = [ember.tensor(rng.standard_normal(t.shape).astype("float32")) for t in ref]
    for chosen in [(0, 1, 2), (0,), (1,), (2,)]:
        given = [grads[k] if k in chosen else None for k in range(3)]
        got = _nn._lstm_layer_backward(
            *given, h0.detach(), c0.detach(), w_hh.detach(), out, gates, tanh_c, cs, reverse
        )
        want = ember.autograd.grad(
            [ref[k] for k in chosen],
            [xw, h0, c0, w_hh],
            [grads[k] for k in chosen],
            retain_graph=True,
        )
        for g, w in zip(got, want):
            np.testing.assert_allclose(_np(g), _np(w), rtol=1e-4, atol=5e-5)


def test_fused_layer_kernels_refuse_bad_shapes_and_dtypes():
    from ember._C import _nn

    xw, h, w = ember.zeros(2, 3, 8), ember.zeros(3, 2), ember.zeros(8, 2)
    with pytest.raises(ValueError, match=r"\(T, B, 4H\)"):
        _nn._lstm_layer_forward(xw, h, h[:, :1], w, False, True)
    with pytest.raises(ValueError, match="float32"):
        _nn._lstm_layer_forward(xw.double(), h, h, w, False, True)


# ----- PackedSequence and nn.utils.rnn -------------------------------------------------


def _run_packed(L, name, kw, lengths, enforce, with_states, batch_first):
    L.manual_seed(0)
    layer = getattr(L.nn, name)(3, 4, **kw, batch_first=batch_first)
    rng = np.random.default_rng(0)
    B, T = len(lengths), max(lengths)
    x = L.tensor(
        rng.standard_normal((B, T, 3) if batch_first else (T, B, 3)).astype("float32"),
        requires_grad=True,
    )
    rnn_utils = L.nn.utils.rnn
    packed = rnn_utils.pack_padded_sequence(
        x, L.tensor(lengths), batch_first=batch_first, enforce_sorted=enforce
    )
    dirs = 2 if kw.get("bidirectional") else 1
    shape = (kw.get("num_layers", 1) * dirs, B, kw.get("proj_size", 0) or 4)
    hx = None
    if with_states:
        h0 = L.tensor(rng.standard_normal(shape).astype("float32"), requires_grad=True)
        c0 = L.tensor(rng.standard_normal((shape[0], B, 4)).astype("float32"), requires_grad=True)
        hx = (h0, c0) if name == "LSTM" else h0
    out, hidden = layer(packed, hx)
    assert type(out).__name__ == "PackedSequence"
    padded, lens = rnn_utils.pad_packed_sequence(out, batch_first=batch_first, total_length=T + 1)
    finals = hidden if isinstance(hidden, tuple) else (hidden,)
    loss = (padded**2).sum() + sum((f * 1.3).sum() for f in finals) + (out.data * 0.5).sum()
    loss.backward()
    res = [padded, lens, out.data, out.batch_sizes, *finals, x.grad]
    return [_np(r) for r in res] + [_np(p.grad) for p in layer.parameters()]


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("kw", [{}, dict(num_layers=2, bidirectional=True)])
@pytest.mark.parametrize("lengths,enforce", [([5, 3, 3, 1], True), ([2, 5, 1, 3], False)])
@pytest.mark.parametrize("with_states", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_packed_sequence_matches_torch(name, kw, lengths, enforce, with_states, batch_first):
    t = _run_packed(torch, name, kw, lengths, enforce, with_states, batch_first)
    e = _run_packed(ember, name, kw, lengths, enforce, with_states, batch_first)
    for a, b in zip(t, e):
        assert a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_packed_lstm_with_projection():
    kw = dict(proj_size=2, num_layers=2, bidirectional=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = _run_packed(torch, "LSTM", kw, [4, 2, 1], True, True, False)
    e = _run_packed(ember, "LSTM", kw, [4, 2, 1], True, True, False)
    for a, b in zip(t, e):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_rnn_utils_helpers_match_torch():
    seqs = [np.arange(6.0).reshape(3, 2), np.ones((1, 2)), np.full((4, 2), 2.0)]

    def helpers(L):
        u = L.nn.utils.rnn
        ts = [L.tensor(s) for s in seqs]
        out = [
            u.pad_sequence(ts),
            u.pad_sequence(ts, batch_first=True, padding_value=-1.0),
            u.pad_sequence(ts, batch_first=True, padding_side="left"),
        ]
        packed = u.pack_sequence(ts, enforce_sorted=False)
        out += [packed.data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices]
        out += list(u.pad_packed_sequence(packed, batch_first=True))
        out += u.unpack_sequence(packed)
        return [_np(o) for o in out]

    for a, b in zip(helpers(torch), helpers(ember)):
        np.testing.assert_array_equal(b, a)
    x = ember.zeros(4, 3, 2)
    for fn in [
        lambda L: L.nn.utils.rnn.pack_padded_sequence(L.zeros(4, 3, 2), [1, 2, 4]),
        lambda L: L.nn.utils.rnn.pack_padded_sequence(L.zeros(4, 3, 2), [4, 2]),
        lambda L: L.nn.utils.rnn.pad_packed_sequence(
            L.nn.utils.rnn.pack_padded_sequence(L.zeros(4, 3, 2), [4, 2, 1]), total_length=2
        ),
    ]:
        te, ee = capture(fn, torch), capture(fn, ember)
        assert te is not None and type(ee) is type(te) and str(ee) == str(te)
    import ember.nn.utils.rnn as rnn_utils

    assert rnn_utils.PackedSequence is type(rnn_utils.pack_sequence([x[0]]))


@pytest.mark.parametrize("use", ["h_n", "c_n", "both", "output"])
def test_lstm_gradients_through_final_states_match_torch(use):
    # The gradient of h_n.sum() is an expanded (strided) tensor.
    data = np.random.default_rng(11).standard_normal((5, 2, 3)).astype(np.float32)
    grads, torch_state = [], None
    for lib in (torch, ember):
        layer = lib.nn.LSTM(3, 4)
        if lib is ember:
            layer.load_state_dict({k: ember.tensor(v.numpy()) for k, v in torch_state.items()})
        else:
            torch_state = layer.state_dict()
        x = lib.tensor(data, requires_grad=True)
        out, (h, c) = layer(x)
        picked = {"h_n": [h], "c_n": [c], "both": [h, c], "output": [out]}[use]
        sum(t.sum() for t in picked).backward()
        grads.append((x.grad.numpy(), layer.weight_hh_l0.grad.numpy()))
    for want, got in zip(grads[0], grads[1]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
