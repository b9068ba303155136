"""ember.autograd.functional against torch.autograd.functional on the same functions
(float64): values, create_graph, strict mode and errors."""

import ember
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

TOL = dict(rtol=1e-10, atol=1e-12)


def lib_tensor(lib, arr, requires_grad=False):
    return lib.tensor(np.asarray(arr, dtype=np.float64), requires_grad=requires_grad)


def assert_nested_close(e, t, **tol):
    """Same nesting of tuples, same shapes and float64 values."""
    if isinstance(t, tuple):
        assert isinstance(e, tuple) and len(e) == len(t), (type(e), e, t)
        for a, b in zip(e, t):
            assert_nested_close(a, b, **tol)
        return
    assert tuple(e.shape) == tuple(t.shape), (tuple(e.shape), tuple(t.shape))
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    np.testing.assert_allclose(
        e.detach().numpy(), t.detach().numpy(), **(tol or TOL), equal_nan=True
    )


def assert_same_error(call):
    """call(lib) raises the same type with the same message in both libraries."""
    with pytest.raises(Exception) as te:
        call(torch)
    with pytest.raises(Exception) as ee:
        call(ember)
    assert type(ee.value) is type(te.value), (ee.value, te.value)
    assert str(ee.value) == str(te.value).replace("torch.", "ember.")


# Functions written once, run on either library.


def scalar_sin(lib):
    return lambda x: (x.sin() * x).sum()


def two_input_matmul(lib):
    return lambda x, y: (x @ y).tanh()


def tuple_out(lib):
    return lambda x: (x.exp(), (x * x).sum())


def mixed_scalar(lib):
    return lambda x, y: (x.exp() * y.cos()).sum() + (x * y).pow(3).sum()


def ignores_second(lib):
    return lambda x, y: x * 2


def linear(lib):
    return lambda x: (3 * x).sum()


def inputs(lib, arrays, requires_grad=False):
    return tuple(lib_tensor(lib, a, requires_grad) for a in arrays)


def both(make_fn, arrays, call, as_tuple=True):
    """call(F, fn, inputs) on each library's functional module."""
    out = []
    for lib in (ember, torch):
        xs = inputs(lib, arrays)
        out.append(call(lib.autograd.functional, make_fn(lib), xs if as_tuple else xs[0]))
    return out


# --------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 4), m=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_all_transforms_match_torch_on_random_inputs(n, m, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n,))
    a, b = rng.uniform(-1, 1, (m, n)), rng.uniform(-1, 1, (n, m))
    v_n = rng.uniform(-1, 1, (n,))
    v_mm = rng.uniform(-1, 1, (m, m))

    def check(make_fn, arrays, call, as_tuple=True):
        e, t = both(make_fn, arrays, call, as_tuple)
        assert_nested_close(e, t)

    check(scalar_sin, [x], lambda F, f, xs: F.jacobian(f, xs), as_tuple=False)
    check(scalar_sin, [x], lambda F, f, xs: F.hessian(f, xs), as_tuple=False)
    check(two_input_matmul, [a, b], lambda F, f, xs: F.jacobian(f, xs))
    check(tuple_out, [x], lambda F, f, xs: F.jacobian(f, xs), as_tuple=False)
    check(mixed_scalar, [x, x[::-1].copy()], lambda F, f, xs: F.hessian(f, xs))
    for name in ("hvp", "vhp"):
        check(
            scalar_sin,
            [x, v_n],
            lambda F, f, xs, name=name: getattr(F, name)(f, xs[0], xs[1]),
        )
    check(
        two_input_matmul,
        [a, b, v_mm],
        lambda F, f, xs: F.vjp(f, xs[:2], xs[2]),
    )
    check(
        two_input_matmul,
        [a, b, a[::-1].copy(), b[::-1].copy()],
        lambda F, f, xs: F.jvp(f, xs[:2], xs[2:]),
    )


def test_vjp_and_jvp_default_v_for_single_element():
    for name in ("vjp", "jvp", "hvp", "vhp"):
        e, t = both(
            lambda lib: lambda x: (x * x).sin().sum(),
            [[0.3]],
            lambda F, f, xs, name=name: getattr(F, name)(f, xs[0]),
        )
        assert_nested_close(e, t)


def test_jvp_uses_the_double_backward_trick_on_tuple_outputs():
    rng = np.random.default_rng(0)
    x, v = rng.uniform(-1, 1, (3,)), rng.uniform(-1, 1, (3,))
    e, t = both(tuple_out, [x, v], lambda F, f, xs: F.jvp(f, xs[0], xs[1]))
    assert_nested_close(e, t)


