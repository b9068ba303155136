// Bindings of the fused optimizer steps (ember._C._optim; Note [Fused optimizer
// steps]): argument conversion only. python/ember/optim/optimizers.py decides
// when a step takes them.

#include "common.h"
#include "ember/ops/optimizer.h"

namespace ember::bindings {
namespace {

using TensorList = std::vector<Tensor>;

int64_t total_numel(const TensorList& params) {
  int64_t n = 0;
  for (const Tensor& p : params) n += p->numel();
  return n;
}

}  // namespace

void init_optimizers(py::module_& m) {
  py::module_ o = m.def_submodule("_optim", "fused optimizer steps over lists of tensors");
  o.def(
      "sgd",
      [](const TensorList& params, const TensorList& grads,
         const std::vector<std::optional<Tensor>>& momentum_buffers, double lr, double momentum,
         double dampening, double weight_decay, bool nesterov, bool maximize) {
        TensorList buffers;
        for (const auto& b : momentum_buffers) buffers.push_back(b.value_or(Tensor()));
        {
          MaybeReleaseGIL gil(total_numel(params));
          buffers = fused_sgd_step(params, grads, buffers,
                                   {lr, momentum, dampening, weight_decay, nesterov, maximize});
        }
        return buffers;
      },
      py::arg("params"), py::arg("grads"), py::arg("momentum_buffers"), py::kw_only(),
      py::arg("lr"), py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"),
      py::arg("nesterov"), py::arg("maximize"));
  o.def(
      "adam",
      [](const TensorList& params, const TensorList& grads, const TensorList& exp_avgs,
         const TensorList& exp_avg_sqs, const TensorList& max_exp_avg_sqs,
         const TensorList& state_steps, double lr, double beta1, double beta2, double eps,
         double weight_decay, bool amsgrad, bool maximize, bool decoupled_weight_decay) {
        MaybeReleaseGIL gil(total_numel(params));
        fused_adam_step(
            params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps,
            {lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay});
      },
      py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"),
      py::arg("max_exp_avg_sqs"), py::arg("state_steps"), py::kw_only(), py::arg("lr"),
      py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
      py::arg("amsgrad"), py::arg("maximize"), py::arg("decoupled_weight_decay"));
  o.def(
      "adadelta",
      [](const TensorList& params, const TensorList& grads, const TensorList& square_avgs,
         const TensorList& acc_deltas, const TensorList& state_steps, double lr, double rho,
         double eps, double weight_decay, bool maximize) {
        MaybeReleaseGIL gil(total_numel(params));
        fused_adadelta_step(params, grads, square_avgs, acc_deltas, state_steps,
                            {lr, rho, eps, weight_decay, maximize});
      },
      py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("acc_deltas"),
      py::arg("state_steps"), py::kw_only(), py::arg("lr"), py::arg("rho"), py::arg("eps"),
      py::arg("weight_decay"), py::arg("maximize"));
  o.def(
      "rmsprop",
      [](const TensorList& params, const TensorList& grads, const TensorList& square_avgs,
         const TensorList& grad_avgs, const TensorList& momentum_buffers,
         const TensorList& state_steps, double lr, double alpha, double eps, double weight_decay,
         double momentum, bool centered, bool maximize) {
        MaybeReleaseGIL gil(total_numel(params));
        fused_rmsprop_step(params, grads, square_avgs, grad_avgs, momentum_buffers, state_steps,
                           {lr, alpha, eps, weight_decay, momentum, centered, maximize});
      },
      py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("grad_avgs"),
      py::arg("momentum_buffers"), py::arg("state_steps"), py::kw_only(), py::arg("lr"),
      py::arg("alpha"), py::arg("eps"), py::arg("weight_decay"), py::arg("momentum"),
      py::arg("centered"), py::arg("maximize"));
}

}  // namespace ember::bindings
