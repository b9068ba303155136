"""ember.utils.checkpoint against torch.utils.checkpoint: values, gradients, dropout
masks on recompute, warnings, errors, and the memory it saves."""

import warnings

import ember
import ember.utils.checkpoint
import numpy as np
import pytest
import torch
import torch.utils.checkpoint

TOL = dict(rtol=1e-10, atol=1e-12)


def t64(lib, arr, requires_grad=False):
    return lib.tensor(np.asarray(arr, dtype=np.float64), requires_grad=requires_grad)


def mlp(lib, depth=4, width=5, dropout=0.0, seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(depth):
        layers += [lib.nn.Linear(width, width), lib.nn.Tanh()]
        if dropout:
            layers.append(lib.nn.Dropout(dropout))
    model = lib.nn.Sequential(*layers).double()
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(t64(lib, rng.uniform(-0.8, 0.8, tuple(p.shape))))
    return model


def close(a, b):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **TOL)


def run_segments(lib, model, x, use_reentrant, checkpointed=True, **kw):
    """The model as two halves, the first checkpointed."""
    layers = list(model)
    half = len(layers) // 2

    def first(h):
        for m in layers[:half]:
            h = m(h)
        return h

    h = (
        lib.utils.checkpoint.checkpoint(first, x, use_reentrant=use_reentrant, **kw)
        if checkpointed
        else first(x)
    )
    for m in layers[half:]:
        h = m(h)
    return h


def grads_of(lib, model, x, **kw):
    model.zero_grad()
    x.grad = None
    out = run_segments(lib, model, x, **kw)
    out.pow(2).sum().backward()
    return out, [p.grad.clone() for p in model.parameters()], x.grad


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_values_and_gradients_match_torch(use_reentrant):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (3, 5))
    results = []
    for lib in (ember, torch):
        model = mlp(lib)
        results.append(grads_of(lib, model, t64(lib, x, True), use_reentrant=use_reentrant))
    (eo, eg, ex), (to, tg, tx) = results
    close(eo, to)
    close(ex, tx)
    for a, b in zip(eg, tg):
        close(a, b)


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_dropout_masks_are_replayed_on_recompute(use_reentrant):
    """preserve_rng_state: the recompute draws the forward's masks, so gradients equal
    those of the plain run with the same seed."""
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (4, 5))
    model = mlp(ember, dropout=0.5)
    ember.manual_seed(7)
    plain = grads_of(
        ember, model, t64(ember, x, True), use_reentrant=use_reentrant, checkpointed=False
    )
    ember.manual_seed(7)
    kept = grads_of(ember, model, t64(ember, x, True), use_reentrant=use_reentrant)
    close(plain[0], kept[0])
    close(plain[2], kept[2])
    for a, b in zip(plain[1], kept[1]):
        close(a, b)
    # The caller's random stream after backward is as if nothing was recomputed.
    ember.manual_seed(7)
    grads_of(ember, model, t64(ember, x, True), use_reentrant=use_reentrant)
    after = ember.rand(3)
    ember.manual_seed(7)
    grads_of(ember, model, t64(ember, x, True), use_reentrant=use_reentrant, checkpointed=False)
    close(after, ember.rand(3))


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_without_preserved_rng_the_recompute_draws_new_masks(use_reentrant):
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (4, 5))
    differs = {}
    for lib in (ember, torch):
        model = mlp(lib, dropout=0.5)
        lib.manual_seed(7)
        plain = grads_of(
            lib, model, t64(lib, x, True), use_reentrant=use_reentrant, checkpointed=False
        )
        lib.manual_seed(7)
        loose = grads_of(
            lib, model, t64(lib, x, True), use_reentrant=use_reentrant, preserve_rng_state=False
        )
        differs[lib] = not np.allclose(plain[2].numpy(), loose[2].numpy())
    assert differs[ember] and differs[torch]


def test_reentrant_node_name_matches_torch():
    names = []
    for lib in (ember, torch):
        x = t64(lib, [[0.1, 0.2]], True)
        y = lib.utils.checkpoint.checkpoint(lambda x: x.sin() * 2, x, use_reentrant=True)
        names.append((type(y.grad_fn).__name__, y.grad_fn.name()))
    assert names[0] == names[1]


