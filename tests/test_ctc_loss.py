"""F.ctc_loss and nn.CTCLoss against torch: values, gradients, node names, target
layouts, reductions, zero_infinity, errors, and a short training run."""

import numpy as np
import pytest
from conftest import capture, ember, torch
from hypothesis import given, settings
from hypothesis import strategies as st


def _case(data, frames, batch, classes, blank):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    input_lengths = [data.draw(st.integers(0, frames)) for _ in range(batch)]
    target_lengths = [data.draw(st.integers(0, max(frames // 2, 1))) for _ in range(batch)]
    labels = [c for c in range(classes) if c != blank]
    width = max(target_lengths + [1])
    targets = rng.choice(labels, size=(batch, width))
    if data.draw(st.booleans()):  # repeated labels need a blank between them
        targets[:, 1::2] = targets[:, ::2][:, : targets[:, 1::2].shape[1]]
    return rng.normal(size=(frames, batch, classes)), targets, input_lengths, target_lengths


def _run(lib, logits, targets, input_lengths, target_lengths, dtype, layout, **kw):
    x = lib.tensor(logits, dtype=getattr(lib, dtype), requires_grad=True)
    log_probs = lib.nn.functional.log_softmax(x, -1)
    if layout == "concatenated":
        flat = np.concatenate([t[:n] for t, n in zip(targets, target_lengths)]).astype(np.int64)
        targets = lib.tensor(flat)
    else:
        targets = lib.tensor(targets)
    if layout == "lists":
        lengths = (list(input_lengths), tuple(target_lengths))
    else:
        lengths = (lib.tensor(input_lengths), lib.tensor(target_lengths))
    loss = lib.nn.functional.ctc_loss(log_probs, targets, *lengths, **kw)
    loss.sum().backward()
    return loss, x.grad


@settings(max_examples=40, deadline=None)
@given(
    frames=st.integers(1, 9),
    batch=st.integers(1, 4),
    classes=st.integers(2, 6),
    reduction=st.sampled_from(["none", "mean", "sum"]),
    zero_infinity=st.booleans(),
    dtype=st.sampled_from(["float32", "float64"]),
    layout=st.sampled_from(["padded", "concatenated", "lists"]),
    data=st.data(),
)
def test_values_and_gradients_match_torch(
    frames, batch, classes, reduction, zero_infinity, dtype, layout, data
):
    blank = data.draw(st.integers(0, classes - 1))
    case = _case(data, frames, batch, classes, blank)
    kw = dict(blank=blank, reduction=reduction, zero_infinity=zero_infinity)
    e_loss, e_grad = _run(ember, *case, dtype, layout, **kw)
    t_loss, t_grad = _run(torch, *case, dtype, layout, **kw)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    assert str(e_loss.dtype).split(".")[-1] == dtype
    np.testing.assert_allclose(e_loss.detach().numpy(), t_loss.detach().numpy(), **tol)
    np.testing.assert_allclose(e_grad.numpy(), t_grad.numpy(), equal_nan=True, **tol)
    assert type(e_loss.grad_fn).__name__ == type(t_loss.grad_fn).__name__


def test_unbatched_input_and_the_module_match_torch():
    rng = np.random.default_rng(1)
    logits, target = rng.normal(size=(7, 5)), np.array([1, 3, 3])
    results = []
    for lib in (ember, torch):
        x = lib.tensor(logits, requires_grad=True)
        module = lib.nn.CTCLoss(blank=0, reduction="sum")
        loss = module(x.log_softmax(-1), lib.tensor(target), lib.tensor(7), lib.tensor(3))
        loss.backward()
        results.append((loss.item(), x.grad.numpy(), repr(module)))
    assert results[0][2] == results[1][2] == "CTCLoss()"
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10, atol=1e-12)


def test_the_gradient_has_no_second_derivative_as_torch():
    def second(lib):
        x = lib.randn(5, 1, 4, dtype=lib.float64, requires_grad=True)
        loss = lib.nn.functional.ctc_loss(
            x.log_softmax(-1), lib.tensor([[1, 2]]), lib.tensor([5]), lib.tensor([2])
        )
        (g,) = lib.autograd.grad(loss, x, create_graph=True)
        g.sum().backward()

    e, t = capture(second, ember), capture(second, torch)
    assert type(e) is type(t) is RuntimeError
    assert str(e) == str(t)


ERRORS = [
    (
        "input_length_too_long",
        lambda L: L.nn.functional.ctc_loss(
            L.zeros(4, 1, 3), L.tensor([[1]]), L.tensor([5]), L.tensor([1])
        ),
    ),
    (
        "blank_out_of_range",
        lambda L: L.nn.functional.ctc_loss(
            L.zeros(4, 1, 3), L.tensor([[1]]), L.tensor([4]), L.tensor([1]), blank=3
        ),
    ),
    (
        "target_length_too_long",
        lambda L: L.nn.functional.ctc_loss(
            L.zeros(4, 1, 3), L.tensor([[1]]), L.tensor([4]), L.tensor([2])
        ),
    ),
]


@pytest.mark.parametrize("call", [c[1] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_bad_input_raises_like_torch(call):
    e, t = capture(call, ember), capture(call, torch)
    assert type(e) is type(t) is RuntimeError, (e, t)
    assert str(e).split("(")[0] == str(t).split("(")[0]


def test_a_short_training_run_matches_torch():
    """A linear frame classifier learning to emit two sequences, SGD, 15 steps."""
    rng = np.random.default_rng(2)
    features = rng.normal(size=(10, 2, 4))
    weight0 = rng.normal(size=(5, 4)) * 0.1
    losses = []
    for lib in (ember, torch):
        weight = lib.tensor(weight0, requires_grad=True)
        optimizer = lib.optim.SGD([weight], lr=0.5)
        history = []
        for _ in range(15):
            optimizer.zero_grad()
            log_probs = (lib.tensor(features) @ weight.T).log_softmax(-1)
            loss = lib.nn.functional.ctc_loss(
                log_probs, lib.tensor([[1, 2, 3], [4, 4, 0]]), [10, 8], [3, 2]
            )
            loss.backward()
            optimizer.step()
            history.append(loss.item())
        losses.append(history)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-9)
    assert losses[0][-1] < losses[0][0] * 0.7
