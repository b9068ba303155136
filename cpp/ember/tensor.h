#pragma once
// TensorImpl: a strided view of a Storage plus its autograd metadata.
// Tensor: the shared handle everyone passes around (null = undefined tensor).

#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ember/dtype.h"
#include "ember/shape.h"
#include "ember/storage.h"

namespace ember {

class Node;
class TensorImpl;
using Tensor = std::shared_ptr<TensorImpl>;

// A tensor's tangent for forward-mode AD and the dual level it belongs to
// (Note [Forward-mode AD]). Shared, not copied, with the alias a node saves of
// its own output, so a tangent set after the node saved the output still
// reaches backward formulas that run under forward AD.
struct ForwardGrad {
  uint64_t level = 0;
  Tensor tangent;
};

// A gradient hook (Tensor.register_hook): sees the gradient flowing into a
// tensor and may return a replacement (or null to keep it).
using GradHook = std::function<Tensor(const Tensor&)>;
// A tensor's gradient hooks by id. Shared with the grad_fn that runs them for
// a non-leaf, so hooks outlive the tensor's Python object, as in torch.
// Python may add or remove hooks while another thread's backward runs them,
// so changes and each run's snapshot of the list take its lock.
class HookList {
 public:
  // `gc_object` is what the hook holds for the Python bindings' cycle
  // collection (Note [Tensors and Python's cycle collector]); the core never
  // looks at it.
  int add(GradHook hook, void* gc_object = nullptr);
  void remove(int id);
  bool empty() const;
  // Applies the hooks in order; a hook returning null keeps the gradient.
  Tensor run(Tensor grad) const;

  template <typename Visit>
  int visit_gc_objects(Visit visit) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Entry& e : hooks_) {
      if (int r = e.gc_object ? visit(e.gc_object) : 0) return r;
    }
    return 0;
  }
  // Drops every hook (the collector found the tensor unreachable).
  void clear();

 private:
  struct Entry {
    int id;
    GradHook hook;
    void* gc_object;
  };
  mutable std::mutex mutex_;
  std::vector<Entry> hooks_;
};

// Note [Views that refuse in-place ops]
// Like torch, two kinds of view may not join the graph through an in-place op:
//  - NoGrad: made while the user had grad mode off; which history an in-place
//    op with grad on should join is ambiguous.
//  - MultiOutput: one of several views one op returned (split, chunk, unbind);
//    their shared node cannot be rebased for one output alone. Writing through
//    such a view, or using it after its base or a sibling view was written in
//    place (its grad_fn would have to be regenerated), raises.
// A view of such a view inherits the mark unless it is itself a NoGrad view.
enum class ViewCreation : uint8_t { Default, NoGrad, MultiOutput };

// Note [Tensor layout]
// Element (i0, i1, ...) of a tensor lives at
//   storage.data + itemsize * (offset + i0*strides[0] + i1*strides[1] + ...).
// Strides are in elements and may be 0 (expand) or anything a view produces.
// Views (slices, view, t, expand, squeeze, detach) make a new TensorImpl over
// the same Storage, so they share memory and the version counter.
// Autograd metadata lives inline: requires_grad_ marks leaves the user asked
// to track; non-leaves are exactly the tensors with a grad_fn_.
class TensorImpl {
 public:
  TensorImpl(std::shared_ptr<Storage> storage, int64_t offset, Shape shape, Strides strides,
             DType dtype);
  ~TensorImpl();
  TensorImpl(const TensorImpl&) = delete;
  TensorImpl& operator=(const TensorImpl&) = delete;

  // Layout.
  const Shape& shape() const { return shape_; }
  const Strides& strides() const { return strides_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t d) const;
  int64_t numel() const { return numel_; }
  DType dtype() const { return dtype_; }
  int64_t offset() const { return offset_; }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  bool is_contiguous() const { return contiguous_; }
  // Views (made by view ops) keep the tensor they view, `base` (itself never a
  // view), so an in-place op through the view can rewrite the base's history.
  bool is_view() const { return base_ != nullptr; }
  const Tensor& base() const { return base_; }
  void set_base(const Tensor& base) {
    base_ = base;
    view_history_ = storage_->history();
  }
  // Whether an in-place op recorded on this memory since the view was made
  // left its grad_fn describing old values, or gave a base that had no history
  // one (so this view's values now depend on it too).
  bool view_history_is_stale() const {
    return base_ && view_history_ != storage_->history() && (grad_fn_ || base_->requires_grad());
  }
  void refresh_view_history() { view_history_ = storage_->history(); }
  // How the view was made; see Note [Views that refuse in-place ops].
  ViewCreation view_creation() const { return view_creation_; }
  void set_view_creation(ViewCreation c) { view_creation_ = c; }
  // Made from a leaf that requires grad, directly or through other views: the
  // leaf may be a view itself (x = base.reshape(2, 3).requires_grad_()), so
  // the root base alone cannot tell. Such views may not be written in place.
  bool views_a_grad_leaf() const { return views_a_grad_leaf_; }
  void set_views_a_grad_leaf(bool v) { views_a_grad_leaf_ = v; }
  void* raw_data() const {
    return static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(itemsize(dtype_));
  }
  template <typename T>
  T* data() const {
    return static_cast<T*>(raw_data());
  }
  uint32_t version() const { return storage_->version(); }
  void bump_version() { storage_->bump_version(); }

