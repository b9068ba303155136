"""ember.viz: DOT source of the autograd graph, checked against the graph torch records
for the same computation; rendering through the graphviz package; the text tree."""

import io
import re
import sys
import types
from collections import Counter

import ember
import ember.viz
import numpy as np
import pytest
import torch

NODE = re.compile(r'^\t(\w+) \[label="((?:[^"\\]|\\.)*)"(?: fillcolor=(\w+))?\]$')
EDGE = re.compile(r"^\t(\w+) -> (\w+)(?: \[(.*)\])?$")


def parse_dot(source):
    """{id: (label, colour)} and [(tail, head, attrs)] from to_dot's output."""
    lines = source.splitlines()
    assert lines[0] == "digraph {" and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if m := NODE.match(line):
            nodes[m.group(1)] = (m.group(2).replace("\\n", "\n"), m.group(3))
        elif m := EDGE.match(line):
            edges.append((m.group(1), m.group(2), m.group(3)))
        else:
            assert line.startswith(("\tgraph ", "\tnode ")), line
    for tail, head, _ in edges:
        assert tail in nodes and head in nodes
    return nodes, edges


def torch_structure(tensor, names):
    """Node labels and labelled edges of torch's graph, drawn as torchviz draws it."""

    def leaf_label(t):
        return f"{names.get(id(t), '')}\n ({', '.join(str(d) for d in t.shape)})"

    labels, edges, seen = Counter(), Counter(), set()
    root_label = leaf_label(tensor)
    labels[(root_label, "darkolivegreen1")] += 1
    if tensor.grad_fn is None:
        return labels, edges
    edges[(type(tensor.grad_fn).__name__, root_label)] += 1
    stack = [tensor.grad_fn]
    while stack:
        fn = stack.pop()
        if fn in seen:
            continue
        seen.add(fn)
        name = type(fn).__name__
        labels[(name, None)] += 1
        if hasattr(fn, "variable"):
            labels[(leaf_label(fn.variable), "lightblue")] += 1
            edges[(leaf_label(fn.variable), name)] += 1
        for nxt, _ in fn.next_functions:
            if nxt is not None:
                edges[(type(nxt).__name__, name)] += 1
                stack.append(nxt)
    return labels, edges


def ember_structure(source):
    nodes, edges = parse_dot(source)
    labels = Counter(nodes.values())
    labelled = Counter((nodes[t][0], nodes[h][0]) for t, h, _ in edges)
    return labels, labelled


def computation(lib):
    rng = np.random.default_rng(0)
    w = lib.tensor(rng.uniform(-1, 1, (3, 2)), requires_grad=True)
    b = lib.tensor(rng.uniform(-1, 1, (2,)), requires_grad=True)
    x = lib.tensor(rng.uniform(-1, 1, (4, 3)))
    h = (x @ w + b).tanh()
    y = (h * h.sigmoid()).sum() + (w.exp() * 2).mean()
    return y, {"w": w, "b": b}


def test_dot_nodes_and_edges_match_the_graph_torch_records():
    ey, eparams = computation(ember)
    ty, tparams = computation(torch)
    source = ember.viz.to_dot(ey, params=eparams)
    expected = torch_structure(ty, {id(v): k for k, v in tparams.items()})
    assert ember_structure(source) == expected


def test_edges_run_forward_from_leaves_to_the_output():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).sum()
    nodes, edges = parse_dot(ember.viz.to_dot(y, params={"x": x}))
    by_label = {label: nid for nid, (label, _) in nodes.items()}
    chain = ["x\n (2)", "AccumulateGrad", "MulBackward0", "SumBackward0", "\n ()"]
    for tail, head in zip(chain, chain[1:]):
        assert (by_label[tail], by_label[head], None) in edges
    assert nodes[by_label["x\n (2)"]][1] == "lightblue"
    assert nodes[by_label["\n ()"]][1] == "darkolivegreen1"


