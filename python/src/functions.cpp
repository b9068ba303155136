// Module-level factories and nn.functional ops.

#include "common.h"
#include "ember/kernels/elementwise.h"

namespace ember::bindings {
namespace {

Tensor with_grad_flag(Tensor t, bool requires_grad) {
  if (requires_grad) t->set_requires_grad(true);
  return t;
}

DType float_or(py::handle dtype) { return optional_dtype(dtype).value_or(default_float_dtype()); }

// Factories of the form f(*size, dtype=None, requires_grad=False).
template <typename Make>
void def_factory(py::module_& m, const char* name, Make make) {
  m.def(
      name,
      [make, name](py::args size, py::object dtype, bool requires_grad, py::object device,
                   py::object) {
        check_device(device);
        if (size.empty()) {
          throw TypeError(std::string(name) +
                          "() missing 1 required positional arguments: \"size\"");
        }
        return with_grad_flag(make(shape_from_args(size), float_or(dtype)), requires_grad);
      },
      py::kw_only(), py::arg("dtype") = py::none(), py::arg("requires_grad") = false,
      py::arg("device") = py::none(), py::arg("layout") = py::none());
}

// Factories of the form f_like(t, dtype=None, requires_grad=False).
template <typename Make>
void def_like(py::module_& m, const char* name, Make make) {
  m.def(
      name,
      [make](const Tensor& like, py::object dtype, bool requires_grad, py::object device) {
        check_device(device);
        return with_grad_flag(make(like->shape(), optional_dtype(dtype).value_or(like->dtype())),
                              requires_grad);
      },
      py::arg("input"), py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none());
}

DType arange_dtype(py::handle start, py::handle end, py::handle step, py::handle dtype) {
  if (!dtype.is_none()) return dtype_from(dtype);
  for (py::handle h : {start, end, step}) {
    if (PyFloat_Check(h.ptr()) || (is_tensor(h) && is_floating(as_tensor(h)->dtype())))
      return default_float_dtype();
  }
  return DType::Int64;
}

Scalar number(py::handle h) {
  if (is_tensor(h)) return item_as_scalar(as_tensor(h));
  return require_scalar(h);
}

Tensor optional_tensor(py::handle h) { return h.is_none() ? nullptr : tensor_from_operand(h); }

// torch's warning for a loss whose target broadcasts against its input.
void warn_if_broadcast(const Tensor& input, const Tensor& target) {
  if (input->shape() == target->shape()) return;
  const std::string message =
      "Using a target size (torch.Size(" + shape_str(target->shape()) +
      ")) that is different to the input size (torch.Size(" + shape_str(input->shape()) +
      ")). This will likely lead to incorrect results due to broadcasting. Please ensure they "
      "have the same size.";
  if (PyErr_WarnEx(PyExc_UserWarning, message.c_str(), 2) != 0) throw py::error_already_set();
}

Reduction legacy_reduction(py::handle size_average, py::handle reduce,
                           const std::string& reduction) {
  if (size_average.is_none() && reduce.is_none()) return reduction_from(reduction);
  const bool avg = size_average.is_none() || size_average.cast<bool>();
  const bool red = reduce.is_none() || reduce.cast<bool>();
  if (!red) return Reduction::None;
  return avg ? Reduction::Mean : Reduction::Sum;
}

void init_factories(py::module_& m) {
  m.def(
      "tensor",
      [](py::handle data, py::object dtype, bool requires_grad, py::object device) {
        check_device(device);
        if (is_tensor(data)) {
          PyErr_WarnEx(PyExc_UserWarning,
                       "To copy construct from a tensor, it is recommended to use "
                       "sourceTensor.detach().clone() or "
                       "sourceTensor.detach().clone().requires_grad_(True), rather than "
                       "torch.tensor(sourceTensor).",
                       1);
        }
        return with_grad_flag(tensor_from_data(data, optional_dtype(dtype)), requires_grad);
      },
      py::arg("data"), py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def(
      "as_tensor",
      [](py::handle data, py::object dtype, py::object device) -> py::object {
        check_device(device);
        if (is_tensor(data)) {
          const Tensor& t = as_tensor(data);
          if (dtype.is_none() || dtype_from(dtype) == t->dtype())
            return py::reinterpret_borrow<py::object>(data);
          return py::cast(to_dtype(t, dtype_from(dtype)));
        }
        // An ndarray of a dtype Ember has is shared, not copied, as in torch.
        if (py::isinstance<py::array>(data)) {
          const std::string kind = py::str(data.attr("dtype").attr("name"));
          const bool shareable =
              kind == "float32" || kind == "float64" || kind == "int64" || kind == "bool";
          if (shareable && (dtype.is_none() || dtype_name(dtype_from(dtype)) == kind)) {
            return py::cast(from_numpy(py::reinterpret_borrow<py::array>(data)));
          }
        }
        return py::cast(tensor_from_data(data, optional_dtype(dtype)));
      },
      py::arg("data"), py::arg("dtype") = py::none(), py::arg("device") = py::none());

  def_factory(m, "zeros", [](const Shape& s, DType t) { return zeros(s, t); });
  def_factory(m, "ones", [](const Shape& s, DType t) { return ones(s, t); });
  def_factory(m, "empty", [](const Shape& s, DType t) { return empty(s, t); });
  m.def(
      "empty_strided",
      [](py::handle size, py::handle stride, py::object dtype, py::object device,
         bool requires_grad, py::object, bool) {
        check_device(device);
        const DimList shape = int_sequence(size, "empty_strided", "size", 1);
        const DimList strides = int_sequence(stride, "empty_strided", "stride", 2);
        return with_grad_flag(
            empty_strided(Shape(shape.begin(), shape.end()),
                          Strides(strides.begin(), strides.end()), float_or(dtype)),
            requires_grad);
      },
      py::arg("size"), py::arg("stride"), py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("device") = py::none(), py::arg("requires_grad") = false,
      py::arg("layout") = py::none(), py::arg("pin_memory") = false);
  def_like(m, "zeros_like", [](const Shape& s, DType t) { return zeros(s, t); });
  def_like(m, "ones_like", [](const Shape& s, DType t) { return ones(s, t); });
  def_like(m, "empty_like", [](const Shape& s, DType t) { return empty(s, t); });

  m.def(
      "full",
      [](py::handle size, py::handle value, py::object dtype, bool requires_grad,
         py::object device) {
        check_device(device);
        if (!PySequence_Check(size.ptr())) {  // torch's full takes no bare int as its size
          throw TypeError(std::string("full(): argument 'size' (position 1) must be tuple of "
                                      "ints, not ") +
                          Py_TYPE(size.ptr())->tp_name);
        }
        const Scalar s = number(value);  // a number or a one-element tensor
        const DType t = dtype.is_none()
                            ? (s.kind == DType::Float64 ? default_float_dtype() : s.kind)
                            : dtype_from(dtype);
        const DimList d = dims_from(size);
        return with_grad_flag(full(Shape(d.begin(), d.end()), s, t), requires_grad);
      },
      py::arg("size"), py::arg("fill_value"), py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def(
      "full_like",
      [](const Tensor& like, py::handle value, py::object dtype, bool requires_grad,
         py::object device) {
        check_device(device);
        return with_grad_flag(full(like->shape(), require_scalar(value),
                                   optional_dtype(dtype).value_or(like->dtype())),
                              requires_grad);
      },
      py::arg("input"), py::arg("fill_value"), py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def(
      "arange",
      [](py::handle a, py::handle b, py::handle step, py::object dtype, bool requires_grad,
         py::object device) {
        check_device(device);
        const bool one_arg = b.is_none();
        const Scalar start = one_arg ? Scalar::integer(0) : number(a);
        const Scalar end = one_arg ? number(a) : number(b);
        const DType t = arange_dtype(a, b.is_none() ? a : b, step.is_none() ? a : step, dtype);
        const Scalar by = step.is_none() ? Scalar::integer(1) : number(step);
        return with_grad_flag(arange(start, end, by, t), requires_grad);
      },
      py::arg("start"), py::arg("end") = py::none(), py::arg("step") = py::none(), py::kw_only(),
      py::arg("dtype") = py::none(), py::arg("requires_grad") = false,
      py::arg("device") = py::none());
  m.def(
      "linspace",
      [](double start, double end, int64_t steps, py::object dtype, bool requires_grad,
         py::object device) {
        check_device(device);
        return with_grad_flag(linspace(start, end, steps, float_or(dtype)), requires_grad);
      },
      py::arg("start"), py::arg("end"), py::arg("steps"), py::kw_only(),
      py::arg("dtype") = py::none(), py::arg("requires_grad") = false,
      py::arg("device") = py::none());
  m.def(
      "eye",
      [](int64_t n, std::optional<int64_t> cols, py::object dtype, bool requires_grad,
         py::object device) {
        check_device(device);
        return with_grad_flag(eye(n, cols.value_or(n), float_or(dtype)), requires_grad);
      },
      py::arg("n"), py::arg("m") = py::none(), py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none());
}

void init_nn(py::module_& m) {
  py::module_ nn = m.def_submodule("_nn", "nn.functional kernels");
  nn.def(
      "binary_cross_entropy_with_logits",
      [](const Tensor& input, const Tensor& target, py::handle weight, py::handle size_average,
         py::handle reduce, const std::string& reduction, py::handle pos_weight) {
        return binary_cross_entropy_with_logits(input, target, optional_tensor(weight),
                                                optional_tensor(pos_weight),
                                                legacy_reduction(size_average, reduce, reduction));
      },
      py::arg("input"), py::arg("target"), py::arg("weight") = py::none(),
      py::arg("size_average") = py::none(), py::arg("reduce") = py::none(),
      py::arg("reduction") = "mean", py::arg("pos_weight") = py::none());
  nn.def(
      "binary_cross_entropy",
      [](const Tensor& input, const Tensor& target, py::handle weight, py::handle size_average,
         py::handle reduce, const std::string& reduction) {
        return binary_cross_entropy(input, target, optional_tensor(weight),
                                    legacy_reduction(size_average, reduce, reduction));
      },
      py::arg("input"), py::arg("target"), py::arg("weight") = py::none(),
      py::arg("size_average") = py::none(), py::arg("reduce") = py::none(),
      py::arg("reduction") = "mean");
  nn.def(
      "mse_loss",
      [](const Tensor& input, const Tensor& target, py::handle size_average, py::handle reduce,
         const std::string& reduction) {
        warn_if_broadcast(input, target);
        return mse_loss(input, target, legacy_reduction(size_average, reduce, reduction));
      },
      py::arg("input"), py::arg("target"), py::arg("size_average") = py::none(),
      py::arg("reduce") = py::none(), py::arg("reduction") = "mean");
  nn.def(
      "smooth_l1_loss",
      [](const Tensor& input, const Tensor& target, py::handle size_average, py::handle reduce,
         const std::string& reduction, double beta) {
        warn_if_broadcast(input, target);
        return smooth_l1_loss(input, target, legacy_reduction(size_average, reduce, reduction),
                              beta);
      },
      py::arg("input"), py::arg("target"), py::arg("size_average") = py::none(),
      py::arg("reduce") = py::none(), py::arg("reduction") = "mean", py::arg("beta") = 1.0);
  nn.def(
      "huber_loss",
      [](const Tensor& input, const Tensor& target, const std::string& reduction, double delta,
         py::handle weight) {
        warn_if_broadcast(input, target);
        const Reduction r = reduction_from(reduction);
        if (weight.is_none()) return huber_loss(input, target, r, delta);
        // torch weighs the elementwise loss, then reduces it: nodes of their own.
        const Tensor weighted =
            mul(huber_loss(input, target, Reduction::None, delta), optional_tensor(weight));
        if (r == Reduction::None) return weighted;
        return r == Reduction::Mean ? mean(weighted) : sum(weighted);
      },
      py::arg("input"), py::arg("target"), py::arg("reduction") = "mean", py::arg("delta") = 1.0,
      py::arg("weight") = py::none());
  nn.def(
      "nll_loss",
      [](const Tensor& input, const Tensor& target, py::handle weight, py::handle size_average,
         int64_t ignore_index, py::handle reduce, const std::string& reduction) {
        return nll_loss(input, target, optional_tensor(weight),
                        legacy_reduction(size_average, reduce, reduction), ignore_index);
      },
      py::arg("input"), py::arg("target"), py::arg("weight") = py::none(),
      py::arg("size_average") = py::none(), py::arg("ignore_index") = -100,
      py::arg("reduce") = py::none(), py::arg("reduction") = "mean");
  nn.def(
      "cross_entropy",
      [](const Tensor& input, const Tensor& target, py::handle weight, py::handle size_average,
         int64_t ignore_index, py::handle reduce, const std::string& reduction,
         double label_smoothing) {
        return cross_entropy(input, target, optional_tensor(weight),
                             legacy_reduction(size_average, reduce, reduction), ignore_index,
                             label_smoothing);
      },
      py::arg("input"), py::arg("target"), py::arg("weight") = py::none(),
      py::arg("size_average") = py::none(), py::arg("ignore_index") = -100,
      py::arg("reduce") = py::none(), py::arg("reduction") = "mean",
      py::arg("label_smoothing") = 0.0);
  nn.def(
      "embedding",
      [](const Tensor& weight, const Tensor& indices, int64_t padding_idx) {
        return embedding(weight, indices, padding_idx);
      },
      py::arg("weight"), py::arg("indices"), py::arg("padding_idx") = -1);
  nn.def(
      "batch_norm",
      [](const Tensor& input, py::handle weight, py::handle bias, py::handle running_mean,
         py::handle running_var, bool training, double momentum, double eps) {
        MaybeReleaseGIL gil(input->numel());
        return batch_norm(input, optional_tensor(weight), optional_tensor(bias),
                          optional_tensor(running_mean), optional_tensor(running_var), training,
                          momentum, eps);
      },
      py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("running_mean"),
      py::arg("running_var"), py::arg("training"), py::arg("momentum"), py::arg("eps"));
  nn.def(
      "layer_norm",
      [](const Tensor& input, const std::vector<int64_t>& normalized_shape, py::handle weight,
         py::handle bias, double eps) {
        MaybeReleaseGIL gil(input->numel());
        return layer_norm(input, Shape(normalized_shape.begin(), normalized_shape.end()),
                          optional_tensor(weight), optional_tensor(bias), eps);
      },
      py::arg("input"), py::arg("normalized_shape"), py::arg("weight") = py::none(),
      py::arg("bias") = py::none(), py::arg("eps") = 1e-5);
  nn.def(
      "gelu",
      [](const Tensor& input, const std::string& approximate) {
        if (approximate != "none" && approximate != "tanh") {
          throw std::runtime_error("approximate argument must be either none or tanh.");
        }
        MaybeReleaseGIL gil(input->numel());
        return gelu(input, approximate == "tanh");
      },
      py::arg("input"), py::arg("approximate") = "none");
  nn.def(
      "linear",
      [](const Tensor& input, const Tensor& weight, py::handle bias) {
        MaybeReleaseGIL gil(input->numel() * weight->shape()[0]);
        return linear(input, weight, bias.is_none() ? nullptr : as_tensor(bias));
      },
      py::arg("input"), py::arg("weight"), py::arg("bias") = py::none());
}

}  // namespace

void init_functions(py::module_& m) {
  init_factories(m);
  init_nn(m);
}

}  // namespace ember::bindings
