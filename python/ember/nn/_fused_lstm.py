"""The float32 LSTM recurrence as one autograd node per layer and direction.

Each step is one GEMM (`h @ W_hh^T` added to that step's input projection) and one
fused cell kernel (Note [Fused LSTM cell] in cpp/ember/ops/rnn.cpp). The backward
walks the steps in reverse with the fused cell backward and one GEMM each for the
hidden state's gradient, then forms W_hh's gradient with a single GEMM over all
steps (instead of one small product per step).

A backward run with create_graph=True (grad mode on) instead recomputes the steps with
differentiable ops from the saved inputs and applies the same formulas with them, so
higher-order gradients are exact too (slower; float64 layers use the composed path).
"""

from .. import _C
from .._C import _nn
from .._grad_mode import is_grad_enabled, no_grad
from ..autograd.function import Function

_linear = _nn.linear
_cell_forward = _nn._lstm_cell_forward
_cell_backward = _nn._lstm_cell_backward
_stack = _C.stack
_unbind = _C._unbind


def _recurrence(xw, h, c, w_hh, reverse, keep):
    """Runs the steps; with `keep`, also returns what the backward needs (in step order)."""
    w_t = w_hh.t().contiguous().t()  # h @ w_t.t() is then a plain GEMM
    steps = _unbind(xw, 0)
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    hs = [None] * len(steps)
    saved = ([], [], [], []) if keep else None  # h_prev, c_prev, gates, tanh(c)
    for t in order:
        gates = _linear(h, w_t, steps[t])
        if keep:
            saved[0].append(h)
            saved[1].append(c)
        h, c, act, tanh_c = _cell_forward(gates, c)
        if keep:
            saved[2].append(act)
            saved[3].append(tanh_c)
        hs[t] = h
    return _stack(hs, 0), h, c, saved


class FusedLstmLayer(Function):
    _node_name = "MkldnnRnnLayerBackward0"  # torch's node for one CPU LSTM layer

    @staticmethod
    def forward(ctx, xw, h0, c0, w_hh, reverse):
        out, h, c, saved = _recurrence(xw, h0, c0, w_hh, reverse, keep=True)
        ctx.save_for_backward(xw, h0, c0, w_hh)
        ctx.saved = saved
        ctx.w_hh = w_hh.detach()
        ctx.reverse = reverse
        return out, h, c

    @staticmethod
    def backward(ctx, grad_out, grad_h, grad_c):
        if is_grad_enabled():  # create_graph: differentiable all the way
            return _differentiable_backward(ctx, grad_out, grad_h, grad_c)
        h_prev, c_prev, acts, tanh_cs = ctx.saved
        w_hh = ctx.w_hh
        n = len(acts)
        order = list(range(n - 1, -1, -1)) if ctx.reverse else list(range(n))
        grad_steps = _unbind(grad_out, 0)
        dgates = [None] * n  # in step order
        dh, dc = grad_h, grad_c
        for k in range(n - 1, -1, -1):
            t = order[k]
            dgates[k], dc = _cell_backward(grad_steps[t] + dh, dc, acts[k], tanh_cs[k], c_prev[k])
            dh = dgates[k].mm(w_hh)
        g = _stack(dgates, 0)
        rows = g.shape[0] * g.shape[1]
        grad_w = g.view(rows, -1).t().mm(_stack(h_prev, 0).view(rows, -1))
        grad_xw = _stack(dgates[::-1], 0) if ctx.reverse else g
        return grad_xw, dh, dc, grad_w, None


def _differentiable_backward(ctx, grad_out, grad_h, grad_c):
    """The backward's formulas (Note [Fused LSTM cell]) on a recomputed, recorded forward."""
    xw, h, c, w_hh = ctx.saved_tensors
    steps = _unbind(xw, 0)
    n = len(steps)
    order = list(range(n - 1, -1, -1)) if ctx.reverse else list(range(n))
    record = []
    for t in order:
        i, f, g, o = _C._chunk(_linear(h, w_hh, steps[t]), 4, 1)
        i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
        c_prev, h_prev = c, h
        c = f * c_prev + i * g
        tanh_c = c.tanh()
        h = o * tanh_c
        record.append((h_prev, c_prev, i, f, g, o, tanh_c))
    grad_steps = _unbind(grad_out, 0)
    dgates = [None] * n
    grad_w = None
    dh, dc = grad_h, grad_c
    for k in range(n - 1, -1, -1):
        h_prev, c_prev, i, f, g, o, tanh_c = record[k]
        dh_k = grad_steps[order[k]] + dh
        dc_k = dc + dh_k * o * (1 - tanh_c * tanh_c)
        d = _C.cat(
            [
                dc_k * g * i * (1 - i),
                dc_k * c_prev * f * (1 - f),
                dc_k * i * (1 - g * g),
                dh_k * tanh_c * o * (1 - o),
            ],
            1,
        )
        dgates[order[k]] = d
        dc = dc_k * f
        dh = d.mm(w_hh)
        step_w = d.t().mm(h_prev)
        grad_w = step_w if grad_w is None else grad_w + step_w
    return _stack(dgates, 0), dh, dc, grad_w, None


def lstm_direction(xw, h0, c0, w_hh, reverse):
    """(output (T, B, H), h_n, c_n) of one float32 LSTM direction without projection."""
    if is_grad_enabled() and any(t.requires_grad for t in (xw, h0, c0, w_hh)):
        return FusedLstmLayer.apply(xw, h0, c0, w_hh, reverse)
    with no_grad():
        out, h, c, _ = _recurrence(xw, h0, c0, w_hh, reverse, keep=False)
    return out, h, c
