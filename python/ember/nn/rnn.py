"""Recurrent layers: RNN, LSTM, GRU and their single-step cells.

Parameters, their names, shapes, initialisation order, checks, messages and reprs are
torch's. The computation is composed from differentiable ops (so gradients of any
order come from autograd), arranged to keep each time step short:

- the input projection of the whole sequence is one matrix product up front
  (`linear(x, W_ih, b_ih)`, with `b_hh` folded in for the RNN and LSTM), unbound into
  per-step views by one op;
- `W_hh` is transposed into a contiguous copy once per call, so each step's product
  `h @ W_hh^T` is one plain GEMM (`addmm` with that step's input projection as bias);
- gates come from one `chunk`, the step's hidden states are stacked once at the end.

A float32 LSTM without projection runs the recurrence as one autograd node per layer
and direction instead (`_fused_lstm.py`: a fused cell kernel per step, first-order
only like torch's float32 CPU LSTM); float64 keeps the composed path.

Between layers, dropout in training mode is torch's `dropout` of the layer's whole
output (both directions), drawing from the generator in torch's order.
"""

import math
import numbers
import warnings

from .. import _C
from .._C import _nn
from ..func._batched import loops_inside_vmap
from . import functional as F
from . import init
from ._fused_lstm import lstm_direction
from ._rnn_utils import PackedSequence
from .modules import Module, Parameter, factory_dtype

_linear = _nn.linear
_stack = _C.stack
_cat = _C.cat
_chunk = _C._chunk
_unbind = _C._unbind

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _transposed_contiguous(w):
    """A (G, H) view of a contiguous (H, G) copy of w: `h @ w.t()` is then a plain GEMM."""
    return w.t().contiguous().t()


