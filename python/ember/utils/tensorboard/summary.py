"""Summaries as torch.utils.tensorboard.summary builds them, encoded by hand.

Each builder returns the encoded `Summary` message (bytes) where torch's
returns a protobuf object; the bytes are what torch's writer puts in the file.
Field numbers are those of TensorBoard's summary.proto, tensor.proto and the
hparams plugin's api.proto / plugin_data.proto.
"""

import numpy as np

from ... import _C
from . import _png
from ._proto import double, float32, message, packed_doubles, packed_floats, string, uint

__all__ = [
    "convert_to_HWC",
    "figure_to_image",
    "histogram",
    "histogram_raw",
    "hparams",
    "image",
    "make_grid",
    "make_histogram",
    "make_np",
    "scalar",
    "text",
]

# TensorProto dtypes (TensorFlow's types.proto)
_DT_FLOAT, _DT_DOUBLE, _DT_STRING = 1, 2, 7
# hparams plugin constants (tensorboard.plugins.hparams.metadata and api.proto)
_HPARAMS_PLUGIN = "hparams"
_EXPERIMENT_TAG = "_hparams_/experiment"
_SESSION_START_INFO_TAG = "_hparams_/session_start_info"
_SESSION_END_INFO_TAG = "_hparams_/session_end_info"
_DATA_TYPE_STRING, _DATA_TYPE_FLOAT64 = 1, 3
_STATUS_SUCCESS = 1


def make_np(x):
    """A numpy array of an Ember tensor, a numpy array or a Python/numpy number."""
    if isinstance(x, np.ndarray):
        return x
    if np.isscalar(x):
        return np.array([x])
    if isinstance(x, _C.Tensor):
        x = x.detach()
        if x.dtype == _C.bfloat16:  # numpy has no bfloat16; torch goes through float16 too
            x = x.to(_C.float16)
        return x.numpy()
    raise NotImplementedError(f"Got {type(x)}, but numpy array or ember tensor are expected.")


def _value(tag, *fields):
    """A Summary holding one Summary.Value: tag=1, then the given fields in order."""
    return message(1, string(1, tag) + b"".join(fields))


def _plugin_metadata(plugin_name, content=b""):
    """Summary.Value.metadata (field 9): SummaryMetadata{plugin_data{name, content}}."""
    plugin_data = string(1, plugin_name) + string(2, content)
    return message(9, message(1, plugin_data))


def scalar(name, tensor, collections=None, new_style=False, double_precision=False):
    value = make_np(tensor).squeeze()
    if value.ndim != 0:
        raise AssertionError(
            f"Tensor should contain one element (0 dimensions). Was given size: "
            f"{value.size} and {value.ndim} dimensions."
        )
    value = float(value)
    if not new_style:
        return _value(name, float32(2, value, always=True))  # simple_value: a oneof member
    if double_precision:
        tensor_proto = uint(1, _DT_DOUBLE) + packed_doubles(6, [value])
    else:
        tensor_proto = uint(1, _DT_FLOAT) + packed_floats(5, [value])
    return _value(name, message(8, tensor_proto), _plugin_metadata("scalars"))


def histogram(name, values, bins, max_bins=None):
    values = make_np(values)
    histo = make_histogram(values.astype(float), bins, max_bins)
    return _value(name, message(5, histo))


def _subsample(counts, limits, max_bins):
    """Merges runs of `len(counts) // max_bins` buckets, as torch does (so the
    result can still hold more than max_bins buckets)."""
    step = len(counts) // max_bins
    counts = np.pad(counts, (0, -len(counts) % step)).reshape(-1, step).sum(axis=-1)
    return counts, np.append(limits[:-1:step], limits[-1])


