"""Ember: a reverse-mode autograd engine with a C++ core and a torch-shaped API.

`import ember as torch` runs code written for torch.autograd on CPU.
"""

# Loading scipy_openblas32 first puts its OpenBLAS in the process, so the
# extension's BLAS symbols resolve in regular and editable installs alike.
import gc as _gc

import scipy_openblas32 as _openblas  # noqa: F401

from . import _C, _composite, _inplace, _pointwise, _settings, _tensor_info
from . import _return_types as return_types  # noqa: F401
from ._C import *  # noqa: F401,F403
from ._C import (  # noqa: A004
    Tensor,
    bfloat16,
    bool,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
)
from ._device import cuda, device
from ._grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from ._size import Size
from ._tensor import _all as all  # noqa: A004 - torch.all, torch.any
from ._tensor import _any as any  # noqa: A004
from ._tensor import _install_tensor_methods
from ._tensor import _nanmean as nanmean
from ._tensor_str import set_printoptions

__version__ = "0.1.0"

float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
dtype = _C.dtype

_install_tensor_methods()


def _on_gc(phase, info):
    # Note [Tensors and Python's cycle collector]: one traverse answer per collection.
    if phase == "start":
        _C._gc_collection_starts()


_gc.callbacks.append(_on_gc)
_C._gc_watch_collections(_gc.callbacks, _on_gc)
_composite.install(globals())
_composite.install_more(globals())  # statistics, products, factories, scatters
_inplace.install()  # after _composite: in-place forms of the composed ops
globals().update(_settings.PUBLIC)  # pi, inf, set_float32_matmul_precision, ...
_tensor_info.install(globals())  # nbytes, is_signed, is_nonzero, ...

from . import linalg  # noqa: E402

linalg._install(globals())  # inverse, det, svd, ... and their Tensor methods


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    # `bool` is the dtype here, so ask the tensor for its truth value.
    return _pointwise.isclose(input, other, rtol, atol, equal_nan).all().item()


def numel(input):
    return input.numel()


# distributed needs no MPI until init_process_group
from . import autograd, distributed, func, nn, optim, utils, viz  # noqa: E402

autograd.inference_mode = inference_mode
from ._dtype_info import CONSTRUCTORS as _LEGACY_CONSTRUCTORS  # noqa: E402
from ._dtype_info import finfo, get_default_dtype, iinfo, set_default_dtype  # noqa: E402,F401
from .func import vmap  # noqa: E402,F401  (torch.vmap is torch.func.vmap)
from .nn.conv import conv1d, conv2d  # noqa: E402,F401 - torch.conv2d and friends
from .nn.losses_extra import pdist  # noqa: E402,F401
from .nn.pooling import max_pool1d, max_pool2d  # noqa: E402,F401
from .nn.random_layers import rrelu, rrelu_  # noqa: E402,F401
from .nn.unpooling import channel_shuffle, native_channel_shuffle  # noqa: E402,F401
from .serialization import load, save  # noqa: E402,F401
from .utils.dlpack import from_dlpack  # noqa: E402,F401

utils.dlpack.install()  # Tensor.__dlpack__ / __dlpack_device__

from . import amp  # noqa: E402
from .amp import autocast  # noqa: E402,F401

globals().update(_LEGACY_CONSTRUCTORS)  # FloatTensor, LongTensor, ...

from . import _api_gaps, _functional_aliases  # noqa: E402

_api_gaps.install(globals())
_functional_aliases.install(globals())  # torch.layer_norm, torch.relu_, ...
cuda.amp = amp._cuda_amp_module()

from . import _module_paths  # noqa: E402

_module_paths.install(globals())

from . import cpu, distributions, jit, multiprocessing, onnx, special, testing  # noqa: E402,F401

sinc = special.sinc  # torch.sinc is torch.special.sinc, also a Tensor method
_C.Tensor.sinc = special.sinc.__wrapped__  # methods take no out=
_C.Tensor.sinc_ = _inplace._in_place("sinc")

mvlgamma = special.multigammaln
_C.Tensor.mvlgamma = special.multigammaln.__wrapped__
from ._compile import compile  # noqa: E402,A004
from ._out import install as _install_out_forms  # noqa: E402

# The functions written in Python that take out= in torch (their Tensor
# methods do not); the C++ ones get it in python/src/out_forms.cpp.
_install_out_forms(
    globals(),
    (
        "all",
        "any",
        "bucketize",
        "clamp_max",
        "clamp_min",
        "column_stack",
        "deg2rad",
        "diag",
        "diff",
        "dstack",
        "histc",
        "histogram",
        "hstack",
        "inner",
        "isin",
        "nanmean",
        "nonzero",
        "norm",
        "rad2deg",
        "round",
        "searchsorted",
        "sgn",
        "signbit",
        "take_along_dim",
        "vstack",
        "where",
        "xlogy",
        "gcd",
        "lcm",
        "float_power",
        "heaviside",
        "frexp",
        "isposinf",
        "isneginf",
        "fix",
        "kron",
        "aminmax",
        "quantile",
        "nanquantile",
        "tensordot",
        "logspace",
        "range",
    ),
)

__all__ = [name for name in dir() if not name.startswith("_")]
