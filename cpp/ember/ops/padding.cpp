// Padding: constant_pad_nd and F.pad's reflect and replicate modes, with
// torch's checks and messages, the kernels of kernels/padding.cpp and the
// backward formulas (Note [Padding tables]).

#include "ember/autograd/functions/padding.h"

#include <array>
#include <string>

#include "ember/kernels/elementwise.h"
#include "ember/kernels/padding.h"

namespace ember {
namespace {

// One padded dim: torch's pad list names the last dim first.
struct DimPad {
  int64_t dim = 0, before = 0, after = 0;
};

std::vector<DimPad> dim_pads(int64_t ndim, const DimList& pad) {
  std::vector<DimPad> pads;
  for (size_t k = 0; k + 1 < pad.size(); k += 2) {
    pads.push_back({ndim - 1 - static_cast<int64_t>(k / 2), pad[k], pad[k + 1]});
  }
  return pads;
}

enum class Fill { Constant, Reflect, Replicate };

// Output position i reads input position i - before, clamped, mirrored or
// -1 (the fill value) when outside [0, n).
std::vector<int64_t> source_table(Fill fill, int64_t n, int64_t before, int64_t size) {
  std::vector<int64_t> table(static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i) {
    int64_t s = i - before;
    if (fill == Fill::Replicate) {
      s = std::clamp<int64_t>(s, 0, n - 1);
    } else if (fill == Fill::Reflect) {
      s = std::abs(s);
      if (s > n - 1) s = 2 * (n - 1) - s;
    } else if (s < 0 || s >= n) {
      s = -1;
    }
    table[static_cast<size_t>(i)] = s;
  }
  return table;
}

PadTables pad_tables(const Shape& in, const std::vector<DimPad>& pads, Fill fill) {
  PadTables t;
  t.in_shape = t.out_shape = in;
  t.source.resize(in.size());
  for (const DimPad& p : pads) {
    const int64_t n = in[p.dim], size = n + p.before + p.after;
    t.out_shape[p.dim] = size;
    t.source[p.dim] = source_table(fill, n, p.before, size);
  }
  return t;
}

Fill fill_of(PadMode mode) { return mode == PadMode::Reflect ? Fill::Reflect : Fill::Replicate; }

Tensor dense(const Tensor& t) {
  GradModeGuard no_grad(false);
  return contiguous(t);
}

DimList negated(const DimList& pad) {
  DimList out;
  for (int64_t p : pad) out.push_back(-p);
  return out;
}

// torch crops negative pads with narrow() before it pads, so a crop past the
// dim's size fails there, with narrow's message.
void check_constant_pad(const Tensor& a, const DimList& pad) {
  if (pad.size() % 2 != 0) {
    throw std::runtime_error("Length of pad must be even but instead it equals " +
                             std::to_string(pad.size()));
  }
  if (static_cast<int64_t>(pad.size() / 2) > a->dim()) {
    throw std::runtime_error(
        "Length of pad should be no more than twice the number of dimensions of the input. Pad "
        "length is " +
        std::to_string(pad.size()) + "while the input has " + std::to_string(a->dim()) +
        "dimensions.");
  }
  for (const DimPad& p : dim_pads(a->dim(), pad)) {
    int64_t size = a->shape()[p.dim];
    for (int64_t crop : {p.before, p.after}) {
      if (crop >= 0) continue;
      size += crop;
      if (size < 0) throw std::runtime_error("narrow(): length must be non-negative.");
    }
  }
}

const char* kernel_name(PadMode mode, size_t dims) {
  static constexpr const char* names[2][3] = {
      {"reflection_pad1d", "reflection_pad2d", "reflection_pad3d"},
      {"replication_pad1d", "replication_pad2d", "replication_pad3d"}};
  return names[mode == PadMode::Reflect ? 0 : 1][dims - 1];
}

// "input (H: 3, W: 4) is too small. Calculated output H: 0 W: 0", worded per
// mode and rank as torch's kernels word it.
std::string too_small_message(const Shape& in, const Shape& out, size_t dims, PadMode mode) {
  const size_t nd = in.size();
  auto at = [&](const Shape& s, size_t k) { return std::to_string(s[nd - 1 - k]); };
  if (dims == 1)
    return "input (W: " + at(in, 0) + ") is too small. Calculated output W: " + at(out, 0);
  if (dims == 2) {
    return "input (H: " + at(in, 1) + ", W: " + at(in, 0) +
           (mode == PadMode::Replicate ? " " : "") +
           ") is too small. Calculated output H: " + at(out, 1) + " W: " + at(out, 0);
  }
  return "input (D: " + at(in, 2) + " H: " + at(in, 1) + ", W: " + at(in, 0) +
         ") is too small. Calculated output D: " + at(out, 2) + " H: " + at(out, 1) +
         " W: " + at(out, 0);
}

void check_border_pad(const Tensor& a, const DimList& pad, PadMode mode) {
  const size_t dims = pad.size() / 2;
  const int64_t nd = a->dim(), d = static_cast<int64_t>(dims);
  if (pad.size() % 2 != 0 || dims < 1 || dims > 3 || (nd != d + 1 && nd != d + 2)) {
    throw NotImplementedError("Padding size " + std::to_string(pad.size()) +
                              " is not supported for " + std::to_string(nd) +
                              "D input tensor.\nSupported combinations for non-constant padding:\n"
                              "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
                              "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
                              "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)");
  }
  const Shape& in = a->shape();
  for (int64_t i = nd == d + 2 ? 1 : 0; i < nd; ++i) {  // only a batch dim may be empty
    if (in[i] == 0) {
      throw std::runtime_error("Expected " + std::to_string(d + 1) + "D or " +
                               std::to_string(d + 2) +
                               "D (batch mode) tensor with possibly 0 batch size and other "
                               "non-zero dimensions for input, but got: " +
                               shape_str(in));
    }
  }
  const std::vector<DimPad> pads = dim_pads(nd, pad);
  if (mode == PadMode::Reflect) {
    for (size_t k = 0; k < dims; ++k) {
      const DimPad& p = pads[k];
      if (p.before >= in[p.dim] || p.after >= in[p.dim]) {
        throw std::runtime_error(
            "Argument #" + std::to_string(4 + 2 * k) +
            ": Padding size should be less than the corresponding input dimension, but got: "
            "padding (" +
            std::to_string(p.before) + ", " + std::to_string(p.after) + ") at dimension " +
            std::to_string(p.dim) + " of input " + shape_str(in));
      }
    }
  }
  Shape out = in;
  bool all_small = true;
  for (const DimPad& p : pads) {
    out[p.dim] = in[p.dim] + p.before + p.after;
    all_small = all_small && out[p.dim] < 1;
  }
  if (all_small) throw std::runtime_error(too_small_message(in, out, dims, mode));
  for (int64_t size : out) {
    if (size >= 0) continue;
    if (mode == PadMode::Reflect && dims == 2) {  // torch's 2-d reflection sizes it first
      throw std::runtime_error("numel: integer multiplication overflow");
    }
    throw std::runtime_error("Trying to create tensor with negative dimension " +
                             std::to_string(size) + ": " + shape_str(out));
  }
  if (a->dtype() == DType::Bool) {
    throw NotImplementedError(std::string("\"") + kernel_name(mode, dims) +
                              "\" not implemented for 'Bool'");
  }
}

template <template <PadMode, int> class NodeT, typename Base, PadMode Mode, int Dims>
std::shared_ptr<Base> make_node() {
  return std::make_shared<NodeT<Mode, Dims>>();
}

// The node type of `mode` over `dims` padded dims.
template <template <PadMode, int> class NodeT, typename Base>
std::shared_ptr<Base> pad_node(PadMode mode, size_t dims) {
  using Maker = std::shared_ptr<Base> (*)();
  static constexpr Maker makers[2][3] = {
      {make_node<NodeT, Base, PadMode::Reflect, 1>, make_node<NodeT, Base, PadMode::Reflect, 2>,
       make_node<NodeT, Base, PadMode::Reflect, 3>},
      {make_node<NodeT, Base, PadMode::Replicate, 1>, make_node<NodeT, Base, PadMode::Replicate, 2>,
       make_node<NodeT, Base, PadMode::Replicate, 3>}};
  return makers[mode == PadMode::Reflect ? 0 : 1][dims - 1]();
}

// The gradient for `self` from the padded output's: each output's gradient
// added where it was read. Recorded as torch's ...BackwardBackward0 node.
Tensor border_pad_backward(const Tensor& grad, const Tensor& self, const DimList& pad,
                           PadMode mode) {
  const PadTables tables = pad_tables(self->shape(), dim_pads(self->dim(), pad), fill_of(mode));
  const DType dtype = grad->dtype();
  Tensor out =
      has_kernels(dtype)
          ? pad_backward_kernel(dense(grad), tables)
          : convert(pad_backward_kernel(convert(dense(grad), kernel_dtype(dtype)), tables), dtype);
  if (any_requires_grad(grad, self)) {
    auto node =
        pad_node<BorderPadBackwardBackward, BorderPadBackwardBackwardBase>(mode, pad.size() / 2);
    set_history(node, {&grad, &self}, out);
    node->self_meta = InputMeta(self);
    node->pad = pad;
    node->mode = mode;
  }
  linear_tangent(out, grad,
                 [&](const Tensor& t) { return border_pad_backward(t, self, pad, mode); });
  return out;
}

constexpr const char* kPadNodeNames[2][3] = {
    {"ReflectionPad1DBackward0", "ReflectionPad2DBackward0", "ReflectionPad3DBackward0"},
    {"ReplicationPad1DBackward0", "ReplicationPad2DBackward0", "ReplicationPad3DBackward0"}};
constexpr const char* kPadBackwardNodeNames[2][3] = {
    {"ReflectionPad1DBackwardBackward0", "ReflectionPad2DBackwardBackward0",
     "ReflectionPad3DBackwardBackward0"},
    {"ReplicationPad1DBackwardBackward0", "ReplicationPad2DBackwardBackward0",
     "ReplicationPad3DBackwardBackward0"}};

}  // namespace

Tensor constant_pad_nd(const Tensor& a, const DimList& pad, const Scalar& value) {
  check_constant_pad(a, pad);
  const PadTables tables = pad_tables(a->shape(), dim_pads(a->dim(), pad), Fill::Constant);
  Tensor out = pad_kernel(dense(a), tables, value);
  if (any_requires_grad(a)) record<ConstantPadNdBackward0>(out, a)->pad = pad;
  linear_tangent(out, a, [&](const Tensor& t) { return constant_pad_nd(t, pad, Scalar(0.0)); });
  return out;
}

TensorList ConstantPadNdBackward0::apply(TensorList&& grads) {
  return {constant_pad_nd(grads[0], negated(pad), Scalar(0.0))};
}

Tensor border_pad(const Tensor& a, const DimList& pad, PadMode mode) {
  check_border_pad(a, pad, mode);
  const PadTables tables = pad_tables(a->shape(), dim_pads(a->dim(), pad), fill_of(mode));
  Tensor out = pad_kernel(dense(a), tables, Scalar(0.0));
  if (any_requires_grad(a)) {
    auto node = pad_node<BorderPadBackward, BorderPadBackwardBase>(mode, pad.size() / 2);
    set_history(node, {&a}, out);
    node->self = SavedTensor(a, false);
    node->pad = pad;
    node->mode = mode;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return border_pad(t, pad, mode); });
  return out;
}

