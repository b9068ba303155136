"""Custom ember.autograd.Function (python/ember/autograd/function.py and
python/src/function_node.cpp), compared with torch.autograd.Function."""

import gc
import warnings

import numpy as np
import pytest
from conftest import both, capture, compare, ember, torch


def define(lib):
    """The same Function subclasses for either library."""

    class Legendre3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 0.5 * (5 * x**3 - 3 * x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * x**2 - 1)

    class Exp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            result = x.exp()
            ctx.save_for_backward(result)  # its own output
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    class MulConst(lib.autograd.Function):
        @staticmethod
        def forward(x, constant):
            return x * constant

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.constant = inputs[1]

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.constant, None

    class TwoOutputs(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return x * w, x + w

        @staticmethod
        def backward(ctx, g1, g2):
            x, w = ctx.saved_tensors
            return g1 * w + g2, g1 * x + g2

    class WithIndex(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = x.argmax()
            ctx.mark_non_differentiable(idx)
            return x * 1, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            return g * 2

    return {
        "legendre": Legendre3,
        "exp": Exp,
        "mulconst": MulConst,
        "two": TwoOutputs,
        "index": WithIndex,
    }


CALLS = {
    "legendre": lambda F, x, w: F["legendre"].apply(x).sum(),
    "exp": lambda F, x, w: (F["exp"].apply(x) * w).sum(),
    "mulconst": lambda F, x, w: F["mulconst"].apply(x, 3.0).sum(),
    "two": lambda F, x, w: (lambda a, b: (a * b).sum())(*F["two"].apply(x, w)),
    "index": lambda F, x, w: (F["index"].apply(x)[0] * w).sum(),
    "chain": lambda F, x, w: F["legendre"].apply(F["exp"].apply(x * w)).sum(),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_values_gradients_and_names_match_torch(call):
    def run(lib):
        F = define(lib)
        x = lib.tensor([0.5, -1.0, 0.25], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([1.5, 2.0, -1.0], dtype=lib.float64, requires_grad=True)
        loss = CALLS[call](F, x, w)
        names = []
        node = loss.grad_fn
        while node is not None and node.next_functions:
            names.append(node.name())
            node = node.next_functions[0][0]
        loss.backward()
        return loss.item(), x.grad.tolist(), None if w.grad is None else w.grad.tolist(), names

    e, t = both(run)
    np.testing.assert_allclose(e[0], t[0], rtol=1e-12)
    np.testing.assert_allclose(e[1], t[1], rtol=1e-12)
    assert (e[2] is None) == (t[2] is None)
    if t[2] is not None:
        np.testing.assert_allclose(e[2], t[2], rtol=1e-12)
    assert [n.split("::")[-1] for n in e[3]] == [n.split("::")[-1] for n in t[3]]


def test_higher_order_through_a_differentiable_backward():
    def run(lib):
        F = define(lib)
        x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(F["legendre"].apply(x).sum(), x, create_graph=True)
        g.sum().backward()
        return g.tolist(), x.grad.tolist()

    assert both(run)[0] == both(run)[1]


def test_no_input_requiring_grad_records_nothing():
    def run(lib):
        F = define(lib)
        y = F["legendre"].apply(lib.tensor([1.0]))
        x = lib.tensor([1.0], requires_grad=True)
        with lib.no_grad():
            z = F["legendre"].apply(x)
        return y.requires_grad, y.grad_fn is None, z.requires_grad

    assert both(run) == ((False, True, False), (False, True, False))


def test_non_differentiable_output():
    def run(lib):
        F = define(lib)
        v, i = F["index"].apply(lib.tensor([1.0, 3.0, 2.0], requires_grad=True))
        return v.requires_grad, i.requires_grad, i.item()

    assert both(run)[0] == both(run)[1]


def _bad_count(lib):
    class Bad(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    a = lib.ones(2, requires_grad=True)
    Bad.apply(a, a * 2).sum().backward()


def _bad_shape(lib):
    class BadShape(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a.sum()

        @staticmethod
        def backward(ctx, g):
            return g.expand(3)

    BadShape.apply(lib.ones(2, requires_grad=True)).backward()


def _raises_in_backward(lib):
    class Raiser(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom from backward")

    Raiser.apply(lib.ones(2, requires_grad=True)).sum().backward()


def _saved_tensor_modified(lib):
    x = lib.ones(2, requires_grad=True)
    z = x * 1
    y = define(lib)["legendre"].apply(z)
    z.add_(1)
    y.sum().backward()


def _second_backward(lib):
    y = define(lib)["exp"].apply(lib.ones(2, requires_grad=True)).sum()
    y.backward()
    y.backward()


@pytest.mark.parametrize(
    "case",
    [
        _bad_count,
        _bad_shape,
        _raises_in_backward,
        _saved_tensor_modified,
        _second_backward,
    ],
    ids=lambda f: f.__name__,
)
def test_misuse_raises_like_torch(case):
    err_e, err_t = capture(case, ember), capture(case, torch)
    assert err_t is not None
    assert type(err_e) is type(err_t), (err_e, err_t)
    first_words = str(err_t).split("(")[0].split(",")[0][:40]
    assert first_words.replace("torch", "ember") in str(err_e).replace("torch", "ember")


def test_instantiating_a_function_warns_like_torch():
    for lib in (ember, torch):

        class Legacy(lib.autograd.Function):
            pass

        with pytest.warns(DeprecationWarning, match="should not be instantiated"):
            Legacy()


def test_graph_with_a_saved_output_is_freed():
    # The node holds saved tensors as SavedTensors, ctx holds none: no cycle.
    F = define(ember)
    gc.collect()
    gc.disable()
    try:
        base = ember._C._buffer_stats()["live_buffers"]
        x = ember.randn(1000, requires_grad=True)
        for _ in range(50):
            y = F["exp"].apply(x * 2)
            del y
        loss = F["exp"].apply(x).sum()
        loss.backward()
        del loss
        assert ember._C._buffer_stats()["live_buffers"] == base + 2  # x and x.grad
    finally:
        gc.enable()


def _nontensor_output(lib):
    class Pair(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, 5

        @staticmethod
        def backward(ctx, g1, g2):
            assert g2 is None  # one gradient per output, None for the number
            return g1 * 2

    x = lib.ones(3, requires_grad=True)
    a, b = Pair.apply(x)
    a.sum().backward()
    return x.grad * b


def _broadcast_gradient(lib):
    class Widen(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.expand(2, 3)  # summed back to the input's shape, as torch

    x = lib.ones(3, requires_grad=True)
    Widen.apply(x).sum().backward()
    return x.grad


def _gradient_for_a_number(lib):
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * 3, g

    x = lib.ones(3, requires_grad=True)
    Scale.apply(x, 3).sum().backward()
    return x.grad


@pytest.mark.parametrize(
    "case",
    [_nontensor_output, _broadcast_gradient, _gradient_for_a_number],
    ids=lambda f: f.__name__,
)
def test_function_outputs_and_gradients_follow_torch(case):
    compare(case)


def test_backward_may_differentiate_its_own_non_leaf_input_like_torch():
    # The inner autograd.grad stops at x, whose grad_fn the outer pass is running.
    def run(L):
        class SinViaGrad(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x.sin()

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                with L.enable_grad():
                    (gx,) = L.autograd.grad(x.sin().sum(), x)
                return g * gx

        w = L.tensor([0.3, 0.7], dtype=L.float64, requires_grad=True)
        SinViaGrad.apply(w * 2).sum().backward()
        return w.grad

    compare(run)


def test_once_differentiable_refuses_a_second_derivative_like_torch():
    # It used to run the backward without a graph, so a second derivative
    # silently dropped its terms.
    def run(lib, fn_module):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x**3

            @staticmethod
            @fn_module.once_differentiable
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 3 * x * x * g

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (g,) = lib.autograd.grad((Cube.apply(x) * x).sum(), x, create_graph=True)
        try:
            g.sum().backward()
            error = None
        except RuntimeError as exc:
            error = str(exc)
        (first,) = lib.autograd.grad(Cube.apply(x).sum(), x)
        return g.detach().tolist(), error, first.tolist()

    import ember.autograd.function as ember_function
    import torch.autograd.function as torch_function

    e, t = run(ember, ember_function), run(torch, torch_function)
    assert e == t
    assert "once_differentiable" in e[1]


# --------------------------------------------------------------------------
# torch parity: node classes, mark_dirty, ctx attributes, node hooks
# --------------------------------------------------------------------------


def define_parity(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.note = "cube"
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    class Square(lib.autograd.Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    class DoubleInPlace(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    class DirtyNotReturned(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, k):
            ctx.flags = None
            return x * y * k

        @staticmethod
        def backward(ctx, g):
            ctx.flags = ctx.needs_input_grad
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ctx.saved_seen = ctx.saved_variables
            ctx.warned = [(w.category, str(w.message)) for w in caught]
            return g, g, None

    return Cube, Square, DoubleInPlace, DirtyNotReturned, Scale


def t64(lib, values, requires_grad=False):
    return lib.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def test_each_function_has_its_own_node_class_like_torch():
    seen = []
    for lib in (ember, torch):
        Cube, Square, *_ = define_parity(lib)
        x = t64(lib, [1.0, 2.0], True)
        y, z = Cube.apply(x), Square.apply(x)
        assert type(y.grad_fn) is Cube._backward_cls
        assert y.grad_fn._forward_cls is Cube
        assert isinstance(y.grad_fn, lib.autograd.function.BackwardCFunction)
        prefix = f"<{lib.__name__}.autograd.function.{type(y.grad_fn).__name__} object at 0x"
        assert repr(y.grad_fn).startswith(prefix)
        assert type(Cube.apply(x).grad_fn) is type(y.grad_fn)
        (z + y).sum().backward()
        seen.append(
            (
                type(y.grad_fn).__name__,
                type(z.grad_fn).__name__,
                y.grad_fn.name(),
                type((y + z).grad_fn.next_functions[0][0]).__name__,
                x.grad.tolist(),
            )
        )
    assert seen[0] == seen[1]


def test_grad_fn_reads_ctx_attributes_and_saved_tensors_like_torch():
    seen = []
    for lib in (ember, torch):
        Cube, *_ = define_parity(lib)
        x = t64(lib, [1.0, 2.0], True)
        y = Cube.apply(x)
        seen.append(
            (y.grad_fn.note, y.grad_fn.needs_input_grad, y.grad_fn.saved_tensors[0].tolist())
        )
        with pytest.raises(AttributeError):
            y.grad_fn.missing_attribute  # noqa: B018
    assert seen[0] == seen[1]


def test_mark_dirty_rebases_the_argument_like_torch():
    seen = []
    for lib in (ember, torch):
        _, _, DoubleInPlace, _, _ = define_parity(lib)
        a = t64(lib, [1.0, 2.0], True)
        b = a.clone()
        v0 = b._version
        c = DoubleInPlace.apply(b)
        assert c is b
        (c * c).sum().backward()
        seen.append((type(b.grad_fn).__name__, b._version - v0, b.tolist(), a.grad.tolist()))
    assert seen[0] == seen[1]


def test_mark_dirty_on_a_view_records_copy_slices_like_torch():
    seen = []
    for lib in (ember, torch):
        _, _, DoubleInPlace, _, _ = define_parity(lib)
        a = t64(lib, [1.0, 2.0, 3.0], True)
        b = a.clone()
        view = b[:2]
        c = DoubleInPlace.apply(view)
        assert c is view
        (b * b).sum().backward()
        seen.append((view.grad_fn.name(), b.grad_fn.name(), b.tolist(), a.grad.tolist()))
    assert seen[0] == seen[1]


@pytest.mark.parametrize("case", ["leaf", "not returned"])
def test_mark_dirty_misuse_raises_like_torch(case):
    def run(lib):
        _, _, DoubleInPlace, DirtyNotReturned, _ = define_parity(lib)
        a = t64(lib, [1.0, 2.0], True)
        if case == "leaf":
            DoubleInPlace.apply(a)
        else:
            DirtyNotReturned.apply(a.clone())

    te, ee = capture(run, torch), capture(run, ember)
    assert type(ee) is type(te) and str(ee) == str(te), (ee, te)


def test_needs_input_grad_and_the_deprecated_saved_variables_like_torch():
    seen = []
    for lib in (ember, torch):
        *_, Scale = define_parity(lib)
        x = t64(lib, [1.0, 2.0], True)
        y = t64(lib, [3.0, 4.0])
        out = Scale.apply(x, y, 2.0)
        fn = out.grad_fn
        out.sum().backward()
        seen.append((fn.flags, fn.saved_seen, fn.warned))
    assert seen[0] == seen[1]
    assert seen[0][2][0][0] is DeprecationWarning


def test_node_hooks_see_and_replace_gradients_like_torch():
    seen = []
    for lib in (ember, torch):
        Cube, *_ = define_parity(lib)
        calls = []
        x = t64(lib, [1.0, 2.0], True)
        y = Cube.apply(x)
        pre = y.grad_fn.register_prehook(
            lambda go: (calls.append(("pre", [g.tolist() for g in go])), (go[0] * 10,))[1]
        )
        post = y.grad_fn.register_hook(
            lambda gi, go: (
                calls.append(("post", [g.tolist() for g in gi], [g.tolist() for g in go])),
                (gi[0] + 1,),
            )[1]
        )
        y.sum().backward(retain_graph=True)
        first = x.grad.tolist()
        pre.remove()
        post.remove()
        x.grad = None
        y.sum().backward()
        mul = (x * 3).grad_fn  # hooks on built-in nodes too
        mul.register_hook(lambda gi, go: calls.append(("mul", len(gi), len(go))))
        seen.append((calls, first, x.grad.tolist(), type(pre).__name__))
    assert seen[0] == seen[1]


def test_node_hooks_on_builtin_nodes_and_accumulate_grad_like_torch():
    seen = []
    for lib in (ember, torch):
        calls = []
        x = t64(lib, [1.0, 2.0], True)
        y = (x * 3).sin()
        y.grad_fn.register_prehook(lambda go: calls.append(("sin-pre", go[0].tolist())))
        mul = y.grad_fn.next_functions[0][0]
        mul.register_hook(
            lambda gi, go: calls.append(("mul", [None if g is None else g.tolist() for g in gi]))
        )
        acc = mul.next_functions[0][0]
        acc.register_prehook(lambda go: calls.append(("acc-pre", go[0].tolist())))
        y.sum().backward()
        seen.append((calls, x.grad.tolist()))
    assert seen[0] == seen[1]


def test_error_in_a_deep_nested_backward_reaches_the_caller():
    """An exception raised in a pass hundreds of reentrant levels down (past the depth
    where passes move to a new thread) comes back as itself."""

    class Nested(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x, depth):
            ctx.depth = depth
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            if ctx.depth == 0:
                raise ValueError("bottom reached")
            with ember.enable_grad():
                y = ember.zeros(1, requires_grad=True)
                Nested.apply(y, ctx.depth - 1).sum().backward()
            return g, None

    x = ember.ones(1, requires_grad=True)
    with pytest.raises(ValueError, match="bottom reached"):
        Nested.apply(x, 300).sum().backward()
    assert ember.is_grad_enabled()


DEEP_REENTRANT = """
import sys
import {lib} as torch

class Deep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, depth):
        ctx.depth = depth
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        if ctx.depth > 0:
            with torch.enable_grad():
                y = torch.zeros(1, requires_grad=True)
                Deep.apply(y, ctx.depth - 1).sum().backward()
        return g * 2, None

x = torch.ones(1, requires_grad=True)
Deep.apply(x, 20000).sum().backward()
print(x.grad.item())
"""


def test_reentrant_backward_nested_20000_deep_completes_like_torch():
    """torch moves deep reentrant passes to a fresh thread; so does Ember (Note [Deep
    reentrant backward]): no RecursionError, no crash."""
    import subprocess
    import sys

    outputs = []
    for lib in ("ember", "torch"):
        done = subprocess.run(
            [sys.executable, "-c", DEEP_REENTRANT.format(lib=lib)],
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.append(done.stdout.strip())
    assert outputs[0] == outputs[1] == "2.0"
