"""The bases torch's loss modules share, for losses written as their subclasses:
_Loss keeps the reduction, _WeightedLoss a class-weight buffer too."""

import warnings

from .modules import Module


def _legacy_reduction(size_average, reduce, stacklevel=3):
    """The reduction the pre-1.0 size_average/reduce pair stands for, with torch's warning
    (pointing `stacklevel` frames up)."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{reduction}' "
        "instead.",
        stacklevel=stacklevel,
    )
    return reduction


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            self.reduction = _legacy_reduction(size_average, reduce)
        else:
            self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
