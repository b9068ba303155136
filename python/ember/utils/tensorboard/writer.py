"""SummaryWriter and FileWriter with torch.utils.tensorboard.writer's API."""

import os
import time

from . import _record, summary

__all__ = ["FileWriter", "SummaryWriter"]


def _tensorflow_bins():
    """torch's default histogram edges (from TensorFlow's histogram code):
    +-1e-12 growing by 10% up to 1e20, and 0. Built by the same repeated
    multiplication, so the edges are bit-for-bit torch's."""
    v, positive = 1e-12, []
    while v < 1e20:
        positive.append(v)
        v *= 1.1
    return [-b for b in reversed(positive)] + [0] + positive


class FileWriter:
    """Writes encoded Events to one event file in `log_dir`."""

    def __init__(self, log_dir, max_queue=10, flush_secs=120, filename_suffix=""):
        self.event_writer = _record.EventFile(str(log_dir), max_queue, flush_secs, filename_suffix)

    def get_logdir(self):
        return self.event_writer.logdir

    def add_event(self, step=None, walltime=None, **what):
        """One Event: `what` is summary=, file_version= or session_log= bytes/str."""
        wall_time = time.time() if walltime is None else walltime
        self.event_writer.write(_record.event(wall_time, step, **what))

    def add_summary(self, summary, global_step=None, walltime=None):
        self.add_event(global_step, walltime, summary=summary)

    def add_graph(self, graph_profile, walltime=None):
        raise NotImplementedError(_NO_GRAPH)

    def flush(self):
        self.event_writer.flush()

    def close(self):
        self.event_writer.close()


_NO_GRAPH = (
    "ember.utils.tensorboard cannot write model graphs: torch's add_graph traces the "
    "model with torch.jit into a GraphDef, and Ember has no tracer"
)


def _unsupported(method):
    def refuse(self, *args, **kwargs):
        raise NotImplementedError(
            f"ember.utils.tensorboard.SummaryWriter.{method} is not supported; the "
            "supported methods are add_scalar(s), add_histogram(_raw), add_text, "
            "add_image(s), add_figure and add_hparams"
        )

    refuse.__name__ = method
    return refuse


class SummaryWriter:
    """Writes TensorBoard event files, as torch.utils.tensorboard.SummaryWriter.

    log_dir defaults to runs/<month><day>_<hh>-<mm>-<ss>_<hostname><comment>;
    add_scalars and add_hparams write into subdirectories of it, as torch's.
    """

    def __init__(
        self,
        log_dir=None,
        comment="",
        purge_step=None,
        max_queue=10,
        flush_secs=120,
        filename_suffix="",
    ):
        if not log_dir:
            import socket
            from datetime import datetime

            now = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", now + "_" + socket.gethostname() + comment)
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer = self.all_writers = None
        self._get_file_writer()
        self.default_bins = _tensorflow_bins()

    def _new_file_writer(self, log_dir):
        return FileWriter(log_dir, self.max_queue, self.flush_secs, self.filename_suffix)

    def _get_file_writer(self):
        """The writer for log_dir itself, opened again (a new file) after close()."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = self._new_file_writer(self.log_dir)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                # TensorBoard drops the events at and after this step that an
                # earlier, interrupted run left in the directory.
                step, self.purge_step = self.purge_step, None
                self.file_writer.add_event(step, file_version=_record.FILE_VERSION)
                self.file_writer.add_event(step, session_log=_record.session_start())
        return self.file_writer

    def get_logdir(self):
        """The directory the event files are written to."""
        return self.log_dir

    def add_scalar(
        self,
        tag,
        scalar_value,
        global_step=None,
        walltime=None,
        new_style=False,
        double_precision=False,
    ):
        """One scalar; new_style stores it as a tensor (float32, or float64 with
        double_precision) for the scalars plugin instead of a simple_value."""
        encoded = summary.scalar(
            tag, scalar_value, new_style=new_style, double_precision=double_precision
        )
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Scalars plotted together: each goes, tagged `main_tag`, to its own
        subdirectory `<log_dir>/<main_tag with / as _>_<tag>`."""
        walltime = time.time() if walltime is None else walltime
        root = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            sub = root + "/" + main_tag.replace("/", "_") + "_" + tag
            if sub not in self.all_writers:
                self.all_writers[sub] = self._new_file_writer(sub)
            encoded = summary.scalar(main_tag, value)
            self.all_writers[sub].add_summary(encoded, global_step, walltime)

    def add_histogram(
        self, tag, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None
    ):
        """A histogram of `values`; bins is 'tensorflow' (torch's default edges)
        or anything numpy.histogram accepts."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        encoded = summary.histogram(tag, values, bins, max_bins=max_bins)
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    def add_histogram_raw(
        self,
        tag,
        min,
        max,
        num,
        sum,
        sum_squares,
        bucket_limits,
        bucket_counts,
        global_step=None,
        walltime=None,
    ):
        """A histogram given by its statistics and right bucket edges."""
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        encoded = summary.histogram_raw(
            tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts
        )
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        """Text (markdown) under `<tag>/text_summary`, as torch's."""
        self._get_file_writer().add_summary(summary.text(tag, text_string), global_step, walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        """One image, PNG-encoded: uint8 values as they are, others in [0, 1]."""
        encoded = summary.image(tag, img_tensor, dataformats=dataformats)
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        """A batch of images, tiled into one grid image of up to 8 columns."""
        encoded = summary.image(tag, img_tensor, dataformats=dataformats)
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """A matplotlib figure (or list of figures) rendered by matplotlib's Agg
        backend; needs matplotlib."""
        fmt = "NCHW" if isinstance(figure, list) else "CHW"
        image = summary.figure_to_image(figure, close)
        self.add_image(tag, image, global_step, walltime, dataformats=fmt)

    def add_hparams(
        self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None, global_step=None
    ):
        """Hyperparameters and their metrics for the HParams tab, written with
        the metrics as scalars into `<log_dir>/<run_name>` (default: the time)."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        encoded = summary.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        run_dir = os.path.join(self._get_file_writer().get_logdir(), run_name or str(time.time()))
        with SummaryWriter(log_dir=run_dir) as run:
            for part in encoded:
                run.file_writer.add_summary(part, global_step)
            for tag, value in metric_dict.items():
                run.add_scalar(tag, value, global_step)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        raise NotImplementedError(_NO_GRAPH)

    add_onnx_graph = _unsupported("add_onnx_graph")
    add_embedding = _unsupported("add_embedding")
    add_pr_curve = _unsupported("add_pr_curve")
    add_pr_curve_raw = _unsupported("add_pr_curve_raw")
    add_audio = _unsupported("add_audio")
    add_video = _unsupported("add_video")
    add_mesh = _unsupported("add_mesh")
    add_custom_scalars = _unsupported("add_custom_scalars")
    add_custom_scalars_multilinechart = _unsupported("add_custom_scalars_multilinechart")
    add_custom_scalars_marginchart = _unsupported("add_custom_scalars_marginchart")
    add_tensor = _unsupported("add_tensor")
    add_image_with_boxes = _unsupported("add_image_with_boxes")

    def flush(self):
        """Writes everything pending to disk."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()

    def close(self):
        """Flushes and closes every file; a later add_* opens a new one."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()
