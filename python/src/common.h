#pragma once
// Argument conversion shared by the binding files. Bindings convert and call
// into the core; they hold no graph or kernel logic.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "ember/autograd/node.h"
#include "ember/ops.h"
#include "ember/tensor.h"

namespace py = pybind11;

// A Tensor parameter of a binding refuses None (pybind11 would pass a null
// holder, which the core never expects); a parameter that may be None is
// declared as py::object or std::optional<Tensor>.
namespace pybind11::detail {
template <>
class type_caster<std::shared_ptr<ember::TensorImpl>>
    : public copyable_holder_caster<ember::TensorImpl, std::shared_ptr<ember::TensorImpl>> {
 public:
  bool load(handle src, bool convert) {
    if (src.is_none()) return false;
    return copyable_holder_caster::load(src, convert);
  }
};
}  // namespace pybind11::detail

namespace ember::bindings {

// A Python-visible dtype object (ember.float32, ...).
struct PyDType {
  DType type;
};

// The singleton Python object for a dtype.
py::object dtype_object(DType t);
// Accepts an ember dtype, Python's float/int/bool, or a NumPy dtype.
DType dtype_from(py::handle obj);
std::optional<DType> optional_dtype(py::handle obj);
// The dtype of a NumPy array's elements; TypeError for those Ember lacks.
DType dtype_of_numpy(const py::dtype& d);
// Raises unless `device` is None or names the CPU (ember._device.check_device).
void check_device(py::handle device);

// The Python type object of ember.Tensor (cached at module init).
PyTypeObject* tensor_type();
void set_tensor_type(PyTypeObject* type);
inline bool is_tensor(py::handle h) { return PyObject_TypeCheck(h.ptr(), tensor_type()); }
// The Tensor held by a Python ember.Tensor (h must be one).
const Tensor& as_tensor(py::handle h);

// A Python number (bool, int, float, NumPy scalar) as a Scalar, if it is one.
std::optional<Scalar> as_scalar(py::handle h);
Scalar require_scalar(py::handle h);  // TypeError for anything else

// Tensor or number -> Tensor (numbers become 0-d tensors of their own kind).
Tensor tensor_from_operand(py::handle h);
// A tensor over an ndarray's memory (ember.from_numpy).
Tensor from_numpy(const py::array& arr);
// A number as a 0-d tensor that promotes like the scalar would (float -> float32).
Tensor tensor_of_scalar(const Scalar& s);
// s * alpha for add/sub's alpha, staying an integer when both are whole.
Scalar scaled_by(const Scalar& s, double alpha);

// Shape arguments: f(2, 3), f((2, 3)), f([2, 3]), f(ember.Size([2, 3])).
DimList dims_from_args(const py::args& args);
DimList dims_from(py::handle h);
// A size or stride argument where torch takes a sequence of ints and refuses
// a bare int: "op(): argument 'arg' (position n) must be tuple of ints, not int".
DimList int_sequence(py::handle h, const char* op, const char* arg, int position);
Shape shape_from_args(const py::args& args);

// ember.Size(...) for a shape.
py::object make_size(const Shape& shape);

// Builds a tensor from nested Python data (lists, tuples, numbers, arrays).
Tensor tensor_from_data(py::handle data, std::optional<DType> dtype);

// A graph node as a Python object. A custom Function's node comes back as
// that Function's own class (CubeBackward, a BackwardCFunction subclass), as
// in torch (Note [Python functions]).
py::object node_object(const std::shared_ptr<Node>& node);
// The node class of a custom Function's node; null for other nodes.
py::handle function_node_class(const Node& node);

// "mean" / "sum" / "none" -> Reduction (ValueError otherwise).
Reduction reduction_from(const std::string& name);

// Releases the GIL for work large enough to matter (see Note [Parallel kernels]).
// Nothing inside its scope may touch a Python object: convert arguments before
// it and cast results after it.
struct MaybeReleaseGIL {
  explicit MaybeReleaseGIL(int64_t work);
  ~MaybeReleaseGIL();
  MaybeReleaseGIL(const MaybeReleaseGIL&) = delete;
  MaybeReleaseGIL& operator=(const MaybeReleaseGIL&) = delete;

 private:
  PyThreadState* state_ = nullptr;
};

void init_dtype(py::module_& m);
void init_tensor(py::module_& m);
void init_tensor_methods(py::module_& m, py::class_<TensorImpl, Tensor>& cls);
// tensor_index.cpp: Tensor.__getitem__ and __setitem__.
Tensor get_item(const Tensor& self, py::handle idx);
void set_item(Tensor& self, py::handle idx, py::handle value);
// scans_indexing.cpp: cumulative ops, order statistics, indexed writes, unfold,
// rot90, addmv/addbmm and the in-place forms written through assign_result_.
void init_scans_and_indexing(py::module_& m, py::class_<TensorImpl, Tensor>& cls);
// out_forms.cpp: out= for the functions torch gives it; after they are all bound.
void init_out_forms(py::module_& m);

// Binds f as ember.<name>(input, ...) and as Tensor.<name>(...).
template <typename F, typename... Extra>
void def_both(py::module_& m, py::class_<TensorImpl, Tensor>& cls, const char* name, F f,
              const Extra&... extra) {
  m.def(name, f, py::arg("input"), extra...);
  cls.def(name, f, extra...);
}
// Gives a node type its Python class, named as torch's (`grad_fn`'s type name).
template <typename T, typename Base = Node>
void bind_node(py::module_& m, const char* name) {
  py::class_<T, Base, std::shared_ptr<T>>(m, name);
}

void init_operators(py::class_<TensorImpl, Tensor>& cls);
void install_fast_methods(py::class_<TensorImpl, Tensor>& cls);
void install_keepdims_functions(py::module_& m);  // Note [keepdims]
void init_rnn(py::module_& m);                    // fused LSTM cell kernels
void init_optimizers(py::module_& m);             // fused optimizer steps
void init_functions(py::module_& m);
void init_autograd(py::module_& m);
void init_random(py::module_& m);
void init_function_node(py::module_& m);  // after init_autograd (needs the Node class)

}  // namespace ember::bindings
