"""ember.nn: parameters, modules and losses."""

from . import _rnn_utils as _rnn_utils  # noqa: E402
from . import activation as _activation  # noqa: E402
from . import functional, init, parallel, utils  # noqa: F401
from . import reparametrized_weights as _reparametrized  # noqa: E402
from .container import (  # noqa: F401
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
from .embedding import Embedding, EmbeddingBag  # noqa: F401
from .modules import (  # noqa: F401
    GELU,
    BCELoss,
    BCEWithLogitsLoss,
    Buffer,
    CosineEmbeddingLoss,
    CosineSimilarity,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    HingeEmbeddingLoss,
    HuberLoss,
    Identity,
    KLDivLoss,
    L1Loss,
    LazyLinear,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MarginRankingLoss,
    Module,
    MSELoss,
    NLLLoss,
    PairwiseDistance,
    Parameter,
    PoissonNLLLoss,
    ReLU,
    Sigmoid,
    SiLU,
    SmoothL1Loss,
    SoftMarginLoss,
    Softmax,
    Softplus,
    Tanh,
    TripletMarginLoss,
    Unflatten,
    UninitializedParameter,
)
from .normalization import (  # noqa: F401
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    LayerNorm,
    RMSNorm,
    SyncBatchNorm,
)
from .parallel import DataParallel  # noqa: F401
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: F401

for _name in ("weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm"):
    setattr(utils, _name, getattr(_reparametrized, _name))

# torch.nn.utils.parametrize and .parametrizations, registered as submodules of utils
from . import parametrizations as _parametrizations  # noqa: E402
from . import parametrize as _parametrize  # noqa: E402

utils.parametrize, utils.parametrizations = _parametrize, _parametrizations
__import__("sys").modules[__name__ + ".utils.parametrize"] = _parametrize
__import__("sys").modules[__name__ + ".utils.parametrizations"] = _parametrizations

# torch.nn.utils.rnn: utils is a module here, so the submodule is registered by name
utils.rnn = _rnn_utils
__import__("sys").modules[__name__ + ".utils.rnn"] = _rnn_utils

# The extra activations live in their own file; torch has them in F and nn.
functional.__dict__.update(_activation.FUNCTIONS)
globals().update({m.__name__: m for m in _activation.MODULES})

# Convolution and pooling live in their own files; torch has them in F and nn.
from . import conv as _conv  # noqa: E402
from . import ctc as _ctc  # noqa: E402
from . import grid_sampling as _grid_sampling  # noqa: E402
from . import pooling as _pooling  # noqa: E402
from . import volumetric as _volumetric  # noqa: E402

functional.__dict__.update(
    conv1d=_conv.conv1d,
    conv2d=_conv.conv2d,
    conv_transpose1d=_conv.conv_transpose1d,
    conv_transpose2d=_conv.conv_transpose2d,
    max_pool1d=_pooling.max_pool1d,
    max_pool2d=_pooling.max_pool2d,
    max_pool1d_with_indices=_pooling.max_pool1d_with_indices,
    max_pool2d_with_indices=_pooling.max_pool2d_with_indices,
    avg_pool2d=_pooling.avg_pool2d,
    adaptive_avg_pool2d=_pooling.adaptive_avg_pool2d,
    dropout2d=_pooling.dropout2d,
    dropout1d=_pooling.dropout1d,
    dropout3d=_pooling.dropout3d,
    avg_pool1d=_pooling.avg_pool1d,
    adaptive_avg_pool1d=_pooling.adaptive_avg_pool1d,
    adaptive_max_pool1d=_pooling.adaptive_max_pool1d,
    adaptive_max_pool2d=_pooling.adaptive_max_pool2d,
    adaptive_max_pool1d_with_indices=_pooling.adaptive_max_pool1d_with_indices,
    adaptive_max_pool2d_with_indices=_pooling.adaptive_max_pool2d_with_indices,
    ctc_loss=_ctc.ctc_loss,
    affine_grid=_grid_sampling.affine_grid,
    grid_sample=_grid_sampling.grid_sample,
    conv3d=_volumetric.conv3d,
    conv_transpose3d=_volumetric.conv_transpose3d,
    max_pool3d=_volumetric.max_pool3d,
    avg_pool3d=_volumetric.avg_pool3d,
    adaptive_avg_pool3d=_volumetric.adaptive_avg_pool3d,
    adaptive_max_pool3d=_volumetric.adaptive_max_pool3d,
)
Conv3d, MaxPool3d, AvgPool3d = _volumetric.Conv3d, _volumetric.MaxPool3d, _volumetric.AvgPool3d
ConvTranspose3d = _volumetric.ConvTranspose3d
AdaptiveAvgPool3d = _volumetric.AdaptiveAvgPool3d
AdaptiveMaxPool3d = _volumetric.AdaptiveMaxPool3d
CTCLoss = _ctc.CTCLoss
Conv1d, Conv2d = _conv.Conv1d, _conv.Conv2d
ConvTranspose1d, ConvTranspose2d = _conv.ConvTranspose1d, _conv.ConvTranspose2d
from . import fractional_pool as _fractional_pool  # noqa: E402
from .lazy import *  # noqa: E402,F401,F403 - LazyConv2d, LazyBatchNorm1d, ...

FractionalMaxPool2d = _fractional_pool.FractionalMaxPool2d
functional.fractional_max_pool2d = _fractional_pool.fractional_max_pool2d
functional.fractional_max_pool2d_with_indices = _fractional_pool.fractional_max_pool2d_with_indices
MaxPool1d, MaxPool2d, AvgPool2d = _pooling.MaxPool1d, _pooling.MaxPool2d, _pooling.AvgPool2d
AdaptiveAvgPool2d, Dropout2d = _pooling.AdaptiveAvgPool2d, _pooling.Dropout2d
AvgPool1d, AdaptiveAvgPool1d = _pooling.AvgPool1d, _pooling.AdaptiveAvgPool1d
AdaptiveMaxPool1d, AdaptiveMaxPool2d = _pooling.AdaptiveMaxPool1d, _pooling.AdaptiveMaxPool2d
Dropout1d, Dropout3d = _pooling.Dropout1d, _pooling.Dropout3d

# Padding, PReLU, Softmax2d, LocalResponseNorm, Bilinear and Fold/Unfold: layers.py.
from . import layers as _layers  # noqa: E402

functional.__dict__.update(
    prelu=_layers.prelu,
    local_response_norm=_layers.local_response_norm,
    bilinear=_layers.bilinear,
    unfold=_layers.unfold,
    fold=_layers.fold,
)
ZeroPad1d, ZeroPad2d = _layers.ZeroPad1d, _layers.ZeroPad2d
ConstantPad1d, ConstantPad2d = _layers.ConstantPad1d, _layers.ConstantPad2d
ReflectionPad1d, ReflectionPad2d = _layers.ReflectionPad1d, _layers.ReflectionPad2d
ReplicationPad1d, ReplicationPad2d = _layers.ReplicationPad1d, _layers.ReplicationPad2d
CircularPad1d, CircularPad2d = _layers.CircularPad1d, _layers.CircularPad2d
ZeroPad3d, ConstantPad3d, CircularPad3d = (
    _layers.ZeroPad3d,
    _layers.ConstantPad3d,
    _layers.CircularPad3d,
)
ReflectionPad3d, ReplicationPad3d = _layers.ReflectionPad3d, _layers.ReplicationPad3d
PReLU, Softmax2d, LocalResponseNorm = _layers.PReLU, _layers.Softmax2d, _layers.LocalResponseNorm
Bilinear, Fold, Unfold = _layers.Bilinear, _layers.Fold, _layers.Unfold

# Resizing layers live in their own file; torch has them in F and nn.
from . import resampling as _resampling  # noqa: E402

functional.__dict__.update(
    interpolate=_resampling.interpolate,
    upsample=_resampling.upsample,
    upsample_nearest=_resampling.upsample_nearest,
    upsample_bilinear=_resampling.upsample_bilinear,
    pixel_shuffle=_resampling.pixel_shuffle,
    pixel_unshuffle=_resampling.pixel_unshuffle,
)
Upsample, UpsamplingNearest2d = _resampling.Upsample, _resampling.UpsamplingNearest2d
UpsamplingBilinear2d = _resampling.UpsamplingBilinear2d
PixelShuffle, PixelUnshuffle = _resampling.PixelShuffle, _resampling.PixelUnshuffle

# Attention and the transformer layers live in their own file; torch has them in F and nn.
from . import transformer as _transformer  # noqa: E402

functional.__dict__.update(
    multi_head_attention_forward=_transformer.multi_head_attention_forward,
    _canonical_mask=_transformer._canonical_mask,
    _none_or_dtype=_transformer._none_or_dtype,
)
MultiheadAttention = _transformer.MultiheadAttention
TransformerEncoderLayer = _transformer.TransformerEncoderLayer
TransformerDecoderLayer = _transformer.TransformerDecoderLayer
TransformerEncoder = _transformer.TransformerEncoder
TransformerDecoder = _transformer.TransformerDecoder
Transformer = _transformer.Transformer

# Extra losses, lp/unpooling and channel shuffle, and the random layers: own files.
from . import losses_extra as _losses_extra  # noqa: E402
from . import random_layers as _random_layers  # noqa: E402
from . import unpooling as _unpooling  # noqa: E402

for _extra in (_losses_extra, _unpooling, _random_layers):
    functional.__dict__.update(_extra.FUNCTIONS)
    globals().update({m.__name__: m for m in _extra.MODULES})
