// Random tensor factories; the draws match torch's CPU generator (see docs/random.md).

#include "ember/random.h"

#include "ember/ops.h"

namespace ember {

Tensor randn(const Shape& shape, DType dtype, Generator* gen) {
  Tensor t = empty(shape, dtype);
  Generator& g = gen ? *gen : default_generator();
  EMBER_DISPATCH_FLOAT(dtype, T, [&] { fill_normal(t->data<T>(), t->numel(), 0.0, 1.0, g); });
  return t;
}

Tensor rand(const Shape& shape, DType dtype, Generator* gen) {
  Tensor t = empty(shape, dtype);
  Generator& g = gen ? *gen : default_generator();
  EMBER_DISPATCH_FLOAT(dtype, T, [&] { fill_uniform(t->data<T>(), t->numel(), 0.0, 1.0, g); });
  return t;
}

}  // namespace ember
