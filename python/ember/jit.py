"""torch.jit's decorators and questions for code that uses them. Ember runs every
model eagerly, so scripting and tracing give back the function or module itself:
the results are the same values, without TorchScript's compilation or its
restrictions. Saving and loading TorchScript archives is not supported."""

import typing

__all__ = [
    "Final",
    "annotate",
    "export",
    "fork",
    "ignore",
    "is_scripting",
    "is_tracing",
    "load",
    "save",
    "script",
    "script_if_tracing",
    "trace",
    "unused",
    "wait",
]

Final = typing.Final


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """The function or module, run eagerly (scripting it would compute the same)."""
    return obj


def trace(func, example_inputs=None, *args, **kwargs):
    """The function or module itself: eager execution records nothing to replay."""
    return func


def script_if_tracing(fn):
    return fn


def ignore(drop=False, **kwargs):
    """Marks a function TorchScript should leave to Python; a no-op here."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def is_scripting():
    return False


def is_tracing():
    return False


def annotate(the_type, the_value):
    return the_value


class _Done:
    """The future fork returns: the call has already run."""

    def __init__(self, value):
        self._value = value

    def wait(self):
        return self._value

    def value(self):
        return self._value


def fork(func, *args, **kwargs):
    """Runs func now (Ember has no interpreter threads to hand it to)."""
    return _Done(func(*args, **kwargs))


def wait(future):
    return future.wait()


def save(m, f, _extra_files=None):
    raise NotImplementedError(
        "ember.jit.save: Ember has no TorchScript archives; save the state_dict with ember.save"
    )


def load(f, map_location=None, _extra_files=None):
    raise NotImplementedError(
        "ember.jit.load: Ember cannot read TorchScript archives; load a state_dict with ember.load"
    )
