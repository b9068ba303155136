"""ember.linalg and the legacy torch.* linear-algebra names, against torch.

Inputs are built in numpy and given to both libraries. Decompositions are
unique only up to the signs of their vectors (and LAPACK builds may choose
differently), so values and gradients of U, V, Q are compared through
quantities that do not depend on those signs.
"""

import math
import warnings

import numpy as np
import pytest
from conftest import assert_grads_match, capture
from conftest import compare as compare_ops
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
ember = pytest.importorskip("ember")

DTYPES = ["float32", "float64"]
TOL = {"float32": dict(rtol=1e-4, atol=1e-4), "float64": dict(rtol=1e-9, atol=1e-9)}


def well_conditioned(rng, shape):
    """Random matrices plus n on the diagonal: far from singular."""
    n = shape[-1]
    return rng.standard_normal(shape) + n * np.eye(n)


def positive_definite(rng, shape):
    a = rng.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def symmetric(rng, shape):
    a = rng.standard_normal(shape)
    return a + np.swapaxes(a, -1, -2)


def orthogonal(rng, shape):
    q, _ = np.linalg.qr(rng.standard_normal(shape))
    return q


def separated_spectrum(rng, batch, m, n):
    """U diag(s) V^T with singular values at least 0.8 apart: their gradients are
    well conditioned (they divide by s_i^2 - s_j^2)."""
    k = min(m, n)
    s = np.arange(k, 0, -1) + 0.2 * rng.random((*batch, k))
    u, v = orthogonal(rng, (*batch, m, k)), orthogonal(rng, (*batch, n, k))
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


def separated_symmetric(rng, batch, n):
    """V diag(l) V^T with eigenvalues at least 0.8 apart, of both signs."""
    values = np.arange(n) - n / 2 + 0.2 * rng.random((*batch, n))
    v = orthogonal(rng, (*batch, n, n))
    return (v * values[..., None, :]) @ np.swapaxes(v, -1, -2)


def pair(arr, dtype="float64", requires_grad=False):
    arr = np.asarray(arr, dtype=dtype)
    return (
        ember.tensor(arr.copy(), requires_grad=requires_grad),
        torch.tensor(arr.copy(), requires_grad=requires_grad),
    )


def close(e, t, dtype="float64", **kw):
    tol = dict(TOL[dtype])
    tol.update(kw)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), **tol)


def node(t):
    return type(t.grad_fn).__name__ if t.grad_fn is not None else None


def grads_match(fn_e, fn_t, arrays, dtype="float64", **kw):
    """Runs fn on each library with leaves made from `arrays`, backpropagates the
    sum of its (scalar) result and compares the values and every leaf's grad."""
    leaves = [pair(a, dtype, requires_grad=True) for a in arrays]
    out_e = fn_e(*[e for e, _ in leaves])
    out_t = fn_t(*[t for _, t in leaves])
    close(out_e, out_t, dtype, **kw)
    out_e.sum().backward()
    out_t.sum().backward()
    for e, t in leaves:
        close(e.grad, t.grad, dtype, **kw)


def _loose_grads_match(fn_e, fn_t, arrays):
    """grads_match for decompositions, whose gradients divide by gaps between
    singular values or eigenvalues and so amplify rounding differences."""
    grads_match(fn_e, fn_t, arrays, rtol=1e-7, atol=1e-7)


def check_both(fn, *arrays):
    """gradcheck and gradgradcheck in ember (float64)."""
    inputs = [ember.tensor(np.asarray(a, dtype="float64"), requires_grad=True) for a in arrays]
    assert ember.autograd.gradcheck(fn, inputs)
    assert ember.autograd.gradgradcheck(fn, inputs)


def raises_like(fn_e, fn_t, exc_type=RuntimeError):
    with pytest.raises(exc_type) as te:
        fn_t()
    with pytest.raises(exc_type) as ee:
        fn_e()
    assert str(ee.value) == str(te.value)
    assert type(ee.value).__name__ == type(te.value).__name__
    return ee.value


shapes = st.tuples(
    st.lists(st.integers(1, 3), min_size=0, max_size=2),  # batch dims
    st.integers(1, 5),  # n
    st.integers(0, 2**31 - 1),  # seed
)

