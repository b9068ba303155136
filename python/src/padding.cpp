// Bindings of padding (constant_pad_nd, F.pad) and their node classes.

#include "ember/autograd/functions/padding.h"

#include <string>

#include "common.h"

namespace ember::bindings {
namespace {

// The pad argument as torch parses it: a sequence of ints, with torch's
// TypeError naming the first element that is not one.
DimList pad_list(py::handle h, const char* op) {
  const std::string prefix =
      std::string(op) + "(): argument 'pad' (position 2) must be tuple of ints";
  if (is_tensor(h) || !PySequence_Check(h.ptr())) {
    throw TypeError(prefix + ", not " + Py_TYPE(h.ptr())->tp_name);
  }
  DimList pad;
  size_t pos = 0;
  for (py::handle item : py::reinterpret_borrow<py::sequence>(h)) {
    if (PyBool_Check(item.ptr()) || !PyIndex_Check(item.ptr())) {
      throw TypeError(prefix + ", but found element of type " + Py_TYPE(item.ptr())->tp_name +
                      " at pos " + std::to_string(pos));
    }
    const Py_ssize_t v = PyNumber_AsSsize_t(item.ptr(), PyExc_OverflowError);
    if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
    pad.push_back(static_cast<int64_t>(v));
    ++pos;
  }
  return pad;
}

// F.pad: torch's checks in its order, then the op of the mode. Circular
// padding is composed of slice copies, as torch composes it, in Python.
py::object pad(const Tensor& input, py::handle pad_arg, const std::string& mode, py::handle value) {
  if (mode != "constant" && mode != "reflect" && mode != "replicate" && mode != "circular") {
    throw NotImplementedError("Unrecognised padding mode " + mode);
  }
  const DimList pad = pad_list(pad_arg, "pad");
  if (pad.size() % 2 != 0) throw std::runtime_error("Padding length must be divisible by 2");
  if (static_cast<int64_t>(pad.size()) > 2 * input->dim()) {
    throw std::runtime_error(
        "Padding length should be less than or equal to two times the input dimension but got "
        "padding length " +
        std::to_string(pad.size()) + " and input of dimension " + std::to_string(input->dim()));
  }
  if (mode == "constant") {
    return py::cast(
        constant_pad_nd(input, pad, value.is_none() ? Scalar(0.0) : require_scalar(value)));
  }
  if (!value.is_none() && require_scalar(value).value != 0) {
    throw std::runtime_error("Padding mode \"" + mode + "\" doesn't take in value argument");
  }
  if (mode == "circular") {
    static py::handle circular =
        py::object(py::module_::import("ember.nn.functional").attr("_pad_circular")).release();
    return circular(input, py::cast(pad));
  }
  MaybeReleaseGIL gil(input->numel());
  return py::cast(
      border_pad(input, pad, mode == "reflect" ? PadMode::Reflect : PadMode::Replicate));
}

}  // namespace

void init_padding(py::module_& m) {
  bind_node<ConstantPadNdBackward0>(m, "ConstantPadNdBackward0");
  bind_node<BorderPadBackward<PadMode::Reflect, 1>>(m, "ReflectionPad1DBackward0");
  bind_node<BorderPadBackward<PadMode::Reflect, 2>>(m, "ReflectionPad2DBackward0");
  bind_node<BorderPadBackward<PadMode::Reflect, 3>>(m, "ReflectionPad3DBackward0");
  bind_node<BorderPadBackward<PadMode::Replicate, 1>>(m, "ReplicationPad1DBackward0");
  bind_node<BorderPadBackward<PadMode::Replicate, 2>>(m, "ReplicationPad2DBackward0");
  bind_node<BorderPadBackward<PadMode::Replicate, 3>>(m, "ReplicationPad3DBackward0");
  bind_node<BorderPadBackwardBackward<PadMode::Reflect, 1>>(m, "ReflectionPad1DBackwardBackward0");
  bind_node<BorderPadBackwardBackward<PadMode::Reflect, 2>>(m, "ReflectionPad2DBackwardBackward0");
  bind_node<BorderPadBackwardBackward<PadMode::Reflect, 3>>(m, "ReflectionPad3DBackwardBackward0");
  bind_node<BorderPadBackwardBackward<PadMode::Replicate, 1>>(m,
                                                              "ReplicationPad1DBackwardBackward0");
  bind_node<BorderPadBackwardBackward<PadMode::Replicate, 2>>(m,
                                                              "ReplicationPad2DBackwardBackward0");
  bind_node<BorderPadBackwardBackward<PadMode::Replicate, 3>>(m,
                                                              "ReplicationPad3DBackwardBackward0");
  m.def(
      "constant_pad_nd",
      [](const Tensor& input, py::handle pad, py::handle value) {
        return constant_pad_nd(input, pad_list(pad, "constant_pad_nd"), require_scalar(value));
      },
      py::arg("input"), py::arg("pad"), py::arg("value") = 0);
  py::module_ nn = m.attr("_nn");
  nn.def("pad", &pad, py::arg("input"), py::arg("pad"), py::arg("mode") = "constant",
         py::arg("value") = py::none());
}

}  // namespace ember::bindings
