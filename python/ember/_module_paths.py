"""The module paths torch code imports names from (`torch.nn.modules.loss._Loss`,
`torch.optim.optimizer.Optimizer`, `torch.utils.data.dataloader.DataLoader`, ...),
as modules holding the same objects Ember keeps elsewhere. A name Ember lacks is
left out, so importing it fails with torch's ImportError naming it."""

import sys
import types

# torch.nn.modules' submodules and the names code imports from them.
_NN_MODULES = {
    "module": "Module",
    "linear": "Identity Linear Bilinear LazyLinear",
    "conv": (
        "Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d _ConvNd "
        "LazyConv1d LazyConv2d LazyConv3d LazyConvTranspose1d LazyConvTranspose2d "
        "LazyConvTranspose3d"
    ),
    "activation": (
        "Threshold ReLU RReLU Hardtanh ReLU6 Sigmoid Hardsigmoid Tanh SiLU Mish Hardswish ELU "
        "CELU SELU GLU GELU Hardshrink LeakyReLU LogSigmoid Softplus Softshrink "
        "MultiheadAttention PReLU Softsign Tanhshrink Softmin Softmax Softmax2d LogSoftmax"
    ),
    "loss": (
        "_Loss _WeightedLoss L1Loss NLLLoss PoissonNLLLoss GaussianNLLLoss KLDivLoss MSELoss "
        "BCELoss BCEWithLogitsLoss HingeEmbeddingLoss MultiLabelMarginLoss SmoothL1Loss "
        "HuberLoss SoftMarginLoss CrossEntropyLoss MultiLabelSoftMarginLoss "
        "CosineEmbeddingLoss MarginRankingLoss MultiMarginLoss TripletMarginLoss "
        "TripletMarginWithDistanceLoss CTCLoss"
    ),
    "container": "Sequential ModuleList ModuleDict ParameterList ParameterDict",
    "pooling": (
        "MaxPool1d MaxPool2d MaxPool3d AvgPool1d AvgPool2d AvgPool3d AdaptiveMaxPool1d "
        "AdaptiveMaxPool2d AdaptiveMaxPool3d AdaptiveAvgPool1d AdaptiveAvgPool2d "
        "AdaptiveAvgPool3d LPPool1d LPPool2d LPPool3d MaxUnpool1d MaxUnpool2d MaxUnpool3d "
        "_MaxPoolNd _LPPoolNd _MaxUnpoolNd FractionalMaxPool2d"
    ),
    "batchnorm": (
        "BatchNorm1d BatchNorm2d BatchNorm3d _BatchNorm SyncBatchNorm LazyBatchNorm1d "
        "LazyBatchNorm2d LazyBatchNorm3d"
    ),
    "instancenorm": (
        "InstanceNorm1d InstanceNorm2d InstanceNorm3d _InstanceNorm LazyInstanceNorm1d "
        "LazyInstanceNorm2d LazyInstanceNorm3d"
    ),
    "normalization": "LayerNorm GroupNorm LocalResponseNorm RMSNorm",
    "dropout": "Dropout Dropout1d Dropout2d Dropout3d AlphaDropout FeatureAlphaDropout",
    "sparse": "Embedding EmbeddingBag",
    "rnn": "RNNBase RNN LSTM GRU RNNCellBase RNNCell LSTMCell GRUCell",
    "transformer": (
        "Transformer TransformerEncoder TransformerDecoder TransformerEncoderLayer "
        "TransformerDecoderLayer"
    ),
    "flatten": "Flatten Unflatten",
    "padding": (
        "ZeroPad1d ZeroPad2d ZeroPad3d ConstantPad1d ConstantPad2d ConstantPad3d "
        "ReflectionPad1d ReflectionPad2d ReflectionPad3d ReplicationPad1d ReplicationPad2d "
        "ReplicationPad3d CircularPad1d CircularPad2d CircularPad3d"
    ),
    "pixelshuffle": "PixelShuffle PixelUnshuffle",
    "channelshuffle": "ChannelShuffle",
    "upsampling": "Upsample UpsamplingNearest2d UpsamplingBilinear2d",
    "fold": "Fold Unfold",
    "distance": "PairwiseDistance CosineSimilarity",
}


def _module(name, doc, members):
    mod = types.ModuleType(name, doc)
    mod.__dict__.update(members)
    sys.modules[name] = mod
    return mod


def _present(source, names):
    return {n: getattr(source, n) for n in names.split() if hasattr(source, n)}


def _ntuple(n):
    def parse(value):
        if isinstance(value, (list, tuple)):
            return tuple(value)
        return (value,) * n

    return parse


def _nn_paths(nn):
    from .nn import _loss_bases, conv, normalization, pooling, unpooling

    source = types.SimpleNamespace(**vars(nn))
    for extra in (_loss_bases, conv, normalization, pooling, unpooling):
        for name, value in vars(extra).items():
            if name.startswith("_") and isinstance(value, type):
                setattr(source, name, value)
    for sub, names in _NN_MODULES.items():
        mod = _module(
            f"ember.nn.modules.{sub}", f"torch.nn.modules.{sub}'s names.", _present(source, names)
        )
        setattr(nn.modules, sub, mod)
    utils = {
        "_single": _ntuple(1),
        "_pair": _ntuple(2),
        "_triple": _ntuple(3),
        "_quadruple": _ntuple(4),
        "_ntuple": _ntuple,
    }
    nn.modules.utils = _module("ember.nn.modules.utils", "torch.nn.modules.utils' helpers.", utils)
    nn.modules.__path__ = []  # a package to the import system, so its submodules import
    nn.parameter = _module(
        "ember.nn.parameter",
        "torch.nn.parameter's names.",
        {
            "Parameter": nn.Parameter,
            "Buffer": nn.Buffer,
            "UninitializedParameter": nn.UninitializedParameter,
            "UninitializedBuffer": nn.UninitializedBuffer,
        },
    )


def _optim_paths(optim):
    from .optim import optimizers

    members = {"Optimizer": optimizers.Optimizer, "required": _Required()}
    optim.optimizer = _module("ember.optim.optimizer", "torch.optim.optimizer's names.", members)


class _Required:
    """The sentinel old optimizers give as a default for arguments without one."""

    def __repr__(self):
        return "<required parameter>"


def _data_paths(data):
    names = {
        "dataloader": "DataLoader default_collate default_convert",
        "dataset": "Dataset IterableDataset TensorDataset Subset ConcatDataset random_split",
        "sampler": (
            "Sampler SequentialSampler RandomSampler SubsetRandomSampler BatchSampler "
            "WeightedRandomSampler"
        ),
    }
    for sub, members in names.items():
        mod = _module(
            f"ember.utils.data.{sub}", f"torch.utils.data.{sub}'s names.", _present(data, members)
        )
        setattr(data, sub, mod)


def install(namespace):
    from .utils import data

    _nn_paths(namespace["nn"])
    _optim_paths(namespace["optim"])
    _data_paths(data)
    amp = namespace["cuda"].amp
    sys.modules["ember.cuda"] = namespace["cuda"]  # a class standing in for the package
    sys.modules["ember.cuda.amp"] = amp
