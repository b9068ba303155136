"""ember.autograd.gradcheck/gradgradcheck: their verdicts, and a finite-difference sweep of ops."""

from __future__ import annotations

import warnings

import ember
import pytest
import torch
from ember.autograd import GradcheckError, gradcheck, gradgradcheck


class _HalfGradient:
    """A Function whose backward is wrong by a factor of 2, in each library."""

    @staticmethod
    def make(lib):
        class Half(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * x

        return Half


def _leaf(lib, values, dtype="float64"):
    return lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=True)


def test_verdicts_match_torch():
    for lib, check in ((torch, torch.autograd.gradcheck), (ember, gradcheck)):
        half = _HalfGradient.make(lib)
        assert check(lambda x: (x * x).sum(), (_leaf(lib, [1.0, -2.0, 0.5]),)) is True
        assert check(half.apply, (_leaf(lib, [1.0, 2.0]),), raise_exception=False) is False


def test_mismatch_raises_a_runtime_error_with_both_jacobians():
    half = _HalfGradient.make(ember)
    with pytest.raises(GradcheckError) as info:
        gradcheck(half.apply, (_leaf(ember, [1.0, 2.0]),))
    assert isinstance(info.value, RuntimeError)
    message = str(info.value)
    assert message.startswith("Jacobian mismatch for output 0 with respect to input 0")
    assert "numerical" in message and "analytical" in message


def test_refusals_and_warnings_match_torch():
    for lib, check in ((torch, torch.autograd.gradcheck), (ember, gradcheck)):
        with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
            check(lambda x: x.sum(), (lib.ones(3, dtype=lib.float64),))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check(lambda x: x.sum(), (lib.ones(3, requires_grad=True),), raise_exception=False)
        assert any("not a double precision" in str(w.message) for w in caught)


def test_several_inputs_and_outputs():
    a = ember.randn(2, 3, dtype=ember.float64, requires_grad=True)
    b = ember.randn(3, 4, dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda x, y: ((x @ y).tanh(), x.exp()), (a, b))
    assert gradgradcheck(lambda x, y: (x @ y).tanh(), (a, b))


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class FirstOnly(ember.autograd.Function):  # right gradient, built from constants
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x.detach() ** 2

    x = _leaf(ember, [0.5, -1.5])
    assert gradcheck(FirstOnly.apply, (x,))
    assert gradgradcheck(FirstOnly.apply, (x,), raise_exception=False) is False


# Every op's first and second derivatives against central differences (float64).
OPS = {
    "cumprod": lambda a: a.cumprod(1),
    "cumsum": lambda a: a.cumsum(0),
    "prod": lambda a: a.prod(1),
    "atan2": lambda a: ember.atan2(a, a[:, :1] + 3),
    "erfinv": lambda a: (a * 0.3).erfinv(),
    "asinh": lambda a: a.asinh(),
    "acosh": lambda a: (a * a + 1.5).acosh(),
    "atanh": lambda a: (a * 0.3).atanh(),
    "einsum": lambda a: ember.einsum("ij,ik->jk", a, a),
    "logsumexp": lambda a: a.logsumexp(1),
    "amax": lambda a: a.amax(0),
    "softmax": lambda a: a.softmax(1),
    "log_softmax": lambda a: ember.nn.functional.log_softmax(a, 0),
    "norm": lambda a: a.norm(dim=1),
    "var": lambda a: a.var(1),
    "gather": lambda a: a.gather(1, ember.tensor([[2, 0], [1, 1]])),
    "sort": lambda a: a.sort(1).values,
    "div_pow": lambda a: (a / (a * a + 1)) ** 3,
    "matmul": lambda a: a @ a.t(),
    "where_clamp": lambda a: ember.where(a > 0, a.clamp(-0.5, 0.5), a.sin()),
    "lerp": lambda a: ember.lerp(a, a.exp(), 0.3),
    "elu_selu": lambda a: ember.nn.functional.elu(a, 0.5) + ember.nn.functional.selu(a),
    "hardswish": lambda a: ember.nn.functional.hardswish(a * 2),
    "mish_logsigmoid": lambda a: ember.nn.functional.mish(a) + ember.nn.functional.logsigmoid(a),
    "cosine_similarity": lambda a: ember.nn.functional.cosine_similarity(a, a.exp()),
    "pad_reflect": lambda a: ember.nn.functional.pad(a, (2, 1), mode="reflect") ** 2,
    "pad_constant": lambda a: ember.nn.functional.pad(a, (1, -1, 1, 0), value=2.0) ** 2,
    "kl_div": lambda a: ember.nn.functional.kl_div(a, a.softmax(1), reduction="batchmean"),
    "smooth_l1": lambda a: ember.nn.functional.smooth_l1_loss(a, a.flip(1) * 3, beta=0.5),
    "diagonal_trace": lambda a: a.diagonal(1).exp().sum() + ember.trace(a[:, :2] @ a[:, 1:]),
    "median_hypot": lambda a: a.median(1).values + ember.hypot(a, a + 1).sum(1),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_derivatives_against_finite_differences(name):
    x = ember.tensor(
        [[0.31, -1.2, 0.77], [1.4, 0.05, -0.66]], dtype=ember.float64, requires_grad=True
    )
    assert gradcheck(OPS[name], (x,))
    assert gradgradcheck(OPS[name], (x,))