@pytest.mark.parametrize("api", ["checkpoint", "checkpoint_sequential"])
def test_warns_like_torch_when_use_reentrant_is_not_passed(api):
    messages = []
    for lib in (ember, torch):
        model = mlp(lib, depth=2)
        x = t64(lib, np.ones((1, 5)), True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if api == "checkpoint":
                lib.utils.checkpoint.checkpoint(model, x)
            else:
                lib.utils.checkpoint.checkpoint_sequential(model, 2, x)
        found = [str(w.message) for w in caught if "use_reentrant" in str(w.message)]
        assert len(found) == 1
        if lib is ember:  # torch's points into its compiler's wrapper
            assert caught[0].filename == __file__  # points at the caller
        messages.append(found[0])
    assert messages[0] == messages[1]


def test_reentrant_without_inputs_requiring_grad_warns_and_leaves_parameters_alone():
    outcome = []
    for lib in (ember, torch):
        model = mlp(lib, depth=2)
        x = t64(lib, np.ones((1, 5)))
        with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
            out = lib.utils.checkpoint.checkpoint(model, x, use_reentrant=True)
        outcome.append((out.requires_grad, all(p.grad is None for p in model.parameters())))
    assert outcome[0] == outcome[1] == (False, True)


def test_non_reentrant_gives_parameters_gradients_without_input_grads():
    results = []
    for lib in (ember, torch):
        model = mlp(lib, depth=3)
        x = t64(lib, np.linspace(-1, 1, 10).reshape(2, 5))
        out = run_segments(lib, model, x, use_reentrant=False)
        out.sum().backward()
        results.append([p.grad for p in model.parameters()])
    for a, b in zip(*results):
        close(a, b)


def test_non_reentrant_works_with_autograd_grad_and_kwargs():
    results = []
    for lib in (ember, torch):
        w = t64(lib, [[0.3, -0.2], [0.5, 0.1]], True)
        x = t64(lib, [[1.0, 2.0]], True)

        def f(x, scale=1.0, *, shift):
            return (x @ w * scale + shift).tanh()

        y = lib.utils.checkpoint.checkpoint(f, x, use_reentrant=False, scale=2.0, shift=0.5)
        gx, gw = lib.autograd.grad(y.pow(2).sum(), (x, w), create_graph=True)
        (ggx,) = lib.autograd.grad(gw.sum(), x)
        results.append((y, gx, gw, ggx))
    for a, b in zip(*results):
        close(a, b)


def test_non_reentrant_backward_with_inputs():
    results = []
    for lib in (ember, torch):
        model = mlp(lib, depth=2)
        x = t64(lib, np.ones((1, 5)) * 0.3, True)
        out = run_segments(lib, model, x, use_reentrant=False)
        out.sum().backward(inputs=[x])
        results.append((x.grad, [p.grad for p in model.parameters()]))
    close(results[0][0], results[1][0])
    assert all(g is None for g in results[0][1]) and all(g is None for g in results[1][1])


def test_non_reentrant_segment_fed_by_an_upstream_graph():
    """Arguments with history of their own: gradients go on through it."""
    results = []
    for lib in (ember, torch):
        a = t64(lib, [0.2, -0.4, 0.9], True)
        b = a.exp()  # a non-leaf argument
        c = lib.utils.checkpoint.checkpoint(lambda u, v: (u * v).sin(), b, a, use_reentrant=False)
        (c * b).sum().backward()
        results.append((c, a.grad))
    for x, y in zip(*results):
        close(x, y)


REENTRANT_ERRORS = {
    "autograd.grad": lambda lib: lib.autograd.grad(
        lib.utils.checkpoint.checkpoint(
            lambda x: x * 2, t64(lib, [1.0], True), use_reentrant=True
        ).sum(),
        [],
    ),
    "grad through a reentrant checkpoint": lambda lib: (
        lambda x: lib.autograd.grad(
            lib.utils.checkpoint.checkpoint(lambda x: x * 2, x, use_reentrant=True).sum(), x
        )
    )(t64(lib, [1.0], True)),
    "backward with inputs": lambda lib: (
        lambda x: (
            lib.utils.checkpoint.checkpoint(lambda x: x * 2, x, use_reentrant=True)
            .sum()
            .backward(inputs=[x])
        )
    )(t64(lib, [1.0], True)),
    "kwargs with reentrant": lambda lib: lib.utils.checkpoint.checkpoint(
        lambda x, s=1: x * s, t64(lib, [1.0], True), use_reentrant=True, s=2
    ),
    "context_fn with reentrant": lambda lib: lib.utils.checkpoint.checkpoint(
        lambda x: x, t64(lib, [1.0], True), use_reentrant=True, context_fn=lambda: None
    ),
    "sequential kwargs": lambda lib: lib.utils.checkpoint.checkpoint_sequential(
        mlp(lib, depth=2), 2, t64(lib, np.ones((1, 5))), use_reentrant=False, extra=1
    ),
    "no output requires grad": lambda lib: (
        lib.utils.checkpoint.checkpoint(
            lambda x: x.detach(), t64(lib, [1.0], True), use_reentrant=True
        )
        .sum()
        .backward()
    ),
}


@pytest.mark.parametrize("case", sorted(REENTRANT_ERRORS))
def test_misuse_raises_like_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as te:
            REENTRANT_ERRORS[case](torch)
        with pytest.raises(Exception) as ee:
            REENTRANT_ERRORS[case](ember)
    assert type(ee.value) is type(te.value), (ee.value, te.value)
    assert str(ee.value) == str(te.value), (ee.value, te.value)


@pytest.mark.parametrize("use_reentrant", [True, False])
@pytest.mark.parametrize("segments", [1, 2, 3])
def test_checkpoint_sequential_matches_torch(use_reentrant, segments):
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (2, 5))
    results = []
    for lib in (ember, torch):
        model = mlp(lib, depth=3)
        xt = t64(lib, x, True)
        out = lib.utils.checkpoint.checkpoint_sequential(
            model, segments, xt, use_reentrant=use_reentrant
        )
        out.pow(2).sum().backward()
        results.append((out, xt.grad, *[p.grad for p in model.parameters()]))
    for a, b in zip(*results):
        close(a, b)


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_checkpointing_holds_fewer_activation_bytes(use_reentrant):
    """Live buffer bytes held between forward and backward drop when segments are
    checkpointed (the allocator's own count, which sees C++ buffers)."""
    ember.manual_seed(0)
    model = ember.nn.Sequential(
        *[m for _ in range(16) for m in (ember.nn.Linear(256, 256), ember.nn.Tanh())]
    )
    x = ember.randn(128, 256, requires_grad=True)

    def held(run):
        base = ember._C._buffer_stats()["live_bytes"]
        out = run()
        kept = ember._C._buffer_stats()["live_bytes"] - base
        out.sum().backward()
        return kept

    plain = held(lambda: model(x))
    segmented = held(
        lambda: ember.utils.checkpoint.checkpoint_sequential(
            model, 4, x, use_reentrant=use_reentrant
        )
    )
    assert segmented < 0.5 * plain, (segmented, plain)


