// Bindings of the fused LSTM cell kernels (Note [Fused LSTM cell]): argument conversion only.

#include "ember/ops/rnn.h"

#include "common.h"

namespace ember::bindings {
namespace {

Tensor tensor_or_null(py::handle h) { return h.is_none() ? Tensor() : as_tensor(h); }

}  // namespace

void init_rnn(py::module_& m) {
  py::module_ nn = m.attr("_nn");
  nn.def(
      "_lstm_cell_forward",
      [](const Tensor& gates, const Tensor& cx) {
        LstmCellOutputs out = lstm_cell_forward(gates, cx);
        return py::make_tuple(out.hy, out.cy, out.gates, out.tanh_cy);
      },
      py::arg("gates"), py::arg("cx"));
  nn.def(
      "_lstm_cell_backward",
      [](py::handle grad_hy, py::handle grad_cy, const Tensor& gates, const Tensor& tanh_cy,
         const Tensor& cx) {
        auto [dgates, dcx] = lstm_cell_backward(tensor_or_null(grad_hy), tensor_or_null(grad_cy),
                                                gates, tanh_cy, cx);
        return py::make_tuple(dgates, dcx);
      },
      py::arg("grad_hy"), py::arg("grad_cy"), py::arg("gates"), py::arg("tanh_cy"), py::arg("cx"));
}

}  // namespace ember::bindings
