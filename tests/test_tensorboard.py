"""ember.utils.tensorboard writes the event files torch.utils.tensorboard writes.

The files are read back by a reader written here (TFRecord framing with its
checksums, a generic protobuf decoder, a PNG decoder), independent of the
writer's code. Values are checked against expectations computed here with
numpy; when torch's SummaryWriter is importable (it needs the `tensorboard`
package) the same calls are made on both writers and the events compared byte
for byte, and TensorBoard's own EventAccumulator reads Ember's files.
"""

from __future__ import annotations

import glob
import importlib
import importlib.util
import os
import re
import socket
import struct
import zlib

import ember
import numpy as np
import pytest
import torch
from ember.utils.tensorboard import SummaryWriter


def _torch_writer_importable():
    try:
        import torch.utils.tensorboard  # noqa: F401 -- needs the tensorboard package
    except ImportError:
        return False
    return True


needs_tensorboard = pytest.mark.skipif(
    not _torch_writer_importable(),
    reason="torch.utils.tensorboard is not importable (the tensorboard package is not installed)",
)
T = 123.25  # a walltime passed explicitly, so both writers' events are comparable


# ---------------------------------------------------------------- the reader


def crc32c(data):
    """Bitwise CRC32C (no table: a different computation from the writer's)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(path):
    """The records of a TFRecord file, every checksum checked."""
    data = open(path, "rb").read()
    out, pos = [], 0
    while pos < len(data):
        header = data[pos : pos + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[pos + 8 : pos + 12])
        body = data[pos + 12 : pos + 12 + length]
        (body_crc,) = struct.unpack("<I", data[pos + 12 + length : pos + 16 + length])
        assert header_crc == masked(header) and body_crc == masked(body)
        out.append(body)
        pos += 16 + length
    assert pos == len(data)
    return out


def read_varint(buf, pos):
    value = shift = 0
    while True:
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        shift += 7
        if byte < 0x80:
            return value, pos


def fields(buf):
    """{field number: [raw values]}: ints for varints, bytes for the rest."""
    out, pos = {}, 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        elif wire == 2:
            size, pos = read_varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        out.setdefault(number, []).append(value)
    assert pos == len(buf)
    return out


def one(f, number, default=None):
    values = f.get(number, [])
    assert len(values) <= 1
    return values[0] if values else default


def f64(raw):
    return struct.unpack("<d", raw)[0] if raw is not None else 0.0


def doubles(raw):
    return list(struct.unpack(f"<{len(raw) // 8}d", raw)) if raw else []


def text(raw):
    return raw.decode("utf-8") if raw is not None else ""


def plugin(value):
    """(plugin name, content) of a Summary.Value's metadata."""
    metadata = fields(one(value, 9, b""))
    data = fields(one(metadata, 1, b""))
    return text(one(data, 1)), one(data, 2, b"")


def summary_value(value_bytes):
    v = fields(value_bytes)
    out = {"tag": text(one(v, 1)), "plugin": plugin(v)}
    if 2 in v:
        out["simple_value"] = struct.unpack("<f", one(v, 2))[0]
    if 4 in v:
        img = fields(one(v, 4))
        out["image"] = (one(img, 1, 0), one(img, 2, 0), one(img, 3, 0), one(img, 4))
    if 5 in v:
        h = fields(one(v, 5))
        keys = ["min", "max", "num", "sum", "sum_squares"]
        out["histo"] = {k: f64(one(h, i + 1)) for i, k in enumerate(keys)}
        out["histo"]["bucket_limit"] = doubles(one(h, 6))
        out["histo"]["bucket"] = doubles(one(h, 7))
    if 8 in v:
        out["tensor"] = fields(one(v, 8))
    return out


def event(record):
    e = fields(record)
    out = {"wall_time": f64(one(e, 1)), "step": one(e, 2, 0), "raw": record}
    if 3 in e:
        out["file_version"] = text(one(e, 3))
    if 5 in e:
        out["values"] = [summary_value(v) for v in fields(one(e, 5)).get(1, [])]
    if 7 in e:
        out["session_status"] = one(fields(one(e, 7)), 1, 0)
    return out


def event_files(directory):
    return sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*")))


