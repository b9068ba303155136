"""Forward-mode automatic differentiation: tensors that carry a tangent.

Within a dual level, ``make_dual(x, v)`` gives a tensor whose every use also
computes the directional derivative along ``v``; ``unpack_dual(y).tangent``
reads it. One level is open at a time, as in torch.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import _C

__all__ = [
    "UnpackedDualTensor",
    "dual_level",
    "enter_dual_level",
    "exit_dual_level",
    "make_dual",
    "unpack_dual",
]

# The Python-visible index of the open level (0, as torch numbers it), -1 when
# none; the core numbers its levels uniquely so old tangents go stale at once.
_current_level = -1
_core_level = 0


class UnpackedDualTensor(NamedTuple):
    primal: _C.Tensor
    tangent: _C.Tensor | None


def enter_dual_level():
    """Opens a dual level and returns its index; nesting is not supported."""
    global _current_level, _core_level
    _core_level = _C._enter_dual_level()
    _current_level = 0
    return _current_level


def exit_dual_level(*, level=None):
    """Closes the open dual level; every tangent made within it is dropped."""
    global _current_level, _core_level
    if level is None:
        level = _current_level
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    if level != _current_level:
        raise RuntimeError(
            "Trying to exit a forward AD level that was not the last one that was created. "
            "This is not supported."
        )
    _C._exit_dual_level(_core_level)
    _current_level = -1


def _check_level(level):
    if level is None:
        level = _current_level
    if level < 0:
        raise RuntimeError(
            "Trying to create a dual Tensor for forward AD but no level exists, make sure to "
            "enter_dual_level() first."
        )
    if level != _current_level:
        raise RuntimeError(f"Invalid dual level {level}: the open level is {_current_level}.")


def make_dual(tensor, tangent, *, level=None):
    """A view of ``tensor`` whose tangent is ``tangent`` (same shape) at the open level."""
    _check_level(level)
    for name, t in (("primal", tensor), ("tangent", tangent)):
        if not isinstance(t, _C.Tensor):
            raise TypeError(f"make_dual(): expected {name} to be a Tensor, got {type(t).__name__}")
        if not t.is_floating_point():
            raise ValueError(f"Expected {name} to be floating point or complex, but got: {t.dtype}")
    return _C._make_dual(tensor, tangent)


def unpack_dual(tensor, *, level=None):
    """``(primal, tangent)``: a view of ``tensor`` without its tangent, and the tangent
    (None when it has none or no level is open)."""
    if level is None:
        level = _current_level
    if level < 0:
        return UnpackedDualTensor(tensor, None)
    if level != _current_level:
        raise RuntimeError(f"Invalid dual level {level}: the open level is {_current_level}.")
    return UnpackedDualTensor(_C._primal(tensor), _C._tangent(tensor))


class dual_level:
    """Context manager for a dual level: ``with dual_level(): ...``.

    Tangents set inside it are dropped when it exits.
    """

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()
