"""Forward-mode AD (ember.autograd.forward_ad) and the unary op table, against torch.

Tangents are compared with torch's forward AD on the same inputs, and with
central finite differences in float64.
"""

import ember
import ember.autograd.forward_ad as efw
import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw
from hypothesis import given, settings
from hypothesis import strategies as st

# Inputs each op is smooth on (default (-2, 2)).
DOMAINS = {
    "log": (0.1, 3.0),
    "log2": (0.1, 3.0),
    "log10": (0.1, 3.0),
    "sqrt": (0.1, 3.0),
    "rsqrt": (0.1, 3.0),
    "reciprocal": (0.2, 3.0),
    "asin": (-0.9, 0.9),
    "acos": (-0.9, 0.9),
    "atanh": (-0.9, 0.9),
    "erfinv": (-0.9, 0.9),
    "acosh": (1.1, 3.0),
    "log1p": (-0.5, 3.0),
    "tan": (-1.2, 1.2),
    "special_ndtri": (0.05, 0.95),
}
UNARY_TABLE = ember._C._unary_op_table()
UNARY_NAMES = [e["name"] for e in UNARY_TABLE]


def op_of(lib, name):
    """The public function of a table entry (silu lives in nn.functional only, as in
    torch; special_<name> is torch.special.<name>)."""
    if name == "silu":
        return lib.nn.functional.silu
    if name.startswith("special_"):
        return getattr(lib.special, name.removeprefix("special_"))
    return getattr(lib, name)


def sample(name, shape=(3, 4), seed=0):
    low, high = DOMAINS.get(name, (-2.0, 2.0))
    return np.random.default_rng(seed).uniform(low, high, shape)


def ember_jvp(fn, primals, tangents):
    """fn's value and tangent at primals along tangents, with Ember's forward AD."""
    with efw.dual_level():
        duals = [efw.make_dual(ember.tensor(p), ember.tensor(t)) for p, t in zip(primals, tangents)]
        out = efw.unpack_dual(fn(*duals))
        return out.primal.numpy().copy(), out.tangent.numpy().copy()


def torch_jvp(fn, primals, tangents):
    with tfw.dual_level():
        duals = [tfw.make_dual(torch.tensor(p), torch.tensor(t)) for p, t in zip(primals, tangents)]
        out = tfw.unpack_dual(fn(*duals))
        return out.primal.detach().numpy(), out.tangent.detach().numpy()


def assert_jvp_matches_torch(fn, primals, tangents, rtol=1e-10, atol=1e-12):
    e_value, e_tangent = ember_jvp(lambda *a: fn(ember, *a), primals, tangents)
    t_value, t_tangent = torch_jvp(lambda *a: fn(torch, *a), primals, tangents)
    np.testing.assert_allclose(e_value, t_value, rtol=rtol, atol=atol)
    np.testing.assert_allclose(e_tangent, t_tangent, rtol=rtol, atol=atol)


# ---- the unary table ----


def test_table_lists_every_differentiable_unary_op():
    assert len(UNARY_NAMES) == len(set(UNARY_NAMES))
    assert {"exp", "log", "tanh", "sigmoid", "relu", "erfinv", "floor"} <= set(UNARY_NAMES)
    assert all(e["saves"] in ("input", "result", "nothing") for e in UNARY_TABLE)


@pytest.mark.parametrize("entry", UNARY_TABLE, ids=UNARY_NAMES)
def test_table_entry_node_name_matches_torch(entry):
    x = sample(entry["name"])
    e_out = op_of(ember, entry["name"])(ember.tensor(x, requires_grad=True))
    t_out = op_of(torch, entry["name"])(torch.tensor(x, requires_grad=True))
    assert type(e_out.grad_fn).__name__ == type(t_out.grad_fn).__name__ == entry["node_name"]


@pytest.mark.parametrize("entry", UNARY_TABLE, ids=UNARY_NAMES)
def test_table_entry_forward_formula_matches_torch(entry):
    name = entry["name"]
    x, v = sample(name), np.random.default_rng(1).normal(size=(3, 4))
    assert_jvp_matches_torch(lambda lib, a: op_of(lib, name)(a), [x], [v])


