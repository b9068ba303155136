#include "ember/tensor.h"

#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "ember/autograd/node.h"

namespace ember {

TensorImpl::TensorImpl(std::shared_ptr<Storage> storage, int64_t offset, Shape shape,
                       Strides strides, DType dtype)
    : storage_(std::move(storage)),
      offset_(offset),
      shape_(std::move(shape)),
      strides_(std::move(strides)),
      dtype_(dtype) {
  compute_layout_flags();
}

TensorImpl::~TensorImpl() {
  // See Note [Iterative graph destruction].
  if (grad_fn_) release_iteratively(std::move(grad_fn_));
}

void TensorImpl::compute_layout_flags() {
  numel_ = numel_of(shape_);
  int64_t expected = 1;
  contiguous_ = true;
  if (numel_ == 0) return;  // torch's rule: an empty tensor is contiguous whatever its strides
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) {
      contiguous_ = false;
      break;
    }
    expected *= shape_[i];
  }
}

void TensorImpl::set_data(const TensorImpl& other) {
  storage_ = other.storage_;
  offset_ = other.offset_;
  shape_ = other.shape_;
  strides_ = other.strides_;
  dtype_ = other.dtype_;
  compute_layout_flags();
}

int HookList::add(GradHook hook, void* gc_object) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int id = hooks_.empty() ? 0 : hooks_.back().id + 1;
  hooks_.push_back(Entry{id, std::move(hook), gc_object});
  return id;
}

void HookList::remove(int id) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = hooks_.begin(); it != hooks_.end(); ++it) {
    if (it->id == id) {
      hooks_.erase(it);
      return;
    }
  }
}

bool HookList::empty() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return hooks_.empty();
}

void HookList::clear() {
  std::vector<Entry> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    dropped.swap(hooks_);
  }
  // `dropped` dies here, outside the lock: a hook's destructor may run code.
}

Tensor HookList::run(Tensor grad) const {
  // Run a copy, outside the lock: a hook may register or remove hooks.
  std::vector<Entry> snapshot;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    snapshot = hooks_;
  }
  for (const Entry& e : snapshot) {
    Tensor replaced = e.hook(grad);
    if (replaced) grad = std::move(replaced);
  }
  return grad;
}

int TensorImpl::add_hook(GradHook hook, void* gc_object) {
  std::shared_ptr<HookList> hooks = hook_list();
  if (!hooks) {
    hooks = std::make_shared<HookList>();
    std::atomic_store(&hooks_, hooks);
  }
  return hooks->add(std::move(hook), gc_object);
}

void TensorImpl::remove_hook(int id) {
  if (auto hooks = hook_list()) hooks->remove(id);
}

Tensor TensorImpl::run_hooks(Tensor grad) const {
  auto hooks = hook_list();
  return hooks ? hooks->run(std::move(grad)) : grad;
}

int64_t TensorImpl::size(int64_t d) const { return shape_[wrap_dim(d, dim())]; }

void TensorImpl::set_requires_grad(bool value) {
  if (value && !is_floating(dtype_)) {
    throw std::runtime_error("only Tensors of floating point dtype can require gradients");
  }
  if (!is_leaf()) {
    if (!value) {
      throw std::runtime_error(
          "you can only change requires_grad flags of leaf variables. If you want to use a "
          "computed variable in a subgraph that doesn't require differentiation use "
          "var_no_grad = var.detach().");
    }
    return;
  }
  requires_grad_ = value;
}

Tensor empty(const Shape& shape, DType dtype) {
  for (int64_t s : shape) {
    if (s < 0) {
      throw std::runtime_error("Trying to create tensor with negative dimension " +
                               std::to_string(s) + ": " + shape_str(shape));
    }
  }
  // Like torch, refuse sizes whose byte count does not fit in 63 bits.
  int64_t n = 1;
  bool overflow = false;
  for (int64_t s : shape) overflow = overflow || __builtin_mul_overflow(n, s, &n);
  int64_t bytes = 0;
  overflow = overflow || __builtin_mul_overflow(n, static_cast<int64_t>(itemsize(dtype)), &bytes);
  if (overflow) {
    throw std::runtime_error("Storage size calculation overflowed with sizes=" + shape_str(shape));
  }
  auto storage = Storage::allocate(static_cast<size_t>(bytes));
  return std::make_shared<TensorImpl>(std::move(storage), 0, shape, contiguous_strides(shape),
                                      dtype);
}