def make_histogram(values, bins, max_bins=None):
    """The encoded HistogramProto of `values`: numpy's buckets, trimmed to the
    occupied range. TensorBoard keeps only right edges, so an empty bucket
    ending where the first occupied one starts goes first."""
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        counts, limits = _subsample(counts, limits, max_bins)
    occupied = np.flatnonzero(counts)
    if occupied.size == 0:
        raise ValueError("The histogram is empty: no value falls in a bin.")
    first, end = int(occupied[0]), int(occupied[-1]) + 1
    if first > 0:
        counts = counts[first - 1 : end]
    else:
        counts = np.concatenate([[0], counts[:end]])
    limits = limits[first : end + 1]
    return _histogram_proto(
        values.min(),
        values.max(),
        len(values),
        values.sum(),
        values.dot(values),
        limits,
        counts,
    )


def _histogram_proto(min, max, num, sum, sum_squares, bucket_limits, bucket_counts):
    return b"".join(
        [
            double(1, min),
            double(2, max),
            double(3, num),
            double(4, sum),
            double(5, sum_squares),
            packed_doubles(6, np.asarray(bucket_limits, dtype=float).reshape(-1)),
            packed_doubles(7, np.asarray(bucket_counts, dtype=float).reshape(-1)),
        ]
    )


def histogram_raw(name, min, max, num, sum, sum_squares, bucket_limits, bucket_counts):
    histo = _histogram_proto(min, max, num, sum, sum_squares, bucket_limits, bucket_counts)
    return _value(name, message(5, histo))


def text(tag, text):
    shape = message(2, uint(1, 1))  # TensorShapeProto{dim: [{size: 1}]}
    tensor = uint(1, _DT_STRING) + message(2, shape) + string(8, text, always=True)
    # TextPluginData(version=0) encodes to nothing, so the plugin content is empty
    return _value(tag + "/text_summary", message(8, tensor), _plugin_metadata("text"))


