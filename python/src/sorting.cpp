// Bindings of sort, argsort, msort, topk, median and nanmedian (ops/sort.cpp)
// and their node classes; results are ember.return_types' named tuples.

#include "common.h"
#include "ember/autograd/functions/rearrange.h"

namespace ember::bindings {
namespace {

using TensorClass = py::class_<TensorImpl, Tensor>;

// The named tuple types, looked up once (the module lives as long as the process).
py::handle result_type(const char* name) {
  static const py::handle types = py::module_::import("ember._return_types").release();
  return py::object(types.attr(name)).release();
}

py::object named_result(py::handle type, const std::pair<Tensor, Tensor>& r) {
  return type(py::cast(r.first), py::cast(r.second));
}

// median(input) gives the value; median(input, dim, keepdim) a named tuple.
template <typename All, typename Along>
py::object median_form(py::handle type, const Tensor& a, py::handle dim, bool keepdim, All all,
                       Along along) {
  if (dim.is_none()) return py::cast(all(a));
  return named_result(type, along(a, dim.cast<int64_t>(), keepdim));
}

}  // namespace

void init_sorting(py::module_& m) {
  bind_node<SortBackward0>(m, "SortBackward0");
  bind_node<TopkBackward0>(m, "TopkBackward0");
  bind_node<MedianBackward0>(m, "MedianBackward0");
  bind_node<MedianBackward1>(m, "MedianBackward1");
  bind_node<NanmedianBackward0>(m, "NanmedianBackward0");
  bind_node<NanmedianBackward1>(m, "NanmedianBackward1");
  bind_node<Unique2Backward0>(m, "Unique2Backward0");
  // ember.unique without dim (the Python wrapper takes the argument forms).
  m.def("_unique", [](const Tensor& a, bool return_inverse, bool return_counts) -> py::object {
    const UniqueResult u = unique(a, return_inverse, return_counts);
    if (!return_inverse && !return_counts) return py::cast(u.values);
    py::list out;
    out.append(u.values);
    if (return_inverse) out.append(u.inverse);
    if (return_counts) out.append(u.counts);
    return py::tuple(out);
  });

  TensorClass cls(m.attr("Tensor"));
  // `stable` is accepted for torch's signature: the sort is always stable.
  def_both(
      m, cls, "sort",
      [](const Tensor& a, int64_t dim, bool descending, py::handle) {
        static const py::handle type = result_type("sort");
        return named_result(type, sort(a, dim, descending));
      },
      py::arg("dim") = -1, py::arg("descending") = false, py::kw_only(),
      py::arg("stable") = py::none());
  def_both(
      m, cls, "argsort",
      [](const Tensor& a, int64_t dim, bool descending, py::handle) {
        return argsort(a, dim, descending);
      },
      py::arg("dim") = -1, py::arg("descending") = false, py::kw_only(), py::arg("stable") = false);
  def_both(m, cls, "msort", [](const Tensor& a) { return sort(a, 0, false).first; });
  def_both(
      m, cls, "topk",
      [](const Tensor& a, int64_t k, int64_t dim, bool largest, bool sorted) {
        static const py::handle type = result_type("topk");
        return named_result(type, topk(a, k, dim, largest, sorted));
      },
      py::arg("k"), py::arg("dim") = -1, py::arg("largest") = true, py::arg("sorted") = true);
  def_both(
      m, cls, "median",
      [](const Tensor& a, py::handle dim, bool keepdim) {
        static const py::handle type = result_type("median");
        return median_form(
            type, a, dim, keepdim, [](const Tensor& x) { return median(x); },
            [](const Tensor& x, int64_t d, bool k) { return median(x, d, k); });
      },
      py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(
      m, cls, "nanmedian",
      [](const Tensor& a, py::handle dim, bool keepdim) {
        static const py::handle type = result_type("nanmedian");
        return median_form(
            type, a, dim, keepdim, [](const Tensor& x) { return nanmedian(x); },
            [](const Tensor& x, int64_t d, bool k) { return nanmedian(x, d, k); });
      },
      py::arg("dim") = py::none(), py::arg("keepdim") = false);
  // NumPy's spelling on the methods (the functions get it in Note [keepdims]).
  cls.def(
      "median",
      [](const Tensor& a, int64_t dim, bool keepdims) {
        static const py::handle type = result_type("median");
        return named_result(type, median(a, dim, keepdims));
      },
      py::arg("dim"), py::kw_only(), py::arg("keepdims"));
  cls.def(
      "nanmedian",
      [](const Tensor& a, int64_t dim, bool keepdims) {
        static const py::handle type = result_type("nanmedian");
        return named_result(type, nanmedian(a, dim, keepdims));
      },
      py::arg("dim"), py::kw_only(), py::arg("keepdims"));
}

}  // namespace ember::bindings
