"""The order of a tensor's dims in memory, for random draws that follow it.

torch draws the noise of dropout-like ops into ``empty_like(input)``, which
keeps a dense input's strides: a transposed input takes its draws column by
column. Drawing into ``input.permute(order)`` (contiguous when the layout is
dense) and permuting back gives the same draws in the same places."""


def memory_order(input):
    """The permutation that makes a dense, non-contiguous input contiguous, or None
    when the draws go in logical order (contiguous input, or not dense: torch's
    noise is then contiguous)."""
    if input.is_contiguous():
        return None
    shape, strides = tuple(input.shape), tuple(input.stride())
    order = sorted(range(len(shape)), key=lambda i: -strides[i])
    expected = 1
    for i in reversed(order):
        if shape[i] != 1 and strides[i] != expected:
            return None
        expected *= shape[i]
    return None if order == list(range(len(shape))) else order


def inverse(order):
    return sorted(range(len(order)), key=order.__getitem__)
