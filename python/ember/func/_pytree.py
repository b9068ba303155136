"""Nested containers of tensors (pytrees): flatten to a list of leaves and back.

Tuples (named tuples too), lists and dicts are containers; anything else is a
leaf. ``TreeSpec`` records the structure, so two trees can be compared and a
list of new leaves put back in place.
"""


class TreeSpec:
    """The shape of a pytree: a container kind, its keys and child specs, or a leaf."""

    __slots__ = ("kind", "keys", "children", "num_leaves")

    def __init__(self, kind, keys=None, children=()):
        self.kind = kind  # None for a leaf, else the container's type
        self.keys = keys
        self.children = tuple(children)
        self.num_leaves = 1 if kind is None else sum(c.num_leaves for c in self.children)

    def __eq__(self, other):
        return (
            isinstance(other, TreeSpec)
            and self.kind == other.kind
            and self.keys == other.keys
            and self.children == other.children
        )

    def __hash__(self):
        return hash((self.kind, self.keys, self.children))

    def __repr__(self, indent=0):
        # torch.utils._pytree's layout, so messages that print a structure read the same.
        if self.kind is None:
            return "*"
        context = list(self.keys) if self.kind is dict else None
        if self.kind not in (dict, list, tuple):
            context = self.kind
        inner = ""
        if self.children:
            indent += 2
            parts = [c.__repr__(indent) for c in self.children]
            inner = parts[0] + ("," if len(parts) > 1 else "")
            inner += ",".join("\n" + " " * indent + p for p in parts[1:])
        return f"TreeSpec({self.kind.__name__}, {context}, [{inner}])"


_LEAF = TreeSpec(None)


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def tree_flatten(tree):
    """(leaves, spec) for a nested structure of tuples, lists and dicts."""
    leaves = []
    return leaves, _flatten_into(tree, leaves)


def _flatten_into(tree, leaves):
    if isinstance(tree, (tuple, list)):
        kind = type(tree) if _is_namedtuple(tree) else (tuple if isinstance(tree, tuple) else list)
        return TreeSpec(kind, None, [_flatten_into(x, leaves) for x in tree])
    if isinstance(tree, dict):
        keys = tuple(tree.keys())
        return TreeSpec(dict, keys, [_flatten_into(tree[k], leaves) for k in keys])
    leaves.append(tree)
    return _LEAF


def tree_unflatten(leaves, spec):
    """The structure `spec` filled with `leaves` in order."""
    it = iter(leaves)
    tree = _build(spec, it)
    return tree


def _build(spec, it):
    if spec.kind is None:
        return next(it)
    children = [_build(c, it) for c in spec.children]
    if spec.kind is dict:
        return dict(zip(spec.keys, children))
    if spec.kind is list:
        return children
    if spec.kind is tuple:
        return tuple(children)
    return spec.kind(*children)  # a named tuple


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)
