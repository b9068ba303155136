// Conversions between Python objects and core types.

#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "common.h"
#include "ember/kernels/elementwise.h"

namespace ember::bindings {
namespace {

// Module-lifetime objects are plain handles holding a reference that is never
// dropped: static py::objects would be destroyed after the interpreter.
py::handle dtype_objects[kNumDTypes];
PyTypeObject* tensor_type_object = nullptr;

}  // namespace

py::object dtype_object(DType t) {
  return py::reinterpret_borrow<py::object>(dtype_objects[static_cast<int>(t)]);
}

DType dtype_from(py::handle obj) {
  if (py::isinstance<PyDType>(obj)) return obj.cast<PyDType>().type;
  if (obj.ptr() == reinterpret_cast<PyObject*>(&PyFloat_Type)) return DType::Float64;
  if (obj.ptr() == reinterpret_cast<PyObject*>(&PyLong_Type)) return DType::Int64;
  if (obj.ptr() == reinterpret_cast<PyObject*>(&PyBool_Type)) return DType::Bool;
  // Like torch, strings and NumPy dtypes are refused rather than guessed at.
  throw TypeError(std::string("argument 'dtype' must be ember.dtype, not ") +
                  Py_TYPE(obj.ptr())->tp_name);
}

std::optional<DType> optional_dtype(py::handle obj) {
  if (obj.is_none()) return std::nullopt;
  return dtype_from(obj);
}

DType dtype_of_numpy(const py::dtype& d) {
  const char kind = d.kind();
  const auto size = d.itemsize();
  if (kind == 'b') return DType::Bool;
  if (kind == 'u' && size == 1) return DType::UInt8;
  if (kind == 'i') {
    if (size == 1) return DType::Int8;
    if (size == 2) return DType::Int16;
    if (size == 4) return DType::Int32;
    if (size == 8) return DType::Int64;
  }
  if (kind == 'f') {
    if (size == 2) return DType::Float16;
    if (size == 4) return DType::Float32;
    if (size == 8) return DType::Float64;
  }
  throw TypeError("can't convert np.ndarray of type " + std::string(py::str(d)) +
                  ". The only supported types are: float64, float32, float16, int64, int32, "
                  "int16, int8, uint8, and bool.");
}

void check_device(py::handle device) {
  if (device.is_none()) return;
  // Imported once; kept for the life of the process.
  static py::handle module = py::module_::import("ember._device").release();
  static py::handle device_type = py::object(module.attr("device")).release();
  static py::handle cpu = py::str("cpu").release();
  // The CPU, by name or as a device object, is the common case of
  // `zeros(n, device=x.device)` in training loops: no Python call for it.
  if (PyUnicode_Check(device.ptr()) && PyUnicode_Compare(device.ptr(), cpu.ptr()) == 0) {
    return;
  }
  if (Py_TYPE(device.ptr()) == reinterpret_cast<PyTypeObject*>(device_type.ptr()) &&
      py::object(device.attr("type")).equal(py::reinterpret_borrow<py::object>(cpu))) {
    return;
  }
  module.attr("check_device")(device);
}

PyTypeObject* tensor_type() { return tensor_type_object; }

const Tensor& as_tensor(py::handle h) {
  if (!is_tensor(h)) {
    throw TypeError(std::string("expected Tensor as argument, but got ") +
                    Py_TYPE(h.ptr())->tp_name);
  }
  // The holder lives in the instance; reading it skips pybind11's generic caster.
  auto* inst = reinterpret_cast<py::detail::instance*>(h.ptr());
  auto v_h = inst->get_value_and_holder();
  if (!v_h.holder_constructed()) {  // Tensor.__new__ without __init__ has no TensorImpl yet
    throw std::runtime_error(
        "ember: this Tensor was never initialised (Tensor.__new__ was called without "
        "Tensor.__init__)");
  }
  return v_h.holder<Tensor>();
}

std::optional<Scalar> as_scalar(py::handle h) {
  PyObject* o = h.ptr();
  if (PyFloat_Check(o)) return Scalar(PyFloat_AS_DOUBLE(o));
  if (PyBool_Check(o)) return Scalar::boolean(o == Py_True);
  if (PyLong_Check(o)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
    if (overflow == 0) return Scalar::integer(v);
    // torch's argument parser takes [2**63, 2**64) as uint64 and refuses the rest.
    const unsigned long long u = overflow > 0 ? PyLong_AsUnsignedLongLong(o) : 0;
    if (overflow < 0 || (u == static_cast<unsigned long long>(-1) && PyErr_Occurred())) {
      PyErr_SetString(PyExc_OverflowError, "int too big to convert");
      throw py::error_already_set();
    }
    return Scalar::unsigned_integer(u);
  }
  // NumPy scalars.
  static PyObject* generic = py::module_::import("numpy").attr("generic").ptr();
  if (PyObject_IsInstance(o, generic) == 1) {
    py::object np_dtype = h.attr("dtype");
    const std::string kind = py::str(np_dtype.attr("kind"));
    if (kind == "f") return Scalar(h.cast<double>());
    if (kind == "i" || kind == "u") return Scalar::integer(h.cast<int64_t>());
    if (kind == "b") return Scalar::boolean(h.cast<bool>());
  }
  return std::nullopt;
}

Scalar require_scalar(py::handle h) {
  if (std::optional<Scalar> s = as_scalar(h)) return *s;
  throw TypeError(std::string("expected a number, but got ") + Py_TYPE(h.ptr())->tp_name);
}

Tensor tensor_of_scalar(const Scalar& s) {
  return scalar_tensor(s, s.kind == DType::Float64 ? default_float_dtype() : s.kind);
}

Scalar scaled_by(const Scalar& s, double alpha) {
  if (alpha == 1.0) return s;
  const bool whole = alpha == std::trunc(alpha) && std::abs(alpha) < 9.0e18;
  if (s.is_integral() && whole) return Scalar::integer(s.int_value * static_cast<int64_t>(alpha));
  return Scalar(s.value * alpha);
}

Tensor tensor_from_operand(py::handle h) {
  if (is_tensor(h)) return as_tensor(h);
  if (auto s = as_scalar(h)) return tensor_of_scalar(*s);
  throw TypeError(std::string("expected Tensor or number, but got ") + Py_TYPE(h.ptr())->tp_name);
}

namespace {

// One size or dim: a Python int, anything with __index__ (NumPy integers), or
// a one-element integer tensor, as torch accepts.
std::optional<int64_t> as_index(py::handle h) {
  if (PyBool_Check(h.ptr())) return std::nullopt;  // torch refuses True as a size or dim
  if (PyLong_Check(h.ptr())) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
    if (overflow) {  // torch's argument parser refuses it as a bad argument type
      throw TypeError(
          "argument 'size' failed to unpack the object: Overflow when unpacking long long");
    }
    return static_cast<int64_t>(v);
  }
  if (is_tensor(h)) {
    const Tensor& t = as_tensor(h);
    if (t->numel() == 1 && !is_floating(t->dtype()) && t->dtype() != DType::Bool) {
      return element_as_scalar(t, 0).int_value;
    }
    return std::nullopt;
  }
  if (PyIndex_Check(h.ptr()) && !PyBool_Check(h.ptr())) {
    const Py_ssize_t v = PyNumber_AsSsize_t(h.ptr(), PyExc_OverflowError);
    if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
    return static_cast<int64_t>(v);
  }
  return std::nullopt;
}

}  // namespace

