"""The LU family (lu_factor, lu_factor_ex, lu, lu_solve, lu_unpack),
householder_product/orgqr, tensorinv and tensorsolve, against torch: values,
gradients to second order, node names, out= and errors."""

import warnings

import numpy as np
import pytest
from conftest import assert_grads_match, capture
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
ember = pytest.importorskip("ember")

TOL = {"float32": dict(rtol=1e-4, atol=1e-4), "float64": dict(rtol=1e-9, atol=1e-9)}
SHAPES = [(3, 3), (4, 2), (2, 4), (2, 3, 3), (2, 1, 5, 3), (3, 5), (1, 1), (3, 0), (0, 2, 2)]


def as_lib(lib, a, grad=False):
    return lib.tensor(a).requires_grad_(grad)


def close(e, t, dtype="float64"):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), **TOL[dtype])


def lu_pair(lib, a):
    """LU factors and pivots of a, as lib computes them (the inputs of lu_solve)."""
    return lib.linalg.lu_factor(lib.tensor(a))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lu_factor_values(shape, dtype):
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    e, t = ember.linalg.lu_factor_ex(ember.tensor(a)), torch.linalg.lu_factor_ex(torch.tensor(a))
    close(e.LU, t.LU, dtype)
    assert e.pivots.tolist() == t.pivots.tolist() and e.pivots.dtype == ember.int32
    assert e.info.tolist() == t.info.tolist() and e.info.dtype == ember.int32
    e, t = ember.linalg.lu(ember.tensor(a)), torch.linalg.lu(torch.tensor(a))
    for x, y in zip(e, t):
        close(x, y, dtype)
    assert type(e).__name__ == "linalg_lu" and e._fields == ("P", "L", "U")


@pytest.mark.parametrize("shape", SHAPES)
def test_lu_gradients(shape):
    a = np.random.default_rng(1).standard_normal(shape)

    def factor(lib, x):
        return lib.linalg.lu_factor(x).LU

    def unpacked(lib, x):
        _, L, U = lib.linalg.lu(x)
        return lib.cat([L.flatten(), U.flatten()])

    assert_grads_match(factor, [a], rtol=1e-7, atol=1e-8)
    assert_grads_match(unpacked, [a], rtol=1e-7, atol=1e-8)


def test_node_names():
    a = np.random.default_rng(2).standard_normal((2, 4, 4))
    for lib in (ember, torch):
        x = as_lib(lib, a, True)
        LU, piv = lib.linalg.lu_factor(x)
        names = [
            type(LU.grad_fn).__name__,
            type(lib.linalg.lu_factor_ex(x).LU.grad_fn).__name__,
            type(lib.linalg.lu(x).L.grad_fn).__name__,
            type(lib.linalg.lu_solve(LU, piv, x).grad_fn).__name__,
            type(lib.lu_unpack(LU, piv).U.grad_fn).__name__,
            type(lib.linalg.householder_product(x, x[..., 0]).grad_fn).__name__,
            type(lib.orgqr(x, x[..., 0]).grad_fn).__name__,
            type(lib.linalg.tensorinv(x[0].reshape(4, 2, 2), ind=1).grad_fn).__name__,
            type(
                lib.linalg.tensorsolve(x[0].reshape(2, 2, 4), x[0, 0].reshape(2, 2)).grad_fn
            ).__name__,
        ]
        if lib is ember:
            got = names
        assert not piv.requires_grad and not lib.linalg.lu(x).P.requires_grad
    assert got == names


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
@pytest.mark.parametrize("shapes", [((3, 3), (3, 2)), ((2, 4, 4), (4, 4)), ((4, 4), (3, 4, 4))])
def test_lu_solve(left, adjoint, shapes):
    rng = np.random.default_rng(3)
    a_shape, b_shape = shapes
    a = rng.standard_normal(a_shape) + 3 * np.eye(a_shape[-1])
    b = rng.standard_normal(b_shape if left else (*b_shape[:-2], b_shape[-1], b_shape[-2]))

    def fn(lib, x, y):
        LU, piv = lib.linalg.lu_factor(x)
        return lib.linalg.lu_solve(LU, piv, y, left=left, adjoint=adjoint)

    assert_grads_match(fn, [a, b], rtol=1e-7, atol=1e-8)

    def from_factors(lib, lu, y):  # the gradient w.r.t. LU itself
        piv = lu_pair(lib, a).pivots
        return lib.linalg.lu_solve(lu, piv, y, left=left, adjoint=adjoint)

    lu = lu_pair(torch, a).LU.numpy()
    assert_grads_match(from_factors, [lu, b], rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 3)])
