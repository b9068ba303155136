"""Grad-mode switches: context managers that also work as decorators."""

import functools

from . import _C


class _GradModeSwitch:
    """Sets grad mode on entry and restores the previous mode on exit."""

    _enabled = True

    def __enter__(self):
        self._previous = _C.is_grad_enabled()
        _C._set_grad_enabled(self._enabled)
        return None

    def __exit__(self, *exc):
        _C._set_grad_enabled(self._previous)
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradModeSwitch):
    """Ops inside record no graph; results do not require grad."""

    _enabled = False


class enable_grad(_GradModeSwitch):
    """Turns recording back on inside a no_grad region."""

    _enabled = True


class inference_mode(_GradModeSwitch):
    """Like no_grad (Ember has no separate inference tensors)."""

    _enabled = False

    def __init__(self, mode=True):
        self._enabled = not mode


class set_grad_enabled(_GradModeSwitch):
    """set_grad_enabled(False) switches immediately and, used with `with`, restores on exit."""

    def __init__(self, mode):
        self._previous = _C.is_grad_enabled()
        self._enabled = bool(mode)
        _C._set_grad_enabled(self._enabled)

    def __enter__(self):
        return None

    def __call__(self, func):
        _C._set_grad_enabled(self._previous)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self._enabled):
                return func(*args, **kwargs)

        return wrapper


def is_grad_enabled():
    return _C.is_grad_enabled()
