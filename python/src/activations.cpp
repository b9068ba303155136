// Bindings of the activation table (ember/ops/activation.h): one node class
// per torch name, `_nn._activation(_)` for the functional wrappers, and
// frac / logit / nan_to_num as functions and Tensor methods.

#include <optional>

#include "common.h"
#include "ember/ops/activation.h"

namespace ember::bindings {
namespace {

using TensorClass = py::class_<TensorImpl, Tensor>;

template <size_t... I>
void bind_activation_nodes(py::module_& m, std::index_sequence<I...>) {
  auto bind_one = [&m](auto op) {
    constexpr ActivationOp kOp = decltype(op)::value;
    const ActivationEntry& e = activation_entry(kOp);
    py::class_<ActivationNode<kOp, false>, ActivationNodeBase,
               std::shared_ptr<ActivationNode<kOp, false>>>(m, e.node_name);
    if (e.result_node_name) {
      py::class_<ActivationNode<kOp, true>, ActivationNodeBase,
                 std::shared_ptr<ActivationNode<kOp, true>>>(m, e.result_node_name);
    }
  };
  (bind_one(std::integral_constant<ActivationOp, static_cast<ActivationOp>(I)>{}), ...);
}

// Runs an in-place activation on the Python object and hands the object back,
// so `F.relu6(x, inplace=True) is x`.
py::handle in_place(ActivationOp op, py::handle self, const ActivationArgs& args) {
  Tensor t = as_tensor(self);
  MaybeReleaseGIL gil(t->numel());
  activation_(op, t, args);
  return self;
}

ActivationArgs logit_args(std::optional<double> eps) {
  ActivationArgs args;
  if (eps) {
    args.a = *eps;
    args.has_eps = true;
  }
  return args;
}

void bind_tensor_functions(py::module_& m, TensorClass& cls) {
  def_both(m, cls, "frac", [](const Tensor& x) { return activation(ActivationOp::Frac, x, {}); });
  cls.def("frac_", [](py::handle self) { return in_place(ActivationOp::Frac, self, {}); });
  def_both(
      m, cls, "logit",
      [](const Tensor& x, std::optional<double> eps) {
        return activation(ActivationOp::Logit, x, logit_args(eps));
      },
      py::arg("eps") = py::none());
  cls.def(
      "logit_",
      [](py::handle self, std::optional<double> eps) {
        return in_place(ActivationOp::Logit, self, logit_args(eps));
      },
      py::arg("eps") = py::none());
  auto nan_to_num_fn = [](const Tensor& x, double nan, std::optional<double> posinf,
                          std::optional<double> neginf) {
    return activation(ActivationOp::NanToNum, x, nan_to_num_args(x->dtype(), nan, posinf, neginf));
  };
  def_both(m, cls, "nan_to_num", nan_to_num_fn, py::arg("nan") = 0.0,
           py::arg("posinf") = py::none(), py::arg("neginf") = py::none());
  cls.def(
      "nan_to_num_",
      [](py::handle self, double nan, std::optional<double> posinf, std::optional<double> neginf) {
        const DType dtype = as_tensor(self)->dtype();
        return in_place(ActivationOp::NanToNum, self, nan_to_num_args(dtype, nan, posinf, neginf));
      },
      py::arg("nan") = 0.0, py::arg("posinf") = py::none(), py::arg("neginf") = py::none());
}

}  // namespace

void init_activations(py::module_& m) {
  py::class_<ActivationNodeBase, Node, std::shared_ptr<ActivationNodeBase>>(m, "_ActivationNode");
  bind_activation_nodes(m, std::make_index_sequence<kActivationOpCount>{});

  py::enum_<ActivationOp> ops(m, "_ActivationOp");
  ops.value("leaky_relu", ActivationOp::LeakyRelu)
      .value("elu", ActivationOp::Elu)
      .value("celu", ActivationOp::Celu)
      .value("hardtanh", ActivationOp::Hardtanh)
      .value("softplus", ActivationOp::Softplus)
      .value("hardsigmoid", ActivationOp::Hardsigmoid)
      .value("hardswish", ActivationOp::Hardswish)
      .value("mish", ActivationOp::Mish)
      .value("logsigmoid", ActivationOp::LogSigmoid)
      .value("hardshrink", ActivationOp::Hardshrink)
      .value("softshrink", ActivationOp::Softshrink)
      .value("threshold", ActivationOp::Threshold)
      .value("logit", ActivationOp::Logit)
      .value("frac", ActivationOp::Frac)
      .value("nan_to_num", ActivationOp::NanToNum);

  // The functional wrappers in ember.nn check torch's Python-level arguments
  // and pass an op's parameters as a, b, c (kernels/activation.h lists them).
  py::module_ nn = m.attr("_nn");
  nn.def(
      "_activation",
      [](ActivationOp op, const Tensor& x, double a, double b, double c) {
        MaybeReleaseGIL gil(x->numel());
        return activation(op, x, {a, b, c});
      },
      py::arg("op"), py::arg("input"), py::arg("a") = 0.0, py::arg("b") = 0.0, py::arg("c") = 0.0);
  nn.def(
      "_activation_",
      [](ActivationOp op, py::handle self, double a, double b, double c) {
        return in_place(op, self, {a, b, c});
      },
      py::arg("op"), py::arg("input"), py::arg("a") = 0.0, py::arg("b") = 0.0, py::arg("c") = 0.0);

  // The table's node names (Note [Activation table]), for tests that walk it.
  m.def("_activation_op_table", [] {
    py::list out;
    for (size_t i = 0; i < kActivationOpCount; ++i) {
      const ActivationEntry& e = activation_entry(static_cast<ActivationOp>(i));
      py::dict d;
      d["op"] = static_cast<ActivationOp>(i);
      d["node_name"] = e.node_name;
      d["result_node_name"] =
          e.result_node_name ? py::object(py::str(e.result_node_name)) : py::object(py::none());
      out.append(d);
    }
    return out;
  });

  TensorClass cls(m.attr("Tensor"));
  bind_tensor_functions(m, cls);
}

}  // namespace ember::bindings
