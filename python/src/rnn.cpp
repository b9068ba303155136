// Bindings of the fused LSTM layer (Note [Fused LSTM cell]): argument conversion only.

#include "ember/ops/rnn.h"

#include "common.h"

namespace ember::bindings {
namespace {

Tensor tensor_or_null(py::handle h) { return h.is_none() ? Tensor() : as_tensor(h); }

}  // namespace

void init_rnn(py::module_& m) {
  py::module_ nn = m.attr("_nn");
  nn.def(
      "_lstm_layer_forward",
      [](const Tensor& xw, const Tensor& h0, const Tensor& c0, const Tensor& w_hh, bool reverse,
         bool keep) {
        LstmLayerOutputs out;
        {
          py::gil_scoped_release release;
          out = lstm_layer_forward(xw, h0, c0, w_hh, reverse, keep);
        }
        return py::make_tuple(out.output, out.hy, out.cy, out.gates, out.tanh_c, out.c);
      },
      py::arg("xw"), py::arg("h0"), py::arg("c0"), py::arg("w_hh"), py::arg("reverse"),
      py::arg("keep"));
  nn.def(
      "_lstm_layer_backward",
      [](py::handle grad_output, py::handle grad_hy, py::handle grad_cy, const Tensor& h0,
         const Tensor& c0, const Tensor& w_hh, const Tensor& output, const Tensor& gates,
         const Tensor& tanh_c, const Tensor& c, bool reverse) {
        const Tensor d_out = tensor_or_null(grad_output), d_hy = tensor_or_null(grad_hy),
                     d_cy = tensor_or_null(grad_cy);
        LstmLayerGradients g;
        {
          py::gil_scoped_release release;
          g = lstm_layer_backward(d_out, d_hy, d_cy, h0, c0, w_hh,
                                  {output, Tensor(), Tensor(), gates, tanh_c, c}, reverse);
        }
        return py::make_tuple(g.xw, g.h0, g.c0, g.w_hh);
      },
      py::arg("grad_output"), py::arg("grad_hy"), py::arg("grad_cy"), py::arg("h0"), py::arg("c0"),
      py::arg("w_hh"), py::arg("output"), py::arg("gates"), py::arg("tanh_c"), py::arg("c"),
      py::arg("reverse"));
}

}  // namespace ember::bindings
