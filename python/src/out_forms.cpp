// The out= keyword (ember.add(a, b, out=t), ember.max(x, 0, out=(v, i)), ...).
//
// Note [out= forms]
// One mechanism serves every op that takes out= in torch. The op computes its
// result as usual, under no_grad, and `out_call` writes the result into `out`
// with torch's semantics: `out` is resized to the result's shape (with torch's
// warning when it held elements), keeps its dtype if the op's dtype rule
// allows the result in it (the table below), and is returned itself. An op
// with several results takes a tuple of tensors and returns them in the op's
// result type. Inputs that require grad under grad mode are refused, as torch
// refuses them, unless the op has no derivative.
//
// A C++ function gets a second pybind11 overload that requires out=: calls
// without it match the first overload as before, so the plain path costs
// nothing extra. A Python function takes the same path through the decorator
// of ember._out.

#include <algorithm>
#include <cstring>

#include "common.h"
#include "ember/autograd/grad_mode.h"

namespace ember::bindings {
namespace {

enum class Rule : uint8_t {
  Cast,            // torch's canCast: bool < integer < floating (the default)
  CastTypeError,   // the same, raised as TypeError (cat and the stacking family)
  Same,            // out's dtype must be the result's
  Bool,            // out must be bool
  Floating,        // out must be floating
  ComputeIn,       // the op runs in out's dtype (dtype=out.dtype); bool out refused
  ComputeInFloat,  // the op runs in out's dtype, which must be floating
  Factory,         // dtype= must match out's; without it the factory makes out's dtype
  NeedsDim,        // ComputeIn without refusals, and only with a dim (sum, prod)
};

// The message templates name the dtypes as torch does: {out} and {result} as
// "Double", {out_c} and {result_c} as C types ("double"), {int32} as
// searchsorted's out_int32 flag.
struct OutRule {
  const char* name;
  Rule rule;
  const char* message;
  bool differentiable;
};

constexpr const char* kCast = "result type {result} can't be cast to the desired output type {out}";
constexpr const char* kFound = "Found dtype {out} but expected {result}";
constexpr const char* kExpected =
    "Expected out tensor to have dtype {result_c}, but got {out_c} instead";
constexpr const char* kHouseholderCast =
    "torch.linalg.householder_product: Expected result to be safely castable from {result} "
    "dtype, but got result with dtype {out}";
constexpr const char* kCat =
    "torch.cat(): input types can't be cast to the desired output type {out}";
constexpr const char* kFactory = "dtype {result} does not match dtype of out parameter ({out})";

// Ops not listed use Rule::Cast with kCast and are differentiable.
constexpr OutRule kRules[] = {
    // pointwise ops whose kernels keep the input's dtype
    {"abs", Rule::Same, kFound, true},
    {"ceil", Rule::Same, kFound, true},
    {"floor", Rule::Same, kFound, true},
    {"trunc", Rule::Same, kFound, true},
    {"fix", Rule::Same, kFound, true},
    {"round", Rule::Same, kFound, true},
    {"frac", Rule::Same, kFound, true},
    {"neg", Rule::Same, kFound, true},
    {"negative", Rule::Same, kFound, true},
    {"sign", Rule::Same, kFound, true},
    {"sgn", Rule::Same, kFound, true},
    {"lerp", Rule::Same, kFound, true},
    {"clamp", Rule::Same, kFound, true},
    {"clip", Rule::Same, kFound, true},
    {"clamp_min", Rule::Same, kFound, true},
    {"clamp_max", Rule::Same, kFound, true},
    {"bitwise_not", Rule::Same, kFound, false},
    {"nan_to_num", Rule::Same, "nan_to_num: dtype of out: {out} should be same as input: {result}",
     true},
    {"where", Rule::Same, "Expected out type to be {result} but got {out}", true},
    // torch.special functions without a derivative take out= from inputs that require grad
    {"modified_bessel_i0", Rule::Cast, kCast, false},
    {"modified_bessel_i1", Rule::Cast, kCast, false},
    {"bessel_j0", Rule::Cast, kCast, false},
    {"bessel_j1", Rule::Cast, kCast, false},
    {"bessel_y0", Rule::Cast, kCast, false},
    {"bessel_y1", Rule::Cast, kCast, false},
    {"modified_bessel_k0", Rule::Cast, kCast, false},
    {"modified_bessel_k1", Rule::Cast, kCast, false},
    {"scaled_modified_bessel_k0", Rule::Cast, kCast, false},
    {"scaled_modified_bessel_k1", Rule::Cast, kCast, false},
    {"airy_ai", Rule::Cast, kCast, false},
    {"spherical_bessel_j0", Rule::Cast, kCast, false},
    {"mvlgamma", Rule::Cast,
     "mvlgamma: result type {result} can't be cast to the desired output type {out}", true},
    {"signbit", Rule::Bool, "signbit does not support non-boolean outputs.", false},
    {"isposinf", Rule::Bool, "isposinf does not support non-boolean outputs.", false},
    {"isneginf", Rule::Bool, "isneginf does not support non-boolean outputs.", false},
    {"quantile", Rule::Same, "quantile() out tensor must be same dtype as the input tensor", true},
    {"nanquantile", Rule::Same, "quantile() out tensor must be same dtype as the input tensor",
     true},
    {"heaviside", Rule::Same, "heaviside is not yet implemented for tensors with different dtypes.",
     false},
    // ops without a derivative (Rule::Cast)
    {"eq", Rule::Cast, kCast, false},
    {"ne", Rule::Cast, kCast, false},
    {"lt", Rule::Cast, kCast, false},
    {"le", Rule::Cast, kCast, false},
    {"gt", Rule::Cast, kCast, false},
    {"ge", Rule::Cast, kCast, false},
    {"logical_and", Rule::Cast, kCast, false},
    {"logical_or", Rule::Cast, kCast, false},
    {"logical_xor", Rule::Cast, kCast, false},
    {"logical_not", Rule::Cast, kCast, false},
    {"bitwise_and", Rule::Cast, kCast, false},
    {"bitwise_or", Rule::Cast, kCast, false},
    {"bitwise_xor", Rule::Cast, kCast, false},
    {"bitwise_left_shift", Rule::Cast, kCast, false},
    {"bitwise_right_shift", Rule::Cast, kCast, false},
    {"floor_divide", Rule::Cast, kCast, false},
    // reductions and scans
    {"sum", Rule::NeedsDim, kExpected, true},
    {"prod", Rule::NeedsDim, kExpected, true},
    {"amax", Rule::Same,
     "Expected the dtype for input and out to match, but got {result} for input's dtype and {out} "
     "for out's dtype.",
     true},
    {"amin", Rule::Same,
     "Expected the dtype for input and out to match, but got {result} for input's dtype and {out} "
     "for out's dtype.",
     true},
    {"argmax", Rule::Same, kExpected, false},
    {"argmin", Rule::Same, kExpected, false},
    {"all", Rule::Bool, "all only supports bool tensor for result, got: {out}", false},
    {"any", Rule::Bool, "any only supports bool tensor for result, got: {out}", false},
    {"logsumexp", Rule::Floating,
     "logsumexp(): Expected floating point type for result tensor, but got: {out}", true},
    {"cumsum", Rule::ComputeIn, "\"cumsum_out_cpu\" not implemented for '{out}'", true},
    {"cumprod", Rule::ComputeIn, "\"cumprod_out_cpu\" not implemented for '{out}'", true},
    {"nansum", Rule::ComputeInFloat, "\"nansum_cpu\" not implemented for '{out}'", true},
    {"nanmean", Rule::ComputeInFloat, "\"nansum_cpu\" not implemented for '{out}'", true},
    {"logcumsumexp", Rule::Same, "expected scalar_type {result} but found {out}", true},
    // several results, in a tuple of outs (ops not listed keep kExpected)
    {"cummax", Rule::Same, "expected scalar_type {result} but found {out}", true},
    {"cummin", Rule::Same, "expected scalar_type {result} but found {out}", true},
    {"mode", Rule::Same, "expected scalar type '{result}' but got '{out}' for an output", true},
    // products and linear algebra
    {"matmul", Rule::Same, kExpected, true},
    {"mm", Rule::Same, kExpected, true},
    {"bmm", Rule::Same, kExpected, true},
    {"addmm", Rule::Same, kExpected, true},
    {"addmv", Rule::Same, kExpected, true},
    {"baddbmm", Rule::Same, kExpected, true},
    {"mv", Rule::Same,
     "addmv input tensors must have the same dtype, but got {out}, {result}, and {result}", true},
    {"addbmm", Rule::Same, "self and mat2 must have the same dtype, but got {out} and {result}",
     true},
    {"dot", Rule::Same, "result dtype {out} does not match input dtype {result}", true},
    {"vdot", Rule::Same, "result dtype {out} does not match input dtype {result}", true},
    {"inner", Rule::Same,
     "tensordot: Expected the output tensor to have dtype {result}, but got an output tensor with "
     "dtype {out}",
     true},
    {"tensordot", Rule::Same,
     "tensordot: Expected the output tensor to have dtype {result}, but got an output tensor with "
     "dtype {out}",
     true},
    {"linalg.vecdot", Rule::Same, "linalg.vecdot: Expected out of dtype{result} but found {out}",
     true},
    {"cross", Rule::Same, kExpected, true},
    {"linalg.cross", Rule::Same, kExpected, true},
    {"renorm", Rule::Same, kExpected, true},
    {"inverse", Rule::Same, kExpected, true},
    {"matrix_power", Rule::Same, kExpected, true},
    {"cholesky", Rule::Cast,
     "cholesky: Expected result to be safely castable from {result} dtype, but got result with "
     "dtype {out}",
     true},
    {"cholesky_solve", Rule::Cast,
     "cholesky_solve: Expected result to be safely castable from {result} dtype, but got result "
     "with dtype {out}",
     true},
    {"linalg.lstsq", Rule::Cast, kCast, true},
    {"lu_solve", Rule::Same, kExpected, true},
    {"linalg.householder_product", Rule::Cast, kHouseholderCast, true},
    {"orgqr", Rule::Cast, kHouseholderCast, true},
    {"linalg.tensorinv", Rule::Cast,
     "tensorinv: Expected result to be safely castable from {result} dtype, but got result with "
     "dtype {out}",
     true},
    {"linalg.tensorsolve", Rule::Cast,
     "tensorsolve: Expected result to be safely castable from {result} dtype, but got result "
     "with dtype {out}",
     true},
    {"linalg", Rule::Same, kExpected, true},  // every linalg.<name> not listed
    // shape and indexing
    {"cat", Rule::CastTypeError, kCat, true},
    {"concat", Rule::CastTypeError, kCat, true},
    {"concatenate", Rule::CastTypeError, kCat, true},
    {"stack", Rule::CastTypeError, kCat, true},
    {"hstack", Rule::CastTypeError, kCat, true},
    {"vstack", Rule::CastTypeError, kCat, true},
    {"dstack", Rule::CastTypeError, kCat, true},
    {"column_stack", Rule::CastTypeError, kCat, true},
    {"row_stack", Rule::CastTypeError, kCat, true},
    {"scatter", Rule::Same, kExpected, true},
    {"scatter_add", Rule::Same, kExpected, true},
    {"scatter_reduce", Rule::Same, kExpected, true},
    {"index_add", Rule::Same, kExpected, true},
    {"index_copy", Rule::Same, kExpected, true},
    {"diag", Rule::Same, kExpected, true},
    {"nonzero", Rule::Same,
     "nonzero: Expected out tensor to have scalar type Long but got scalar type{out}", false},
    {"isin", Rule::Same, kExpected, false},
    {"histc", Rule::Same,
     "torch.histogram: input tensor and hist tensor should have the same dtype, but got input "
     "{result_c} and hist {out_c}",
     false},
    {"softmax", Rule::Same, kExpected, false},  // torch lets its out form take graphs
    {"log_softmax", Rule::Same, kExpected, false},
    {"norm", Rule::Same, kExpected, true},
    {"tril", Rule::Same, kExpected, true},
    {"triu", Rule::Same, kExpected, true},
    {"gather", Rule::Same, kExpected, true},
    {"take_along_dim", Rule::Same, kExpected, true},
    {"index_select", Rule::Same, "index_select(): self and result must have the same scalar type",
     true},
    {"masked_select", Rule::Same, "masked_select(): self and result must have the same scalar type",
     true},
    {"take", Rule::Same,
     "take(): self and out expected to have the same dtype, but got self.dtype = {result} and "
     "out.dtype = {out}",
     true},
    {"searchsorted", Rule::Same,
     "torch.searchsorted(): output tensor's dtype is wrong, it can only be Int(int32) or "
     "Long(int64) depending on whether out_int32 flag is True, but we got out_int32={int32} and "
     "out tensor's dtype {out}",
     false},
    {"bucketize", Rule::Same,
     "torch.bucketize(): output tensor's dtype is wrong, it can only be Int(int32) or "
     "Long(int64) depending on whether out_int32 flag is True, but we got out_int32={int32} and "
     "out tensor's dtype {out}",
     false},
    // factories
    {"zeros", Rule::Factory, kFactory, false},
    {"ones", Rule::Factory, kFactory, false},
    {"full", Rule::Factory, kFactory, false},
    {"empty", Rule::Factory, kFactory, false},
    {"eye", Rule::Factory, kFactory, false},
    {"arange", Rule::Factory, kFactory, false},
    {"logspace", Rule::Factory, kFactory, false},
    {"range", Rule::Factory, kFactory, false},
    {"range", Rule::Factory, kFactory, false},
    {"linspace", Rule::Factory, kFactory, false},
    {"logspace", Rule::Factory, kFactory, false},
};

constexpr OutRule kDefaultRule{"", Rule::Cast, kCast, true};
constexpr OutRule kSeveralRule{"", Rule::Same, kExpected, true};  // tuple outs

const OutRule& rule_of(const std::string& name) {
  for (const OutRule& r : kRules) {
    if (name == r.name) return r;
  }
  // linalg.<name> has the linalg rule unless listed; the legacy torch.<name>
  // (cholesky, ...) is listed under its own name.
  if (name.rfind("linalg.", 0) == 0) return rule_of("linalg");
  const std::string short_name = name.substr(name.rfind('.') + 1);  // special.<name>
  for (const OutRule& r : kRules) {
    if (short_name == r.name) return r;
  }
  return kDefaultRule;
}

// The functions of the _C module that take out= in torch.
constexpr const char* kWithOut[] = {
    "addcdiv",
    "amax",
    "amin",
    "addcmul",
    "lerp",
    "logsumexp",
    "sort",
    "topk",
    "median",
    "msort",
    "nanmedian",
    "tril",
    "triu",
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "matmul",
    "mm",
    "bmm",
    "mv",
    "dot",
    "outer",
    "sum",
    "mean",
    "prod",
    "cumsum",
    "cumprod",
    "cat",
    "concat",
    "stack",
    "maximum",
    "minimum",
    "clamp",
    "clip",
    "fmod",
    "remainder",
    "atan2",
    "hypot",
    "logaddexp",
    "logaddexp2",
    "fmax",
    "fmin",
    "ldexp",
    "nansum",
    "copysign",
    "addmm",
    "baddbmm",
    "addmv",
    "addbmm",
    "logcumsumexp",
    "take",
    "index_select",
    "index_add",
    "gather",
    "exp",
    "log",
    "sqrt",
    "abs",
    "neg",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "erf",
    "erfc",
    "floor",
    "ceil",
    "round",
    "trunc",
    "reciprocal",
    "rsqrt",
    "log1p",
    "expm1",
    "sign",
    "square",
    "log2",
    "exp2",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "cosh",
    "sinh",
    "tan",
    "digamma",
    "erfinv",
    "frac",
    "lgamma",
    "i0",
    "log10",
    "logical_not",
    "bitwise_not",
    "nan_to_num",
    "logit",
    "polygamma",
    "floor_divide",
    "logical_and",
    "logical_or",
    "logical_xor",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_left_shift",
    "bitwise_right_shift",
    "argmax",
    "argmin",
    "std",
    "var",
    "renorm",
    "masked_select",
    "zeros",
    "ones",
    "full",
    "eye",
    "arange",
    "linspace",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "index_copy",
    "softmax",
    "log_softmax",
    "max",
    "min",
    "kthvalue",
    "mode",
    "cummax",
    "cummin",
};

std::string format_message(const char* tmpl, DType result, DType out) {
  std::string s;
  for (const char* p = tmpl; *p;) {
    auto take = [&](const char* key, const char* value) {
      const size_t n = std::strlen(key);
      if (std::strncmp(p, key, n) != 0) return false;
      s += value;
      p += n;
      return true;
    };
    if (take("{out}", scalar_type_name(out)) || take("{result}", scalar_type_name(result)) ||
        take("{out_c}", c_type_name(out)) || take("{result_c}", c_type_name(result)) ||
        take("{int32}", result == DType::Int32 ? "True" : "False")) {
      continue;
    }
    s += *p++;
  }
  return s;
}

// bool < integer < floating: a result may land in its own kind or a higher one.
int kind_rank(DType t) { return t == DType::Bool ? 0 : (is_floating(t) ? 2 : 1); }

void check_dtype(const OutRule& r, DType result, DType out) {
  bool ok = true;
  switch (r.rule) {
    case Rule::Cast:
    case Rule::CastTypeError:
      ok = kind_rank(result) <= kind_rank(out);
      break;
    case Rule::Same:
    case Rule::Factory:
    case Rule::NeedsDim:  // differs only when dtype= asked for another dtype
      ok = result == out;
      break;
    case Rule::Bool:
      ok = out == DType::Bool;
      break;
    case Rule::Floating:
      ok = is_floating(out) && kind_rank(result) <= kind_rank(out);
      break;
    case Rule::ComputeIn:
    case Rule::ComputeInFloat:
      ok = true;  // the op already ran in out's dtype
      break;
  }
  if (ok) return;
  const std::string message = format_message(r.message, result, out);
  if (r.rule == Rule::CastTypeError) throw TypeError(message);
  throw std::runtime_error(message);
}

bool requires_grad_somewhere(py::handle h) {
  if (is_tensor(h)) return as_tensor(h)->requires_grad();
  if (PyList_Check(h.ptr()) || PyTuple_Check(h.ptr())) {
    for (py::handle item : py::reinterpret_borrow<py::sequence>(h)) {
      if (requires_grad_somewhere(item)) return true;
    }
  }
  return false;
}

void refuse_graphs(const std::string& name, const py::tuple& args, const py::dict& kwargs,
                   py::handle out) {
  bool any = requires_grad_somewhere(out);
  for (py::handle a : args) any = any || requires_grad_somewhere(a);
  for (auto item : kwargs) any = any || requires_grad_somewhere(item.second);
  if (any) {
    throw std::runtime_error(name +
                             "(): functions with out=... arguments don't support automatic "
                             "differentiation, but one of the arguments requires grad.");
  }
}

// Writes `result` into `out` as torch does: `out` is resized to the result's
// shape (with torch's warning when it held elements) and keeps its dtype.
void write_out(const OutRule& r, Tensor& out, const Tensor& result, int warn_level) {
  check_dtype(r, result->dtype(), out->dtype());
  if (out->shape() != result->shape()) {
    if (out->numel() > 0) {
      const std::string message =
          "An output with one or more elements was resized since it had shape " +
          shape_str(out->shape()) + ", which does not match the required output shape " +
          shape_str(result->shape()) +
          ". This behavior is deprecated, and in a future PyTorch release outputs will not be "
          "resized unless they have zero elements. You can explicitly reuse an out tensor t by "
          "resizing it, inplace, to zero elements with t.resize_(0).";
      if (PyErr_WarnEx(PyExc_UserWarning, message.c_str(), warn_level) < 0)
        throw py::error_already_set();
    }
    resize_(out, result->shape());
  }
  copy_(out, result);
}

Tensor out_tensor(const std::string& name, py::handle h) {
  if (!is_tensor(h)) {
    throw TypeError(name + "(): argument 'out' must be Tensor, not " +
                    std::string(Py_TYPE(h.ptr())->tp_name));
  }
  return as_tensor(h);
}

// Adjusts the call for rules that decide the op's dtype (factories, scans).
void prepare(const OutRule& r, const std::string& name, const py::tuple& args, py::dict& kwargs,
             const Tensor& out) {
  const DType dtype = out->dtype();
  const bool has_dtype = kwargs.contains("dtype") && !kwargs["dtype"].is_none();
  switch (r.rule) {
    case Rule::Factory:
      if (has_dtype) {
        const DType asked = dtype_from(py::object(kwargs["dtype"]));
        if (asked != dtype) throw std::runtime_error(format_message(r.message, asked, dtype));
      } else {
        kwargs["dtype"] = dtype_object(dtype);
      }
      break;
    case Rule::ComputeIn:
    case Rule::ComputeInFloat:
      if ((r.rule == Rule::ComputeIn && dtype == DType::Bool) ||
          (r.rule == Rule::ComputeInFloat && !is_floating(dtype))) {
        throw NotImplementedError(format_message(r.message, dtype, dtype));
      }
      if (!has_dtype) kwargs["dtype"] = dtype_object(dtype);
      break;
    case Rule::NeedsDim:
      if (args.size() < 2 && !kwargs.contains("dim")) {
        throw TypeError(name + "() takes out= only with a dim: " + name +
                        "(input, dim, keepdim=False, *, dtype=None, out=None)");
      }
      if (!has_dtype) kwargs["dtype"] = dtype_object(dtype);
      break;
    default:
      break;
  }
}

// Note [out= forms]: runs fn(*args, **kwargs) and writes its result into out.
// warn_level: the frame torch's resize warning names (1: the caller of a C++ function).
py::object out_call(const std::string& name, py::handle fn, py::handle out, const py::tuple& args,
                    py::dict kwargs, int warn_level) {
  const std::string short_name = name.substr(name.rfind('.') + 1);
  const bool several = PyTuple_Check(out.ptr()) || PyList_Check(out.ptr());
  if (!several) out_tensor(short_name, out);  // a TypeError for anything else
  const OutRule& found = rule_of(name);
  const OutRule& r = several && &found == &kDefaultRule ? kSeveralRule : found;
  if (r.differentiable && GradMode::is_enabled()) {
    std::string aten_name = name;  // torch names special.entr special_entr here
    std::replace(aten_name.begin(), aten_name.end(), '.', '_');
    refuse_graphs(aten_name, args, kwargs, out);
  }
  if (r.rule != Rule::Cast && r.rule != Rule::CastTypeError && r.rule != Rule::Same &&
      r.rule != Rule::Bool && r.rule != Rule::Floating) {
    prepare(r, short_name, args, kwargs, out_tensor(short_name, out));  // out decides the dtype
  }
  py::object result;
  {
    GradModeGuard no_grad(false);
    result = fn(*args, **kwargs);
  }
  if (!PyTuple_Check(result.ptr())) {
    Tensor target = out_tensor(short_name, out);
    write_out(r, target, as_tensor(result), warn_level);
    return py::reinterpret_borrow<py::object>(out);
  }
  // Several results: out must be as many tensors.
  const py::tuple results = py::reinterpret_borrow<py::tuple>(result);
  std::vector<Tensor> targets;
  if (several) {
    for (py::handle h : py::reinterpret_borrow<py::sequence>(out)) {
      if (!is_tensor(h)) break;
      targets.push_back(as_tensor(h));
    }
  }
  if (!several || targets.size() != static_cast<size_t>(py::len(out))) {
    throw TypeError(short_name + "(): argument 'out' must be tuple of Tensors, not " +
                    std::string(Py_TYPE(out.ptr())->tp_name));
  }
  if (results.size() != targets.size()) {
    throw std::runtime_error(short_name + "(): expected out to hold " +
                             std::to_string(results.size()) + " tensors, but got " +
                             std::to_string(targets.size()));
  }
  py::tuple outs(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    write_out(r, targets[i], as_tensor(results[i]), warn_level);
    outs[i] = py::reinterpret_borrow<py::sequence>(out)[i];
  }
  // The op's own result type (ember.return_types.max, ...), holding the outs.
  py::handle type(reinterpret_cast<PyObject*>(Py_TYPE(result.ptr())));
  if (type.ptr() == reinterpret_cast<PyObject*>(&PyTuple_Type)) return std::move(outs);
  return type(*outs);
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
        return out_call(op, plain, out, args, std::move(kwargs), 1);
      },
      py::arg("out"));
}

}  // namespace

void init_out_forms(py::module_& m) {
  for (const char* name : kWithOut) add_out_form(m, name);
  m.def(
      "_out_call",
      [](const std::string& name, py::object fn, py::object out, py::tuple args, py::dict kwargs) {
        return out_call(name, fn, out, args, std::move(kwargs), 2);
      },
      "Runs fn(*args, **kwargs) and writes the result into out (Note [out= forms]); "
      "called from ember._out, so a resize warning names its caller.");
}

}  // namespace ember::bindings
