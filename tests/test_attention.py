"""F.scaled_dot_product_attention against torch: values and gradients for
each mask form, scale, fully masked rows and grouped-query heads."""

import numpy as np
import pytest
from conftest import ember, torch

MASKS = ["none", "causal", "bool", "bool_all_masked_row", "float"]


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scale", [None, 0.3])
def test_sdpa_values_and_gradients_like_torch(mask, dtype, scale):
    rng = np.random.default_rng(len(mask))
    q, k, v = (
        rng.standard_normal(s).astype(dtype) for s in ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6))
    )
    bool_mask = rng.random((4, 5)) > 0.4
    bool_mask[:, 0] = True
    if mask == "bool_all_masked_row":
        bool_mask[1] = False
    float_mask = rng.standard_normal((4, 5)).astype(dtype)

    def run(L):
        tq, tk, tv = (L.tensor(a, requires_grad=True) for a in (q, k, v))
        kw = {"scale": scale}
        if mask == "causal":
            kw["is_causal"] = True
        elif mask.startswith("bool"):
            kw["attn_mask"] = L.tensor(bool_mask)
        elif mask == "float":
            kw["attn_mask"] = L.tensor(float_mask)
        y = L.nn.functional.scaled_dot_product_attention(tq, tk, tv, **kw)
        (y.square().sum() + y.sum()).backward()
        return [t.detach().numpy() for t in (y, tq.grad, tk.grad, tv.grad)]

    tol = 2e-5 if dtype == "float32" else 1e-11
    for e, t in zip(run(ember), run(torch)):
        np.testing.assert_allclose(e, t, rtol=tol, atol=tol)


def test_sdpa_grouped_query_heads_like_torch():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((1, 4, 3, 8)).astype(np.float32)
    kv = rng.standard_normal((1, 2, 3, 8)).astype(np.float32)

    def gqa(L):
        t = L.tensor
        return L.nn.functional.scaled_dot_product_attention(
            t(q), t(kv), t(kv), enable_gqa=True
        ).numpy()

    np.testing.assert_allclose(gqa(ember), gqa(torch), rtol=1e-5, atol=1e-6)


def test_sdpa_refuses_a_mask_together_with_is_causal():
    # torch raises this on its math path only; Ember always does.
    q, kv = ember.ones(1, 2, 3, 4), ember.ones(1, 2, 5, 4)
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set"):
        ember.nn.functional.scaled_dot_product_attention(
            q, kv, kv, attn_mask=ember.ones(3, 5, dtype=ember.bool), is_causal=True
        )
