"""Grad-mode switches: context managers that also work as decorators."""

import functools
import inspect

from . import _C

# Whether inference_mode is on: only is_inference_mode_enabled() reads it, as
# Ember's inference mode is no_grad (it makes no separate inference tensors).
_inference_mode_on = [False]


class _GradModeSwitch:
    """Sets grad mode on entry and restores the previous mode on exit."""

    _enabled = True
    _inference = None  # True/False: inference_mode(mode) sets it too; None: left as is

    def __enter__(self):
        self._previous = _C._exchange_grad_enabled(self._enabled)
        if self._inference is not None:
            self._previous_inference = _inference_mode_on[0]
            _inference_mode_on[0] = self._inference
        return None

    def __exit__(self, *exc):
        _C._set_grad_enabled(self._previous)
        if self._inference is not None:
            _inference_mode_on[0] = self._previous_inference
        return False

    def _switch(self):
        """A fresh switch to the same mode (one per call of a decorated function)."""
        switch = object.__new__(_GradModeSwitch)
        switch._enabled = self._enabled
        switch._inference = self._inference
        return switch

    def __call__(self, func):
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self._switch():
                return func(*args, **kwargs)

        return wrapper

    def _wrap_generator(self, func):
        # The mode holds while the generator's own code runs, between yields,
        # not while the caller consumes what it yielded.
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            gen = func(*args, **kwargs)
            to_send, to_throw = None, None
            while True:
                try:
                    with self._switch():
                        value = gen.throw(to_throw) if to_throw else gen.send(to_send)
                except StopIteration as stop:
                    return stop.value
                to_send, to_throw = None, None
                try:
                    to_send = yield value
                except GeneratorExit:
                    with self._switch():
                        gen.close()
                    raise
                except BaseException as exc:  # noqa: BLE001 - handed to the generator
                    to_throw = exc

        return wrapper


class _BareDecorator(_GradModeSwitch):
    """`@no_grad` without parentheses works too, as in torch."""

    def __new__(cls, func=None):
        switch = object.__new__(cls)  # not super(): `with no_grad():` is on hot paths
        return switch if func is None else switch(func)

    def __init__(self, func=None):
        pass


class no_grad(_BareDecorator):
    """Ops inside record no graph; results do not require grad."""

    _enabled = False


class enable_grad(_BareDecorator):
    """Turns recording back on inside a no_grad region."""

    _enabled = True


class inference_mode(_GradModeSwitch):
    """Like no_grad (Ember has no separate inference tensors)."""

    _enabled = False

    def __init__(self, mode=True):
        self._enabled = not mode
        self._inference = bool(mode)


class set_grad_enabled(_GradModeSwitch):
    """set_grad_enabled(False) switches immediately and, used with `with`, restores on exit."""

    def __init__(self, mode):
        self._previous = _C.is_grad_enabled()
        self._enabled = bool(mode)
        _C._set_grad_enabled(self._enabled)

    def __enter__(self):
        return None

    def __call__(self, func):
        _C._set_grad_enabled(self._previous)  # as a decorator it only applies to calls
        return super().__call__(func)


def is_grad_enabled():
    return _C.is_grad_enabled()


def is_inference_mode_enabled():
    return _inference_mode_on[0]
