"""Python operators on tensors (python/src/operators.cpp, Note [Operator slots])
and the direct no-argument methods (python/src/fast_methods.cpp)."""

import operator

import numpy as np
import pytest
from conftest import both, capture, ember, torch

A = [[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]]
B = [2.0, -3.0, 0.25]

BINARY = [
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.pow,
    operator.floordiv,
    operator.mod,
]


@pytest.mark.parametrize("op", BINARY, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "order", ["tensor-tensor", "tensor-float", "float-tensor", "tensor-int", "int-tensor"]
)
def test_operators_match_torch_in_both_orders(op, order):
    def run(lib):
        a = lib.tensor(A, requires_grad=op not in (operator.floordiv, operator.mod))
        b = lib.tensor(B)
        left, right = {
            "tensor-tensor": (a, b),
            "tensor-float": (a, 1.5),
            "float-tensor": (1.5, a),
            "tensor-int": (a, 2),
            "int-tensor": (2, a),
        }[order]
        out = op(left, right)
        grad = None
        if a.requires_grad:
            out.sum().backward()
            grad = a.grad.numpy()
        return out.detach().numpy(), out.dtype, type(out.grad_fn).__name__, grad

    (ev, edt, ename, eg), (tv, tdt, tname, tg) = both(run)
    np.testing.assert_allclose(ev, tv, rtol=1e-6, equal_nan=True)
    assert str(edt).split(".")[-1] == str(tdt).split(".")[-1]
    assert ename == tname
    if tg is not None:
        np.testing.assert_allclose(eg, tg, rtol=1e-5, equal_nan=True)


def test_matmul_and_negation():
    def run(lib):
        m = lib.tensor(A, requires_grad=True)
        v = lib.tensor(B, requires_grad=True)
        out = -(m @ v)
        out.sum().backward()
        return out.detach().numpy(), type(out.grad_fn).__name__, m.grad.numpy(), v.grad.numpy()

    for e, t in zip(*both(run)):
        if isinstance(e, str):
            assert e == t
        else:
            np.testing.assert_allclose(e, t, rtol=1e-6)


def test_negation_of_a_large_tensor_runs_without_the_gil_and_returns_safely():
    # large enough that the kernel releases the GIL; the result is wrapped after
    x = ember.arange(300_000.0).reshape(600, 500)
    y = -x
    assert y.shape == (600, 500) and float(y.sum()) == -float(x.sum())


@pytest.mark.parametrize(
    "expr",
    [
        lambda lib, a: a @ 2.0,
        lambda lib, a: 2.0 @ a,
        lambda lib, a: a + "x",
        lambda lib, a: "x" * a,
        lambda lib, a: a + None,
        lambda lib, a: pow(a, 2, 5),
        lambda lib, a: a + [1.0, 2.0, 3.0],
    ],
)
def test_unsupported_operands_raise_typeerror_like_torch(expr):
    def run(lib):
        return expr(lib, lib.tensor(A))

    err_e, err_t = capture(run, ember), capture(run, torch)
    assert type(err_t) is TypeError, err_t
    assert type(err_e) is TypeError, err_e


def test_shape_mismatch_through_an_operator_names_the_sizes():
    def run(lib):
        return lib.ones(3) + lib.ones(4)

    err_e, err_t = capture(run, ember), capture(run, torch)
    assert type(err_e) is type(err_t) is RuntimeError
    assert str(err_e) == str(err_t)


def test_numpy_operands_on_either_side_give_tensors_like_torch():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    arr = np.array([1.0, 1.0])
    for out in (w + arr, arr * w, np.float64(0.5) * w, w * np.float32(2)):
        assert isinstance(out, ember.Tensor), type(out)
        assert out.requires_grad
    loss = (np.float64(0.5) * (w**2)).sum()
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 2.0])
    with pytest.raises(RuntimeError, match="requires grad"):
        np.asarray(w)


def test_none_and_non_tensors_raise_typeerror_instead_of_crashing():
    x = ember.ones(2, requires_grad=True)
    calls = [
        lambda: ember.exp(None),
        lambda: ember.sum(None),
        lambda: x.mm(None),
        lambda: ember.cat([x, None]),
        lambda: ember.where(None, x, x),
        lambda: ember.nn.functional.mse_loss(x, None),
        lambda: ember.autograd.grad(x.sum(), [x, 3]),
        lambda: ember.mul(x, "a"),
    ]
    for call in calls:
        with pytest.raises(TypeError):
            call()
    assert ember.equal(ember.add(2, x), x + 2)  # a number first works, as in torch