def test_lu_unpack(shape):
    a = np.random.default_rng(4).standard_normal(shape)
    lu, piv = (t.numpy() for t in torch.linalg.lu_factor(torch.tensor(a)))

    def fn(lib, x):
        P, L, U = lib.lu_unpack(x, lib.tensor(piv))
        return lib.cat([(P @ L).flatten(), U.flatten()])

    assert_grads_match(fn, [lu], rtol=1e-9, atol=1e-10)
    for flags in [(True, False), (False, True)]:
        e = ember.lu_unpack(ember.tensor(lu), ember.tensor(piv), *flags)
        t = torch.lu_unpack(torch.tensor(lu), torch.tensor(piv), *flags)
        assert [tuple(x.shape) for x in e] == [tuple(x.shape) for x in t]


@pytest.mark.parametrize("shape,k", [((4, 3), 3), ((5, 3), 2), ((2, 4, 4), 4), ((3, 0), 0)])
def test_householder_product(shape, k):
    rng = np.random.default_rng(5)
    a, tau = rng.standard_normal(shape), rng.random((*shape[:-2], k))

    def fn(lib, x, t):
        return lib.linalg.householder_product(x, t)

    # with no reflectors the gradients are constant zeros: no second order to compare
    assert_grads_match(fn, [a, tau], second_order=k > 0, rtol=1e-8, atol=1e-9)
    close(
        ember.orgqr(ember.tensor(a), ember.tensor(tau)),
        torch.orgqr(torch.tensor(a), torch.tensor(tau)),
    )
    close(ember.tensor(a).orgqr(ember.tensor(tau)), torch.tensor(a).orgqr(torch.tensor(tau)))


def test_tensorinv_tensorsolve():
    rng = np.random.default_rng(6)
    a = rng.standard_normal((4, 6, 8, 3)) + 0.0
    assert_grads_match(lambda lib, x: lib.linalg.tensorinv(x, ind=2), [a], rtol=1e-6, atol=1e-7)
    s, b = rng.standard_normal((2, 3, 6)), rng.standard_normal((2, 3))
    assert_grads_match(lambda lib, x, y: lib.linalg.tensorsolve(x, y), [s, b], rtol=1e-7, atol=1e-8)
    d = rng.standard_normal((6, 2, 3))
    assert_grads_match(
        lambda lib, x, y: lib.linalg.tensorsolve(x, y, dims=(0,)), [d, b], rtol=1e-7, atol=1e-8
    )


def test_out_forms():
    a = np.random.default_rng(7).standard_normal((3, 3))
    for name, args in [("lu_factor", 2), ("lu", 3)]:
        outs = tuple(ember.empty(0) for _ in range(args))
        if name == "lu_factor":
            outs = (ember.empty(0, dtype=ember.float64), ember.empty(0, dtype=ember.int32))
        else:
            outs = tuple(ember.empty(0, dtype=ember.float64) for _ in range(3))
        r = getattr(ember.linalg, name)(ember.tensor(a), out=outs)
        t = getattr(torch.linalg, name)(torch.tensor(a))
        assert all(x is y for x, y in zip(r, outs))
        for x, y in zip(r, t):
            close(x, y)
    out = ember.empty(0, dtype=ember.float64)
    LU, piv = ember.linalg.lu_factor(ember.tensor(a))
    ember.linalg.lu_solve(LU, piv, ember.tensor(a), out=out)
    close(out, torch.eye(3, dtype=torch.float64))