# ----- values ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [(), (3,), (2, 2)])
def test_inv_det_slogdet_values(dtype, batch):
    rng = np.random.default_rng(0)
    a_e, a_t = pair(well_conditioned(rng, batch + (4, 4)) * [1, -1, 1, 1], dtype)
    close(ember.linalg.inv(a_e), torch.linalg.inv(a_t), dtype)
    close(ember.linalg.det(a_e), torch.linalg.det(a_t), dtype)
    s_e, l_e = ember.linalg.slogdet(a_e)
    s_t, l_t = torch.linalg.slogdet(a_t)
    close(s_e, s_t, dtype)
    close(l_e, l_t, dtype)
    close(ember.inverse(a_e), torch.inverse(a_t), dtype)
    close(a_e.inverse(), a_t.inverse(), dtype)
    close(a_e.det(), a_t.det(), dtype)
    close(ember.logdet(a_e), torch.logdet(a_t), dtype)
    close(ember.slogdet(a_e).logabsdet, torch.slogdet(a_t).logabsdet, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_solve_values_with_broadcasting_vectors_and_left_false(dtype):
    rng = np.random.default_rng(1)
    a = well_conditioned(rng, (2, 3, 3))
    for b in (rng.standard_normal((3, 2)), rng.standard_normal((2, 3)), rng.standard_normal(3)):
        (a_e, a_t), (b_e, b_t) = pair(a, dtype), pair(b, dtype)
        close(ember.linalg.solve(a_e, b_e), torch.linalg.solve(a_t, b_t), dtype)
    (a_e, a_t), (b_e, b_t) = pair(a, dtype), pair(rng.standard_normal((4, 3)), dtype)
    close(ember.linalg.solve(a_e, b_e, left=False), torch.linalg.solve(a_t, b_t, left=False), dtype)
    res_e, info_e = ember.linalg.solve_ex(a_e, b_e.mT)
    res_t, info_t = torch.linalg.solve_ex(a_t, b_t.mT)
    close(res_e, res_t, dtype)
    assert info_e.tolist() == info_t.tolist()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_and_its_solves(dtype, upper):
    rng = np.random.default_rng(2)
    a_e, a_t = pair(positive_definite(rng, (2, 4, 4)), dtype)
    l_e, l_t = ember.linalg.cholesky(a_e, upper=upper), torch.linalg.cholesky(a_t, upper=upper)
    close(l_e, l_t, dtype)
    close(ember.linalg.cholesky_ex(a_e).L, torch.linalg.cholesky_ex(a_t).L, dtype)
    b_e, b_t = pair(rng.standard_normal((4, 3)), dtype)
    close(ember.cholesky_solve(b_e, l_e, upper), torch.cholesky_solve(b_t, l_t, upper), dtype)
    close(b_e.cholesky_solve(l_e, upper), b_t.cholesky_solve(l_t, upper), dtype)
    close(
        ember.linalg.solve_triangular(l_e, b_e, upper=upper),
        torch.linalg.solve_triangular(l_t, b_t, upper=upper),
        dtype,
    )
    close(
        ember.linalg.solve_triangular(l_e, b_e.mT, upper=upper, left=False, unitriangular=True),
        torch.linalg.solve_triangular(l_t, b_t.mT, upper=upper, left=False, unitriangular=True),
        dtype,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for transpose in (False, True):
            x_e, m_e = ember.triangular_solve(b_e, l_e, upper, transpose)
            x_t, m_t = torch.triangular_solve(b_t, l_t, upper, transpose)
            close(x_e, x_t, dtype)
            close(m_e, m_t, dtype)
        close(ember.cholesky(a_e, upper), torch.cholesky(a_t, upper), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4)])
