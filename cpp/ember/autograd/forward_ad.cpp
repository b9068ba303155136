// Dual levels and tangents (Note [Forward-mode AD]).

#include "ember/autograd/forward_ad.h"

#include <cctype>
#include <stdexcept>

#include "ember/autograd/node.h"
#include "ember/ops.h"

namespace ember::forward_ad {

namespace {

// Levels are global, as torch's: a tangent set on one thread is seen on all.
std::atomic<uint64_t> open_level{0};
std::atomic<uint64_t> last_level{0};

// CumsumBackward0 -> cumsum, NativeLayerNormBackward0 -> native_layer_norm:
// the aten name torch's message uses.
std::string aten_name(const Node& node) {
  std::string op = forward_op_name(node);
  const size_t scope = op.rfind("::");  // torch::autograd::CopySlices -> CopySlices
  if (scope != std::string::npos) op = op.substr(scope + 2);
  // A word starts at a capital after a lower-case letter (LayerNorm), or at
  // a capital followed by a lower-case one (2DWith): MaxPool2DWithIndices ->
  // max_pool2d_with_indices.
  auto lower = [&](size_t i) {
    return i < op.size() && std::islower(static_cast<unsigned char>(op[i]));
  };
  std::string out;
  for (size_t i = 0; i < op.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(op[i]);
    if (std::isupper(c) && i > 0 && (lower(i - 1) || lower(i + 1))) out += '_';
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

}  // namespace

namespace detail {
thread_local int formula_depth = 0;
}

namespace {

bool carries_tangent(const Tensor& t) {
  if (!t) return false;
  const auto& f = t->forward_grad();
  return f && f->tangent && f->level == current_level();
}

}  // namespace

uint64_t current_level() { return open_level.load(std::memory_order_relaxed); }

uint64_t enter_level() {
  const uint64_t level = last_level.fetch_add(1) + 1;
  uint64_t none = 0;
  if (!open_level.compare_exchange_strong(none, level)) {
    throw std::runtime_error("Nested forward mode AD is not supported at the moment");
  }
  return level;
}

void exit_level(uint64_t level) {
  uint64_t expected = level;
  if (!open_level.compare_exchange_strong(expected, 0)) {
    throw std::runtime_error("Trying to exit a forward AD level that was not the last one created");
  }
}

Tensor tangent(const Tensor& t) {
  return carries_tangent(t) ? t->forward_grad()->tangent : nullptr;
}

Tensor tangent_or_zeros(const Tensor& t) {
  return carries_tangent(t) ? t->forward_grad()->tangent : zeros(t->shape(), t->dtype());
}

void set_tangent(const Tensor& t, const Tensor& tangent) {
  const uint64_t level = current_level();
  if (level == 0) {
    throw std::runtime_error(
        "Trying to create a dual Tensor for forward AD but no level exists, make sure to "
        "enter_dual_level() first.");
  }
  if (tangent && tangent->shape() != t->shape()) {
    throw std::runtime_error(
        "Trying to set a forward gradient that has a different size than that of the original "
        "Tensor, this is not supported. Tensor is of size " +
        shape_str(t->shape()) + " while the given forward gradient is of size " +
        shape_str(tangent->shape()) + ".");
  }
  Tensor value =
      tangent && tangent->dtype() != t->dtype() ? to_dtype(tangent, t->dtype()) : tangent;
  const auto& f = t->forward_grad();
  if (f) {
    f->level = level;
    f->tangent = std::move(value);
  } else if (value) {
    t->set_forward_grad(std::make_shared<ForwardGrad>(ForwardGrad{level, std::move(value)}));
  }
}

void share_forward_grad(const Tensor& output, const Tensor& alias) {
  if (!active()) return;
  if (!output->forward_grad()) output->set_forward_grad(std::make_shared<ForwardGrad>());
  alias->set_forward_grad(output->forward_grad());
}

namespace {

[[noreturn]] void throw_unsupported(const std::string& aten_op) {
  throw NotImplementedError("Trying to use forward AD with " + aten_op +
                            " that does not support it because it has not been implemented yet.");
}

}  // namespace

void throw_no_forward_formula(const Node& node) { throw_unsupported(aten_name(node)); }

void refuse_tangents(const char* aten_op, std::initializer_list<const Tensor*> inputs) {
  if (!active()) return;
  for (const Tensor* t : inputs) {
    if (has_tangent(*t)) throw_unsupported(aten_op);
  }
}

}  // namespace ember::forward_ad
