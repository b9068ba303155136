// The out= keyword of the common functions (ember.add(a, b, out=t), ...).
// Each gets a second pybind11 overload that requires out=: calls without it
// match the first overload as before, so the plain path costs nothing extra.

#include "common.h"
#include "ember/autograd/grad_mode.h"

namespace ember::bindings {
namespace {

// The module functions that take out= in torch and are bound in C++.
constexpr const char* kWithOut[] = {
    "add",    "sub",          "mul",   "div",          "pow",    "matmul",   "mm",
    "bmm",    "mv",           "dot",   "outer",        "sum",    "mean",     "prod",
    "cumsum", "cumprod",      "cat",   "concat",       "stack",  "maximum",  "minimum",
    "clamp",  "clip",         "fmod",  "remainder",    "atan2",  "copysign", "addmv",
    "addbmm", "logcumsumexp", "take",  "index_select", "gather", "exp",      "log",
    "sqrt",   "abs",          "neg",   "sin",          "cos",    "tanh",     "sigmoid",
    "erf",    "erfc",         "floor", "ceil",         "round",  "trunc",    "reciprocal",
    "rsqrt",  "log1p",        "expm1", "sign",         "square", "log2",     "exp2",
    "eq",     "ne",           "lt",    "le",           "gt",     "ge",
};

bool requires_grad_somewhere(py::handle h) {
  if (is_tensor(h)) return as_tensor(h)->requires_grad();
  if (PyList_Check(h.ptr()) || PyTuple_Check(h.ptr())) {
    for (py::handle item : py::reinterpret_borrow<py::sequence>(h)) {
      if (requires_grad_somewhere(item)) return true;
    }
  }
  return false;
}

void refuse_graphs(const std::string& name, const py::args& args, const py::kwargs& kwargs,
                   const Tensor& out) {
  bool any = out->requires_grad();
  for (py::handle a : args) any = any || requires_grad_somewhere(a);
  for (auto item : kwargs) any = any || requires_grad_somewhere(item.second);
  if (any) {
    throw std::runtime_error(name +
                             "(): functions with out=... arguments don't support automatic "
                             "differentiation, but one of the arguments requires grad.");
  }
}

// bool < integer < floating: a result may land in its own kind or a higher one.
int kind_rank(DType t) { return t == DType::Bool ? 0 : (is_floating(t) ? 2 : 1); }

// Writes `result` into `out` as torch does: `out` is resized to the result's
// shape (with torch's warning when it held elements) and keeps its dtype.
void write_out(Tensor& out, const Tensor& result) {
  if (kind_rank(result->dtype()) > kind_rank(out->dtype())) {
    throw std::runtime_error(std::string("result type ") + scalar_type_name(result->dtype()) +
                             " can't be cast to the desired output type " +
                             scalar_type_name(out->dtype()));
  }
  if (out->shape() != result->shape()) {
    if (out->numel() > 0) {
      const std::string message =
          "An output with one or more elements was resized since it had shape " +
          shape_str(out->shape()) + ", which does not match the required output shape " +
          shape_str(result->shape()) +
          ". This behavior is deprecated, and in a future PyTorch release outputs will not be "
          "resized unless they have zero elements. You can explicitly reuse an out tensor t by "
          "resizing it, inplace, to zero elements with t.resize_(0).";
      if (PyErr_WarnEx(PyExc_UserWarning, message.c_str(), 1) < 0) throw py::error_already_set();
    }
    resize_(out, result->shape());
  }
  copy_(out, result);
}

void add_out_form(py::module_& m, const char* name) {
  const py::object plain = m.attr(name);
  const std::string op = name;
  // Arguments after *args are keyword-only, and `out` has no default: only
  // calls that pass out= reach this overload.
  m.def(
      name,
      [plain, op](py::args args, py::object out, py::kwargs kwargs) -> py::object {
        if (out.is_none()) return plain(*args, **kwargs);
        if (!is_tensor(out)) {
          throw TypeError(op + "(): argument 'out' must be Tensor, not " +
                          std::string(Py_TYPE(out.ptr())->tp_name));
        }
        Tensor target = as_tensor(out);
        if (GradMode::is_enabled()) refuse_graphs(op, args, kwargs, target);
        {
          GradModeGuard no_grad(false);
          write_out(target, as_tensor(plain(*args, **kwargs)));
        }
        return out;
      },
      py::arg("out"));
}

}  // namespace

void init_out_forms(py::module_& m) {
  for (const char* name : kWithOut) add_out_form(m, name);
}

}  // namespace ember::bindings
