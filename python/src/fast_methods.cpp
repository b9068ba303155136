// Direct paths for hot tensor methods called without arguments (`x.sum()`).

#include <deque>
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
//
// Entries without a `plain` function only forward. Every forwarded call also
// gets Note [keepdims] applied.
struct FastMethod {
  const char* name;
  Tensor (*plain)(const Tensor& self);  // the call without arguments, or nullptr
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

// The reductions taking `keepdim` (the ones composed in Python take keepdims themselves).
#define EMBER_KEEPDIM_REDUCTIONS                                                                 \
  "max", "min", "amax", "amin", "std", "var", "prod", "argmax", "argmin", "logsumexp", "median", \
      "nanmedian", "nansum"

FastMethod fast_methods[] = {
    {"sum", plain_sum, nullptr, {}, {}},  {"mean", plain_mean, nullptr, {}, {}},
    {"max", nullptr, nullptr, {}, {}},    {"min", nullptr, nullptr, {}, {}},
    {"std", nullptr, nullptr, {}, {}},    {"var", nullptr, nullptr, {}, {}},
    {"prod", nullptr, nullptr, {}, {}},   {"argmax", nullptr, nullptr, {}, {}},
    {"argmin", nullptr, nullptr, {}, {}}, {"amax", nullptr, nullptr, {}, {}},
    {"amin", nullptr, nullptr, {}, {}},   {"nansum", nullptr, nullptr, {}, {}},
};

// Note [keepdims]
// torch's argument parser accepts NumPy's `keepdims=` wherever a function takes
// `keepdim=`. A call naming it gets the keyword renamed before it reaches the
// binding; other calls pass the keyword names through untouched.
// Returns a new reference to the names to use (kwnames itself when unchanged).
PyObject* keepdim_names(PyObject* kwnames) {
  if (kwnames == nullptr) return nullptr;
  const Py_ssize_t n = PyTuple_GET_SIZE(kwnames);
  Py_ssize_t found = -1;
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, i), "keepdims") == 0) {
      found = i;
    }
  }
  if (found < 0) {
    Py_INCREF(kwnames);
    return kwnames;
  }
  PyObject* renamed = PyTuple_New(n);
  if (!renamed) return nullptr;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* name = i == found ? PyUnicode_FromString("keepdim") : PyTuple_GET_ITEM(kwnames, i);
    if (i != found) Py_INCREF(name);
    if (!name) {
      Py_DECREF(renamed);
      return nullptr;
    }
    PyTuple_SET_ITEM(renamed, i, name);
  }
  return renamed;
}

PyObject* forward(PyObject* callable, PyObject* const* args, size_t nargs, PyObject* kwnames) {
  if (kwnames == nullptr) return PyObject_Vectorcall(callable, args, nargs, nullptr);
  PyObject* names = keepdim_names(kwnames);
  if (!names) return nullptr;
  PyObject* out = PyObject_Vectorcall(callable, args, nargs, names);
  Py_DECREF(names);
  return out;
}

// Module-level functions (ember.max(x, dim, keepdims=True)): a C function whose
// self is the pybind11 binding it replaces.
PyObject* forward_function(PyObject* binding, PyObject* const* args, Py_ssize_t nargs,
                           PyObject* kwnames) {
  return forward(binding, args, static_cast<size_t>(nargs), kwnames);
}

struct ForwardedFunction {
  std::string name, doc;
  PyMethodDef def;
};

template <size_t I>
PyObject* call(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  const FastMethod& m = fast_methods[I];
  if (m.plain && nargs == 0 && kwnames == nullptr) {
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
  return forward(m.binding, with_self.data(), static_cast<size_t>(1 + nargs), kwnames);
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

void install_keepdims_functions(py::module_& m) {
  static std::deque<ForwardedFunction> defs;  // PyMethodDefs must outlive their functions
  for (const char* name : {"sum", "mean", EMBER_KEEPDIM_REDUCTIONS}) {
    py::object binding = m.attr(name);
    ForwardedFunction& f = defs.emplace_back();
    f.name = name;
    f.doc = py::str(binding.attr("__doc__"));
    f.def =
        PyMethodDef{f.name.c_str(),
                    reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(forward_function)),
                    METH_FASTCALL | METH_KEYWORDS, f.doc.c_str()};
    py::object fn = py::reinterpret_steal<py::object>(
        PyCFunction_NewEx(&f.def, binding.ptr(), m.attr("__name__").ptr()));
    if (!fn) throw py::error_already_set();
    m.attr(name) = fn;
  }
}

}  // namespace ember::bindings
