"""Small torch forms that real scripts use, installed into the ember namespace.

- `multinomial` (and Tensor.multinomial), `normal`, `histc`, `histogram`,
  `searchsorted`, `bucketize`, `isin`, `Tensor.new`;
- `keepdims=` for the reductions composed in Python (the C++ ones rename it in the
  bindings, Note [keepdims]);
- `autograd.Variable`, the legacy wrapper: `Variable(t, requires_grad=True)` is a tensor;
- `accelerator`, `backends` and the CUDA seeding functions, answered as torch answers
  them on a machine without CUDA.
"""

import functools
import sys
import types
import warnings

from . import _C
from ._histogram import histc, histogram
from ._multinomial import multinomial
from ._sampling import new, normal
from ._searching import bucketize, isin, searchsorted

# ----- keepdims for the Python reductions ---------------------------------------------

_PY_REDUCTIONS = (
    "any",
    "all",
    "nanmean",
    "std_mean",
    "var_mean",
)


def _accepting_keepdims(fn):
    @functools.wraps(fn)
    def reduction(*args, **kwargs):
        if "keepdims" in kwargs:
            if "keepdim" in kwargs:
                raise TypeError(f"{fn.__name__}() got multiple values for argument 'keepdim'")
            kwargs["keepdim"] = kwargs.pop("keepdims")
        return fn(*args, **kwargs)

    return reduction


# ----- autograd.Variable --------------------------------------------------------------


class _VariableMeta(type):
    def __instancecheck__(cls, other):
        return isinstance(other, _C.Tensor)


class Variable(metaclass=_VariableMeta):
    """torch.autograd.Variable: since torch 0.4 it makes a tensor.

    `Variable(t)` is a new leaf sharing t's memory (t detached), requiring grad only if
    asked; `isinstance(t, Variable)` holds for every tensor.
    """

    def __new__(cls, data=None, requires_grad=False, volatile=False, _grad_fn=None):
        if volatile:
            warnings.warn("volatile was removed (Variable.volatile is always False)", stacklevel=2)
        if data is None:
            return _C.empty(0)
        if not isinstance(data, _C.Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if requires_grad and not data.is_floating_point():
            raise RuntimeError(
                "Only Tensors of floating point and complex dtype can require gradients"
            )
        out = data.detach()
        if requires_grad:
            out.requires_grad_(True)
        return out


# ----- accelerator, backends, cuda ----------------------------------------------------


def _module(name, doc, **members):
    mod = types.ModuleType(name, doc)
    mod.__dict__.update(members)
    sys.modules[name] = mod
    return mod


def _no_accelerator(*args, **kwargs):
    raise RuntimeError("Cannot access accelerator device when none is available.")


def _accelerator():
    return _module(
        "ember.accelerator",
        "torch.accelerator's questions, answered for a CPU-only library.",
        is_available=lambda: False,
        current_accelerator=lambda check_available=False: None,
        device_count=lambda: 0,
        current_device_index=_no_accelerator,
        current_device_idx=_no_accelerator,
        set_device_index=_no_accelerator,
        set_device_idx=_no_accelerator,
        synchronize=_no_accelerator,
    )


class _Flags:
    """A namespace of settable flags (backends.cuda.matmul and the like)."""

    def __init__(self, **flags):
        self.__dict__.update(flags)


def _backends():
    cudnn = _module(
        "ember.backends.cudnn",
        "cuDNN settings; Ember has no cuDNN, the flags are kept for scripts that set them.",
        enabled=True,
        benchmark=False,
        deterministic=False,
        allow_tf32=True,
        benchmark_limit=10,
        is_available=lambda: False,
        is_acceptable=lambda tensor: False,
        version=lambda: None,
    )
    mps = _module(
        "ember.backends.mps",
        "Apple's Metal backend: not in Ember.",
        is_available=lambda: False,
        is_built=lambda: False,
    )
    cuda = _module(
        "ember.backends.cuda",
        "CUDA settings: not in Ember.",
        is_built=lambda: False,
        matmul=_Flags(
            allow_tf32=False,
            allow_fp16_reduced_precision_reduction=True,
            allow_bf16_reduced_precision_reduction=True,
        ),
    )
    mkldnn = _module("ember.backends.mkldnn", "", is_available=lambda: False, enabled=True)
    openmp = _module("ember.backends.openmp", "", is_available=lambda: False)
    return _module(
        "ember.backends",
        "torch.backends' flags for a CPU-only library.",
        cudnn=cudnn,
        mps=mps,
        cuda=cuda,
        mkldnn=mkldnn,
        openmp=openmp,
    )


def _cuda_not_compiled(*args, **kwargs):
    raise AssertionError("Ember is not compiled with CUDA enabled: it runs on the CPU only")


def _install_cuda(cuda):
    # torch queues these until CUDA initialises, which never happens without it: no-ops.
    for name in ("manual_seed", "manual_seed_all", "seed", "seed_all", "empty_cache"):
        setattr(cuda, name, staticmethod(lambda *args, **kwargs: None))
    for name in ("synchronize", "initial_seed", "current_device", "get_device_name"):
        setattr(cuda, name, staticmethod(_cuda_not_compiled))


def install(namespace):
    namespace["multinomial"] = multinomial
    namespace["normal"] = normal
    namespace["searchsorted"] = searchsorted
    namespace["bucketize"] = bucketize
    namespace["isin"] = isin
    namespace["_standard_gamma"] = _C._standard_gamma
    _C.Tensor.new = new
    namespace["histc"] = histc
    namespace["histogram"] = histogram
    _C.Tensor.multinomial = multinomial
    _C.Tensor.histc = histc
    _C.Tensor.histogram = histogram

    for name in _PY_REDUCTIONS:
        if name in namespace:
            namespace[name] = _accepting_keepdims(namespace[name])
        method = _C.Tensor.__dict__.get(name)
        if isinstance(method, types.FunctionType):  # the C++ ones: Note [keepdims]
            setattr(_C.Tensor, name, _accepting_keepdims(method))

    namespace["autograd"].Variable = Variable
    namespace["accelerator"] = _accelerator()
    namespace["backends"] = _backends()
    _install_cuda(namespace["cuda"])