  // Autograd (see Note [Tensor layout]).
  bool requires_grad() const {
    return requires_grad_ || grad_fn_ != nullptr || (base_ && view_history_is_stale());
  }
  bool is_leaf() const { return grad_fn_ == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return grad_fn_; }
  uint32_t output_nr() const { return output_nr_; }
  void set_history(std::shared_ptr<Node> fn, uint32_t output_nr) {
    grad_fn_ = std::move(fn);
    output_nr_ = output_nr;
  }
  // User-facing requires_grad_(): only leaves, only floating dtypes.
  void set_requires_grad(bool value);
  const Tensor& grad() const { return grad_; }
  Tensor& mutable_grad() { return grad_; }
  void set_grad(Tensor g) { grad_ = std::move(g); }
  bool retains_grad() const { return retains_grad_; }
  void set_retains_grad(bool v) { retains_grad_ = v; }
  // The AccumulateGrad this leaf owns once grad_accumulator() made it
  // (Note [Leaf accumulator]); set once, read without a lock after that.
  Node* grad_accumulator_if_made() const {
    return has_grad_accumulator_.load(std::memory_order_acquire) ? grad_accumulator_.get()
                                                                 : nullptr;
  }
  void set_grad_accumulator(std::shared_ptr<Node> node) {
    grad_accumulator_ = std::move(node);
    has_grad_accumulator_.store(true, std::memory_order_release);
  }

  // Hooks on this tensor's gradient, by id (see Node::watch_output).
  int add_hook(GradHook hook, void* gc_object = nullptr);
  void remove_hook(int id);
  bool has_hooks() const {
    auto hooks = hook_list();
    return hooks && !hooks->empty();
  }
  // Made on the first add_hook and replaced only by an in-place op (which
  // needs the GIL, as registering does); read atomically, since a
  // backward on another thread may look while Python adds the first hook.
  std::shared_ptr<HookList> hook_list() const { return std::atomic_load(&hooks_); }
  // After an in-place op: the old grad_fn keeps running the hooks it watches,
  // and hooks registered from now on start a new list.
  void drop_hook_list() { std::atomic_store(&hooks_, std::shared_ptr<HookList>()); }
  // Applies the hooks in registration order.
  Tensor run_hooks(Tensor grad) const;

  // Points this tensor at other's data and layout (Tensor.data = other).
  void set_data(const TensorImpl& other);

  // Forward-mode AD (Note [Forward-mode AD]); read through forward_ad.h.
  const std::shared_ptr<ForwardGrad>& forward_grad() const { return forward_grad_; }
  void set_forward_grad(std::shared_ptr<ForwardGrad> f) { forward_grad_ = std::move(f); }

  // Makes this tensor a leaf again (detach_()).
  void clear_history() {
    grad_fn_.reset();
    output_nr_ = 0;
    requires_grad_ = false;
  }

 private:
  void compute_layout_flags();

  std::shared_ptr<Storage> storage_;
  int64_t offset_;
  int64_t numel_;
  Shape shape_;
  Strides strides_;
  DType dtype_;
  bool contiguous_ = true;
  bool requires_grad_ = false;
  bool retains_grad_ = false;
  ViewCreation view_creation_ = ViewCreation::Default;
  bool views_a_grad_leaf_ = false;
  uint32_t output_nr_ = 0;
  uint32_t view_history_ = 0;
  std::shared_ptr<Node> grad_fn_;
  std::shared_ptr<Node> grad_accumulator_;
  std::atomic<bool> has_grad_accumulator_{false};
  Tensor grad_;
  Tensor base_;
  std::shared_ptr<HookList> hooks_;
  std::shared_ptr<ForwardGrad> forward_grad_;
};

// A Python number operand: kept apart from tensors so `x * 2.0` needs no
// tensor for the 2.0 and promotes like torch (a float scalar makes an integer
// tensor float32, but never turns float32 into float64). Integers keep their
// exact int64 value beside the double, which is inexact beyond 2**53.
struct Scalar {
  double value;
  int64_t int_value = 0;  // exact for Int64 and Bool kinds
  DType kind;             // Bool, Int64 or Float64 (the Python type it came from)
  // A Python int in [2**63, 2**64): torch keeps it as uint64, so float math
  // sees its value, int64 math its wrapped bits, and storing it raises.
  bool beyond_int64 = false;
  Scalar(double v) : value(v), kind(DType::Float64) {}  // NOLINT: implicit on purpose
  static Scalar integer(int64_t v) { return Scalar(static_cast<double>(v), v, DType::Int64); }
  static Scalar unsigned_integer(uint64_t v) {
    Scalar s(static_cast<double>(v), static_cast<int64_t>(v), DType::Int64);
    s.beyond_int64 = v > static_cast<uint64_t>(INT64_MAX);
    return s;
  }
  static Scalar boolean(bool v) { return Scalar(v ? 1.0 : 0.0, v, DType::Bool); }