def test_decomposition_values_up_to_signs(dtype, shape):
    rng = np.random.default_rng(3)
    a_e, a_t = pair(rng.standard_normal(shape), dtype)
    for mode in ("reduced", "complete", "r"):
        q_e, r_e = ember.linalg.qr(a_e, mode=mode)
        q_t, r_t = torch.linalg.qr(a_t, mode=mode)
        assert tuple(q_e.shape) == tuple(q_t.shape)
        close(r_e.abs(), r_t.abs(), dtype)
    for full in (False, True):
        u_e, s_e, vh_e = ember.linalg.svd(a_e, full_matrices=full)
        u_t, s_t, vh_t = torch.linalg.svd(a_t, full_matrices=full)
        close(s_e, s_t, dtype)
        k = min(shape[-2:])
        close((u_e[..., :k] * s_e.unsqueeze(-2)) @ vh_e[..., :k, :], a_t, dtype)
        assert tuple(u_e.shape) == tuple(u_t.shape) and tuple(vh_e.shape) == tuple(vh_t.shape)
    close(ember.linalg.svdvals(a_e), torch.linalg.svdvals(a_t), dtype)
    u_e, s_e, v_e = ember.svd(a_e)
    u_t, s_t, v_t = torch.svd(a_t)
    close((u_e * s_e.unsqueeze(-2)) @ v_e.mT, a_t, dtype)
    assert tuple(v_e.shape) == tuple(v_t.shape)
    zeros = ember.svd(a_e, compute_uv=False)
    zeros_t = torch.svd(a_t, compute_uv=False)
    for e, t in zip(zeros, zeros_t):
        close(e, t, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_reads_one_triangle(dtype, uplo):
    rng = np.random.default_rng(4)
    a_e, a_t = pair(rng.standard_normal((3, 4, 4)), dtype)  # not symmetric: the triangle matters
    w_e, v_e = ember.linalg.eigh(a_e, UPLO=uplo)
    w_t, v_t = torch.linalg.eigh(a_t, UPLO=uplo)
    close(w_e, w_t, dtype)
    close(v_e.abs(), v_t.abs(), dtype, atol=1e-3 if dtype == "float32" else 1e-8)
    close(ember.linalg.eigvalsh(a_e, uplo), torch.linalg.eigvalsh(a_t, uplo), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pinv_lstsq_matrix_power_cross(dtype):
    rng = np.random.default_rng(5)
    a_e, a_t = pair(rng.standard_normal((2, 5, 3)), dtype)
    close(ember.linalg.pinv(a_e), torch.linalg.pinv(a_t), dtype)
    close(ember.pinverse(a_e), torch.pinverse(a_t), dtype)
    close(ember.linalg.pinv(a_e, rtol=0.5), torch.linalg.pinv(a_t, rtol=0.5), dtype)
    s_e, s_t = pair(symmetric(rng, (4, 4)), dtype)
    close(ember.linalg.pinv(s_e, hermitian=True), torch.linalg.pinv(s_t, hermitian=True), dtype)
    b_e, b_t = pair(rng.standard_normal((2, 5, 2)), dtype)
    for driver in (None, "gels", "gelsy", "gelsd", "gelss"):
        r_e = ember.linalg.lstsq(a_e, b_e, driver=driver)
        r_t = torch.linalg.lstsq(a_t, b_t, driver=driver)
        for e, t in zip(r_e, r_t):
            assert e.dtype.__repr__().split(".")[-1] == str(t.dtype).split(".")[-1]
            close(e, t, dtype)
    m_e, m_t = pair(well_conditioned(rng, (3, 3)) / 3, dtype)
    for n in (-3, -1, 0, 1, 2, 5):
        close(ember.linalg.matrix_power(m_e, n), torch.linalg.matrix_power(m_t, n), dtype)
        close(m_e.matrix_power(n), m_t.matrix_power(n), dtype)
    x_e, x_t = pair(rng.standard_normal((4, 3)), dtype)
    y_e, y_t = pair(rng.standard_normal((1, 3)), dtype)
    close(ember.linalg.cross(x_e, y_e), torch.linalg.cross(x_t, y_t), dtype)
    close(
        ember.cross(x_e.mT, y_e.expand(4, 3).mT, dim=0),
        torch.cross(x_t.mT, y_t.expand(4, 3).mT, dim=0),
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norms(dtype, ord, keepdim):  # noqa: A002
    rng = np.random.default_rng(6)
    arr = rng.standard_normal((2, 3, 4))
    for dim in ((-2, -1), (0, 2), (2, 0)):
        a_e, a_t = pair(arr, dtype, requires_grad=True)
        r_e = ember.linalg.matrix_norm(a_e, ord, dim, keepdim)
        r_t = torch.linalg.matrix_norm(a_t, ord, dim, keepdim)
        close(r_e, r_t, dtype)
        assert node(r_e) == node(r_t)
        r_e.sum().backward()
        r_t.sum().backward()
        close(a_e.grad, a_t.grad, dtype)
    a_e, a_t = pair(arr[0], dtype)
    close(ember.linalg.norm(a_e, ord), torch.linalg.norm(a_t, ord), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_vector_norm_and_norm_forms(dtype):
    rng = np.random.default_rng(7)
    a_e, a_t = pair(rng.standard_normal((3, 4, 2)), dtype)
    for ord in (2, 1, 0, 3.5, math.inf, -math.inf):
        for dim in (None, 1, (0, 2)):
            close(
                ember.linalg.vector_norm(a_e, ord, dim),
                torch.linalg.vector_norm(a_t, ord, dim),
                dtype,
            )
    close(ember.linalg.norm(a_e), torch.linalg.norm(a_t), dtype)
    close(ember.linalg.norm(a_e, dim=(0, 1)), torch.linalg.norm(a_t, dim=(0, 1)), dtype)
    close(ember.linalg.norm(a_e, 2, dim=(0, 1)), torch.linalg.norm(a_t, 2, dim=(0, 1)), dtype)
    close(ember.linalg.norm(a_e, 3, dim=1), torch.linalg.norm(a_t, 3, dim=1), dtype)
    close(ember.norm(a_e[0], p="nuc"), torch.norm(a_t[0], p="nuc"), dtype)
    close(a_e[0].norm(p="nuc"), a_t[0].norm(p="nuc"), dtype)
    close(ember.norm(a_e, p=2, dim=(0, 1)), torch.norm(a_t, p=2, dim=(0, 1)), dtype)


def test_tensor_methods_match_torch():
    rng = np.random.default_rng(16)
    p = positive_definite(rng, (3, 3))
    methods = [
        lambda x: x.inverse(),
        lambda x: x.det(),
        lambda x: x.logdet(),
        lambda x: x.slogdet().logabsdet,
        lambda x: x.cholesky(),
        lambda x: x.qr().R.abs(),
        lambda x: x.svd().S,
        lambda x: x.pinverse(),
        lambda x: x.matrix_power(2),
        lambda x: x.cross(x * 2, dim=0),
        lambda x: x.triangular_solve(x.triu()).solution,
        lambda x: x.cholesky_solve(x.tril()),
        lambda x: x.norm(p="nuc"),
    ]
    for method in methods:
        p_e, p_t = pair(p)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            close(method(p_e), method(p_t))


def test_nan_input_matches_torch():
    nan = np.full((2, 2), math.nan)
    for fn in (lambda L, x: L.linalg.inv(x), lambda L, x: L.linalg.eigh(x).eigenvalues):
        e, t = pair(nan)
        close(fn(ember, e), fn(torch, t))
    e, t = pair(nan)
    raises_like(lambda: ember.linalg.cholesky(e), lambda: torch.linalg.cholesky(t))


# ----- gradients against torch ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "a_shape, b_shape, left",
    [
        ((2, 1, 4, 4), (3, 4, 2), True),  # A's batch broadcast against B's
        ((4, 4), (2, 3, 4, 5), True),
        ((3, 4, 4), (3, 4), True),  # a batch of vectors
        ((3, 4, 4), (3, 2, 4), False),
        ((4, 4), (2, 5, 4), False),
        ((0, 4, 4), (0, 4, 2), True),
    ],
)
def test_solve_gradients_with_broadcast_batches_and_left_false(dtype, a_shape, b_shape, left):
    """The backward solves with A^T from the forward's LU factors; with
    create_graph it solves again, differentiably."""
    rng = np.random.default_rng(4)
    a, b = well_conditioned(rng, a_shape), rng.standard_normal(b_shape)
    w = rng.standard_normal(
        tuple(torch.linalg.solve(torch.tensor(a), torch.tensor(b), left=left).shape)
    )
    grads_match(
        lambda x, y: ember.linalg.solve(x, y, left=left) * ember.tensor(w, dtype=x.dtype),
        lambda x, y: torch.linalg.solve(x, y, left=left) * torch.tensor(w, dtype=x.dtype),
        [a, b],
        dtype,
    )
    (a_e, a_t), (b_e, b_t) = pair(a, dtype, True), pair(b, dtype, True)
    for lib, x, y in ((ember, a_e, b_e), (torch, a_t, b_t)):
        out = (lib.linalg.solve(x, y, left=left) * lib.tensor(w, dtype=x.dtype)).sum()
        ga, _ = lib.autograd.grad(out, (x, y), create_graph=True)
        (ga**2).sum().backward()
    close(a_e.grad, a_t.grad, dtype)
    close(b_e.grad, b_t.grad, dtype)


@settings(max_examples=15, deadline=None)
@given(shapes)
def test_square_op_gradients_match_torch(shape):
    batch, n, seed = shape
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, (*batch, n, n))
    w = rng.standard_normal((*batch, n, n))
    grads_match(
        lambda x: ember.linalg.inv(x) * ember.tensor(w),
        lambda x: torch.linalg.inv(x) * torch.tensor(w),
        [a],
    )
    grads_match(ember.linalg.det, torch.linalg.det, [a])
    grads_match(lambda x: ember.linalg.slogdet(x)[1], lambda x: torch.linalg.slogdet(x)[1], [a])
    b = rng.standard_normal((*batch, n, 2))
    grads_match(ember.linalg.solve, torch.linalg.solve, [a, b])
    grads_match(
        lambda x, y: ember.linalg.solve(x, y[..., 0]),
        lambda x, y: torch.linalg.solve(x, y[..., 0]),
        [a, b],
    )
    p = positive_definite(rng, (*batch, n, n))
    grads_match(
        lambda x: ember.linalg.cholesky(x) * ember.tensor(w),
        lambda x: torch.linalg.cholesky(x) * torch.tensor(w),
        [p],
    )
    grads_match(
        lambda x, y: ember.linalg.solve_triangular(x, y, upper=True),
        lambda x, y: torch.linalg.solve_triangular(x, y, upper=True),
        [a, b],
    )
    grads_match(
        lambda x: ember.linalg.matrix_power(x / n, 3),
        lambda x: torch.linalg.matrix_power(x / n, 3),
        [a],
    )


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.integers(1, 2), max_size=1),
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(0, 2**31 - 1),
)
def test_decomposition_gradients_match_torch(batch, m, n, seed):
    rng = np.random.default_rng(seed)
    grads_match = _loose_grads_match
    a = separated_spectrum(rng, batch, m, n)
    w1, w2 = rng.standard_normal((*batch, m, m)), rng.standard_normal((*batch, n, n))

    def svd_loss(lib, w_u, w_v):
        def f(x):
            u, s, vh = lib.linalg.svd(x, full_matrices=False)
            k = s.shape[-1]
            return (
                (u**2 * w_u[..., :k]).sum((-1, -2))
                + (vh**2 * w_v[..., :k, :]).sum((-1, -2))
                + s.sum(-1)
            )

        return f

    grads_match(
        svd_loss(ember, ember.tensor(w1), ember.tensor(w2)),
        svd_loss(torch, torch.tensor(w1), torch.tensor(w2)),
        [a],
    )
    grads_match(ember.linalg.svdvals, torch.linalg.svdvals, [a])
    grads_match(ember.linalg.pinv, torch.linalg.pinv, [a])

    def qr_loss(lib, w_q, w_r):
        def f(x):
            q, r = lib.linalg.qr(x)
            return (q**2 * w_q[..., : q.shape[-1]]).sum() + (
                r**2 * w_r[..., : r.shape[-2], :]
            ).sum()

        return f

    grads_match(
        qr_loss(ember, ember.tensor(w1), ember.tensor(w2)),
        qr_loss(torch, torch.tensor(w1), torch.tensor(w2)),
        [a],
    )
    s = separated_symmetric(rng, batch, n)

    def eigh_loss(lib, w):
        def f(x):
            values, vectors = lib.linalg.eigh(x)
            return (vectors**2 * w).sum() + (values * values).sum()

        return f

    grads_match(eigh_loss(ember, ember.tensor(w2)), eigh_loss(torch, torch.tensor(w2)), [s])
    grads_match(ember.linalg.eigvalsh, torch.linalg.eigvalsh, [s])
    if m >= n:
        b = rng.standard_normal((*batch, m, 2))
        grads_match(
            lambda x, y: ember.linalg.lstsq(x, y).solution,
            lambda x, y: torch.linalg.lstsq(x, y).solution,
            [a + np.eye(m, n) * 3, b],
        )


