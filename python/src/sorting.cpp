// Bindings of sort, argsort, msort, topk, median and nanmedian (ops/sort.cpp)
// and their node classes; results are ember.return_types' named tuples.

#include "common.h"
#include "ember/autograd/functions/rearrange.h"

namespace ember::bindings {
namespace {

using TensorClass = py::class_<TensorImpl, Tensor>;

template <typename T>
void bind_node(py::module_& m, const char* name) {
  py::class_<T, Node, std::shared_ptr<T>>(m, name);
}

py::object named_result(const char* name, const std::pair<Tensor, Tensor>& r) {
  py::object type = py::module_::import("ember._return_types").attr(name);
  return type(py::cast(r.first), py::cast(r.second));
}

// median(input) gives the value; median(input, dim, keepdim) a named tuple.
template <typename All, typename Along>
py::object median_form(const char* name, const Tensor& a, py::handle dim, bool keepdim, All all,
                       Along along) {
  if (dim.is_none()) return py::cast(all(a));
  return named_result(name, along(a, dim.cast<int64_t>(), keepdim));
}

}  // namespace

void init_sorting(py::module_& m) {
  bind_node<SortBackward0>(m, "SortBackward0");
  bind_node<TopkBackward0>(m, "TopkBackward0");
  bind_node<MedianBackward0>(m, "MedianBackward0");
  bind_node<MedianBackward1>(m, "MedianBackward1");
  bind_node<NanmedianBackward0>(m, "NanmedianBackward0");
  bind_node<NanmedianBackward1>(m, "NanmedianBackward1");

  TensorClass cls(m.attr("Tensor"));
  // `stable` is accepted for torch's signature: the sort is always stable.
  def_both(
      m, cls, "sort",
      [](const Tensor& a, int64_t dim, bool descending, py::handle) {
        return named_result("sort", sort(a, dim, descending));
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
        return named_result("topk", topk(a, k, dim, largest, sorted));
      },
      py::arg("k"), py::arg("dim") = -1, py::arg("largest") = true, py::arg("sorted") = true);
  def_both(
      m, cls, "median",
      [](const Tensor& a, py::handle dim, bool keepdim) {
        return median_form(
            "median", a, dim, keepdim, [](const Tensor& x) { return median(x); },
            [](const Tensor& x, int64_t d, bool k) { return median(x, d, k); });
      },
      py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(
      m, cls, "nanmedian",
      [](const Tensor& a, py::handle dim, bool keepdim) {
        return median_form(
            "nanmedian", a, dim, keepdim, [](const Tensor& x) { return nanmedian(x); },
            [](const Tensor& x, int64_t d, bool k) { return nanmedian(x, d, k); });
      },
      py::arg("dim") = py::none(), py::arg("keepdim") = false);
}

}  // namespace ember::bindings