def _lstm_direction(steps, h, c, w_hh, w_hr, reverse):
    """One LSTM direction of one layer; steps are the per-step input projections."""
    w_hh = _transposed_contiguous(w_hh)
    if w_hr is not None:
        w_hr = _transposed_contiguous(w_hr)
    outs = []
    for x_t in reversed(steps) if reverse else steps:
        i, f, g, o = _chunk(_linear(h, w_hh, x_t), 4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        if w_hr is not None:
            h = _linear(h, w_hr)
        outs.append(h)
    if reverse:
        outs.reverse()
    return outs, h, c


def _gru_direction(steps, h, w_hh, b_hh, reverse):
    w_hh = _transposed_contiguous(w_hh)
    outs = []
    for x_t in reversed(steps) if reverse else steps:
        x_r, x_z, x_n = _chunk(x_t, 3, 1)
        h_r, h_z, h_n = _chunk(_linear(h, w_hh, b_hh), 3, 1)
        r = (x_r + h_r).sigmoid()
        z = (x_z + h_z).sigmoid()
        n = (x_n + r * h_n).tanh()
        h = n + z * (h - n)
        outs.append(h)
    if reverse:
        outs.reverse()
    return outs, h


def _rnn_direction(steps, h, w_hh, relu, reverse):
    w_hh = _transposed_contiguous(w_hh)
    outs = []
    for x_t in reversed(steps) if reverse else steps:
        pre = _linear(h, w_hh, x_t)
        h = pre.relu() if relu else pre.tanh()
        outs.append(h)
    if reverse:
        outs.reverse()
    return outs, h


def _run_layers(mode, input, hx, cx, weights, has_bias, num_layers, dropout, train, num_dirs):
    """The stacked recurrence on a (T, B, features) input.

    hx (and cx for the LSTM) are lists of (B, hidden) states, one per layer and
    direction; weights are lists of [w_ih, w_hh, b_ih, b_hh, w_hr] per layer and
    direction (missing entries None). Returns (output, [h_n...], [c_n...]).
    """
    if input.shape[0] == 0:
        raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
    h_n, c_n = [], []
    layer_input = input
    for layer in range(num_layers):
        outputs = []
        for direction in range(num_dirs):
            k = layer * num_dirs + direction
            w_ih, w_hh, b_ih, b_hh, w_hr = weights[k]
            reverse = direction == 1
            if mode == "GRU":
                proj = _linear(layer_input, w_ih, b_ih)
                outs, h = _gru_direction(_unbind(proj, 0), hx[k], w_hh, b_hh, reverse)
            else:
                bias = b_ih + b_hh if has_bias else None
                proj = _linear(layer_input, w_ih, bias)
                if mode == "LSTM" and w_hr is None and proj.dtype == _C.float32:
                    out, h, c = lstm_direction(proj, hx[k], cx[k], w_hh, reverse)
                    outputs.append(out)
                    h_n.append(h)
                    c_n.append(c)
                    continue
                steps = _unbind(proj, 0)
                if mode == "LSTM":
                    outs, h, c = _lstm_direction(steps, hx[k], cx[k], w_hh, w_hr, reverse)
                    c_n.append(c)
                else:
                    outs, h = _rnn_direction(steps, hx[k], w_hh, mode == "RNN_RELU", reverse)
            outputs.append(_stack(outs, 0))
            h_n.append(h)
        layer_input = outputs[0] if num_dirs == 1 else _cat(outputs, 2)
        if dropout != 0 and train and layer < num_layers - 1:
            layer_input = F.dropout(layer_input, dropout, True)
    return layer_input, h_n, c_n


def _cell(mode, x_t, h, c, w_hh, b_hh, w_hr):
    """One step of any mode (w_hh, w_hr pre-transposed); x_t holds the input projection."""
    if mode == "LSTM":
        i, f, g, o = _chunk(_linear(h, w_hh, x_t), 4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        return (h if w_hr is None else _linear(h, w_hr)), c
    if mode == "GRU":
        x_r, x_z, x_n = _chunk(x_t, 3, 1)
        h_r, h_z, h_n = _chunk(_linear(h, w_hh, b_hh), 3, 1)
        r = (x_r + h_r).sigmoid()
        z = (x_z + h_z).sigmoid()
        n = (x_n + r * h_n).tanh()
        return n + z * (h - n), None
    pre = _linear(h, w_hh, x_t)
    return (pre.relu() if mode == "RNN_RELU" else pre.tanh()), None


def _packed_direction(mode, steps, sizes, h0, c0, w_hh, b_hh, w_hr, reverse):
    """One direction over packed steps: sequences drop out of the batch as they end
    (and, running backwards, join it with their initial state as they begin)."""
    w_hh = _transposed_contiguous(w_hh)
    w_hr = None if w_hr is None else _transposed_contiguous(w_hr)
    outs = [None] * len(sizes)
    if not reverse:
        h, c, done_h, done_c = h0, c0, [], []
        for t, bs in enumerate(sizes):
            if bs < h.shape[0]:
                done_h.append(h[bs:])
                h = h[:bs]
                if c is not None:
                    done_c.append(c[bs:])
                    c = c[:bs]
            h, c = _cell(mode, steps[t], h, c, w_hh, b_hh, w_hr)
            outs[t] = h
        h = _cat([h] + done_h[::-1], 0) if done_h else h
        if c is not None and done_c:
            c = _cat([c] + done_c[::-1], 0)
    else:
        h = h0[: sizes[-1]]
        c = None if c0 is None else c0[: sizes[-1]]
        for t in range(len(sizes) - 1, -1, -1):
            bs = sizes[t]
            if bs > h.shape[0]:
                h = _cat([h, h0[h.shape[0] : bs]], 0)
                if c is not None:
                    c = _cat([c, c0[c.shape[0] : bs]], 0)
            h, c = _cell(mode, steps[t], h, c, w_hh, b_hh, w_hr)
            outs[t] = h
    return _cat(outs, 0), h, c


def _run_packed(mode, data, sizes, hx, cx, weights, has_bias, num_layers, dropout, train, dirs):
    """_run_layers for a PackedSequence's data (N, features) and its batch sizes."""
    h_n, c_n = [], []
    layer_input = data
    for layer in range(num_layers):
        outputs = []
        for direction in range(dirs):
            k = layer * dirs + direction
            w_ih, w_hh, b_ih, b_hh, w_hr = weights[k]
            if mode == "GRU":
                proj, b_hidden = _linear(layer_input, w_ih, b_ih), b_hh
            else:
                proj = _linear(layer_input, w_ih, b_ih + b_hh if has_bias else None)
                b_hidden = None
            steps = _C._split_with_sizes(proj, sizes, 0)
            out, h, c = _packed_direction(
                mode, steps, sizes, hx[k], cx[k] if cx else None, w_hh, b_hidden, w_hr, direction
            )
            outputs.append(out)
            h_n.append(h)
            c_n.append(c)
        layer_input = outputs[0] if dirs == 1 else _cat(outputs, 1)
        if dropout != 0 and train and layer < num_layers - 1:
            layer_input = F.dropout(layer_input, dropout, True)
    return layer_input, h_n, c_n


def _type_name(value):
    return type(value).__name__


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters per layer and direction, checks, repr."""

    def __init__(
        self,
        mode,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        proj_size=0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        dtype = factory_dtype(device, dtype)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1

        if (
            not isinstance(dropout, numbers.Number)
            or isinstance(dropout, bool)
            or not 0 <= dropout <= 1
        ):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the "
                "probability of an element being zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so "
                "non-zero dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={num_layers}",
                stacklevel=2,
            )
        for name, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} should be of type bool, got: {_type_name(value)}")
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int):
                raise TypeError(f"{name} should be of type int, got: {_type_name(value)}")
            if value <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size

        self._flat_weights_names = []
        self._all_weights = []
        real_hidden = proj_size if proj_size > 0 else hidden_size
        for layer in range(num_layers):
            layer_input_size = input_size if layer == 0 else real_hidden * num_directions
            for direction in range(num_directions):
                suffix = "_reverse" if direction == 1 else ""
                shapes = [
                    ("weight_ih", (gate_size, layer_input_size)),
                    ("weight_hh", (gate_size, real_hidden)),
                ]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for stem, shape in shapes:
                    name = f"{stem}_l{layer}{suffix}"
                    setattr(self, name, Parameter(_C.empty(*shape, dtype=dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self):
        """A no-op on CPU, as in torch."""

    @property
    def _flat_weights(self):
        params = self._parameters
        return [params.get(name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def _weights_by_direction(self):
        params = self._parameters
        out = []
        for names in self._all_weights:
            found = {name.split("_l")[0]: params[name] for name in names}
            out.append(
                [
                    found["weight_ih"],
                    found["weight_hh"],
                    found.get("bias_ih"),
                    found.get("bias_hh"),
                    found.get("weight_hr"),
                ]
            )
        return out

    # ----- torch's checks -------------------------------------------------------

    def check_input(self, input, batch_sizes):
        weight_dtype = self._flat_weights[0].dtype
        if input.dtype != weight_dtype:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight_dtype}). "
                f"Convert input: input.to({weight_dtype}), or convert model: "
                f"model.to({input.dtype})"
            )
        expected_input_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_input_dim:
            raise RuntimeError(
                f"input must have {expected_input_dim} dimensions, got {input.dim()}"
            )
        if self.input_size != input.size(-1):
            raise RuntimeError(
                "input.size(-1) must be equal to input_size. "
                f"Expected {self.input_size}, got {input.size(-1)}"
            )

    def get_expected_hidden_size(self, input, batch_sizes):
        mini_batch = self._mini_batch(input, batch_sizes)
        num_directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, size)

    def _mini_batch(self, input, batch_sizes):
        if batch_sizes is not None:
            return int(batch_sizes[0])
        return input.size(0) if self.batch_first else input.size(1)

    def check_hidden_size(self, hx, expected_hidden_size, msg="Expected hidden size {}, got {}"):
        if tuple(hx.size()) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes):
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # ----- the shared forward ----------------------------------------------------

    def _forward_packed(self, packed, hx, cx):
        """A PackedSequence input: hx/cx in the caller's batch order, or None."""
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        sizes = [int(v) for v in batch_sizes.tolist()]
        num_dirs = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        shape = (self.num_layers * num_dirs, sizes[0])
        lstm = self.mode == "LSTM"
        if hx is None:
            hx = _C.zeros(*shape, real_hidden, dtype=data.dtype)
            cx = _C.zeros(*shape, self.hidden_size, dtype=data.dtype) if lstm else None
        elif sorted_indices is not None:
            hx = hx.index_select(1, sorted_indices)
            cx = cx.index_select(1, sorted_indices) if lstm else None
        self.check_forward_args(data, (hx, cx) if lstm else hx, batch_sizes)
        output, h_n, c_n = _run_packed(
            self.mode,
            data,
            sizes,
            _unbind(hx, 0),
            _unbind(cx, 0) if lstm else None,
            self._weights_by_direction(),
            self.bias,
            self.num_layers,
            self.dropout,
            self.training,
            num_dirs,
        )
        h_n = _stack(h_n, 0)
        c_n = _stack(c_n, 0) if lstm else None
        if unsorted_indices is not None:
            h_n = h_n.index_select(1, unsorted_indices)
            c_n = c_n.index_select(1, unsorted_indices) if lstm else None
        packed_out = PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices)
        return packed_out, ((h_n, c_n) if lstm else h_n)

    def _prepare(self, input, hx):
        """torch's shape handling: (input as (T, B, F), hx or None, batched, batch_dim)."""
        name = "RNN" if self.mode.startswith("RNN") else self.mode
        if input.dim() not in (2, 3):
            tail = " tensor" if name == "RNN" else ""
            raise ValueError(
                f"{name}: Expected input to be 2D or 3D, got {input.dim()}D{tail} instead"
            )
        is_batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if not is_batched:
            input = input.unsqueeze(batch_dim)
        return input, is_batched, batch_dim

    def _zeros(self, input, size):
        num_directions = 2 if self.bidirectional else 1
        batch = input.size(0) if self.batch_first else input.size(1)
        return _C.zeros(self.num_layers * num_directions, batch, size, dtype=input.dtype)

    def _compute(self, input, hx, cx):
        if self.batch_first:
            input = input.transpose(0, 1)
        num_dirs = 2 if self.bidirectional else 1
        output, h_n, c_n = _run_layers(
            self.mode,
            input,
            _unbind(hx, 0),
            _unbind(cx, 0) if cx is not None else None,
            self._weights_by_direction(),
            self.bias,
            self.num_layers,
            self.dropout,
            self.training,
            num_dirs,
        )
        if self.batch_first:
            output = output.transpose(0, 1)
        return output, _stack(h_n, 0), (_stack(c_n, 0) if cx is not None else None)


class _SingleStateRNN(RNNBase):
    """RNN and GRU: one hidden state tensor."""

    @loops_inside_vmap
    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx, None)
        input, is_batched, batch_dim = self._prepare(input, hx)
        if hx is not None:
            if not is_batched:
                if hx.dim() != 2:
                    raise RuntimeError(
                        "For unbatched 2-D input, hx should also be 2-D but got "
                        f"{hx.dim()}-D tensor"
                    )
                hx = hx.unsqueeze(1)
            elif hx.dim() != 3:
                raise RuntimeError(
                    f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor"
                )
        else:
            hx = self._zeros(input, self.hidden_size)
        self.check_forward_args(input, hx, None)
        output, h_n, _ = self._compute(input, hx, None)
        if not is_batched:
            output = output.squeeze(batch_dim)
            h_n = h_n.squeeze(1)
        return output, h_n