def make_grid(images, ncols=8):
    """N images (N, 1 or 3, H, W) tiled row by row into one (3, H*rows, W*cols) array."""
    if images.shape[1] == 1:
        images = np.concatenate([images] * 3, 1)
    if images.ndim != 4 or images.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    count, _, height, width = images.shape
    ncols = min(count, ncols)
    nrows = -(-count // ncols)
    canvas = np.zeros((3, height * nrows, width * ncols), dtype=images.dtype)
    for i, img in enumerate(images):
        row, col = divmod(i, ncols)
        canvas[:, row * height : (row + 1) * height, col * width : (col + 1) * width] = img
    return canvas


def convert_to_HWC(tensor, input_format):  # noqa: N802 -- torch's name
    """An image array in `input_format` (NCHW, CHW, HWC, HW, any order) as HWC;
    a batch is tiled into a grid and one channel is repeated to three."""
    if len(set(input_format)) != len(input_format):
        raise AssertionError(
            f"You can not use the same dimension shorthand twice. input_format: {input_format}"
        )
    if tensor.ndim != len(input_format):
        raise AssertionError(
            f"size of input tensor and input format are different. tensor shape: "
            f"{tensor.shape}, input_format: {input_format}"
        )
    input_format = input_format.upper()
    if len(input_format) == 4:
        nchw = tensor.transpose([input_format.find(c) for c in "NCHW"])
        return make_grid(nchw).transpose(1, 2, 0)
    if len(input_format) == 3:
        hwc = tensor.transpose([input_format.find(c) for c in "HWC"])
        return np.concatenate([hwc] * 3, 2) if hwc.shape[2] == 1 else hwc
    hw = tensor.transpose([input_format.find(c) for c in "HW"])
    return np.stack([hw] * 3, 2)


def image(tag, tensor, rescale=1, dataformats="NCHW"):
    if rescale != 1:
        raise NotImplementedError("ember.utils.tensorboard does not resize images (rescale=1)")
    hwc = convert_to_HWC(make_np(tensor), dataformats)
    # uint8 images are already in [0, 255]; anything else is taken to be in [0, 1]
    scale = 1 if hwc.dtype == np.uint8 else 255
    hwc = (hwc.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    height, width, channels = hwc.shape
    img = b"".join(
        [uint(1, height), uint(2, width), uint(3, channels), string(4, _png.encode(hwc))]
    )
    return _value(tag, message(4, img))


def _struct_value(v):
    """google.protobuf.Value: string_value=3 for strings, else number_value=2
    (bools included, as torch records them); a oneof, so zero is written."""
    if isinstance(v, str):
        return string(3, v, always=True)
    return double(2, v, always=True)


def _hparam(name, value, domain):
    """(HParamInfo bytes, the value to record) for one hyperparameter."""
    if isinstance(value, (int, float)):  # bool too, as torch: it records 0/1 numbers
        kind = _DATA_TYPE_FLOAT64
    elif isinstance(value, str):
        kind = _DATA_TYPE_STRING
    elif isinstance(value, _C.Tensor):
        value, domain, kind = float(make_np(value).reshape(-1)[0]), None, _DATA_TYPE_FLOAT64
    else:
        raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")
    info = string(1, name) + uint(4, kind)
    if domain is not None:
        values = b"".join(message(1, _struct_value(d)) for d in domain)
        info += message(5, values)  # domain_discrete: a ListValue
    return info, value


def _check_hparam_args(hparam_dict, metric_dict, domains):
    if not isinstance(hparam_dict, dict):
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    if not isinstance(domains, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for k, v in domains.items():
        if (
            k not in hparam_dict
            or not isinstance(v, list)
            or not all(isinstance(d, type(hparam_dict[k])) for d in v)
        ):
            raise TypeError(
                f"parameter: hparam_domain_discrete[{k}] should be a list of same type as "
                f"hparam_dict[{k}]."
            )


def _hparams_summary(tag, field_number, payload):
    """A Summary for the hparams plugin: HParamsPluginData (version 0, not written)
    holding `payload` in `field_number`, as the plugin content of `tag`."""
    return _value(tag, _plugin_metadata(_HPARAMS_PLUGIN, message(field_number, payload)))


def hparams(hparam_dict=None, metric_dict=None, hparam_domain_discrete=None):
    """The three Summaries the hparams plugin reads: the experiment (which
    hyperparameters and metrics exist), the session start (this run's values)
    and the session end (status success)."""
    domains = hparam_domain_discrete or {}
    _check_hparam_args(hparam_dict, metric_dict, domains)
    infos, entries = [], []
    for name, value in hparam_dict.items():
        if value is None:
            continue
        info, value = _hparam(name, value, domains.get(name))
        infos.append(message(4, info))
        entry = string(1, name) + message(2, _struct_value(value))
        entries.append(message(1, entry))  # SessionStartInfo.hparams map entry
    metrics = [message(5, message(1, string(2, tag))) for tag in metric_dict]
    experiment = b"".join(infos + metrics)
    return (
        _hparams_summary(_EXPERIMENT_TAG, 2, experiment),
        _hparams_summary(_SESSION_START_INFO_TAG, 3, b"".join(entries)),
        _hparams_summary(_SESSION_END_INFO_TAG, 4, uint(1, _STATUS_SUCCESS)),
    )


def figure_to_image(figures, close=True):
    """matplotlib figures rendered to CHW uint8 RGB arrays (stacked for a list)."""
    import matplotlib.backends.backend_agg as backend_agg
    import matplotlib.pyplot as plt

    def render(figure):
        canvas = backend_agg.FigureCanvasAgg(figure)
        canvas.draw()
        width, height = figure.canvas.get_width_height()
        rgba = np.frombuffer(canvas.buffer_rgba(), dtype=np.uint8).reshape(height, width, 4)
        if close:
            plt.close(figure)
        return np.moveaxis(rgba[:, :, :3], 2, 0)

    if isinstance(figures, list):
        return np.stack([render(f) for f in figures])
    return render(figures)