DimList dims_from(py::handle h) {
  DimList dims;
  if (std::optional<int64_t> one = as_index(h)) {
    dims.push_back(*one);
    return dims;
  }
  if (is_tensor(h) && as_tensor(h)->dim() == 1 && !is_floating(as_tensor(h)->dtype())) {
    const Tensor& t = as_tensor(h);
    for (int64_t i = 0; i < t->numel(); ++i) {
      dims.push_back(element_as_scalar(t, i).int_value);
    }
    return dims;
  }
  if (is_tensor(h) || !PySequence_Check(h.ptr())) {
    throw TypeError(std::string("size must be a tuple of ints, but got ") +
                    Py_TYPE(h.ptr())->tp_name);
  }
  for (py::handle item : py::reinterpret_borrow<py::sequence>(h)) {
    std::optional<int64_t> v = as_index(item);
    if (!v) {
      throw TypeError(std::string("size must be a tuple of ints, but found element of type ") +
                      Py_TYPE(item.ptr())->tp_name);
    }
    dims.push_back(*v);
  }
  return dims;
}

DimList int_sequence(py::handle h, const char* op, const char* arg, int position) {
  if (!is_tensor(h) && !PySequence_Check(h.ptr())) {
    throw TypeError(std::string(op) + "(): argument '" + arg + "' (position " +
                    std::to_string(position) + ") must be tuple of ints, not " +
                    Py_TYPE(h.ptr())->tp_name);
  }
  return dims_from(h);
}

DimList dims_from_args(const py::args& args) {
  if (args.size() == 1) return dims_from(args[0]);
  DimList dims;
  for (py::handle a : args) {
    std::optional<int64_t> v = as_index(a);
    if (!v) {
      throw TypeError(std::string("expected ints as sizes, but got ") + Py_TYPE(a.ptr())->tp_name);
    }
    dims.push_back(*v);
  }
  return dims;
}