class RNN(_SingleStateRNN):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(
                f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(mode, *args, **kwargs)


class GRU(_SingleStateRNN):
    """Gated recurrent unit, gates (r, z, n) in torch's layout."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


class LSTM(RNNBase):
    """Long short-term memory, gates (i, f, g, o) in torch's layout; optional projection."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input, batch_sizes):
        mini_batch = self._mini_batch(input, batch_sizes)
        num_directions = 2 if self.bidirectional else 1
        return (self.num_layers * num_directions, mini_batch, self.hidden_size)

    def check_forward_args(self, input, hidden, batch_sizes):
        self.check_input(input, batch_sizes)
        self.check_hidden_size(
            hidden[0],
            self.get_expected_hidden_size(input, batch_sizes),
            "Expected hidden[0] size {}, got {}",
        )
        self.check_hidden_size(
            hidden[1],
            self.get_expected_cell_size(input, batch_sizes),
            "Expected hidden[1] size {}, got {}",
        )

    @loops_inside_vmap
    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, *(hx if hx is not None else (None, None)))
        input, is_batched, batch_dim = self._prepare(input, hx)
        if hx is None:
            real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
            hx = (self._zeros(input, real_hidden), self._zeros(input, self.hidden_size))
        else:
            if is_batched:
                if hx[0].dim() != 3 or hx[1].dim() != 3:
                    raise RuntimeError(
                        "For batched 3-D input, hx and cx should also be 3-D but got "
                        f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors"
                    )
            else:
                if hx[0].dim() != 2 or hx[1].dim() != 2:
                    raise RuntimeError(
                        "For unbatched 2-D input, hx and cx should also be 2-D but got "
                        f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors"
                    )
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        self.check_forward_args(input, hx, None)
        output, h_n, c_n = self._compute(input, hx[0], hx[1])
        if not is_batched:
            output = output.squeeze(batch_dim)
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return output, (h_n, c_n)


