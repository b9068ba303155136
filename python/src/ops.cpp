// Ops exposed both as ember.<name>(input, ...) and as Tensor.<name>(...)
// (the operators are in operators.cpp). Each binding only converts arguments.

#include "common.h"
#include "ember/autograd/node.h"
#include "ember/kernels/elementwise.h"
#include "ember/ops/unary.h"

namespace ember::bindings {
namespace {

using TensorClass = py::class_<TensorImpl, Tensor>;

// ember.add(input, other) and friends: either operand may be a Python number
// (a number as `input` acts like a 0-d tensor of its kind, as in torch).
template <typename WithTensor, typename WithScalar>
py::object binary(py::handle self, py::handle other, WithTensor with_tensor,
                  WithScalar with_scalar) {
  Tensor number;
  if (!is_tensor(self)) {
    number = tensor_of_scalar(require_scalar(self));
  }
  const Tensor& a = number ? number : as_tensor(self);
  Tensor out;
  if (is_tensor(other)) {
    MaybeReleaseGIL gil(a->numel());
    out = with_tensor(a, as_tensor(other));
  } else {
    const Scalar s = require_scalar(other);
    MaybeReleaseGIL gil(a->numel());
    out = with_scalar(a, s);
  }
  return py::cast(std::move(out));
}

// A where() operand: a number beside a tensor takes the dtype it promotes to
// with that tensor (0.1 beside float64 stays 0.1), as in torch.
Tensor where_operand(py::handle h, py::handle other) {
  if (is_tensor(h)) return as_tensor(h);
  const Scalar s = require_scalar(h);
  if (!is_tensor(other)) return tensor_of_scalar(s);
  return scalar_tensor(s, result_type(as_tensor(other), s));
}

// add/sub's alpha, refused as torch refuses it for the result's dtype.
double alpha_arg(py::handle alpha, DType result) {
  if (PyBool_Check(alpha.ptr()) && result != DType::Bool) {
    throw std::runtime_error("Boolean alpha only supported for Boolean results.");
  }
  if (PyFloat_Check(alpha.ptr()) && !is_floating(result)) {
    throw std::runtime_error(
        "For integral input tensors, argument alpha must not be a floating point number.");
  }
  return require_scalar(alpha).value;
}

double alpha_arg(py::handle alpha, const Tensor& x, py::handle other) {
  // The default alpha=1 fits every dtype: skip the promotion on the common path.
  int overflow = 0;
  if (PyLong_CheckExact(alpha.ptr()) && PyLong_AsLongAndOverflow(alpha.ptr(), &overflow) == 1) {
    return 1.0;
  }
  const DType result =
      is_tensor(other) ? result_type(x, as_tensor(other)) : result_type(x, require_scalar(other));
  return alpha_arg(alpha, result);
}

RoundingMode rounding_mode_from(py::handle h) {
  const std::string mode = py::str(h);
  if (mode == "floor") return RoundingMode::Floor;
  if (mode == "trunc") return RoundingMode::Trunc;
  throw std::runtime_error(
      "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '" + mode + "'");
}

DimList optional_dims(py::handle dim) {
  if (dim.is_none()) return {};
  return dims_from(dim);
}

double correction_from(py::handle unbiased, py::handle correction) {
  if (!correction.is_none()) return correction.cast<double>();
  if (!unbiased.is_none()) return unbiased.cast<bool>() ? 1.0 : 0.0;
  return 1.0;
}

// bitwise_and/or/xor/left_shift/right_shift/not and logical_and/or/xor.
void init_bitwise(py::module_& m, TensorClass& cls) {
  const std::pair<const char*, BinaryOp> ops[] = {{"bitwise_and", BinaryOp::BitAnd},
                                                  {"bitwise_or", BinaryOp::BitOr},
                                                  {"bitwise_xor", BinaryOp::BitXor},
                                                  {"bitwise_left_shift", BinaryOp::ShiftLeft},
                                                  {"bitwise_right_shift", BinaryOp::ShiftRight}};
  for (const auto& [name, op] : ops) {
    const BinaryOp o = op;
    def_both(
        m, cls, name,
        [o](py::handle a, py::handle b) {
          return binary(
              a, b, [o](const Tensor& x, const Tensor& y) { return bitwise(o, x, y); },
              [o](const Tensor& x, const Scalar& s) { return bitwise(o, x, s); });
        },
        py::arg("other"));
  }
  def_both(m, cls, "bitwise_not", [](const Tensor& a) { return bitwise_not(a); });
  const std::pair<const char*, BinaryOp> logical[] = {{"logical_and", BinaryOp::BitAnd},
                                                      {"logical_or", BinaryOp::BitOr},
                                                      {"logical_xor", BinaryOp::BitXor}};
  for (const auto& [name, op] : logical) {
    const BinaryOp o = op;
    def_both(
        m, cls, name,
        [o](const Tensor& a, const Tensor& b) {
          return bitwise(o, convert(a, DType::Bool), convert(b, DType::Bool));
        },
        py::arg("other"));
  }
}

// scatter's reduce= argument: multiply (true) or add (false).
bool scatter_multiplies(const std::string& reduce) {
  if (reduce == "add") return false;
  if (reduce == "multiply") return true;
  throw std::runtime_error("reduce argument must be either add or multiply.");
}

// scatter(dim, index, src or value, reduce=None).
Tensor scatter_with(const Tensor& a, int64_t dim, const Tensor& index, py::handle src,
                    py::handle value, py::handle reduce) {
  py::handle given = src.is_none() ? value : src;
  if (reduce.is_none()) {
    if (is_tensor(given)) return scatter(a, dim, index, as_tensor(given));
    return scatter(a, dim, index, require_scalar(given));
  }
  const bool multiply = scatter_multiplies(py::str(reduce));
  if (!is_tensor(given)) return scatter_accumulate(a, dim, index, require_scalar(given), multiply);
  if (PyErr_WarnEx(PyExc_UserWarning,
                   "The reduce argument of torch.scatter with Tensor src is deprecated and will be "
                   "removed in a future PyTorch release. Use torch.scatter_reduce instead for more "
                   "reduction options.",
                   1) < 0) {
    throw py::error_already_set();
  }
  return scatter_accumulate(a, dim, index, as_tensor(given), multiply);
}

// gather, scatter and scatter_add; the in-place forms go through
// assign_result_, so they record ScatterBackward0 and friends as torch does.
void init_gather_scatter(py::module_& m, TensorClass& cls) {
  def_both(
      m, cls, "gather",
      [](const Tensor& a, int64_t dim, const Tensor& index, bool sparse_grad) {
        if (sparse_grad) {
          throw NotImplementedError(
              "ember has no sparse tensors: gather(sparse_grad=True) is not supported");
        }
        return gather(a, dim, index);
      },
      py::arg("dim"), py::arg("index"), py::kw_only(), py::arg("sparse_grad") = false);
  auto scatter_fn = [](const Tensor& a, int64_t dim, const Tensor& index, py::handle src,
                       py::handle value, py::handle reduce) {
    return scatter_with(a, dim, index, src, value, reduce);
  };
  def_both(m, cls, "scatter", scatter_fn, py::arg("dim"), py::arg("index"),
           py::arg("src") = py::none(), py::kw_only(), py::arg("value") = py::none(),
           py::arg("reduce") = py::none());
  def_both(
      m, cls, "scatter_add",
      [](const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src) {
        return scatter_add(a, dim, index, src);
      },
      py::arg("dim"), py::arg("index"), py::arg("src"));
  cls.def(
      "scatter_",
      [scatter_fn](py::handle self, int64_t dim, const Tensor& index, py::handle src,
                   py::handle value, py::handle reduce) {
        Tensor t = as_tensor(self);
        TensorVec others;
        if (is_tensor(src)) others.push_back(as_tensor(src));
        assign_result_(t, others, "scatter_", [&](const Tensor& original) {
          return scatter_fn(original, dim, index, src, value, reduce);
        });
        return self;
      },
      py::arg("dim"), py::arg("index"), py::arg("src") = py::none(), py::kw_only(),
      py::arg("value") = py::none(), py::arg("reduce") = py::none());
  cls.def(
      "scatter_add_",
      [](py::handle self, int64_t dim, const Tensor& index, const Tensor& src) {
        Tensor t = as_tensor(self);
        assign_result_(t, {src}, "scatter_add_", [&](const Tensor& original) {
          return scatter_add(original, dim, index, src);
        });
        return self;
      },
      py::arg("dim"), py::arg("index"), py::arg("src"));
}

// torch's warning for var/std over fewer elements than the correction.
void warn_if_no_degrees_of_freedom(const char* op, const Tensor& a, const DimList& dims,
                                   double correction) {
  double count = 1;
  if (dims.empty()) {
    count = static_cast<double>(a->numel());
  } else {
    for (int64_t d : dims) {
      if (a->dim() == 0) break;
      const int64_t w = d < 0 ? d + a->dim() : d;
      if (w >= 0 && w < a->dim()) count *= static_cast<double>(a->shape()[w]);
    }
  }
  if (count - correction > 0) return;
  const std::string message =
      std::string(op) +
      "(): degrees of freedom is <= 0. Correction should be strictly less than the reduction "
      "factor (input numel divided by output numel).";
  if (PyErr_WarnEx(PyExc_UserWarning, message.c_str(), 1) < 0) throw py::error_already_set();
}

Tensor unary_op(UnaryOp op, const Tensor& a) {
  MaybeReleaseGIL gil(a->numel());
  return unary(op, a);
}

// `x.max()`, `x.max(dim)`, `x.max(other)`, shared by max and min. `dim` is
// Ellipsis when not given, since torch refuses an explicit dim=None.
py::object extreme(const Tensor& a, py::handle dim, bool keepdim, bool is_max) {
  if (dim.is(py::ellipsis())) return py::cast(is_max ? max(a) : min(a));
  if (dim.is_none()) {
    throw TypeError(std::string(is_max ? "max" : "min") +
                    "() received an invalid combination of arguments - got (dim=NoneType), but "
                    "expected one of: (), (Tensor other), (int dim, bool keepdim = False)");
  }
  if (is_tensor(dim))
    return py::cast(is_max ? maximum(a, as_tensor(dim)) : minimum(a, as_tensor(dim)));
  auto [values, indices] =
      is_max ? max(a, dim.cast<int64_t>(), keepdim) : min(a, dim.cast<int64_t>(), keepdim);
  // Imported once; the handles are kept for the life of the process.
  static py::handle max_type =
      py::object(py::module_::import("ember._return_types").attr("max")).release();
  static py::handle min_type =
      py::object(py::module_::import("ember._return_types").attr("min")).release();
  return (is_max ? max_type : min_type)(py::cast(values), py::cast(indices));
}

void init_inplace_methods(TensorClass& cls) {
  // A number operand stays a Scalar: as a 0-d float32 tensor it would be
  // rounded before a float64 tensor saw it.
  auto self_returning = [&cls](const char* name, auto with_tensor, auto with_scalar) {
    cls.def(
        name,
        [with_tensor, with_scalar](py::handle self, py::handle other, py::handle alpha_obj) {
          Tensor t = as_tensor(self);
          const double alpha = alpha_arg(alpha_obj, t, other);
          if (is_tensor(other)) {
            with_tensor(t, as_tensor(other), alpha);
          } else {
            with_scalar(t, scaled_by(require_scalar(other), alpha));
          }
          return self;
        },
        py::arg("other"), py::arg("alpha") = py::int_(1));
  };
  self_returning(
      "add_", [](Tensor& t, const Tensor& o, double alpha) { add_(t, o, alpha); },
      [](Tensor& t, const Scalar& s) { add_(t, s); });
  self_returning(
      "sub_", [](Tensor& t, const Tensor& o, double alpha) { sub_(t, o, alpha); },
      [](Tensor& t, const Scalar& s) { sub_(t, s); });
  self_returning(
      "mul_", [](Tensor& t, const Tensor& o, double) { mul_(t, o); },
      [](Tensor& t, const Scalar& s) { mul_(t, s); });
  self_returning(
      "div_", [](Tensor& t, const Tensor& o, double) { div_(t, o); },
      [](Tensor& t, const Scalar& s) { div_(t, s); });
  cls.def("zero_",
          [](py::handle self) {
            Tensor t = as_tensor(self);
            zero_(t);
            return self;
          })
      .def("fill_",
           [](py::handle self, py::handle value) {
             Tensor t = as_tensor(self);
             if (is_tensor(value)) {
               const Tensor& v = as_tensor(value);
               if (v->dim() != 0) {
                 throw std::runtime_error(
                     "fill_ only supports 0-dimension value tensor but got tensor with " +
                     std::to_string(v->dim()) + " dimensions.");
               }
               if (any_requires_grad(v)) {  // the fill carries the value's gradient
                 copy_(t, v);
               } else {
                 fill_(t, item_as_scalar(v));
               }
             } else {
               fill_(t, require_scalar(value));
             }
             return self;
           })
      .def(
          "copy_",
          [](py::handle self, py::handle src) {
            Tensor t = as_tensor(self);
            copy_(t, tensor_from_operand(src));
            return self;
          },
          py::arg("src"));
}

// A tensor operand, or torch's TypeError naming the argument (its position
// counts from 1 among the call's arguments, `self` excluded for a method).
const Tensor& tensor_operand(py::handle h, const char* fn, const char* arg, int position) {
  if (!is_tensor(h)) {
    throw TypeError(std::string(fn) + "(): argument '" + arg + "' (position " +
                    std::to_string(position) + ") must be Tensor, not " +
                    Py_TYPE(h.ptr())->tp_name);
  }
  return as_tensor(h);
}

// A tensor-tensor op bound as ember.<name>(input, other) and Tensor.<name>(other).
void def_tensor_pair(py::module_& m, TensorClass& cls, const char* name,
                     Tensor (*fn)(const Tensor&, const Tensor&)) {
  m.def(
      name,
      [name, fn](py::handle a, py::handle b) {
        return fn(tensor_operand(a, name, "input", 1), tensor_operand(b, name, "other", 2));
      },
      py::arg("input"), py::arg("other"));
  cls.def(
      name,
      [name, fn](const Tensor& a, py::handle b) {
        return fn(a, tensor_operand(b, name, "other", 1));
      },
      py::arg("other"));
}

template <typename Dims>
Dims sequence_as(const DimList& d) {
  return Dims(d.begin(), d.end());
}

// as_strided's size and stride, read with torch's argument positions
// (`first` is size's: 2 for ember.as_strided, 1 for the methods).
std::pair<Shape, Strides> strided_geometry(py::handle size, py::handle stride, const char* op,
                                           int first) {
  return {sequence_as<Shape>(int_sequence(size, op, "size", first)),
          sequence_as<Strides>(int_sequence(stride, op, "stride", first + 1))};
}

// The in-place view ops (Note [In-place view ops]): they return self itself.
void init_inplace_views(py::module_& m, TensorClass& cls) {
  cls.def(
      "squeeze_",
      [](py::handle self, py::object dim) {
        Tensor t = as_tensor(self);
        if (dim.is_none()) {
          squeeze_(t);
        } else if (PyLong_Check(dim.ptr())) {
          squeeze_(t, dim.cast<int64_t>());
        } else {
          squeeze_(t, dims_from(dim));
        }
        return self;
      },
      py::arg("dim") = py::none());
  cls.def(
      "unsqueeze_",
      [](py::handle self, int64_t dim) {
        Tensor t = as_tensor(self);
        unsqueeze_(t, dim);
        return self;
      },
      py::arg("dim"));
  const auto swap = [](py::handle self, int64_t d0, int64_t d1) {
    Tensor t = as_tensor(self);
    transpose_(t, d0, d1);
    return self;
  };
  cls.def("transpose_", swap, py::arg("dim0"), py::arg("dim1"));
  cls.def("swapdims_", swap, py::arg("dim0"), py::arg("dim1"));
  cls.def("swapaxes_", swap, py::arg("axis0"), py::arg("axis1"));
  cls.def("t_", [](py::handle self) {
    Tensor t = as_tensor(self);
    t_(t);
    return self;
  });
  m.def(
      "as_strided",
      [](const Tensor& a, py::handle size, py::handle stride, std::optional<int64_t> offset) {
        auto [shape, strides] = strided_geometry(size, stride, "as_strided", 2);
        return as_strided(a, shape, strides, offset);
      },
      py::arg("input"), py::arg("size"), py::arg("stride"), py::arg("storage_offset") = py::none());
  cls.def(
      "as_strided",
      [](const Tensor& a, py::handle size, py::handle stride, std::optional<int64_t> offset) {
        auto [shape, strides] = strided_geometry(size, stride, "as_strided", 1);
        return as_strided(a, shape, strides, offset);
      },
      py::arg("size"), py::arg("stride"), py::arg("storage_offset") = py::none());
  for (int first : {1, 2}) {  // Tensor.as_strided_, then ember.as_strided_ (input first)
    auto f = [first](py::handle self, py::handle size, py::handle stride,
                     std::optional<int64_t> offset) {
      auto [shape, strides] = strided_geometry(size, stride, "as_strided_", first);
      Tensor t = as_tensor(self);
      as_strided_(t, shape, strides, offset);
      return self;
    };
    if (first == 1) {
      cls.def("as_strided_", f, py::arg("size"), py::arg("stride"),
              py::arg("storage_offset") = py::none());
    } else {
      m.def("as_strided_", f, py::arg("input"), py::arg("size"), py::arg("stride"),
            py::arg("storage_offset") = py::none());
    }
  }
}

// torch.narrow's checks (narrow and narrow_copy), then the slice.
Tensor narrowed(const Tensor& a, int64_t dim, int64_t start, int64_t length) {
  if (a->dim() == 0) throw std::runtime_error("narrow() cannot be applied to a 0-dim tensor.");
  const int64_t size = a->shape()[wrap_dim(dim, a->dim())];
  if (start < -size || start > size) {
    throw IndexError("start out of range (expected to be in range of [" + std::to_string(-size) +
                     ", " + std::to_string(size) + "], but got " + std::to_string(start) + ")");
  }
  if (start < 0) start += size;
  if (length < 0) throw std::runtime_error("narrow(): length must be non-negative.");
  if (start + length > size) {
    throw std::runtime_error("start (" + std::to_string(start) + ") + length (" +
                             std::to_string(length) + ") exceeds dimension size (" +
                             std::to_string(size) + ").");
  }
  return slice(a, dim, start, start + length, 1);
}

py::tuple as_tuple(const TensorVec& v) { return py::tuple(py::cast(v)); }

// Ops recorded under names of their own over a related op's node
// (RenamedNode): vdot, the unsafe splits, narrow_copy and the view copies.
void init_renamed(py::module_& m, TensorClass& cls) {
  using R = RenamedNode;
  def_both(
      m, cls, "vdot", [](const Tensor& a, const Tensor& b) { return vdot(a, b); },
      py::arg("other"));
  def_both(
      m, cls, "unsafe_split",
      [](const Tensor& a, int64_t size, int64_t dim) {
        return as_tuple(unsafe_split(a, size, dim));
      },
      py::arg("split_size"), py::arg("dim") = 0);
  def_both(
      m, cls, "unsafe_split_with_sizes",
      [](const Tensor& a, std::vector<int64_t> sizes, int64_t dim) {
        return as_tuple(unsafe_split_with_sizes(a, sizes, dim));
      },
      py::arg("split_sizes"), py::arg("dim") = 0);
  def_both(
      m, cls, "unsafe_chunk",
      [](const Tensor& a, int64_t chunks, int64_t dim) {
        return as_tuple(unsafe_chunk(a, chunks, dim));
      },
      py::arg("chunks"), py::arg("dim") = 0);
  def_both(
      m, cls, "narrow_copy",
      [](const Tensor& a, int64_t dim, int64_t start, int64_t length) {
        return copy_of_view(R::NarrowCopy, narrowed(a, dim, start, length));
      },
      py::arg("dim"), py::arg("start"), py::arg("length"));
  m.def(
      "view_copy", [](const Tensor& a, py::handle size) { return view_copy(a, dims_from(size)); },
      py::arg("input"), py::arg("size"));
  m.def("t_copy", [](const Tensor& a) { return copy_of_view(R::TCopy, t(a)); }, py::arg("input"));
  m.def(
      "transpose_copy",
      [](const Tensor& a, int64_t d0, int64_t d1) {
        return copy_of_view(R::TransposeCopy, transpose(a, d0, d1));
      },
      py::arg("input"), py::arg("dim0"), py::arg("dim1"));
  m.def(
      "squeeze_copy",
      [](const Tensor& a, py::object dim) {
        if (dim.is_none()) return copy_of_view(R::SqueezeCopy, squeeze(a));
        if (PyLong_Check(dim.ptr()))
          return copy_of_view(R::SqueezeDimCopy, squeeze(a, dim.cast<int64_t>()));
        return copy_of_view(R::SqueezeDimsCopy, squeeze(a, dims_from(dim)));
      },
      py::arg("input"), py::arg("dim") = py::none());
  m.def(
      "unsqueeze_copy",
      [](const Tensor& a, int64_t dim) {
        return copy_of_view(R::UnsqueezeCopy, unsqueeze(a, dim));
      },
      py::arg("input"), py::arg("dim"));
  m.def(
      "permute_copy",
      [](const Tensor& a, py::handle dims) {
        return copy_of_view(R::PermuteCopy, permute(a, dims_from(dims)));
      },
      py::arg("input"), py::arg("dims"));
  m.def(
      "expand_copy",
      [](const Tensor& a, py::handle size, bool) {
        return copy_of_view(R::ExpandCopy, expand(a, dims_from(size)));
      },
      py::arg("input"), py::arg("size"), py::kw_only(), py::arg("implicit") = false);
  m.def(
      "diagonal_copy",
      [](const Tensor& a, int64_t offset, int64_t d1, int64_t d2) {
        return copy_of_view(R::DiagonalCopy, diagonal(a, offset, d1, d2));
      },
      py::arg("input"), py::arg("offset") = 0, py::arg("dim1") = 0, py::arg("dim2") = 1);
  m.def(
      "select_copy",
      [](const Tensor& a, int64_t dim, int64_t index) {
        return copy_of_view(R::SelectCopy, select(a, dim, index));
      },
      py::arg("input"), py::arg("dim"), py::arg("index"));
  m.def(
      "slice_copy",
      [](const Tensor& a, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> end,
         int64_t step) { return copy_of_view(R::SliceCopy, slice(a, dim, start, end, step)); },
      py::arg("input"), py::arg("dim") = 0, py::arg("start") = py::none(),
      py::arg("end") = py::none(), py::arg("step") = 1);
  m.def(
      "alias_copy", [](const Tensor& a) { return copy_of_view(R::AliasCopy, alias(a)); },
      py::arg("input"));
  m.def(
      "as_strided_copy",
      [](const Tensor& a, py::handle size, py::handle stride, std::optional<int64_t> offset) {
        auto [shape, strides] = strided_geometry(size, stride, "as_strided_copy", 2);
        return copy_of_view(R::AsStridedCopy, as_strided(a, shape, strides, offset));
      },
      py::arg("input"), py::arg("size"), py::arg("stride"), py::arg("storage_offset") = py::none());
  m.def(
      "split_copy",
      [](const Tensor& a, int64_t size, int64_t dim) {
        return as_tuple(copies_of_views(R::SplitCopy, split(a, size, dim)));
      },
      py::arg("input"), py::arg("split_size"), py::arg("dim") = 0);
  m.def(
      "split_with_sizes_copy",
      [](const Tensor& a, std::vector<int64_t> sizes, int64_t dim) {
        return as_tuple(copies_of_views(R::SplitWithSizesCopy, split_with_sizes(a, sizes, dim)));
      },
      py::arg("input"), py::arg("split_sizes"), py::arg("dim") = 0);
  m.def(
      "unbind_copy",
      [](const Tensor& a, int64_t dim) {
        return as_tuple(copies_of_views(R::UnbindCopy, unbind(a, dim)));
      },
      py::arg("input"), py::arg("dim") = 0);
}

}  // namespace

void init_tensor_methods(py::module_& m, TensorClass& cls) {
  init_operators(cls);
  init_inplace_methods(cls);
  init_inplace_views(m, cls);
  init_renamed(m, cls);

  // Arithmetic with explicit names.
  def_both(
      m, cls, "add",
      [](py::handle a, py::handle b, py::handle alpha_obj) {
        const Tensor x = tensor_from_operand(a);  // ember.add(2, t) works, as in torch
        const double alpha = alpha_arg(alpha_obj, x, b);
        if (is_tensor(b)) return add(x, as_tensor(b), alpha);
        const Scalar sb = require_scalar(b);
        return add(x, scaled_by(sb, alpha));
      },
      py::arg("other"), py::kw_only(), py::arg("alpha") = py::int_(1));
  def_both(
      m, cls, "sub",
      [](py::handle a, py::handle b, py::handle alpha_obj) {
        const Tensor x = tensor_from_operand(a);  // ember.sub(2, t) works, as in torch
        const double alpha = alpha_arg(alpha_obj, x, b);
        if (is_tensor(b)) return sub(x, as_tensor(b), alpha);
        const Scalar sb = require_scalar(b);
        return sub(x, scaled_by(sb, alpha));
      },
      py::arg("other"), py::kw_only(), py::arg("alpha") = py::int_(1));
  def_both(
      m, cls, "mul",
      [](py::handle a, py::handle b) {
        return binary(
            a, b, [](const Tensor& x, const Tensor& y) { return mul(x, y); },
            [](const Tensor& x, const Scalar& s) { return mul(x, s); });
      },
      py::arg("other"));
  def_both(
      m, cls, "div",
      [](py::handle a, py::handle b, py::object rounding_mode) {
        if (rounding_mode.is_none()) {
          return binary(
              a, b, [](const Tensor& x, const Tensor& y) { return div(x, y); },
              [](const Tensor& x, const Scalar& s) { return div(x, s); });
        }
        const RoundingMode mode = rounding_mode_from(rounding_mode);
        return binary(
            a, b, [mode](const Tensor& x, const Tensor& y) { return rounded_div(x, y, mode); },
            [mode](const Tensor& x, const Scalar& s) { return rounded_div(x, s, mode); });
      },
      py::arg("other"), py::kw_only(), py::arg("rounding_mode") = py::none());
  def_both(
      m, cls, "pow",
      [](py::handle a, py::handle b) -> py::object {
        if (!is_tensor(a) && is_tensor(b)) {  // pow(2, x): PowBackward2, as `2 ** x`
          return py::cast(rpow(as_tensor(b), require_scalar(a)));
        }
        return binary(
            a, b, [](const Tensor& x, const Tensor& y) { return pow(x, y); },
            [](const Tensor& x, const Scalar& s) { return pow(x, s); });
      },
      py::arg("exponent"));
  def_both(
      m, cls, "floor_divide",
      [](py::handle a, py::handle b) {
        return binary(
            a, b, [](const Tensor& x, const Tensor& y) { return floor_divide(x, y); },
            [](const Tensor& x, const Scalar& s) { return floor_divide(x, s); });
      },
      py::arg("other"));
  def_both(
      m, cls, "remainder",
      [](py::handle a, py::handle b) {
        return binary(
            a, b, [](const Tensor& x, const Tensor& y) { return remainder(x, y); },
            [](const Tensor& x, const Scalar& s) { return remainder(x, s); });
      },
      py::arg("other"));
  for (const char* name : {"atan2", "arctan2"}) def_tensor_pair(m, cls, name, atan2);
  m.def("_xlogy", [](const Tensor& a, const Tensor& b) { return xlogy(a, b); });
  def_tensor_pair(m, cls, "hypot", hypot);
  def_tensor_pair(m, cls, "logaddexp", logaddexp);
  def_tensor_pair(m, cls, "logaddexp2", logaddexp2);
  def_tensor_pair(m, cls, "fmax", fmax);
  def_tensor_pair(m, cls, "fmin", fmin);
  def_tensor_pair(m, cls, "ldexp", ldexp);
  m.def(
      "polygamma", [](int64_t n, const Tensor& x) { return polygamma(n, x); }, py::arg("n"),
      py::arg("input"));
  cls.def("polygamma", [](const Tensor& x, int64_t n) { return polygamma(n, x); }, py::arg("n"));
  for (const bool is_max : {true, false}) {
    def_both(
        m, cls, is_max ? "amax" : "amin",
        [is_max](const Tensor& a, py::handle dim, bool keepdim) {
          const DimList dims = dims_from(dim);
          MaybeReleaseGIL gil(a->numel());
          return amax_amin(a, dims, keepdim, is_max);
        },
        py::arg("dim") = py::tuple(), py::arg("keepdim") = false);
  }
  init_bitwise(m, cls);
  def_both(
      m, cls, "maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); },
      py::arg("other"));
  def_both(
      m, cls, "minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); },
      py::arg("other"));
  auto clamp_fn = [](const Tensor& a, py::handle lo, py::handle hi) {
    // Any tensor bound takes the tensor overload (ClampBackward0, as torch);
    // numbers take the scalar one (ClampBackward1).
    if (is_tensor(lo) || is_tensor(hi)) {
      auto bound = [](py::handle h) { return h.is_none() ? Tensor() : tensor_from_operand(h); };
      return clamp(a, bound(lo), bound(hi));
    }
    auto bound = [](py::handle h) -> std::optional<Scalar> {
      if (h.is_none()) return std::nullopt;
      return require_scalar(h);
    };
    DType promoted = a->dtype();
    for (py::handle h : {lo, hi}) {
      if (!h.is_none()) promoted = promote(promoted, result_type(a, require_scalar(h)));
    }
    if (a->dtype() == DType::Bool && promoted == DType::Bool) {
      const char* kernel = lo.is_none()   ? "clamp_max_scalar_cpu"
                           : hi.is_none() ? "clamp_min_scalar_cpu"
                                          : "clamp_scalar_cpu";
      throw NotImplementedError(std::string("\"") + kernel + "\" not implemented for 'Bool'");
    }
    return clamp(promoted == a->dtype() ? a : to_dtype(a, promoted), bound(lo), bound(hi));
  };
  def_both(m, cls, "clamp", clamp_fn, py::arg("min") = py::none(), py::arg("max") = py::none());
  def_both(m, cls, "clip", clamp_fn, py::arg("min") = py::none(), py::arg("max") = py::none());

  const std::pair<const char*, BinaryOp> comparisons[] = {
      {"eq", BinaryOp::Eq}, {"ne", BinaryOp::Ne}, {"lt", BinaryOp::Lt},
      {"le", BinaryOp::Le}, {"gt", BinaryOp::Gt}, {"ge", BinaryOp::Ge}};
  for (const auto& [name, op] : comparisons) {
    const BinaryOp o = op;
    def_both(
        m, cls, name,
        [o](py::handle a, py::handle b) {
          return binary(
              a, b, [o](const Tensor& x, const Tensor& y) { return compare(o, x, y); },
              [o](const Tensor& x, const Scalar& s) { return compare(o, x, s); });
        },
        py::arg("other"));
  }

  // Unary math: every entry of the op table (Note [Op table]) under its name,
  // and torch's other names for some of them. silu is only nn.functional's.
  auto bind_unary = [&](const char* name, UnaryOp op) {
    def_both(m, cls, name, [op](const Tensor& a) { return unary_op(op, a); });
    cls.def((std::string(name) + "_").c_str(), [op](py::handle self) {
      Tensor t = as_tensor(self);
      MaybeReleaseGIL gil(t->numel());
      unary_(op, t);
      return self;
    });
  };
  // torch.special's functions have no Tensor method: _special_<name> on the module only.
  const std::string special_prefix = "special_";
  for (size_t i = 0; i < kUnaryOpCount; ++i) {
    const UnaryEntry& entry = unary_entry(static_cast<UnaryOp>(i));
    const UnaryOp op = entry.op;
    if (std::string(entry.name).rfind(special_prefix, 0) == 0) {
      m.def(("_" + std::string(entry.name)).c_str(),
            [op](const Tensor& a) { return unary_op(op, a); });
    } else if (op != UnaryOp::Silu) {
      bind_unary(entry.name, op);
    }
  }
  const std::pair<const char*, UnaryOp> aliases[] = {
      {"negative", UnaryOp::Neg}, {"arcsin", UnaryOp::Asin},   {"arccos", UnaryOp::Acos},
      {"arctan", UnaryOp::Atan},  {"arcsinh", UnaryOp::Asinh}, {"arccosh", UnaryOp::Acosh},
      {"arctanh", UnaryOp::Atanh}};
  for (const auto& [name, op] : aliases) bind_unary(name, op);
  m.def("_silu", [](const Tensor& a) { return unary_op(UnaryOp::Silu, a); });
  def_both(m, cls, "isnan", [](const Tensor& a) { return compare(BinaryOp::Ne, a, a); });

  // Reductions.
  def_both(
      m, cls, "sum",
      [](const Tensor& a, py::object dim, bool keepdim, py::object dtype) {
        const std::optional<DType> t = optional_dtype(dtype);
        if (dim.is_none()) {
          MaybeReleaseGIL gil(a->numel());
          return sum(a, t);
        }
        const DimList dims = dims_from(dim);
        MaybeReleaseGIL gil(a->numel());
        return sum(a, dims, keepdim, t);
      },
      py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(),
      py::arg("dtype") = py::none());
  def_both(
      m, cls, "nansum",
      [](const Tensor& a, py::object dim, bool keepdim, py::object dtype) {
        const std::optional<DType> t = optional_dtype(dtype);
        const DimList dims = dim.is_none() ? DimList{} : dims_from(dim);
        MaybeReleaseGIL gil(a->numel());
        return nansum(a, dims, keepdim, t);
      },
      py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(),
      py::arg("dtype") = py::none());
  def_both(
      m, cls, "prod",
      [](const Tensor& a, py::object dim, bool keepdim, py::object dtype) {
        const std::optional<DType> t = optional_dtype(dtype);
        MaybeReleaseGIL gil(a->numel());
        return dim.is_none() ? prod(a, t) : prod(a, dim.cast<int64_t>(), keepdim, t);
      },
      py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(),
      py::arg("dtype") = py::none());
  def_both(
      m, cls, "cumsum",
      [](const Tensor& a, int64_t dim, py::object dtype) {
        MaybeReleaseGIL gil(a->numel());
        return cumsum(a, dim, optional_dtype(dtype));
      },
      py::arg("dim"), py::kw_only(), py::arg("dtype") = py::none());
  def_both(
      m, cls, "cumprod",
      [](const Tensor& a, int64_t dim, py::object dtype) {
        MaybeReleaseGIL gil(a->numel());
        return cumprod(a, dim, optional_dtype(dtype));
      },
      py::arg("dim"), py::kw_only(), py::arg("dtype") = py::none());
  def_both(
      m, cls, "mean",
      [](const Tensor& a, py::object dim, bool keepdim, py::object dtype) {
        const Tensor x = dtype.is_none() ? a : to_dtype(a, dtype_from(dtype));
        if (dim.is_none()) {
          MaybeReleaseGIL gil(x->numel());
          return mean(x);
        }
        const DimList dims = dims_from(dim);
        MaybeReleaseGIL gil(x->numel());
        return mean(x, dims, keepdim);
      },
      py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(),
      py::arg("dtype") = py::none());
  auto def_spread = [&](const char* name,
                        Tensor (*fn)(const Tensor&, const DimList&, double, bool)) {
    def_both(
        m, cls, name,
        [name, fn](const Tensor& a, py::object dim, py::object unbiased, bool keepdim,
                   py::object correction) {
          DimList dims;
          double c;
          if (PyBool_Check(dim.ptr())) {  // var(True): the legacy `unbiased` position
            c = dim.cast<bool>() ? 1.0 : 0.0;
          } else {
            dims = optional_dims(dim);
            c = correction_from(unbiased, correction);
          }
          warn_if_no_degrees_of_freedom(name, a, dims, c);
          return fn(a, dims, c, keepdim);
        },
        py::arg("dim") = py::none(), py::arg("unbiased") = py::none(), py::arg("keepdim") = false,
        py::kw_only(), py::arg("correction") = py::none());
  };
  def_spread("var",
             [](const Tensor& a, const DimList& d, double c, bool k) { return var(a, d, c, k); });
  def_spread("std",
             [](const Tensor& a, const DimList& d, double c, bool k) { return std(a, d, c, k); });
  def_both(
      m, cls, "norm",
      [](const Tensor& a, py::object p, py::object dim, bool keepdim) {
        double pv = 2.0;
        if (!p.is_none()) {
          if (py::isinstance<py::str>(p)) {
            const std::string s = p.cast<std::string>();
            if (s != "fro")
              throw ValueError("ember.norm supports p='fro' or a number, got '" + s + "'");
          } else {
            pv = p.cast<double>();
          }
        }
        return norm(a, pv, optional_dims(dim), keepdim);
      },
      py::arg("p") = "fro", py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(
      m, cls, "max",
      [](const Tensor& a, py::object dim, bool keepdim, py::object other) {
        return extreme(a, other.is_none() ? dim : other, keepdim, true);
      },
      py::arg("dim") = py::ellipsis(), py::arg("keepdim") = false, py::kw_only(),
      py::arg("other") = py::none());
  def_both(
      m, cls, "min",
      [](const Tensor& a, py::object dim, bool keepdim, py::object other) {
        return extreme(a, other.is_none() ? dim : other, keepdim, false);
      },
      py::arg("dim") = py::ellipsis(), py::arg("keepdim") = false, py::kw_only(),
      py::arg("other") = py::none());
  def_both(
      m, cls, "argmax",
      [](const Tensor& a, std::optional<int64_t> dim, bool keepdim) {
        return argmax(a, dim, keepdim);
      },
      py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(
      m, cls, "argmin",
      [](const Tensor& a, std::optional<int64_t> dim, bool keepdim) {
        return argmin(a, dim, keepdim);
      },
      py::arg("dim") = py::none(), py::arg("keepdim") = false);

  // Products.
  def_both(
      m, cls, "matmul",
      [](const Tensor& a, const Tensor& b) {
        MaybeReleaseGIL gil(a->numel() * b->numel());
        return matmul(a, b);
      },
      py::arg("other"));
  def_both(
      m, cls, "mm",
      [](const Tensor& a, const Tensor& b) {
        MaybeReleaseGIL gil(a->numel() * b->numel());
        return mm(a, b);
      },
      py::arg("mat2"));
  def_both(m, cls, "mv", [](const Tensor& a, const Tensor& b) { return mv(a, b); }, py::arg("vec"));
  init_gather_scatter(m, cls);
  def_both(
      m, cls, "index_select",
      [](const Tensor& a, int64_t dim, const Tensor& index) { return index_select(a, dim, index); },
      py::arg("dim"), py::arg("index"));
  def_both(
      m, cls, "masked_select",
      [](const Tensor& a, const Tensor& mask) { return masked_select(a, mask); }, py::arg("mask"));
  def_both(
      m, cls, "index_add",
      [](const Tensor& a, int64_t dim, const Tensor& index, const Tensor& source,
         py::handle alpha) { return index_add(a, dim, index, source, require_scalar(alpha)); },
      py::arg("dim"), py::arg("index"), py::arg("source"), py::kw_only(), py::arg("alpha") = 1);
  cls.def(
      "index_add_",
      [](Tensor& self, int64_t dim, const Tensor& index, const Tensor& source, py::handle alpha) {
        return index_add_(self, dim, index, source, require_scalar(alpha));
      },
      py::arg("dim"), py::arg("index"), py::arg("source"), py::kw_only(), py::arg("alpha") = 1);
  def_both(
      m, cls, "select_scatter",
      [](const Tensor& a, const Tensor& src, int64_t dim, int64_t index) {
        return select_scatter(a, src, dim, index);
      },
      py::arg("src"), py::arg("dim"), py::arg("index"));
  def_both(
      m, cls, "slice_scatter",
      [](const Tensor& a, const Tensor& src, int64_t dim, std::optional<int64_t> start,
         std::optional<int64_t> end,
         int64_t step) { return slice_scatter(a, src, dim, start, end, step); },
      py::arg("src"), py::arg("dim") = 0, py::arg("start") = py::none(),
      py::arg("end") = py::none(), py::arg("step") = 1);
  def_both(
      m, cls, "diagonal_scatter",
      [](const Tensor& a, const Tensor& src, int64_t offset, int64_t dim1, int64_t dim2) {
        return diagonal_scatter(a, src, offset, dim1, dim2);
      },
      py::arg("src"), py::arg("offset") = 0, py::arg("dim1") = 0, py::arg("dim2") = 1);
  def_both(
      m, cls, "masked_scatter",
      [](const Tensor& a, const Tensor& mask, const Tensor& source) {
        return masked_scatter(a, mask, source);
      },
      py::arg("mask"), py::arg("source"));
  def_both(
      m, cls, "dist",
      [](const Tensor& a, const Tensor& other, py::handle p) {
        return dist(a, other, require_scalar(p));
      },
      py::arg("other"), py::arg("p") = 2);
  // (var or std, mean); the Python wrappers parse torch's dim/unbiased/correction forms.
  m.def(
      "_var_mean",
      [](const Tensor& a, py::handle dims, double correction, bool keepdim, bool take_sqrt) {
        return var_mean(a, dims_from(dims), correction, keepdim, take_sqrt);
      },
      py::arg("input"), py::arg("dims"), py::arg("correction"), py::arg("keepdim"),
      py::arg("take_sqrt"));
  def_both(
      m, cls, "dot", [](const Tensor& a, const Tensor& b) { return dot(a, b); }, py::arg("other"));
  def_both(
      m, cls, "bmm",
      [](const Tensor& a, const Tensor& b) {
        MaybeReleaseGIL gil(a->numel() * b->numel());
        return bmm(a, b);
      },
      py::arg("mat2"));
  def_both(
      m, cls, "outer", [](const Tensor& a, const Tensor& b) { return outer(a, b); },
      py::arg("vec2"));

  // Shape and views.
  cls.def("resize_", [](py::handle self, py::args sizes, py::kwargs kwargs) {
    for (auto item : kwargs) {
      if (py::str(item.first).cast<std::string>() != "memory_format") {
        throw TypeError("resize_() got an unexpected keyword argument '" +
                        py::str(item.first).cast<std::string>() + "'");
      }
    }
    Tensor t = as_tensor(self);
    resize_(t, shape_from_args(sizes));
    return self;
  });
  cls.def("view", [](const Tensor& a, py::args shape) {
    if (shape.size() == 1 && !PyLong_Check(shape[0].ptr()) && !PySequence_Check(shape[0].ptr())) {
      return view_as_dtype(a, dtype_from(shape[0]));
    }
    return view(a, dims_from_args(shape));
  });
  cls.def("reshape",
          [](const Tensor& a, py::args shape) { return reshape(a, dims_from_args(shape)); });
  m.def(
      "reshape", [](const Tensor& a, py::handle shape) { return reshape(a, dims_from(shape)); },
      py::arg("input"), py::arg("shape"));
  cls.def("view_as", [](const Tensor& a, const Tensor& o) {
    return view(a, DimList(o->shape().begin(), o->shape().end()));
  });
  cls.def("reshape_as", [](const Tensor& a, const Tensor& o) {
    return reshape(a, DimList(o->shape().begin(), o->shape().end()));
  });
  cls.def("expand",
          [](const Tensor& a, py::args sizes) { return expand(a, dims_from_args(sizes)); });
  cls.def("expand_as", [](const Tensor& a, const Tensor& o) { return expand(a, o->shape()); });
  def_both(
      m, cls, "diag_embed",
      [](const Tensor& a, int64_t offset, int64_t dim1, int64_t dim2) {
        return diag_embed(a, offset, dim1, dim2);
      },
      py::arg("offset") = 0, py::arg("dim1") = -2, py::arg("dim2") = -1);
  m.def("block_diag", [](py::args tensors) {
    TensorVec ts;
    for (py::handle t : tensors) ts.push_back(as_tensor(t));
    return block_diag(ts);
  });
  // The view of a fresh result that torch's composite ops (kron) end with.
  m.def("_unsafe_view", [](const Tensor& a, py::handle shape) {
    const DimList dims = dims_from(shape);
    return unsafe_view(a, Shape(dims.begin(), dims.end()));
  });
  // (min, max); the Python wrapper names them as torch's return type.
  m.def(
      "_aminmax",
      [](const Tensor& a, std::optional<int64_t> dim, bool keepdim) {
        return aminmax(a, dim, keepdim);
      },
      py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false);
  // Tensor.repeat(*sizes) or (sizes); torch has no torch.repeat.
  cls.def("repeat",
          [](const Tensor& a, py::args sizes) { return repeat(a, dims_from_args(sizes)); });
  m.def(
      "tile",
      [](const Tensor& a, py::handle dims) {
        return tile(a, int_sequence(dims, "tile", "dims", 2));
      },
      py::arg("input"), py::arg("dims"));
  cls.def("tile", [](const Tensor& a, py::args dims) { return tile(a, dims_from_args(dims)); });
  cls.def("permute", [](const Tensor& a, py::args dims) {
    if (dims.size() == 0)
      throw TypeError("permute() missing 1 required positional arguments: \"dims\"");
    return permute(a, dims_from_args(dims));
  });
  m.def(
      "permute", [](const Tensor& a, py::handle dims) { return permute(a, dims_from(dims)); },
      py::arg("input"), py::arg("dims"));
  def_both(
      m, cls, "squeeze",
      [](const Tensor& a, py::object dim) {
        if (dim.is_none()) return squeeze(a);
        if (PyLong_Check(dim.ptr())) return squeeze(a, dim.cast<int64_t>());
        return squeeze(a, dims_from(dim));
      },
      py::arg("dim") = py::none());
  def_both(
      m, cls, "unsqueeze", [](const Tensor& a, int64_t dim) { return unsqueeze(a, dim); },
      py::arg("dim"));
  def_both(
      m, cls, "transpose",
      [](const Tensor& a, int64_t d0, int64_t d1) { return transpose(a, d0, d1); }, py::arg("dim0"),
      py::arg("dim1"));
  def_both(
      m, cls, "swapaxes",
      [](const Tensor& a, int64_t d0, int64_t d1) { return transpose(a, d0, d1); },
      py::arg("axis0"), py::arg("axis1"));
  def_both(m, cls, "t", [](const Tensor& a) { return t(a); });
  def_both(
      m, cls, "flatten", [](const Tensor& a, int64_t s, int64_t e) { return flatten(a, s, e); },
      py::arg("start_dim") = 0, py::arg("end_dim") = -1);
  def_both(m, cls, "narrow", narrowed, py::arg("dim"), py::arg("start"), py::arg("length"));
  def_both(
      m, cls, "select",
      [](const Tensor& a, int64_t dim, int64_t index) { return select(a, dim, index); },
      py::arg("dim"), py::arg("index"));
  def_both(
      m, cls, "diagonal",
      [](const Tensor& a, int64_t offset, int64_t dim1, int64_t dim2) {
        return diagonal(a, offset, dim1, dim2);
      },
      py::arg("offset") = 0, py::arg("dim1") = 0, py::arg("dim2") = 1);
  m.def(
      "result_type",
      [](py::handle a, py::handle b) {
        if (is_tensor(a)) {
          const Tensor& t = as_tensor(a);
          return dtype_object(is_tensor(b) ? result_type(t, as_tensor(b))
                                           : result_type(t, require_scalar(b)));
        }
        if (is_tensor(b)) return dtype_object(result_type(as_tensor(b), require_scalar(a)));
        const Scalar x = require_scalar(a), y = require_scalar(b);
        return dtype_object(result_type(scalar_tensor(x, x.kind), y));
      },
      py::arg("tensor1"), py::arg("tensor2"));
  // The tuple-returning Python wrappers (split, chunk, unbind) live in _composite.py.
  m.def("_split", [](const Tensor& a, int64_t size, int64_t dim) { return split(a, size, dim); });
  m.def("_split_with_sizes", [](const Tensor& a, const std::vector<int64_t>& sizes, int64_t dim) {
    return split_with_sizes(a, sizes, dim);
  });
  m.def("_chunk",
        [](const Tensor& a, int64_t chunks, int64_t dim) { return chunk(a, chunks, dim); });
  m.def("_unbind", [](const Tensor& a, int64_t dim) { return unbind(a, dim); });
  cls.def("contiguous", [](const Tensor& a) { return contiguous(a); });
  def_both(m, cls, "detach", [](const Tensor& a) { return detach(a); });
  def_both(m, cls, "clone", [](const Tensor& a) { return clone(a); });
  def_both(m, cls, "numel", [](const Tensor& a) { return a->numel(); });

  // dtype conversions.
  cls.def("float", [](const Tensor& a) { return to_dtype(a, DType::Float32); })
      .def("double", [](const Tensor& a) { return to_dtype(a, DType::Float64); })
      .def("long", [](const Tensor& a) { return to_dtype(a, DType::Int64); })
      .def("int", [](const Tensor& a) { return to_dtype(a, DType::Int32); })
      .def("short", [](const Tensor& a) { return to_dtype(a, DType::Int16); })
      .def("char", [](const Tensor& a) { return to_dtype(a, DType::Int8); })
      .def("byte", [](const Tensor& a) { return to_dtype(a, DType::UInt8); })
      .def("half", [](const Tensor& a) { return to_dtype(a, DType::Float16); })
      .def("bfloat16", [](const Tensor& a) { return to_dtype(a, DType::BFloat16); })
      .def("bool", [](const Tensor& a) { return to_dtype(a, DType::Bool); })
      .def("type_as", [](const Tensor& a, const Tensor& o) { return to_dtype(a, o->dtype()); })
      .def("cpu", [](py::handle self) { return self; })
      .def("to", [](py::handle self, py::args args, py::kwargs kwargs) -> py::object {
        // Accepts to(dtype), to("cpu"), to(device, dtype), to(tensor), dtype=...
        std::optional<DType> dtype;
        for (py::handle a : args) {
          if (is_tensor(a)) {
            dtype = as_tensor(a)->dtype();
          } else if (py::isinstance<PyDType>(a) || PyType_Check(a.ptr())) {
            dtype = dtype_from(a);              // an ember dtype, or Python's float, int or bool
          } else if (!PyBool_Check(a.ptr())) {  // non_blocking may come positionally
            check_device(a);
          }
        }
        for (auto item : kwargs) {
          const std::string key = py::str(item.first);
          if (key != "dtype" && key != "device" && key != "non_blocking" && key != "copy" &&
              key != "memory_format") {
            throw TypeError(
                "to() received an invalid combination of arguments - got an "
                "unexpected keyword argument '" +
                key + "'");
          }
        }
        if (kwargs.contains("dtype")) dtype = optional_dtype(kwargs["dtype"]);
        if (kwargs.contains("device")) check_device(kwargs["device"]);
        const Tensor& t = as_tensor(self);
        const bool copy = kwargs.contains("copy") && kwargs["copy"].cast<bool>();
        if (copy && (!dtype || *dtype == t->dtype())) return py::cast(clone(t));
        if (!dtype || *dtype == t->dtype()) return py::reinterpret_borrow<py::object>(self);
        return py::cast(to_dtype(t, *dtype));
      });

  m.def(
      "where",
      [](const Tensor& cond, py::handle a, py::handle b) {
        return where(cond, where_operand(a, b), where_operand(b, a));
      },
      py::arg("condition"), py::arg("input"), py::arg("other"));
  cls.def(
      "where",
      [](py::handle self, const Tensor& cond, py::handle other) {
        return where(cond, as_tensor(self), where_operand(other, self));
      },
      py::arg("condition"), py::arg("other"));
  // A tensor is iterable, but torch refuses one where a sequence of tensors goes.
  auto tensor_sequence = [](py::handle h, const char* op) {
    if (is_tensor(h)) {
      throw TypeError(std::string(op) +
                      "(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor");
    }
    return h.cast<std::vector<Tensor>>();
  };
  for (const char* name : {"cat", "concat"}) {
    m.def(
        name,
        [tensor_sequence, name](py::handle tensors, int64_t dim) {
          return cat(tensor_sequence(tensors, name), dim);
        },
        py::arg("tensors"), py::arg("dim") = 0);
  }
  m.def(
      "stack",
      [tensor_sequence](py::handle tensors, int64_t dim) {
        return stack(tensor_sequence(tensors, "stack"), dim);
      },
      py::arg("tensors"), py::arg("dim") = 0);

  // nn.functional pieces that are also tensor methods.
  // dtype= converts the input first, as torch's.
  def_both(
      m, cls, "softmax",
      [](const Tensor& a, int64_t dim, py::handle dtype) {
        const std::optional<DType> t = optional_dtype(dtype);
        return softmax(t ? to_dtype(a, *t) : a, dim);
      },
      py::arg("dim"), py::arg("dtype") = py::none());
  def_both(
      m, cls, "log_softmax",
      [](const Tensor& a, int64_t dim, py::handle dtype) {
        const std::optional<DType> t = optional_dtype(dtype);
        return log_softmax(t ? to_dtype(a, *t) : a, dim);
      },
      py::arg("dim"), py::arg("dtype") = py::none());
}

}  // namespace ember::bindings
