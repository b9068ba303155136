"""Text formatting of tensors, matching PyTorch's ``repr``/``str`` output.

This module is pure Python (numpy only) so that it can be used and tested
without the compiled extension. The output is meant to be byte-identical to
``repr(torch_tensor)`` of PyTorch 2.13.0 for dense CPU tensors, with the
``torch.`` namespace replaced by ``ember.`` (e.g. ``dtype=ember.float64``).

Public entry points:

* :func:`format_tensor` -- the text of ``repr(t)`` / ``str(t)``.
* :func:`format_tensor_spec` -- the text of ``format(t, spec)`` (f-strings).
* :func:`format_scalar_spec` -- ``format(t.item(), spec)`` for 0-d tensors.
* :func:`set_printoptions`, :func:`get_printoptions`, :func:`printoptions`.

Behaviour notes (all mirrored from PyTorch):

* A floating tensor is laid out from the statistics of its *nonzero finite*
  values: if they are all whole numbers it prints in "integer mode"
  (``1.``, ``-0.``); scientific notation is used when
  ``max / min > 1000``, ``max > 1e8`` or ``min < 1e-4`` (absolute values),
  unless ``sci_mode`` was forced through :func:`set_printoptions`.
  If there is no nonzero finite value the forced ``sci_mode`` is ignored.
* Above ``threshold`` elements the output is summarized with ``...``,
  keeping ``edgeitems`` entries at each end of every dimension; the column
  width is then computed from the shown entries only.
* ``set_printoptions`` always overwrites ``sci_mode`` (with ``None`` when the
  argument is omitted), exactly as PyTorch does.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = [
    "format_scalar_spec",
    "format_tensor",
    "format_tensor_spec",
    "get_printoptions",
    "printoptions",
    "set_printoptions",
]

# Name of the namespace printed in front of dtypes (``torch.`` in PyTorch).
_NAMESPACE = "ember"
# The dtype PyTorch calls the "default dtype" (float32 unless set_default_dtype
# changed it, which calls set_default_float_dtype_name): never printed for
# non-empty tensors, and the only dtype not printed for empty tensors.
_default_float_dtype_name = "float32"


def set_default_float_dtype_name(name: str) -> None:
    global _default_float_dtype_name
    _default_float_dtype_name = name


def _default_float_dtype():
    return _default_float_dtype_name


def _implicit_dtypes():
    """dtypes whose name is not printed for non-empty tensors."""
    return {_default_float_dtype_name, "int64", "bool"}


# --------------------------------------------------------------------------
# Print options
# --------------------------------------------------------------------------


class _Options:
    # A plain class rather than a dataclass so that the module also works
    # when loaded by file path without being registered in sys.modules.
    __slots__ = ("edgeitems", "linewidth", "precision", "sci_mode", "threshold")
    # Field order of get_printoptions(), as in PyTorch.
    FIELDS = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

    def __init__(self) -> None:
        self.precision: int = 4
        self.threshold: float = 1000
        self.edgeitems: int = 3
        self.linewidth: int = 80
        self.sci_mode: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}


# (precision, threshold, edgeitems, linewidth) for each named profile.
_PROFILES: dict[str, tuple[int, float, int, int]] = {
    "default": (4, 1000, 3, 80),
    "short": (2, 1000, 2, 80),
    "full": (4, math.inf, 3, 80),
}

_options = _Options()


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set the options used to print tensors (same semantics as PyTorch).

    ``profile`` ("default", "short" or "full"; any other name is ignored)
    is applied first, then every explicit argument overrides it.
    ``sci_mode`` is always assigned, so omitting it resets it to ``None``
    (automatic choice).
    """
    if profile is not None and profile in _PROFILES:
        (
            _options.precision,
            _options.threshold,
            _options.edgeitems,
            _options.linewidth,
        ) = _PROFILES[profile]
    if precision is not None:
        _options.precision = precision
    if threshold is not None:
        _options.threshold = threshold
    if edgeitems is not None:
        _options.edgeitems = edgeitems
    if linewidth is not None:
        _options.linewidth = linewidth
    _options.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Return the current print options as a dict usable as
    ``set_printoptions(**get_printoptions())``."""
    return _options.as_dict()


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Temporarily change the print options (arguments as set_printoptions)."""
    saved = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**saved)


