"""Drawing the autograd graph behind a tensor, as torchviz does for torch.

- ``to_dot(tensor, params=None, show_saved=False)`` returns Graphviz DOT source.
  Nodes are the graph's nodes, named as ``grad_fn`` names them
  (``MulBackward0``, ``AccumulateGrad``, ``CubeBackward``); a leaf that
  requires grad is a light-blue box labelled with its name from ``params``
  and its shape, feeding its ``AccumulateGrad``; the tensor itself is the
  green box at the end. Edges run forward, from inputs to the node that used
  them, as torchviz draws them. ``show_saved=True`` adds the tensors a custom
  Function saved for backward (orange, undirected edges).
- ``draw(tensor, path)`` renders that source to a file (SVG, PNG, PDF ... by the
  path's extension) with the optional ``graphviz`` package and the Graphviz
  ``dot`` program.
- ``print_graph(tensor)`` prints the graph as an indented tree.
"""

import os
import sys

from . import _C

__all__ = ["to_dot", "draw", "print_graph"]


def _shape_text(t):
    return "(" + ", ".join(str(d) for d in t.shape) + ")"


def _names(params):
    """{id(tensor): name} from a dict of names to tensors (named_parameters() too)."""
    if params is None:
        return {}
    items = params.items() if isinstance(params, dict) else params
    return {id(t): name for name, t in items}


def _tensor_label(t, names):
    return f"{names.get(id(t), '')}\n {_shape_text(t)}"


class _Graph:
    """The nodes and edges reachable from a tensor, each node visited once."""

    def __init__(self, tensor, names, show_saved):
        self.nodes = []  # (id, label, fill colour or None)
        self.edges = []  # (tail, head, undirected)
        self._ids = {}  # id(python object) -> DOT id
        self._alive = []  # keeps node objects alive so their ids stay unique
        self._names = names
        self._add_tensor(tensor, "darkolivegreen1", show_saved)

    def _id(self, obj):
        self._alive.append(obj)
        key = id(obj)
        if key not in self._ids:
            self._ids[key] = f"n{len(self._ids)}"
        return self._ids[key]

    def _add_tensor(self, t, colour, show_saved):
        tid = self._id(t)
        self.nodes.append((tid, _tensor_label(t, self._names), colour))
        if t.grad_fn is not None:
            self._add_graph(t.grad_fn, show_saved)
            self.edges.append((self._id(t.grad_fn), tid, False))
        if t._is_view() and t._base is not None:
            base = t._base
            if id(base) not in self._ids:
                self._add_tensor(base, "darkolivegreen3", show_saved)
            self.edges.append((self._id(base), tid, "dotted"))

    def _add_graph(self, root, show_saved):
        seen = set()
        stack = [root]
        while stack:
            fn = stack.pop()
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            fid = self._id(fn)
            self.nodes.append((fid, type(fn).__name__, None))
            leaf = getattr(fn, "variable", None)
            if leaf is not None:
                lid = self._id(leaf)
                self.nodes.append((lid, _tensor_label(leaf, self._names), "lightblue"))
                self.edges.append((lid, fid, False))
            if show_saved:
                for saved in _saved_of(fn):
                    sid = self._id(saved)
                    self.nodes.append((sid, _tensor_label(saved, self._names), "orange"))
                    self.edges.append((sid, fid, "none"))
            for nxt, _ in fn.next_functions:
                if nxt is not None:
                    self.edges.append((self._id(nxt), fid, False))
                    stack.append(nxt)


def _saved_of(fn):
    try:
        saved = fn.saved_tensors
    except (AttributeError, RuntimeError):
        return ()
    return tuple(t for t in saved if isinstance(t, _C.Tensor))


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tensor, params=None, show_saved=False):
    """Graphviz DOT source for the graph that produced `tensor`."""
    if not isinstance(tensor, _C.Tensor):
        raise TypeError(f"to_dot(): expected a Tensor, got {type(tensor).__name__}")
    graph = _Graph(tensor, _names(params), show_saved)
    lines = [
        "digraph {",
        '\tgraph [size="12,12"]',
        "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 "
        "shape=box style=filled]",
    ]
    done = set()
    for nid, label, colour in graph.nodes:
        if nid in done:
            continue
        done.add(nid)
        fill = f" fillcolor={colour}" if colour else ""
        lines.append(f"\t{nid} [label={_quote(label)}{fill}]")
    for tail, head, style in graph.edges:
        attrs = ""
        if style == "none":
            attrs = " [dir=none]"
        elif style == "dotted":
            attrs = " [style=dotted]"
        lines.append(f"\t{tail} -> {head}{attrs}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(tensor, path, params=None, show_saved=False):
    """Renders the graph behind `tensor` to `path`; the format comes from the extension
    (.svg, .png, .pdf, ...). Needs the `graphviz` package (pip install graphviz) and
    Graphviz's `dot` program. Returns the path written."""
    try:
        import graphviz
    except ImportError as exc:
        raise ImportError(
            "ember.viz.draw needs the 'graphviz' Python package (pip install graphviz, or "
            "pip install ember[viz]) and Graphviz's 'dot' program; ember.viz.to_dot gives the "
            "DOT source without them"
        ) from exc
    fmt = os.path.splitext(str(path))[1].lstrip(".") or "svg"
    source = graphviz.Source(to_dot(tensor, params, show_saved))
    return source.render(outfile=str(path), format=fmt, cleanup=True)


def print_graph(tensor, params=None, file=None):
    """Prints the graph behind `tensor` as a tree, outputs at the top; a node reached
    again is printed once and then referred to by name."""
    names = _names(params)
    out = file if file is not None else sys.stdout
    if tensor.grad_fn is None:
        print(f"{_leaf_text(tensor, names)} (no graph)", file=out)
        return
    printed, alive = set(), []  # alive: node objects keep their ids while we look
    stack = [(tensor.grad_fn, "", "", True)]
    while stack:
        fn, prefix, branch, last = stack.pop()
        alive.append(fn)
        text = type(fn).__name__
        leaf = getattr(fn, "variable", None)
        if leaf is not None:
            text += f" {_leaf_text(leaf, names)}"
        again = id(fn) in printed and fn.next_functions
        print(prefix + branch + text + (" (see above)" if again else ""), file=out)
        if again:
            continue
        printed.add(id(fn))
        children = [n for n, _ in fn.next_functions if n is not None]
        child_prefix = prefix + ("" if not branch else ("    " if last else "│   "))
        for i, child in reversed(list(enumerate(children))):
            is_last = i == len(children) - 1
            stack.append((child, child_prefix, "└── " if is_last else "├── ", is_last))
    return None


def _leaf_text(t, names):
    name = names.get(id(t))
    return f"{name} {_shape_text(t)}" if name else _shape_text(t)
