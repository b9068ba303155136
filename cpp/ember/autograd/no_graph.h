#pragma once

#include "ember/autograd/forward_ad.h"
#include "ember/autograd/grad_mode.h"

namespace ember {

// Held around the inner ops of a kernel's preparation (a dtype conversion, a
// permuted copy): they record no node and compute no tangent; the op records
// its own node and tangent afterwards.
struct NoGraph {
  GradModeGuard no_grad{false};
  forward_ad::FormulaScope no_tangents;
};

}  // namespace ember
