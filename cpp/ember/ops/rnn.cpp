#include "ember/ops/rnn.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "ember/kernels/vector_math.h"
#include "ember/ops.h"

namespace ember {

// Note [Fused LSTM cell]
// One LSTM step after the matrix products, as one pass over (B, 4H) instead of
// a dozen elementwise ops (torch's gate order i, f, g, o):
//   i, f, o = sigmoid(.), g = tanh(.), cy = f*cx + i*g, hy = o*tanh(cy).
// Float32 uses the vectorized sigmoid of kernels/vector_math and
// tanh(x) = 2*sigmoid(2x) - 1 (absolute error ~1e-7: torch's own float32 LSTM
// paths differ from each other by more); float64 uses libm. The backward:
//   dc = dcy + dhy*o*(1 - tanh(cy)^2)
//   di = dc*g*i(1-i), df = dc*cx*f(1-f), dg = dc*i*(1-g^2), do = dhy*tanh(cy)*o(1-o)
//   dcx = dc*f.
// These are raw kernels: the layer that calls them records one autograd node
// for the whole recurrence (first-order only, like torch's float32 CPU LSTM).

namespace {

void check_cell(const Tensor& gates, const Tensor& cx) {
  if (gates->dim() != 2 || cx->dim() != 2 || gates->shape()[0] != cx->shape()[0] ||
      gates->shape()[1] != 4 * cx->shape()[1]) {
    throw std::invalid_argument("lstm_cell: gates must be (B, 4H) and cx (B, H), got " +
                                shape_str(gates->shape()) + " and " + shape_str(cx->shape()));
  }
  if (gates->dtype() != cx->dtype() ||
      (gates->dtype() != DType::Float32 && gates->dtype() != DType::Float64)) {
    throw std::invalid_argument("lstm_cell: gates and cx must both be float32 or float64");
  }
}

template <typename T>
inline T sigmoid_scalar(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

// tanh on a contiguous float buffer, in place: 2*sigmoid(2x) - 1.
void tanh_via_sigmoid(float* p, int64_t n) {
  for (int64_t k = 0; k < n; ++k) p[k] *= 2.0f;
  sigmoid_contiguous(p, p, n);
  for (int64_t k = 0; k < n; ++k) p[k] = 2.0f * p[k] - 1.0f;
}

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

void forward_f64(const double* pre, const double* cx, double* act, double* tc, double* hy,
                 double* cy, int64_t rows, int64_t H) {
  for (int64_t b = 0; b < rows; ++b) {
    const double* in = pre + b * 4 * H;
    double* a = act + b * 4 * H;
    for (int64_t k = 0; k < 4 * H; ++k) {
      a[k] = (k >= 2 * H && k < 3 * H) ? std::tanh(in[k]) : sigmoid_scalar(in[k]);
    }
    for (int64_t k = 0; k < H; ++k) {
      const double c = a[H + k] * cx[b * H + k] + a[k] * a[2 * H + k];
      cy[b * H + k] = c;
      tc[b * H + k] = std::tanh(c);
      hy[b * H + k] = a[3 * H + k] * tc[b * H + k];
    }
  }
}

template <typename T>
void backward_rows(const T* dhy, const T* dcy, const T* act, const T* tc, const T* cx, T* dgates,
                   T* dcx, int64_t rows, int64_t H) {
  for (int64_t b = 0; b < rows; ++b) {
    const T* i = act + b * 4 * H;
    const T* f = i + H;
    const T* g = i + 2 * H;
    const T* o = i + 3 * H;
    T* di = dgates + b * 4 * H;
    T* df = di + H;
    T* dg = di + 2 * H;
    T* d_o = di + 3 * H;
    const T* t = tc + b * H;
    const T* c = cx + b * H;
    T* dc_out = dcx + b * H;
    for (int64_t k = 0; k < H; ++k) {
      const T dh = dhy ? dhy[b * H + k] : T(0);
      const T dc = (dcy ? dcy[b * H + k] : T(0)) + dh * o[k] * (T(1) - t[k] * t[k]);
      d_o[k] = dh * t[k] * o[k] * (T(1) - o[k]);
      di[k] = dc * g[k] * i[k] * (T(1) - i[k]);
      df[k] = dc * c[k] * f[k] * (T(1) - f[k]);
      dg[k] = dc * i[k] * (T(1) - g[k] * g[k]);
      dc_out[k] = dc * f[k];
    }
  }
}

Tensor dense(const Tensor& t) { return t->is_contiguous() ? t : contiguous_clone(t); }

}  // namespace

LstmCellOutputs lstm_cell_forward(const Tensor& gates_in, const Tensor& cx_in) {
  check_cell(gates_in, cx_in);
  const Tensor gates = dense(gates_in), cx = dense(cx_in);
  const int64_t rows = gates->shape()[0], H = cx->shape()[1];
  const DType dt = gates->dtype();
  LstmCellOutputs out{empty(cx->shape(), dt), empty(cx->shape(), dt), empty(gates->shape(), dt),
                      empty(cx->shape(), dt)};
  if (dt == DType::Float32) {
    forward_f32(gates->data<float>(), cx->data<float>(), out.gates->data<float>(),
                out.tanh_cy->data<float>(), out.hy->data<float>(), out.cy->data<float>(), rows, H);
  } else {
    forward_f64(gates->data<double>(), cx->data<double>(), out.gates->data<double>(),
                out.tanh_cy->data<double>(), out.hy->data<double>(), out.cy->data<double>(), rows,
                H);
  }
  return out;
}

std::pair<Tensor, Tensor> lstm_cell_backward(const Tensor& grad_hy, const Tensor& grad_cy,
                                             const Tensor& gates_in, const Tensor& tanh_cy_in,
                                             const Tensor& cx_in) {
  check_cell(gates_in, cx_in);
  for (const Tensor* g : {&grad_hy, &grad_cy, &tanh_cy_in}) {
    if (*g && ((*g)->shape() != cx_in->shape() || (*g)->dtype() != cx_in->dtype())) {
      throw std::invalid_argument("lstm_cell_backward: gradients must match cx's shape and dtype");
    }
  }
  const Tensor gates = dense(gates_in), tc = dense(tanh_cy_in), cx = dense(cx_in);
  const Tensor dhy = grad_hy ? dense(grad_hy) : Tensor();
  const Tensor dcy = grad_cy ? dense(grad_cy) : Tensor();
  const int64_t rows = gates->shape()[0], H = cx->shape()[1];
  const DType dt = gates->dtype();
  Tensor dgates = empty(gates->shape(), dt), dcx = empty(cx->shape(), dt);
  if (dt == DType::Float32) {
    backward_rows<float>(dhy ? dhy->data<float>() : nullptr, dcy ? dcy->data<float>() : nullptr,
                         gates->data<float>(), tc->data<float>(), cx->data<float>(),
                         dgates->data<float>(), dcx->data<float>(), rows, H);
  } else {
    backward_rows<double>(dhy ? dhy->data<double>() : nullptr, dcy ? dcy->data<double>() : nullptr,
                          gates->data<double>(), tc->data<double>(), cx->data<double>(),
                          dgates->data<double>(), dcx->data<double>(), rows, H);
  }
  return {dgates, dcx};
}

}  // namespace ember
