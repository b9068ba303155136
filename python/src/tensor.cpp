// ember.Tensor: the bound C++ TensorImpl, with its properties, conversions and indexing.

#include <pybind11/operators.h>

#include <atomic>
#include <unordered_map>

#include "common.h"
#include "ember/autograd/engine.h"
#include "ember/autograd/node.h"
#include "ember/kernels/elementwise.h"

namespace ember::bindings {
namespace {

// Element `flat_index` (row-major) as a Python bool, int or float; int64
// values are read exactly (a double would round above 2**53).
py::object scalar_to_python(const Tensor& t, int64_t flat_index) {
  const int64_t off = element_offset(t, flat_index);
  if (t->dtype() == DType::Bool) return py::bool_(t->data<bool>()[off]);
  if (t->dtype() == DType::Int64) return py::int_(t->data<int64_t>()[off]);
  if (is_integral(t->dtype())) return py::int_(element_as_scalar(t, flat_index).int_value);
  return py::float_(element_as_double(t, flat_index));
}

py::array to_numpy(const Tensor& t);

py::object to_list(const Tensor& t) {
  if (t->dim() == 0) return scalar_to_python(t, 0);
  // NumPy has no bfloat16; its values are exact in float32.
  const Tensor readable = t->dtype() == DType::BFloat16 ? convert(t, DType::Float32) : t;
  return to_numpy(detach(readable)).attr("tolist")();
}

// An ndarray over t's memory. It owns a reference to the Storage itself, not
// to the tensor: `t.data = other` may give the tensor new memory while the
// array still reads and writes the old.
py::array to_numpy(const Tensor& t) {
  if (t->requires_grad()) {
    throw std::runtime_error(
        "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.");
  }
  if (t->dtype() == DType::BFloat16) throw TypeError("Got unsupported ScalarType BFloat16");
  std::vector<py::ssize_t> shape(t->shape().begin(), t->shape().end());
  std::vector<py::ssize_t> strides;
  for (int64_t s : t->strides()) strides.push_back(s * static_cast<int64_t>(itemsize(t->dtype())));
  py::capsule owner(new std::shared_ptr<Storage>(t->storage()),
                    [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
  return py::array(py::dtype(dtype_name(t->dtype())), shape, strides, t->raw_data(), owner);
}

}  // namespace

Tensor from_numpy(const py::array& arr) {
  const DType dtype = dtype_of_numpy(arr.dtype());
  if (!arr.dtype().attr("isnative").cast<bool>()) {  // the bytes would be misread
    throw ValueError(
        "given numpy array has byte order different from the native byte order. Conversion "
        "between byte orders is currently not supported.");
  }
  Shape shape;
  Strides strides;
  int64_t span = 1;
  for (py::ssize_t i = 0; i < arr.ndim(); ++i) {
    if (arr.strides(i) < 0) {
      throw ValueError(
          "At least one stride in the given numpy array is negative, and tensors with negative "
          "strides are not currently supported. (You can probably work around this by making a "
          "copy of your array  with array.copy().) ");
    }
    if (arr.strides(i) % arr.itemsize() != 0) {
      throw ValueError(
          "given numpy array strides not a multiple of the element byte size. Copy "
          "the numpy array to reallocate the memory.");
    }
    shape.push_back(arr.shape(i));
    strides.push_back(arr.strides(i) / arr.itemsize());
    span += (arr.shape(i) - 1) * strides.back();
  }
  if (arr.size() == 0) span = 0;
  // The storage keeps the array alive; dropping it needs the GIL.
  auto* keep = new py::object(arr);
  std::shared_ptr<void> owner(keep, [](void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(p);
  });
  auto storage = Storage::wrap(const_cast<void*>(arr.data()),
                               static_cast<size_t>(span) * arr.itemsize(), std::move(owner));
  return std::make_shared<TensorImpl>(std::move(storage), 0, shape, strides, dtype);
}

namespace {

double one_element(const Tensor& t) {
  if (t->numel() != 1)
    throw ValueError("only one element tensors can be converted to Python scalars");
  return item_as_double(t);
}

// torch refuses a hook whose result changes the gradient's dtype or shape.
void check_hook_result(const py::object& hook, const Tensor& grad, const Tensor& out) {
  auto name = [&] { return std::string(py::str(py::getattr(hook, "__name__", py::repr(hook)))); };
  if (out->dtype() != grad->dtype()) {
    throw std::runtime_error("hook '" + name() + "' has changed the type of value (was " +
                             legacy_type_name(grad->dtype()) + " got " +
                             legacy_type_name(out->dtype()) + ")");
  }
  if (out->shape() != grad->shape()) {
    throw std::runtime_error("hook '" + name() + "' has changed the size of value");
  }
}

// ---- indexing ----

// A Python bool is a 0-d mask, as in torch: x[True] adds a dim of size 1, x[False] of size 0.
// A range is a sequence of integers like a list (x[range(n), y]).
bool is_advanced(py::handle h) {
  return is_tensor(h) || PyList_Check(h.ptr()) || PyBool_Check(h.ptr()) || PyRange_Check(h.ptr()) ||
         py::isinstance<py::array>(h);
}

// Inside an index tuple a tuple is a sequence of integers too (x[0, (1, 2)]).
bool is_advanced_item(py::handle h) { return is_advanced(h) || PyTuple_Check(h.ptr()); }

Tensor advanced_index_tensor(py::handle h) {
  const bool empty_list = (PyList_Check(h.ptr()) && PyList_GET_SIZE(h.ptr()) == 0) ||
                          (PyRange_Check(h.ptr()) && PyObject_Length(h.ptr()) == 0);
  Tensor t = is_tensor(h) ? as_tensor(h)
                          : tensor_from_data(
                                h, empty_list ? std::optional<DType>(DType::Int64) : std::nullopt);
  switch (t->dtype()) {
    case DType::Bool:
    case DType::Int64:
      return t;
    case DType::Int32:
      return convert(t, DType::Int64);
    case DType::UInt8:  // a mask, as torch still reads it
      if (PyErr_WarnEx(PyExc_UserWarning,
                       "indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                       "torch.bool instead.",
                       1) < 0) {
        throw py::error_already_set();
      }
      return convert(t, DType::Bool);
    default:
      throw IndexError("tensors used as indices must be long, int, byte or bool tensors");
  }
}

// Wraps negative entries and checks bounds, with torch's message.
Tensor wrapped_index(const Tensor& idx, int64_t size, int64_t dim) {
  Tensor c = contiguous_clone(idx);
  int64_t* p = c->data<int64_t>();
  for (int64_t i = 0; i < c->numel(); ++i) {
    if (p[i] < -size || p[i] >= size) {
      throw IndexError("index " + std::to_string(p[i]) + " is out of bounds for dimension " +
                       std::to_string(dim) + " with size " + std::to_string(size));
    }
    if (p[i] < 0) p[i] += size;
  }
  return c;
}

// The coordinates of a mask's true elements, one integer index per mask dim,
// each addressing out's dims from `dim` on (the mask's shape must match them).
std::vector<std::pair<int64_t, Tensor>> mask_coordinates(const Tensor& out, int64_t dim,
                                                         const Tensor& mask) {
  for (int64_t d = 0; d < mask->dim(); ++d) {
    if (dim + d >= out->dim() || mask->shape()[d] != out->shape()[dim + d]) {
      throw IndexError("The shape of the mask " + shape_str(mask->shape()) + " at index " +
                       std::to_string(d) + " does not match the shape of the indexed tensor " +
                       shape_str(out->shape()) + " at index " + std::to_string(dim + d));
    }
  }
  GradModeGuard no_grad(false);
  const Tensor flat = nonzero_flat(mask);
  std::vector<std::pair<int64_t, Tensor>> coords;
  int64_t inner = mask->numel();
  for (int64_t d = 0; d < mask->dim(); ++d) {
    inner /= std::max<int64_t>(mask->shape()[d], 1);
    const Tensor along = floor_divide(flat, Scalar::integer(std::max<int64_t>(inner, 1)));
    coords.emplace_back(dim + d, remainder(along, Scalar::integer(mask->shape()[d])));
  }
  return coords;
}

// Applies advanced (tensor) indices after the basic ones. `adv` holds each
// index with the dim of `out` it starts at. One index may be a mask or a 0-d
// bool; several are made integer indices (a mask gives one per dim) that are
// broadcast together and pick points. As in torch and NumPy, the picked dims
// replace the indexed ones in place when those are adjacent, and lead the
// result otherwise (x[i, :, j] has the broadcast shape first).
Tensor apply_advanced(Tensor out, const std::vector<std::pair<int64_t, Tensor>>& adv) {
  if (adv.size() == 1) {
    const auto& [dim, idx] = adv[0];
    if (idx->dtype() == DType::Bool && idx->dim() == 0) {
      const int64_t kept = item_as_scalar(idx).int_value;
      return index_rows(unsqueeze(out, dim), dim, zeros(Shape{kept}, DType::Int64));
    }
    if (idx->dtype() == DType::Bool) return index_by_mask(out, idx, dim);
    if (idx->dim() == 0) return select(out, dim, item_as_scalar(idx).int_value);
    return index_rows(out, dim, idx);
  }
  std::vector<std::pair<int64_t, Tensor>> points;
  for (const auto& [dim, idx] : adv) {
    if (idx->dtype() != DType::Bool) {
      points.emplace_back(dim, idx);
    } else if (idx->dim() == 0) {
      throw IndexError("ember supports a 0-d boolean index only as the one tensor index");
    } else {
      for (auto& coord : mask_coordinates(out, dim, idx)) points.push_back(std::move(coord));
    }
  }
  bool adjacent = true;
  for (size_t k = 1; k < points.size(); ++k) {
    adjacent = adjacent && points[k].first == points[0].first + static_cast<int64_t>(k);
  }
  if (!adjacent) {  // indexed dims to the front, in order
    DimList order;
    std::vector<bool> indexed(static_cast<size_t>(out->dim()), false);
    for (const auto& point : points) {
      order.push_back(point.first);
      indexed[static_cast<size_t>(point.first)] = true;
    }
    for (int64_t d = 0; d < out->dim(); ++d) {
      if (!indexed[static_cast<size_t>(d)]) order.push_back(d);
    }
    out = permute(out, order);
    for (size_t k = 0; k < points.size(); ++k) points[k].first = static_cast<int64_t>(k);
  }
  const int64_t first = points[0].first;
  Shape bshape;
  for (const auto& point : points) {
    try {
      bshape = broadcast_shapes(bshape, point.second->shape());
    } catch (const std::runtime_error&) {
      std::string shapes;
      for (const auto& [dim, idx] : points)
        shapes += (shapes.empty() ? "" : ", ") + shape_str(idx->shape());
      throw IndexError(
          "shape mismatch: indexing tensors could not be broadcast together with shapes " + shapes);
    }
  }
  // Linear position within the merged dims [first, first + k).
  Tensor linear = zeros(bshape, DType::Int64);
  int64_t stride = 1;
  {
    GradModeGuard no_grad(false);
    for (size_t k = points.size(); k-- > 0;) {
      const int64_t d = first + static_cast<int64_t>(k);
      const int64_t size = out->shape()[d];
      Tensor w = wrapped_index(points[k].second, size, d);
      linear = add(linear, mul(w, Scalar::integer(stride)));
      stride *= size;
    }
  }
  DimList merged;
  for (int64_t d = 0; d < first; ++d) merged.push_back(out->shape()[d]);
  merged.push_back(stride);
  for (int64_t d = first + static_cast<int64_t>(points.size()); d < out->dim(); ++d) {
    merged.push_back(out->shape()[d]);
  }
  return index_rows(reshape(out, merged), first, linear);
}

bool is_full_slice(py::handle h) {
  auto* sl = reinterpret_cast<PySliceObject*>(h.ptr());
  return sl->start == Py_None && sl->stop == Py_None && sl->step == Py_None;
}

// torch still reads a short list holding a tensor, a sequence, a slice, None or
// Ellipsis as a tuple of indices (x[[0, slice(None)]] is x[0, :]), with a warning.
py::object as_index_tuple(py::handle idx) {
  if (!PyList_Check(idx.ptr()) || PyList_GET_SIZE(idx.ptr()) >= 32) {
    return py::reinterpret_borrow<py::object>(idx);
  }
  bool tuple_like = false;
  for (py::handle item : py::reinterpret_borrow<py::list>(idx)) {
    tuple_like = tuple_like || is_tensor(item) || PyList_Check(item.ptr()) ||
                 PyTuple_Check(item.ptr()) || PySlice_Check(item.ptr()) || item.is_none() ||
                 item.ptr() == Py_Ellipsis;
  }
  if (!tuple_like) return py::reinterpret_borrow<py::object>(idx);
  if (PyErr_WarnEx(PyExc_UserWarning,
                   "Using a non-tuple sequence for multidimensional indexing is deprecated and "
                   "will be changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In "
                   "pytorch 2.9 this will be interpreted as tensor index, x[torch.tensor(seq)], "
                   "which will result either in an error or a different result",
                   1) < 0) {
    throw py::error_already_set();
  }
  return py::tuple(py::reinterpret_borrow<py::list>(idx));
}

Tensor index(const Tensor& self, py::handle idx_given) {
  const py::object idx_object = as_index_tuple(idx_given);
  py::handle idx = idx_object;
  py::tuple items =
      PyTuple_Check(idx.ptr()) ? py::reinterpret_borrow<py::tuple>(idx) : py::make_tuple(idx);
  std::vector<Tensor> adv_tensors(items.size());
  int64_t consuming = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    py::handle it = items[i];
    if (it.is_none() || it.ptr() == Py_Ellipsis) continue;
    if (is_advanced_item(it)) {
      adv_tensors[i] = advanced_index_tensor(it);
      consuming += adv_tensors[i]->dtype() == DType::Bool ? adv_tensors[i]->dim() : 1;
    } else {
      ++consuming;
    }
  }
  if (self->dim() == 0 && consuming > 0) {
    throw IndexError(
        "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
        "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number");
  }
  if (consuming > self->dim()) {
    throw IndexError("too many indices for tensor of dimension " + std::to_string(self->dim()));
  }
  int64_t source_dim = 0;  // dim of `self` the next item indexes (for messages)
  Tensor out = self;
  int64_t dim = 0;
  std::vector<std::pair<int64_t, Tensor>> adv;
  for (size_t i = 0; i < items.size(); ++i) {
    py::handle it = items[i];
    if (adv_tensors[i]) {
      adv.emplace_back(dim, adv_tensors[i]);
      const int64_t width = adv_tensors[i]->dtype() == DType::Bool ? adv_tensors[i]->dim() : 1;
      dim += width;
      source_dim += width;
    } else if (PyLong_Check(it.ptr()) || (PyIndex_Check(it.ptr()) && !PyBool_Check(it.ptr()))) {
      const int64_t k = py::reinterpret_borrow<py::object>(it).cast<int64_t>();
      const int64_t size = out->shape()[dim];
      if (k < -size || k >= size) {
        throw IndexError("index " + std::to_string(k) + " is out of bounds for dimension " +
                         std::to_string(source_dim) + " with size " + std::to_string(size));
      }
      out = select(out, dim, k);
      ++source_dim;
    } else if (PySlice_Check(it.ptr()) && items.size() > 1 && is_full_slice(it)) {
      // Inside a tuple torch skips `:` (x[:, 0] records only the select).
      ++dim;
      ++source_dim;
    } else if (PySlice_Check(it.ptr())) {
      Py_ssize_t start, stop, step;
      if (PySlice_Unpack(it.ptr(), &start, &stop, &step) < 0) throw py::error_already_set();
      auto* sl = reinterpret_cast<PySliceObject*>(it.ptr());
      std::optional<int64_t> s =
          sl->start == Py_None ? std::nullopt : std::optional<int64_t>(start);
      std::optional<int64_t> e = sl->stop == Py_None ? std::nullopt : std::optional<int64_t>(stop);
      out = slice(out, dim, s, e, step);
      ++dim;
      ++source_dim;
    } else if (it.is_none()) {
      out = unsqueeze(out, dim);
      ++dim;
    } else if (it.ptr() == Py_Ellipsis) {
      dim += self->dim() - consuming;
      source_dim += self->dim() - consuming;
    } else if (PyUnicode_Check(it.ptr()) || PyBytes_Check(it.ptr())) {
      // torch reads a string index as data for a tensor index, and refuses it
      throw TypeError(std::string("new(): invalid data type '") + Py_TYPE(it.ptr())->tp_name + "'");
    } else {
      throw IndexError(std::string("only integers, slices (`:`), ellipsis (`...`), None and long "
                                   "or byte Variables are valid indices (got ") +
                       Py_TYPE(it.ptr())->tp_name + ")");
    }
  }
  if (!adv.empty()) return apply_advanced(out, adv);
  if (out == self) out = alias(self);
  return out;
}

bool has_advanced_item(py::handle idx) {
  if (!PyTuple_Check(idx.ptr())) return false;
  for (py::handle item : py::reinterpret_borrow<py::tuple>(idx)) {
    if (is_advanced_item(item)) return true;
  }
  return false;
}

// The value of `x[idx] = value` broadcast to the indexing result's shape, as
// torch's index_put: leading size-1 dims beyond the result's rank are dropped.
// torch drops a value's leading size-1 dims beyond the target's rank:
// x[0] = ones(1, n) writes a row of n.
Tensor without_leading_ones(const Tensor& value, size_t rank) {
  Tensor v = value;
  while (v->dim() > static_cast<int64_t>(rank) && v->shape()[0] == 1) {
    v = reshape(v, DimList(v->shape().begin() + 1, v->shape().end()));
  }
  return v;
}

Tensor value_for_index(const Tensor& value, const Shape& result) {
  const Tensor v = without_leading_ones(value, result.size());
  const Shape& from = v->shape();
  bool fits = from.size() <= result.size();
  for (size_t k = 1; fits && k <= from.size(); ++k) {
    fits = from[from.size() - k] == 1 || from[from.size() - k] == result[result.size() - k];
  }
  if (!fits) {
    throw std::runtime_error("shape mismatch: value tensor of shape " + shape_str(value->shape()) +
                             " cannot be broadcast to indexing result of shape " +
                             shape_str(result));
  }
  return expand(v, DimList(result.begin(), result.end()));
}

// x[mask] = v: v broadcasts to x[mask]'s shape (selected elements first, in
// row-major order), as in torch's index_put. Written as one scatter into a
// flat copy of x and one copy_ back, so any layout works and v's gradient
// flows through the scatter.
void assign_masked(Tensor& self, py::handle idx, const Tensor& value) {
  Tensor positions;
  {
    GradModeGuard no_grad(false);
    positions = index(reshape(arange(Scalar::integer(0), Scalar::integer(self->numel()),
                                     Scalar::integer(1), DType::Int64),
                              DimList(self->shape().begin(), self->shape().end())),
                      idx);
  }
  const Tensor spread =
      reshape(value_for_index(to_dtype(value, self->dtype()), positions->shape()), {-1});
  const Tensor written = scatter(reshape(self, {-1}), 0, reshape(positions, {-1}), spread);
  copy_(self, reshape(written, DimList(self->shape().begin(), self->shape().end())));
}

// torch's index_put takes a value tensor of the destination's dtype only (a
// 0-d value beside a boolean mask goes through masked_fill, which converts).
void check_index_put_dtype(const Tensor& self, py::handle idx, py::handle value) {
  if (!is_tensor(value) || as_tensor(value)->dtype() == self->dtype()) return;
  py::tuple items =
      PyTuple_Check(idx.ptr()) ? py::reinterpret_borrow<py::tuple>(idx) : py::make_tuple(idx);
  bool advanced = false, mask = false;
  for (py::handle it : items) {
    if (!is_advanced_item(it)) continue;
    advanced = true;
    mask = mask || advanced_index_tensor(it)->dtype() == DType::Bool;
  }
  if (!advanced || (mask && as_tensor(value)->dim() == 0)) return;
  throw std::runtime_error(
      std::string("Index put requires the source and destination dtypes match, got ") +
      scalar_type_name(self->dtype()) + " for the destination and " +
      scalar_type_name(as_tensor(value)->dtype()) + " for the source.");
}

void set_index(Tensor& self, py::handle idx_given, py::handle value) {
  const py::object idx_object = as_index_tuple(idx_given);
  py::handle idx = idx_object;
  check_index_put_dtype(self, idx, value);
  std::optional<Scalar> s = as_scalar(value);
  if (is_advanced(idx)) {
    Tensor t = advanced_index_tensor(idx);
    if (t->dtype() == DType::Bool) {
      if (s) {
        for (int64_t d = 0; d < t->dim(); ++d) {
          if (d >= self->dim() || t->shape()[d] != self->shape()[d]) {
            throw IndexError("The shape of the mask " + shape_str(t->shape()) + " at index " +
                             std::to_string(d) +
                             " does not match the shape of the indexed tensor " +
                             shape_str(self->shape()) + " at index " + std::to_string(d));
          }
        }
        Tensor mask = t;
        while (mask->dim() < self->dim()) mask = unsqueeze(mask, -1);
        copy_(self, where(mask, scalar_tensor(*s, self->dtype()), self));
      } else {
        assign_masked(self, idx, tensor_from_operand(value));
      }
      return;
    }
    // Integer rows: assign row by row (later rows win on repeats, as in torch).
    Tensor rows = wrapped_index(t, self->dim() ? self->shape()[0] : 0, 0);
    Tensor v = s ? nullptr : tensor_from_operand(value);
    // A value shaped like self[idx] gives one slice per index; anything else broadcasts.
    Shape picked = rows->shape();
    for (int64_t d = 1; d < self->dim(); ++d) picked.push_back(self->shape()[d]);
    const int64_t row_numel =
        self->dim() ? self->numel() / std::max<int64_t>(self->shape()[0], 1) : 1;
    Tensor v_rows = v ? reshape(value_for_index(v, picked), {rows->numel(), row_numel}) : nullptr;
    const int64_t* pr = rows->data<int64_t>();
    for (int64_t i = 0; i < rows->numel(); ++i) {
      Tensor target = select(self, 0, pr[i]);
      if (s) {
        fill_(target, *s);
      } else {
        copy_(target, reshape(select(v_rows, 0, i),
                              DimList(target->shape().begin(), target->shape().end())));
      }
    }
    return;
  }
  if (has_advanced_item(idx)) {
    // x[:, idx] = v: index a tensor of flat positions the same way, then
    // assign through a flat view of x by those positions.
    if (!self->is_contiguous()) {  // assign into a contiguous copy, then write it back
      Tensor copy = clone(self);
      set_index(copy, idx, value);
      copy_(self, copy);
      return;
    }
    Tensor positions;
    {
      GradModeGuard no_grad(false);
      positions = index(reshape(arange(0, static_cast<double>(self->numel()), 1, DType::Int64),
                                DimList(self->shape().begin(), self->shape().end())),
                        idx);
    }
    Tensor flat = reshape(self, {-1});
    py::object flat_value = py::reinterpret_borrow<py::object>(value);
    if (!s) {
      const Tensor v = value_for_index(tensor_from_operand(value), positions->shape());
      flat_value = py::cast(reshape(v, {-1}));
    }
    set_index(flat, py::cast(reshape(positions, {-1})), flat_value);
    return;
  }
  Tensor target = index(self, idx);
  if (s) {
    fill_(target, *s);
  } else {
    copy_(target, without_leading_ones(tensor_from_operand(value), target->shape().size()));
  }
}

}  // namespace

// Python's reads and writes of a leaf's .grad take the lock its accumulator
// adds under, so `w.grad = None` while another thread's backward feeds w
// swaps the tensor between accumulations, never in the middle of one.
class LeafGradLock {
 public:
  explicit LeafGradLock(const Tensor& t) {
    if (Node* acc = t->grad_accumulator_if_made()) {
      lock_ = std::unique_lock<std::mutex>(static_cast<AccumulateGrad*>(acc)->grad_mutex());
    }
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

// Note [Tensors and Python's cycle collector]
// A tensor can hold Python objects through C++: its hooks' callables, and
// the ctx of a custom Function that is its grad_fn. When such an object
// refers back to the tensor (a hook closing over its tensor or over a module
// that owns it, `ctx.out = out`), the cycle passes through C++ and Python's
// collector cannot see it unless the tensor type reports those references.
// So the type is GC-aware, and traverse reports them only while this Python
// object is the sole owner of the TensorImpl (and of the hook list or the
// grad_fn): if a graph still holds the tensor, its hooks and ctx must outlive
// the Python object, and the collector must treat them as held from outside.
// Threads without the GIL (a backward promoting a leaf's weak reference, an op
// saving its input) can change those owner counts in the middle of a
// collection, and the collector needs the same answer from every traverse of
// one collection; so each tensor's answer is computed once per collection
// (a gc.callbacks hook in ember/__init__.py starts a new one) and reused by
// traverse and clear. Should user code remove that hook from gc.callbacks,
// the cached answers could be stale: the tensors then report nothing (their
// cycles wait) until the hook, put back, starts the next collection.
struct GcReferences {
  bool hooks = false;       // visit the hooks' callables
  bool ctx = false;         // visit the grad_fn's ctx
  bool post_hooks = false;  // visit the post-accumulate-grad hooks' callables (a leaf's)
};

// A leaf's post-accumulate-grad hooks (held by its AccumulateGrad), or null.
HookList* post_hook_list(const Tensor& t) {
  Node* node = t->grad_accumulator_if_made();
  if (!node) return nullptr;
  HookList& hooks = static_cast<AccumulateGrad*>(node)->post_accumulate_hooks();
  return hooks.empty() ? nullptr : &hooks;
}

std::unordered_map<const TensorImpl*, GcReferences>& gc_decisions() {
  static auto* decisions = new std::unordered_map<const TensorImpl*, GcReferences>();
  return *decisions;
}

struct GcCallback {
  PyObject* callbacks = nullptr;  // gc.callbacks (the list the collector reads)
  PyObject* hook = nullptr;       // ember's entry in it
  bool distrust = false;          // answers wait for the next collection start
};

GcCallback& gc_callback() {
  static auto* state = new GcCallback();
  return *state;
}

// False (and the hook put back) when the per-collection answers cannot be trusted.
bool gc_decisions_trusted() {
  GcCallback& state = gc_callback();
  if (!state.hook || state.distrust) return !state.distrust;
  // By identity: an == here could run Python code in the middle of a collection.
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(state.callbacks); ++i) {
    if (PyList_GET_ITEM(state.callbacks, i) == state.hook) return true;
  }
  if (PyList_Append(state.callbacks, state.hook) < 0) PyErr_Clear();
  state.distrust = true;
  return false;
}

GcReferences gc_references(const Tensor& t) {
  auto hooks = t->hook_list();
  const std::shared_ptr<Node>& fn = t->grad_fn();
  HookList* post_hooks = post_hook_list(t);
  if (!hooks && !post_hooks && !(fn && fn->gc_object())) return {};  // nothing Python
  if (!gc_decisions_trusted()) return {};
  auto [it, fresh] = gc_decisions().try_emplace(t.get());
  if (fresh) {
    const bool sole = t.use_count() == 1;
    // 2: the member and `hooks` above; a node that runs the list holds a third.
    it->second.hooks = sole && hooks && hooks.use_count() == 2;
    it->second.ctx = sole && fn && fn.use_count() == 1 && fn->gc_object();
    // A graph's edge into the accumulator shares the leaf, so `sole` covers it.
    it->second.post_hooks = sole && post_hooks;
  }
  return it->second;
}

// Whether self holds its Tensor yet. pybind11 allocates an instance's value
// and holder storage only after the object exists, and between the two the
// first instance of a new subclass (nn.Parameter) makes a weak reference to
// its type, which can run the cycle collector: the instance is tracked then,
// with no storage to read (a zeroed, non-simple layout).
bool holds_tensor(PyObject* self) {
  auto* inst = reinterpret_cast<py::detail::instance*>(self);
  if (!inst->simple_layout && inst->nonsimple.values_and_holders == nullptr) return false;
  return py::detail::is_holder_constructed(self);
}

int tensor_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));  // instances of heap types own their type
  if (!holds_tensor(self)) return 0;
  const Tensor& t = as_tensor(self);
  const GcReferences refs = gc_references(t);
  if (refs.hooks) {
    const int r = t->hook_list()->visit_gc_objects(
        [&](void* callable) { return visit(static_cast<PyObject*>(callable), arg); });
    if (r) return r;
  }
  if (refs.ctx) Py_VISIT(static_cast<PyObject*>(t->grad_fn()->gc_object()));
  if (refs.post_hooks) {
    Node* node = t->grad_accumulator_if_made();
    const int r = static_cast<AccumulateGrad*>(node)->post_accumulate_hooks().visit_gc_objects(
        [&](void* callable) { return visit(static_cast<PyObject*>(callable), arg); });
    if (r) return r;
  }
  return 0;
}