Tensor make_view(const Tensor& t, int64_t offset, Shape shape, Strides strides) {
  auto v = std::make_shared<TensorImpl>(t->storage(), offset, std::move(shape), std::move(strides),
                                        t->dtype());
  v->set_base(t->is_view() ? t->base() : t);
  // Note [Views that refuse in-place ops]: views of marked views inherit it.
  ViewCreation c = ViewCreation::Default;
  if (!GradMode::user_enabled()) {
    c = ViewCreation::NoGrad;
  } else if (t->is_view()) {
    c = t->view_creation();
  }
  v->set_view_creation(c);
  v->set_views_a_grad_leaf((t->is_leaf() && t->requires_grad()) ||
                           (t->is_view() && t->views_a_grad_leaf()));
  return v;
}

namespace {

// Calls f(element_offset) for every element of t in row-major order.
template <typename F>
void for_each_element_offset(const Tensor& t, F f) {
  const int64_t n = t->numel();
  if (n == 0) return;
  const int64_t nd = t->dim();
  if (t->is_contiguous()) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
  Shape index(static_cast<size_t>(nd), 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(off);
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++index[d] < t->shape()[d]) {
        off += t->strides()[d];
        break;
      }
      off -= t->strides()[d] * (t->shape()[d] - 1);
      index[d] = 0;
    }
  }
}

}  // namespace

void fill_raw(const Tensor& t, const Scalar& value) {
  EMBER_DISPATCH_ALL(t->dtype(), T, [&] {
    T* p = t->data<T>();
    const T v = value.checked_to<T>();
    if (t->is_contiguous()) {
      std::fill(p, p + t->numel(), v);
    } else {
      for_each_element_offset(t, [&](int64_t off) { p[off] = v; });
    }
  });
}

Tensor zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t->raw_data(), 0, static_cast<size_t>(t->numel()) * itemsize(dtype));
  return t;
}

Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor full(const Shape& shape, const Scalar& value, DType dtype) {
  Tensor t = empty(shape, dtype);
  fill_raw(t, value);
  return t;
}

Tensor scalar_tensor(const Scalar& value, DType dtype) { return full(Shape{}, value, dtype); }

Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, DType dtype) {
  if (step.value == 0 || std::isnan(step.value)) throw std::runtime_error("step must be nonzero");
  if (!std::isfinite(start.value) || !std::isfinite(end.value)) {
    auto text = [](const Scalar& s) {
      if (s.is_integral()) return std::to_string(s.int_value);
      std::ostringstream out;
      out << s.value;
      return out.str();
    };
    throw std::runtime_error("unsupported range: " + text(start) + " -> " + text(end));
  }
  for (const Scalar* s : {&start, &end, &step}) {
    if (s->beyond_int64) s->checked_to<int64_t>();  // raises torch's overflow error
  }
  const bool integral_bounds = start.is_integral() && end.is_integral() && step.is_integral();
  if (!is_floating(dtype) && !integral_bounds) {
    // torch truncates float bounds and step to the integer dtype first.
    auto truncated = [](const Scalar& s) {
      return s.is_integral() ? s
                             : Scalar::integer(Scalar(std::trunc(s.value)).checked_to<int64_t>());
    };
    const Scalar whole_step = truncated(step);
    if (whole_step.int_value == 0) throw ValueError("step must be nonzero");
    return arange(truncated(start), truncated(end), whole_step, dtype);
  }
  if ((step.value > 0 && start.value > end.value) || (step.value < 0 && start.value < end.value)) {
    throw std::runtime_error("upper bound and lower bound inconsistent with step sign");
  }
  // Integer bounds count and step exactly: doubles lose them beyond 2**53.
  if (integral_bounds && !is_floating(dtype)) {
    const int64_t s = start.int_value, d = step.int_value;
    const int64_t span = end.int_value - s;
    const int64_t n = span / d + (span % d != 0 ? 1 : 0);
    Tensor t = empty(Shape{n}, dtype);
    EMBER_DISPATCH_ALL(dtype, T, [&] {
      T* p = t->data<T>();
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(s + i * d);
    });
    return t;
  }
  const int64_t n = static_cast<int64_t>(std::ceil((end.value - start.value) / step.value));
  Tensor t = empty(Shape{n}, dtype);
  EMBER_DISPATCH_ALL(dtype, T, [&] {
    T* p = t->data<T>();
    for (int64_t i = 0; i < n; ++i) {
      p[i] = static_cast<T>(start.value + static_cast<double>(i) * step.value);
    }
  });
  return t;
}