# --------------------------------------------------------------------------
# Element formatting
# --------------------------------------------------------------------------


class _ElementFormatter:
    """Turns one Python scalar into a right-aligned cell of common width.

    The layout (integer mode, scientific mode, width) is decided once from
    ``sample``, the values that will actually be shown.
    """

    def __init__(self, sample: np.ndarray, floating: bool, opts: _Options) -> None:
        self.floating = floating
        self.precision = opts.precision
        self.int_mode = True
        self.sci_mode = False
        self.width = 1

        flat = sample.reshape(-1)
        if not floating:
            for item in flat.tolist():
                self.width = max(self.width, len(str(item)))
            return

        shown = flat[np.isfinite(flat) & (flat != 0)]
        if shown.size == 0:
            return

        self.int_mode = bool(np.all(np.ceil(shown) == shown))
        magnitudes = np.abs(shown).astype(np.float64)
        smallest = float(magnitudes.min())
        largest = float(magnitudes.max())
        if opts.sci_mode is None:
            with np.errstate(over="ignore"):
                ratio = float(np.float64(largest) / np.float64(smallest))
            self.sci_mode = ratio > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
        else:
            self.sci_mode = opts.sci_mode

        items = shown.tolist()
        if self.sci_mode:
            cells = (f"{v:.{self.precision}e}" for v in items)
            extra = 0
        elif self.int_mode:
            cells = (f"{v:.0f}" for v in items)
            extra = 1  # room for the trailing "."
        else:
            cells = (f"{v:.{self.precision}f}" for v in items)
            extra = 0
        for cell in cells:
            self.width = max(self.width, len(cell) + extra)

    def __call__(self, value: Any) -> str:
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.width}.{self.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}"
            if math.isfinite(value):
                text += "."
        else:
            text = f"{value:.{self.precision}f}"
        return text.rjust(self.width)


# --------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------


def _summary_sample(arr: np.ndarray, edgeitems: int) -> np.ndarray:
    """The values visible once a tensor is summarized (order irrelevant)."""
    if arr.ndim == 0:
        return arr
    if arr.ndim == 1:
        if arr.shape[0] > 2 * edgeitems:
            # Note: with edgeitems == 0, ``arr[-0:]`` is the whole vector,
            # which is what PyTorch ends up measuring as well.
            return np.concatenate((arr[:edgeitems], arr[-edgeitems:]))
        return arr
    if not edgeitems:
        return arr[tuple(slice(0, 0) for _ in arr.shape)]
    for axis, size in enumerate(arr.shape):
        if size > 2 * edgeitems:
            keep = list(range(edgeitems)) + list(range(size - edgeitems, size))
            arr = np.take(arr, keep, axis=axis)
    return arr


