"""torch's process-wide constants and switches, answered for a CPU-only library.

Scripts set these at the top (`set_float32_matmul_precision("high")`,
`use_deterministic_algorithms(True)`) and read them back; Ember keeps the values
so they read back as set. None of them changes a result: Ember's float32
products are always full precision and its kernels are deterministic.
"""

import math
import os
import warnings

from ._device import check_device, device

pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
newaxis = None  # x[:, torch.newaxis] is x[:, None]

_MATMUL_PRECISIONS = ("highest", "high", "medium")
_state = {
    "matmul_precision": "highest",
    "deterministic": False,
    "deterministic_warn_only": False,
    "interop_threads": None,  # None: never set, the default is the core count
}


def _require(value, kind, message):
    if not isinstance(value, kind):
        raise RuntimeError(message.format(type(value).__name__))


def set_float32_matmul_precision(precision):
    """Kept and read back; Ember's float32 products always run at "highest"."""
    _require(precision, str, "set_float32_matmul_precision expects a str, but got {}")
    if precision not in _MATMUL_PRECISIONS:
        # torch warns and keeps the previous setting
        warnings.warn(
            f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
            "setFloat32MatmulPrecision call has no effect.",
            UserWarning,
            stacklevel=2,
        )
        return
    _state["matmul_precision"] = precision


def get_float32_matmul_precision():
    return _state["matmul_precision"]


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Kept and read back; every Ember kernel is already deterministic."""
    if not isinstance(mode, bool):
        raise TypeError(
            "_set_deterministic_algorithms(): argument 'mode' (position 1) must be bool, not "
            f"{type(mode).__name__}"
        )
    if not isinstance(warn_only, bool):
        raise TypeError(
            "_set_deterministic_algorithms(): argument 'warn_only' must be bool, not "
            f"{type(warn_only).__name__}"
        )
    _state["deterministic"] = mode
    _state["deterministic_warn_only"] = mode and warn_only


def are_deterministic_algorithms_enabled():
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled():
    return _state["deterministic_warn_only"]


_DEBUG_MODES = ("default", "warn", "error")


def set_deterministic_debug_mode(debug_mode):
    """0/"default": off, 1/"warn": warn only, 2/"error": on."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(
                "invalid value of debug_mode, expected one of `default`, `warn`, `error`, "
                f"but got {debug_mode}"
            )
        debug_mode = _DEBUG_MODES.index(debug_mode)
    elif not isinstance(debug_mode, int):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(
            f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}"
        )
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode():
    if not _state["deterministic"]:
        return 0
    return 1 if _state["deterministic_warn_only"] else 2


def set_flush_denormal(mode):
    """False: Ember does not switch the CPU's denormal handling (see docs/compatibility.md)."""
    _require(mode, bool, "flush_denormal expects a bool, but got {}")
    return False


def get_num_interop_threads():
    chosen = _state["interop_threads"]
    return chosen if chosen is not None else (os.cpu_count() or 1)


def set_num_interop_threads(num):
    """Kept and read back: Ember runs no inter-op pool. Like torch, it can be set only once."""
    if not isinstance(num, int) or isinstance(num, bool) or num <= 0:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    if _state["interop_threads"] is not None:
        raise RuntimeError(
            "Error: cannot set number of interop threads after parallel work has started or "
            "set_num_interop_threads called"
        )
    _state["interop_threads"] = num


def set_default_device(where):
    """Only the CPU (or None, which restores it) is accepted: Ember has no other device."""
    check_device(where)


def get_default_device():
    return device("cpu")


PUBLIC = {
    "pi": pi,
    "e": e,
    "inf": inf,
    "nan": nan,
    "newaxis": newaxis,
    "set_float32_matmul_precision": set_float32_matmul_precision,
    "get_float32_matmul_precision": get_float32_matmul_precision,
    "use_deterministic_algorithms": use_deterministic_algorithms,
    "are_deterministic_algorithms_enabled": are_deterministic_algorithms_enabled,
    "is_deterministic_algorithms_warn_only_enabled": is_deterministic_algorithms_warn_only_enabled,
    "set_deterministic_debug_mode": set_deterministic_debug_mode,
    "get_deterministic_debug_mode": get_deterministic_debug_mode,
    "set_flush_denormal": set_flush_denormal,
    "get_num_interop_threads": get_num_interop_threads,
    "set_num_interop_threads": set_num_interop_threads,
    "set_default_device": set_default_device,
    "get_default_device": get_default_device,
}