int tensor_clear(PyObject* self) {
  if (!holds_tensor(self)) return 0;
  const Tensor& t = as_tensor(self);
  const GcReferences refs = gc_references(t);
  if (refs.hooks) t->hook_list()->clear();
  if (refs.ctx) t->set_history(nullptr, 0);
  if (refs.post_hooks) {
    static_cast<AccumulateGrad*>(t->grad_accumulator_if_made())->post_accumulate_hooks().clear();
  }
  return 0;
}

void init_tensor(py::module_& m) {
  m.def("_gc_collection_starts", [] {
    gc_decisions().clear();
    gc_callback().distrust = false;
  });
  m.def("_gc_watch_collections", [](py::list callbacks, py::object hook) {
    gc_callback().callbacks = callbacks.release().ptr();  // kept for the process's life
    gc_callback().hook = hook.release().ptr();
  });
  py::class_<TensorImpl, Tensor> cls(m, "Tensor",
                                     py::custom_type_setup([](PyHeapTypeObject* heap_type) {
                                       PyTypeObject* type = &heap_type->ht_type;
                                       type->tp_flags |= Py_TPFLAGS_HAVE_GC;
                                       type->tp_traverse = tensor_traverse;
                                       type->tp_clear = tensor_clear;
                                     }));
  set_tensor_type(reinterpret_cast<PyTypeObject*>(cls.ptr()));

  // torch's legacy constructor: Tensor(t) aliases t's data without history
  // (used by nn.Parameter); Tensor(2, 3) and Tensor(Size) make float32 tensors
  // of those sizes; Tensor(data) converts data to float32; Tensor() is empty.
  cls.def(py::init([](const py::args& args) {
    if (args.size() == 0) return empty(Shape{0}, default_float_dtype());
    py::handle first = args[0];
    if (args.size() == 1 && is_tensor(first)) return detach(as_tensor(first));
    static py::handle size_class =
        py::object(py::module_::import("ember._size").attr("Size")).release();
    const bool sizes = py::isinstance(first, size_class) ||
                       (PyLong_Check(first.ptr()) && !PyBool_Check(first.ptr()));
    if (sizes) {
      const Shape shape = shape_from_args(args);
      for (int64_t n : shape) {
        if (n < 0) {
          throw std::runtime_error("Trying to create tensor with negative dimension " +
                                   std::to_string(n) + ": " + shape_str(shape));
        }
      }
      return empty(shape, default_float_dtype());
    }
    if (args.size() > 1 || PyFloat_Check(first.ptr()) || PyBool_Check(first.ptr())) {
      throw TypeError(std::string("new(): data must be a sequence (got ") +
                      Py_TYPE(first.ptr())->tp_name + ")");
    }
    return tensor_from_data(first, default_float_dtype());
  }));

  cls.def_property_readonly("shape", [](const Tensor& t) { return make_size(t->shape()); })
      .def_property_readonly("dtype", [](const Tensor& t) { return dtype_object(t->dtype()); })
      .def_property_readonly("ndim", [](const Tensor& t) { return t->dim(); })
      .def_property_readonly("is_leaf", [](const Tensor& t) { return !current_grad_fn(t); })
      .def_property_readonly("grad_fn",
                             [](const Tensor& t) { return node_object(current_grad_fn(t)); })
      .def_property_readonly("retains_grad", [](const Tensor& t) { return t->retains_grad(); })
      .def_property_readonly("is_cuda", [](const Tensor&) { return false; })
      .def_property_readonly("_version", [](const Tensor& t) { return t->version(); })
      .def_property_readonly("output_nr", [](const Tensor& t) { return t->output_nr(); })
      .def_property_readonly("_base", [](const Tensor& t) { return t->base(); })
      .def("_is_view", [](const Tensor& t) { return t->is_view(); })
      .def_property(
          "requires_grad", [](const Tensor& t) { return t->requires_grad(); },
          [](const Tensor& t, bool v) { t->set_requires_grad(v); })
      .def_property(
          "grad",
          [](const Tensor& t) -> py::object {
            if (current_grad_fn(t) && !t->retains_grad()) {
              if (PyErr_WarnEx(PyExc_UserWarning,
                               "The .grad attribute of a Tensor that is not a leaf Tensor is "
                               "being accessed. Its .grad attribute won't be populated during "
                               "autograd.backward(). If you indeed want the .grad field to be "
                               "populated for a non-leaf Tensor, use .retain_grad() on the "
                               "non-leaf Tensor. If you access the non-leaf Tensor by mistake, "
                               "make sure you access the leaf Tensor instead.",
                               1) < 0) {
                throw py::error_already_set();
              }
            }
            Tensor grad;
            {
              LeafGradLock lock(t);
              grad = t->grad();
            }
            if (!grad) return py::none();
            return py::cast(grad);
          },
          [](const Tensor& t, py::handle g) {
            // The old grad is freed after the lock is released: freeing it may
            // run Python code (a finalizer) that reads this .grad.
            Tensor old;
            if (g.is_none()) {
              LeafGradLock lock(t);
              old = t->grad();
              t->set_grad(nullptr);
              return;
            }
            if (!is_tensor(g)) {
              throw TypeError(std::string("assigned grad expected to be a Tensor or None but got "
                                          "grad of type ") +
                              Py_TYPE(g.ptr())->tp_name);
            }
            const Tensor& gt = as_tensor(g);
            if (gt->shape() != t->shape()) {
              throw std::runtime_error("attempting to assign a gradient of size '" +
                                       shape_str(gt->shape()) + "' to a tensor of size '" +
                                       shape_str(t->shape()) +
                                       "'. Please ensure that the gradient and the tensor are the "
                                       "same size");
            }
            if (gt->dtype() != t->dtype()) {
              throw std::runtime_error(std::string("attempting to assign a gradient with dtype '") +
                                       dtype_name(gt->dtype()) + "' to a tensor with dtype '" +
                                       dtype_name(t->dtype()) +
                                       "'. Please ensure that the gradient and the tensor have the "
                                       "same dtype");
            }
            LeafGradLock lock(t);
            old = t->grad();
            t->set_grad(gt);
          })
      .def_property(
          "data",
          [](const Tensor& t) {
            // A separate Storage over the same memory: writes through .data
            // bump a version counter of their own, as in torch.
            auto alias = Storage::wrap(t->storage()->data(), t->storage()->nbytes(), t->storage());
            return std::make_shared<TensorImpl>(alias, t->offset(), t->shape(), t->strides(),
                                                t->dtype());
          },
          [](const Tensor& t, const Tensor& other) {
            if (t->requires_grad() && !is_floating(other->dtype())) {  // its .grad would be integer
              throw std::runtime_error(
                  "data set to a tensor that requires gradients must be floating point or "
                  "complex dtype");
            }
            t->set_data(*other);
          })
      .def_property_readonly("T",
                             [](const Tensor& t) {
                               DimList dims;
                               for (int64_t d = t->dim() - 1; d >= 0; --d) dims.push_back(d);
                               return permute(t, dims);
                             })
      .def_property_readonly("mT", [](const Tensor& t) { return transpose(t, -2, -1); });

  cls.def(
         "size",
         [](const Tensor& t, py::object dim) -> py::object {
           if (dim.is_none()) return make_size(t->shape());
           return py::int_(t->size(dim.cast<int64_t>()));
         },
         py::arg("dim") = py::none())
      .def(
          "stride",
          [](const Tensor& t, py::object dim) -> py::object {
            if (dim.is_none()) {
              py::tuple out(t->strides().size());
              for (size_t i = 0; i < t->strides().size(); ++i) out[i] = t->strides()[i];
              return std::move(out);
            }
            return py::int_(t->strides()[wrap_dim(dim.cast<int64_t>(), t->dim())]);
          },
          py::arg("dim") = py::none())
      .def("dim", [](const Tensor& t) { return t->dim(); })
      .def("ndimension", [](const Tensor& t) { return t->dim(); })
      .def("numel", [](const Tensor& t) { return t->numel(); })
      .def("nelement", [](const Tensor& t) { return t->numel(); })
      .def("element_size", [](const Tensor& t) { return itemsize(t->dtype()); })
      .def("storage_offset", [](const Tensor& t) { return t->offset(); })
      .def("is_contiguous", [](const Tensor& t) { return t->is_contiguous(); })
      .def("share_memory_",
           [](py::handle self) {
             as_tensor(self)->storage()->move_to_shared_memory();
             return self;
           })
      .def("is_shared", [](const Tensor& t) { return t->storage()->is_shared(); })
      .def("is_floating_point", [](const Tensor& t) { return is_floating(t->dtype()); })
      .def("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t->raw_data()); })
      .def("item",
           [](const Tensor& t) {
             if (t->numel() != 1) {
               throw std::runtime_error("a Tensor with " + std::to_string(t->numel()) +
                                        " elements cannot be converted to Scalar");
             }
             return scalar_to_python(t, 0);
           })
      .def("tolist", &to_list)
      .def("numpy", [](py::handle self) { return to_numpy(as_tensor(self)); })
      .def(
          "__array__",
          [](py::handle self, py::object dtype, py::object) {
            if (as_tensor(self)->requires_grad()) {
              throw std::runtime_error(
                  "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                  "instead.");
            }
            py::array a = to_numpy(detach(as_tensor(self)));
            if (!dtype.is_none()) return py::array(a.attr("astype")(dtype));
            return a;
          },
          py::arg("dtype") = py::none(), py::arg("copy") = py::none())
      .def(
          "requires_grad_",
          [](py::handle self, bool v) {
            as_tensor(self)->set_requires_grad(v);
            return self;
          },
          py::arg("requires_grad") = true)
      .def("retain_grad",
           [](const Tensor& t) {
             if (!t->requires_grad()) {
               throw std::runtime_error("can't retain_grad on Tensor that has requires_grad=False");
             }
             if (!current_grad_fn(t) || t->retains_grad()) return;
             t->set_retains_grad(true);
             watch_non_leaf(t);
           })
      .def(
          "register_hook",
          [](const Tensor& t, py::function fn) {
            current_grad_fn(t);  // a stale view gets its grad_fn before the hook attaches
            if (!t->requires_grad()) {
              throw std::runtime_error(
                  "cannot register a hook on a tensor that doesn't require gradient");
            }
            // The Python callable may be released on a thread without the GIL.
            std::shared_ptr<py::object> callable(new py::object(std::move(fn)), [](py::object* p) {
              py::gil_scoped_acquire gil;
              delete p;
            });
            PyObject* gc_object = callable->ptr();  // Note [Tensors and Python's cycle collector]
            const int id = t->add_hook(
                [callable](const Tensor& grad) -> Tensor {
                  py::gil_scoped_acquire gil;
                  py::object r = (*callable)(grad);
                  if (r.is_none()) return nullptr;
                  const Tensor& out = as_tensor(r);
                  check_hook_result(*callable, grad, out);
                  return out;
                },
                gc_object);
            watch_non_leaf(t);
            return py::module_::import("ember._hooks")
                .attr("RemovableHandle")(
                    py::cpp_function([weak = std::weak_ptr<TensorImpl>(t), id] {
                      if (Tensor alive = weak.lock()) alive->remove_hook(id);
                    }));
          },
          py::arg("hook"))
      .def(
          "register_post_accumulate_grad_hook",
          [](const Tensor& t, py::function fn) {
            if (!t->requires_grad()) {
              throw std::runtime_error(
                  "cannot register a hook on a tensor that doesn't require gradient");
            }
            if (current_grad_fn(t)) {
              throw std::runtime_error(
                  "post accumulate grad hooks cannot be registered on non-leaf tensors");
            }
            auto* acc = static_cast<AccumulateGrad*>(grad_accumulator(t).get());
            std::shared_ptr<py::object> callable(new py::object(std::move(fn)), [](py::object* p) {
              py::gil_scoped_acquire gil;
              delete p;
            });
            PyObject* gc_object = callable->ptr();  // Note [Tensors and Python's cycle collector]
            const int id = acc->post_accumulate_hooks().add(
                [callable](const Tensor& leaf) -> Tensor {
                  py::gil_scoped_acquire gil;
                  py::object r = (*callable)(leaf);
                  // torch ignores a returned tensor and refuses anything else.
                  if (!r.is_none() && !is_tensor(r)) {
                    throw TypeError(std::string("expected Variable, but hook returned '") +
                                    Py_TYPE(r.ptr())->tp_name + "'");
                  }
                  return nullptr;
                },
                gc_object);
            return py::module_::import("ember._hooks")
                .attr("RemovableHandle")(
                    py::cpp_function([weak = std::weak_ptr<TensorImpl>(t), id] {
                      Tensor alive = weak.lock();
                      Node* node = alive ? alive->grad_accumulator_if_made() : nullptr;
                      if (node)
                        static_cast<AccumulateGrad*>(node)->post_accumulate_hooks().remove(id);
                    }));
          },
          py::arg("hook"))
      .def("detach_",
           [](py::handle self) {
             const Tensor& t = as_tensor(self);
             if (t->is_view() && t->grad_fn() && t->base()->requires_grad()) {
               throw std::runtime_error("Can't detach views in-place. Use detach() instead.");
             }
             t->clear_history();
             return self;
           })
      .def(
          "backward",
          [](const Tensor& t, py::object gradient, py::object retain_graph, bool create_graph,
             py::object inputs) {
            std::vector<Tensor> grads;
            // torch takes a tensor, or a sequence whose first item is one; not a number.
            py::handle g = gradient;
            if (PyList_Check(g.ptr()) || PyTuple_Check(g.ptr())) {
              if (py::len(g) == 0) throw std::runtime_error("got 1 tensors and 0 gradients");
              g = py::reinterpret_borrow<py::sequence>(g)[0];
            }
            if (!g.is_none() && !is_tensor(g)) {
              throw TypeError(std::string("gradients can be either Tensors or None, but got ") +
                              Py_TYPE(g.ptr())->tp_name);
            }
            if (!g.is_none()) grads.push_back(as_tensor(g));
            const bool keep = retain_graph.is_none() ? create_graph : retain_graph.cast<bool>();
            std::vector<Tensor> in;
            if (!inputs.is_none()) {
              if (is_tensor(inputs)) {
                in.push_back(as_tensor(inputs));
              } else {
                for (py::handle h : inputs) in.push_back(as_tensor(h));
              }
              if (in.empty())
                throw std::runtime_error("'inputs' argument to backward() cannot be empty.");
            }
            py::gil_scoped_release no_gil;
            Engine::backward({t}, grads, keep, create_graph, in);
          },
          py::arg("gradient") = py::none(), py::arg("retain_graph") = py::none(),
          py::arg("create_graph") = false, py::arg("inputs") = py::none())
      .def("__len__",
           [](const Tensor& t) {
             if (t->dim() == 0) throw TypeError("len() of a 0-d tensor");
             return t->shape()[0];
           })
      .def("__bool__",
           [](const Tensor& t) {
             if (t->numel() != 1) {
               throw std::runtime_error(t->numel() == 0
                                            ? "Boolean value of Tensor with no values is ambiguous"
                                            : "Boolean value of Tensor with more than one value is "
                                              "ambiguous");
             }
             return item_as_double(t) != 0.0;
           })
      .def("__float__",
           [](const Tensor& t) {
             // Once per process, as torch warns (TORCH_WARN_ONCE), and not
             // under no_grad (an optimizer reading its loss).
             static std::atomic<bool> warned{false};
             if (t->requires_grad() && GradMode::is_enabled() && !warned.exchange(true) &&
                 PyErr_WarnEx(PyExc_UserWarning,
                              "Converting a tensor with requires_grad=True to a scalar may lead "
                              "to unexpected behavior.\nConsider using tensor.detach() first.",
                              1) < 0) {
               throw py::error_already_set();
             }
             return one_element(t);
           })
      .def("__int__",
           [](const Tensor& t) -> py::object {
             if (is_integral(t->dtype())) {
               if (t->numel() != 1) {
                 throw ValueError("only one element tensors can be converted to Python scalars");
               }
               return scalar_to_python(t, 0);
             }
             return py::int_(py::float_(one_element(t)));  // NaN/inf raise as in Python
           })
      .def("__index__",
           [](const Tensor& t) {
             if (!is_integral(t->dtype()) || t->numel() != 1) {
               throw TypeError(
                   "only integer tensors of a single element can be converted to an index");
             }
             return item_as_scalar(t).int_value;
           })
      .def("__hash__", [](py::handle self) { return reinterpret_cast<intptr_t>(self.ptr()) >> 4; })
      .def("__getitem__", [](const Tensor& t, py::handle idx) { return index(t, idx); })
      .def("__setitem__",
           [](Tensor t, py::handle idx, py::handle value) { set_index(t, idx, value); })
      .def("__iter__", [](py::handle self) {
        const Tensor& t = as_tensor(self);
        if (t->dim() == 0) throw TypeError("iteration over a 0-d tensor");
        py::list rows;
        for (int64_t i = 0; i < t->shape()[0]; ++i) rows.append(py::cast(select(t, 0, i)));
        return rows.attr("__iter__")();
      });

  m.def("from_numpy", &from_numpy, py::arg("ndarray"));

  // Storage sharing for ember.save/ember.load (torch's checkpoint format names
  // storages, and tensors by offset, sizes and strides into them).
  // _storage_info(t): (address, nbytes) of the buffer t views; equal addresses
  // mean shared memory.
  m.def("_storage_info", [](const Tensor& t) {
    const auto& s = t->storage();
    return py::make_tuple(reinterpret_cast<uintptr_t>(s->data()), s->nbytes());
  });
  // _storage_view(t, offset, sizes, strides): a tensor over t's storage, with
  // no history and no base (as torch.load's tensors sharing one storage).
  // Everything is checked against the storage's size: the values may come
  // from a corrupted file.
  m.def("_storage_view", [](const Tensor& t, int64_t offset, const std::vector<int64_t>& sizes,
                            const std::vector<int64_t>& strides) {
    if (sizes.size() != strides.size()) {
      throw ValueError("sizes and strides must have the same length, got " +
                       std::to_string(sizes.size()) + " and " + std::to_string(strides.size()));
    }
    const int64_t elems = static_cast<int64_t>(t->storage()->nbytes() / itemsize(t->dtype()));
    if (offset < 0) throw ValueError("storage offset must be non-negative");
    int64_t last = offset;  // the largest element index the view reaches
    bool empty = false;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (sizes[i] < 0 || strides[i] < 0) {
        throw ValueError("sizes and strides must be non-negative");
      }
      if (sizes[i] == 0) empty = true;
    }
    if (!empty) {
      for (size_t i = 0; i < sizes.size(); ++i) {
        int64_t step = 0;
        if (__builtin_mul_overflow(sizes[i] - 1, strides[i], &step) ||
            __builtin_add_overflow(last, step, &last)) {
          throw ValueError("sizes and strides overflow");
        }
      }
    }
    if ((!empty && last >= elems) || offset > elems) {
      throw ValueError("a view of " + std::to_string(elems) + " elements cannot reach element " +
                       std::to_string(last) + " (storage offset " + std::to_string(offset) + ")");
    }
    return Tensor(
        std::make_shared<TensorImpl>(t->storage(), offset, Shape(sizes.begin(), sizes.end()),
                                     Strides(strides.begin(), strides.end()), t->dtype()));
  });
  m.def("is_tensor", [](py::handle h) { return is_tensor(h); });

  init_tensor_methods(m, cls);
  init_scans_and_indexing(m, cls);
  install_fast_methods(cls);  // after the bindings it forwards to
}

}  // namespace ember::bindings
