"""Small torch forms real training scripts use, against torch 2.13.0.

multinomial (same samples for the same seed), the legacy Variable, keepdims=,
range indices, torch.accelerator/backends/cuda seeding, module paths,
optim.LBFGS and histogram/histc.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest
import torch
from conftest import capture

# ----- multinomial -------------------------------------------------------------------


def _multinomial_case(rng):
    ndim = int(rng.integers(1, 3))
    ncat = int(rng.choice([1, 2, 3, 5, 17, 64, 100, 1000]))
    shape = (ncat,) if ndim == 1 else (int(rng.integers(1, 5)), ncat)
    dtype = str(rng.choice(["float32", "float64"]))
    p = rng.random(shape).astype(dtype)
    if rng.random() < 0.3:
        p[rng.random(shape) < 0.5] = 0
    if rng.random() < 0.2:
        p = p**8
    p.reshape(-1, ncat)[:, 0] += 1e-3
    replacement = bool(rng.random() < 0.5)
    k = int(rng.integers(1, ncat + 1)) if not replacement else int(rng.choice([1, 2, 5, 50]))
    return p, k, replacement


@pytest.mark.parametrize("block", range(6))
def test_multinomial_draws_torchs_samples(block):
    rng = np.random.default_rng(block)
    for _ in range(40):
        p, k, replacement = _multinomial_case(rng)
        seed = int(rng.integers(0, 2**40))
        if rng.random() < 0.5:
            torch.manual_seed(seed)
            ember.manual_seed(seed)
            a = torch.multinomial(torch.tensor(p), k, replacement)
            b = ember.multinomial(ember.tensor(p), k, replacement)
            after = torch.rand(3).tolist(), ember.rand(3).tolist()
        else:
            gt = torch.Generator().manual_seed(seed)
            ge = ember.Generator().manual_seed(seed)
            a = torch.tensor(p).multinomial(k, replacement, generator=gt)
            b = ember.tensor(p).multinomial(k, replacement, generator=ge)
            after = torch.rand(3, generator=gt).tolist(), ember.rand(3, generator=ge).tolist()
        assert str(b.dtype) == "ember.int64"
        assert b.tolist() == a.tolist(), (p.shape, p.dtype, k, replacement)
        assert after[0] == after[1]  # the generator advanced by the same draws


@pytest.mark.parametrize("n", [3, 5, 17, 64, 65, 200, 640, 1000])
def test_multinomial_zero_probabilities_tie_like_torch(n):
    # more samples than non-zero categories: the zero ones come in torch's topk order
    rng = np.random.default_rng(n)
    for _ in range(15):
        p = np.zeros(n, dtype="float32")
        nz = int(rng.integers(1, max(2, n // 3)))
        p[rng.choice(n, nz, replace=False)] = rng.random(nz) + 0.01
        k = int(rng.integers(nz, n + 1)) if rng.random() < 0.6 else max(1, n // 64)
        seed = int(rng.integers(0, 2**31))
        torch.manual_seed(seed)
        ember.manual_seed(seed)
        a = torch.multinomial(torch.tensor(p), k).tolist()
        assert ember.multinomial(ember.tensor(p), k).tolist() == a


def test_multinomial_transposed_input_draws_in_memory_order():
    for seed in range(5):
        p = np.random.default_rng(seed).random((4, 6)).astype("float32")
        torch.manual_seed(seed)
        ember.manual_seed(seed)
        a = torch.multinomial(torch.tensor(p).t(), 3).tolist()
        assert ember.multinomial(ember.tensor(p).t(), 3).tolist() == a


MULTINOMIAL_ERRORS = [
    lambda L: L.multinomial(L.tensor([0.2, -1.0]), 1),
    lambda L: L.multinomial(L.tensor([0.2, -1.0]), 2, True),
    lambda L: L.multinomial(L.tensor([0.2, float("inf")]), 2, True),
    lambda L: L.multinomial(L.tensor([0.2, float("nan")]), 2, True),
    lambda L: L.multinomial(L.tensor([0.2, float("nan")]), 1),
    lambda L: L.multinomial(L.tensor([0.0, 0.0]), 1),
    lambda L: L.multinomial(L.tensor([0.0, 0.0]), 2, True),
    lambda L: L.multinomial(L.tensor([[0.0, 0.0], [1, 1]]), 1),
    lambda L: L.multinomial(L.tensor([[1.0, 2], [0, -1]]), 2, True),
    lambda L: L.multinomial(L.tensor([0.2, 0.3]), 3),
    lambda L: L.multinomial(L.tensor([0.2, 0.3]), 0),
    lambda L: L.multinomial(L.tensor([0.2, 0.3]), -1),
    lambda L: L.multinomial(L.zeros(0), 1),
    lambda L: L.multinomial(L.zeros(0), 2, True),
    lambda L: L.multinomial(L.zeros(3, 0), 2, True),
    lambda L: L.multinomial(L.zeros(2, 2, 2) + 1, 1),
    lambda L: L.multinomial(L.tensor(1.0), 1),
    lambda L: L.multinomial(L.tensor([1, 2]), 1),
    lambda L: L.multinomial(L.tensor([1.0, 2]), 1.5),
    lambda L: L.multinomial(L.tensor([1.0, 2]), True),
]


@pytest.mark.parametrize("case", range(len(MULTINOMIAL_ERRORS)))
def test_multinomial_errors(case):
    fn = MULTINOMIAL_ERRORS[case]
    te, ee = capture(fn, torch), capture(fn, ember)
    assert te is not None
    assert type(ee) is type(te), (te, ee)
    assert str(ee) == str(te)


def test_multinomial_empty_rows_and_grad_input():
    for fn in [
        lambda L: L.multinomial(L.zeros(0, 3) + 1, 2, True),
        lambda L: L.multinomial(L.zeros(0, 3) + 1, 2),
        lambda L: L.multinomial(L.tensor([1.0, 2], requires_grad=True), 2),
    ]:
        torch.manual_seed(0)
        ember.manual_seed(0)
        a, b = fn(torch), fn(ember)
        assert tuple(b.shape) == tuple(a.shape) and b.tolist() == a.tolist()
        assert not b.requires_grad
