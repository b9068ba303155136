// Bindings for fmod, copysign, the in-place comparisons, the running and
// order-statistic reductions, the indexed writes (take, index_fill,
// index_copy, scatter_reduce), unfold, rot90, renorm, addmv and addbmm.
// In-place forms go through assign_result_, so they record the op's own node.

#include "common.h"
#include "ember/kernels/elementwise.h"

namespace ember::bindings {
namespace {

using TensorClass = py::class_<TensorImpl, Tensor>;

// One of ember.return_types' named tuples (values, indices).
py::object named_result(const char* name, const std::pair<Tensor, Tensor>& r) {
  py::object type = py::module_::import("ember._return_types").attr(name);
  return type(py::cast(r.first), py::cast(r.second));
}

// Binds Tensor.<name>(other) as op(self, other) written back into self.
template <typename Op>
void def_binary_inplace(TensorClass& cls, const char* name, Op op) {
  cls.def(
      name,
      [op, name](py::handle self, py::handle other) {
        Tensor t = as_tensor(self);
        TensorVec others;
        if (is_tensor(other)) others.push_back(as_tensor(other));
        assign_result_(t, others, name,
                       [&](const Tensor& original) { return op(original, other); });
        return self;
      },
      py::arg("other"));
}

// A binary op whose other operand is a tensor or a Python number.
template <typename WithTensor, typename WithScalar>
Tensor tensor_or_scalar(const Tensor& a, py::handle other, WithTensor with_tensor,
                        WithScalar with_scalar) {
  if (is_tensor(other)) return with_tensor(a, as_tensor(other));
  return with_scalar(a, require_scalar(other));
}

void init_fmod_copysign(py::module_& m, TensorClass& cls) {
  auto fmod_fn = [](const Tensor& a, py::handle other) {
    return tensor_or_scalar(
        a, other, [](const Tensor& x, const Tensor& y) { return fmod(x, y); },
        [](const Tensor& x, const Scalar& s) { return fmod(x, s); });
  };
  auto copysign_fn = [](const Tensor& a, py::handle other) {
    return tensor_or_scalar(
        a, other, [](const Tensor& x, const Tensor& y) { return copysign(x, y); },
        [](const Tensor& x, const Scalar& s) { return copysign(x, s); });
  };
  def_both(m, cls, "fmod", fmod_fn, py::arg("other"));
  def_both(m, cls, "copysign", copysign_fn, py::arg("other"));
  def_binary_inplace(cls, "fmod_", fmod_fn);
  def_binary_inplace(cls, "copysign_", copysign_fn);
  cls.def("erfc_", [](py::handle self) {
    Tensor t = as_tensor(self);
    assign_result_(t, {}, "erfc_",
                   [](const Tensor& original) { return unary(UnaryOp::Erfc, original); });
    return self;
  });
}

void init_inplace_comparisons(TensorClass& cls) {
  const std::pair<const char*, BinaryOp> comparisons[] = {
      {"eq_", BinaryOp::Eq}, {"ne_", BinaryOp::Ne}, {"lt_", BinaryOp::Lt},
      {"le_", BinaryOp::Le}, {"gt_", BinaryOp::Gt}, {"ge_", BinaryOp::Ge}};
  for (const auto& [name, op] : comparisons) {
    const BinaryOp o = op;
    cls.def(
        name,
        [o](py::handle self, py::handle other) {
          Tensor t = as_tensor(self);
          if (is_tensor(other)) {
            compare_(o, t, as_tensor(other));
          } else {
            compare_(o, t, require_scalar(other));
          }
          return self;
        },
        py::arg("other"));
  }
}

void init_scans(py::module_& m, TensorClass& cls) {
  def_both(
      m, cls, "logcumsumexp", [](const Tensor& a, int64_t dim) { return logcumsumexp(a, dim); },
      py::arg("dim"));
  def_both(
      m, cls, "cummax",
      [](const Tensor& a, int64_t dim) { return named_result("cummax", cummax(a, dim)); },
      py::arg("dim"));
  def_both(
      m, cls, "cummin",
      [](const Tensor& a, int64_t dim) { return named_result("cummin", cummin(a, dim)); },
      py::arg("dim"));
  def_both(
      m, cls, "kthvalue",
      [](const Tensor& a, int64_t k, int64_t dim, bool keepdim) {
        return named_result("kthvalue", kthvalue(a, k, dim, keepdim));
      },
      py::arg("k"), py::arg("dim") = -1, py::arg("keepdim") = false);
  def_both(
      m, cls, "mode",
      [](const Tensor& a, int64_t dim, bool keepdim) {
        return named_result("mode", mode(a, dim, keepdim));
      },
      py::arg("dim") = -1, py::arg("keepdim") = false);
  auto renorm_fn = [](const Tensor& a, double p, int64_t dim, double maxnorm) {
    return renorm(a, p, dim, maxnorm);
  };
  def_both(m, cls, "renorm", renorm_fn, py::arg("p"), py::arg("dim"), py::arg("maxnorm"));
  cls.def(
      "renorm_",
      [](py::handle self, double p, int64_t dim, double maxnorm) {
        Tensor t = as_tensor(self);
        assign_result_(t, {}, "renorm_",
                       [&](const Tensor& original) { return renorm(original, p, dim, maxnorm); });
        return self;
      },
      py::arg("p"), py::arg("dim"), py::arg("maxnorm"));
}

// A value given as a number or a 0-d tensor.
Tensor index_fill_value(const Tensor& a, int64_t dim, const Tensor& index, py::handle value) {
  if (is_tensor(value)) return index_fill(a, dim, index, as_tensor(value));
  return index_fill(a, dim, index, require_scalar(value));
}

ScatterReduce scatter_reduction(const std::string& name) {
  if (name == "sum") return ScatterReduce::Sum;
  if (name == "prod") return ScatterReduce::Prod;
  if (name == "mean") return ScatterReduce::Mean;
  if (name == "amax" || name == "max") return ScatterReduce::Amax;  // torch takes both spellings
  if (name == "amin" || name == "min") return ScatterReduce::Amin;
  throw std::runtime_error("reduce argument must be either sum, prod, mean, amax or amin, got " +
                           name);
}

void init_indexed_writes(py::module_& m, TensorClass& cls) {
  def_both(
      m, cls, "take", [](const Tensor& a, const Tensor& index) { return take(a, index); },
      py::arg("index"));
  def_both(m, cls, "index_fill", index_fill_value, py::arg("dim"), py::arg("index"),
           py::arg("value"));
  cls.def(
      "index_fill_",
      [](py::handle self, int64_t dim, const Tensor& index, py::handle value) {
        Tensor t = as_tensor(self);
        TensorVec others;
        if (is_tensor(value)) others.push_back(as_tensor(value));
        assign_result_(t, others, "index_fill_", [&](const Tensor& original) {
          return index_fill_value(original, dim, index, value);
        });
        return self;
      },
      py::arg("dim"), py::arg("index"), py::arg("value"));
  def_both(
      m, cls, "index_copy",
      [](const Tensor& a, int64_t dim, const Tensor& index, const Tensor& source) {
        return index_copy(a, dim, index, source);
      },
      py::arg("dim"), py::arg("index"), py::arg("source"));
  cls.def(
      "index_copy_",
      [](py::handle self, int64_t dim, const Tensor& index, const Tensor& source) {
        Tensor t = as_tensor(self);
        assign_result_(t, {source}, "index_copy_", [&](const Tensor& original) {
          return index_copy(original, dim, index, source);
        });
        return self;
      },
      py::arg("dim"), py::arg("index"), py::arg("source"));
  def_both(
      m, cls, "scatter_reduce",
      [](const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src,
         const std::string& reduce, bool include_self) {
        return scatter_reduce(a, dim, index, src, scatter_reduction(reduce), include_self);
      },
      py::arg("dim"), py::arg("index"), py::arg("src"), py::arg("reduce"), py::kw_only(),
      py::arg("include_self") = true);
  cls.def(
      "scatter_reduce_",
      [](py::handle self, int64_t dim, const Tensor& index, const Tensor& src,
         const std::string& reduce, bool include_self) {
        Tensor t = as_tensor(self);
        const ScatterReduce r = scatter_reduction(reduce);
        assign_result_(t, {src}, "scatter_reduce_", [&](const Tensor& original) {
          return scatter_reduce(original, dim, index, src, r, include_self);
        });
        return self;
      },
      py::arg("dim"), py::arg("index"), py::arg("src"), py::arg("reduce"), py::kw_only(),
      py::arg("include_self") = true);
}

void init_windows_and_turns(py::module_& m, TensorClass& cls) {
  cls.def(
      "unfold",
      [](const Tensor& a, int64_t dimension, int64_t size, int64_t step) {
        return unfold(a, dimension, size, step);
      },
      py::arg("dimension"), py::arg("size"), py::arg("step"));
  def_both(
      m, cls, "rot90",
      [](const Tensor& a, int64_t k, const std::vector<int64_t>& dims) {
        if (dims.size() != 2) {
          throw std::runtime_error("expected total rotation dims == 2, but got dims = " +
                                   std::to_string(dims.size()));
        }
        return rot90(a, k, dims[0], dims[1]);
      },
      py::arg("k") = 1, py::arg("dims") = std::vector<int64_t>{0, 1});
}

double number_arg(py::handle h) { return require_scalar(h).value; }

void init_add_products(py::module_& m, TensorClass& cls) {
  auto addmv_fn = [](const Tensor& input, const Tensor& mat, const Tensor& vec, py::handle beta,
                     py::handle alpha) {
    return addmv(input, mat, vec, number_arg(beta), number_arg(alpha));
  };
  auto addbmm_fn = [](const Tensor& input, const Tensor& batch1, const Tensor& batch2,
                      py::handle beta, py::handle alpha) {
    MaybeReleaseGIL gil(batch1->numel() * batch2->numel());
    return addbmm(input, batch1, batch2, number_arg(beta), number_arg(alpha));
  };
  auto addmm_fn = [](const Tensor& input, const Tensor& mat1, const Tensor& mat2, py::handle beta,
                     py::handle alpha) {
    MaybeReleaseGIL gil(mat1->numel() * (mat2->dim() == 2 ? mat2->shape()[1] : 1));
    return addmm(input, mat1, mat2, number_arg(beta), number_arg(alpha));
  };
  auto baddbmm_fn = [](const Tensor& input, const Tensor& batch1, const Tensor& batch2,
                       py::handle beta, py::handle alpha) {
    MaybeReleaseGIL gil(batch1->numel() * (batch2->dim() == 3 ? batch2->shape()[2] : 1));
    return baddbmm(input, batch1, batch2, number_arg(beta), number_arg(alpha));
  };
  def_both(m, cls, "addmm", addmm_fn, py::arg("mat1"), py::arg("mat2"), py::kw_only(),
           py::arg("beta") = 1, py::arg("alpha") = 1);
  def_both(m, cls, "baddbmm", baddbmm_fn, py::arg("batch1"), py::arg("batch2"), py::kw_only(),
           py::arg("beta") = 1, py::arg("alpha") = 1);
  auto addr_fn = [](const Tensor& input, const Tensor& vec1, const Tensor& vec2, py::handle beta,
                    py::handle alpha) {
    return addr(input, vec1, vec2, number_arg(beta), number_arg(alpha));
  };
  def_both(m, cls, "addr", addr_fn, py::arg("vec1"), py::arg("vec2"), py::kw_only(),
           py::arg("beta") = 1, py::arg("alpha") = 1);
  cls.def(
      "addr_",
      [addr_fn](py::handle self, const Tensor& vec1, const Tensor& vec2, py::handle beta,
                py::handle alpha) {
        Tensor t = as_tensor(self);
        assign_result_(t, {vec1, vec2}, "addr_", [&](const Tensor& original) {
          return addr_fn(original, vec1, vec2, beta, alpha);
        });
        return self;
      },
      py::arg("vec1"), py::arg("vec2"), py::kw_only(), py::arg("beta") = 1, py::arg("alpha") = 1);
  def_both(m, cls, "addmv", addmv_fn, py::arg("mat"), py::arg("vec"), py::kw_only(),
           py::arg("beta") = 1, py::arg("alpha") = 1);
  def_both(m, cls, "addbmm", addbmm_fn, py::arg("batch1"), py::arg("batch2"), py::kw_only(),
           py::arg("beta") = 1, py::arg("alpha") = 1);
  cls.def(
      "addmv_",
      [addmv_fn](py::handle self, const Tensor& mat, const Tensor& vec, py::handle beta,
                 py::handle alpha) {
        Tensor t = as_tensor(self);
        assign_result_(t, {mat, vec}, "addmv_", [&](const Tensor& original) {
          return addmv_fn(original, mat, vec, beta, alpha);
        });
        return self;
      },
      py::arg("mat"), py::arg("vec"), py::kw_only(), py::arg("beta") = 1, py::arg("alpha") = 1);
  cls.def(
      "addbmm_",
      [addbmm_fn](py::handle self, const Tensor& batch1, const Tensor& batch2, py::handle beta,
                  py::handle alpha) {
        Tensor t = as_tensor(self);
        assign_result_(t, {batch1, batch2}, "addbmm_", [&](const Tensor& original) {
          return addbmm_fn(original, batch1, batch2, beta, alpha);
        });
        return self;
      },
      py::arg("batch1"), py::arg("batch2"), py::kw_only(), py::arg("beta") = 1,
      py::arg("alpha") = 1);
}

// _C._assign_result_(self, compute, others, name): the in-place forms made in
// Python (_inplace.py) run `compute(original)` through assign_result_, so
// they record the op's node as torch does.
void init_assign_result(py::module_& m) {
  m.def("_assign_result_",
        [](py::handle self, py::function compute, py::list others, const std::string& name) {
          Tensor t = as_tensor(self);
          TensorVec inputs;
          for (py::handle h : others) inputs.push_back(as_tensor(h));
          assign_result_(t, inputs, name.c_str(), [&](const Tensor& original) {
            return tensor_from_operand(compute(py::cast(original)));
          });
          return self;
        });
}

}  // namespace

void init_scans_and_indexing(py::module_& m, TensorClass& cls) {
  init_assign_result(m);
  init_fmod_copysign(m, cls);
  init_inplace_comparisons(cls);
  init_scans(m, cls);
  init_indexed_writes(m, cls);
  init_windows_and_turns(m, cls);
  init_add_products(m, cls);
}

}  // namespace ember::bindings