def test_legacy_and_cross_gradients_match_torch():
    rng = np.random.default_rng(8)
    p = positive_definite(rng, (2, 3, 3))
    b = rng.standard_normal((2, 3, 2))
    lower = np.tril(well_conditioned(rng, (3, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grads_match(lambda x: ember.cholesky(x, True), lambda x: torch.cholesky(x, True), [p])
        for transpose in (False, True):
            grads_match(
                lambda x, y: sum(v.sum() for v in ember.triangular_solve(x, y, False, transpose)),
                lambda x, y: sum(v.sum() for v in torch.triangular_solve(x, y, False, transpose)),
                [b, lower],
            )
    chol = np.linalg.cholesky(p)
    grads_match(ember.cholesky_solve, torch.cholesky_solve, [b, chol])
    grads_match(lambda x: ember.logdet(x), lambda x: torch.logdet(x), [p])
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((1, 3))
    grads_match(
        lambda u, v: ember.linalg.cross(u, v) ** 2,
        lambda u, v: torch.linalg.cross(u, v) ** 2,
        [x, y],
    )


def _cofactors(a):
    """d det(A) / dA, the cofactor matrix: exact for any A, singular or not."""
    n = a.shape[-1]
    c = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, axis=-2), j, axis=-1)
            c[..., i, j] = (-1) ** (i + j) * np.linalg.det(minor)
    return c


def test_det_gradient_of_singular_matrices_is_the_cofactor_matrix():
    # The analytic gradient is the oracle here: torch's own singular-branch
    # gradient depends on its LAPACK build and CPU (all zeros for this rank-two
    # matrix on some CPUs).
    rank_two = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]])
    batch = np.stack([rank_two, np.eye(3) * 2, np.zeros((3, 3))])
    a = ember.tensor(batch, requires_grad=True)
    ember.linalg.det(a).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), _cofactors(batch), rtol=1e-12, atol=1e-12)
    # Second order through the singular branch: the cofactors are quadratic in A,
    # so central differences of their sum are exact up to rounding.
    a = ember.tensor(rank_two, requires_grad=True)
    (g,) = ember.autograd.grad(ember.linalg.det(a), a, create_graph=True)
    (h,) = ember.autograd.grad(g.sum(), a)
    step = 1e-3
    expected = np.empty_like(rank_two)
    for index in np.ndindex(rank_two.shape):
        e = np.zeros_like(rank_two)
        e[index] = step
        expected[index] = (_cofactors(rank_two + e).sum() - _cofactors(rank_two - e).sum()) / (
            2 * step
        )
    np.testing.assert_allclose(h.numpy(), expected, rtol=1e-7, atol=1e-9)


