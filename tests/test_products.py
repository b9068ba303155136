"""tensordot, kron, multi_dot/chain_matmul, block_diag, diag_embed/diagflat,
vander, cartesian_prod, combinations and linalg's matrix_rank/cond/matrix_exp,
against torch."""

import warnings

import ember
import numpy as np
import pytest
import torch
from conftest import assert_grads_match, compare, same_error
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

RNG = np.random.default_rng(11)


def arr(*shape):
    return RNG.uniform(-2, 2, size=shape)


def node_names(fn, *arrays):
    names = []
    for lib in (ember, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(lib, *[lib.tensor(a, requires_grad=True) for a in arrays])
        names.append(out.grad_fn.name())
    return names


# ----------------------------------------------------------------- tensordot, kron


@pytest.mark.parametrize(
    "shapes, dims",
    [
        (((3, 4, 5), (4, 5, 2)), 2),
        (((3, 4), (4, 2)), 1),
        (((3, 4), (2, 5)), 0),
        (((3, 4, 5), (5, 3, 2)), ([0, 2], [1, 0])),
        (((3, 4), (4, 3)), ([1], [0])),
    ],
)
def test_tensordot_values_gradients_and_node(shapes, dims):
    a, b = arr(*shapes[0]), arr(*shapes[1])
    assert_grads_match(lambda lib, x, y: lib.tensordot(x, y, dims), [a, b])
    e, t = node_names(lambda lib, x, y: lib.tensordot(x, y, dims), a, b)
    assert e == t


def test_tensordot_dims_as_tensor_and_integers():
    compare(lambda lib: lib.tensordot(lib.ones(3, 4), lib.ones(3, 4), lib.tensor([[0], [0]])))
    compare(lambda lib: lib.tensordot(lib.ones(3, 4), lib.ones(4, 3), lib.tensor(1)))
    compare(
        lambda lib: lib.tensordot(
            lib.ones(2, 3, dtype=lib.int64), lib.ones(3, 2, dtype=lib.int64), 1
        )
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.tensordot(lib.ones(3, 4), lib.ones(3, 4), -1),
        lambda lib: lib.tensordot(lib.ones(3, 4), lib.ones(3, 4), 3),
        lambda lib: lib.tensordot(lib.ones(3, 4), lib.ones(3, 4), 1),
        lambda lib: lib.tensordot(lib.ones(3, 4), lib.ones(3, 4), ([0, 1], [0])),
        lambda lib: lib.tensordot(lib.ones(3, 4), lib.ones(3, 4, dtype=lib.float64), ([0], [0])),
    ],
)
def test_tensordot_errors_like_torch(call):
    same_error(call)


@pytest.mark.parametrize(
    "shapes", [((2, 3), (4, 5)), ((2, 3), (4,)), ((), (3,)), ((2, 1, 3), (3, 2))]
)
def test_kron_values_and_gradients(shapes):
    assert_grads_match(lambda lib, a, b: lib.kron(a, b), [arr(*shapes[0]), arr(*shapes[1])])
    square = arr(2, 2)
    compare(lambda lib: lib.tensor(square).kron(lib.tensor([1, 2])))


# ----------------------------------------------------------------- chains


@pytest.mark.parametrize(
    "shapes",
    [
        [(3, 4), (4, 5)],
        [(3, 4), (4, 5), (5, 2)],
        [(10, 2), (2, 8), (8, 3), (3, 6)],
        [(4,), (4, 3), (3,)],
        [(4,), (4, 3), (3, 2)],
        [(2, 4), (4, 3), (3,)],
    ],
)
def test_multi_dot_values_and_gradients(shapes):
    arrays = [arr(*s) for s in shapes]
    assert_grads_match(lambda lib, *ms: lib.linalg.multi_dot(ms), arrays)