def test_module_parameters_are_named_and_shared_nodes_drawn_once():
    ember.manual_seed(0)
    torch.manual_seed(0)
    results = []
    for lib in (ember, torch):
        lin = lib.nn.Linear(3, 2)
        x = lib.ones(5, 3)
        out = lin(x)
        y = (out * out).sum()  # `out`'s node feeds the product twice
        results.append((lib, y, dict(lin.named_parameters())))
    (_, ey, ep), (_, ty, tp) = results
    source = ember.viz.to_dot(ey, params=ep)
    assert ember_structure(source) == torch_structure(ty, {id(v): k for k, v in tp.items()})
    nodes, _ = parse_dot(source)
    labels = [label for label, _ in nodes.values()]
    assert "weight\n (2, 3)" in labels and "bias\n (2)" in labels
    assert labels.count("AddmmBackward0") == 1


def test_custom_function_nodes_and_saved_tensors():
    class Cube(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x).sum()
    plain, _ = parse_dot(ember.viz.to_dot(y))
    assert "CubeBackward" in [label for label, _ in plain.values()]
    assert "orange" not in [colour for _, colour in plain.values()]
    nodes, edges = parse_dot(ember.viz.to_dot(y, params={"x": x}, show_saved=True))
    saved = [nid for nid, (_, colour) in nodes.items() if colour == "orange"]
    assert len(saved) == 1 and nodes[saved[0]][0] == "x\n (2)"
    cube = next(nid for nid, (label, _) in nodes.items() if label == "CubeBackward")
    assert (saved[0], cube, "dir=none") in edges


def test_views_draw_their_base_with_a_dotted_edge():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    v = (x * 2)[0]
    nodes, edges = parse_dot(ember.viz.to_dot(v))
    bases = [nid for nid, (_, colour) in nodes.items() if colour == "darkolivegreen3"]
    assert len(bases) == 1 and nodes[bases[0]][0] == "\n (2, 2)"
    assert [e for e in edges if e[2] == "style=dotted"] == [
        (bases[0], next(n for n, (_, c) in nodes.items() if c == "darkolivegreen1"), "style=dotted")
    ]


def test_a_tensor_without_history_is_one_node():
    nodes, edges = parse_dot(ember.viz.to_dot(ember.ones(2, 3)))
    assert list(nodes.values()) == [("\n (2, 3)", "darkolivegreen1")] and edges == []
    with pytest.raises(TypeError, match="expected a Tensor"):
        ember.viz.to_dot([1, 2])


def test_print_graph_prints_a_tree_of_node_names():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    w = ember.tensor([3.0, 4.0], requires_grad=True)
    h = x * w
    y = (h + h.exp()).sum()
    out = io.StringIO()
    ember.viz.print_graph(y, params={"x": x, "w": w}, file=out)
    assert out.getvalue().splitlines() == [
        "SumBackward0",
        "└── AddBackward0",
        "    ├── MulBackward0",
        "    │   ├── AccumulateGrad x (2)",
        "    │   └── AccumulateGrad w (2)",
        "    └── ExpBackward0",
        "        └── MulBackward0 (see above)",
    ]
    out = io.StringIO()
    ember.viz.print_graph(x, params={"x": x}, file=out)
    assert out.getvalue() == "x (2) (no graph)\n"


class _FakeSource:
    """Stands in for graphviz.Source: records what draw passes it."""

    made = []

    def __init__(self, source):
        self.source = source
        _FakeSource.made.append(self)

    def render(self, outfile, format, cleanup):
        self.rendered = (outfile, format, cleanup)
        return outfile


def test_draw_hands_the_dot_source_to_graphviz(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "graphviz", types.SimpleNamespace(Source=_FakeSource))
    x = ember.tensor([1.0], requires_grad=True)
    y = (x * 2).sum()
    path = tmp_path / "graph.png"
    assert ember.viz.draw(y, path) == str(path)
    made = _FakeSource.made[-1]
    assert made.source == ember.viz.to_dot(y)
    assert made.rendered == (str(path), "png", True)


def test_draw_without_graphviz_raises_a_clear_import_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    with pytest.raises(ImportError, match="pip install graphviz"):
        ember.viz.draw(ember.ones(1), tmp_path / "g.svg")
