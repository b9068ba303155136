"""Custom ember.autograd.Function (python/ember/autograd/function.py and
python/src/function_node.cpp), compared with torch.autograd.Function."""

import gc

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