def test_chain_matmul_warns_once_and_multiplies(monkeypatch):
    arrays = [arr(3, 4), arr(4, 5), arr(5, 2)]
    monkeypatch.setattr(ember._products, "_chain_matmul_warned", [False])
    with pytest.warns(UserWarning, match="chain_matmul is deprecated"):
        ember.chain_matmul(*[ember.tensor(a) for a in arrays])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process, as torch's TORCH_WARN_ONCE
        ember.chain_matmul(*[ember.tensor(a) for a in arrays])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_grads_match(lambda lib, *ms: lib.chain_matmul(*ms), arrays)
        assert_grads_match(lambda lib, m: lib.chain_matmul(m), arrays[:1])


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.linalg.multi_dot([lib.ones(3, 4)]),
        lambda lib: lib.linalg.multi_dot([lib.ones(3, 4), lib.ones(2, 4, 3)]),
        lambda lib: lib.linalg.multi_dot([lib.ones(3, 4), lib.ones(3, 4)]),
        lambda lib: lib.linalg.multi_dot([lib.ones(3, 4), lib.ones(4, 3, dtype=lib.float64)]),
        lambda lib: lib.chain_matmul(),
        lambda lib: lib.chain_matmul(lib.ones(3, 4), lib.ones(4)),
    ],
)
def test_chain_errors_like_torch(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_error(call)


def test_multi_dot_of_integers():
    compare(lambda lib: lib.linalg.multi_dot([lib.ones(2, 2, dtype=lib.int64)] * 3))


# ----------------------------------------------------------------- structured matrices


def test_block_diag_values_gradients_and_promotion():
    assert_grads_match(
        lambda lib, *ts: lib.block_diag(*ts), [arr(2, 3), arr(3), arr(1, 1), arr(2, 2)]
    )
    compare(lambda lib: lib.block_diag(lib.tensor(2), lib.ones(2, 3), lib.ones(3, dtype=lib.int64)))
    compare(lambda lib: lib.block_diag())
    compare(lambda lib: lib.block_diag(lib.ones(0, 2), lib.ones(2, 0)))
    same_error(lambda lib: lib.block_diag(lib.ones(2, 2, 2)))


@pytest.mark.parametrize("offset, dim1, dim2", [(0, -2, -1), (1, 0, 2), (-2, 2, 0), (0, 1, 0)])
def test_diag_embed_values_and_gradients(offset, dim1, dim2):
    assert_grads_match(lambda lib, x: lib.diag_embed(x, offset, dim1, dim2), [arr(3, 4)])
    assert_grads_match(lambda lib, x: x.diag_embed(offset), [arr(2)])


def test_diag_embed_errors_like_torch():
    same_error(lambda lib: lib.diag_embed(lib.ones(3, 4), 1, 0, 0))
    same_error(lambda lib: lib.diag_embed(lib.ones(3, 4), 1, 0, 5))


@pytest.mark.parametrize("offset", [0, 2, -1])
def test_diagflat(offset):
    assert_grads_match(lambda lib, x: lib.diagflat(x, offset), [arr(2, 3)])
    compare(lambda lib: lib.tensor([1, 2]).diagflat(offset))


@pytest.mark.parametrize(
    "n, increasing", [(None, False), (3, True), (0, False), (1, True), (6, False)]
)
def test_vander_values_and_gradients(n, increasing):
    # torch 2.13's vander backward raises (it writes a saved tensor in place):
    # values against torch, gradients against finite differences
    values = arr(4)
    compare(lambda lib: lib.vander(lib.tensor(values), n, increasing))
    if n in (0, 1):  # only the column of ones: nothing depends on x
        return
    x = ember.tensor(values, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: ember.vander(t, n, increasing), (x,))
    assert ember.autograd.gradgradcheck(lambda t: ember.vander(t, n, increasing), (x,))
    compare(lambda lib: lib.vander(lib.tensor([1, 2, 3], dtype=lib.int32), n, increasing))
    compare(lambda lib: lib.vander(lib.tensor([True, False]), n, increasing))


@pytest.mark.parametrize("n", [None, 2, 5])
def test_linalg_vander(n):
    assert_grads_match(lambda lib, x: lib.linalg.vander(x, N=n), [arr(3, 4)])
    compare(lambda lib: lib.linalg.vander(lib.tensor([1, 2], dtype=lib.int32), N=n))
    e, t = node_names(lambda lib, x: lib.linalg.vander(x, N=n), arr(4))
    assert e == t == "CatBackward0"


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.vander(lib.ones(2, 2)),
        lambda lib: lib.vander(lib.ones(3), N=-1),
        lambda lib: lib.linalg.vander(lib.ones(3), N=1),
        lambda lib: lib.linalg.vander(lib.tensor(1.0)),
    ],
)
def test_vander_errors_like_torch(call):
    same_error(call)


def test_vander_node_is_torchs():
    e, t = node_names(lambda lib, x: lib.vander(x), arr(4))
    assert e == t == "FlipBackward0"


# ----------------------------------------------------------------- combinatorics


def test_cartesian_prod_values_gradients_and_node():
    assert_grads_match(lambda lib, a, b, c: lib.cartesian_prod(a, b, c), [arr(2), arr(3), arr(2)])
    e, t = node_names(lambda lib, a, b: lib.cartesian_prod(a, b), arr(2), arr(3))
    assert e == t == "StackBackward0"
    x = ember.tensor([1.0, 2.0])
    assert ember.cartesian_prod(x) is x


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.cartesian_prod(lib.ones(3, 4), lib.ones(2)),
        lambda lib: lib.cartesian_prod(lib.ones(3), lib.tensor([1, 2])),
        lambda lib: lib.cartesian_prod(),
    ],
)
def test_cartesian_prod_errors_like_torch(call):
    same_error(call)


