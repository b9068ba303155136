// Bindings of tril/triu, flip, roll, masked_fill, trace, lerp, addcmul,
// addcdiv and logsumexp (ops/rearrange.cpp, ops/fused_pointwise.cpp), their
// in-place forms (through assign_result_, so they record the op's node) and
// their node classes.

#include "ember/autograd/functions/rearrange.h"

#include "common.h"

namespace ember::bindings {
namespace {

using TensorClass = py::class_<TensorImpl, Tensor>;

// Binds Tensor.<name>_(...) as op(self, ...) written back into self; `others`
// lists the op's other tensor arguments.
template <typename Op, typename... Extra>
void def_inplace(TensorClass& cls, const char* name, Op op, const Extra&... extra) {
  cls.def(
      name,
      [op, name](py::handle self, py::args args, py::kwargs kwargs) {
        Tensor t = as_tensor(self);
        TensorVec others;
        for (py::handle a : args) {
          if (is_tensor(a)) others.push_back(as_tensor(a));
        }
        for (auto item : kwargs) {
          if (is_tensor(item.second)) others.push_back(as_tensor(item.second));
        }
        assign_result_(t, others, name,
                       [&](const Tensor& original) { return op(original, args, kwargs); });
        return self;
      },
      extra...);
}

// Argument `i` of args, else kwargs[name], else `fallback` (null: required).
py::handle argument(const py::args& args, const py::kwargs& kwargs, size_t i, const char* name,
                    const char* fn, py::handle fallback = py::handle()) {
  if (i < args.size()) return args[i];
  if (kwargs.contains(name)) return kwargs[name];
  if (!fallback) {
    throw TypeError(std::string(fn) + "() missing 1 required positional arguments: \"" + name +
                    "\"");
  }
  return fallback;
}

Tensor masked_fill_value(const Tensor& a, const Tensor& mask, py::handle value) {
  if (is_tensor(value)) return masked_fill(a, mask, as_tensor(value));
  return masked_fill(a, mask, require_scalar(value));
}

Tensor lerp_weight(const Tensor& a, const Tensor& end, py::handle weight) {
  if (is_tensor(weight)) return lerp(a, end, as_tensor(weight));
  return lerp(a, end, require_scalar(weight).value);
}

DimList optional_dims(py::handle dims) { return dims.is_none() ? DimList{} : dims_from(dims); }

}  // namespace

void init_rearrange(py::module_& m) {
  bind_node<TrilBackward0>(m, "TrilBackward0");
  bind_node<TriuBackward0>(m, "TriuBackward0");
  bind_node<FlipBackward0>(m, "FlipBackward0");
  bind_node<RollBackward0>(m, "RollBackward0");
  bind_node<MaskedFillBackward0>(m, "MaskedFillBackward0");
  bind_node<MaskedFillBackward1>(m, "MaskedFillBackward1");
  bind_node<TraceBackward0>(m, "TraceBackward0");
  bind_node<LerpBackward0>(m, "LerpBackward0");
  bind_node<LerpBackward1>(m, "LerpBackward1");
  bind_node<AddcmulBackward0>(m, "AddcmulBackward0");
  bind_node<AddcdivBackward0>(m, "AddcdivBackward0");
  bind_node<LogsumexpBackward0>(m, "LogsumexpBackward0");

  TensorClass cls(m.attr("Tensor"));
  def_both(
      m, cls, "tril", [](const Tensor& a, int64_t diagonal) { return tril(a, diagonal); },
      py::arg("diagonal") = 0);
  def_both(
      m, cls, "triu", [](const Tensor& a, int64_t diagonal) { return triu(a, diagonal); },
      py::arg("diagonal") = 0);
  def_inplace(cls, "tril_", [](const Tensor& a, const py::args& args, const py::kwargs& kw) {
    return tril(a, argument(args, kw, 0, "diagonal", "tril_", py::int_(0)).cast<int64_t>());
  });
  def_inplace(cls, "triu_", [](const Tensor& a, const py::args& args, const py::kwargs& kw) {
    return triu(a, argument(args, kw, 0, "diagonal", "triu_", py::int_(0)).cast<int64_t>());
  });

  m.def(
      "flip", [](const Tensor& a, py::handle dims) { return flip(a, dims_from(dims)); },
      py::arg("input"), py::arg("dims"));
  cls.def("flip", [](const Tensor& a, const py::args& args, const py::kwargs& kwargs) {
    if (args.size() == 0) return flip(a, dims_from(argument(args, kwargs, 0, "dims", "flip")));
    return flip(a, dims_from_args(args));
  });
  def_both(
      m, cls, "roll",
      [](const Tensor& a, py::handle shifts, py::handle dims) {
        return roll(a, dims_from(shifts), optional_dims(dims));
      },
      py::arg("shifts"), py::arg("dims") = py::none());

  def_both(m, cls, "masked_fill", masked_fill_value, py::arg("mask"), py::arg("value"));
  def_inplace(cls, "masked_fill_", [](const Tensor& a, const py::args& args, const py::kwargs& kw) {
    const Tensor& mask = as_tensor(argument(args, kw, 0, "mask", "masked_fill_"));
    return masked_fill_value(a, mask, argument(args, kw, 1, "value", "masked_fill_"));
  });

  def_both(m, cls, "trace", [](const Tensor& a) { return trace(a); });

  def_both(m, cls, "lerp", lerp_weight, py::arg("end"), py::arg("weight"));
  def_inplace(cls, "lerp_", [](const Tensor& a, const py::args& args, const py::kwargs& kw) {
    const Tensor& end = as_tensor(argument(args, kw, 0, "end", "lerp_"));
    return lerp_weight(a, end, argument(args, kw, 1, "weight", "lerp_"));
  });

  auto addcmul_fn = [](const Tensor& a, const Tensor& t1, const Tensor& t2, py::handle value) {
    return addcmul(a, t1, t2, require_scalar(value).value);
  };
  auto addcdiv_fn = [](const Tensor& a, const Tensor& t1, const Tensor& t2, py::handle value) {
    return addcdiv(a, t1, t2, require_scalar(value).value);
  };
  def_both(m, cls, "addcmul", addcmul_fn, py::arg("tensor1"), py::arg("tensor2"), py::kw_only(),
           py::arg("value") = 1);
  def_both(m, cls, "addcdiv", addcdiv_fn, py::arg("tensor1"), py::arg("tensor2"), py::kw_only(),
           py::arg("value") = 1);
  for (const auto& [name, divide] : {std::pair{"addcmul_", false}, std::pair{"addcdiv_", true}}) {
    const bool d = divide;
    const char* fn = name;
    def_inplace(cls, name, [d, fn](const Tensor& a, const py::args& args, const py::kwargs& kw) {
      const Tensor& t1 = as_tensor(argument(args, kw, 0, "tensor1", fn));
      const Tensor& t2 = as_tensor(argument(args, kw, 1, "tensor2", fn));
      const double value = require_scalar(argument(args, kw, 2, "value", fn, py::int_(1))).value;
      return d ? addcdiv(a, t1, t2, value) : addcmul(a, t1, t2, value);
    });
  }

  def_both(
      m, cls, "logsumexp",
      [](const Tensor& a, py::handle dim, bool keepdim) {
        return logsumexp(a, dims_from(dim), keepdim);
      },
      py::arg("dim"), py::arg("keepdim") = false);
  // NumPy's spelling on the method (the function gets it in Note [keepdims]).
  cls.def(
      "logsumexp",
      [](const Tensor& a, py::handle dim, bool keepdims) {
        return logsumexp(a, dims_from(dim), keepdims);
      },
      py::arg("dim"), py::kw_only(), py::arg("keepdims"));
}

}  // namespace ember::bindings