def test_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(9)
    a = well_conditioned(rng, (2, 3, 3))
    b = rng.standard_normal((2, 3, 2))
    p = positive_definite(rng, (3, 3))
    r = rng.standard_normal((4, 3))
    check_both(ember.linalg.inv, a)
    check_both(ember.linalg.det, a)
    check_both(lambda x: ember.linalg.slogdet(x).logabsdet, a)
    check_both(ember.linalg.solve, a, b)
    check_both(lambda x, y: ember.linalg.solve(x, y, left=False), a, b.swapaxes(-1, -2))
    # Symmetric inputs: the functions read one triangle of A only.
    check_both(lambda x: ember.linalg.cholesky(x + x.mT), p / 2)
    check_both(lambda x, y: ember.linalg.solve_triangular(x, y, upper=False), np.tril(a), b)
    check_both(lambda x, y: ember.cholesky_solve(x, y.tril()), b[0], np.linalg.cholesky(p))
    check_both(lambda x: ember.linalg.qr(x).Q ** 2, r)
    check_both(lambda x: ember.linalg.qr(x).R, r.T)
    check_both(lambda x: ember.linalg.svd(x, full_matrices=False).U ** 2, r)
    check_both(lambda x: ember.linalg.svd(x, full_matrices=False).Vh ** 2, r.T)
    check_both(ember.linalg.svdvals, r)
    check_both(lambda x: ember.linalg.eigh(x + x.mT).eigenvectors ** 2, p)
    check_both(lambda x: ember.linalg.eigvalsh(x + x.mT), p)
    check_both(ember.linalg.pinv, r)
    check_both(lambda x, y: ember.linalg.lstsq(x, y).solution, r, rng.standard_normal((4, 2)))
    check_both(lambda x, y: ember.linalg.cross(x, y), r[:, :3], r[::-1, :3].copy())
    check_both(lambda x: ember.linalg.matrix_norm(x, "nuc"), r)


SECOND_ORDER = {
    "inv": (lambda L, x: L.linalg.inv(x), "square"),
    "det": (lambda L, x: L.linalg.det(x), "square"),
    "slogdet": (lambda L, x: L.linalg.slogdet(x).logabsdet, "square"),
    "solve": (lambda L, x: L.linalg.solve(x, x[..., :1] * 2 + 1), "square"),
    "cholesky": (lambda L, x: L.linalg.cholesky(x @ x.mT + L.eye(3, dtype=x.dtype)), "square"),
    "solve_triangular": (lambda L, x: L.linalg.solve_triangular(x.triu(), x, upper=True), "square"),
    "svdvals": (lambda L, x: L.linalg.svdvals(x), "tall"),
    "eigvalsh": (lambda L, x: L.linalg.eigvalsh(x + x.mT), "square"),
    "pinv": (lambda L, x: L.linalg.pinv(x), "tall"),
    "qr_r": (lambda L, x: L.linalg.qr(x).R.abs(), "tall"),
    "lstsq": (lambda L, x: L.linalg.lstsq(x, x[..., :1] + 1).solution, "tall"),
    "cross": (lambda L, x: L.linalg.cross(x, x.flip(-1) * x), "square"),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_derivatives_match_torch(name):
    fn, kind = SECOND_ORDER[name]
    rng = np.random.default_rng(15)
    a = well_conditioned(rng, (2, 3, 3)) if kind == "square" else rng.standard_normal((2, 4, 3))
    w = rng.standard_normal(a.shape)
    results = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        out = fn(lib, x)
        weights = lib.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)))
        (g,) = lib.autograd.grad((out * weights).sum(), x, create_graph=True)
        (h,) = lib.autograd.grad((g * lib.tensor(w)).sum(), x)
        results.append((g, h))
    close(results[0][0], results[1][0])
    close(results[0][1], results[1][1], rtol=1e-7, atol=1e-7)


# ----- graph nodes --------------------------------------------------------------------------