def test_hook_returning_a_non_tensor_raises_typeerror():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: 3.0)
    with pytest.raises(TypeError):
        (y * y).sum().backward()


def test_int64_min_floor_divided_by_minus_one_does_not_trap():
    def run(lib):
        a = lib.tensor([-(2**63), 7])
        return (a // -1).tolist(), (a % -1).tolist(), (a // lib.tensor([-1, -1])).tolist()

    e, t = both(run)
    assert e == t


def test_explicit_dunder_calls_match_the_operators():
    a = ember.tensor(B)
    assert ember.equal(a.__add__(2.0), a + 2.0)
    assert ember.equal(a.__radd__(2.0), 2.0 + a)
    assert ember.equal(a.__rsub__(1.0), 1.0 - a)
    assert ember.equal(a.__rtruediv__(1.0), 1.0 / a)
    assert ember.equal(a.__rpow__(2.0), 2.0**a)
    assert a.__add__("x") is NotImplemented
    assert a.__matmul__(2.0) is NotImplemented


def test_subclasses_use_the_same_operators_and_may_override_them():
    p = ember.nn.Parameter(ember.tensor(B))
    a = ember.tensor(B)
    assert ember.equal(p + a, a + a)
    assert ember.equal(a * p, a * a)
    assert (p * 2).grad_fn.name() == "MulBackward0"

    class Tagged(ember.Tensor):
        def __add__(self, other):
            return "tagged add"

        def __radd__(self, other):
            return "tagged radd"

    t = Tagged(ember.tensor(B))
    assert t + a == "tagged add"
    assert a + t == "tagged radd"  # a subclass's reflected method wins, as in Python
    assert 1.0 + t == "tagged radd"


def test_equal_matches_torch():
    def run(lib):
        a = lib.tensor(A)
        return (
            lib.equal(a, lib.tensor(A)),
            lib.equal(a, a + 1),
            lib.equal(a, lib.tensor(A[0])),
            lib.equal(lib.ones(0), lib.ones(0)),
        )

    assert both(run)[0] == both(run)[1] == (True, False, False, True)


def test_inplace_operators_keep_the_object():
    a = ember.tensor(B)
    before = a
    a += 1.0
    a *= ember.tensor(B)
    a -= 2
    a /= 4.0
    assert a is before
    expected = ((np.array(B, dtype=np.float32) + 1.0) * np.array(B, dtype=np.float32) - 2) / 4.0
    np.testing.assert_allclose(a.numpy(), expected, rtol=1e-6)


# ------------------------------------------------------------- fast methods


@pytest.mark.parametrize(
    "call",
    [
        lambda a: a.sum(),
        lambda a: a.sum(0),
        lambda a: a.sum(dim=1, keepdim=True),
        lambda a: a.sum((0, 1)),
        lambda a: a.mean(),
        lambda a: a.mean(1),
        lambda a: a.mean(dim=0, keepdim=True),
    ],
)
def test_sum_and_mean_with_and_without_arguments_match_torch(call):
    def run(lib):
        a = lib.tensor(A, requires_grad=True)
        out = call(a)
        out.sum().backward()
        return out.detach().numpy(), type(out.grad_fn).__name__, a.grad.numpy()

    (ev, en, eg), (tv, tn, tg) = both(run)
    np.testing.assert_allclose(ev, tv, rtol=1e-6)
    assert en == tn
    np.testing.assert_allclose(eg, tg)


def test_sum_of_int_and_bool_tensors_and_dtype_argument():
    def run(lib):
        i = lib.tensor([[1, 2], [3, 4]])
        b = lib.tensor([True, False, True])
        return (
            i.sum().item(),
            str(i.sum().dtype).split(".")[-1],
            b.sum().item(),
            str(i.sum(dtype=lib.float64).dtype).split(".")[-1],
            lib.tensor(A).t().sum().item(),  # non-contiguous input
        )

    assert both(run)[0] == both(run)[1]


def test_fast_methods_forward_errors_of_the_binding():
    a = ember.tensor(A)
    with pytest.raises(IndexError, match="Dimension out of range"):
        a.sum(5)
    with pytest.raises(TypeError, match="incompatible function arguments"):
        a.sum(foo=1)
    with pytest.raises(TypeError):
        ember.Tensor.sum("not a tensor")
    with pytest.raises(RuntimeError, match="mean"):
        ember.tensor([1, 2]).mean()
    assert "keepdim" in ember.Tensor.sum.__doc__
