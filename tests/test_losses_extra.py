"""gaussian_nll_loss, multilabel_soft_margin_loss, multi_margin_loss,
multilabel_margin_loss, triplet_margin_with_distance_loss and pdist (and their
modules) against torch: values, gradients (second order where torch has them),
reductions, legacy size_average/reduce, errors and reprs."""

import warnings

import numpy as np
import pytest
from conftest import assert_grads_match, ember, same_error, torch
from hypothesis import given, settings
from hypothesis import strategies as st

REDUCTIONS = ["none", "mean", "sum"]
shapes = st.tuples(st.integers(1, 4), st.integers(1, 5))


def _rng(seed=0):
    return np.random.default_rng(seed)


# ---- gaussian_nll_loss ----


@settings(max_examples=25, deadline=None)
@given(
    shape=shapes,
    var_form=st.sampled_from(["same", "short", "one", "float"]),
    full=st.booleans(),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_gaussian_nll_loss_matches_torch(shape, var_form, full, reduction):
    r = _rng(1)
    x, y = r.standard_normal(shape), r.standard_normal(shape)
    var = {
        "same": r.uniform(0.0, 2.0, shape),  # some below eps get clamped
        "short": r.uniform(0.1, 2.0, shape[:-1]),
        "one": r.uniform(0.1, 2.0, (shape[0], 1)),
        "float": 0.7,
    }[var_form]
    var = np.where(var < 0.05, 1e-8, var) if var_form == "same" else var

    def f(lib, x, y, v):
        return lib.nn.functional.gaussian_nll_loss(x, y, v, full=full, reduction=reduction)

    assert_grads_match(f, [x, y, var])


def test_gaussian_nll_loss_errors_like_torch():
    x = np.ones((3, 4))

    def call(var, **kw):
        return lambda lib: lib.nn.functional.gaussian_nll_loss(
            lib.tensor(x),
            lib.tensor(x),
            lib.tensor(var) if isinstance(var, np.ndarray) else var,
            **kw,
        )

    same_error(call(-1.0))
    same_error(call(1))
    same_error(call(-np.ones((3, 4))))
    same_error(call(np.ones((3, 2))))
    same_error(call(np.ones((1, 1))))
    same_error(call(np.ones((3, 4)), reduction="bad"))


def test_gaussian_nll_loss_module():
    for lib in (ember, torch):
        m = lib.nn.GaussianNLLLoss(full=True, eps=1e-3, reduction="sum")
        assert (m.full, m.eps, m.reduction) == (True, 1e-3, "sum")
    assert repr(ember.nn.GaussianNLLLoss()) == repr(torch.nn.GaussianNLLLoss())
    r = _rng(2)
    x, y, v = r.standard_normal((3, 4)), r.standard_normal((3, 4)), r.uniform(0.5, 1, (3, 1))
    got, want = (
        lib.nn.GaussianNLLLoss(full=True)(lib.tensor(x), lib.tensor(y), lib.tensor(v)).item()
        for lib in (ember, torch)
    )
    assert got == pytest.approx(want, rel=1e-12)


# ---- multilabel_soft_margin_loss ----


@settings(max_examples=25, deadline=None)
@given(shape=shapes, weighted=st.booleans(), reduction=st.sampled_from(REDUCTIONS))
def test_multilabel_soft_margin_loss_matches_torch(shape, weighted, reduction):
    r = _rng(3)
    x = r.standard_normal(shape)
    y = (r.uniform(size=shape) > 0.5).astype(np.float64)
    w = r.uniform(0.5, 2.0, shape[-1])

    def f(lib, x, w):
        return lib.nn.functional.multilabel_soft_margin_loss(
            x, lib.tensor(y), weight=w if weighted else None, reduction=reduction
        )

    assert_grads_match(f, [x, w])


def test_multilabel_soft_margin_loss_legacy_and_errors():
    x, y = np.linspace(-1, 1, 8).reshape(2, 4), np.eye(2, 4)
    for size_average, reduce in [(False, None), (None, False), (True, True)]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = ember.nn.functional.multilabel_soft_margin_loss(
                ember.tensor(x), ember.tensor(y), size_average=size_average, reduce=reduce
            )
        want = torch.nn.functional.multilabel_soft_margin_loss(
            torch.tensor(x), torch.tensor(y), size_average=size_average, reduce=reduce
        )
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
        assert "size_average and reduce args will be deprecated" in str(caught[0].message)
    same_error(
        lambda lib: lib.nn.functional.multilabel_soft_margin_loss(
            lib.tensor(x), lib.tensor(y), reduction="bad"
        )
    )
    m = ember.nn.MultiLabelSoftMarginLoss(weight=ember.ones(4))
    assert "weight" in dict(m.named_buffers())
    assert repr(m) == repr(torch.nn.MultiLabelSoftMarginLoss(weight=torch.ones(4)))


# ---- multi_margin_loss ----


@settings(max_examples=30, deadline=None)
@given(
    shape=shapes,
    p=st.sampled_from([1, 2]),
    margin=st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    weighted=st.booleans(),
    vector=st.booleans(),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_multi_margin_loss_matches_torch(shape, p, margin, weighted, vector, reduction):
    r = _rng(4)
    n, c = shape
    x = r.standard_normal(shape)
    y = r.integers(0, c, n)
    w = r.uniform(0.5, 2.0, c)
    if vector:
        x, y = x[0], y[0]

    def f(lib, x):
        return lib.nn.functional.multi_margin_loss(
            x,
            lib.tensor(y),
            p=p,
            margin=margin,
            weight=lib.tensor(w) if weighted else None,
            reduction=reduction,
        )

    # torch has no second derivative of multi_margin_loss, nor one for its weight
    assert_grads_match(f, [x], second_order=False)


def test_multi_margin_loss_ties_at_the_margin():
    x = np.array([[1.0, 0.0, 1.0, 2.0]])  # margin - x[y] + x[j] == 0 for j = 1

    def f(lib, x):
        return lib.nn.functional.multi_margin_loss(x, lib.tensor([0]), margin=1.0)

    assert_grads_match(f, [x], second_order=False)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_losses_output_ranks_like_torch(reduction):
    for x, y, fn in [
        ([1.0, 2.0, 0.5], [1], "multi_margin_loss"),
        ([1.0, 2.0, 0.5], 1, "multi_margin_loss"),
        ([[1.0, 2.0, 0.5]], 1, "multi_margin_loss"),
        ([1.0, 2.0, 0.5], [1, -1, 0], "multilabel_margin_loss"),
    ]:
        got, want = (
            getattr(lib.nn.functional, fn)(lib.tensor(x), lib.tensor(y), reduction=reduction)
            for lib in (ember, torch)
        )
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_multi_margin_loss_errors_like_torch():
    x = np.ones((3, 4))

    def call(x, y, **kw):
        def run(lib):
            fn = lib.nn.functional.multi_margin_loss
            return fn(lib.tensor(x), lib.tensor(y), **kw)

        return run

    same_error(call(x, [0, 1, 4]))
    same_error(call(x, [0, 1, -1]))
    same_error(call(x, [0, 1]))
    same_error(call(np.ones((3, 2, 2)), [0, 1, 1]))
    same_error(call(x.astype(np.float16), [0, 1, 1]))
    same_error(call(x.astype(np.int64), [0.0, 1.0, 1.0]))
    same_error(call(x, [0, 1, 1], p=3))
    same_error(call(x, [0.0, 1.0, 1.0]))
    same_error(call(x, [0, 1, 1], reduction="bad"))
    same_error(
        lambda lib: lib.nn.functional.multi_margin_loss(
            lib.tensor(x), lib.tensor([0, 1, 1]), weight=lib.ones(3)
        )
    )
    same_error(
        lambda lib: lib.nn.functional.multi_margin_loss(
            lib.tensor(x), lib.tensor([0, 1, 1]), weight=lib.ones(2, 2)
        )
    )
    same_error(
        lambda lib: lib.nn.functional.multi_margin_loss(
            lib.tensor(x), lib.tensor([0, 1, 1]), weight=lib.ones(4, requires_grad=True)
        )
    )
    same_error(lambda lib: lib.nn.MultiMarginLoss(p=3))
    same_error(lambda lib: lib.nn.MultiMarginLoss(weight=lib.ones(2, 2)))


def test_multi_margin_loss_module_and_legacy():
    m = ember.nn.MultiMarginLoss(p=2, margin=0.5, weight=ember.ones(4), reduction="sum")
    assert (m.p, m.margin, m.reduction) == (2, 0.5, "sum")
    assert repr(m) == repr(torch.nn.MultiMarginLoss())
    with pytest.warns(UserWarning, match="reduction='sum'"):
        legacy = ember.nn.MultiMarginLoss(size_average=False)
    assert legacy.reduction == "sum"
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    with pytest.warns(UserWarning):
        got = ember.nn.functional.multi_margin_loss(
            ember.tensor(x), ember.tensor([0, 2, 3]), reduce=False
        )
    want = torch.nn.functional.multi_margin_loss(
        torch.tensor(x), torch.tensor([0, 2, 3]), reduction="none"
    )
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


# ---- multilabel_margin_loss ----


@settings(max_examples=30, deadline=None)
@given(
    shape=shapes,
    data=st.data(),
    vector=st.booleans(),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_multilabel_margin_loss_matches_torch(shape, data, vector, reduction):
    n, c = shape
    r = _rng(5)
    x = r.standard_normal(shape)
    y = np.array(
        [data.draw(st.lists(st.integers(-1, c - 1), min_size=c, max_size=c)) for _ in range(n)]
    )
    if vector:
        x, y = x[0], y[0]

    def f(lib, x):
        return lib.nn.functional.multilabel_margin_loss(x, lib.tensor(y), reduction=reduction)

    assert_grads_match(f, [x], second_order=False)


def test_multilabel_margin_loss_errors_and_module():
    x = np.ones((3, 4))

    def call(x, y, **kw):
        return lambda lib: lib.nn.functional.multilabel_margin_loss(
            lib.tensor(x), lib.tensor(y), **kw
        )

    same_error(call(x, np.zeros((2, 4), dtype=np.int64)))
    same_error(call(x, np.full((3, 4), 4)))
    same_error(call(x, np.zeros((3, 4))))
    same_error(call(x.astype(np.float16), np.zeros((3, 4), dtype=np.int64)))
    same_error(call(np.ones((3, 2, 2)), np.zeros((3, 2, 2), dtype=np.int64)))
    same_error(call(x, np.zeros((3, 4), dtype=np.int64), reduction="bad"))
    assert repr(ember.nn.MultiLabelMarginLoss()) == repr(torch.nn.MultiLabelMarginLoss())
    y = np.array([[3, 0, -1, 1], [1, 1, -1, 0], [2, -1, 0, 0]])
    got, want = (
        lib.nn.MultiLabelMarginLoss(reduction="none")(lib.tensor(x * 0.3), lib.tensor(y)).numpy()
        for lib in (ember, torch)
    )
    np.testing.assert_allclose(got, want, rtol=1e-12)


# ---- triplet_margin_with_distance_loss ----


@settings(max_examples=25, deadline=None)
@given(
    shape=shapes,
    distance=st.sampled_from(["default", "cosine", "l1"]),
    margin=st.sampled_from([0.5, 1.0, 3.0]),
    swap=st.booleans(),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_triplet_margin_with_distance_loss_matches_torch(shape, distance, margin, swap, reduction):
    r = _rng(6)
    a, p, n = (r.standard_normal(shape) for _ in range(3))

    def f(lib, a, p, n):
        F = lib.nn.functional
        fn = {
            "default": None,
            "cosine": lambda u, v: 1.0 - F.cosine_similarity(u, v),
            "l1": lambda u, v: (u - v).abs().sum(-1),
        }[distance]
        return F.triplet_margin_with_distance_loss(
            a, p, n, distance_function=fn, margin=margin, swap=swap, reduction=reduction
        )

    # abs has a zero second derivative, which torch returns as a ZeroTensor numpy refuses
    assert_grads_match(f, [a, p, n], second_order=distance != "l1")


def test_triplet_margin_with_distance_loss_errors_and_module():
    a = np.ones((2, 3))

    def call(*arrays, **kw):
        return lambda lib: lib.nn.functional.triplet_margin_with_distance_loss(
            *(lib.tensor(x) for x in arrays), **kw
        )

    same_error(call(a, a, a, margin=0.0))
    same_error(call(a, a, a, reduction="bad"))
    same_error(call(a, a, a[0]))
    same_error(lambda lib: lib.nn.TripletMarginWithDistanceLoss(margin=-1))
    assert repr(ember.nn.TripletMarginWithDistanceLoss()) == repr(
        torch.nn.TripletMarginWithDistanceLoss()
    )
    m = ember.nn.TripletMarginWithDistanceLoss(margin=2.0, swap=True, reduction="sum")
    assert (m.margin, m.swap, m.reduction) == (2.0, True, "sum")
    r = _rng(7)
    arrays = [r.standard_normal((4, 3)) for _ in range(3)]
    got, want = (
        lib.nn.TripletMarginWithDistanceLoss(swap=True)(*(lib.tensor(x) for x in arrays)).item()
        for lib in (ember, torch)
    )
    assert got == pytest.approx(want, rel=1e-12)


# ---- pdist ----


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 5),
    m=st.integers(1, 4),
    p=st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, float("inf")]),
)
def test_pdist_matches_torch(n, m, p):
    x = _rng(8).standard_normal((n, m))

    def f(lib, x):
        return lib.nn.functional.pdist(x, p)

    assert_grads_match(f, [x], second_order=False)


def test_pdist_edge_cases_and_errors():
    for n in (0, 1):
        got = ember.nn.functional.pdist(ember.ones(n, 3, dtype=ember.float64))
        assert tuple(got.shape) == (0,)
    same_error(lambda lib: lib.nn.functional.pdist(lib.ones(2, 2, 2)))
    same_error(lambda lib: lib.nn.functional.pdist(lib.ones(2, 2), -1.0))