def _errors():
    sq = np.random.default_rng(8).standard_normal((3, 3)).astype(np.float32)
    return [
        lambda lib: lib.linalg.lu_factor(lib.randn(3)),
        lambda lib: lib.linalg.lu_factor(lib.ones(3, 3, dtype=lib.long)),
        lambda lib: lib.linalg.lu_factor(lib.zeros(3, 3)),
        lambda lib: lib.linalg.lu_factor(lib.zeros(2, 3, 3)),
        lambda lib: lib.linalg.lu_factor(lib.randn(3, 3), pivot=False),
        lambda lib: lib.linalg.lu_factor_ex(lib.zeros(3, 3), check_errors=True),
        lambda lib: lib.linalg.lu(lib.randn(3)),
        lambda lib: lib.linalg.lu(lib.randn(3, 3).half()),
        lambda lib: lib.linalg.lu_solve(*lu_pair(lib, sq), lib.randn(4, 2)),
        lambda lib: lib.linalg.lu_solve(*lu_pair(lib, sq), lib.randn(3)),
        lambda lib: lib.linalg.lu_solve(
            lu_pair(lib, sq).LU, lu_pair(lib, sq).pivots.long(), lib.randn(3, 2)
        ),
        lambda lib: lib.linalg.lu_solve(*lu_pair(lib, sq), lib.randn(3, 2).double()),
        lambda lib: lib.linalg.lu_solve(lib.randn(3, 4), lu_pair(lib, sq).pivots, lib.randn(3, 2)),
        lambda lib: lib.lu_unpack(lu_pair(lib, sq).LU, lu_pair(lib, sq).pivots.long()),
        lambda lib: lib.lu_unpack(lib.randn(3), lu_pair(lib, sq).pivots),
        lambda lib: lib.linalg.householder_product(lib.randn(3, 4), lib.randn(2)),
        lambda lib: lib.linalg.householder_product(lib.randn(4, 3), lib.randn(4)),
        lambda lib: lib.linalg.householder_product(lib.randn(4), lib.randn(4)),
        lambda lib: lib.linalg.householder_product(lib.randn(2, 4, 3), lib.randn(3, 3)),
        lambda lib: lib.linalg.householder_product(lib.randn(4, 3), lib.randn(3).double()),
        lambda lib: lib.linalg.householder_product(lib.randn(4, 3), lib.randn(3, 1)),
        lambda lib: lib.linalg.tensorinv(lib.randn(4, 6, 8, 3), ind=0),
        lambda lib: lib.linalg.tensorinv(lib.randn(4, 6, 8, 2), ind=2),
        lambda lib: lib.linalg.tensorsolve(lib.randn(2, 3, 6), lib.randn(2, 2)),
        lambda lib: lib.linalg.tensorsolve(lib.randn(2, 3, 5), lib.randn(2, 3)),
    ]


@pytest.mark.parametrize("case", range(len(_errors())))
def test_errors(case):
    fn = _errors()[case]
    e, t = capture(fn, ember), capture(fn, torch)
    assert t is not None and e is not None, (e, t)
    assert type(e) is type(t) and str(e) == str(t)


@settings(max_examples=20, deadline=None)
@given(
    batch=st.lists(st.integers(1, 3), max_size=2),
    m=st.integers(1, 5),
    n=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_lu_hypothesis(batch, m, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((*batch, m, n))
    e, t = ember.linalg.lu(ember.tensor(a)), torch.linalg.lu(torch.tensor(a))
    for x, y in zip(e, t):
        close(x, y)

    def fn(lib, x):
        return lib.linalg.lu_factor(x).LU

    assert_grads_match(fn, [a], second_order=False, rtol=1e-6, atol=1e-7)
    if m == n:
        b = rng.standard_normal((*batch, n, 2))

        def solve(lib, x, y):
            return lib.linalg.lu_solve(*lib.linalg.lu_factor(x), y)

        assert_grads_match(solve, [a + 4 * np.eye(n), b], second_order=False, rtol=1e-6, atol=1e-7)


def test_deprecated_lu_and_lu_solve():
    a = np.random.default_rng(9).standard_normal((2, 3, 3))
    b = np.random.default_rng(10).standard_normal((2, 3, 2))
    results = {}
    for lib in (ember, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            x = lib.tensor(a, requires_grad=True)
            LU, piv = lib.lu(x)
            info = lib.lu(x, get_infos=True)
            X = lib.lu_solve(lib.tensor(b), LU, piv)
            Y = lib.tensor(b).lu_solve(*x.lu())
        messages = sorted({str(w.message).split(" (Triggered")[0] for w in caught})
        fields = [f for f in ("LU", "pivots", "info") if hasattr(info, f)]
        results[lib] = (X, Y, type(info).__name__, fields, type(X.grad_fn).__name__, messages)
    e, t = results[ember], results[torch]
    close(e[0], t[0]), close(e[1], t[1])
    assert e[2:5] == t[2:5]
    assert set(e[5]) <= set(t[5])  # torch's warn once per process: ember's may have fired