# ----- cells ------------------------------------------------------------------------


def _check_cell(input, hx, hidden_size, idx):
    if input.size(0) != hx.size(0):
        raise RuntimeError(
            f"Input batch size {input.size(0)} doesn't match hidden{idx} batch size {hx.size(0)}"
        )
    if hx.size(1) != hidden_size:
        raise RuntimeError(
            f"hidden{idx} has inconsistent hidden_size: got {hx.size(1)}, expected {hidden_size}"
        )


def _check_cell_input(input, input_size):
    if input.size(1) != input_size:
        raise RuntimeError(
            f"input has inconsistent input_size: got {input.size(1)} expected {input_size}"
        )


class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        dtype = factory_dtype(device, dtype)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(_C.empty(num_chunks * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(_C.empty(num_chunks * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(_C.empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(_C.empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _batched(self, input, kind):
        if input.dim() not in (1, 2):
            raise ValueError(f"{kind}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        return input.dim() == 2

    def _hidden(self, input, hx, is_batched):
        if hx is None:
            return _C.zeros(input.size(0), self.hidden_size, dtype=input.dtype)
        return hx if is_batched else hx.unsqueeze(0)

    def _gates(self, input, hx):
        p = self._parameters
        return (
            _linear(input, p["weight_ih"], p["bias_ih"]),
            _linear(hx, p["weight_hh"], p["bias_hh"]),
        )


class RNNCell(RNNCellBase):
    def __init__(
        self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None
    ):
        super().__init__(input_size, hidden_size, bias, 1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    @loops_inside_vmap
    def forward(self, input, hx=None):
        is_batched = self._batched(input, "RNNCell")
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"RNNCell: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        if not is_batched:
            input = input.unsqueeze(0)
        hx = self._hidden(input, hx, is_batched)
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        _check_cell_input(input, self.input_size)
        _check_cell(input, hx, self.hidden_size, 0)
        gi, gh = self._gates(input, hx)
        pre = gi + gh
        ret = pre.tanh() if self.nonlinearity == "tanh" else pre.relu()
        return ret if is_batched else ret.squeeze(0)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device=device, dtype=dtype)

    @loops_inside_vmap
    def forward(self, input, hx=None):
        is_batched = self._batched(input, "LSTMCell")
        if hx is not None:
            for idx, value in enumerate(hx):
                if value.dim() not in (1, 2):
                    raise ValueError(
                        f"LSTMCell: Expected hx[{idx}] to be 1D or 2D, got {value.dim()}D instead"
                    )
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            zeros = _C.zeros(input.size(0), self.hidden_size, dtype=input.dtype)
            hx = (zeros, zeros)
        elif not is_batched:
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        h, c = hx
        _check_cell_input(input, self.input_size)
        _check_cell(input, h, self.hidden_size, 0)
        _check_cell(input, c, self.hidden_size, 1)
        gi, gh = self._gates(input, h)
        i, f, g, o = _chunk(gi + gh, 4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        return (h, c) if is_batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device=device, dtype=dtype)

    @loops_inside_vmap
    def forward(self, input, hx=None):
        is_batched = self._batched(input, "GRUCell")
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"GRUCell: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        if not is_batched:
            input = input.unsqueeze(0)
        hx = self._hidden(input, hx, is_batched)
        _check_cell_input(input, self.input_size)
        _check_cell(input, hx, self.hidden_size, 0)
        gi, gh = self._gates(input, hx)
        x_r, x_z, x_n = _chunk(gi, 3, 1)
        h_r, h_z, h_n = _chunk(gh, 3, 1)
        r = (x_r + h_r).sigmoid()
        z = (x_z + h_z).sigmoid()
        n = (x_n + r * h_n).tanh()
        ret = n + z * (hx - n)
        return ret if is_batched else ret.squeeze(0)