@pytest.mark.parametrize("entry", UNARY_TABLE, ids=UNARY_NAMES)
def test_table_entry_forward_formula_matches_finite_differences(entry):
    name = entry["name"]
    x, v = sample(name), np.random.default_rng(2).normal(size=(3, 4))
    f = op_of(ember, name)
    _, tangent = ember_jvp(f, [x], [v])
    eps = 1e-6
    numeric = (f(ember.tensor(x + eps * v)).numpy() - f(ember.tensor(x - eps * v)).numpy()) / (
        2 * eps
    )
    np.testing.assert_allclose(tangent, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("entry", UNARY_TABLE, ids=UNARY_NAMES)
def test_table_entry_gradients_match_torch_to_second_order(entry):
    name = entry["name"]
    x = sample(name)
    results = []
    for lib in (ember, torch):
        xt = lib.tensor(x, requires_grad=True)
        y = op_of(lib, name)(xt)
        (g,) = lib.autograd.grad(y.sum(), xt, create_graph=True)
        second = lib.autograd.grad(g.sum(), xt, allow_unused=True)[0] if g.requires_grad else None
        results.append((g.detach().numpy(), None if second is None else second.numpy(force=True)))
    (eg, e2), (tg, t2) = results
    np.testing.assert_allclose(eg, tg, rtol=1e-10, atol=1e-12)
    if t2 is None:
        assert e2 is None or not np.any(e2)
    else:
        np.testing.assert_allclose(e2, t2, rtol=1e-10, atol=1e-12)


# ---- binary pointwise ops, broadcasting ----

BINARY = {
    "add": lambda lib, a, b: lib.add(a, b, alpha=0.5),
    "sub": lambda lib, a, b: lib.sub(a, b, alpha=2.0),
    "mul": lambda lib, a, b: a * b,
    "div": lambda lib, a, b: a / (b.abs() + 0.5),
    "pow": lambda lib, a, b: (a.abs() + 0.5) ** b,
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "minimum": lambda lib, a, b: lib.minimum(a, b),
    "atan2": lambda lib, a, b: lib.atan2(a, b),
    "xlogy": lambda lib, a, b: lib.xlogy(a, b.abs() + 0.5),
    "remainder": lambda lib, a, b: lib.remainder(a, b.abs() + 0.5),
    "where": lambda lib, a, b: lib.where(a > b, a, b),
}

shapes = st.sampled_from(
    [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 2)), ((4, 1, 2), (3, 1))]
)


@pytest.mark.parametrize("op", sorted(BINARY))
@settings(max_examples=15, deadline=None)
@given(
    shape_pair=shapes, which=st.sampled_from(["both", "first", "second"]), seed=st.integers(0, 99)
)
def test_binary_forward_formula_matches_torch(op, shape_pair, which, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.normal(size=s) for s in shape_pair)
    ta, tb = (rng.normal(size=s) for s in shape_pair)
    fn = BINARY[op]

    def run(lib, fw):
        with fw.dual_level():
            x, y = lib.tensor(a), lib.tensor(b)
            if which in ("both", "first"):
                x = fw.make_dual(x, lib.tensor(ta))
            if which in ("both", "second"):
                y = fw.make_dual(y, lib.tensor(tb))
            tangent = fw.unpack_dual(fn(lib, x, y)).tangent
            return None if tangent is None else tangent.detach().numpy()

    e, t = run(ember, efw), run(torch, tfw)
    np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, a: a + 2.0,
        lambda lib, a: 3.0 - a,
        lambda lib, a: a * 2.5,
        lambda lib, a: a / 4.0,
        lambda lib, a: a**3,
        lambda lib, a: 2.0**a,
        lambda lib, a: a.clamp(-0.5, 0.7),
        lambda lib, a: a.double().float(),
        lambda lib, a: a.clone(),
        lambda lib, a: a % 0.7,
        lambda lib, a: lib.nn.functional.gelu(a),
        lambda lib, a: lib.nn.functional.gelu(a, approximate="tanh"),
    ],
    ids=[
        "add",
        "rsub",
        "mul",
        "div",
        "pow",
        "rpow",
        "clamp",
        "to",
        "clone",
        "rem",
        "gelu",
        "gelu_tanh",
    ],
)
def test_scalar_operand_forward_formula_matches_torch(fn):
    rng = np.random.default_rng(3)
    assert_jvp_matches_torch(fn, [rng.normal(size=(2, 5))], [rng.normal(size=(2, 5))])


# ---- views, reductions, products, nn ----