def events(directory):
    """The events of the one event file in `directory`."""
    (path,) = event_files(directory)
    return [event(r) for r in records(path)]


def png_pixels(data):
    """(H, W, C) uint8 array of an 8-bit RGB/RGBA PNG, any row filters."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(
            kind + body
        )
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert depth == 8 and color in (2, 6)
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    out = np.zeros((height, stride), dtype=np.int64)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int64)
        prev = out[y - 1] if y else np.zeros(stride, np.int64)
        for x in range(stride):
            a = out[y, x - channels] if x >= channels else 0
            b, c = prev[x], (prev[x - channels] if x >= channels else 0)
            if kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            else:
                pred = [0, a, b, (a + b) // 2][kind]
            out[y, x] = (line[x] + pred) % 256
    return out.astype(np.uint8).reshape(height, width, channels)


def tensorflow_edges():
    """torch's default histogram edges: +-1e-12 * 1.1**k below 1e20, and 0."""
    positive = []
    v = 1e-12
    while v < 1e20:
        positive.append(v)
        v *= 1.1
    return np.array([-p for p in positive[::-1]] + [0.0] + positive)


# ----------------------------------------------------------------- the tests


def test_crc32c_of_the_check_string():
    # the reader's CRC is the standard one (catalogued check value of CRC-32C)
    assert crc32c(b"123456789") == 0xE3069283
    from ember.utils.tensorboard import _record

    assert _record.crc32c(b"123456789") == 0xE3069283


def test_event_file_name_and_first_record(tmp_path):
    with SummaryWriter(tmp_path, filename_suffix=".v2") as w:
        assert w.get_logdir() == tmp_path
    (path,) = event_files(tmp_path)
    host, pid = re.escape(socket.gethostname()), os.getpid()
    assert re.fullmatch(
        rf"events\.out\.tfevents\.\d{{10}}\.{host}\.{pid}\.\d+\.v2", os.path.basename(path)
    )
    (first,) = [event(r) for r in records(path)]
    assert first["file_version"] == "brain.Event:2" and first["step"] == 0
    assert first["wall_time"] > 1e9


def test_default_log_dir_is_runs_time_host_comment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1")
    w.close()
    (run,) = os.listdir(tmp_path / "runs")
    pattern = r"[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_" + re.escape(socket.gethostname()) + "_lr0.1"
    assert re.fullmatch(pattern, run)
    assert w.get_logdir() == os.path.join("runs", run)
    assert len(event_files(tmp_path / "runs" / run)) == 1


SCALARS = {
    "zero": (lambda: 0.0, 0.0),
    "float": (lambda: -1e-3, -1e-3),
    "beyond float32": (lambda: 1e39, np.inf),
    "int": (lambda: 7, 7.0),
    "numpy float": (lambda: np.float64(1 / 3), 1 / 3),
    "numpy array": (lambda: np.array([[0.75]]), 0.75),
    "ember tensor": (lambda: ember.tensor(0.1), 0.1),
    "ember with grad": (lambda: ember.tensor([2.0], requires_grad=True) * 3, 6.0),
}


@pytest.mark.parametrize("kind", SCALARS)
def test_add_scalar_value_step_and_walltime(tmp_path, kind):
    make, expected = SCALARS[kind]
    value = make()
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("loss/train", value, 12, walltime=T)
    _, e = events(tmp_path)
    assert e["step"] == 12 and e["wall_time"] == T
    (v,) = e["values"]
    assert v["tag"] == "loss/train"
    assert v["simple_value"] == np.float32(expected)


