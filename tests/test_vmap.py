"""ember.func.vmap against torch.func.vmap: values, per-sample gradients, nesting,
in_dims/out_dims, chunking, randomness and errors."""

import warnings

import numpy as np
import pytest
from conftest import capture, ember, torch
from hypothesis import given, settings
from hypothesis import strategies as st
from op_table import OPS, arguments


def t64(lib, a):
    return lib.tensor(np.asarray(a, dtype=np.float64))


def assert_tree_close(e, t, rtol=1e-10, atol=1e-12):
    if isinstance(e, (tuple, list)):
        assert isinstance(t, (tuple, list)) and len(e) == len(t)
        for a, b in zip(e, t):
            assert_tree_close(a, b, rtol, atol)
        return
    if isinstance(e, dict):
        assert e.keys() == t.keys()
        for k in e:
            assert_tree_close(e[k], t[k], rtol, atol)
        return
    assert tuple(e.shape) == tuple(t.shape), (tuple(e.shape), tuple(t.shape))
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    np.testing.assert_allclose(
        e.detach().double().numpy(), t.detach().double().numpy(), rtol=rtol, atol=atol
    )


def run_both(fn, arrays, in_dims=0, out_dims=0, **kw):
    """vmap(fn(lib)) on the same float64 inputs in each library, no fallback warning."""
    results = []
    for lib in (ember, torch):
        args = [t64(lib, a) if isinstance(a, np.ndarray) else a for a in arrays]
        with warnings.catch_warnings():
            warnings.simplefilter("error" if lib is ember else "ignore")
            results.append(lib.func.vmap(fn(lib), in_dims, out_dims, **kw)(*args))
    return results


rng = np.random.default_rng(0)
B = 3


def r(*shape):
    return rng.uniform(-1, 1, shape)


def pos(*shape):
    return rng.uniform(0.5, 2, shape)


