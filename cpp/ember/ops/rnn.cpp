#include "ember/ops/rnn.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "ember/kernels/blas.h"
#include "ember/kernels/multiversion.h"
#include "ember/kernels/packed_gemm.h"
#include "ember/kernels/vector_math.h"
#include "ember/ops.h"

namespace ember {

// Note [Fused LSTM cell]
// A float32 LSTM layer runs all its steps here. Each step is one product
// h @ W_hh^T added to the step's input projection (W_hh packed once per call,
// Note [Packed GEMM]) and one pass over (B, 4H) for the cell instead of a
// dozen elementwise ops (torch's gate order i, f, g, o):
//   i, f, o = sigmoid(.), g = tanh(.), cy = f*cx + i*g, hy = o*tanh(cy).
// It uses the vectorized sigmoid of kernels/vector_math and
// tanh(x) = 2*sigmoid(2x) - 1 (absolute error ~1e-7: torch's own float32 LSTM
// paths differ from each other by more). The backward walks the steps in
// reverse, one product with W_hh each for the hidden state's gradient, and
// forms W_hh's gradient in one product over all steps:
//   dc = dcy + dhy*o*(1 - tanh(cy)^2)
//   di = dc*g*i(1-i), df = dc*cx*f(1-f), dg = dc*i*(1-g^2), do = dhy*tanh(cy)*o(1-o)
//   dcx = dc*f.
// These are raw kernels: the Python layer that calls them records one autograd
// node for the whole recurrence (first-order; a double backward recomputes
// the steps with differentiable ops).

namespace {

// tanh on a contiguous float buffer, in place: 2*sigmoid(2x) - 1.
void tanh_via_sigmoid(float* p, int64_t n) {
  for (int64_t k = 0; k < n; ++k) p[k] *= 2.0f;
  sigmoid_contiguous(p, p, n);
  for (int64_t k = 0; k < n; ++k) p[k] = 2.0f * p[k] - 1.0f;
}

EMBER_MULTIVERSION
void forward_f32(const float* pre, const float* cx, float* act, float* tc, float* hy, float* cy,
                 int64_t rows, int64_t H) {
  for (int64_t b = 0; b < rows; ++b) {
    const float* in = pre + b * 4 * H;
    float* a = act + b * 4 * H;
    for (int64_t k = 0; k < 4 * H; ++k) a[k] = in[k];
    for (int64_t k = 2 * H; k < 3 * H; ++k) a[k] *= 2.0f;  // g: tanh through sigmoid
    sigmoid_contiguous(a, a, 4 * H);
    float* g = a + 2 * H;
    for (int64_t k = 0; k < H; ++k) g[k] = 2.0f * g[k] - 1.0f;
    const float* i = a;
    const float* f = a + H;
    const float* o = a + 3 * H;
    const float* c = cx + b * H;
    float* cn = cy + b * H;
    float* t = tc + b * H;
    for (int64_t k = 0; k < H; ++k) {
      cn[k] = f[k] * c[k] + i[k] * g[k];
      t[k] = cn[k];
    }
    tanh_via_sigmoid(t, H);
    float* h = hy + b * H;
    for (int64_t k = 0; k < H; ++k) h[k] = o[k] * t[k];
  }
}

EMBER_MULTIVERSION
void backward_rows(const float* __restrict dhy, const float* __restrict dcy,
                   const float* __restrict act, const float* __restrict tc,
                   const float* __restrict cx, float* __restrict dgates, float* __restrict dcx,
                   int64_t rows, int64_t H) {
  for (int64_t b = 0; b < rows; ++b) {
    const float* i = act + b * 4 * H;
    const float* f = i + H;
    const float* g = i + 2 * H;
    const float* o = i + 3 * H;
    float* di = dgates + b * 4 * H;
    float* df = di + H;
    float* dg = di + 2 * H;
    float* d_o = di + 3 * H;
    const float* t = tc + b * H;
    const float* c = cx + b * H;
    const float* dh_row = dhy + b * H;
    const float* dc_row = dcy + b * H;
    float* dc_out = dcx + b * H;
    for (int64_t k = 0; k < H; ++k) {
      const float dh = dh_row[k];
      const float dc = dc_row[k] + dh * o[k] * (1.0f - t[k] * t[k]);
      d_o[k] = dh * t[k] * o[k] * (1.0f - o[k]);
      di[k] = dc * g[k] * i[k] * (1.0f - i[k]);
      df[k] = dc * c[k] * f[k] * (1.0f - f[k]);
      dg[k] = dc * i[k] * (1.0f - g[k] * g[k]);
      dc_out[k] = dc * f[k];
    }
  }
}

Tensor dense(const Tensor& t) { return t->is_contiguous() ? t : contiguous_clone(t); }

void check_layer(const Tensor& xw, const Tensor& h0, const Tensor& c0, const Tensor& w_hh) {
  for (const Tensor* t : {&xw, &h0, &c0, &w_hh}) {
    if ((*t)->dtype() != DType::Float32) {
      throw std::invalid_argument("lstm_layer: expected float32 tensors, got " +
                                  std::string(dtype_name((*t)->dtype())));
    }
  }
  const bool ok = xw->dim() == 3 && h0->dim() == 2 && c0->shape() == h0->shape() &&
                  w_hh->dim() == 2 && xw->shape()[1] == h0->shape()[0] &&
                  w_hh->shape()[1] == h0->shape()[1] && w_hh->shape()[0] == 4 * h0->shape()[1] &&
                  xw->shape()[2] == w_hh->shape()[0];
  if (!ok) {
    throw std::invalid_argument(
        "lstm_layer: xw must be (T, B, 4H), h0 and c0 (B, H), w_hh (4H, H), got " +
        shape_str(xw->shape()) + ", " + shape_str(h0->shape()) + ", " + shape_str(c0->shape()) +
        ", " + shape_str(w_hh->shape()));
  }
}

Tensor copy_of(const float* data, const Shape& shape) {
  Tensor out = empty(shape, DType::Float32);
  std::copy(data, data + out->numel(), out->data<float>());
  return out;
}

// The time index of the s-th step run.
int64_t time_of(int64_t s, int64_t steps, bool reverse) { return reverse ? steps - 1 - s : s; }

}  // namespace

LstmLayerOutputs lstm_layer_forward(const Tensor& xw_in, const Tensor& h0_in, const Tensor& c0_in,
                                    const Tensor& w_hh_in, bool reverse, bool keep) {
  check_layer(xw_in, h0_in, c0_in, w_hh_in);
  const Tensor xw = dense(xw_in), h0 = dense(h0_in), c0 = dense(c0_in), w_hh = dense(w_hh_in);
  const int64_t T = xw->shape()[0], B = h0->shape()[0], H = h0->shape()[1];
  const int64_t state = B * H, gate_rows = B * 4 * H;
  // W_hh^T (H x 4H): element (r, j) is w_hh[j, r].
  const PackedMatrix w_t(w_hh->data<float>(), 1, H, H, 4 * H);
  const DType f32 = DType::Float32;
  LstmLayerOutputs out;
  out.output = empty({T, B, H}, f32);
  // Without `keep`, one step's gates and tanh(c), and c in two alternating buffers.
  const Tensor gates = keep ? empty({T, B, 4 * H}, f32) : empty({B, 4 * H}, f32);
  const Tensor tanh_c = keep ? empty({T, B, H}, f32) : empty({B, H}, f32);
  const Tensor cs = keep ? empty({T, B, H}, f32) : empty({2, B, H}, f32);
  std::vector<float> pre(static_cast<size_t>(gate_rows));
  const float* h = h0->data<float>();
  const float* c = c0->data<float>();
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = time_of(s, T, reverse);
    const float* x_t = xw->data<float>() + t * gate_rows;
    std::copy(x_t, x_t + gate_rows, pre.data());
    w_t.multiply_add(B, h, H, pre.data(), 4 * H);
    float* act = gates->data<float>() + (keep ? t * gate_rows : 0);
    float* tc = tanh_c->data<float>() + (keep ? t * state : 0);
    float* c_next = cs->data<float>() + (keep ? t : s % 2) * state;
    float* h_next = out.output->data<float>() + t * state;
    forward_f32(pre.data(), c, act, tc, h_next, c_next, B, H);
    h = h_next;
    c = c_next;
  }
  out.hy = copy_of(h, {B, H});
  out.cy = copy_of(c, {B, H});
  if (keep) {
    out.gates = gates;
    out.tanh_c = tanh_c;
    out.c = cs;
  }
  return out;
}