def test_add_scalar_new_style_single_and_double(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("s", 1 / 3, 1, new_style=True)
        w.add_scalar("d", 1 / 3, 2, new_style=True, double_precision=True)
        w.add_scalar("b", ember.tensor(1.5, dtype=ember.bfloat16), 3)
    _, s, d, b = events(tmp_path)
    (vs,), (vd,) = s["values"], d["values"]
    assert vs["plugin"] == ("scalars", b"") and vd["plugin"] == ("scalars", b"")
    assert one(vs["tensor"], 1) == 1 and one(vd["tensor"], 1) == 2  # DT_FLOAT, DT_DOUBLE
    assert struct.unpack("<f", one(vs["tensor"], 5))[0] == np.float32(1 / 3)
    assert struct.unpack("<d", one(vd["tensor"], 6))[0] == 1 / 3
    assert "simple_value" not in vs and b["values"][0]["simple_value"] == 1.5


def test_add_scalar_refuses_several_values(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(AssertionError, match="one element"):
            w.add_scalar("x", ember.tensor([1.0, 2.0]))
        with pytest.raises(NotImplementedError, match="numpy array or ember tensor"):
            w.add_scalar("x", [1.0])


def test_add_scalars_writes_one_subdirectory_per_tag(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalars("run/loss", {"train": step, "val": ember.tensor(step / 2)}, step)
    assert sorted(os.listdir(tmp_path))[-2:] == ["run_loss_train", "run_loss_val"]
    assert len(events(tmp_path)) == 1  # the main file holds only its header
    for sub, scale in [("run_loss_train", 1), ("run_loss_val", 0.5)]:
        got = [
            (e["step"], e["values"][0]["tag"], e["values"][0]["simple_value"])
            for e in events(tmp_path / sub)[1:]
        ]
        assert got == [(s, "run/loss", s * scale) for s in range(3)]


def expected_tensorflow_histogram(values):
    """The occupied default buckets (right edges, counts) computed directly:
    a value v lies in [edge[i], edge[i+1]), the last bucket closed."""
    edges = tensorflow_edges()
    index = np.searchsorted(edges, values, side="right") - 1
    index[values == edges[-1]] = len(edges) - 2
    counts = np.bincount(index, minlength=len(edges) - 1)
    lo, hi = index.min(), index.max()
    left = counts[lo - 1] if lo > 0 else 0
    return list(edges[lo : hi + 2]), [left, *counts[lo : hi + 1]]


@pytest.mark.parametrize("source", ["numpy", "ember", "int"])
def test_add_histogram_tensorflow_buckets(tmp_path, source):
    x = np.random.RandomState(0).standard_normal(500) * 3
    values = {"numpy": x, "ember": ember.tensor(x), "int": np.arange(-5, 40)}[source]
    x = np.asarray(values.tolist() if isinstance(values, ember.Tensor) else values, float)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("w", values, 3, walltime=T)
    (v,) = events(tmp_path)[1]["values"]
    h = v["histo"]
    assert (h["min"], h["max"], h["num"]) == (x.min(), x.max(), len(x))
    assert h["sum"] == pytest.approx(x.sum(), rel=1e-12, abs=1e-12)
    assert h["sum_squares"] == pytest.approx((x * x).sum(), rel=1e-12)
    limits, counts = expected_tensorflow_histogram(x)
    assert h["bucket_limit"] == limits and h["bucket"] == counts
    assert sum(h["bucket"]) == len(x)


def test_add_histogram_numpy_bins_and_max_bins(tmp_path):
    x = np.random.RandomState(1).uniform(0, 10, 300)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("auto", x, bins=10)
        w.add_histogram("sub", x, bins=10, max_bins=4)
    (a,), (s,) = (e["values"] for e in events(tmp_path)[1:])
    counts, edges = np.histogram(x, bins=10)
    assert a["histo"]["bucket_limit"] == list(edges) and a["histo"]["bucket"] == [0, *counts]
    # 10 buckets over max_bins=4 merge in pairs (10 // 4), as torch's writer does
    assert s["histo"]["bucket"] == [0, *counts.reshape(5, 2).sum(1)]
    assert s["histo"]["bucket_limit"] == list(edges[::2])


def test_add_histogram_raw_and_errors(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_histogram_raw("r", 0, 3, 6, 9, 17, [1, 2, 3], [1, 2, 3], global_step=4)
        with pytest.raises(ValueError, match="no element"):
            w.add_histogram("e", np.array([]))
        with pytest.raises(ValueError):
            w.add_histogram_raw("r", 0, 3, 6, 9, 17, [1, 2], [1, 2, 3])
    (v,) = events(tmp_path)[1]["values"]
    assert v["histo"] == {
        "min": 0.0, "max": 3.0, "num": 6.0, "sum": 9.0, "sum_squares": 17.0,
        "bucket_limit": [1.0, 2.0, 3.0], "bucket": [1.0, 2.0, 3.0],
    }  # fmt: skip


def test_add_text(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", "**héllo**", 5)
    e = events(tmp_path)[1]
    (v,) = e["values"]
    assert e["step"] == 5 and v["tag"] == "notes/text_summary"
    assert v["plugin"] == ("text", b"")
    t = v["tensor"]
    assert one(t, 1) == 7 and one(t, 8) == "**héllo**".encode()  # DT_STRING
    (dim,) = fields(one(t, 2))[2]
    assert fields(dim) == {1: [1]}


def expected_uint8(chw_float):
    return (np.asarray(chw_float, np.float32) * 255).clip(0, 255).astype(np.uint8)


def written_image(directory):
    (v,) = events(directory)[-1]["values"]
    height, width, channels, png = v["image"]
    pixels = png_pixels(png)
    assert pixels.shape == (height, width, channels)
    return pixels


@pytest.mark.parametrize("fmt", ["CHW", "HWC"])
def test_add_image_float_in_unit_range(tmp_path, fmt):
    chw = np.random.RandomState(2).uniform(-0.2, 1.2, (3, 4, 6))
    img = chw if fmt == "CHW" else chw.transpose(1, 2, 0)
    with SummaryWriter(tmp_path) as w:
        w.add_image("img", ember.tensor(img), 1, dataformats=fmt)
    assert (written_image(tmp_path) == expected_uint8(chw).transpose(1, 2, 0)).all()


def test_add_image_uint8_gray_and_rgba(tmp_path):
    rgba = np.random.RandomState(3).randint(0, 256, (5, 3, 4)).astype(np.uint8)
    gray = np.random.RandomState(4).rand(5, 3)
    with SummaryWriter(tmp_path / "a") as w:
        w.add_image("rgba", rgba, dataformats="HWC")
    with SummaryWriter(tmp_path / "b") as w:
        w.add_image("gray", gray, dataformats="HW")
    assert (written_image(tmp_path / "a") == rgba).all()
    assert (written_image(tmp_path / "b") == np.stack([expected_uint8(gray)] * 3, 2)).all()


def test_add_images_tiles_a_grid_of_eight_columns(tmp_path):
    batch = np.random.RandomState(5).randint(0, 256, (10, 1, 2, 3)).astype(np.uint8)
    with SummaryWriter(tmp_path) as w:
        w.add_images("batch", batch)
    grid = written_image(tmp_path)
    assert grid.shape == (4, 24, 3)
    for i in range(16):
        row, col = divmod(i, 8)
        tile = grid[row * 2 : row * 2 + 2, col * 3 : col * 3 + 3]
        assert (tile == (batch[i, 0, :, :, None] if i < 10 else 0)).all()


def test_add_image_refuses_a_format_that_does_not_fit(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(AssertionError, match="size of input tensor and input format"):
            w.add_image("x", np.zeros((3, 4, 4)), dataformats="HW")
        with pytest.raises(AssertionError, match="same dimension shorthand twice"):
            w.add_image("x", np.zeros((3, 4, 4)), dataformats="HHW")


def hparams_content(value):
    name, content = value["plugin"]
    assert name == "hparams"
    return fields(content)


def struct_value(raw):
    f = fields(raw)
    return f64(one(f, 2)) if 2 in f else text(one(f, 3))


def test_add_hparams_writes_the_plugin_summaries_in_a_subdirectory(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_hparams(
            {"lr": 0.1, "bs": 32, "opt": "sgd", "skip": None, "flag": True},
            {"hp/acc": 0.5},
            hparam_domain_discrete={"opt": ["sgd", "adam"]},
            run_name="trial",
            global_step=4,
        )
    exp, start, end, metric = events(tmp_path / "trial")[1:]
    assert [e["values"][0]["tag"] for e in (exp, start, end)] == [
        "_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info",
    ]  # fmt: skip
    experiment = fields(one(hparams_content(exp["values"][0]), 2))
    infos = [fields(i) for i in experiment[4]]
    assert [(text(one(i, 1)), one(i, 4)) for i in infos] == [
        ("lr", 3),
        ("bs", 3),
        ("opt", 1),
        ("flag", 3),
    ]  # fmt: skip  (FLOAT64, FLOAT64, STRING, FLOAT64)
    domain = fields(one(infos[2], 5))
    assert [struct_value(v) for v in domain[1]] == ["sgd", "adam"]
    assert [fields(one(fields(m), 1)) for m in experiment[5]] == [{2: [b"hp/acc"]}]
    entries = [fields(e) for e in fields(one(hparams_content(start["values"][0]), 3))[1]]
    got = {text(one(e, 1)): struct_value(one(e, 2)) for e in entries}
    assert got == {"lr": 0.1, "bs": 32.0, "opt": "sgd", "flag": 1.0}
    assert fields(one(hparams_content(end["values"][0]), 4)) == {1: [1]}  # STATUS_SUCCESS
    assert metric["values"][0]["tag"] == "hp/acc" and metric["values"][0]["simple_value"] == 0.5
    assert all(e["step"] == 4 for e in (exp, start, end, metric))


def test_add_hparams_refuses_what_torch_refuses(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(TypeError, match="should be dictionary"):
            w.add_hparams([("lr", 1)], {})
        with pytest.raises(TypeError, match="hparam_domain_discrete\\[lr\\]"):
            w.add_hparams({"lr": 0.1}, {}, hparam_domain_discrete={"lr": ["a"]})
        with pytest.raises(ValueError, match="one of int, float, str, bool"):
            w.add_hparams({"lr": [0.1]}, {})


def test_purge_step_writes_a_restart_marker(tmp_path):
    with SummaryWriter(tmp_path, purge_step=42) as w:
        w.add_scalar("x", 1.0, 43)
    header, version, start, scalar = events(tmp_path)
    assert header["file_version"] == version["file_version"] == "brain.Event:2"
    assert (version["step"], start["step"], start["session_status"]) == (42, 42, 1)  # START
    assert scalar["step"] == 43


def test_max_queue_flush_and_close(tmp_path):
    w = SummaryWriter(tmp_path, max_queue=3, flush_secs=10_000)
    (path,) = event_files(tmp_path)
    header_size = os.path.getsize(path)
    w.add_scalar("x", 1.0, 0)
    w.add_scalar("x", 2.0, 1)
    assert os.path.getsize(path) == header_size  # still queued
    w.add_scalar("x", 3.0, 2)  # the third record reaches max_queue
    assert len(records(path)) == 4
    w.add_scalar("x", 4.0, 3)
    w.flush()
    assert len(records(path)) == 5
    w.close()
    w.close()  # a second close is ignored, as torch's
    w.add_scalar("x", 5.0, 4)  # a closed writer opens a new file
    w.close()
    assert len(event_files(tmp_path)) == 2


def test_flush_secs_elapsed_flushes_at_the_next_write(tmp_path):
    with SummaryWriter(tmp_path, max_queue=100, flush_secs=0) as w:
        (path,) = event_files(tmp_path)
        w.add_scalar("x", 1.0, 0)
        assert len(records(path)) == 2


def test_add_graph_and_unsupported_methods_raise(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(NotImplementedError, match="cannot write model graphs"):
            w.add_graph(ember.nn.Linear(2, 2), ember.ones(1, 2))
        with pytest.raises(NotImplementedError, match="add_embedding is not supported"):
            w.add_embedding(ember.ones(3, 2))


@pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is not None, reason="matplotlib is installed"
)
def test_add_figure_needs_matplotlib(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ImportError, match="matplotlib"):
            w.add_figure("fig", object())


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_add_figure_renders_the_figure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(1, 1), dpi=20)
    fig.patch.set_facecolor((1.0, 0.0, 0.0))
    with SummaryWriter(tmp_path) as w:
        w.add_figure("fig", fig)
    pixels = written_image(tmp_path)
    assert pixels.shape == (20, 20, 3) and (pixels == [255, 0, 0]).all()


def test_module_path():
    import ember.utils.tensorboard.writer as writer_module

    assert ember.utils.tensorboard.SummaryWriter is SummaryWriter is writer_module.SummaryWriter
    from ember.utils.tensorboard.summary import scalar

    assert callable(scalar)


# ------------------------------------------------- against torch's own writer


def same_calls(L, log_dir):
    """The same calls on torch's or Ember's writer (L is torch or ember)."""
    x = np.random.RandomState(6).standard_normal(200)
    img = np.random.RandomState(7).rand(3, 6, 5)
    writer_class = importlib.import_module(f"{L.__name__}.utils.tensorboard").SummaryWriter
    with writer_class(log_dir, purge_step=3) as w:
        w.add_scalar("zero", 0.0, 1, walltime=T)
        w.add_scalar("neg", L.tensor(-2.5), -1, walltime=T)
        w.add_scalar("f", 1 / 3, 2, walltime=T, new_style=True)
        w.add_scalar("d", 1 / 3, 2, walltime=T, new_style=True, double_precision=True)
        w.add_scalars("pair", {"a": 1, "b": L.tensor([2.0])}, 5, walltime=T)
        w.add_histogram("h", L.tensor(x), 4, walltime=T)
        w.add_histogram("hn", x, 4, bins="auto", walltime=T, max_bins=5)
        w.add_histogram("hi", np.arange(-3, 9), 4, walltime=T)
        w.add_text("t", "é *md*", 6, walltime=T)
        w.add_image("i", L.tensor(img), 7, walltime=T)
        w.add_images("b", (img[None] * 255).astype(np.uint8).repeat(3, 0), 8, walltime=T)
        w.add_hparams({"lr": 0.1, "n": 0, "s": "x"}, {"m": 1.0}, run_name="hp", global_step=9)


def comparable(e):
    """An event without its wall time; an image's PNG replaced by its pixels
    (PIL and Ember compress the same pixels differently)."""
    out = {k: v for k, v in e.items() if k not in ("wall_time", "raw")}
    for v in out.get("values", []):
        if "image" in v:
            *head, png = v["image"]
            v["image"] = (*head, png_pixels(png).tolist())
        if v["tag"] == "_hparams_/session_start_info":  # a map: its order is not defined
            entries = fields(one(fields(v["plugin"][1]), 3))[1]
            v["plugin"] = sorted(entries)
    return out


@needs_tensorboard
def test_files_match_torchs_summary_writer(tmp_path):
    pytest.importorskip("PIL", reason="torch's add_image needs pillow")
    same_calls(torch, tmp_path / "torch")
    same_calls(ember, tmp_path / "ember")
    dirs = sorted(os.path.relpath(d, tmp_path / "torch") for d, _, _ in os.walk(tmp_path / "torch"))
    assert dirs == sorted(
        os.path.relpath(d, tmp_path / "ember") for d, _, _ in os.walk(tmp_path / "ember")
    )
    assert dirs == [".", "hp", "pair_a", "pair_b"]
    for d in dirs:
        theirs, mine = events(tmp_path / "torch" / d), events(tmp_path / "ember" / d)
        assert len(theirs) == len(mine) > 1
        for a, b in zip(theirs[1:], mine[1:]):
            if a["wall_time"] == T and "image" not in str(a.get("values")):
                assert a["raw"] == b["raw"]  # byte for byte
            assert comparable(a) == comparable(b)


@needs_tensorboard
def test_tensorboard_reads_embers_files(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    x = np.random.RandomState(8).standard_normal(100)
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalar("loss", 1.0 / (step + 1), step)
        w.add_histogram("w", x, 0)
        w.add_image("img", np.random.RandomState(9).rand(3, 4, 4), 0)
        w.add_text("note", "hello", 0)
    acc = EventAccumulator(str(tmp_path), size_guidance={"tensors": 0, "scalars": 0})
    acc.Reload()
    assert [(s.step, s.value) for s in acc.Scalars("loss")] == [
        (0, 1.0), (1, pytest.approx(0.5)), (2, pytest.approx(1 / 3)),
    ]  # fmt: skip
    (h,) = acc.Histograms("w")
    assert h.histogram_value.num == 100 and h.histogram_value.min == x.min()
    (img,) = acc.Images("img")
    assert (img.width, img.height) == (4, 4)
    (note,) = acc.Tensors("note/text_summary")
    assert note.tensor_proto.string_val == [b"hello"]