Shape shape_from_args(const py::args& args) {
  const DimList d = dims_from_args(args);
  return Shape(d.begin(), d.end());
}

py::object make_size(const Shape& shape) {
  py::tuple t(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) t[i] = py::int_(shape[i]);
  static py::handle size_class =
      py::object(py::module_::import("ember._size").attr("Size")).release();
  return size_class(t);
}

Reduction reduction_from(const std::string& name) {
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  if (name == "none") return Reduction::None;
  throw ValueError(name + " is not a valid value for reduction");
}

MaybeReleaseGIL::MaybeReleaseGIL(int64_t work) {
  if (work >= (int64_t{1} << 16)) state_ = PyEval_SaveThread();
}

MaybeReleaseGIL::~MaybeReleaseGIL() {
  if (state_) PyEval_RestoreThread(state_);
}

// ---- nested data -> tensor ----

namespace {

struct DataScan {
  Shape shape;
  DType dtype = DType::Bool;
  bool any_element = false;
};

// Tensors inside data are elements, never sequences: torch reads each as a
// number and refuses those with more than one element.
bool is_sequence_like(py::handle h) {
  return PyList_Check(h.ptr()) || PyTuple_Check(h.ptr()) || PyRange_Check(h.ptr()) ||
         py::isinstance<py::array>(h);
}

// `leading`: h is the first element of its list. torch infers shapes from
// leading elements, so a string there reads as "too many dimensions".
DType kind_of_element(py::handle h, bool leading) {
  if (is_tensor(h)) {
    const Tensor& t = as_tensor(h);
    if (t->numel() != 1)
      throw ValueError("only one element tensors can be converted to Python scalars");
    return is_floating(t->dtype()) ? default_float_dtype() : t->dtype();
  }
  // A NumPy float64 scalar among the data makes the tensor float64, as in torch.
  static PyObject* np_float64 = py::module_::import("numpy").attr("float64").ptr();
  if (PyObject_TypeCheck(h.ptr(), reinterpret_cast<PyTypeObject*>(np_float64))) {
    return DType::Float64;
  }
  if (PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr())) {
    // Past int64 an int only fits a float tensor (see fill_from), as in torch.
    int overflow = 0;
    PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
    if (overflow) return DType::Int64;
  }
  std::optional<Scalar> s = as_scalar(h);
  if (!s) {
    if (PyUnicode_Check(h.ptr()) || PyBytes_Check(h.ptr())) {
      if (!leading) {
        throw TypeError(std::string("new(): invalid data type '") + Py_TYPE(h.ptr())->tp_name +
                        "'");
      }
      throw ValueError(std::string("too many dimensions '") + Py_TYPE(h.ptr())->tp_name + "'");
    }
    throw std::runtime_error(std::string("Could not infer dtype of ") + Py_TYPE(h.ptr())->tp_name);
  }
  return s->kind == DType::Float64 ? default_float_dtype() : s->kind;
}

// Walks nested sequences depth-first with an explicit shape check per level.
void scan(py::handle h, size_t depth, DataScan& out, bool leading = true) {
  if (!is_sequence_like(h)) {
    if (depth != out.shape.size()) throw TypeError("not a sequence");
    out.dtype = promote(out.dtype, kind_of_element(h, leading));
    out.any_element = true;
    return;
  }
  // Bounded like torch's, and well before the recursion could exhaust the stack.
  constexpr size_t kMaxNesting = 1000;
  if (depth + 1 >= kMaxNesting) {
    throw ValueError(std::string("too many dimensions '") + Py_TYPE(h.ptr())->tp_name + "'");
  }
  py::sequence seq = py::reinterpret_borrow<py::sequence>(h);
  const int64_t n = static_cast<int64_t>(py::len(seq));
  if (depth == out.shape.size()) {
    if (out.any_element) {  // a list where numbers were: torch's TypeError
      throw TypeError("'" + std::string(Py_TYPE(h.ptr())->tp_name) +
                      "' object cannot be interpreted as an integer (expected a scalar at dim " +
                      std::to_string(depth) + ")");
    }
    out.shape.push_back(n);
  } else if (out.shape[depth] != n) {
    throw ValueError("expected sequence of length " + std::to_string(out.shape[depth]) +
                     " at dim " + std::to_string(depth) + " (got " + std::to_string(n) + ")");
  }
  bool first = true;
  for (py::handle item : seq) {
    scan(item, depth + 1, out, first);
    first = false;
  }
}

