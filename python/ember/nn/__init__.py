"""ember.nn: parameters, modules and losses."""

from . import _rnn_utils as _rnn_utils  # noqa: E402
from . import activation as _activation  # noqa: E402
from . import functional, init, parallel, utils  # noqa: F401
from .container import (  # noqa: F401
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
from .embedding import Embedding  # noqa: F401
from .modules import (  # noqa: F401
    GELU,
    BCELoss,
    BCEWithLogitsLoss,
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
)
from .parallel import DataParallel  # noqa: F401
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: F401

# torch.nn.utils.rnn: utils is a module here, so the submodule is registered by name
utils.rnn = _rnn_utils
__import__("sys").modules[__name__ + ".utils.rnn"] = _rnn_utils

# The extra activations live in their own file; torch has them in F and nn.
functional.__dict__.update(_activation.FUNCTIONS)
globals().update({m.__name__: m for m in _activation.MODULES})

# Convolution and pooling live in their own files; torch has them in F and nn.
from . import conv as _conv  # noqa: E402
from . import pooling as _pooling  # noqa: E402

functional.__dict__.update(
    conv1d=_conv.conv1d,
    conv2d=_conv.conv2d,
    max_pool1d=_pooling.max_pool1d,
    max_pool2d=_pooling.max_pool2d,
    max_pool1d_with_indices=_pooling.max_pool1d_with_indices,
    max_pool2d_with_indices=_pooling.max_pool2d_with_indices,
    avg_pool2d=_pooling.avg_pool2d,
    adaptive_avg_pool2d=_pooling.adaptive_avg_pool2d,
    dropout2d=_pooling.dropout2d,
)
Conv1d, Conv2d = _conv.Conv1d, _conv.Conv2d
MaxPool1d, MaxPool2d, AvgPool2d = _pooling.MaxPool1d, _pooling.MaxPool2d, _pooling.AvgPool2d
AdaptiveAvgPool2d, Dropout2d = _pooling.AdaptiveAvgPool2d, _pooling.Dropout2d

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
