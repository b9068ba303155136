"""ember.einsum: an equation reduced to sums, permutes and batched matmuls.

Operands are contracted left to right, two at a time. Before each step an
operand sums out the labels nobody needs later; the pair then becomes one
matmul of (batch, kept-left, summed) by (batch, summed, kept-right). Size-1
dims broadcast, as in torch. Node names differ from torch's (which records
its own bmm/permute sequence), values and gradients do not.
"""

import math

# Labels standing for the dims an ellipsis covers, right-aligned across operands.
_ELLIPSIS_LABELS = [chr(0x2460 + i) for i in range(64)]


def einsum(equation, *operands):
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    inputs, output = _parse(equation.replace(" ", ""), operands)
    sizes = _label_sizes(inputs, operands)
    terms = [_take_diagonals(x, labels, n) for n, (x, labels) in enumerate(zip(operands, inputs))]
    for n, label in enumerate(output):
        if label not in sizes:
            raise RuntimeError(
                f"einsum(): output subscript {label} does not appear in the equation for any "
                "input operand"
            )
        if label in output[:n]:
            raise RuntimeError(
                f"einsum(): output subscript {label} appears more than once in the output"
            )
    x, labels = terms[0]
    for k in range(1, len(terms)):
        after = set(output).union(*(t[1] for t in terms[k + 1 :]))
        x, labels = _sum_out(x, labels, after.union(terms[k][1]))
        y, y_labels = _sum_out(*terms[k], after.union(labels))
        x, labels = _contract(x, labels, y, y_labels, after, sizes)
    x, labels = _sum_out(x, labels, set(output))
    return x.permute([labels.index(label) for label in output]) if labels else x


def _parse(equation, operands):
    for n, char in enumerate(equation):
        if not (char.isascii() and char.isalpha()) and char not in ".,->":
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {n} in the equation string, "
                "subscripts must be in [a-zA-Z]"
            )
    left, arrow, right = equation.partition("->")
    specs = left.split(",")
    if len(specs) != len(operands):
        raise RuntimeError(
            "einsum(): more operands were provided than specified in the equation"
            if len(operands) > len(specs)
            else "einsum(): fewer operands were provided than specified in the equation"
        )
    inputs = [_expand_ellipsis(spec, x, n) for n, (spec, x) in enumerate(zip(specs, operands))]
    if arrow:
        covered = max(
            (x.dim() - len(s.replace("...", "")) for s, x in zip(specs, operands) if "..." in s),
            default=0,
        )
        output = _expand_ellipsis_output(right, covered)
    else:  # implicit output: the ellipsis dims, then labels seen once, sorted
        counts = {}
        for labels in inputs:
            for label in labels:
                counts[label] = counts.get(label, 0) + 1
        dots = [label for label in _ELLIPSIS_LABELS if label in counts]
        once = sorted(label for label, c in counts.items() if c == 1 and label not in dots)
        output = list(reversed(dots)) + once
    for label in "".join(specs + [right]).replace("...", ""):
        if not label.isalpha():
            raise RuntimeError(
                f"einsum(): invalid subscript given at index in the equation string: {label!r}"
            )
    return inputs, output


def _expand_ellipsis(spec, x, n):
    named = spec.replace("...", "")
    if "..." not in spec:
        if len(named) != x.dim():
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(named)}) does not match "
                f"the number of dimensions ({x.dim()}) for operand {n} and no ellipsis was given"
            )
        return list(spec)
    covered = x.dim() - len(named)
    if covered < 0:
        raise RuntimeError(
            f"einsum(): the number of subscripts in the equation ({len(named)}) is more than the "
            f"number of dimensions ({x.dim()}) for operand {n}"
        )
    before, after = spec.split("...")
    return list(before) + _ELLIPSIS_LABELS[:covered][::-1] + list(after)


def _expand_ellipsis_output(spec, covered):
    if "..." not in spec:
        return list(spec)
    before, after = spec.split("...")
    return list(before) + _ELLIPSIS_LABELS[:covered][::-1] + list(after)


def _label_sizes(inputs, operands):
    sizes = {}
    for n, (labels, x) in enumerate(zip(inputs, operands)):
        for label, size in zip(labels, x.shape):
            known = sizes.get(label, 1)
            if size != 1 and known != 1 and size != known:
                raise RuntimeError(
                    f"einsum(): subscript {label} has size {size} for operand {n} which does "
                    f"not broadcast with previously seen size {known}"
                )
            sizes[label] = size if known == 1 else known
    return sizes


def _take_diagonals(x, labels, operand):
    """A label repeated within one operand ('ii') keeps only its diagonal."""
    labels = list(labels)
    while len(set(labels)) != len(labels):
        label = next(lbl for n, lbl in enumerate(labels) if lbl in labels[:n])
        first = labels.index(label)
        second = labels.index(label, first + 1)
        n = x.shape[first]
        if x.shape[second] != n:
            raise RuntimeError(
                f"einsum(): subscript {label} is repeated for operand {operand} but the sizes "
                f"don't match, {x.shape[second]} != {n}"
            )
        # the diagonal (a view, as the last dim) moved back to where the label was
        x = x.diagonal(0, first, second).movedim(-1, first)
        del labels[second]
    return x, labels


def _sum_out(x, labels, needed):
    dropped = [n for n, label in enumerate(labels) if label not in needed]
    if not dropped:
        return x, labels
    return x.sum(dropped), [label for label in labels if label in needed]


def _contract(x, x_labels, y, y_labels, keep, sizes):
    batch = [lbl for lbl in x_labels if lbl in y_labels and lbl in keep]
    summed = [lbl for lbl in x_labels if lbl in y_labels and lbl not in keep]
    left = [lbl for lbl in x_labels if lbl not in y_labels]
    right = [lbl for lbl in y_labels if lbl not in x_labels]
    x = _arranged(x, x_labels, batch + left + summed, sizes)
    y = _arranged(y, y_labels, batch + summed + right, sizes)
    size = [sizes[lbl] for lbl in batch], [sizes[lbl] for lbl in left]
    m, k, n = (math.prod(sizes[lbl] for lbl in group) for group in (left, summed, right))
    b = math.prod(size[0])
    out = x.reshape(b, m, k) @ y.reshape(b, k, n)
    out = out.reshape(size[0] + size[1] + [sizes[lbl] for lbl in right])
    return out, batch + left + right


def _arranged(x, labels, order, sizes):
    """x with its dims in `order` and each broadcast to the label's full size."""
    x = x.permute([labels.index(lbl) for lbl in order])
    full = [sizes[lbl] for lbl in order]
    return x if list(x.shape) == full else x.expand(full)
