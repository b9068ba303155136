// Direct paths for hot tensor methods called without arguments (`x.sum()`).

#include <string>
#include <utility>
#include <vector>

#include "common.h"

namespace ember::bindings {
namespace {

// Note [Fast methods]
// pybind11 parses every call generically (argument vectors, keyword matching,
// default values): for `x.sum()` on a small tensor that costs about as much as
// the sum itself. For the methods listed below, a CPython method descriptor
// takes the place of the bound method: a call without arguments runs the op
// directly, and any other call is forwarded unchanged to the pybind11 binding
// it replaced, so there is still one binding that defines arguments, defaults
// and error messages.
struct FastMethod {
  const char* name;
  Tensor (*plain)(const Tensor& self);  // the call without arguments
  PyObject* binding;                    // the pybind11 method it stands in for
  std::string doc;                      // the binding's, with its signatures
  PyMethodDef def;
};

Tensor plain_sum(const Tensor& a) {
  MaybeReleaseGIL gil(a->numel());
  return sum(a, std::nullopt);
}

Tensor plain_mean(const Tensor& a) {
  MaybeReleaseGIL gil(a->numel());
  return mean(a);
}

FastMethod fast_methods[] = {
    {"sum", plain_sum, nullptr, {}, {}},
    {"mean", plain_mean, nullptr, {}, {}},
};

template <size_t I>
PyObject* call(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  const FastMethod& m = fast_methods[I];
  if (nargs == 0 && kwnames == nullptr) {
    try {
      return py::cast(m.plain(as_tensor(self))).release().ptr();
    } catch (py::error_already_set& e) {
      e.restore();
    } catch (...) {
      py::detail::try_translate_exceptions();
    }
    return nullptr;
  }
  const Py_ssize_t keywords = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  std::vector<PyObject*> with_self(static_cast<size_t>(1 + nargs + keywords));
  with_self[0] = self;
  std::copy(args, args + nargs + keywords, with_self.begin() + 1);
  return PyObject_Vectorcall(m.binding, with_self.data(), static_cast<size_t>(1 + nargs), kwnames);
}

template <size_t... I>
void install(PyTypeObject* type, std::index_sequence<I...>) {
  auto one = [type](FastMethod& m, PyCFunction fn) {
    m.binding = PyDict_GetItemString(type->tp_dict, m.name);  // borrowed; the type keeps it
    if (!m.binding) throw std::logic_error(std::string("no binding to speed up: ") + m.name);
    Py_INCREF(m.binding);  // kept after the descriptor replaces it in the type's dict
    m.doc = py::str(py::handle(m.binding).attr("__doc__"));
    m.def = PyMethodDef{m.name, fn, METH_FASTCALL | METH_KEYWORDS, m.doc.c_str()};
    py::object descr = py::reinterpret_steal<py::object>(PyDescr_NewMethod(type, &m.def));
    if (!descr || PyObject_SetAttrString(reinterpret_cast<PyObject*>(type), m.name, descr.ptr())) {
      throw py::error_already_set();
    }
  };
  (one(fast_methods[I], reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(call<I>))), ...);
}

}  // namespace

void install_fast_methods(py::class_<TensorImpl, Tensor>& cls) {
  constexpr size_t n = sizeof(fast_methods) / sizeof(fast_methods[0]);
  install(reinterpret_cast<PyTypeObject*>(cls.ptr()), std::make_index_sequence<n>());
}

}  // namespace ember::bindings