@pytest.mark.parametrize("r", [0, 1, 2, 3, 6])
@pytest.mark.parametrize("with_replacement", [False, True])
def test_combinations_values_and_gradients(r, with_replacement):
    if 0 < r <= 4 or (r > 0 and with_replacement):
        assert_grads_match(lambda lib, x: lib.combinations(x, r, with_replacement), [arr(4)])
    compare(lambda lib: lib.combinations(lib.tensor([3, 1, 2]), r, with_replacement))
    compare(lambda lib: lib.combinations(lib.ones(0), r, with_replacement))


def test_combinations_node_and_errors():
    e, t = node_names(lambda lib, x: lib.combinations(x), arr(4))
    assert e == t == "StackBackward0"
    same_error(lambda lib: lib.combinations(lib.ones(3, 4)))
    same_error(lambda lib: lib.combinations(lib.ones(3), -1))


# ----------------------------------------------------------------- linalg


def test_matrix_rank_counts_singular_values_above_the_tolerance():
    low_rank = arr(5, 2) @ arr(2, 4)
    batch = np.stack([low_rank, arr(5, 4), np.zeros((5, 4))])
    compare(lambda lib: lib.linalg.matrix_rank(lib.tensor(batch)))
    compare(lambda lib: lib.linalg.matrix_rank(lib.tensor(batch, dtype=lib.float32)))
    compare(lambda lib: lib.linalg.matrix_rank(lib.tensor(batch), 0.5))
    compare(lambda lib: lib.linalg.matrix_rank(lib.tensor(batch), atol=0.5, rtol=0.1))
    compare(lambda lib: lib.linalg.matrix_rank(lib.tensor(batch), rtol=0.2))
    sym = low_rank.T @ low_rank
    compare(lambda lib: lib.linalg.matrix_rank(lib.tensor(sym), hermitian=True))


def test_matrix_rank_errors_like_torch():
    same_error(lambda lib: lib.linalg.matrix_rank(lib.ones(3)))
    same_error(lambda lib: lib.linalg.matrix_rank(lib.ones(3, 3, dtype=lib.int64)))


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", float("inf"), -float("inf"), 1, -1])
def test_cond_values_and_gradients(p):
    square = arr(2, 3, 3) + 3 * np.eye(3)
    if p in (None, 2, -2):
        assert_grads_match(lambda lib, a: lib.linalg.cond(a, p), [square], rtol=1e-6, atol=1e-8)
        return
    # torch 2.13's backward through its norm forms raises (inv_ex's output is written
    # in place): values against torch, gradients against finite differences
    compare(lambda lib: lib.linalg.cond(lib.tensor(square), p))
    a = ember.tensor(square, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: ember.linalg.cond(t, p), (a,))


def test_cond_of_rectangular_and_singular_matrices():
    wide = arr(3, 4)
    compare(lambda lib: lib.linalg.cond(lib.tensor(wide)))
    compare(lambda lib: lib.linalg.cond(lib.zeros(3, 3), 1))
    same_error(lambda lib: lib.linalg.cond(lib.ones(3, 4), "fro"))
    same_error(lambda lib: lib.linalg.cond(lib.ones(3, 3), 3))
    same_error(lambda lib: lib.linalg.cond(lib.ones(3)))


@pytest.mark.parametrize("scale", [0.1, 1.0, 8.0])
def test_matrix_exp_values_and_gradients(scale):
    a = arr(2, 3, 3) * scale
    assert_grads_match(lambda lib, x: lib.linalg.matrix_exp(x), [a], rtol=1e-7, atol=1e-7)
    compare(lambda lib: lib.matrix_exp(lib.tensor(a[0], dtype=lib.float32)), rtol=1e-4, atol=1e-4)
    compare(lambda lib: lib.tensor(a[0]).matrix_exp())


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.linalg.matrix_exp(lib.ones(3, 4)),
        lambda lib: lib.linalg.matrix_exp(lib.ones(2, 2, dtype=lib.int64)),
        lambda lib: lib.linalg.matrix_exp(lib.ones(2)),
    ],
)
def test_matrix_exp_errors_like_torch(call):
    same_error(call)


def test_matrix_exp_of_empty_and_zero_matrices():
    compare(lambda lib: lib.matrix_exp(lib.ones(0, 0)))
    compare(lambda lib: lib.matrix_exp(lib.zeros(2, 4, 4)))


@given(
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=4),
    hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=3),
)
def test_kron_over_shapes(a_shape, b_shape):
    a, b = arr(*a_shape), arr(*b_shape)
    compare(lambda lib: lib.kron(lib.tensor(a), lib.tensor(b)))


@given(st.lists(st.integers(1, 5), min_size=3, max_size=6))
def test_multi_dot_over_chains(sizes):
    arrays = [arr(m, n) for m, n in zip(sizes, sizes[1:])]
    compare(
        lambda lib: lib.linalg.multi_dot([lib.tensor(a) for a in arrays]), rtol=1e-10, atol=1e-12
    )
