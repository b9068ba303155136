#pragma once
// Contiguous float kernels for the transcendental functions that dominate
// large elementwise work. Written as plain loops over a polynomial (no libm
// calls) so the compiler vectorizes them; each is built for AVX-512
// (x86-64-v4), AVX2+FMA and baseline x86-64 and picked at load time (GCC
// target_clones). Accuracy and
// special values: Note [Vectorized math accuracy] in vector_math.cpp.

#include <cstdint>

namespace ember {

// out[i] = f(in[i]) for float32 arrays; in and out may be the same array.
void exp_contiguous(const float* in, float* out, int64_t n);
void expm1_contiguous(const float* in, float* out, int64_t n);
void log_contiguous(const float* in, float* out, int64_t n);
void log1p_contiguous(const float* in, float* out, int64_t n);
void sigmoid_contiguous(const float* in, float* out, int64_t n);
void tanh_contiguous(const float* in, float* out, int64_t n);
void erf_contiguous(const float* in, float* out, int64_t n);
void sin_contiguous(const float* in, float* out, int64_t n);
void cos_contiguous(const float* in, float* out, int64_t n);
// SiLU, x * sigmoid(x), and out[i] = grad[i] * silu'(in[i]).
void silu_contiguous(const float* in, float* out, int64_t n);
void silu_backward_contiguous(const float* grad, const float* in, float* out, int64_t n);
// GELU, exact (x * Phi(x)) or torch's tanh approximation.
void gelu_contiguous(const float* in, float* out, int64_t n, bool tanh_approx);
// out[i] = grad[i] * gelu'(in[i]).
void gelu_backward_contiguous(const float* grad, const float* in, float* out, int64_t n,
                              bool tanh_approx);
// Sum of n floats, float lanes folded into a double (Note [Streamed sum]).
double sum_contiguous_f32(const float* in, int64_t n);
// y[i] += alpha * x[i]
void axpy_contiguous(float alpha, const float* x, float* y, int64_t n);

// One softmax row on AVX-512: out[i] = exp(in[i] - shift), *sum = their sum,
// with no denormal work for arguments far below 0 (Note [Softmax and
// denormals] in softmax.cpp). out may alias in. Returns false, doing nothing,
// on a CPU without AVX-512.
bool exp_shifted_row(const float* in, float shift, float* out, int64_t n, float* sum);
// Softmax (or log-softmax) of `rows` contiguous rows of n floats on AVX-512,
// the row kernels of softmax.cpp in one function; false on other CPUs.
bool softmax_rows_avx512(const float* x, float* y, int64_t rows, int64_t n, bool log);

}  // namespace ember
