"""Anomaly detection: backward names the node whose gradient held a NaN.

torch also records each forward op's Python traceback to print beside the
error; Ember does not (the message names the node, e.g. 'DivBackward0').
"""

import functools
import warnings

from .. import _C


class detect_anomaly:  # noqa: N801 - torch's name
    """Context manager (and decorator) that turns anomaly detection on."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and should "
            "only be enabled for debugging.",
            stacklevel=2,
        )

    def __enter__(self):
        self._previous = (_C.is_anomaly_enabled(), _C.is_anomaly_check_nan_enabled())
        _C._set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *exc):
        _C._set_anomaly_enabled(*self._previous)
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            switch = object.__new__(detect_anomaly)  # one per call: calls may nest
            switch.check_nan = self.check_nan
            with switch:
                return func(*args, **kwargs)

        return wrapper


class set_detect_anomaly:  # noqa: N801 - torch's name
    """Sets anomaly detection on or off; as a context manager, restores it on exit."""

    def __init__(self, mode, check_nan=True):
        self._previous = (_C.is_anomaly_enabled(), _C.is_anomaly_check_nan_enabled())
        _C._set_anomaly_enabled(bool(mode), check_nan)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        _C._set_anomaly_enabled(*self._previous)
        return False