Tensor linspace(double start, double end, int64_t steps, DType dtype) {
  if (steps < 0) throw std::runtime_error("number of steps must be non-negative");
  if (dtype == DType::Bool)
    throw NotImplementedError("\"linspace_cpu\" not implemented for 'Bool'");
  Tensor t = empty(Shape{steps}, dtype);
  const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  const int64_t half = steps / 2;
  EMBER_DISPATCH_ALL(dtype, T, [&] {
    T* p = t->data<T>();
    // Like torch: the first half counts up from start, the second down from end.
    if (steps == 1) p[0] = static_cast<T>(start);
    for (int64_t i = 0; steps > 1 && i < steps; ++i) {
      p[i] = static_cast<T>(i < half ? start + step * static_cast<double>(i)
                                     : end - step * static_cast<double>(steps - i - 1));
    }
  });
  return t;
}

Tensor eye(int64_t n, int64_t m, DType dtype) {
  if (n < 0 || m < 0) throw std::runtime_error("n and m must be non-negative for eye");
  Tensor t = zeros(Shape{n, m}, dtype);
  EMBER_DISPATCH_ALL(dtype, T, [&] {
    T* p = t->data<T>();
    for (int64_t i = 0; i < std::min(n, m); ++i) p[i * m + i] = static_cast<T>(1);
  });
  return t;
}

int64_t element_offset(const Tensor& t, int64_t flat_index) {
  int64_t off = 0;
  int64_t rest = flat_index;
  for (int64_t d = t->dim() - 1; d >= 0; --d) {
    const int64_t s = t->shape()[d];
    off += (rest % s) * t->strides()[d];
    rest /= s;
  }
  return off;
}

double element_as_double(const Tensor& t, int64_t flat_index) {
  const int64_t off = element_offset(t, flat_index);
  return EMBER_DISPATCH_ALL(t->dtype(), T, [&] { return static_cast<double>(t->data<T>()[off]); });
}

Scalar element_as_scalar(const Tensor& t, int64_t flat_index) {
  const int64_t off = element_offset(t, flat_index);
  switch (t->dtype()) {
    case DType::Bool:
      return Scalar::boolean(t->data<bool>()[off]);
    case DType::Int64:
      return Scalar::integer(t->data<int64_t>()[off]);
    case DType::UInt8:
    case DType::Int8:
    case DType::Int16:
    case DType::Int32:
      return Scalar::integer(static_cast<int64_t>(element_as_double(t, flat_index)));
    default:
      return Scalar(element_as_double(t, flat_index));
  }
}

static void check_one_element(const Tensor& t) {
  if (t->numel() != 1) {
    throw std::runtime_error("a Tensor with " + std::to_string(t->numel()) +
                             " elements cannot be converted to Scalar");
  }
}

Scalar item_as_scalar(const Tensor& t) {
  check_one_element(t);
  return element_as_scalar(t, 0);
}

double item_as_double(const Tensor& t) {
  check_one_element(t);
  return element_as_double(t, 0);
}

}  // namespace ember