template <typename T>
void fill_from(py::handle h, T*& cursor) {
  if (is_sequence_like(h)) {
    for (py::handle item : py::reinterpret_borrow<py::sequence>(h)) fill_from(item, cursor);
    return;
  }
  if (PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr())) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
    if (!overflow) {
      *cursor++ = Scalar::integer(v).checked_to<T>();
      return;
    }
    if constexpr (!std::is_floating_point_v<T>) {  // tensor data must fit int64
      throw ValueError("Overflow when unpacking long long");
    } else {
      const double d = PyLong_AsDouble(h.ptr());  // OverflowError past double's range
      if (d == -1.0 && PyErr_Occurred()) throw py::error_already_set();
      *cursor++ = static_cast<T>(d);
      return;
    }
  }
  const Scalar v = is_tensor(h) ? item_as_scalar(as_tensor(h)) : *as_scalar(h);
  *cursor++ = v.checked_to<T>();
}

Tensor from_numpy_copy(const py::array& arr, std::optional<DType> dtype) {
  const DType natural = dtype_of_numpy(arr.dtype());
  const DType target = dtype.value_or(natural);
  // NumPy has no bfloat16: such tensors are read as float32 and rounded.
  const DType read = target == DType::BFloat16 ? DType::Float32 : target;
  py::array converted = py::module_::import("numpy").attr("array")(
      arr, py::arg("dtype") = dtype_name(read), py::arg("order") = "C");
  Shape shape;
  for (py::ssize_t i = 0; i < converted.ndim(); ++i) shape.push_back(converted.shape(i));
  Tensor t = empty(shape, read);
  std::memcpy(t->raw_data(), converted.data(), static_cast<size_t>(t->numel()) * itemsize(read));
  return convert(t, target);
}

}  // namespace

Tensor tensor_from_data(py::handle data, std::optional<DType> dtype) {
  // A NumPy scalar keeps its own dtype, as in torch.
  static PyObject* generic = py::module_::import("numpy").attr("generic").ptr();
  if (PyObject_IsInstance(data.ptr(), generic) == 1) {
    return from_numpy_copy(py::module_::import("numpy").attr("asarray")(data), dtype);
  }
  if (py::isinstance<py::array>(data)) {
    return from_numpy_copy(py::reinterpret_borrow<py::array>(data), dtype);
  }
  if (is_tensor(data)) {
    const Tensor& src = as_tensor(data);
    return contiguous_clone(convert(src, dtype.value_or(src->dtype())));
  }
  if (PyUnicode_Check(data.ptr()) || PyBytes_Check(data.ptr())) {
    throw TypeError(std::string("new(): invalid data type '") + Py_TYPE(data.ptr())->tp_name + "'");
  }
  DataScan s;
  scan(data, 0, s);
  if (!s.any_element) s.dtype = default_float_dtype();  // torch.tensor([]) is float32
  const DType target = dtype.value_or(s.dtype);
  Tensor t = empty(s.shape, target);
  EMBER_DISPATCH_ALL(target, T, [&] {
    T* cursor = t->data<T>();
    fill_from<T>(data, cursor);
  });
  return t;
}

void init_dtype(py::module_& m) {
  py::class_<PyDType>(m, "dtype")
      .def("__repr__", [](const PyDType& d) { return std::string("ember.") + dtype_name(d.type); })
      .def_property_readonly("is_floating_point",
                             [](const PyDType& d) { return is_floating(d.type); })
      .def_property_readonly("itemsize", [](const PyDType& d) { return itemsize(d.type); })
      .def("__reduce__", [](const PyDType& d) {
        // Rebuilt by name through a function ember.load's weights_only allows.
        return py::make_tuple(py::module_::import("ember._dtype_info").attr("dtype_from_name"),
                              py::make_tuple(dtype_name(d.type)));
      });
  m.def(
      "promote_types",
      [](py::handle a, py::handle b) {
        return dtype_object(promote(dtype_from(a), dtype_from(b)));
      },
      py::arg("type1"), py::arg("type2"));
  // torch's rule: no cast to a lower kind (float to integer, a number to bool).
  m.def(
      "can_cast",
      [](py::handle from, py::handle to) {
        auto kind = [](DType t) { return t == DType::Bool ? 0 : is_integral(t) ? 1 : 2; };
        return kind(dtype_from(from)) <= kind(dtype_from(to));
      },
      py::arg("from_"), py::arg("to"));
  for (int i = 0; i < kNumDTypes; ++i) {
    const auto t = static_cast<DType>(i);
    dtype_objects[static_cast<int>(t)] = py::cast(PyDType{t}).release();
    m.attr(dtype_name(t)) = dtype_objects[static_cast<int>(t)];
  }
}

void set_tensor_type(PyTypeObject* type) { tensor_type_object = type; }

}  // namespace ember::bindings
