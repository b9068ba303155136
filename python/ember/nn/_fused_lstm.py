"""The float32 LSTM recurrence as one autograd node per layer and direction.

The steps run in C++ (Note [Fused LSTM cell] in cpp/ember/ops/rnn.cpp): each is one
product `h @ W_hh^T` with the weight packed once, added to that step's input
projection, and one fused cell kernel. The backward walks the steps in reverse the
same way, then forms W_hh's gradient with a single GEMM over all steps.

A backward run with create_graph=True (grad mode on) instead recomputes the steps with
differentiable ops from the saved inputs and applies the same formulas with them, so
higher-order gradients are exact too (slower; float64 layers use the composed path).
"""

from .. import _C
from .._C import _nn
from .._grad_mode import is_grad_enabled, no_grad
from ..autograd.function import Function

_linear = _nn.linear
_layer_forward = _nn._lstm_layer_forward
_layer_backward = _nn._lstm_layer_backward
_stack = _C.stack
_unbind = _C._unbind


class FusedLstmLayer(Function):
    _node_name = "MkldnnRnnLayerBackward0"  # torch's node for one CPU LSTM layer

    @staticmethod
    def forward(ctx, xw, h0, c0, w_hh, reverse):
        out, h, c, gates, tanh_c, cs = _layer_forward(xw, h0, c0, w_hh, reverse, True)
        ctx.save_for_backward(xw, h0, c0, w_hh, out)  # out: in-place changes are caught
        ctx.saved = (gates, tanh_c, cs)
        ctx.reverse = reverse
        return out, h, c

    @staticmethod
    def backward(ctx, grad_out, grad_h, grad_c):
        if is_grad_enabled():  # create_graph: differentiable all the way
            return _differentiable_backward(ctx, grad_out, grad_h, grad_c)
        _, h0, c0, w_hh, out = ctx.saved_tensors
        gates, tanh_c, cs = ctx.saved
        grad_xw, dh, dc, grad_w = _layer_backward(
            grad_out, grad_h, grad_c, h0, c0, w_hh, out, gates, tanh_c, cs, ctx.reverse
        )
        return grad_xw, dh, dc, grad_w, None


def _differentiable_backward(ctx, grad_out, grad_h, grad_c):
    """The backward's formulas (Note [Fused LSTM cell]) on a recomputed, recorded forward."""
    xw, h, c, w_hh, _ = ctx.saved_tensors
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
        out, h, c = _layer_forward(xw, h0, c0, w_hh, reverse, False)[:3]
    return out, h, c