STRUCTURAL = {
    "view": lambda lib, a: a.view(4, 3).t().reshape(-1),
    "transpose_permute": lambda lib, a: a.transpose(0, 1).permute(1, 0).unsqueeze(0).squeeze(0),
    "expand": lambda lib, a: a[:, :1].expand(3, 5),
    "slice_select": lambda lib, a: a[1:, ::2][0] * a[0, 1],
    "split_unbind": lambda lib, a: sum(p.sum() for p in a.split(2, dim=1)) + a.unbind(0)[2],
    "chunk": lambda lib, a: a.chunk(2, dim=1)[1] * 2,
    "cat_stack": lambda lib, a: lib.cat([a, a * 2], 1) + lib.stack([a, a], 0).sum(0).repeat(1, 2),
    "diagonal": lambda lib, a: a.diagonal(),
    "index_select": lambda lib, a: a.index_select(1, lib.tensor([3, 0, 3])),
    "masked_select": lambda lib, a: lib.masked_select(a, a > 0),
    "repeat_tile": lambda lib, a: a.repeat(2, 1, 2).sum(0) + lib.tile(a, (1, 2)),
    "addmm_baddbmm_scaled": lambda lib, a: (
        lib.addmm(a[:, :3], a, a.t(), beta=0.5, alpha=-2.0)
        + lib.baddbmm(a[0, :2], a.view(2, 3, 2).transpose(1, 2), a.view(2, 3, 2), alpha=2.0).sum()
    ),
    "smooth_l1_huber": lambda lib, a: (
        lib.nn.functional.smooth_l1_loss(a, a.flip(0), beta=0.5)
        + lib.nn.functional.huber_loss(a, a.flip(1), delta=0.7, reduction="sum")
    ),
    "nansum": lambda lib, a: a.nansum(1) + lib.nansum(a),
    "diag_embed_block_diag": lambda lib, a: lib.cat(
        [lib.diag_embed(a, 1).reshape(-1), lib.block_diag(a, a[0]).reshape(-1)]
    ),
    "aminmax": lambda lib, a: (lambda r: r.min * 2 + r.max)(lib.aminmax(a, dim=1)),
    "pad": lambda lib, a: lib.cat(
        [
            lib.nn.functional.pad(a, (1, 2, -1, 1), value=0.5).reshape(-1),
            lib.nn.functional.pad(a[None], (2, 1, 1, 2), mode="reflect").reshape(-1),
            lib.nn.functional.pad(a, (3, -1), mode="replicate").reshape(-1),
        ]
    ),
    "index_add": lambda lib, a: a.index_add(1, lib.tensor([3, 0, 3]), a[:, :3] * a[:, 1:], alpha=2),
    "std_var_mean": lambda lib, a: lib.cat(
        [
            lib.cat(lib.std_mean(a, 1, keepdim=True), 1).reshape(-1),
            lib.cat(lib.var_mean(a, 0, correction=0), 0),
            lib.stack(lib.std_mean(a)),
        ]
    ),
    "dist": lambda lib, a: lib.stack(
        [lib.dist(a, a.flip(0) * 2), lib.dist(a, a[0], 3), lib.dist(a, a[1] * 0.5, float("inf"))]
    ),
    "sum_mean": lambda lib, a: a.sum(0) + a.mean(1, keepdim=True) + a.mean(),
    "matmul": lambda lib, a: a @ a.t() + (a.t() @ a).sum(),
    "mv_dot": lambda lib, a: a @ a[0] + lib.dot(a[0], a[1]),
    "bmm": lambda lib, a: lib.bmm(a.view(2, 2, 3).transpose(1, 2), a.view(2, 2, 3)),
    "softmax": lambda lib, a: lib.softmax(a, 1) + lib.log_softmax(a, 0),
    "linear": lambda lib, a: lib.nn.functional.linear(a, a[:2], a[0, :2]),
    "layer_norm": lambda lib, a: lib.nn.functional.layer_norm(a, (4,), a[0], a[1]),
    "mse": lambda lib, a: lib.nn.functional.mse_loss(a, a.flip(0)),
    "cross_entropy": lambda lib, a: lib.nn.functional.cross_entropy(a, lib.tensor([1, 0, 3])),
    "embedding": lambda lib, a: lib.nn.functional.embedding(lib.tensor([[2, 0], [1, 2]]), a),
    "bce_logits": lambda lib, a: lib.nn.functional.binary_cross_entropy_with_logits(
        a, lib.sigmoid(a.flip(1))
    ),
    "tanh_mlp": lambda lib, a: lib.tanh(a @ a.t()).relu().sigmoid().sum(),
    "norms": lambda lib, a: a.norm() + a.norm(p=3, dim=1).sum() + a.norm(p=float("inf")),
    "var_std": lambda lib, a: a.var(1) + a.std() + a.std(0, keepdim=True).sum(),
    "amax_amin": lambda lib, a: a.amax(1) + a.amin(),
    "max_min": lambda lib, a: a.max() + a.max(1).values + a.min(1, keepdim=True)[0].squeeze(1),
    "prod": lambda lib, a: a.prod(1) + a.prod() + a.prod(0, keepdim=True).sum(),
    "cumsum": lambda lib, a: a.cumsum(1),
    "fmod_copysign": lambda lib, a: (
        lib.fmod(a, 0.7) + lib.fmod(a, a[0] + 3) + a.copysign(a.flip(0))
    ),
    "logcumsumexp": lambda lib, a: a.logcumsumexp(1) + a.logcumsumexp(0),
    "cummax_cummin": lambda lib, a: a.cummax(1).values + a.cummin(0)[0],
    "kthvalue_mode": lambda lib, a: a.kthvalue(2, 1).values + a.round().mode(1).values,
    "take": lambda lib, a: a.take(lib.tensor([[0, 11], [5, -1]])),
    "index_fill_copy": lambda lib, a: (
        a.index_fill(1, lib.tensor([0, 2]), 1.5)
        + a.index_copy(0, lib.tensor([2, 0]), a[:2] * a[1:])
    ),
    "index_fill_tensor_value": lambda lib, a: a.index_fill(0, lib.tensor([1]), a[0, 0]),
    "unfold_rot90": lambda lib, a: a.unfold(1, 2, 1).sum(-1) + lib.rot90(a, 2)[:, 1:],
    "renorm": lambda lib, a: a.renorm(2, 0, 1.0) + a.renorm(1, 1, 0.5),
    "addmv_addbmm": lambda lib, a: (
        lib.addmv(a[:, 0], a, a[0], beta=0.5, alpha=2)
        + lib.addbmm(a[:, :3], a[None], a[None].transpose(1, 2)[:, :, :3]).sum(1)
    ),
    "logsumexp": lambda lib, a: a.logsumexp(1),
    "gather_sort_topk": lambda lib, a: (
        a.gather(1, lib.tensor([[0], [1], [2]])).sum() + a.sort(1).values + a.topk(4).values
    ),
    "normalize": lambda lib, a: lib.nn.functional.normalize(a, dim=1),
    "scatter_add": lambda lib, a: lib.zeros(3, 4, dtype=a.dtype).scatter_add(
        1, lib.tensor([[0, 1], [1, 1], [3, 0]]), a[:, :2]
    ),
}


