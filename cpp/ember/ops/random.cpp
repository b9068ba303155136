// Random tensor factories; the draws match torch's CPU generator (see docs/random.md).

#include "ember/random.h"

#include "ember/ops.h"

namespace ember {

// The half types draw a float32 stream and round it (Note [Half types]):
// values differ from torch's own half streams, which use 11- or 8-bit uniforms.
Tensor randn(const Shape& shape, DType dtype, Generator* gen) {
  if (!has_kernels(dtype)) return convert(randn(shape, kernel_dtype(dtype), gen), dtype);
  Tensor t = empty(shape, dtype);
  Generator& g = gen ? *gen : default_generator();
  EMBER_DISPATCH_FLOAT(dtype, T, [&] { fill_normal(t->data<T>(), t->numel(), 0.0, 1.0, g); });
  return t;
}

Tensor rand(const Shape& shape, DType dtype, Generator* gen) {
  if (!has_kernels(dtype)) return convert(rand(shape, kernel_dtype(dtype), gen), dtype);
  Tensor t = empty(shape, dtype);
  Generator& g = gen ? *gen : default_generator();
  EMBER_DISPATCH_FLOAT(dtype, T, [&] { fill_uniform(t->data<T>(), t->numel(), 0.0, 1.0, g); });
  return t;
}

}  // namespace ember
