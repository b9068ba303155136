"""torch's top-level forms of nn.functional ops, and of in-place Tensor methods.

`torch.layer_norm`, `torch.dropout`, `torch.relu_` and friends are ATen ops with
their own signatures: reductions as integers (0 none, 1 mean, 2 sum), running
statistics before the flags, `embedding`'s weight first. Each forwards to the
nn.functional op with the same meaning.
"""

from . import _C

# ATen's reduction codes; any other integer reduces nothing, as in torch.
_REDUCTIONS = {1: "mean", 2: "sum"}


def _reduction_name(reduction):
    return _REDUCTIONS.get(reduction, "none")


def _functional():
    from .nn import functional

    return functional


def dropout(input, p, train):
    return _functional().dropout(input, p, train)


def dropout_(input, p, train):
    return _functional().dropout(input, p, train, inplace=True)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True):
    return _functional().layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True):
    return _functional().group_norm(input, num_groups, weight, bias, eps)


def batch_norm(
    input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled
):
    return _functional().batch_norm(
        input, running_mean, running_var, weight, bias, training, momentum, eps
    )


def instance_norm(
    input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled
):
    return _functional().instance_norm(
        input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps
    )


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    # padding_idx -1 means none here (the functional form counts -1 from the end)
    padding = None if padding_idx == -1 else padding_idx
    return _functional().embedding(
        indices, weight, padding, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse
    )


# Called without `reduction`, torch's bindings of these two losses reduce nothing
# (though the ATen schema names Mean as the default): so do these.
def kl_div(input, target, reduction=0, *, log_target=False):
    return _functional().kl_div(
        input, target, reduction=_reduction_name(reduction), log_target=log_target
    )


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    return _functional().binary_cross_entropy_with_logits(
        input, target, weight, reduction=_reduction_name(reduction), pos_weight=pos_weight
    )


def rms_norm(input, normalized_shape, weight=None, eps=None):
    return _functional().rms_norm(input, normalized_shape, weight, eps)


def selu(input):
    return _functional().selu(input)


def selu_(input):
    return _functional().selu(input, inplace=True)


def celu(input, alpha=1.0):
    return _functional().celu(input, alpha)


def celu_(input, alpha=1.0):
    return _functional().celu(input, alpha, inplace=True)


def threshold(input, threshold, value):
    return _functional().threshold(input, threshold, value)


def threshold_(input, threshold, value):
    return _functional().threshold(input, threshold, value, inplace=True)


def adaptive_max_pool1d(input, output_size):
    # torch's op always returns the indices too
    return _functional().adaptive_max_pool1d(input, output_size, return_indices=True)


# Same arguments as the functional form: the torch name is the functional op itself.
_SAME_SIGNATURE = (
    "cosine_similarity",
    "pairwise_distance",
    "pixel_shuffle",
    "pixel_unshuffle",
    "prelu",
    "hardshrink",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv3d",
    "avg_pool1d",
    "adaptive_avg_pool1d",
)

FUNCTIONS = {
    "dropout": dropout,
    "dropout_": dropout_,
    "layer_norm": layer_norm,
    "group_norm": group_norm,
    "batch_norm": batch_norm,
    "instance_norm": instance_norm,
    "embedding": embedding,
    "kl_div": kl_div,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "rms_norm": rms_norm,
    "selu": selu,
    "selu_": selu_,
    "celu": celu,
    "celu_": celu_,
    "threshold": threshold,
    "threshold_": threshold_,
    "adaptive_max_pool1d": adaptive_max_pool1d,
}

# torch.<name>_(input, ...) is input.<name>_(...) for these.
IN_PLACE_METHODS = (
    "abs_",
    "acos_",
    "acosh_",
    "addmv_",
    "arccos_",
    "arccosh_",
    "arcsin_",
    "arcsinh_",
    "arctan_",
    "arctanh_",
    "asin_",
    "asinh_",
    "atan_",
    "atanh_",
    "ceil_",
    "clamp_",
    "clamp_max_",
    "clamp_min_",
    "clip_",
    "cos_",
    "cosh_",
    "deg2rad_",
    "detach_",
    "erf_",
    "erfc_",
    "exp2_",
    "exp_",
    "expm1_",
    "fill_",
    "fix_",
    "floor_",
    "frac_",
    "gcd_",
    "lcm_",
    "ldexp_",
    "log10_",
    "log1p_",
    "log2_",
    "log_",
    "logit_",
    "nan_to_num_",
    "neg_",
    "negative_",
    "rad2deg_",
    "reciprocal_",
    "relu_",
    "round_",
    "rsqrt_",
    "sigmoid_",
    "sin_",
    "sinc_",
    "sinh_",
    "sqrt_",
    "square_",
    "tan_",
    "tanh_",
    "trunc_",
    "xlogy_",
    "zero_",
)


def _calling_method(name):
    def function(input, *args, **kwargs):
        if not isinstance(input, _C.Tensor):
            raise TypeError(
                f"{name}(): argument 'input' (position 1) must be Tensor, not "
                f"{type(input).__name__}"
            )
        return getattr(input, name)(*args, **kwargs)

    function.__name__ = name
    function.__doc__ = f"torch.{name}(input, ...) is input.{name}(...)."
    return function


def fill(input, value):
    """A copy of input filled with value (value may be a 0-dim tensor)."""
    return input.clone().fill_(value)


def install(namespace):
    functional = _functional()
    for name in _SAME_SIGNATURE:
        if name not in namespace:
            namespace[name] = getattr(functional, name)
    for name, fn in FUNCTIONS.items():
        if name not in namespace:
            namespace[name] = fn
    for name in IN_PLACE_METHODS:
        if name not in namespace and hasattr(_C.Tensor, name):
            namespace[name] = _calling_method(name)
    namespace.setdefault("fill", fill)