def test_node_names_match_torch():
    rng = np.random.default_rng(10)
    a = well_conditioned(rng, (3, 3))
    p = positive_definite(rng, (3, 3))
    r = rng.standard_normal((4, 3))
    b = rng.standard_normal((3, 2))
    cases = [
        (lambda L, x, y, z, w: L.linalg.inv(x), a),
        (lambda L, x, y, z, w: L.linalg.inv_ex(x).inverse, a),
        (lambda L, x, y, z, w: L.linalg.det(x), a),
        (lambda L, x, y, z, w: L.linalg.slogdet(x).logabsdet, a),
        (lambda L, x, y, z, w: L.linalg.slogdet(x).sign, a),
        (lambda L, x, y, z, w: L.linalg.solve(x, w), a),
        (lambda L, x, y, z, w: L.linalg.cholesky(y), a),
        (lambda L, x, y, z, w: L.linalg.cholesky_ex(y).L, a),
        (lambda L, x, y, z, w: L.linalg.qr(z).Q, a),
        (lambda L, x, y, z, w: L.linalg.qr(z).R, a),
        (lambda L, x, y, z, w: L.linalg.svd(z).U, a),
        (lambda L, x, y, z, w: L.linalg.svd(z).S, a),
        (lambda L, x, y, z, w: L.linalg.svdvals(z), a),
        (lambda L, x, y, z, w: L.linalg.eigh(y).eigenvectors, a),
        (lambda L, x, y, z, w: L.linalg.eigvalsh(y), a),
        (lambda L, x, y, z, w: L.linalg.lstsq(z, z).solution, a),
        (lambda L, x, y, z, w: L.linalg.pinv(z), a),
        (lambda L, x, y, z, w: L.pinverse(z), a),
        (lambda L, x, y, z, w: L.linalg.cross(x, x * 2), a),
        (lambda L, x, y, z, w: L.linalg.matrix_power(x, 3), a),
        (lambda L, x, y, z, w: L.linalg.matrix_power(x, 0), a),
        (lambda L, x, y, z, w: L.linalg.solve_triangular(x, w, upper=True), a),
        (lambda L, x, y, z, w: L.cholesky_solve(w, y), a),
        (lambda L, x, y, z, w: L.logdet(y), a),
        (lambda L, x, y, z, w: L.svd(z).V, a),
        (lambda L, x, y, z, w: L.linalg.matrix_norm(x, "nuc"), a),
        (lambda L, x, y, z, w: L.linalg.matrix_norm(x, 2), a),
        (lambda L, x, y, z, w: L.linalg.matrix_norm(x, 1), a),
        (lambda L, x, y, z, w: L.linalg.norm(x), a),
    ]
    for fn, _ in cases:
        outs = []
        for lib in (ember, torch):
            x, y, z, w = (lib.tensor(v, requires_grad=True) for v in (a, p, r, b))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outs.append(node(fn(lib, x, y, z, w)))
        assert outs[0] == outs[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lib_outs in [
            [
                node(t)
                for t in lib.triangular_solve(
                    lib.tensor(b, requires_grad=True), lib.tensor(np.triu(a))
                )
            ]
            for lib in (ember, torch)
        ]:
            assert lib_outs == ["TriangularSolveBackward0", "TriangularSolveBackward0"]
        assert node(ember.cholesky(ember.tensor(p, requires_grad=True))) == "CholeskyBackward0"
    e_inv, e_info = ember.linalg.inv_ex(ember.tensor(a, requires_grad=True))
    assert e_info.grad_fn is None and e_info.dtype == ember.int32  # as torch


# ----- errors and warnings ------------------------------------------------------------------


SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])
INDEFINITE = np.array([[1.0, 2.0], [2.0, 1.0]])


def test_singular_and_indefinite_inputs_raise_like_torch():
    s_e, s_t = pair(SINGULAR)
    err = raises_like(lambda: ember.linalg.inv(s_e), lambda: torch.linalg.inv(s_t))
    assert isinstance(err, ember.linalg.LinAlgError) and isinstance(err, RuntimeError)
    raises_like(lambda: ember.inverse(s_e), lambda: torch.inverse(s_t))
    raises_like(
        lambda: ember.linalg.matrix_power(s_e, -1), lambda: torch.linalg.matrix_power(s_t, -1)
    )
    sb_e, sb_t = pair(np.stack([np.eye(2), SINGULAR]))
    raises_like(lambda: ember.linalg.inv(sb_e), lambda: torch.linalg.inv(sb_t))
    raises_like(lambda: ember.linalg.solve(s_e, s_e[0]), lambda: torch.linalg.solve(s_t, s_t[0]))
    i_e, i_t = pair(INDEFINITE)
    raises_like(lambda: ember.linalg.cholesky(i_e), lambda: torch.linalg.cholesky(i_t))
    ib_e, ib_t = pair(np.stack([np.eye(2), INDEFINITE]))
    raises_like(lambda: ember.linalg.cholesky(ib_e), lambda: torch.linalg.cholesky(ib_t))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raises_like(lambda: ember.cholesky(i_e), lambda: torch.cholesky(i_t))
    info_e = ember.linalg.cholesky_ex(ib_e).info
    info_t = torch.linalg.cholesky_ex(ib_t).info
    assert info_e.tolist() == info_t.tolist()
    assert ember.linalg.inv_ex(s_e).info.item() == torch.linalg.inv_ex(s_t).info.item()
    n_e, n_t = pair(np.full((2, 2), math.nan))
    raises_like(lambda: ember.linalg.svd(n_e), lambda: torch.linalg.svd(n_t))
    assert ember.linalg.det(s_e).item() == 0.0