TensorList BorderPadBackwardBase::apply(TensorList&& grads) {
  return {border_pad_backward(grads[0], self.unpack(*this), pad, mode)};
}

TensorList BorderPadBackwardBackwardBase::apply(TensorList&& grads) {
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = border_pad(grads[0], pad, mode);
  if (wants_grad(*this, 1)) out[1] = zeros(self_meta.shape, self_meta.dtype);
  return out;
}

template <PadMode Mode, int Dims>
const char* BorderPadBackward<Mode, Dims>::name() const {
  return kPadNodeNames[Mode == PadMode::Reflect ? 0 : 1][Dims - 1];
}

template <PadMode Mode, int Dims>
const char* BorderPadBackwardBackward<Mode, Dims>::name() const {
  return kPadBackwardNodeNames[Mode == PadMode::Reflect ? 0 : 1][Dims - 1];
}

template struct BorderPadBackward<PadMode::Reflect, 1>;
template struct BorderPadBackward<PadMode::Reflect, 2>;
template struct BorderPadBackward<PadMode::Reflect, 3>;
template struct BorderPadBackward<PadMode::Replicate, 1>;
template struct BorderPadBackward<PadMode::Replicate, 2>;
template struct BorderPadBackward<PadMode::Replicate, 3>;
template struct BorderPadBackwardBackward<PadMode::Reflect, 1>;
template struct BorderPadBackwardBackward<PadMode::Reflect, 2>;
template struct BorderPadBackwardBackward<PadMode::Reflect, 3>;
template struct BorderPadBackwardBackward<PadMode::Replicate, 1>;
template struct BorderPadBackwardBackward<PadMode::Replicate, 2>;
template struct BorderPadBackwardBackward<PadMode::Replicate, 3>;

}  // namespace ember
