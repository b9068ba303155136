"""The binary pointwise op table (Note [Binary op table]), walked entry by entry.

For every entry and every call form it records (tensor-tensor, tensor-scalar,
scalar-tensor), with broadcasting shapes in the tensor-tensor form: the node
name against torch's, gradcheck and gradgradcheck in float64, gradients to
second order against torch, and the forward formula against torch's forward
AD and central finite differences.
"""

import ember
import ember.autograd.forward_ad as efw
import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

TABLE = ember._C._binary_op_table()
TT, TS, ST = "tensor-tensor", "tensor-scalar", "scalar-tensor"

# How each (node, form) is called, and the ranges of the two operands where it
# is smooth (no ties, no jumps of a floor or a sign). A tensor-scalar call gets
# the tensor as `a` and ignores `b`.
PROBS = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
CALLS = {
    ("AddBackward0", TT): (lambda lib, a, b: lib.add(a, b, alpha=0.5), None, None),
    ("AddBackward0", TS): (lambda lib, a, b: a + 2.0, None, None),
    ("SubBackward0", TT): (lambda lib, a, b: lib.sub(a, b, alpha=2.0), None, None),
    ("SubBackward0", TS): (lambda lib, a, b: a - 2.0, None, None),
    ("RsubBackward1", ST): (lambda lib, a, b: 3.0 - a, None, None),
    ("MulBackward0", TT): (lambda lib, a, b: a * b, None, None),
    ("MulBackward0", TS): (lambda lib, a, b: a * 2.5, None, None),
    ("DivBackward0", TT): (lambda lib, a, b: a / b, None, (0.5, 2.0)),
    ("DivBackward0", TS): (lambda lib, a, b: a / 4.0, None, None),
    # torch's division of a loss by its element count.
    ("DivBackward1", TS): (
        lambda lib, a, b: lib.nn.functional.cross_entropy(a, lib.tensor(PROBS)),
        None,
        None,
    ),
    ("PowBackward0", TS): (lambda lib, a, b: a**2.5, (0.5, 2.0), None),
    ("PowBackward1", TT): (lambda lib, a, b: a**b, (0.5, 2.0), None),
    ("PowBackward2", ST): (lambda lib, a, b: 2.5**a, None, None),
    ("MaximumBackward0", TT): (lambda lib, a, b: lib.maximum(a, b), None, None),
    ("MinimumBackward0", TT): (lambda lib, a, b: lib.minimum(a, b), None, None),
    ("RemainderBackward0", TS): (lambda lib, a, b: a % 1.5, (0.1, 1.4), None),
    ("RemainderBackward1", TT): (lambda lib, a, b: a % b, (2.1, 2.9), (1.5, 2.0)),
    ("FmodBackward0", TS): (lambda lib, a, b: lib.fmod(a, 1.5), (0.1, 1.4), None),
    ("FmodBackward1", TT): (lambda lib, a, b: lib.fmod(a, b), (2.1, 2.9), (1.5, 2.0)),
    ("CopysignBackward0", TT): (lambda lib, a, b: lib.copysign(a, b), (0.5, 2.0), (-2.0, -0.5)),
    ("CopysignBackward1", TS): (lambda lib, a, b: lib.copysign(a, -2.0), (0.5, 2.0), None),
    ("DivBackward2", TT): (
        lambda lib, a, b: lib.div(a, b, rounding_mode="floor"),
        (2.1, 2.9),
        (1.5, 2.0),
    ),
    ("DivBackward2", TS): (
        lambda lib, a, b: lib.div(a, 2.0, rounding_mode="trunc"),
        (2.1, 2.9),
        None,
    ),
    ("Atan2Backward0", TT): (lambda lib, a, b: lib.atan2(a, b), None, None),
    ("XlogyBackward0", TT): (lambda lib, a, b: lib.xlogy(a, b), None, (0.5, 2.0)),
    ("HypotBackward0", TT): (lambda lib, a, b: lib.hypot(a, b), (0.5, 2.0), None),
    ("LogaddexpBackward0", TT): (lambda lib, a, b: lib.logaddexp(a, b), None, None),
    ("Logaddexp2Backward0", TT): (lambda lib, a, b: lib.logaddexp2(a, b), None, None),
    ("FmaxBackward0", TT): (lambda lib, a, b: lib.fmax(a, b), None, None),
    ("FminBackward0", TT): (lambda lib, a, b: lib.fmin(a, b), None, None),
    ("LdexpBackward0", TT): (lambda lib, a, b: lib.ldexp(a, b), None, None),
}
# Broadcasting shapes for the tensor-tensor form; the other forms use the first.
SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3))]

CASES = [
    pytest.param(e, form, shapes, id=f"{e['node_name']}-{form}-{'x'.join(map(str, shapes[1]))}")
    for e in TABLE
    for form in e["forms"]
    for shapes in (SHAPES if form == TT else SHAPES[:1])
]


def operands(node, form, shapes, seed=0):
    _, a_range, b_range = CALLS[(node, form)]
    rng = np.random.default_rng(seed)
    a = rng.uniform(*(a_range or (-2.0, 2.0)), shapes[0])
    b = rng.uniform(*(b_range or (-2.0, 2.0)), shapes[1])
    return a, b


def inputs_of(lib, form, a, b, requires_grad=False):
    x = lib.tensor(a, requires_grad=requires_grad)
    y = lib.tensor(b, requires_grad=requires_grad)
    return (x, y) if form == TT else (x,)