def test_shape_and_dtype_errors_match_torch():
    rect_e, rect_t = pair(np.ones((2, 3)))
    vec_e, vec_t = pair(np.ones(3))
    int_e, int_t = ember.ones(2, 2, dtype=ember.int64), torch.ones(2, 2, dtype=torch.int64)
    for name in ("inv", "det", "slogdet", "cholesky", "eigh", "matrix_power"):
        args = (2,) if name == "matrix_power" else ()
        raises_like(
            lambda: getattr(ember.linalg, name)(rect_e, *args),
            lambda: getattr(torch.linalg, name)(rect_t, *args),
        )
    for name in ("inv", "det", "slogdet", "cholesky", "qr", "svd", "eigh"):
        raises_like(
            lambda: getattr(ember.linalg, name)(vec_e), lambda: getattr(torch.linalg, name)(vec_t)
        )
    for name in ("inv", "det", "cholesky", "qr", "svd"):
        raises_like(
            lambda: getattr(ember.linalg, name)(int_e), lambda: getattr(torch.linalg, name)(int_t)
        )
    eye_e, eye_t = pair(np.eye(2))
    raises_like(lambda: ember.linalg.solve(eye_e, vec_e), lambda: torch.linalg.solve(eye_t, vec_t))
    raises_like(
        lambda: ember.linalg.solve(eye_e, ember.ones(2, dtype=ember.float32)),
        lambda: torch.linalg.solve(eye_t, torch.ones(2, dtype=torch.float32)),
    )
    raises_like(
        lambda: ember.linalg.qr(rect_e, mode="foo"), lambda: torch.linalg.qr(rect_t, mode="foo")
    )
    raises_like(
        lambda: ember.linalg.eigh(eye_e, UPLO="X"), lambda: torch.linalg.eigh(eye_t, UPLO="X")
    )
    four_e, four_t = pair(np.ones((2, 4)))
    raises_like(
        lambda: ember.linalg.cross(four_e, four_e), lambda: torch.linalg.cross(four_t, four_t)
    )
    raises_like(
        lambda: ember.linalg.matrix_norm(eye_e, 3), lambda: torch.linalg.matrix_norm(eye_t, 3)
    )
    cube_e, cube_t = pair(np.ones((2, 2, 2)))
    raises_like(lambda: ember.linalg.norm(cube_e, "fro"), lambda: torch.linalg.norm(cube_t, "fro"))
    raises_like(
        lambda: ember.linalg.lstsq(rect_e, rect_e, driver="foo"),
        lambda: torch.linalg.lstsq(rect_t, rect_t, driver="foo"),
    )
    raises_like(
        lambda: ember.linalg.solve_triangular(eye_e, vec_e, upper=True),
        lambda: torch.linalg.solve_triangular(eye_t, vec_t, upper=True),
    )


def test_more_argument_errors_match_torch():
    cases = [
        lambda L: L.linalg.inv_ex(L.zeros(2, 2), check_errors=True),
        lambda L: L.linalg.solve_ex(L.zeros(2, 2), L.ones(2), check_errors=True),
        lambda L: L.linalg.cholesky_ex(L.tensor([[1.0, 2.0], [2.0, 1.0]]), check_errors=True),
        lambda L: L.linalg.solve(L.eye(3), L.ones(3), left=False),
        lambda L: L.cholesky_solve(L.ones(2, 1), L.eye(3)),
        lambda L: L.cholesky_solve(L.ones(2), L.eye(2)),
        lambda L: L.cholesky_solve(L.ones(2, 2), L.eye(2, dtype=L.float64)),
        lambda L: L.cholesky_solve(L.ones(2, 2), L.ones(2, 3)),
        lambda L: L.triangular_solve(L.ones(3, 1), L.eye(2)),
        lambda L: L.triangular_solve(L.ones(3), L.eye(3)),
        lambda L: L.linalg.lstsq(L.ones(2), L.ones(2)),
        lambda L: L.linalg.lstsq(L.eye(3), L.ones(2, 1)),
        lambda L: L.linalg.lstsq(L.ones(2, 2), L.ones(2, 2, dtype=L.float64)),
        lambda L: L.linalg.lstsq(L.ones(2, 2, dtype=L.int64), L.ones(2, 2, dtype=L.int64)),
        lambda L: L.linalg.pinv(L.ones(3)),
        lambda L: L.linalg.pinv(L.ones(3, 3, dtype=L.int64)),
        lambda L: L.linalg.svdvals(L.ones(3)),
        lambda L: L.linalg.eigvalsh(L.ones(3, 2)),
        lambda L: L.linalg.cross(L.ones(3), L.ones(2, 3)),
        lambda L: L.linalg.cross(L.ones(2, 3), L.ones(4, 3)),
        lambda L: L.linalg.matrix_norm(L.ones(2, 2, dtype=L.int64)),
        lambda L: L.linalg.matrix_norm(L.ones(3, 2), dim=(0,)),
        lambda L: L.linalg.matrix_norm(L.ones(3, 2), dim=(0, 0)),
        lambda L: L.linalg.norm(L.ones(2), "fro"),
        lambda L: L.linalg.norm(L.ones(3, 2, 2), 2, dim=(0, 1, 2)),
        lambda L: L.linalg.matrix_power(L.ones(3), 2),
        lambda L: L.linalg.matrix_power(L.ones(2, 2, dtype=L.int64), -1),
        lambda L: L.linalg.svd(L.ones(2, 2), driver="gesvd"),
    ]
    for fn in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raises_like(lambda: fn(ember), lambda: fn(torch), Exception)


def test_lstsq_result_shapes_match_torch():
    a = np.array([[1.0, 2.0], [3.0, 4.0], [4.0, 5.0]])
    for b in (np.array([1.0, 2.0, 3.0]), np.array([[1.0], [2.0], [3.0]])):
        for driver in ("gels", "gelsy", "gelsd", "gelss"):
            (a_e, a_t), (b_e, b_t) = pair(a), pair(b)
            r_e = ember.linalg.lstsq(a_e, b_e, driver=driver)
            r_t = torch.linalg.lstsq(a_t, b_t, driver=driver)
            for e, t in zip(r_e, r_t):
                close(e, t)


def test_ill_defined_qr_gradients_raise_like_torch():
    r_e, r_t = pair(np.random.default_rng(11).standard_normal((3, 2)), requires_grad=True)
    raises_like(
        lambda: ember.linalg.qr(r_e, mode="complete").Q.sum().backward(),
        lambda: torch.linalg.qr(r_t, mode="complete").Q.sum().backward(),
    )
    raises_like(
        lambda: ember.linalg.qr(r_e, mode="r").R.sum().backward(),
        lambda: torch.linalg.qr(r_t, mode="r").R.sum().backward(),
    )


