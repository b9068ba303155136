"""Known bugs the op table finds, one strict xfail each (entry -> check -> the bug).

A check is a test of tests/test_op_table.py (values:<dtype>, grad, gradcheck,
gradgradcheck, promotion, out, out_dtype, errors). Strict: when a bug is fixed
its test passes, fails as XPASS, and the line here goes."""

KNOWN_BUGS = {
    "addbmm": {
        "values:bfloat16": "values differ from torch's in bfloat16",
        "values:int16": "result dtype differs from torch's: (ember.int64, torch.int16)",
        "values:int32": "result dtype differs from torch's: (ember.int64, torch.int32)",
        "values:int8": "result dtype differs from torch's: (ember.int64, torch.int8)",
        "values:uint8": "result dtype differs from torch's: (ember.int64, torch.uint8)",
    },
    "arange": {
        "errors": "bad input: bool: ember accepts it, torch NotImplementedError(''arange_cpu' not implemented for 'Bool'')",
    },
    "bmm": {
        "promotion": "mixed dtypes: (<float64[2, 3, 4]>, <float64[2, 4, 2]>) contiguous ('bool', 'int64'): ember RuntimeError('expected batch1 and",
    },
    "conv1d": {
        "promotion": "mixed dtypes: (<float64[2, 3, 6]>, <float64[4, 3, 2]>) contiguous ('bool', 'int64'): ember RuntimeError('Input type (ember.B",
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
        "values:int16": "Ember has no int16 kernel: NotImplementedError('operation not implemented for 'Short'')",
        "values:int32": "Ember has no int32 kernel: NotImplementedError('operation not implemented for 'Int'')",
        "values:int8": "Ember has no int8 kernel: NotImplementedError('operation not implemented for 'Char'')",
        "values:uint8": "Ember has no uint8 kernel: NotImplementedError('operation not implemented for 'Byte'')",
    },
    "conv2d": {
        "promotion": "mixed dtypes: (<float64[1, 2, 5, 5]>, <float64[3, 2, 2, 2]>) contiguous ('bool', 'int64'): ember RuntimeError('Input type (e",
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
        "values:int16": "Ember has no int16 kernel: NotImplementedError('operation not implemented for 'Short'')",
        "values:int32": "Ember has no int32 kernel: NotImplementedError('operation not implemented for 'Int'')",
        "values:int8": "Ember has no int8 kernel: NotImplementedError('operation not implemented for 'Char'')",
        "values:uint8": "Ember has no uint8 kernel: NotImplementedError('operation not implemented for 'Byte'')",
    },
    "cross": {
        "errors": "bad input: bool: ember RuntimeError('Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` o",
        "promotion": "mixed dtypes: (<float64[4, 3]>, <float64[4, 3]>, dim=1) contiguous ('bool', 'int64'): ember RuntimeError('expected scalar ty",
    },
    "cumprod": {
        "values:bool": "Tensor.cumprod_(<float64[3, 4]>, 1) contiguous bool: ember RuntimeError('result type Long can't be cast to the",
    },
    "cumsum": {
        "values:bool": "Tensor.cumsum_(<float64[3, 4]>, 1) contiguous bool: ember RuntimeError('result type Long can't be cast to the",
    },
    "einsum": {
        "promotion": "mixed dtypes: ('ij,jk->ik', <float64[3, 4]>, <float64[4, 2]>) contiguous ('bool', 'int64'): ember RuntimeError('expected bat",
    },
    "histc": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError(''histogram_cpu' not implemented for 'None'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError(''histogram_cpu' not implemented for 'None'')",
    },
    "inverse": {
        "errors": "bad input: bfloat16: ember NotImplementedError('operation not implemented for 'BFloat16''), torch RuntimeError('linalg.in",
    },
    "kthvalue": {
        "values:int16": "values differ from torch's in int16",
        "values:int32": "values differ from torch's in int32",
        "values:int64": "values differ from torch's in int64",
        "values:int8": "values differ from torch's in int8",
        "values:uint8": "values differ from torch's in uint8",
    },
    "linalg.solve_triangular": {
        "promotion": "mixed dtypes: (<float64[3, 3]>, <float64[3, 2]>, upper=True) contiguous ('float32', 'float64'): ember raised RuntimeError('l",
    },
    "linalg.vecdot": {
        "promotion": "mixed dtypes: (<float64[4, 3]>, <float64[4, 3]>) contiguous ('float32', 'float64'): torch raised RuntimeError('linalg.vecdot",
    },
    "logdet": {
        "errors": "bad input: bfloat16: ember NotImplementedError('operation not implemented for 'BFloat16''), torch RuntimeError('logdet: L",
    },
    "matmul": {
        "promotion": "mixed dtypes: (<float64[4]>, <float64[2, 4, 3]>) contiguous ('bool', 'int64'): ember RuntimeError('expected batch1 and batch",
    },
    "max_pool1d": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "max_pool2d": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
        "values:int16": "Ember has no int16 kernel: NotImplementedError('operation not implemented for 'Short'')",
        "values:int32": "Ember has no int32 kernel: NotImplementedError('operation not implemented for 'Int'')",
        "values:int8": "Ember has no int8 kernel: NotImplementedError('operation not implemented for 'Char'')",
        "values:uint8": "Ember has no uint8 kernel: NotImplementedError('operation not implemented for 'Byte'')",
    },
    "meshgrid": {
        "promotion": "mixed dtypes: (<float64[3]>, <float64[4]>, indexing='ij') contiguous ('float32', 'float64'): torch raised RuntimeError('mesh",
    },
    "nanmean": {
        "errors": "bad input: int64: ember accepts it, torch RuntimeError('nanmean(): expected input to have floating point or complex dtype but g",
    },
    "nn.functional.adaptive_avg_pool1d": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "nn.functional.adaptive_avg_pool2d": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "nn.functional.adaptive_max_pool1d": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "nn.functional.adaptive_max_pool1d_with_indices": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "nn.functional.adaptive_max_pool2d": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "nn.functional.adaptive_max_pool2d_with_indices": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "nn.functional.avg_pool1d": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "nn.functional.avg_pool2d": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "nn.functional.batch_norm": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "nn.functional.bilinear": {
        "values:bfloat16": "values differ from torch's in bfloat16",
        "values:float16": "values differ from torch's in float16",
        "values:int16": "result dtype differs from torch's: (ember.int64, torch.int16)",
        "values:int32": "result dtype differs from torch's: (ember.int64, torch.int32)",
        "values:int8": "result dtype differs from torch's: (ember.int64, torch.int8)",
        "values:uint8": "result dtype differs from torch's: (ember.int64, torch.uint8)",
    },
    "nn.functional.binary_cross_entropy_with_logits": {
        "promotion": "mixed dtypes: (<float64[3, 4]>, <float64[3, 4]>) contiguous ('int64', 'float32'): torch raised NotImplementedError(''log_sig",
    },
    "nn.functional.conv1d": {
        "promotion": "mixed dtypes: (<float64[2, 3, 6]>, <float64[4, 3, 2]>) contiguous ('bool', 'int64'): ember RuntimeError('Input type (ember.B",
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
        "values:int16": "Ember has no int16 kernel: NotImplementedError('operation not implemented for 'Short'')",
        "values:int32": "Ember has no int32 kernel: NotImplementedError('operation not implemented for 'Int'')",
        "values:int8": "Ember has no int8 kernel: NotImplementedError('operation not implemented for 'Char'')",
        "values:uint8": "Ember has no uint8 kernel: NotImplementedError('operation not implemented for 'Byte'')",
    },
    "nn.functional.conv2d": {
        "promotion": "mixed dtypes: (<float64[1, 2, 5, 5]>, <float64[3, 2, 2, 2]>, stride=2, padding=1) contiguous ('bool', 'int64'): ember Runtim",
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
        "values:int16": "Ember has no int16 kernel: NotImplementedError('operation not implemented for 'Short'')",
        "values:int32": "Ember has no int32 kernel: NotImplementedError('operation not implemented for 'Int'')",
        "values:int8": "Ember has no int8 kernel: NotImplementedError('operation not implemented for 'Char'')",
        "values:uint8": "Ember has no uint8 kernel: NotImplementedError('operation not implemented for 'Byte'')",
    },
    "nn.functional.conv_transpose1d": {
        "promotion": "mixed dtypes: (<float64[2, 3, 5]>, <float64[3, 2, 3]>, stride=2) contiguous ('int32', 'int64'): ember RuntimeError('expected",
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "nn.functional.conv_transpose2d": {
        "promotion": "mixed dtypes: (<float64[1, 2, 3, 3]>, <float64[2, 3, 2, 2]>) contiguous ('int32', 'int64'): ember RuntimeError('expected sca",
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "nn.functional.cosine_similarity": {
        "promotion": "mixed dtypes: (<float64[3, 4]>, <float64[3, 4]>) contiguous ('int64', 'float32'): ember raised RuntimeError('linalg.vector_n",
    },
    "nn.functional.cross_entropy": {
        "promotion": "mixed dtypes: (<float64[3, 5]>, <float64[3, 5]>) contiguous ('int32', 'int64'): ember NotImplementedError(''log_softmax_last",
    },
    "nn.functional.fold": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:bool": "Ember has no bool kernel: NotImplementedError(''col2im_out_cpu' not implemented for 'Bool'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "nn.functional.hinge_embedding_loss": {
        "promotion": "mixed dtypes: values or result dtype differ from torch's",
    },
    "nn.functional.huber_loss": {
        "promotion": "mixed dtypes: result dtype differs from torch's: (ember.float64, torch.float32)",
    },
    "nn.functional.interpolate": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
        "values:uint8": "Ember has no uint8 kernel: NotImplementedError(''compute_indices_weights_nearest' not implemented for 'Byte",
    },
    "nn.functional.kl_div": {
        "promotion": "mixed dtypes: (<float64[3, 4]>, <float64[3, 4]>, reduction='batchmean') contiguous ('int64', 'float32'): torch raised Runtim",
    },
    "nn.functional.local_response_norm": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "nn.functional.max_pool1d": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "nn.functional.max_pool1d_with_indices": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
        "values:int16": "Ember has no int16 kernel: NotImplementedError('operation not implemented for 'Short'')",
        "values:int32": "Ember has no int32 kernel: NotImplementedError('operation not implemented for 'Int'')",
        "values:int8": "Ember has no int8 kernel: NotImplementedError('operation not implemented for 'Char'')",
        "values:uint8": "Ember has no uint8 kernel: NotImplementedError('operation not implemented for 'Byte'')",
    },
    "nn.functional.max_pool2d": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
        "values:int16": "Ember has no int16 kernel: NotImplementedError('operation not implemented for 'Short'')",
        "values:int32": "Ember has no int32 kernel: NotImplementedError('operation not implemented for 'Int'')",
        "values:int8": "Ember has no int8 kernel: NotImplementedError('operation not implemented for 'Char'')",
        "values:uint8": "Ember has no uint8 kernel: NotImplementedError('operation not implemented for 'Byte'')",
    },
    "nn.functional.max_pool2d_with_indices": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
        "values:int16": "Ember has no int16 kernel: NotImplementedError('operation not implemented for 'Short'')",
        "values:int32": "Ember has no int32 kernel: NotImplementedError('operation not implemented for 'Int'')",
        "values:int8": "Ember has no int8 kernel: NotImplementedError('operation not implemented for 'Char'')",
        "values:uint8": "Ember has no uint8 kernel: NotImplementedError('operation not implemented for 'Byte'')",
    },
    "nn.functional.prelu": {
        "promotion": "mixed dtypes: (<float64[2, 3, 4]>, <float64[3]>) contiguous ('float32', 'float64'): torch raised RuntimeError('prelu: Type p",
    },
    "nn.functional.rms_norm": {
        "promotion": "mixed dtypes: (<float64[3, 4]>, [4], <float64[4]>) contiguous ('float32', 'float64'): ember raised RuntimeError('mixed dtype",
    },
    "nn.functional.scaled_dot_product_attention": {
        "promotion": "mixed dtypes: (<float64[2, 3, 4]>, <float64[2, 5, 4]>, <float64[2, 5, 4]>) contiguous ('int64', 'float32'): torch raised Run",
        "values:float16": "values differ from torch's in float16",
    },
    "nn.functional.unfold": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:bool": "Ember has no bool kernel: NotImplementedError(''im2col_out_cpu' not implemented for 'Bool'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
    },
    "nn.functional.upsample": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
        "values:uint8": "Ember has no uint8 kernel: NotImplementedError(''compute_indices_weights_nearest' not implemented for 'Byte",
    },
    "nn.functional.upsample_bilinear": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
        "values:uint8": "Ember has no uint8 kernel: NotImplementedError(''upsample_bilinear2d_channels_last' not implemented for 'By",
    },
    "nn.functional.upsample_nearest": {
        "values:bfloat16": "Ember has no bfloat16 kernel: NotImplementedError('operation not implemented for 'BFloat16'')",
        "values:float16": "Ember has no float16 kernel: NotImplementedError('operation not implemented for 'Half'')",
        "values:uint8": "Ember has no uint8 kernel: NotImplementedError(''upsample_nearest2d_channels_last' not implemented for 'Byt",
    },
    "pinverse": {
        "errors": "bad input: bfloat16: ember NotImplementedError('operation not implemented for 'BFloat16''), torch RuntimeError('linalg.pi",
    },
    "prod": {},
    "searchsorted": {
        "values:int16": "values differ from torch's in int16",
        "values:int32": "values differ from torch's in int32",
        "values:int64": "values differ from torch's in int64",
        "values:int8": "values differ from torch's in int8",
        "values:uint8": "values differ from torch's in uint8",
    },
    "signbit": {
        "values:bfloat16": "Ember refuses bfloat16: TypeError('Got unsupported ScalarType BFloat16')",
    },
    "slogdet": {
        "errors": "bad input: bfloat16: ember NotImplementedError('operation not implemented for 'BFloat16''), torch RuntimeError('linalg.sl",
    },
    "special.entr": {
        "values:bool": "Ember refuses bool: RuntimeError('Negation, the `-` operator, on a bool tensor is not supported. If you are tr",
        "values:uint8": "values differ from torch's in uint8",
    },
    "special.xlog1py": {
        "promotion": "mixed dtypes: values or result dtype differ from torch's",
        "values:bool": "values differ from torch's in bool",
        "values:int16": "values differ from torch's in int16",
        "values:int32": "values differ from torch's in int32",
        "values:int64": "values differ from torch's in int64",
        "values:int8": "values differ from torch's in int8",
        "values:uint8": "values differ from torch's in uint8",
    },
    "sum": {},
}
