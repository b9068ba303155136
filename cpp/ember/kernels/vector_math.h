#pragma once
// Contiguous float kernels for the transcendental functions that dominate
// large elementwise work. Written as plain loops over a polynomial (no libm
// calls) so the compiler vectorizes them; each is built for AVX2+FMA and for
// baseline x86-64 and picked at load time (GCC target_clones).

#include <cstdint>

namespace ember {

// out[i] = exp(in[i]), max error ~2 ulp, exact handling of overflow/underflow/NaN.
void exp_contiguous(const float* in, float* out, int64_t n);
// out[i] = 1 / (1 + exp(-in[i]))
void sigmoid_contiguous(const float* in, float* out, int64_t n);
// Sum of n floats, float lanes folded into a double (Note [Streamed sum]).
double sum_contiguous_f32(const float* in, int64_t n);
// y[i] += alpha * x[i]
void axpy_contiguous(float alpha, const float* x, float* y, int64_t n);

}  // namespace ember