@pytest.mark.parametrize("name", sorted(STRUCTURAL))
def test_structural_forward_formula_matches_torch(name):
    rng = np.random.default_rng(4)
    x, v = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    assert_jvp_matches_torch(STRUCTURAL[name], [x], [v])


def test_layer_norm_forward_formula_with_dual_weight_and_bias():
    rng = np.random.default_rng(5)
    x, w, b = rng.normal(size=(2, 3, 4)), rng.normal(size=4), rng.normal(size=4)
    tangents = [rng.normal(size=s) for s in ((2, 3, 4), (4,), (4,))]
    assert_jvp_matches_torch(
        lambda lib, a, ww, bb: lib.nn.functional.layer_norm(a, (4,), ww, bb), [x, w, b], tangents
    )


def test_mlp_jvp_matches_torch_func():
    rng = np.random.default_rng(6)
    w1, b1, w2 = rng.normal(size=(8, 5)), rng.normal(size=8), rng.normal(size=(2, 8))
    x, v = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))

    def mlp(lib, inp):
        h = lib.tanh(lib.nn.functional.linear(inp, lib.tensor(w1), lib.tensor(b1)))
        return lib.log_softmax(h @ lib.tensor(w2).t(), dim=1)

    _, e_tangent = ember_jvp(lambda a: mlp(ember, a), [x], [v])
    _, t_tangent = torch.func.jvp(lambda a: mlp(torch, a), (torch.tensor(x),), (torch.tensor(v),))
    np.testing.assert_allclose(e_tangent, t_tangent.numpy(), rtol=1e-10, atol=1e-12)


# ---- forward over reverse ----