def test_vectorize_gives_the_same_jacobian_and_hessian():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (3, 2))
    e, t = both(two_input_matmul, [a, b], lambda F, f, xs: F.jacobian(f, xs, vectorize=True))
    assert_nested_close(e, t)
    e, t = both(mixed_scalar, [a[0], b[:, 0]], lambda F, f, xs: F.hessian(f, xs, vectorize=True))
    assert_nested_close(e, t)


def test_unused_input_gives_zero_blocks():
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-1, 1, (2,)), rng.uniform(-1, 1, (3,))
    e, t = both(ignores_second, [x, y], lambda F, f, xs: F.jacobian(f, xs))
    assert_nested_close(e, t)


def test_results_are_detached_without_create_graph():
    x = lib_tensor(ember, [0.5, 1.5], requires_grad=True)
    out, vjp = ember.autograd.functional.vjp(lambda x: x.exp(), x, ember.ones(2))
    jac = ember.autograd.functional.jacobian(lambda x: x.exp(), x)
    hess = ember.autograd.functional.hessian(lambda x: x.exp().sum(), x)
    for r in (out, vjp, jac, hess):
        assert not r.requires_grad and r.grad_fn is None


# --------------------------------------------------------------------------
# create_graph
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["vjp", "jvp", "hvp", "vhp", "jacobian", "hessian"])
def test_create_graph_results_differentiate_like_torch(name):
    rng = np.random.default_rng(3)
    x, v = rng.uniform(-1, 1, (3,)), rng.uniform(-1, 1, (3,))
    grads = []
    for lib in (ember, torch):
        xt = lib_tensor(lib, x, requires_grad=True)
        vt = lib_tensor(lib, v)
        f = scalar_sin(lib) if name in ("hvp", "vhp", "hessian") else (lambda x: x.sin() * x)
        F = lib.autograd.functional
        if name in ("jacobian", "hessian"):
            res = getattr(F, name)(f, xt, create_graph=True)
        else:
            res = getattr(F, name)(f, xt, vt, create_graph=True)[1]
        assert res.requires_grad
        (g,) = lib.autograd.grad((res * res).sum(), xt)
        grads.append(g)
    assert_nested_close(*grads)


def test_create_graph_keeps_outputs_attached():
    for lib in (ember, torch):
        x = lib_tensor(lib, [0.2, 0.4], requires_grad=True)
        out, _ = lib.autograd.functional.vjp(lambda x: x * x, x, lib.ones(2), create_graph=True)
        assert out.requires_grad


# --------------------------------------------------------------------------
# strict mode and errors
# --------------------------------------------------------------------------


def _xy(lib):
    return lib_tensor(lib, [1.0, 2.0]), lib_tensor(lib, [3.0, 4.0])


STRICT_CASES = {
    "vjp independent input": lambda lib: lib.autograd.functional.vjp(
        ignores_second(lib), _xy(lib), lib.ones(2, dtype=lib.float64), strict=True
    ),
    "jacobian independent input": lambda lib: lib.autograd.functional.jacobian(
        ignores_second(lib), _xy(lib), strict=True
    ),
    "jacobian constant output": lambda lib: lib.autograd.functional.jacobian(
        lambda x: lib.ones(2), _xy(lib)[0], strict=True
    ),
    "jvp independent": lambda lib: lib.autograd.functional.jvp(
        ignores_second(lib), _xy(lib), _xy(lib), strict=True
    ),
    "hessian of linear": lambda lib: lib.autograd.functional.hessian(
        linear(lib), _xy(lib)[0], strict=True
    ),
    "hvp of linear": lambda lib: lib.autograd.functional.hvp(
        linear(lib), _xy(lib)[0], _xy(lib)[1], strict=True
    ),
    "vhp of linear": lambda lib: lib.autograd.functional.vhp(
        linear(lib), _xy(lib)[0], _xy(lib)[1], strict=True
    ),
    "jacobian strict and vectorize": lambda lib: lib.autograd.functional.jacobian(
        scalar_sin(lib), _xy(lib)[0], strict=True, vectorize=True
    ),
    "jacobian strict create_graph linear": lambda lib: lib.autograd.functional.jacobian(
        lambda x: 2 * x, _xy(lib)[0], strict=True, create_graph=True
    ),
}