def call(lib, node, form, *xs):
    fn = CALLS[(node, form)][0]
    return fn(lib, *xs) if form == TT else fn(lib, xs[0], None)


def test_table_entries_are_unique_and_all_called():
    names = [e["node_name"] for e in TABLE]
    assert len(names) == len(set(names))
    assert {(e["node_name"], f) for e in TABLE for f in e["forms"]} == set(CALLS)
    assert all(set(e["saves"]) <= {"self", "other", "result", "aux"} for e in TABLE)


@pytest.mark.parametrize(("entry", "form", "shapes"), CASES)
def test_node_name_matches_torch(entry, form, shapes):
    node = entry["node_name"]
    a, b = operands(node, form, shapes)
    e_out = call(ember, node, form, *inputs_of(ember, form, a, b, True))
    t_out = call(torch, node, form, *inputs_of(torch, form, a, b, True))
    assert type(e_out.grad_fn).__name__ == type(t_out.grad_fn).__name__ == node
    assert len(e_out.grad_fn.next_functions) == len(t_out.grad_fn.next_functions)


@pytest.mark.parametrize(("entry", "form", "shapes"), CASES)
def test_gradcheck_and_gradgradcheck(entry, form, shapes):
    node = entry["node_name"]
    a, b = operands(node, form, shapes, seed=1)
    xs = inputs_of(ember, form, a, b, True)
    fn = lambda *xs: call(ember, node, form, *xs)  # noqa: E731
    assert ember.autograd.gradcheck(fn, xs)
    assert ember.autograd.gradgradcheck(fn, xs)


def grads_to_second_order(lib, node, form, a, b):
    """First gradients, and the gradient of their sum (None where nothing is left to differentiate)."""
    xs = inputs_of(lib, form, a, b, True)
    grads = lib.autograd.grad(call(lib, node, form, *xs).sum(), xs, create_graph=True)
    firsts = [g.detach().numpy().copy() for g in grads]
    linked = [g.sum() for g in grads if g.requires_grad]
    if not linked:
        return firsts, None
    seconds = lib.autograd.grad(sum(linked), xs, allow_unused=True)
    return firsts, [
        np.zeros(x.shape) if s is None else s.numpy(force=True) for x, s in zip(xs, seconds)
    ]


@pytest.mark.parametrize(("entry", "form", "shapes"), CASES)
def test_gradients_match_torch_to_second_order(entry, form, shapes):
    node = entry["node_name"]
    a, b = operands(node, form, shapes, seed=2)
    e_first, e_second = grads_to_second_order(ember, node, form, a, b)
    t_first, t_second = grads_to_second_order(torch, node, form, a, b)
    for e, t in zip(e_first, t_first, strict=True):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)
    if e_second is None or t_second is None:
        assert not any(np.any(s) for s in (e_second or t_second or []))
        return
    for e, t in zip(e_second, t_second, strict=True):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


def jvp(lib, fw, node, form, a, b, ta, tb):
    with fw.dual_level():
        xs = inputs_of(lib, form, a, b)
        duals = [fw.make_dual(x, lib.tensor(t)) for x, t in zip(xs, (ta, tb))]
        return fw.unpack_dual(call(lib, node, form, *duals)).tangent.detach().numpy().copy()


@pytest.mark.parametrize(("entry", "form", "shapes"), CASES)
def test_forward_formula_matches_torch_and_finite_differences(entry, form, shapes):
    node = entry["node_name"]
    a, b = operands(node, form, shapes, seed=3)
    rng = np.random.default_rng(4)
    ta, tb = rng.normal(size=a.shape), rng.normal(size=b.shape)
    tangent = jvp(ember, efw, node, form, a, b, ta, tb)
    np.testing.assert_allclose(
        tangent, jvp(torch, tfw, node, form, a, b, ta, tb), rtol=1e-10, atol=1e-12
    )

    def f(s):
        xs = inputs_of(ember, form, a + s * ta, b + s * tb)
        return call(ember, node, form, *xs).numpy()

    eps = 1e-6
    np.testing.assert_allclose(tangent, (f(eps) - f(-eps)) / (2 * eps), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("which", [0, 1])
def test_tangent_of_one_operand_only(which):
    """An input without a tangent contributes no part (the other's part is broadcast)."""
    a, b = np.random.default_rng(5).uniform(0.5, 2.0, (2, 1)), np.linspace(0.5, 2.0, 3)
    t = np.ones((2, 1)) if which == 0 else np.ones(3)
    out = []
    for lib, fw in ((ember, efw), (torch, tfw)):
        with fw.dual_level():
            x, y = lib.tensor(a), lib.tensor(b)
            if which == 0:
                x = fw.make_dual(x, lib.tensor(t))
            else:
                y = fw.make_dual(y, lib.tensor(t))
            out.append(fw.unpack_dual(x**y).tangent.detach().numpy().copy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12)


@pytest.mark.parametrize(
    "make",
    [lambda x, y: x * y, lambda x, y: x * 2.0, lambda x, y: x / y, lambda x, y: x**y],
    ids=["mul", "mul_scalar", "div", "pow"],
)
def test_second_backward_raises_after_release(make):
    """The node releases what it saved (for x * 2 the 2, which torch saves as a tensor)."""
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = ember.tensor([0.5, 1.5, 2.5], requires_grad=True)
    out = make(x, y).sum()
    out.backward()
    with pytest.raises(RuntimeError, match="second time"):
        out.backward()