def test_hessian_vector_product_by_forward_over_reverse_matches_torch():
    rng = np.random.default_rng(7)
    x, v = rng.normal(size=5), rng.normal(size=5)

    def f(lib, a):
        return (lib.sin(a) * a.exp()).sum() + (a @ a) ** 2 + lib.softmax(a, 0)[1]

    def hvp(lib, fw):
        with fw.dual_level():
            leaf = lib.tensor(x, requires_grad=True)
            dual = fw.make_dual(leaf, lib.tensor(v))
            (g,) = lib.autograd.grad(f(lib, dual), leaf)
            return fw.unpack_dual(g).tangent.detach().numpy()

    np.testing.assert_allclose(hvp(ember, efw), hvp(torch, tfw), rtol=1e-10, atol=1e-12)


# ---- semantics ----


def test_tangents_flow_under_no_grad_and_vanish_with_the_level():
    x = ember.tensor([1.0, 2.0])
    with efw.dual_level():
        d = efw.make_dual(x, ember.tensor([1.0, 0.0]))
        with ember.no_grad():
            y = d * d
        np.testing.assert_allclose(efw.unpack_dual(y).tangent.numpy(), [2.0, 0.0])
        assert not y.requires_grad
    assert efw.unpack_dual(y).tangent is None
    with efw.dual_level():  # a new level does not see the old tangent
        assert efw.unpack_dual(y).tangent is None


def test_dual_of_leaf_keeps_reverse_graph_like_torch():
    for lib, fw in ((ember, efw), (torch, tfw)):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with fw.dual_level():
            d = fw.make_dual(x, lib.ones(2))
            assert type(d.grad_fn).__name__ == "ViewBackward0"
            (d * 3).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_repr_shows_tangent_like_torch():
    with efw.dual_level():
        e = repr(efw.make_dual(ember.tensor([1.0, 2.0]), ember.tensor([3.0, 4.0])))
    with tfw.dual_level():
        t = repr(tfw.make_dual(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])))
    assert e == t


def test_in_place_op_on_intermediate_updates_its_tangent():
    def fn(lib, a):
        y = a * 2
        y.add_(a * a)
        y.mul_(3.0)
        y.exp_()
        return y

    rng = np.random.default_rng(8)
    assert_jvp_matches_torch(fn, [rng.normal(size=4)], [rng.normal(size=4)])


# ---- errors ----


def test_errors_match_torch():
    def no_level(lib, fw):
        fw.make_dual(lib.zeros(2), lib.zeros(2))

    def nested(lib, fw):
        with fw.dual_level(), fw.dual_level():
            pass

    def wrong_shape(lib, fw):
        with fw.dual_level():
            fw.make_dual(lib.zeros(3), lib.zeros(2))

    def integer_primal(lib, fw):
        with fw.dual_level():
            fw.make_dual(lib.zeros(2, dtype=lib.int64), lib.zeros(2))

    def integer_tangent(lib, fw):
        with fw.dual_level():
            fw.make_dual(lib.zeros(2), lib.zeros(2, dtype=lib.int64))

    def exit_without_level(lib, fw):
        fw.exit_dual_level()

    for case in (
        no_level,
        nested,
        wrong_shape,
        integer_primal,
        integer_tangent,
        exit_without_level,
    ):
        outcomes = []
        for lib, fw in ((ember, efw), (torch, tfw)):
            with pytest.raises(Exception) as info:
                case(lib, fw)
            # dtypes print as ember.int64 where torch prints torch.int64
            outcomes.append((type(info.value), str(info.value).replace("torch.", "ember.")))
        assert outcomes[0] == outcomes[1], case.__name__


def test_op_without_forward_formula_raises_not_implemented():
    with efw.dual_level():
        d = efw.make_dual(ember.randn(1, 1, 4, 4), ember.randn(1, 1, 4, 4))
        with pytest.raises(
            NotImplementedError, match="Trying to use forward AD with max_pool2d_with_indices"
        ):
            ember.nn.functional.max_pool2d(d, 2)
        with pytest.raises(NotImplementedError, match="Trying to use forward AD with cumprod"):
            ember.cumprod(d, 0)
        with pytest.raises(NotImplementedError, match="forward AD with native_batch_norm"):
            ember.nn.functional.batch_norm(d, None, None, training=True)


def test_backward_through_formula_without_tangent_support_raises():
    # Forward over reverse through cumprod's backward would drop the tangent.
    with efw.dual_level():
        x = ember.randn(4, requires_grad=True)
        y = ember.cumprod(x, 0)
        g = efw.make_dual(ember.ones(4), ember.ones(4))
        with pytest.raises(NotImplementedError, match="forward AD with cumprod"):
            ember.autograd.grad(y, x, g)


