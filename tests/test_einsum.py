"""ember.einsum against torch.einsum: values, gradients and refusals."""

from __future__ import annotations

import ember
import numpy as np
import pytest
import torch
from conftest import compare

CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ji", [(2, 3)]),
    ("...ij,...jk", [(5, 2, 3), (3, 4)]),
    ("...i->...", [(2, 3, 4)]),
    ("i...->...", [(2, 3, 4)]),
    ("a...b,b...->a...", [(2, 3, 4), (4, 3)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("bij,bjk->bik", [(1, 2, 3), (4, 3, 5)]),
    ("ij,ij->ij", [(2, 1), (1, 3)]),
    ("i,i->i", [(1,), (3,)]),
    ("i,i,i->i", [(3,), (3,), (3,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("ijk,ikl->", [(2, 3, 4), (2, 4, 5)]),
    ("ij,kj->ik", [(0, 3), (2, 3)]),
    ("ij,jk->ik", [(2, 0), (0, 3)]),
    ("", [()]),
    (",->", [(), ()]),
    (" i j , j k -> i k ", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize("equation,shapes", CASES, ids=[f"{e}|{s}" for e, s in CASES])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_einsum_matches_torch(equation, shapes, dtype):
    rng = np.random.default_rng(len(equation))
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    results = []
    for lib in (torch, ember):
        leaves = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = lib.einsum(equation, *leaves)
        upstream = np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(dtype)
        out.backward(lib.tensor(upstream))
        results.append((out.detach().numpy(), [leaf.grad.numpy() for leaf in leaves]))
    (t_out, t_grads), (e_out, e_grads) = results
    tol = 1e-5 if dtype == "float32" else 1e-12
    assert e_out.dtype == t_out.dtype
    np.testing.assert_allclose(e_out, t_out, rtol=tol, atol=tol)
    for e, t in zip(e_grads, t_grads):
        np.testing.assert_allclose(e, t, rtol=tol, atol=tol)


def test_einsum_takes_a_list_of_operands_and_integers():
    def run(lib):
        a = lib.arange(9).reshape(3, 3)
        return lib.einsum("ii", [a]), lib.einsum("ij,jk->ik", a, a)

    compare(run)


@pytest.mark.parametrize(
    "equation,shapes",
    [
        ("ij,jk->ik", [(2, 3)]),
        ("ij", [(2, 3), (3, 4)]),
        ("ij->ik", [(2, 3)]),
        ("ij->ii", [(2, 3)]),
        ("i2->i", [(2, 3)]),
        ("ijk->i", [(2, 3)]),
        ("ij,ij->i", [(2, 3), (3, 4)]),
        ("ii", [(2, 3)]),
    ],
)
def test_einsum_misuse_raises_like_torch(equation, shapes):
    compare(lambda L: L.einsum(equation, *[L.ones(s) for s in shapes]))
