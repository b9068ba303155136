"""out= for the ops written in Python: the same path as the C++ ones take
(Note [out= forms] in python/src/out_forms.cpp)."""

import functools
import inspect

from . import _C


def _with_out_parameter(fn):
    """fn's signature with torch's keyword-only ``out=None`` added."""
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    at = len(params)
    if params and params[-1].kind is inspect.Parameter.VAR_KEYWORD:
        at -= 1
    out = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)
    return sig.replace(parameters=params[:at] + [out] + params[at:])


def out_form(name):
    """Gives the decorated function torch's keyword-only ``out=``: the result
    is written into ``out`` (a tensor, or a tuple for several results), which
    is returned. ``name`` keys the op's dtype rule (``"linalg.solve"``)."""

    def wrap(fn):
        @functools.wraps(fn)
        def with_out(*args, out=None, **kwargs):
            if out is None:
                return fn(*args, **kwargs)
            return _C._out_call(name, fn, out, args, kwargs)

        with_out.__signature__ = _with_out_parameter(fn)
        return with_out

    return wrap


def install(namespace, names, prefix=""):
    """Replaces each named function of a module's namespace with its out= form."""
    for name in names:
        namespace[name] = out_form(prefix + name)(namespace[name])
