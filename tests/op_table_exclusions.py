"""Public torch names Ember has that are not ops of the op table, each with the
reason and where they are tested instead. A new op joins the table
(tests/op_table.py); test_op_table.py fails for a name in neither."""

from __future__ import annotations

NOT_AN_OP = "not a tensor op (a type, dtype, setting or helper); tests/test_ops.py and "
RANDOM = "random: tests/test_random.py draws torch's samples for the same seed"
ATTRIBUTE = "a Tensor attribute or autograd hook, not a computation: tests/test_tensor.py"
UNINITIALIZED = "uninitialized memory: only shape and dtype are defined (tests/test_ops.py)"


def _group(reason, names):
    return dict.fromkeys(names.split(), reason)


EXCLUDED = {
    **_group(
        NOT_AN_OP + "test_dtypes.py check them",
        "torch.bfloat16 torch.bool torch.double torch.dtype torch.float torch.float16 "
        "torch.float32 torch.float64 torch.half torch.int torch.int16 torch.int32 torch.int64 "
        "torch.int8 torch.long torch.short torch.uint8 torch.finfo torch.iinfo "
        "torch.get_default_dtype",
    ),
    **_group(
        NOT_AN_OP + "test_tensor.py check them",
        "torch.Tensor torch.BoolTensor torch.ByteTensor torch.CharTensor torch.DoubleTensor "
        "torch.FloatTensor torch.IntTensor torch.LongTensor torch.ShortTensor torch.Size "
        "torch.device torch.is_tensor torch.from_numpy torch.set_printoptions",
    ),
    **_group(
        NOT_AN_OP + "test_autograd.py check them",
        "torch.Node torch.no_grad torch.enable_grad torch.inference_mode torch.is_grad_enabled "
        "torch.is_anomaly_enabled torch.is_anomaly_check_nan_enabled torch.autocast "
        "torch.compile torch.linalg.LinAlgError",
    ),
    **_group(
        NOT_AN_OP + "test_random.py and test_parallel.py check them",
        "torch.Generator torch.default_generator torch.manual_seed torch.seed "
        "torch.initial_seed torch.get_rng_state torch.set_rng_state torch.get_num_threads "
        "torch.set_num_threads",
    ),
    **_group(
        NOT_AN_OP + "test_serialization.py checks them",
        "torch.save torch.load",
    ),
    **_group(
        RANDOM,
        "torch.bernoulli torch.multinomial torch.normal torch.rand torch.rand_like "
        "torch.randint torch.randn torch.randn_like torch.randperm torch.Tensor.bernoulli_ "
        "torch.Tensor.exponential_ torch.Tensor.multinomial torch.Tensor.normal_ "
        "torch.Tensor.random_ torch.Tensor.uniform_ torch.nn.functional.dropout "
        "torch.nn.functional.dropout1d torch.nn.functional.dropout2d "
        "torch.nn.functional.dropout3d torch.nn.functional.gumbel_softmax torch.randint_like",
    ),
    **_group(
        ATTRIBUTE,
        "torch.Tensor.T torch.Tensor.mT torch.Tensor.backward torch.Tensor.cpu "
        "torch.Tensor.cuda torch.Tensor.data torch.Tensor.data_ptr torch.Tensor.detach_ "
        "torch.Tensor.device torch.Tensor.dim torch.Tensor.dtype torch.Tensor.element_size "
        "torch.Tensor.grad torch.Tensor.grad_fn torch.Tensor.is_contiguous torch.Tensor.is_cuda "
        "torch.Tensor.is_leaf torch.Tensor.item torch.Tensor.ndim torch.Tensor.ndimension "
        "torch.Tensor.nelement torch.Tensor.numpy torch.Tensor.output_nr "
        "torch.Tensor.register_hook torch.Tensor.register_post_accumulate_grad_hook "
        "torch.Tensor.requires_grad torch.Tensor.requires_grad_ torch.Tensor.resize_ "
        "torch.Tensor.retain_grad torch.Tensor.retains_grad torch.Tensor.shape "
        "torch.Tensor.size torch.Tensor.storage_offset torch.Tensor.stride "
        "torch.Tensor.tolist torch.Tensor.type torch.Tensor.share_memory_ "
        "torch.Tensor.is_shared torch.Tensor.get_device torch.Tensor.is_complex "
        "torch.Tensor.is_cpu torch.Tensor.is_inference torch.Tensor.is_meta "
        "torch.Tensor.is_mkldnn torch.Tensor.is_nested torch.Tensor.is_nonzero "
        "torch.Tensor.is_quantized torch.Tensor.is_same_size torch.Tensor.is_signed "
        "torch.Tensor.is_sparse torch.Tensor.is_sparse_csr torch.Tensor.itemsize "
        "torch.Tensor.nbytes torch.get_device torch.is_complex torch.is_inference "
        "torch.is_nonzero torch.is_same_size torch.is_signed",
    ),
    **_group(
        NOT_AN_OP + "test_settings.py checks them",
        "torch.e torch.inf torch.nan torch.newaxis torch.pi "
        "torch.are_deterministic_algorithms_enabled torch.get_default_device "
        "torch.get_deterministic_debug_mode torch.get_float32_matmul_precision "
        "torch.get_num_interop_threads torch.is_deterministic_algorithms_warn_only_enabled "
        "torch.is_inference_mode_enabled torch.set_default_device "
        "torch.set_deterministic_debug_mode torch.set_float32_matmul_precision "
        "torch.set_flush_denormal torch.set_num_interop_threads "
        "torch.use_deterministic_algorithms",
    ),
    **_group(
        "torch.<name>_(x, ...) calls the table's in-place method x.<name>_(...): "
        "tests/test_functional_aliases.py checks that it writes its input as torch's does",
        "torch.abs_ torch.acos_ torch.acosh_ torch.addmv_ torch.arccos_ torch.arccosh_ "
        "torch.arcsin_ torch.arcsinh_ torch.arctan_ torch.arctanh_ torch.asin_ torch.asinh_ torch.atan_ "
        "torch.atanh_ torch.ceil_ torch.clamp_ torch.clamp_max_ torch.clamp_min_ torch.clip_ "
        "torch.cos_ torch.cosh_ torch.deg2rad_ torch.detach_ torch.erf_ torch.erfc_ "
        "torch.exp2_ torch.exp_ torch.expm1_ torch.fill_ torch.fix_ torch.floor_ torch.frac_ "
        "torch.gcd_ torch.lcm_ torch.ldexp_ torch.log10_ torch.log1p_ torch.log2_ torch.log_ "
        "torch.logit_ torch.nan_to_num_ torch.neg_ torch.negative_ torch.rad2deg_ "
        "torch.reciprocal_ torch.relu_ torch.round_ torch.rsqrt_ torch.sigmoid_ torch.sin_ "
        "torch.sinh_ torch.sqrt_ torch.square_ torch.tan_ torch.tanh_ torch.trunc_ "
        "torch.xlogy_ torch.zero_",
    ),
    **_group(
        UNINITIALIZED,
        "torch.empty torch.empty_like torch.Tensor.new_empty torch.Tensor.new",
    ),
    **_group(
        "uninitialized memory with given strides: tests/test_inplace_views.py checks shape, "
        "strides and dtype",
        "torch.empty_strided torch.Tensor.new_empty_strided",
    ),
    **_group(
        "the function form of Tensor.as_strided_ (the as_strided entry's in-place form): "
        "tests/test_inplace_views.py checks it",
        "torch.as_strided_",
    ),
    **_group(
        "3-D layers composed from the 2-D kernels: tests/test_volumetric.py checks them "
        "against torch over random geometries",
        "torch.conv3d torch.nn.functional.conv3d torch.nn.functional.max_pool3d torch.nn.functional.avg_pool3d "
        "torch.nn.functional.adaptive_avg_pool3d torch.nn.functional.adaptive_max_pool3d "
        "torch.nn.functional.conv_transpose3d",
    ),
    **_group(
        "random pooling windows: tests/test_nn_extras.py draws torch's for the same seed "
        "and checks values, indices, gradients and errors",
        "torch.nn.functional.fractional_max_pool2d "
        "torch.nn.functional.fractional_max_pool2d_with_indices",
    ),
    **_group(
        "spatial transformer sampling: tests/test_grid_sampling.py checks every mode, "
        "padding mode and align_corners against torch",
        "torch.nn.functional.affine_grid torch.nn.functional.grid_sample",
    ),
    **_group(
        "power-average pooling and unpooling over random geometries and indices: "
        "tests/test_unpooling.py checks values, gradients and errors against torch",
        "torch.nn.functional.lp_pool3d torch.nn.functional.max_unpool3d",
    ),
    **_group(
        "random in training mode: tests/test_random_layers.py checks the eval path and "
        "that training draws torch's samples for the same seed",
        "torch.nn.functional.rrelu_ torch.rrelu_ "
        "torch.nn.functional.alpha_dropout torch.nn.functional.feature_alpha_dropout",
    ),
    "torch.nn.functional.ctc_loss": (
        "lengths and target layouts the table's samples cannot express: tests/test_ctc_loss.py "
        "compares values, gradients and node names with torch over random alignments"
    ),
    "torch.vmap": (
        "a function transform, not an op: tests/test_vmap.py checks it against torch.func.vmap "
        "on every table op"
    ),
    "torch.nn.functional.multi_head_attention_forward": (
        "the many-argument kernel of nn.MultiheadAttention: tests/test_attention.py "
        "compares the module with torch's"
    ),
}