  bool is_integral() const { return kind != DType::Float64; }
  // The value as a T for a kernel whose compute type was promoted to cover it
  // (so an integral T only ever meets an integral Scalar).
  template <typename T>
  T to() const {
    if constexpr (std::is_same_v<T, bool>) {
      return value != 0.0;
    } else if constexpr (std::is_integral_v<T>) {
      return is_integral() ? static_cast<T>(int_value) : static_cast<T>(value);
    } else {
      return static_cast<T>(value);
    }
  }
  // The value stored into a tensor of type T: raises, as torch does, when it
  // does not fit an integer type (NaN, inf, out of range; a negative integer
  // may wrap into an unsigned type whose range covers its magnitude) or is a
  // finite double beyond the range of a float type.
  template <typename T>
  T checked_to() const {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      if (!fits_integer(static_cast<double>(std::numeric_limits<T>::lowest()),
                        static_cast<double>(std::numeric_limits<T>::max()),
                        std::is_unsigned_v<T>)) {
        throw std::runtime_error(std::string("value cannot be converted to type ") +
                                 integer_type_name<T>() + " without overflow");
      }
    } else if constexpr (std::is_same_v<T, float>) {
      check_float_range(std::numeric_limits<float>::max(), "float");
    } else if constexpr (std::is_same_v<T, Half>) {
      check_float_range(65504.0, "c10::Half");
    } else if constexpr (std::is_same_v<T, BFloat16>) {
      check_float_range(3.3895313892515355e38, "c10::BFloat16");
    }
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
      return T(value);
    } else {
      return to<T>();
    }
  }

 private:
  // A finite number beyond the largest finite value of the type; infinities pass.
  void check_float_range(double max, const char* type_name) const {
    if (std::isfinite(value) && std::fabs(value) > max) {
      throw std::runtime_error(std::string("value cannot be converted to type ") + type_name +
                               " without overflow");
    }
  }
  // Doubles are exact at the bounds that matter here: the int64 limits are
  // -2**63 and 2**63 - 1, and 2**63 (what the latter rounds to) is out of range.
  bool fits_integer(double lowest, double max, bool is_unsigned) const {
    if (beyond_int64) return false;
    if (!is_integral()) return value >= lowest && value < max + 1.0;
    if (is_unsigned && int_value < 0) return -static_cast<double>(int_value) <= max;
    return static_cast<double>(int_value) >= lowest && static_cast<double>(int_value) <= max;
  }
  template <typename T>
  static const char* integer_type_name() {
    if constexpr (std::is_same_v<T, uint8_t>) return "uint8_t";
    if constexpr (std::is_same_v<T, int8_t>) return "int8_t";
    if constexpr (std::is_same_v<T, int16_t>) return "int16_t";
    if constexpr (std::is_same_v<T, int32_t>) return "int";
    return "int64_t";
  }

  Scalar(double v, int64_t i, DType k) : value(v), int_value(i), kind(k) {}
};

// Factories (contiguous, fresh storage).
Tensor empty(const Shape& shape, DType dtype = DType::Float32);
Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
Tensor ones(const Shape& shape, DType dtype = DType::Float32);
Tensor full(const Shape& shape, const Scalar& value, DType dtype = DType::Float32);
Tensor scalar_tensor(const Scalar& value, DType dtype = DType::Float32);
// Integer bounds with an integer dtype are computed exactly.
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, DType dtype);
Tensor linspace(double start, double end, int64_t steps, DType dtype = DType::Float32);
Tensor eye(int64_t n, int64_t m, DType dtype = DType::Float32);

// A new TensorImpl over t's storage (no autograd history).
Tensor make_view(const Tensor& t, int64_t offset, Shape shape, Strides strides);

// Element access for scalars and printing.
double item_as_double(const Tensor& t);  // throws unless numel == 1
double element_as_double(const Tensor& t, int64_t flat_index);
// Storage offset (in elements, from the data pointer) of element `flat_index` in row-major order.
int64_t element_offset(const Tensor& t, int64_t flat_index);

// Element `flat_index` as a Scalar of t's kind (exact for int64).
Scalar element_as_scalar(const Tensor& t, int64_t flat_index);
Scalar item_as_scalar(const Tensor& t);  // throws unless numel == 1

// Fills `t` (any layout) with `value` (Scalar::checked_to); no autograd, no version bump.
void fill_raw(const Tensor& t, const Scalar& value);

}  // namespace ember
