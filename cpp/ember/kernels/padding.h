#pragma once
// Padding loops (Note [Padding tables]); they know nothing of autograd.

#include <vector>

#include "ember/tensor.h"

namespace ember {

// Note [Padding tables]
// Every pad mode maps each output position along a padded dim to the input
// position it copies: i - before clamped into [0, n) (replicate), mirrored at
// the ends (reflect), or -1 when it falls outside (constant: the fill value).
// A negative pad crops through the same map. The forward kernel walks the
// output once, reading through one table per dim; the backward adds each
// output's gradient at the position it read, so positions read twice (the
// mirrored and clamped borders) collect every copy.
struct PadTables {
  Shape in_shape, out_shape;  // one rank
  // Per dim: output position -> input position, -1 for the fill value; empty
  // for a dim left as it is.
  std::vector<std::vector<int64_t>> source;
};

// The padded tensor of a contiguous x, `fill` at positions reading -1; any dtype.
Tensor pad_kernel(const Tensor& x, const PadTables& tables, const Scalar& fill);

// The gradient for x from a contiguous float32/float64 gradient of the padded
// output. The padded dims are the trailing ones; the leading dims go parallel.
Tensor pad_backward_kernel(const Tensor& grad, const PadTables& tables);

}  // namespace ember