def _layout_vector(
    vec: np.ndarray,
    indent: int,
    summarize: bool,
    fmt: _ElementFormatter,
    opts: _Options,
) -> str:
    cell_width = fmt.width + 2  # cell plus the ", " separator
    per_line = max(1, math.floor((opts.linewidth - indent) / cell_width))
    edge = opts.edgeitems
    if summarize and not edge:
        cells = ["..."]
    elif summarize and vec.shape[0] > 2 * edge:
        head = [fmt(v) for v in vec[:edge].tolist()]
        tail = [fmt(v) for v in vec[-edge:].tolist()]
        cells = [*head, " ...", *tail]
    else:
        cells = [fmt(v) for v in vec.tolist()]
    rows = [", ".join(cells[start : start + per_line]) for start in range(0, len(cells), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(rows) + "]"


def _layout(
    arr: np.ndarray,
    indent: int,
    summarize: bool,
    fmt: _ElementFormatter,
    opts: _Options,
) -> str:
    if arr.ndim == 0:
        return fmt(arr.item())
    if arr.ndim == 1:
        return _layout_vector(arr, indent, summarize, fmt, opts)

    count = arr.shape[0]
    edge = opts.edgeitems
    if summarize and count > 2 * edge:
        picked = [*range(edge), None, *range(count - edge, count)]
    else:
        picked = list(range(count))
    blocks = [
        "..." if i is None else _layout(arr[i], indent + 1, summarize, fmt, opts) for i in picked
    ]
    separator = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(blocks) + "]"


def _append_suffixes(text: str, suffixes: list[str], indent: int, opts: _Options) -> str:
    parts = [text]
    # Same (slightly off-by-some) measure of the last line as PyTorch.
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > opts.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _as_array(values: Any, dtype: str) -> np.ndarray:
    arr = np.asarray(values)
    try:
        wanted = np.dtype(dtype)
    except TypeError:
        return arr
    if arr.dtype != wanted:
        arr = arr.astype(wanted)
    return arr


def format_tensor(
    values: np.ndarray,
    *,
    dtype: str,
    requires_grad: bool = False,
    grad_fn: str | None = None,
    tangent: str | None = None,
    tensor_type_prefix: str = "tensor",
) -> str:
    """Return the text PyTorch's ``repr(t)`` gives for a tensor with these
    values, with ``ember.`` in place of ``torch.``.

    ``values`` holds the data (any shape, including 0-d and empty shapes);
    it is converted to ``dtype`` (an ember/numpy dtype name such as
    "float32", "float64", "int64", "bool") if it is not already of it.
    ``grad_fn`` is the backward node's class name; when it is given,
    ``requires_grad`` is not printed (as in PyTorch, where only leaves show
    ``requires_grad=True``). ``tangent`` is the repr of a forward-mode tangent.
    """
    arr = _as_array(values, dtype)
    opts = _options
    prefix = f"{tensor_type_prefix}("
    indent = len(prefix)
    suffixes: list[str] = []

    if arr.size == 0:
        # Shapes other than (0,) are spelled out; an empty tensor has no
        # value to tell its kind, so any non-default dtype is shown.
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if dtype != _default_float_dtype():
            suffixes.append(f"dtype={_NAMESPACE}.{dtype}")
        body = "[]"
    else:
        if not opts.edgeitems:
            suffixes.append(f"size={tuple(arr.shape)}")
        if dtype not in _implicit_dtypes():
            suffixes.append(f"dtype={_NAMESPACE}.{dtype}")
        summarize = arr.size > opts.threshold
        sample = _summary_sample(arr, opts.edgeitems) if summarize else arr
        floating = bool(np.issubdtype(arr.dtype, np.floating))
        fmt = _ElementFormatter(sample, floating, opts)
        body = _layout(arr, indent, summarize, fmt, opts)

    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    if tangent is not None:
        suffixes.append(f"tangent={tangent}")

    return _append_suffixes(prefix + body, suffixes, indent, opts)


# --------------------------------------------------------------------------
# format() / f-string support
# --------------------------------------------------------------------------


def _python_scalar(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def format_scalar_spec(value: float, spec: str) -> str:
    """``format(t, spec)`` for a 0-d tensor ``t`` whose value is ``value``
    (a Python or numpy float, int or bool).

    PyTorch formats the Python number ``t.item()``, so ``f"{t:.4f}"`` gives
    ``"28.0000"`` and even ``f"{t}"`` gives ``"28.0"`` (not ``tensor(28.)``).
    """
    return format(_python_scalar(value), spec)


def format_tensor_spec(
    values: np.ndarray,
    spec: str,
    *,
    dtype: str,
    requires_grad: bool = False,
    grad_fn: str | None = None,
    tangent: str | None = None,
    tensor_type_prefix: str = "tensor",
    type_name: str = "Tensor",
) -> str:
    """Full ``Tensor.__format__`` semantics of PyTorch.

    * 0-d tensor: ``format(t.item(), spec)`` (also for an empty spec).
    * any other tensor (including a 1-element 1-d one): with an empty spec,
      the same text as ``str(t)``; with a non-empty spec, ``TypeError``
      ("unsupported format string passed to Tensor.__format__").
    """
    arr = _as_array(values, dtype)
    if arr.ndim == 0:
        return format_scalar_spec(arr.item(), spec)
    if spec:
        raise TypeError(f"unsupported format string passed to {type_name}.__format__")
    return format_tensor(
        arr,
        dtype=dtype,
        requires_grad=requires_grad,
        grad_fn=grad_fn,
        tangent=tangent,
        tensor_type_prefix=tensor_type_prefix,
    )