# (id, fn(lib) -> the mapped function, inputs (batched along in_dims), in_dims)
CASES = [
    ("sin", lambda L: L.sin, [r(B, 4)], 0),
    ("method_chain", lambda L: lambda x: x.exp().log1p().tanh() * 2 - 1, [r(B, 4, 2)], 0),
    ("operators", lambda L: lambda x, y: (x + y) * (x - 2) / (y.abs() + 1) ** 2, [r(B, 4), r(4)], (0, None)),
    ("reversed_ops", lambda L: lambda x: 1 - 2 / (3 + x.abs()) + 2 ** x, [r(B, 3)], 0),
    ("broadcast_rank", lambda L: lambda x, y: x * y, [r(B, 3), r(2, 3)], (0, None)),
    ("both_batched", lambda L: lambda x, y: L.maximum(x, y) + L.where(x > y, x, y), [r(B, 3), r(3, B)], (0, 1)),
    ("in_dim_1", lambda L: lambda x: x.sum(0), [r(4, B, 2)], 1),
    ("negative_in_dim", lambda L: lambda x: x.cumsum(0), [r(4, 2, B)], -1),
    ("sum_all", lambda L: lambda x: x.sum(), [r(B, 4, 2)], 0),
    ("sum_dims", lambda L: lambda x: x.sum((0, -1), keepdim=True), [r(B, 4, 2, 3)], 0),
    ("mean_var_std", lambda L: lambda x: (x.mean(-1), x.var(0), x.std()), [r(B, 4, 3)], 0),
    ("max_dim", lambda L: lambda x: x.max(1), [r(B, 4, 3)], 0),
    ("max_all_and_binary", lambda L: lambda x: (x.max(), L.max(x, x.flip(0))), [r(B, 4)], 0),
    ("argmax_all", lambda L: lambda x: x.argmax(), [r(B, 2, 5)], 0),
    ("amax_logsumexp", lambda L: lambda x: (x.amax(-1), L.logsumexp(x, 0)), [r(B, 3, 4)], 0),
    ("norm", lambda L: lambda x: (x.norm(), L.linalg.vector_norm(x, 3, dim=-1)), [r(B, 3, 4)], 0),
    ("softmax", lambda L: lambda x: (x.softmax(-1), L.nn.functional.log_softmax(x, dim=0)), [r(B, 3, 4)], 0),
    ("sort_topk", lambda L: lambda x: (x.sort(0).values, x.topk(2).indices), [r(B, 5, 3)], 0),
    ("median_all", lambda L: lambda x: x.median(), [r(B, 5)], 0),
    ("scalar_sum_dim", lambda L: lambda x: x.sum(0), [r(B)], 0),
    ("view_reshape", lambda L: lambda x: x.view(2, 6).reshape(3, -1).flatten(), [r(B, 12)], 0),
    ("transpose_permute", lambda L: lambda x: (x.transpose(0, 2), x.permute(1, 2, 0), x.mT, x[0].T), [r(B, 2, 3, 4)], 0),
    ("unsqueeze_squeeze", lambda L: lambda x: (x.unsqueeze(-1).unsqueeze(0), x[None].squeeze(), x.squeeze(1)), [r(B, 3, 1)], 0),
    ("expand_repeat", lambda L: lambda x: (x.expand(2, 3, 4), x.repeat(2, 1, 2), x.expand_as(L.ones(5, 3, 4))), [r(B, 3, 1)], 0),
    ("indexing", lambda L: lambda x: (x[0], x[:, 1:], x[..., -1], x[None, 1, ::2]), [r(B, 3, 4)], 0),
    ("index_with_tensor", lambda L: lambda x: x[:, L.tensor([2, 0])], [r(B, 3, 4)], 0),
    ("chunk_split_unbind", lambda L: lambda x: (*x.chunk(2, 1), *x.split(1), *x.unbind(-1)), [r(B, 2, 4)], 0),
    ("cat_stack", lambda L: lambda x, y: (L.cat([x, y], 0), L.stack([x, y], -1)), [r(B, 2, 3), r(2, 3)], (0, None)),
    ("narrow_select", lambda L: lambda x: (x.narrow(1, 1, 2), x.select(0, 1)), [r(B, 3, 4)], 0),
    ("gather", lambda L: lambda x, i: x.gather(1, i), [r(B, 3, 4), np.array([[0, 3], [1, 1], [2, 0]])], (0, None)),
    ("matmul_vec_mat", lambda L: lambda x, w: x @ w, [r(B, 4), r(4, 5)], (0, None)),
    ("matmul_mat_batched_weight", lambda L: lambda x, w: x @ w, [r(2, 4), r(B, 4, 5)], (None, 0)),
    ("matmul_both", lambda L: lambda x, w: L.matmul(x, w), [r(B, 2, 4), r(B, 4)], 0),
    ("matmul_dot", lambda L: lambda x, y: (L.dot(x, y), x @ y), [r(B, 4), r(4, B)], (0, 1)),
    ("matmul_broadcast_batch", lambda L: lambda x, w: x @ w, [r(B, 4), r(2, 4, 3)], (0, None)),
    ("mm_bmm_mv", lambda L: lambda a, b: (L.mm(a, b), L.bmm(a[None], b[None]), L.mv(a, b[:, 0])), [r(B, 2, 3), r(B, 3, 2)], 0),
    ("outer_addmm", lambda L: lambda x, y: (L.outer(x, y), L.addmm(L.ones(4, 4), x[:, None], y[None], beta=0.5, alpha=2)), [r(B, 4), r(4)], (0, None)),
    ("linear", lambda L: lambda x, w, b: L.nn.functional.linear(x, w, b), [r(B, 2, 4), r(3, 4), r(3)], (0, None, None)),
    ("linear_batched_weight", lambda L: lambda x, w, b: L.nn.functional.linear(x, w, b), [r(2, 4), r(B, 3, 4), r(B, 3)], (None, 0, 0)),
    ("activations", lambda L: lambda x: (L.nn.functional.gelu(x), L.nn.functional.leaky_relu(x, 0.2), L.relu(x), L.sigmoid(x)), [r(B, 5)], 0),
    ("clamp_masked_fill", lambda L: lambda x: (x.clamp(-0.5, 0.5), x.masked_fill(x > 0, 0.0)), [r(B, 5)], 0),
    ("mse_loss", lambda L: lambda x, y: L.nn.functional.mse_loss(x, y), [r(B, 4), r(B, 4)], 0),
    ("l1_sum_loss", lambda L: lambda x, y: L.nn.functional.l1_loss(x, y, reduction="sum"), [r(B, 4), r(4)], (0, None)),
    ("bce_logits", lambda L: lambda x, y: L.nn.functional.binary_cross_entropy_with_logits(x, y), [r(B, 4), np.ones((B, 4)) * 0.3], 0),
    ("cross_entropy", lambda L: lambda x, y: L.nn.functional.cross_entropy(x, y), [r(B, 5, 4), np.array([[0, 3, 1, 2, 3]] * B)], 0),
    ("cross_entropy_1d", lambda L: lambda x, y: L.nn.functional.cross_entropy(x, y), [r(B, 4), np.array([0, 3, 1])], 0),
    ("nll_weighted", lambda L: lambda x, y, w: L.nn.functional.nll_loss(x, y, weight=w, ignore_index=1), [r(B, 5, 4), np.array([[0, 3, 1, 2, 3]] * B), pos(4)], (0, 0, None)),
    ("layer_norm", lambda L: lambda x, w, b: L.nn.functional.layer_norm(x, (4,), w, b), [r(B, 3, 4), r(4), r(4)], (0, None, None)),
    ("layer_norm_batched_weight", lambda L: lambda x, w: L.nn.functional.layer_norm(x, (4,), w), [r(B, 3, 4), r(B, 4)], 0),
    ("tril_det_inv", lambda L: lambda x: (x.tril(), L.linalg.det(x), L.linalg.inv(x + 3 * L.eye(3, dtype=x.dtype))), [r(B, 3, 3)], 0),
    ("trace_diagonal", lambda L: lambda x: (x.trace(), x.diagonal(), x.diagonal(1, 1, 0)), [r(B, 3, 3)], 0),
    ("conv2d", lambda L: lambda x, w: L.nn.functional.conv2d(x, w, padding=1), [r(B, 2, 2, 5, 5), r(3, 2, 3, 3)], (0, None)),
    ("conv2d_batched_weight", lambda L: lambda x, w, b: L.nn.functional.conv2d(x, w, b, stride=2, padding=1), [r(2, 2, 5, 5), r(B, 4, 2, 3, 3), r(B, 4)], (None, 0, 0)),
    ("max_pool2d", lambda L: lambda x: L.nn.functional.max_pool2d(x, 2), [r(B, 2, 3, 4, 4)], 0),
    ("embedding", lambda L: lambda i, w: L.nn.functional.embedding(i, w), [np.array([[1, 2], [0, 0], [3, 1]]), r(4, 3)], (0, None)),
    ("embedding_batched_weight", lambda L: lambda i, w: L.nn.functional.embedding(i, w), [np.array([1, 2, 3]), r(B, 4, 3)], (None, 0)),
    ("inplace", lambda L: lambda x: x.clone().mul_(2).add_(1).sub_(x), [r(B, 4)], 0),
    ("setitem", lambda L: lambda x, v: _set(x.clone(), v), [r(B, 3, 4), r(B, 4)], 0),
    ("unbatched_output", lambda L: lambda x: L.ones(2, dtype=x.dtype), [r(B, 4)], 0),
    ("new_tensors", lambda L: lambda x: x + x.new_zeros(4) + x.new_full((2, 1), 3.0), [r(B, 2, 4)], 0),
    ("einsum", lambda L: lambda x, y: (L.einsum("ij,jk->ik", x, y), L.einsum("ij,ij", x, x)), [r(B, 2, 3), r(3, 4)], (0, None)),
    ("einsum_both", lambda L: lambda x, y: L.einsum("i,j->ij", x, y), [r(B, 2), r(B, 3)], 0),
    ("cosine_similarity", lambda L: lambda x, y: L.nn.functional.cosine_similarity(x, y, dim=-1), [r(B, 2, 3), r(3)], (0, None)),
]  # fmt: skip