@pytest.mark.parametrize("use_reentrant", [True, False])
@pytest.mark.parametrize("preserve", [True, False])
def test_recompute_sees_the_forward_dropout_mask_exactly(use_reentrant, preserve):
    """The dropout layer's output in the recompute equals the forward's bit for bit
    with preserve_rng_state, and differs without it (as in torch)."""
    outcome = {}
    for lib in (ember, torch):
        lib.manual_seed(3)
        drop = lib.nn.Dropout(0.5)
        seen = []
        drop.register_forward_hook(lambda m, i, o: seen.append(o.detach().numpy().copy()))
        x = t64(lib, np.ones((8, 16)), True)
        # early_stop=False: torch's non-reentrant recompute otherwise stops as soon
        # as the saved mask is back, before the module's forward hook runs.
        extra = {} if use_reentrant else {"early_stop": False}
        y = lib.utils.checkpoint.checkpoint(
            lambda x: drop(x * 2),
            x,
            use_reentrant=use_reentrant,
            preserve_rng_state=preserve,
            **extra,
        )
        y.sum().backward()
        assert len(seen) == 2  # the forward, then the recompute
        outcome[lib] = np.array_equal(seen[0], seen[1])
        np.testing.assert_array_equal(x.grad.numpy(), seen[0 if preserve else 1])
    assert outcome[ember] == outcome[torch] == preserve