_WARNING_SCRIPT = """
import json, sys, warnings
import numpy as np
lib = __import__(sys.argv[1])
x = lib.tensor(np.eye(3) * 2)
cases = [
    lambda: lib.cholesky(x),
    lambda: lib.qr(x),
    lambda: lib.triangular_solve(x, x),
    lambda: lib.cross(x[:2], x[:2]),
    lambda: lib.cross(x, x, dim=1),
]
seen = []
for fn in cases:
    for _ in range(2):  # torch warns once per process
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn()
        seen.append([str(w.message).split(" (Triggered internally")[0] for w in caught])
print(json.dumps(seen))
"""


def test_legacy_names_warn_once_like_torch():
    import json
    import subprocess
    import sys

    def run(name):
        out = subprocess.run(
            [sys.executable, "-c", _WARNING_SCRIPT, name],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout)

    ours, theirs = run("ember"), run("torch")
    assert ours == theirs
    assert sum(len(w) for w in theirs) == 4


def test_forward_mode_tangents_are_refused():
    import ember.autograd.forward_ad as fwAD

    a = ember.tensor(well_conditioned(np.random.default_rng(13), (3, 3)))
    with fwAD.dual_level():
        dual = fwAD.make_dual(a, ember.ones(3, 3, dtype=ember.float64))
        with pytest.raises(NotImplementedError, match="linalg_inv_ex"):
            ember.linalg.inv(dual)
        with pytest.raises(NotImplementedError, match="linalg_svd"):
            ember.linalg.svd(dual)


def test_second_backward_without_retain_graph_raises():
    a_e = ember.tensor(well_conditioned(np.random.default_rng(14), (3, 3)), requires_grad=True)
    out = ember.linalg.inv(a_e).sum()
    out.backward()
    with pytest.raises(RuntimeError, match="second time"):
        out.backward()


# ---- addmv / addbmm ----


@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, -2.0), (0, 1.5)])
def test_addmv_values_and_grads_like_torch(beta, alpha):
    rng = np.random.default_rng(8)
    m, v = rng.standard_normal((3, 4)), rng.standard_normal(4)
    for inp in (rng.standard_normal(3), rng.standard_normal(1), np.array(0.5)):
        assert_grads_match(lambda L, i, a, b: L.addmv(i, a, b, beta=beta, alpha=alpha), [inp, m, v])
    assert_grads_match(
        lambda L, i, a, b: i.addmv(a.t(), b, alpha=alpha), [m[:, 0].copy(), m.T.copy(), m[0].copy()]
    )


def test_addmv_beta_zero_ignores_nan_node_and_errors_like_torch():
    compare_ops(lambda L: L.addmv(L.tensor([float("nan")] * 3), L.ones(3, 2), L.ones(2), beta=0))
    for lib in (ember, torch):
        x = lib.randn(3, requires_grad=True)
        assert (
            type(lib.addmv(x, lib.randn(3, 2), lib.randn(2)).grad_fn).__name__ == "AddmvBackward0"
        )
        y = x * 1
        y.addmv_(lib.randn(3, 2), lib.randn(2, requires_grad=True))
        assert type(y.grad_fn).__name__ == "AddmvBackward0"
    for fn in (
        lambda L: L.addmv(L.randn(3), L.randn(3, 4), L.randn(5)),
        lambda L: L.addmv(L.randn(2), L.randn(3, 4), L.randn(4)),
        lambda L: L.addmv(L.randn(3), L.randn(3, 4), L.randn(4, 1)),
        lambda L: L.addmv(L.ones(2, dtype=L.float64), L.ones(2, 3), L.ones(3)),
        lambda L: L.addmv(L.ones(2), L.ones(2, 3), L.ones(3, dtype=L.float64)),
        lambda L: L.addmv(L.ones(2, dtype=L.int64), L.ones(2, 3), L.ones(3)),
    ):
        compare_ops(fn)
        assert str(capture(fn, ember)) == str(capture(fn, torch))


@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, -2.0), (0, 1.5)])
def test_addbmm_values_and_grads_like_torch(beta, alpha):
    rng = np.random.default_rng(9)
    b1, b2 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    for inp in (rng.standard_normal((3, 5)), rng.standard_normal(5), np.array(1.5)):
        assert_grads_match(
            lambda L, i, a, b: L.addbmm(i, a, b, beta=beta, alpha=alpha), [inp, b1, b2]
        )
    assert_grads_match(lambda L, i, a, b: i.addbmm(a, b), [rng.standard_normal((3, 5)), b1, b2])


def test_addbmm_node_and_errors_like_torch():
    for lib in (ember, torch):
        x = lib.randn(3, 5, requires_grad=True)
        out = lib.addbmm(x, lib.randn(2, 3, 4), lib.randn(2, 4, 5))
        assert type(out.grad_fn).__name__ == "AddbmmBackward0"
    for fn in (
        lambda L: L.addbmm(L.randn(3, 5), L.randn(2, 3, 4), L.randn(2, 5, 5)),
        lambda L: L.addbmm(L.randn(3, 5), L.randn(3, 4), L.randn(2, 4, 5)),
        lambda L: L.addbmm(L.randn(3, 5), L.randn(2, 3, 4), L.randn(3, 4, 5)),
        lambda L: L.addbmm(L.randn(2, 5), L.randn(2, 3, 4), L.randn(2, 4, 5)),
        lambda L: L.addbmm(L.ones(2, 2), L.ones(1, 2, 3, dtype=L.float64), L.ones(1, 3, 2)),
        lambda L: L.addbmm(L.ones(2, 2), L.ones(1, 2, 3), L.ones(1, 3, 2, dtype=L.float64)),
        lambda L: L.addbmm(L.ones(2, 2, dtype=L.float64), L.ones(1, 2, 3), L.ones(1, 3, 2)),
    ):
        compare_ops(fn)
        assert str(capture(fn, ember)) == str(capture(fn, torch))
