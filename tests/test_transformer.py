"""nn.MultiheadAttention, F.multi_head_attention_forward and the transformer
layers against torch 2.13.0.

Each case builds the module in both libraries from the same seed (comparing the
initialisation itself), loads torch's state_dict into Ember's module as well,
runs the same inputs and masks, and compares outputs, attention weights and the
gradients of the inputs and of every parameter.
"""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest
import torch
from conftest import capture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FLOATS = ["float32", "float64"]
TOL = {"float32": dict(rtol=1e-4, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-11)}


def _np(t):
    return t.detach().numpy()


def _tensor(lib, a, grad=False):
    t = lib.tensor(a)
    return t.requires_grad_() if grad else t


def _dt(lib, dtype):
    return getattr(lib, dtype)


def _build(lib, cls, dtype, seed=0, **kw):
    lib.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(lib.nn, cls)(dtype=_dt(lib, dtype), **kw)


def _same_state(t_mod, e_mod, dtype, exact=True):
    ts, es = t_mod.state_dict(), e_mod.state_dict()
    assert list(ts) == list(es)
    for k in ts:
        assert tuple(ts[k].shape) == tuple(es[k].shape), k
        if exact:
            np.testing.assert_allclose(
                _np(es[k]), _np(ts[k]), rtol=1e-6 if dtype == "float32" else 0
            )


def _close(e, t, dtype):
    np.testing.assert_allclose(_np(e), _np(t), **TOL[dtype])


def _mask(rng, kind, shape, dtype):
    """A mask of the given kind: bool (True = blocked) or float (additive), never
    blocking every key of a row."""
    blocked = rng.random(shape) < 0.3
    blocked[..., 0] = False
    if kind == "bool":
        return blocked
    return np.where(blocked, -np.inf, rng.standard_normal(shape)).astype(dtype)


def _run_pair(make, fwd, inputs, dtype, train=False, grad=True):
    """make(lib) -> module; fwd(lib, module, tensors) -> tuple of outputs. Runs both,
    compares outputs, then gradients of inputs and parameters after a weighted sum."""
    results = {}
    for lib in (torch, ember):
        mod = make(lib)
        if lib is ember:
            state = results[torch][0].state_dict()
            mod.load_state_dict({k: ember.tensor(_np(v)) for k, v in state.items()})
        mod.train(train)
        xs = [_tensor(lib, a, grad and a.dtype.kind == "f") for a in inputs]
        outs = fwd(lib, mod, xs)
        loss = None
        if grad:
            rng = np.random.default_rng(7)
            for o in outs:
                if o is not None:
                    w = lib.tensor(rng.standard_normal(tuple(o.shape)).astype(dtype))
                    term = (o * w).sum()
                    loss = term if loss is None else loss + term
            loss.backward()
        results[lib] = (mod, xs, outs)
    (tm, txs, touts), (em, exs, eouts) = results[torch], results[ember]
    assert len(touts) == len(eouts)
    for t, e in zip(touts, eouts):
        assert (t is None) == (e is None)
        if t is not None:
            assert tuple(t.shape) == tuple(e.shape)
            _close(e, t, dtype)
    if grad:
        for t, e in zip(txs, exs):
            assert (t.grad is None) == (e.grad is None)
            if t.grad is not None:
                _close(e.grad, t.grad, dtype)
        tp, ep = dict(tm.named_parameters()), dict(em.named_parameters())
        assert list(tp) == list(ep)
        for k in tp:
            assert (tp[k].grad is None) == (ep[k].grad is None), k
            if tp[k].grad is not None:
                _close(ep[k].grad, tp[k].grad, dtype)
    return results


# ---------------------------------------------------------------- MultiheadAttention