ERROR_CASES = {
    "inputs not tensors": lambda lib: lib.autograd.functional.jacobian(lambda x: x, 3.0),
    "tuple item not tensor": lambda lib: lib.autograd.functional.vjp(
        lambda x, y: x, (_xy(lib)[0], 2)
    ),
    "output not tensor": lambda lib: lib.autograd.functional.jacobian(lambda x: 3, _xy(lib)[0]),
    "v missing for vector output": lambda lib: lib.autograd.functional.vjp(
        lambda x: x * 2, _xy(lib)[0]
    ),
    "v missing for vector input": lambda lib: lib.autograd.functional.jvp(
        lambda x: x * 2, _xy(lib)[0]
    ),
    "v wrong size": lambda lib: lib.autograd.functional.vjp(
        lambda x: x * 2, _xy(lib)[0], lib.ones(3, dtype=lib.float64)
    ),
    "v wrong size in tuple": lambda lib: lib.autograd.functional.jvp(
        lambda x, y: x * y, _xy(lib), (lib.ones(2, dtype=lib.float64), lib.ones(3))
    ),
    "v wrong tuple length": lambda lib: lib.autograd.functional.jvp(
        lambda x, y: x * y, _xy(lib), (lib.ones(2, dtype=lib.float64),)
    ),
    "v tuple for single output": lambda lib: lib.autograd.functional.vjp(
        lambda x: x * 2, _xy(lib)[0], _xy(lib)
    ),
    "hessian of vector": lambda lib: lib.autograd.functional.hessian(lambda x: x * x, _xy(lib)[0]),
    "hessian of tuple": lambda lib: lib.autograd.functional.hessian(
        lambda x: (x.sum(),), _xy(lib)[0]
    ),
    "hvp of vector": lambda lib: lib.autograd.functional.hvp(
        lambda x: x * x, _xy(lib)[0], _xy(lib)[1]
    ),
    "vhp of tuple": lambda lib: lib.autograd.functional.vhp(
        lambda x: (x.sum(),), _xy(lib)[0], _xy(lib)[1]
    ),
    "bad strategy": lambda lib: lib.autograd.functional.jacobian(
        lambda x: x, _xy(lib)[0], strategy="sideways"
    ),
    "bad outer strategy": lambda lib: lib.autograd.functional.hessian(
        lambda x: x.sum(), _xy(lib)[0], outer_jacobian_strategy="sideways"
    ),
    "forward-mode with create_graph": lambda lib: lib.autograd.functional.jacobian(
        lambda x: x, _xy(lib)[0], strategy="forward-mode", create_graph=True
    ),
    "forward-mode with strict": lambda lib: lib.autograd.functional.jacobian(
        lambda x: x, _xy(lib)[0], strategy="forward-mode", strict=True, vectorize=True
    ),
    "empty output": lambda lib: lib.autograd.functional.jacobian(lambda x: x[:0] * 2, _xy(lib)[0]),
    "forward-mode without vectorize": lambda lib: lib.autograd.functional.jacobian(
        lambda x: x, _xy(lib)[0], strategy="forward-mode"
    ),
}


@pytest.mark.parametrize("case", sorted(STRICT_CASES))
def test_strict_mode_raises_like_torch(case):
    assert_same_error(STRICT_CASES[case])


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_bad_arguments_raise_like_torch(case):
    assert_same_error(ERROR_CASES[case])


def test_strict_passes_where_everything_is_connected():
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (3,))
    e, t = both(scalar_sin, [x], lambda F, f, xs: F.hessian(f, xs[0], strict=True))
    assert_nested_close(e, t)
    e, t = both(scalar_sin, [x, x], lambda F, f, xs: F.hvp(f, xs[0], xs[1], strict=True))
    assert_nested_close(e, t)


def test_forward_mode_strategy_uses_forward_ad_when_present():
    x = np.array([0.3, -0.7])
    if hasattr(ember.autograd, "forward_ad"):
        e, t = both(
            lambda lib: lambda x: x.sin() * x,
            [x],
            lambda F, f, xs: F.jacobian(f, xs[0], vectorize=True, strategy="forward-mode"),
        )
        assert_nested_close(e, t)
    else:
        with pytest.raises(NotImplementedError, match="forward_ad"):
            ember.autograd.functional.jacobian(
                lambda x: x.sin(), lib_tensor(ember, x), vectorize=True, strategy="forward-mode"
            )


def test_closure_captured_input_is_not_differentiated():
    # The inputs are fresh tensors inside the call, so a function that closes over
    # the very tensor it was given sees it as a constant, as in torch.
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (3,))
    results = []
    for lib in (ember, torch):
        xt = lib_tensor(lib, x)
        results.append(lib.autograd.functional.jacobian(lambda y: y * xt, xt))
    assert_nested_close(*results)
