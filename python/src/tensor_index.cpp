// Tensor.__getitem__ and __setitem__: Python index objects converted to the
// core's TensorIndex items (ember/tensor_index.h), which do the indexing.

#include "ember/tensor_index.h"

#include "common.h"

namespace ember::bindings {
namespace {

void warn(const char* message) {
  if (PyErr_WarnEx(PyExc_UserWarning, message, 1) < 0) throw py::error_already_set();
}

// A Python bool is a 0-d mask, as in torch: x[True] adds a dim of size 1, x[False] of size 0.
// A range is a sequence of integers like a list (x[range(n), y]).
bool is_advanced(py::handle h) {
  return is_tensor(h) || PyList_Check(h.ptr()) || PyRange_Check(h.ptr()) ||
         py::isinstance<py::array>(h);
}

// A list, range, tuple or array of integers or bools as an index tensor.
Tensor index_tensor_from(py::handle h) {
  const bool empty_list = (PyList_Check(h.ptr()) && PyList_GET_SIZE(h.ptr()) == 0) ||
                          (PyRange_Check(h.ptr()) && PyObject_Length(h.ptr()) == 0);
  Tensor t = is_tensor(h) ? as_tensor(h)
                          : tensor_from_data(
                                h, empty_list ? std::optional<DType>(DType::Int64) : std::nullopt);
  if (t->dtype() == DType::UInt8) {
    warn(
        "indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool "
        "instead.");
  }
  return t;
}

Slice slice_from(py::handle h) {
  Py_ssize_t start, stop, step;
  if (PySlice_Unpack(h.ptr(), &start, &stop, &step) < 0) throw py::error_already_set();
  auto* sl = reinterpret_cast<PySliceObject*>(h.ptr());
  auto given = [](PyObject* part, Py_ssize_t value) {
    return part == Py_None ? std::nullopt : std::optional<int64_t>(value);
  };
  return Slice{given(sl->start, start), given(sl->stop, stop), given(sl->step, step)};
}

// One index item, or none for an object Python cannot index with; inside an
// index tuple a tuple is a sequence of integers too (x[0, (1, 2)]).
std::optional<TensorIndex> index_item(py::handle it, bool in_tuple) {
  if (PyBool_Check(it.ptr())) return TensorIndex(it.ptr() == Py_True);
  if (is_advanced(it) || (in_tuple && PyTuple_Check(it.ptr()))) {
    return TensorIndex(index_tensor_from(it));
  }
  if (PyLong_Check(it.ptr()) || PyIndex_Check(it.ptr())) {
    return TensorIndex(py::reinterpret_borrow<py::object>(it).cast<int64_t>());
  }
  if (PySlice_Check(it.ptr())) return TensorIndex(slice_from(it));
  if (it.is_none()) return TensorIndex(NewAxis{});
  if (it.ptr() == Py_Ellipsis) return TensorIndex(Ellipsis{});
  return std::nullopt;
}

[[noreturn]] void refuse_index(py::handle it) {
  if (PyUnicode_Check(it.ptr()) || PyBytes_Check(it.ptr())) {
    // torch reads a string index as data for a tensor index, and refuses it
    throw TypeError(std::string("new(): invalid data type '") + Py_TYPE(it.ptr())->tp_name + "'");
  }
  throw IndexError(std::string("only integers, slices (`:`), ellipsis (`...`), None and long "
                               "or byte Variables are valid indices (got ") +
                   Py_TYPE(it.ptr())->tp_name + ")");
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
  warn(
      "Using a non-tuple sequence for multidimensional indexing is deprecated and will be "
      "changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will be "
      "interpreted as tensor index, x[torch.tensor(seq)], which will result either in an error "
      "or a different result");
  return py::tuple(py::reinterpret_borrow<py::list>(idx));
}

// The items of an index tuple, or of a bare index (not a tuple) as one item.
// An object Python cannot index with is refused after self's dims are
// counted, as torch counts them first; it holds the place of one dim.
TensorIndices index_items(const Tensor& self, py::handle idx) {
  const bool in_tuple = PyTuple_Check(idx.ptr());
  const py::tuple parts = in_tuple ? py::reinterpret_borrow<py::tuple>(idx) : py::make_tuple(idx);
  TensorIndices items;
  py::handle refused;
  for (py::handle it : parts) {
    std::optional<TensorIndex> item = index_item(it, in_tuple);
    if (!item && !refused) refused = it;
    items.push_back(item ? std::move(*item) : TensorIndex(Slice{}));
  }
  if (refused) {
    check_index_dims(self, items);
    refuse_index(refused);
  }
  return items;
}

}  // namespace

Tensor get_item(const Tensor& self, py::handle idx) {
  return index(self, index_items(self, as_index_tuple(idx)));
}

void set_item(Tensor& self, py::handle idx_given, py::handle value) {
  const py::object idx = as_index_tuple(idx_given);
  const std::optional<Scalar> number = as_scalar(value);
  const Tensor tensor = number ? nullptr : tensor_from_operand(value);
  const TensorIndices items = index_items(self, idx);
  if (PyTuple_Check(idx.ptr())) {
    number ? index_put_(self, items, *number) : index_put_(self, items, tensor);
  } else {
    number ? index_put_item_(self, items[0], *number) : index_put_item_(self, items[0], tensor);
  }
}

}  // namespace ember::bindings