MHA_CASES = [
    dict(embed_dim=8, num_heads=2),
    dict(embed_dim=8, num_heads=4, batch_first=True),
    dict(embed_dim=6, num_heads=3, bias=False),
    dict(embed_dim=8, num_heads=2, add_bias_kv=True),
    dict(embed_dim=8, num_heads=2, add_zero_attn=True, batch_first=True),
    dict(embed_dim=8, num_heads=2, add_bias_kv=True, add_zero_attn=True),
    dict(embed_dim=8, num_heads=2, kdim=5, vdim=3),
    dict(embed_dim=8, num_heads=4, kdim=5, vdim=5, batch_first=True, bias=False),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("case", MHA_CASES)
def test_mha_init_matches_torch(case, dtype):
    t = _build(torch, "MultiheadAttention", dtype, seed=3, **case)
    e = _build(ember, "MultiheadAttention", dtype, seed=3, **case)
    _same_state(t, e, dtype)
    assert type(e.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(e.out_proj, ember.nn.Linear)
    for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
        assert (getattr(t, name) is None) == (getattr(e, name) is None)
    assert (t.bias_k is None) == (e.bias_k is None)
    assert e.head_dim == t.head_dim and e._qkv_same_embed_dim == t._qkv_same_embed_dim


def _mha_inputs(case, rng, dtype, batched=True, self_attn=False, L=4, S=5, N=3):
    E = case["embed_dim"]
    kd, vd = case.get("kdim") or E, case.get("vdim") or E
    bf = case.get("batch_first", False)

    def shape(n, d):
        if not batched:
            return (n, d)
        return (N, n, d) if bf else (n, N, d)

    q = rng.standard_normal(shape(L, E)).astype(dtype)
    if self_attn:
        return [q]
    k = rng.standard_normal(shape(S, kd)).astype(dtype)
    v = rng.standard_normal(shape(S, vd)).astype(dtype)
    return [q, k, v]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("case", MHA_CASES)
@pytest.mark.parametrize(
    "masks", ["none", "kpm_bool", "kpm_float", "attn2_bool", "attn3_float", "both_bool"]
)
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_mha_forward_and_grads_match_torch(case, dtype, masks, need_weights, average):
    rng = np.random.default_rng(1)
    L, S, N = 4, 5, 3
    inputs = _mha_inputs(case, rng, dtype, L=L, S=S, N=N)
    H = case["num_heads"]
    extra = []
    kinds = {}
    if masks.startswith("kpm") or masks == "both_bool":
        kinds["key_padding_mask"] = len(extra)
        extra.append(_mask(rng, "bool" if "bool" in masks else "float", (N, S), dtype))
    if masks.startswith("attn") or masks == "both_bool":
        kinds["attn_mask"] = len(extra)
        shape = (N * H, L, S) if masks.startswith("attn3") else (L, S)
        extra.append(_mask(rng, "bool" if "bool" in masks else "float", shape, dtype))

    def fwd(lib, mod, xs):
        q, k, v = xs[:3]
        kw = {name: xs[3 + i] for name, i in kinds.items()}
        return mod(q, k, v, need_weights=need_weights, average_attn_weights=average, **kw)

    _run_pair(
        lambda lib: _build(lib, "MultiheadAttention", dtype, **case), fwd, inputs + extra, dtype
    )


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("batch_first", [True, False])
def test_mha_self_attention_causal_matches_torch(dtype, need_weights, batch_first):
    """query is key is value (one packed projection), with a causal mask and the is_causal hint."""
    rng = np.random.default_rng(2)
    case = dict(embed_dim=8, num_heads=2, batch_first=batch_first)
    (x,) = _mha_inputs(case, rng, dtype, self_attn=True, L=5)
    causal = np.triu(np.full((5, 5), -np.inf, dtype=dtype), 1)

    def fwd(lib, mod, xs):
        x, m = xs
        return mod(x, x, x, attn_mask=m, is_causal=True, need_weights=need_weights)

    _run_pair(lambda lib: _build(lib, "MultiheadAttention", dtype, **case), fwd, [x, causal], dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("case", MHA_CASES[:4] + MHA_CASES[6:7])
@pytest.mark.parametrize("with_masks", [False, True])
def test_mha_unbatched_matches_torch(case, dtype, with_masks):
    rng = np.random.default_rng(4)
    L, S, H = 4, 5, case["num_heads"]
    inputs = _mha_inputs(case, rng, dtype, batched=False, L=L, S=S)
    if with_masks:
        inputs += [_mask(rng, "bool", (S,), dtype), _mask(rng, "bool", (H, L, S), dtype)]

    def fwd(lib, mod, xs):
        if with_masks:
            return mod(*xs[:3], key_padding_mask=xs[3], attn_mask=xs[4])
        return mod(*xs)

    _run_pair(lambda lib: _build(lib, "MultiheadAttention", dtype, **case), fwd, inputs, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_functional_mha_separate_weights_matches_torch(dtype):
    rng = np.random.default_rng(5)
    E, H, L, S, N = 6, 2, 3, 4, 2
    arrays = {
        "q": rng.standard_normal((L, N, E)),
        "k": rng.standard_normal((S, N, 5)),
        "v": rng.standard_normal((S, N, 7)),
        "wq": rng.standard_normal((E, E)),
        "wk": rng.standard_normal((E, 5)),
        "wv": rng.standard_normal((E, 7)),
        "b": rng.standard_normal(3 * E),
        "wo": rng.standard_normal((E, E)),
        "bo": rng.standard_normal(E),
    }
    outs = {}
    for lib in (torch, ember):
        t = {k: _tensor(lib, a.astype(dtype), True) for k, a in arrays.items()}
        out, w = lib.nn.functional.multi_head_attention_forward(
            t["q"], t["k"], t["v"], E, H, None, t["b"], None, None, False, 0.0,
            t["wo"], t["bo"], training=False, use_separate_proj_weight=True,
            q_proj_weight=t["wq"], k_proj_weight=t["wk"], v_proj_weight=t["wv"],
        )  # fmt: skip
        (out.sum() + (w * w).sum()).backward()
        outs[lib] = (out, w, t)
    (to, tw, tt), (eo, ew, et) = outs[torch], outs[ember]
    _close(eo, to, dtype)
    _close(ew, tw, dtype)
    for k in arrays:
        _close(et[k].grad, tt[k].grad, dtype)


def test_mha_dropout_in_training_zeroes_weights_and_eval_does_not():
    m = ember.nn.MultiheadAttention(8, 2, dropout=0.5)
    x = ember.randn(4, 2, 8)
    ember.manual_seed(0)
    _, w_train = m(x, x, x, average_attn_weights=False)
    assert bool((w_train == 0).any())
    # surviving weights are scaled by 1 / (1 - p)
    m.eval()
    _, w_eval = m(x, x, x, average_attn_weights=False)
    assert not bool((w_eval == 0).any())
    np.testing.assert_allclose(_np(w_eval.sum(-1)), np.ones((2, 2, 4)), rtol=1e-5)


def _mha_ctor_errors():
    return [
        lambda L: L.nn.MultiheadAttention(10, 3),
        lambda L: L.nn.MultiheadAttention(0, 2),
        lambda L: L.nn.MultiheadAttention(8, -1),
    ]


def _mha_forward_errors():
    def mk(L, **kw):
        L.manual_seed(0)
        return L.nn.MultiheadAttention(8, 2, **kw)

    def r(L, *shape, dtype=None):
        return L.ones(*shape) if dtype is None else L.ones(*shape, dtype=dtype)

    return [
        # query of the wrong rank, key/value not matching it
        lambda L: mk(L)(r(L, 2, 3, 4, 8), r(L, 2, 3, 4, 8), r(L, 2, 3, 4, 8)),
        lambda L: mk(L)(r(L, 4, 2, 8), r(L, 5, 8), r(L, 5, 8)),
        lambda L: mk(L)(r(L, 4, 8), r(L, 5, 2, 8), r(L, 5, 8)),
        # embedding size
        lambda L: mk(L)(r(L, 4, 2, 6), r(L, 5, 2, 6), r(L, 5, 2, 6)),
        # key and value shapes
        lambda L: mk(L)(r(L, 4, 2, 8), r(L, 5, 2, 8), r(L, 6, 2, 8)),
        lambda L: mk(L, kdim=4, vdim=4)(r(L, 4, 2, 8), r(L, 5, 2, 4), r(L, 6, 2, 4)),
        # masks: rank, shape, dtype
        lambda L: mk(L)(
            r(L, 4, 2, 8), r(L, 5, 2, 8), r(L, 5, 2, 8), key_padding_mask=r(L, 2, 5, 1)
        ),
        lambda L: mk(L)(r(L, 4, 2, 8), r(L, 5, 2, 8), r(L, 5, 2, 8), key_padding_mask=r(L, 3, 5)),
        lambda L: mk(L)(r(L, 4, 2, 8), r(L, 5, 2, 8), r(L, 5, 2, 8), key_padding_mask=r(L, 2, 4)),
        lambda L: mk(L)(r(L, 4, 2, 8), r(L, 5, 2, 8), r(L, 5, 2, 8), attn_mask=r(L, 4, 4)),
        lambda L: mk(L)(r(L, 4, 2, 8), r(L, 5, 2, 8), r(L, 5, 2, 8), attn_mask=r(L, 2, 4, 5)),
        lambda L: mk(L)(r(L, 4, 2, 8), r(L, 5, 2, 8), r(L, 5, 2, 8), attn_mask=r(L, 5)),
        lambda L: mk(L)(r(L, 4, 8), r(L, 5, 8), r(L, 5, 8), attn_mask=r(L, 3, 4, 5)),
        lambda L: mk(L)(r(L, 4, 8), r(L, 5, 8), r(L, 5, 8), key_padding_mask=r(L, 1, 5)),
        lambda L: mk(L)(
            r(L, 4, 2, 8), r(L, 5, 2, 8), r(L, 5, 2, 8), attn_mask=r(L, 4, 5, dtype=L.int64)
        ),
        # the is_causal hint needs the mask
        lambda L: mk(L)(r(L, 4, 2, 8), r(L, 4, 2, 8), r(L, 4, 2, 8), is_causal=True),
    ]


@pytest.mark.parametrize("i", range(len(_mha_ctor_errors()) + len(_mha_forward_errors())))
def test_mha_errors_match_torch(i):
    fn = (_mha_ctor_errors() + _mha_forward_errors())[i]
    te, ee = capture(fn, torch), capture(fn, ember)
    assert te is not None and ee is not None
    assert type(ee) is type(te)
    assert str(ee) == str(te).replace("torch.", "ember.")


def test_mha_mismatched_mask_types_warn_as_torch():
    def run(L):
        L.manual_seed(0)
        m = L.nn.MultiheadAttention(4, 2)
        x = L.ones(3, 1, 4)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            m(x, x, x, key_padding_mask=L.zeros(1, 3, dtype=L.bool), attn_mask=L.zeros(3, 3))
        return [str(x.message) for x in w]

    assert run(ember) == run(torch) and run(torch)


# ---------------------------------------------------------------- transformer layers

ACTS = ["relu", "gelu"]


def _layer_kw(batch_first, norm_first, activation, **extra):
    kw = dict(
        d_model=8,
        nhead=2,
        dim_feedforward=16,
        dropout=0.0,
        batch_first=batch_first,
        norm_first=norm_first,
        activation=activation,
    )
    kw.update(extra)
    return kw


def _seq(rng, batch_first, n, length, d, dtype):
    shape = (n, length, d) if batch_first else (length, n, d)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("masks", ["none", "src_mask", "padding", "both", "causal"])
def test_encoder_layer_matches_torch(dtype, batch_first, norm_first, activation, masks):
    rng = np.random.default_rng(11)
    N, S = 3, 5
    kw = _layer_kw(batch_first, norm_first, activation)
    inputs = [_seq(rng, batch_first, N, S, 8, dtype)]
    names = []
    if masks in ("src_mask", "both"):
        inputs.append(_mask(rng, "float", (S, S), dtype))
        names.append("src_mask")
    if masks in ("padding", "both"):
        inputs.append(_mask(rng, "bool" if masks == "padding" else "float", (N, S), dtype))
        names.append("src_key_padding_mask")
    if masks == "causal":
        inputs.append(np.triu(np.full((S, S), -np.inf, dtype=dtype), 1))
        names.append("src_mask")

    def fwd(lib, mod, xs):
        extra = dict(zip(names, xs[1:]))
        if masks == "causal":
            extra["is_causal"] = True
        return (mod(xs[0], **extra),)

    _run_pair(lambda lib: _build(lib, "TransformerEncoderLayer", dtype, **kw), fwd, inputs, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("masks", ["none", "all_float", "all_bool_padding", "causal"])
def test_decoder_layer_matches_torch(dtype, batch_first, norm_first, activation, masks):
    rng = np.random.default_rng(12)
    N, T, S = 2, 4, 5
    kw = _layer_kw(batch_first, norm_first, activation)
    inputs = [_seq(rng, batch_first, N, T, 8, dtype), _seq(rng, batch_first, N, S, 8, dtype)]
    names = []
    if masks == "all_float":
        inputs += [_mask(rng, "float", (T, T), dtype), _mask(rng, "float", (T, S), dtype)]
        names += ["tgt_mask", "memory_mask"]
    if masks == "all_bool_padding":
        inputs += [_mask(rng, "bool", (N, T), dtype), _mask(rng, "bool", (N, S), dtype)]
        names += ["tgt_key_padding_mask", "memory_key_padding_mask"]
    if masks == "causal":
        inputs.append(np.triu(np.full((T, T), -np.inf, dtype=dtype), 1))
        names.append("tgt_mask")

    def fwd(lib, mod, xs):
        extra = dict(zip(names, xs[2:]))
        if masks == "causal":
            extra["tgt_is_causal"] = True
        return (mod(xs[0], xs[1], **extra),)

    _run_pair(lambda lib: _build(lib, "TransformerDecoderLayer", dtype, **kw), fwd, inputs, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_layer_init_names_and_repr_match_torch(dtype, batch_first, norm_first):
    for cls in ("TransformerEncoderLayer", "TransformerDecoderLayer"):
        kw = _layer_kw(batch_first, norm_first, "gelu", dropout=0.1, bias=False)
        t, e = _build(torch, cls, dtype, seed=5, **kw), _build(ember, cls, dtype, seed=5, **kw)
        _same_state(t, e, dtype)
        assert [n for n, _ in t.named_modules()] == [n for n, _ in e.named_modules()]
        assert repr(e) == repr(t).replace("torch.", "ember.")


@pytest.mark.filterwarnings("ignore:Support for mismatched")
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_norm", [False, True])
def test_encoder_stack_matches_torch(dtype, batch_first, with_norm):
    rng = np.random.default_rng(13)
    N, S = 3, 6
    kw = _layer_kw(batch_first, False, "relu")

    def make(lib):
        lib.manual_seed(0)
        layer = lib.nn.TransformerEncoderLayer(dtype=_dt(lib, dtype), **kw)
        norm = lib.nn.LayerNorm(8, dtype=_dt(lib, dtype)) if with_norm else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return lib.nn.TransformerEncoder(layer, 3, norm, enable_nested_tensor=False)

    pad = np.zeros((N, S), bool)
    pad[0, 4:] = pad[2, 2:] = True
    causal = np.triu(np.full((S, S), -np.inf, dtype=dtype), 1)

    def fwd(lib, mod, xs):
        return (mod(xs[0], mask=xs[1], src_key_padding_mask=xs[2]),)

    res = _run_pair(make, fwd, [_seq(rng, batch_first, N, S, 8, dtype), causal, pad], dtype)
    e = res[ember][0]
    # the layers are deep copies: the same values, distinct tensors
    assert e.layers[0].linear1.weight is not e.layers[1].linear1.weight
    _close(e.layers[0].linear1.weight, e.layers[2].linear1.weight, dtype)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_eval_no_grad_with_padding_matches_torch(dtype, batch_first):
    """In eval mode without grad, torch runs a batch_first encoder on a nested tensor:
    the padded positions come out zero before the final norm."""
    rng = np.random.default_rng(14)
    x = _seq(rng, batch_first, 3, 6, 8, dtype)
    pad = np.zeros((3, 6), bool)
    pad[0, 4:] = pad[2, 1:] = True
    outs = {}
    for lib in (torch, ember):
        lib.manual_seed(0)
        layer = lib.nn.TransformerEncoderLayer(
            dtype=_dt(lib, dtype), **_layer_kw(batch_first, False, "relu")
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            enc = lib.nn.TransformerEncoder(layer, 2, lib.nn.LayerNorm(8, dtype=_dt(lib, dtype)))
        enc.eval()
        with lib.no_grad():
            outs[lib] = enc(lib.tensor(x), src_key_padding_mask=lib.tensor(pad))
    _close(outs[ember], outs[torch], dtype)


@pytest.mark.filterwarnings("ignore:Support for mismatched")
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(dtype, batch_first, norm_first):
    rng = np.random.default_rng(15)
    N, S, T = 2, 5, 4
    kw = dict(
        d_model=8,
        nhead=2,
        num_encoder_layers=2,
        num_decoder_layers=2,
        dim_feedforward=12,
        dropout=0.0,
        batch_first=batch_first,
        norm_first=norm_first,
    )

    def make(lib):
        return _build(lib, "Transformer", dtype, seed=9, **kw)

    _same_state(make(torch), make(ember), dtype)
    src_pad = np.zeros((N, S), bool)
    src_pad[1, 3:] = True
    inputs = [
        _seq(rng, batch_first, N, S, 8, dtype),
        _seq(rng, batch_first, N, T, 8, dtype),
        np.triu(np.full((T, T), -np.inf, dtype=dtype), 1),
        src_pad,
        _mask(rng, "bool", (N, T), dtype),
    ]

    def fwd(lib, mod, xs):
        src, tgt, tgt_mask, src_pad, tgt_pad = xs
        out = mod(
            src,
            tgt,
            tgt_mask=tgt_mask,
            src_key_padding_mask=src_pad,
            tgt_key_padding_mask=tgt_pad,
            memory_key_padding_mask=src_pad,
        )
        return (out,)

    _run_pair(make, fwd, inputs, dtype)


def test_generate_square_subsequent_mask_matches_torch():
    for sz in (1, 4):
        t = torch.nn.Transformer.generate_square_subsequent_mask(sz)
        e = ember.nn.Transformer.generate_square_subsequent_mask(sz)
        assert e.dtype == ember.float32
        np.testing.assert_array_equal(_np(e), _np(t))
    e = ember.nn.Transformer.generate_square_subsequent_mask(3, dtype=ember.float64)
    assert e.dtype == ember.float64


def test_encoder_nested_tensor_warning_matches_torch():
    def run(L, **kw):
        layer = L.nn.TransformerEncoderLayer(8, 2, 16, **kw)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            enc = L.nn.TransformerEncoder(layer, 2)
        return [str(x.message) for x in w], enc.use_nested_tensor

    for kw in ({}, {"batch_first": True}, {"batch_first": True, "norm_first": True}):
        assert run(ember, **kw) == run(torch, **kw)


def _transformer_errors():
    def enc_layer(L, **kw):
        return L.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **kw)

    def tr(L, **kw):
        return L.nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, **kw)

    return [
        lambda L: L.nn.TransformerEncoderLayer(10, 3),
        lambda L: L.nn.TransformerEncoderLayer(8, 2, activation="tanh"),
        lambda L: L.nn.TransformerDecoderLayer(8, 2, activation="swish"),
        lambda L: enc_layer(L)(L.ones(4, 2, 6)),
        lambda L: enc_layer(L)(L.ones(4, 2, 8), src_mask=L.ones(3, 3)),
        lambda L: enc_layer(L)(L.ones(4, 2, 8), src_key_padding_mask=L.ones(2, 4, dtype=L.int64)),
        lambda L: tr(L)(L.ones(4, 2, 8), L.ones(3, 3, 8)),
        lambda L: tr(L, batch_first=True)(L.ones(2, 4, 8), L.ones(3, 3, 8)),
        lambda L: tr(L)(L.ones(4, 2, 8), L.ones(3, 2, 6)),
    ]


@pytest.mark.parametrize("i", range(len(_transformer_errors())))
def test_transformer_errors_match_torch(i):
    fn = _transformer_errors()[i]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        te, ee = capture(fn, torch), capture(fn, ember)
    assert te is not None and ee is not None
    assert type(ee) is type(te)
    assert str(ee) == str(te).replace("torch.", "ember.")


def test_callable_activation_and_unbatched_input_match_torch():
    rng = np.random.default_rng(16)
    x = rng.standard_normal((5, 8))

    def make(lib):
        lib.manual_seed(1)
        return lib.nn.TransformerEncoderLayer(
            8, 2, 16, dropout=0.0, activation=lib.nn.functional.silu, dtype=lib.float64
        )

    _run_pair(make, lambda lib, m, xs: (m(xs[0]),), [x], "float64")


def _train_losses(lib, steps=6):
    lib.manual_seed(0)
    vocab, d = 11, 16

    class Model(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = lib.nn.Embedding(vocab, d)
            layer = lib.nn.TransformerEncoderLayer(d, 4, 32, dropout=0.0, batch_first=True)
            self.encoder = lib.nn.TransformerEncoder(layer, 2)
            self.head = lib.nn.Linear(d, vocab)

        def forward(self, tokens):
            mask = lib.nn.Transformer.generate_square_subsequent_mask(tokens.shape[1])
            return self.head(self.encoder(self.embed(tokens), mask=mask, is_causal=True))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Model()
    opt = lib.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    data = lib.tensor(rng.integers(0, vocab, (4, 9)))
    losses = []
    for _ in range(steps):
        logits = model(data[:, :-1])
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, vocab), data[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_training_loop_losses_match_torch():
    t, e = _train_losses(torch), _train_losses(ember)
    np.testing.assert_allclose(e, t, rtol=1e-5)
    assert t[-1] < t[0]


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_fully_masked_rows_match_torch(need_weights):
    """A batch entry whose keys are all padded: NaN through the weights path, zeros
    through scaled_dot_product_attention, as in torch."""
    rng = np.random.default_rng(17)
    x = rng.standard_normal((2, 4, 8))
    pad = np.zeros((2, 4), bool)
    pad[1] = True
    outs = {}
    for lib in (torch, ember):
        lib.manual_seed(0)
        m = lib.nn.MultiheadAttention(8, 2, batch_first=True, dtype=lib.float64)
        t = lib.tensor(x)
        outs[lib] = m(t, t, t, key_padding_mask=lib.tensor(pad), need_weights=need_weights)
    for t, e in zip(outs[torch], outs[ember]):
        assert (t is None) == (e is None)
        if t is not None:
            np.testing.assert_array_equal(np.isnan(_np(e)), np.isnan(_np(t)))
            np.testing.assert_allclose(_np(e), _np(t), rtol=1e-9, atol=1e-11)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    heads=st.integers(1, 3),
    head_dim=st.integers(1, 4),
    lengths=st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 3)),
    kdim=st.sampled_from([None, 3]),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    masks=st.tuples(st.sampled_from([None, "bool", "float"]), st.sampled_from([None, 2, 3])),
    need_weights=st.booleans(),
    batched=st.booleans(),
)
def test_mha_random_shapes_and_arguments(
    heads, head_dim, lengths, kdim, flags, masks, need_weights, batched
):
    L, S, N = lengths
    bias, add_bias_kv, add_zero_attn, batch_first = flags
    kpm_kind, attn_dims = masks
    case = dict(
        embed_dim=heads * head_dim,
        num_heads=heads,
        bias=bias,
        add_bias_kv=add_bias_kv,
        add_zero_attn=add_zero_attn,
        kdim=kdim,
        vdim=kdim,
        batch_first=batch_first,
    )
    rng = np.random.default_rng(L * 100 + S * 10 + N)
    inputs = _mha_inputs(case, rng, "float64", batched=batched, L=L, S=S, N=N)
    names = []
    if kpm_kind is not None:
        inputs.append(_mask(rng, kpm_kind, (N, S) if batched else (S,), "float64"))
        names.append("key_padding_mask")
    if attn_dims is not None:
        shape = (L, S) if attn_dims == 2 else ((N if batched else 1) * heads, L, S)
        inputs.append(_mask(rng, kpm_kind or "float", shape, "float64"))
        names.append("attn_mask")

    def fwd(lib, mod, xs):
        return mod(*xs[:3], need_weights=need_weights, **dict(zip(names, xs[3:])))

    _run_pair(
        lambda lib: _build(lib, "MultiheadAttention", "float64", **case), fwd, inputs, "float64"
    )


@pytest.mark.parametrize("need_weights", [True, False])
def test_dropout_in_training_draws_as_torch(need_weights):
    """With dropout in training mode, the masks are drawn from the generator in
    torch's order: the same seed gives torch's outputs and gradients."""
    rng = np.random.default_rng(18)
    x, mem = rng.standard_normal((5, 3, 8)), rng.standard_normal((4, 3, 8))

    def run(make, call):
        def make_seeded(lib):
            m = make(lib)
            lib.manual_seed(1)  # the masks' stream, after initialization
            return m

        _run_pair(make_seeded, call, [x, mem], "float64", train=True)

    run(
        lambda lib: _build(
            lib, "MultiheadAttention", "float64", embed_dim=8, num_heads=2, dropout=0.3
        ),
        lambda lib, m, xs: m(xs[0], xs[1], xs[1], need_weights=need_weights),
    )
    kw = dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.3)
    run(
        lambda lib: _build(lib, "TransformerEncoderLayer", "float64", **kw),
        lambda lib, m, xs: (m(xs[0]),),
    )
    run(
        lambda lib: _build(lib, "TransformerDecoderLayer", "float64", norm_first=True, **kw),
        lambda lib, m, xs: (m(xs[0], xs[1]),),
    )