LstmLayerGradients lstm_layer_backward(const Tensor& grad_output_in, const Tensor& grad_hy,
                                       const Tensor& grad_cy, const Tensor& h0_in,
                                       const Tensor& c0_in, const Tensor& w_hh_in,
                                       const LstmLayerOutputs& fwd, bool reverse) {
  check_layer(fwd.gates, h0_in, c0_in, w_hh_in);
  const Tensor h0 = dense(h0_in), c0 = dense(c0_in), w_hh = dense(w_hh_in);
  const int64_t T = fwd.gates->shape()[0], B = h0->shape()[0], H = h0->shape()[1];
  const int64_t state = B * H, gate_rows = B * 4 * H;
  for (const Tensor* saved : {&fwd.gates, &fwd.output, &fwd.tanh_c, &fwd.c}) {
    const int64_t want = (saved == &fwd.gates ? gate_rows : state) * T;
    if (!*saved || (*saved)->dtype() != DType::Float32 || (*saved)->numel() != want ||
        !(*saved)->is_contiguous()) {
      throw std::invalid_argument(
          "lstm_layer_backward: expected the forward's contiguous float32 gates (T, B, 4H), "
          "output, tanh(c) and c (T, B, H)");
    }
  }
  for (const Tensor* g : {&grad_output_in, &grad_hy, &grad_cy}) {
    const bool ok = !*g || ((*g)->dtype() == DType::Float32 &&
                            (*g)->numel() == (g == &grad_output_in ? T * state : state));
    if (!ok) throw std::invalid_argument("lstm_layer_backward: gradients must match the outputs");
  }
  const Tensor grad_output = grad_output_in ? dense(grad_output_in) : Tensor();
  const PackedMatrix w(w_hh->data<float>(), H, 1, 4 * H, H);  // dgates (B x 4H) @ W_hh
  LstmLayerGradients grads;
  grads.xw = empty({T, B, 4 * H}, DType::Float32);
  std::vector<float> dh(static_cast<size_t>(state), 0.0f), dc(dh), dc_prev(dh), dh_step(dh);
  // One dense copy each: a strided gradient (the expanded one of h_n.sum())
  // must be read from a single buffer.
  for (const auto& [given, into] : {std::pair{&grad_hy, &dh}, std::pair{&grad_cy, &dc}}) {
    if (!*given) continue;
    const Tensor g = dense(*given);
    std::copy(g->data<float>(), g->data<float>() + state, into->begin());
  }
  const float* cs = fwd.c->data<float>();
  for (int64_t s = T - 1; s >= 0; --s) {
    const int64_t t = time_of(s, T, reverse);
    for (int64_t k = 0; k < state; ++k) {
      dh_step[k] = dh[k] + (grad_output ? grad_output->data<float>()[t * state + k] : 0.0f);
    }
    const float* c_prev = s == 0 ? c0->data<float>() : cs + time_of(s - 1, T, reverse) * state;
    float* dgates = grads.xw->data<float>() + t * gate_rows;
    backward_rows(dh_step.data(), dc.data(), fwd.gates->data<float>() + t * gate_rows,
                  fwd.tanh_c->data<float>() + t * state, c_prev, dgates, dc_prev.data(), B, H);
    std::swap(dc, dc_prev);
    std::fill(dh.begin(), dh.end(), 0.0f);
    w.multiply_add(B, dgates, 4 * H, dh.data(), H);
  }
  grads.h0 = copy_of(dh.data(), {B, H});
  grads.c0 = copy_of(dc.data(), {B, H});
  // W_hh's gradient in one product over all steps: dgates^T @ h_prev, with
  // every step's previous state gathered in time order.
  std::vector<float> h_prev(static_cast<size_t>(T * state));
  for (int64_t s = 0; s < T; ++s) {
    const float* src =
        s == 0 ? h0->data<float>() : fwd.output->data<float>() + time_of(s - 1, T, reverse) * state;
    std::copy(src, src + state, h_prev.data() + time_of(s, T, reverse) * state);
  }
  grads.w_hh = empty({4 * H, H}, DType::Float32);
  gemm<float>(4 * H, H, T * B, {grads.xw->data<float>(), 1, 4 * H}, {h_prev.data(), H, 1},
              grads.w_hh->data<float>(), H, false);
  return grads;
}

}  // namespace ember
