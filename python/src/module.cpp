// The ember._C extension module: one init_<area> per binding file.

#include <new>

#include "common.h"
#include "ember/allocator.h"
#include "ember/parallel.h"

namespace ember::bindings {

void init_conv(py::module_& m);      // conv.cpp; after init_autograd (needs the Node class)
void init_linalg(py::module_& m);    // linalg.cpp; after init_autograd (needs the Node class)
void init_upsample(py::module_& m);  // upsample.cpp; after init_autograd (needs the Node class)
// padding.cpp; after init_autograd (Node) and init_functions (the _nn module)
void init_padding(py::module_& m);
// activations.cpp; after init_autograd (Node) and init_tensor (the Tensor class)
void init_activations(py::module_& m);
// rearrange.cpp; after init_autograd (Node) and init_tensor (the Tensor class)
void init_rearrange(py::module_& m);
void init_sorting(py::module_& m);  // sorting.cpp; same order constraints

namespace {

void init_errors() {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const NotImplementedError& e) {
      PyErr_SetString(PyExc_NotImplementedError, e.what());
    } catch (const py::cast_error& e) {
      // An argument of the wrong Python type met inside a binding (torch: TypeError).
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const OutOfMemory& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const std::bad_alloc&) {
      // torch reports allocation failure as RuntimeError.
      PyErr_SetString(PyExc_RuntimeError,
                      "ember: can't allocate memory for a tensor (out of memory)");
    }
  });
}

void init_runtime(py::module_& m) {
  m.def("set_num_threads", &set_num_threads, py::arg("num_threads"),
        "Threads of the compute pool (large kernels and matrix products).");
  m.def("get_num_threads", &get_num_threads);
  m.def("_empty_cache", &empty_cache, py::call_guard<py::gil_scoped_release>());
  m.def("_get_default_dtype", [] { return dtype_object(default_float_dtype()); });
  m.def("_set_default_dtype", [](py::handle d) {
    const DType t = dtype_from(d);
    if (!is_floating(t)) {
      throw TypeError("only floating-point types are supported as the default type");
    }
    set_default_float_dtype(t);
  });
  m.def("_buffer_stats", [] {
    const BufferStats s = buffer_stats();
    py::dict d;
    d["live_buffers"] = s.live_buffers;
    d["live_bytes"] = s.live_bytes;
    d["cached_bytes"] = s.cached_bytes;
    d["cache_limit"] = cache_limit();
    return d;
  });
}

}  // namespace
}  // namespace ember::bindings

PYBIND11_MODULE(_C, m) {
  using namespace ember::bindings;
  m.doc() = "Ember's C++ core";
  init_errors();
  init_dtype(m);
  init_tensor(m);
  init_functions(m);
  init_rnn(m);
  init_optimizers(m);
  init_autograd(m);
  init_function_node(m);
  init_conv(m);
  init_linalg(m);
  init_upsample(m);
  init_padding(m);
  init_activations(m);
  init_rearrange(m);
  init_sorting(m);
  init_random(m);
  init_runtime(m);
  init_out_forms(m);              // after every function it gives out= to
  install_keepdims_functions(m);  // after the bindings it forwards to
}