def _set(x, v):
    x[1] = v
    x[0, 1:3] = 7.0
    return x


def _to_lib(lib, a):
    if isinstance(a, np.ndarray) and a.dtype.kind == "i":
        return lib.tensor(a)
    return t64(lib, a) if isinstance(a, np.ndarray) else a


@pytest.mark.parametrize("fn,arrays,in_dims", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_vmap_matches_torch_without_a_loop(fn, arrays, in_dims):
    results = []
    for lib in (ember, torch):
        args = [_to_lib(lib, a) for a in arrays]
        with warnings.catch_warnings():
            # the ops above all have batching rules in Ember (torch has a few fallbacks)
            warnings.simplefilter("error" if lib is ember else "ignore")
            results.append(lib.func.vmap(fn(lib), in_dims)(*args))
    assert_tree_close(*results)


def test_vmap_of_an_op_without_a_rule_loops_and_warns_once():
    def f(lib):
        return lambda x: lib.rot90(x, 1, (0, 1))

    x = r(B, 3, 2)
    with pytest.warns(UserWarning, match="performance drop.*rot90"):
        e = ember.func.vmap(f(ember))(t64(ember, x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.func.vmap(f(ember))(t64(ember, x))
    assert_tree_close(e, torch.func.vmap(f(torch))(t64(torch, x)))


def test_out_dims_pytrees_and_non_tensor_outputs():
    def f(lib):
        return lambda d, s: {"a": d["x"] * s, "b": (d["y"].sum(0), d["x"])}

    for out_dims in (-1, {"a": 1, "b": (0, 1)}):
        assert_tree_close(*_run_dict(f, out_dims))
    for lib in (ember, torch):
        out = lib.func.vmap(lambda x: (x, 2), out_dims=(0, None))(lib.ones(3, 2))
        assert out[1] == 2


def _run_dict(f, out_dims):
    x, y = r(B, 2), r(4, B)
    results = []
    for lib in (ember, torch):
        results.append(
            lib.func.vmap(f(lib), in_dims=({"x": 0, "y": 1}, None), out_dims=out_dims)(
                {"x": t64(lib, x), "y": t64(lib, y)}, 3.0
            )
        )
    return results


def test_nested_vmap_matches_torch():
    x, y = r(B, 4, 3), r(3, 5)

    def f(lib):
        inner = lib.func.vmap(lambda row, w: (row @ w).tanh().sum(), in_dims=(0, None))
        return lambda m, w: inner(m, w) * m.sum()

    assert_tree_close(*run_both(f, [x, y], in_dims=(0, None)))

    def g(lib):  # the inner vmap maps an unbatched closure over its own dim
        return lambda a: lib.func.vmap(lambda b: a * b)(t64(lib, np.arange(2.0)))

    assert_tree_close(*run_both(g, [r(B, 1)]))


def test_chunk_size_gives_the_same_values():
    x = r(7, 4)
    full = ember.func.vmap(lambda a: (a.softmax(0), a.sum()))(t64(ember, x))
    for chunk in (1, 2, 3, 7, 10):
        chunked = ember.func.vmap(lambda a: (a.softmax(0), a.sum()), chunk_size=chunk)(
            t64(ember, x)
        )
        assert_tree_close(chunked, full)


def test_per_sample_gradients_jacobians_and_hessians_match_torch():
    x, w = r(B, 4), r(4, 3)

    def f(lib):
        def loss(w, x):
            return (x @ w).tanh().pow(2).sum()

        return lambda w, x: (
            lib.func.grad(loss)(w, x),
            lib.func.jacrev(lambda x: (x @ w).sin())(x),
            lib.func.hessian(lambda x: (x @ w).exp().sum())(x),
            lib.func.grad(loss, argnums=1)(w, x),
        )

    assert_tree_close(*run_both(f, [w, x], in_dims=(None, 0)), rtol=1e-9)


def test_grad_of_vmap_and_vmap_of_grad_agree():
    x = r(B, 4)

    def g(lib):
        return lib.func.grad(lambda x: lib.func.vmap(lambda r: r.sin().sum() * r[0])(x).sum())

    def v(lib):
        return lib.func.vmap(lib.func.grad(lambda r: r.sin().sum() * r[0]))

    e = g(ember)(t64(ember, x))
    assert_tree_close(e, v(ember)(t64(ember, x)))
    assert_tree_close(e, g(torch)(t64(torch, x)))


def test_vmap_inside_ordinary_backward_reaches_the_leaves():
    x = r(B, 4)
    grads = []
    for lib in (ember, torch):
        leaf = t64(lib, x).requires_grad_()
        lib.func.vmap(lambda r: (r * r.flip(0)).sum())(leaf).sum().backward()
        grads.append(leaf.grad)
    assert_tree_close(*grads)


def test_randomness_modes():
    x = ember.ones(4, 1000)
    e = capture(lambda lib: lib.func.vmap(lambda r: lib.nn.functional.dropout(r))(x), ember)
    t = capture(
        lambda lib: lib.func.vmap(lambda r: lib.nn.functional.dropout(r))(torch.ones(4, 10)),
        torch,
    )
    assert type(e) is type(t) and str(e) == str(t)
    different = ember.func.vmap(lambda r: ember.nn.functional.dropout(r), randomness="different")(x)
    same = ember.func.vmap(lambda r: ember.nn.functional.dropout(r), randomness="same")(x)
    assert not ember.equal(different[0], different[1])
    assert ember.equal(same[0], same[1]) and ember.equal(same[0], same[3])
    assert set(np.unique(same.numpy())) <= {0.0, 2.0}
    noise = ember.func.vmap(lambda r: r + ember.randn(3), randomness="different")(ember.zeros(5, 3))
    assert noise.shape == (5, 3) and not ember.equal(noise[0], noise[1])
    noise = ember.func.vmap(lambda r: ember.randn_like(r), randomness="same")(ember.zeros(5, 3))
    assert ember.equal(noise[0], noise[4])


ERRORS = [
    ("non_tensor_output", lambda L: L.func.vmap(lambda a: 1)(L.ones(3))),
    ("in_dim_on_int", lambda L: L.func.vmap(lambda a: a, in_dims=1)(5)),
    ("sizes_differ", lambda L: L.func.vmap(lambda a, b: a + b)(L.ones(3, 4), L.ones(4, 4))),
    ("in_dims_none", lambda L: L.func.vmap(lambda a: a, in_dims=None)(L.ones(3))),
    ("in_dims_structure", lambda L: L.func.vmap(lambda a: a, in_dims=(0,))(L.ones(3), L.ones(3))),
    ("item", lambda L: L.func.vmap(lambda a: a.sum().item())(L.ones(3, 2))),
    ("control_flow", lambda L: L.func.vmap(lambda a: a if a.sum() > 0 else -a)(L.ones(3, 2))),
    ("in_dim_range", lambda L: L.func.vmap(lambda a: a, in_dims=2)(L.ones(3, 2))),
    ("in_dim_scalar", lambda L: L.func.vmap(lambda a: a)(L.tensor(1.0))),
    ("randomness_name", lambda L: L.func.vmap(lambda a: a, randomness="x")(L.ones(3))),
    ("random_in_error_mode", lambda L: L.func.vmap(lambda a: a + L.randn(2))(L.ones(3, 2))),
    ("boolean_mask", lambda L: L.func.vmap(lambda a: a[a > 0])(L.ones(3, 2))),
    ("matmul_scalar", lambda L: L.func.vmap(lambda a: a @ a)(L.ones(3))),
    ("dim_out_of_range", lambda L: L.func.vmap(lambda a: a.sum(2))(L.ones(3, 2, 2))),
    (
        "setitem_into_unbatched",
        lambda L: L.func.vmap(lambda a: _set(L.zeros(3, 2), a))(L.ones(3, 2)),
    ),
]


@pytest.mark.parametrize("call", [c[1] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors_match_torch(call):
    e, t = capture(call, ember), capture(call, torch)
    assert e is not None and t is not None, (e, t)
    assert type(e) is type(t), (e, t)
    first_words = " ".join(str(t).split()[:3])
    assert str(e).startswith(first_words) or str(e).split(":")[0] == str(t).split(":")[0], (e, t)


UNARY = ["sin", "exp", "tanh", "sigmoid", "abs", "neg", "square"]
REDUCE = ["sum", "mean", "amax", "softmax", "cumsum", "logsumexp"]


@settings(max_examples=40, deadline=None)
@given(
    rank=st.integers(1, 3),
    in_dim=st.integers(-1, 3),
    steps=st.lists(
        st.tuples(st.sampled_from(UNARY + REDUCE + ["add_other", "mul_other"]), st.integers(-3, 2)),
        min_size=1,
        max_size=4,
    ),
    data=st.data(),
)
def test_random_compositions_match_torch(rank, in_dim, steps, data):
    shape = data.draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank))
    in_dim = in_dim % (rank + 1)
    full = list(shape)
    full.insert(in_dim, 4)
    x, other = r(*full), r(*shape[-1:])

    def f(lib):
        def fn(a, o):
            for op, dim in steps:
                if a.dim() == 0 and op in REDUCE:
                    continue
                d = dim % a.dim() if a.dim() else 0
                if op in UNARY:
                    a = getattr(a, op)()
                elif op == "add_other":  # an unbatched 0-d operand
                    a = a + o.mean()
                elif op == "mul_other":  # an unbatched (1,) operand: broadcasts, may add a dim
                    a = a * o[:1]
                elif op in ("softmax", "cumsum", "logsumexp"):
                    a = getattr(a, op)(d)
                else:
                    a = getattr(a, op)(d)
            return a

        return fn

    assert_tree_close(*run_both(f, [x, other], in_dims=(in_dim, None)))


def cnn(lib):
    lib.manual_seed(0)
    model = lib.nn.Sequential(
        lib.nn.Conv2d(1, 4, 3, padding=1),
        lib.nn.ReLU(),
        lib.nn.MaxPool2d(2),
        lib.nn.Flatten(),
        lib.nn.Linear(4 * 4 * 4, 10),
        lib.nn.LogSoftmax(-1),
    ).double()
    weights = np.random.default_rng(1)
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(t64(lib, weights.normal(size=tuple(p.shape))))
    return model


def test_per_sample_gradients_of_a_cnn_match_torch_without_a_loop():
    xs, ys = r(5, 1, 8, 8), np.array([3, 1, 0, 9, 3])
    grads = []
    for lib in (ember, torch):
        model = cnn(lib)
        params = {k: v.detach() for k, v in model.named_parameters()}

        def loss(p, x, y, model=model, lib=lib):
            out = lib.func.functional_call(model, p, (x[None],))
            return lib.nn.functional.nll_loss(out, y[None])

        with warnings.catch_warnings():
            warnings.simplefilter("error" if lib is ember else "ignore")
            grads.append(
                lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))(
                    params, t64(lib, xs), lib.tensor(ys)
                )
            )
    assert_tree_close(*grads, rtol=1e-9)


def test_modules_under_vmap_match_torch():
    xs = r(B, 2, 1, 8, 8)
    outs = []
    for lib in (ember, torch):
        model = cnn(lib)
        model.append(lib.nn.Dropout(0.5)).eval()
        with warnings.catch_warnings():
            warnings.simplefilter("error" if lib is ember else "ignore")
            outs.append(lib.func.vmap(model)(t64(lib, xs)))
    assert_tree_close(*outs)


def test_recurrent_layers_run_once_per_sample_under_vmap():
    """torch's vmap has no rule for its LSTM kernel; Ember loops over the samples."""
    xs = t64(ember, r(B, 4, 5))
    ember.manual_seed(0)
    lstm = ember.nn.LSTM(5, 3).double()
    with pytest.warns(UserWarning, match="performance drop.*LSTM"):
        mapped = ember.func.vmap(lambda x: lstm(x)[0])(xs)
    assert_tree_close(mapped, ember.stack([lstm(x)[0] for x in xs]))


def cube_functions(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(x):
            return x**3

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x**2 * g

    class CubeGenerated(Cube):
        generate_vmap_rule = True

    class CubeWithRule(Cube):
        @staticmethod
        def vmap(info, in_dims, x):
            return CubeWithRule.apply(x.movedim(in_dims[0], 0) if in_dims[0] else x), 0

    class CubeOldStyle(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x**3

        @staticmethod
        def backward(ctx, g):
            return g

    return Cube, CubeGenerated, CubeWithRule, CubeOldStyle


@pytest.mark.parametrize("which", [1, 2])
def test_custom_functions_under_vmap_and_their_gradients_match_torch(which):
    x = r(B, 4)
    results = []
    for lib in (ember, torch):
        fn = cube_functions(lib)[which]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = lib.func.vmap(lambda v: fn.apply(v).sum())(t64(lib, x))
            grads = lib.func.vmap(lib.func.grad(lambda v: fn.apply(v).sum()))(t64(lib, x))
        results.append((value, grads))
    assert_tree_close(*results)


@pytest.mark.parametrize("which", [0, 3])
def test_custom_functions_without_vmap_support_raise_like_torch(which):
    def call(lib):
        lib.func.vmap(cube_functions(lib)[which].apply)(lib.ones(3, 2))

    e, t = capture(call, ember), capture(call, torch)
    assert type(e) is type(t) is RuntimeError
    assert str(e) == str(t)


# ---------------------------------------------------------------- every table op

# Ops whose vmap differs from torch's for a reason, not a bug.
TABLE_EXCLUSIONS = {
    "svd": "singular vectors are defined up to sign; torch's and Ember's LAPACK calls differ",
    "linalg.svd": "singular vectors are defined up to sign",
    "linalg.eigh": "eigenvectors are defined up to sign",
}
FLOAT64_OPS = [e for e in OPS if "float64" in e.dtypes and e.name not in TABLE_EXCLUSIONS]


def _mapped_table_op(lib, entry, sample, batch_all):
    """vmap of the entry's first form over 3 perturbed copies of the sample's first
    tensor (or of all of them)."""
    _, call = entry.forms()[0]
    _, _, leaves = arguments(lib, sample, "float64")
    noise = np.random.default_rng(3)
    in_dims = tuple(0 if i == 0 or batch_all else None for i in range(len(leaves)))
    batched = [
        lib.stack([x + lib.tensor(noise.uniform(-0.05, 0.05, tuple(x.shape))) for _ in range(3)])
        if d == 0
        else x
        for x, d in zip(leaves, in_dims)
    ]

    def fn(*given):
        args, kwargs, _ = arguments(lib, sample, "float64", given=list(given))
        return call(lib, args, kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lib.func.vmap(fn, in_dims=in_dims)(*batched)


@pytest.mark.parametrize("entry", FLOAT64_OPS, ids=[e.name for e in FLOAT64_OPS])
def test_vmap_of_every_table_op_matches_torch(entry):
    """Against torch's vmap; where torch's vmap refuses the op, against Ember's
    own op applied sample by sample (or Ember refuses too)."""
    for sample in entry.samples()[:2]:
        if not arguments(ember, sample, "float64")[2]:
            continue
        for batch_all in (False, True):
            where = f"{sample!r} batch_all={batch_all}"
            if capture(lambda lib: _mapped_table_op(lib, entry, sample, batch_all), torch) is None:
                t = _mapped_table_op(torch, entry, sample, batch_all)
                _assert_same_tree(_mapped_table_op(ember, entry, sample, batch_all), t, where)
                continue
            refused = capture(lambda lib: _mapped_table_op(lib, entry, sample, batch_all), ember)
            if refused is None:
                e = _mapped_table_op(ember, entry, sample, batch_all)
                _assert_same_tree(e, _table_op_per_sample(entry, sample, batch_all), where)
            else:  # both refuse: a clear error, as torch's (no crash, no AttributeError)
                assert isinstance(refused, (RuntimeError, ValueError, NotImplementedError)), (
                    where,
                    refused,
                )


def _table_op_per_sample(entry, sample, batch_all):
    """The op on each sample of _mapped_table_op's batch, stacked (torch's layout)."""
    _, call = entry.forms()[0]
    _, _, leaves = arguments(ember, sample, "float64")
    noise = np.random.default_rng(3)
    copies = [
        [x + ember.tensor(noise.uniform(-0.05, 0.05, tuple(x.shape))) for _ in range(3)]
        if i == 0 or batch_all
        else [x] * 3
        for i, x in enumerate(leaves)
    ]
    results = []
    for b in range(3):
        args, kwargs, _ = arguments(ember, sample, "float64", given=[c[b] for c in copies])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.append(call(ember, args, kwargs))
    if isinstance(results[0], (tuple, list)):
        return [torch.tensor(ember.stack(list(col)).numpy()) for col in zip(*results)]
    return torch.tensor(ember.stack(results).numpy())


def _assert_same_tree(e, t, where):
    if isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)) and len(e) == len(t), where
        for a, b in zip(e, t):
            _assert_same_tree(a, b, where)
    elif isinstance(t, torch.Tensor):
        assert tuple(e.shape) == tuple(t.shape), (where, tuple(e.shape), tuple(t.shape))
        np.testing.assert_allclose(
            e.detach().double().numpy(),
            t.detach().double().numpy(),
            rtol=1e-7,
            atol=1e-9,
            err_msg=where,
        )
    else:
        assert e == t, where


def test_other_threads_compute_as_usual_while_a_vmap_runs():
    import threading

    x = ember.linspace(-1, 1, 50)
    expected = (ember.sin(x) * 2).sum()
    stop, errors = threading.Event(), []

    def mapping():
        while not stop.is_set():
            ember.func.vmap(lambda r: ember.sin(r).sum())(ember.ones(4, 3))

    def plain():
        try:
            for _ in range(2000):
                assert ember.equal((ember.sin(x) * 2).sum(), expected)
                assert ember.randn(3).shape == (3,)
                assert x[3:5].shape == (2,)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=mapping), threading.Thread(target=plain)]
    threads[0].start()
    threads[1].start()
    threads[1].join()
    stop.set()
    threads[0].join()
    assert not errors, errors
    assert type(ember) is type(threading)  # the module class is restored


def test_attention_and_batch_norm_in_eval_have_rules():
    q, k, v, mask = r(B, 2, 4, 3), r(2, 5, 3), r(B, 2, 5, 3), rng.uniform(size=(4, 5)) > 0.3
    x, mean, var = r(B, 2, 4, 3), r(4), pos(4)

    def f(lib):
        def fn(q, v, x):
            return (
                lib.nn.functional.scaled_dot_product_attention(q, t64(lib, k), v, is_causal=True),
                lib.nn.functional.scaled_dot_product_attention(
                    q, t64(lib, k), v, attn_mask=lib.tensor(mask)
                ),
                lib.nn.functional.batch_norm(x, t64(lib, mean), t64(lib, var)),
            )

        return fn

    assert_tree_close(*run_both(f, [q, v, x]))