def test_in_place_write_into_shared_memory_with_tangent_is_refused():
    with efw.dual_level():
        d = efw.make_dual(ember.zeros(3), ember.ones(3))
        with pytest.raises(NotImplementedError, match="shares memory"):
            d.mul_(2.0)
        y = d * 1.0
        view = y[:2]
        with pytest.raises(NotImplementedError, match="shares memory"):
            view.add_(1.0 + d[:2])


# ---- custom Functions ----


def _cube_times(lib):
    class CubeTimes(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, scale):
            ctx.save_for_forward(x, y)
            ctx.scale = scale
            # an op without a forward formula: the forward sees plain values
            return lib.cumprod(x, 0) * 0 + x**3 * y * scale

        @staticmethod
        def jvp(ctx, tx, ty, tscale):
            x, y = ctx.saved_tensors
            assert tscale is None
            return (3 * x**2 * y * tx + x**3 * ty) * ctx.scale

    return CubeTimes


def test_custom_function_jvp_matches_torch():
    rng = np.random.default_rng(9)
    x, y, tx = rng.normal(size=3), rng.normal(size=3), rng.normal(size=3)
    results = []
    for lib, fw in ((ember, efw), (torch, tfw)):
        with fw.dual_level():
            dual = fw.make_dual(lib.tensor(x), lib.tensor(tx))
            out = _cube_times(lib).apply(dual, lib.tensor(y), 2.0)
            results.append(fw.unpack_dual(out).tangent.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


def test_custom_function_without_jvp_raises_like_torch():
    messages = []
    for lib, fw in ((ember, efw), (torch, tfw)):

        class Double(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        with fw.dual_level():
            dual = fw.make_dual(lib.ones(2), lib.ones(2))
            with pytest.raises(NotImplementedError) as info:
                Double.apply(dual)
            messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("which", ["input", "weight", "bias", "all"])
@pytest.mark.parametrize("dims", [1, 2])
def test_convolution_forward_formula_matches_torch(dims, which):
    rng = np.random.default_rng(10)
    spatial = (7,) * dims
    x, w, b = (
        rng.normal(size=(2, 4, *spatial)),
        rng.normal(size=(6, 2, *(3,) * dims)),
        rng.normal(size=6),
    )
    tangents = [rng.normal(size=a.shape) for a in (x, w, b)]
    duals = {"input": [0], "weight": [1], "bias": [2], "all": [0, 1, 2]}[which]

    def conv(lib, a, ww, bb):
        f = lib.nn.functional.conv1d if dims == 1 else lib.nn.functional.conv2d
        return f(a, ww, bb, stride=2, padding=1, groups=2)

    def run(lib, fw):
        with fw.dual_level():
            args = [lib.tensor(a) for a in (x, w, b)]
            for i in duals:
                args[i] = fw.make_dual(args[i], lib.tensor(tangents[i]))
            return fw.unpack_dual(conv(lib, *args)).tangent.detach().numpy()

    np.testing.assert_allclose(run(ember, efw), run(torch, tfw), rtol=1e-10, atol=1e-12)


def test_forward_over_reverse_through_convolution_raises():
    # The weight's gradient reads the dual input through a raw kernel.
    with efw.dual_level():
        x = ember.randn(1, 1, 5, 5, dtype=ember.float64)
        w = ember.randn(1, 1, 3, 3, dtype=ember.float64, requires_grad=True)
        y = ember.nn.functional.conv2d(efw.make_dual(x, ember.ones_like(x)), w)
        with pytest.raises(NotImplementedError, match="forward AD with convolution"):
            ember.autograd.grad(y.sum(), w)


@pytest.mark.parametrize(
    "f",
    [
        lambda lib, a: (lib.nn.functional.layer_norm(a.view(2, 3), (3,)) ** 3).sum(),
        lambda lib, a: a.prod() + a.view(2, 3).prod(1).sum(),
    ],
    ids=["layer_norm", "prod"],
)
def test_forward_over_reverse_through_fused_backward_formulas_matches_torch(f):
    rng = np.random.default_rng(11)
    x, v = rng.normal(size=6), rng.normal(size=6)

    def hvp(lib, fw):
        with fw.dual_level():
            leaf = lib.tensor(x, requires_grad=True)
            (g,) = lib.autograd.grad(f(lib, fw.make_dual(leaf, lib.tensor(v))), leaf)
            return fw.unpack_dual(g).tangent.detach().numpy()

    np.testing.assert_allclose(hvp(ember, efw), hvp(torch, tfw), rtol=1e-9, atol=1e-12)
