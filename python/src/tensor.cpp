// ember.Tensor: the bound C++ TensorImpl, with its properties, conversions and indexing.

#include <pybind11/operators.h>

#include <atomic>
#include <unordered_map>

#include "common.h"
#include "ember/autograd/engine.h"
#include "ember/autograd/node.h"
#include "ember/kernels/elementwise.h"

namespace ember::bindings {
namespace {

// Element `flat_index` (row-major) as a Python bool, int or float; int64
// values are read exactly (a double would round above 2**53).
py::object scalar_to_python(const Tensor& t, int64_t flat_index) {
  const int64_t off = element_offset(t, flat_index);
  if (t->dtype() == DType::Bool) return py::bool_(t->data<bool>()[off]);
  if (t->dtype() == DType::Int64) return py::int_(t->data<int64_t>()[off]);
  if (is_integral(t->dtype())) return py::int_(element_as_scalar(t, flat_index).int_value);
  return py::float_(element_as_double(t, flat_index));
}

py::array to_numpy(const Tensor& t);

py::object to_list(const Tensor& t) {
  if (t->dim() == 0) return scalar_to_python(t, 0);
  // NumPy has no bfloat16; its values are exact in float32.
  const Tensor readable = t->dtype() == DType::BFloat16 ? convert(t, DType::Float32) : t;
  return to_numpy(detach(readable)).attr("tolist")();
}

// An ndarray over t's memory. It owns a reference to the Storage itself, not
// to the tensor: `t.data = other` may give the tensor new memory while the
// array still reads and writes the old.
py::array to_numpy(const Tensor& t) {
  if (t->requires_grad()) {
    throw std::runtime_error(
        "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.");
  }
  if (t->dtype() == DType::BFloat16) throw TypeError("Got unsupported ScalarType BFloat16");
  std::vector<py::ssize_t> shape(t->shape().begin(), t->shape().end());
  std::vector<py::ssize_t> strides;
  for (int64_t s : t->strides()) strides.push_back(s * static_cast<int64_t>(itemsize(t->dtype())));
  py::capsule owner(new std::shared_ptr<Storage>(t->storage()),
                    [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
  return py::array(py::dtype(dtype_name(t->dtype())), shape, strides, t->raw_data(), owner);
}

}  // namespace

Tensor from_numpy(const py::array& arr) {
  const DType dtype = dtype_of_numpy(arr.dtype());
  if (!arr.dtype().attr("isnative").cast<bool>()) {  // the bytes would be misread
    throw ValueError(
        "given numpy array has byte order different from the native byte order. Conversion "
        "between byte orders is currently not supported.");
  }
  Shape shape;
  Strides strides;
  int64_t span = 1;
  for (py::ssize_t i = 0; i < arr.ndim(); ++i) {
    if (arr.strides(i) < 0) {
      throw ValueError(
          "At least one stride in the given numpy array is negative, and tensors with negative "
          "strides are not currently supported. (You can probably work around this by making a "
          "copy of your array  with array.copy().) ");
    }
    if (arr.strides(i) % arr.itemsize() != 0) {
      throw ValueError(
          "given numpy array strides not a multiple of the element byte size. Copy "
          "the numpy array to reallocate the memory.");
    }
    shape.push_back(arr.shape(i));
    strides.push_back(arr.strides(i) / arr.itemsize());
    span += (arr.shape(i) - 1) * strides.back();
  }
  if (arr.size() == 0) span = 0;
  // The storage keeps the array alive; dropping it needs the GIL.
  auto* keep = new py::object(arr);
  std::shared_ptr<void> owner(keep, [](void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(p);
  });
  auto storage = Storage::wrap(const_cast<void*>(arr.data()),
                               static_cast<size_t>(span) * arr.itemsize(), std::move(owner));
  return std::make_shared<TensorImpl>(std::move(storage), 0, shape, strides, dtype);
}

namespace {

double one_element(const Tensor& t) {
  if (t->numel() != 1)
    throw ValueError("only one element tensors can be converted to Python scalars");
  return item_as_double(t);
}

// torch refuses a hook whose result changes the gradient's dtype or shape.
void check_hook_result(const py::object& hook, const Tensor& grad, const Tensor& out) {
  auto name = [&] { return std::string(py::str(py::getattr(hook, "__name__", py::repr(hook)))); };
  if (out->dtype() != grad->dtype()) {
    throw std::runtime_error("hook '" + name() + "' has changed the type of value (was " +
                             legacy_type_name(grad->dtype()) + " got " +
                             legacy_type_name(out->dtype()) + ")");
  }
  if (out->shape() != grad->shape()) {
    throw std::runtime_error("hook '" + name() + "' has changed the size of value");
  }
}

}  // namespace

// Python's reads and writes of a leaf's .grad take the lock its accumulator
// adds under, so `w.grad = None` while another thread's backward feeds w
// swaps the tensor between accumulations, never in the middle of one.
class LeafGradLock {
 public:
  explicit LeafGradLock(const Tensor& t) {
    if (Node* acc = t->grad_accumulator_if_made()) {
      lock_ = std::unique_lock<std::mutex>(static_cast<AccumulateGrad*>(acc)->grad_mutex());
    }
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

// Note [Tensors and Python's cycle collector]
// A tensor can hold Python objects through C++: its hooks' callables, and
// the ctx of a custom Function that is its grad_fn. When such an object
// refers back to the tensor (a hook closing over its tensor or over a module
// that owns it, `ctx.out = out`), the cycle passes through C++ and Python's
// collector cannot see it unless the tensor type reports those references.
// So the type is GC-aware, and traverse reports them only while this Python
// object is the sole owner of the TensorImpl (and of the hook list or the
// grad_fn): if a graph still holds the tensor, its hooks and ctx must outlive
// the Python object, and the collector must treat them as held from outside.
// Threads without the GIL (a backward promoting a leaf's weak reference, an op
// saving its input) can change those owner counts in the middle of a
// collection, and the collector needs the same answer from every traverse of
// one collection; so each tensor's answer is computed once per collection
// (a gc.callbacks hook in ember/__init__.py starts a new one) and reused by
// traverse and clear. Should user code remove that hook from gc.callbacks,
// the cached answers could be stale: the tensors then report nothing (their
// cycles wait) until the hook, put back, starts the next collection.
struct GcReferences {
  bool hooks = false;       // visit the hooks' callables
  bool ctx = false;         // visit the grad_fn's ctx
  bool post_hooks = false;  // visit the post-accumulate-grad hooks' callables (a leaf's)
};

// A leaf's post-accumulate-grad hooks (held by its AccumulateGrad), or null.
HookList* post_hook_list(const Tensor& t) {
  Node* node = t->grad_accumulator_if_made();
  if (!node) return nullptr;
  HookList& hooks = static_cast<AccumulateGrad*>(node)->post_accumulate_hooks();
  return hooks.empty() ? nullptr : &hooks;
}

std::unordered_map<const TensorImpl*, GcReferences>& gc_decisions() {
  static auto* decisions = new std::unordered_map<const TensorImpl*, GcReferences>();
  return *decisions;
}

struct GcCallback {
  PyObject* callbacks = nullptr;  // gc.callbacks (the list the collector reads)
  PyObject* hook = nullptr;       // ember's entry in it
  bool distrust = false;          // answers wait for the next collection start
};

GcCallback& gc_callback() {
  static auto* state = new GcCallback();
  return *state;
}

// False (and the hook put back) when the per-collection answers cannot be trusted.
bool gc_decisions_trusted() {
  GcCallback& state = gc_callback();
  if (!state.hook || state.distrust) return !state.distrust;
  // By identity: an == here could run Python code in the middle of a collection.
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(state.callbacks); ++i) {
    if (PyList_GET_ITEM(state.callbacks, i) == state.hook) return true;
  }
  if (PyList_Append(state.callbacks, state.hook) < 0) PyErr_Clear();
  state.distrust = true;
  return false;
}

GcReferences gc_references(const Tensor& t) {
  auto hooks = t->hook_list();
  const std::shared_ptr<Node>& fn = t->grad_fn();
  HookList* post_hooks = post_hook_list(t);
  if (!hooks && !post_hooks && !(fn && fn->gc_object())) return {};  // nothing Python
  if (!gc_decisions_trusted()) return {};
  auto [it, fresh] = gc_decisions().try_emplace(t.get());
  if (fresh) {
    const bool sole = t.use_count() == 1;
    // 2: the member and `hooks` above; a node that runs the list holds a third.
    it->second.hooks = sole && hooks && hooks.use_count() == 2;
    it->second.ctx = sole && fn && fn.use_count() == 1 && fn->gc_object();
    // A graph's edge into the accumulator shares the leaf, so `sole` covers it.
    it->second.post_hooks = sole && post_hooks;
  }
  return it->second;
}

// Whether self holds its Tensor yet. pybind11 allocates an instance's value
// and holder storage only after the object exists, and between the two the
// first instance of a new subclass (nn.Parameter) makes a weak reference to
// its type, which can run the cycle collector: the instance is tracked then,
// with no storage to read (a zeroed, non-simple layout).
bool holds_tensor(PyObject* self) {
  auto* inst = reinterpret_cast<py::detail::instance*>(self);
  if (!inst->simple_layout && inst->nonsimple.values_and_holders == nullptr) return false;
  return py::detail::is_holder_constructed(self);
}

int tensor_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));  // instances of heap types own their type
  if (!holds_tensor(self)) return 0;
  const Tensor& t = as_tensor(self);
  const GcReferences refs = gc_references(t);
  if (refs.hooks) {
    const int r = t->hook_list()->visit_gc_objects(
        [&](void* callable) { return visit(static_cast<PyObject*>(callable), arg); });
    if (r) return r;
  }
  if (refs.ctx) Py_VISIT(static_cast<PyObject*>(t->grad_fn()->gc_object()));
  if (refs.post_hooks) {
    Node* node = t->grad_accumulator_if_made();
    const int r = static_cast<AccumulateGrad*>(node)->post_accumulate_hooks().visit_gc_objects(
        [&](void* callable) { return visit(static_cast<PyObject*>(callable), arg); });
    if (r) return r;
  }
  return 0;
}

int tensor_clear(PyObject* self) {
  if (!holds_tensor(self)) return 0;
  const Tensor& t = as_tensor(self);
  const GcReferences refs = gc_references(t);
  if (refs.hooks) t->hook_list()->clear();
  if (refs.ctx) t->set_history(nullptr, 0);
  if (refs.post_hooks) {
    static_cast<AccumulateGrad*>(t->grad_accumulator_if_made())->post_accumulate_hooks().clear();
  }
  return 0;
}

void init_tensor(py::module_& m) {
  m.def("_gc_collection_starts", [] {
    gc_decisions().clear();
    gc_callback().distrust = false;
  });
  m.def("_gc_watch_collections", [](py::list callbacks, py::object hook) {
    gc_callback().callbacks = callbacks.release().ptr();  // kept for the process's life
    gc_callback().hook = hook.release().ptr();
  });
  py::class_<TensorImpl, Tensor> cls(m, "Tensor",
                                     py::custom_type_setup([](PyHeapTypeObject* heap_type) {
                                       PyTypeObject* type = &heap_type->ht_type;
                                       type->tp_flags |= Py_TPFLAGS_HAVE_GC;
                                       type->tp_traverse = tensor_traverse;
                                       type->tp_clear = tensor_clear;
                                     }));
  set_tensor_type(reinterpret_cast<PyTypeObject*>(cls.ptr()));

  // torch's legacy constructor: Tensor(t) aliases t's data without history
  // (used by nn.Parameter); Tensor(2, 3) and Tensor(Size) make float32 tensors
  // of those sizes; Tensor(data) converts data to float32; Tensor() is empty.
  cls.def(py::init([](const py::args& args) {
    if (args.size() == 0) return empty(Shape{0}, default_float_dtype());
    py::handle first = args[0];
    if (args.size() == 1 && is_tensor(first)) return detach(as_tensor(first));
    static py::handle size_class =
        py::object(py::module_::import("ember._size").attr("Size")).release();
    const bool sizes = py::isinstance(first, size_class) ||
                       (PyLong_Check(first.ptr()) && !PyBool_Check(first.ptr()));
    if (sizes) {
      const Shape shape = shape_from_args(args);
      for (int64_t n : shape) {
        if (n < 0) {
          throw std::runtime_error("Trying to create tensor with negative dimension " +
                                   std::to_string(n) + ": " + shape_str(shape));
        }
      }
      return empty(shape, default_float_dtype());
    }
    if (args.size() > 1 || PyFloat_Check(first.ptr()) || PyBool_Check(first.ptr())) {
      throw TypeError(std::string("new(): data must be a sequence (got ") +
                      Py_TYPE(first.ptr())->tp_name + ")");
    }
    return tensor_from_data(first, default_float_dtype());
  }));

  cls.def_property_readonly("shape", [](const Tensor& t) { return make_size(t->shape()); })
      .def_property_readonly("dtype", [](const Tensor& t) { return dtype_object(t->dtype()); })
      .def_property_readonly("ndim", [](const Tensor& t) { return t->dim(); })
      .def_property_readonly("is_leaf", [](const Tensor& t) { return !current_grad_fn(t); })
      .def_property_readonly("grad_fn",
                             [](const Tensor& t) { return node_object(current_grad_fn(t)); })
      .def_property_readonly("retains_grad", [](const Tensor& t) { return t->retains_grad(); })
      .def_property_readonly("is_cuda", [](const Tensor&) { return false; })
      .def_property_readonly("_version", [](const Tensor& t) { return t->version(); })
      .def_property_readonly("output_nr", [](const Tensor& t) { return t->output_nr(); })
      .def_property_readonly("_base", [](const Tensor& t) { return t->base(); })
      .def("_is_view", [](const Tensor& t) { return t->is_view(); })
      .def_property(
          "requires_grad", [](const Tensor& t) { return t->requires_grad(); },
          [](const Tensor& t, bool v) { t->set_requires_grad(v); })
      .def_property(
          "grad",
          [](const Tensor& t) -> py::object {
            if (current_grad_fn(t) && !t->retains_grad()) {
              if (PyErr_WarnEx(PyExc_UserWarning,
                               "The .grad attribute of a Tensor that is not a leaf Tensor is "
                               "being accessed. Its .grad attribute won't be populated during "
                               "autograd.backward(). If you indeed want the .grad field to be "
                               "populated for a non-leaf Tensor, use .retain_grad() on the "
                               "non-leaf Tensor. If you access the non-leaf Tensor by mistake, "
                               "make sure you access the leaf Tensor instead.",
                               1) < 0) {
                throw py::error_already_set();
              }
            }
            Tensor grad;
            {
              LeafGradLock lock(t);
              grad = t->grad();
            }
            if (!grad) return py::none();
            return py::cast(grad);
          },
          [](const Tensor& t, py::handle g) {
            // The old grad is freed after the lock is released: freeing it may
            // run Python code (a finalizer) that reads this .grad.
            Tensor old;
            if (g.is_none()) {
              LeafGradLock lock(t);
              old = t->grad();
              t->set_grad(nullptr);
              return;
            }
            if (!is_tensor(g)) {
              throw TypeError(std::string("assigned grad expected to be a Tensor or None but got "
                                          "grad of type ") +
                              Py_TYPE(g.ptr())->tp_name);
            }
            const Tensor& gt = as_tensor(g);
            if (gt->shape() != t->shape()) {
              throw std::runtime_error("attempting to assign a gradient of size '" +
                                       shape_str(gt->shape()) + "' to a tensor of size '" +
                                       shape_str(t->shape()) +
                                       "'. Please ensure that the gradient and the tensor are the "
                                       "same size");
            }
            if (gt->dtype() != t->dtype()) {
              throw std::runtime_error(std::string("attempting to assign a gradient with dtype '") +
                                       dtype_name(gt->dtype()) + "' to a tensor with dtype '" +
                                       dtype_name(t->dtype()) +
                                       "'. Please ensure that the gradient and the tensor have the "
                                       "same dtype");
            }
            LeafGradLock lock(t);
            old = t->grad();
            t->set_grad(gt);
          })
      .def_property(
          "data",
          [](const Tensor& t) {
            // A separate Storage over the same memory: writes through .data
            // bump a version counter of their own, as in torch.
            auto alias = Storage::wrap(t->storage()->data(), t->storage()->nbytes(), t->storage());
            return std::make_shared<TensorImpl>(alias, t->offset(), t->shape(), t->strides(),
                                                t->dtype());
          },
          [](const Tensor& t, const Tensor& other) {
            if (t->requires_grad() && !is_floating(other->dtype())) {  // its .grad would be integer
              throw std::runtime_error(
                  "data set to a tensor that requires gradients must be floating point or "
                  "complex dtype");
            }
            t->set_data(*other);
          })
      .def_property_readonly("T",
                             [](const Tensor& t) {
                               DimList dims;
                               for (int64_t d = t->dim() - 1; d >= 0; --d) dims.push_back(d);
                               return permute(t, dims);
                             })
      .def_property_readonly("mT", [](const Tensor& t) { return transpose(t, -2, -1); });

  cls.def(
         "size",
         [](const Tensor& t, py::object dim) -> py::object {
           if (dim.is_none()) return make_size(t->shape());
           return py::int_(t->size(dim.cast<int64_t>()));
         },
         py::arg("dim") = py::none())
      .def(
          "stride",
          [](const Tensor& t, py::object dim) -> py::object {
            if (dim.is_none()) {
              py::tuple out(t->strides().size());
              for (size_t i = 0; i < t->strides().size(); ++i) out[i] = t->strides()[i];
              return std::move(out);
            }
            return py::int_(t->strides()[wrap_dim(dim.cast<int64_t>(), t->dim())]);
          },
          py::arg("dim") = py::none())
      .def("dim", [](const Tensor& t) { return t->dim(); })
      .def("ndimension", [](const Tensor& t) { return t->dim(); })
      .def("numel", [](const Tensor& t) { return t->numel(); })
      .def("nelement", [](const Tensor& t) { return t->numel(); })
      .def("element_size", [](const Tensor& t) { return itemsize(t->dtype()); })
      .def("storage_offset", [](const Tensor& t) { return t->offset(); })
      .def("is_contiguous", [](const Tensor& t) { return t->is_contiguous(); })
      .def("share_memory_",
           [](py::handle self) {
             as_tensor(self)->storage()->move_to_shared_memory();
             return self;
           })
      .def("is_shared", [](const Tensor& t) { return t->storage()->is_shared(); })
      .def("is_floating_point", [](const Tensor& t) { return is_floating(t->dtype()); })
      .def("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t->raw_data()); })
      .def("item",
           [](const Tensor& t) {
             if (t->numel() != 1) {
               throw std::runtime_error("a Tensor with " + std::to_string(t->numel()) +
                                        " elements cannot be converted to Scalar");
             }
             return scalar_to_python(t, 0);
           })
      .def("tolist", &to_list)
      .def("numpy", [](py::handle self) { return to_numpy(as_tensor(self)); })
      .def(
          "__array__",
          [](py::handle self, py::object dtype, py::object) {
            if (as_tensor(self)->requires_grad()) {
              throw std::runtime_error(
                  "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                  "instead.");
            }
            py::array a = to_numpy(detach(as_tensor(self)));
            if (!dtype.is_none()) return py::array(a.attr("astype")(dtype));
            return a;
          },
          py::arg("dtype") = py::none(), py::arg("copy") = py::none())
      .def(
          "requires_grad_",
          [](py::handle self, bool v) {
            as_tensor(self)->set_requires_grad(v);
            return self;
          },
          py::arg("requires_grad") = true)
      .def("retain_grad",
           [](const Tensor& t) {
             if (!t->requires_grad()) {
               throw std::runtime_error("can't retain_grad on Tensor that has requires_grad=False");
             }
             if (!current_grad_fn(t) || t->retains_grad()) return;
             t->set_retains_grad(true);
             watch_non_leaf(t);
           })
      .def(
          "register_hook",
          [](const Tensor& t, py::function fn) {
            current_grad_fn(t);  // a stale view gets its grad_fn before the hook attaches
            if (!t->requires_grad()) {
              throw std::runtime_error(
                  "cannot register a hook on a tensor that doesn't require gradient");
            }
            // The Python callable may be released on a thread without the GIL.
            std::shared_ptr<py::object> callable(new py::object(std::move(fn)), [](py::object* p) {
              py::gil_scoped_acquire gil;
              delete p;
            });
            PyObject* gc_object = callable->ptr();  // Note [Tensors and Python's cycle collector]
            const int id = t->add_hook(
                [callable](const Tensor& grad) -> Tensor {
                  py::gil_scoped_acquire gil;
                  py::object r = (*callable)(grad);
                  if (r.is_none()) return nullptr;
                  const Tensor& out = as_tensor(r);
                  check_hook_result(*callable, grad, out);
                  return out;
                },
                gc_object);
            watch_non_leaf(t);
            return py::module_::import("ember._hooks")
                .attr("RemovableHandle")(
                    py::cpp_function([weak = std::weak_ptr<TensorImpl>(t), id] {
                      if (Tensor alive = weak.lock()) alive->remove_hook(id);
                    }));
          },
          py::arg("hook"))
      .def(
          "register_post_accumulate_grad_hook",
          [](const Tensor& t, py::function fn) {
            if (!t->requires_grad()) {
              throw std::runtime_error(
                  "cannot register a hook on a tensor that doesn't require gradient");
            }
            if (current_grad_fn(t)) {
              throw std::runtime_error(
                  "post accumulate grad hooks cannot be registered on non-leaf tensors");
            }
            auto* acc = static_cast<AccumulateGrad*>(grad_accumulator(t).get());
            std::shared_ptr<py::object> callable(new py::object(std::move(fn)), [](py::object* p) {
              py::gil_scoped_acquire gil;
              delete p;
            });
            PyObject* gc_object = callable->ptr();  // Note [Tensors and Python's cycle collector]
            const int id = acc->post_accumulate_hooks().add(
                [callable](const Tensor& leaf) -> Tensor {
                  py::gil_scoped_acquire gil;
                  py::object r = (*callable)(leaf);
                  // torch ignores a returned tensor and refuses anything else.
                  if (!r.is_none() && !is_tensor(r)) {
                    throw TypeError(std::string("expected Variable, but hook returned '") +
                                    Py_TYPE(r.ptr())->tp_name + "'");
                  }
                  return nullptr;
                },
                gc_object);
            return py::module_::import("ember._hooks")
                .attr("RemovableHandle")(
                    py::cpp_function([weak = std::weak_ptr<TensorImpl>(t), id] {
                      Tensor alive = weak.lock();
                      Node* node = alive ? alive->grad_accumulator_if_made() : nullptr;
                      if (node)
                        static_cast<AccumulateGrad*>(node)->post_accumulate_hooks().remove(id);
                    }));
          },
          py::arg("hook"))
      .def("detach_",
           [](py::handle self) {
             const Tensor& t = as_tensor(self);
             if (t->is_view() && t->grad_fn() && t->base()->requires_grad()) {
               throw std::runtime_error("Can't detach views in-place. Use detach() instead.");
             }
             t->clear_history();
             return self;
           })
      .def(
          "backward",
          [](const Tensor& t, py::object gradient, py::object retain_graph, bool create_graph,
             py::object inputs) {
            std::vector<Tensor> grads;
            // torch takes a tensor, or a sequence whose first item is one; not a number.
            py::handle g = gradient;
            if (PyList_Check(g.ptr()) || PyTuple_Check(g.ptr())) {
              if (py::len(g) == 0) throw std::runtime_error("got 1 tensors and 0 gradients");
              g = py::reinterpret_borrow<py::sequence>(g)[0];
            }
            if (!g.is_none() && !is_tensor(g)) {
              throw TypeError(std::string("gradients can be either Tensors or None, but got ") +
                              Py_TYPE(g.ptr())->tp_name);
            }
            if (!g.is_none()) grads.push_back(as_tensor(g));
            const bool keep = retain_graph.is_none() ? create_graph : retain_graph.cast<bool>();
            std::vector<Tensor> in;
            if (!inputs.is_none()) {
              if (is_tensor(inputs)) {
                in.push_back(as_tensor(inputs));
              } else {
                for (py::handle h : inputs) in.push_back(as_tensor(h));
              }
              if (in.empty())
                throw std::runtime_error("'inputs' argument to backward() cannot be empty.");
            }
            py::gil_scoped_release no_gil;
            Engine::backward({t}, grads, keep, create_graph, in);
          },
          py::arg("gradient") = py::none(), py::arg("retain_graph") = py::none(),
          py::arg("create_graph") = false, py::arg("inputs") = py::none())
      .def("__len__",
           [](const Tensor& t) {
             if (t->dim() == 0) throw TypeError("len() of a 0-d tensor");
             return t->shape()[0];
           })
      .def("__bool__",
           [](const Tensor& t) {
             if (t->numel() != 1) {
               throw std::runtime_error(t->numel() == 0
                                            ? "Boolean value of Tensor with no values is ambiguous"
                                            : "Boolean value of Tensor with more than one value is "
                                              "ambiguous");
             }
             return item_as_double(t) != 0.0;
           })
      .def("__float__",
           [](const Tensor& t) {
             // Once per process, as torch warns (TORCH_WARN_ONCE), and not
             // under no_grad (an optimizer reading its loss).
             static std::atomic<bool> warned{false};
             if (t->requires_grad() && GradMode::is_enabled() && !warned.exchange(true) &&
                 PyErr_WarnEx(PyExc_UserWarning,
                              "Converting a tensor with requires_grad=True to a scalar may lead "
                              "to unexpected behavior.\nConsider using tensor.detach() first.",
                              1) < 0) {
               throw py::error_already_set();
             }
             return one_element(t);
           })
      .def("__int__",
           [](const Tensor& t) -> py::object {
             if (is_integral(t->dtype())) {
               if (t->numel() != 1) {
                 throw ValueError("only one element tensors can be converted to Python scalars");
               }
               return scalar_to_python(t, 0);
             }
             return py::int_(py::float_(one_element(t)));  // NaN/inf raise as in Python
           })
      .def("__index__",
           [](const Tensor& t) {
             if (!is_integral(t->dtype()) || t->numel() != 1) {
               throw TypeError(
                   "only integer tensors of a single element can be converted to an index");
             }
             return item_as_scalar(t).int_value;
           })
      .def("__hash__", [](py::handle self) { return reinterpret_cast<intptr_t>(self.ptr()) >> 4; })
      .def("__getitem__", &get_item)
      .def("__setitem__",
           [](Tensor t, py::handle idx, py::handle value) { set_item(t, idx, value); })
      .def("__iter__", [](py::handle self) {
        const Tensor& t = as_tensor(self);
        if (t->dim() == 0) throw TypeError("iteration over a 0-d tensor");
        py::list rows;
        for (int64_t i = 0; i < t->shape()[0]; ++i) rows.append(py::cast(select(t, 0, i)));
        return rows.attr("__iter__")();
      });

  m.def("from_numpy", &from_numpy, py::arg("ndarray"));

  // Storage sharing for ember.save/ember.load (torch's checkpoint format names
  // storages, and tensors by offset, sizes and strides into them).
  // _storage_info(t): (address, nbytes) of the buffer t views; equal addresses
  // mean shared memory.
  m.def("_storage_info", [](const Tensor& t) {
    const auto& s = t->storage();
    return py::make_tuple(reinterpret_cast<uintptr_t>(s->data()), s->nbytes());
  });
  // _storage_view(t, offset, sizes, strides): a tensor over t's storage, with
  // no history and no base (as torch.load's tensors sharing one storage).
  // Everything is checked against the storage's size: the values may come
  // from a corrupted file.
  m.def("_storage_view", [](const Tensor& t, int64_t offset, const std::vector<int64_t>& sizes,
                            const std::vector<int64_t>& strides) {
    if (sizes.size() != strides.size()) {
      throw ValueError("sizes and strides must have the same length, got " +
                       std::to_string(sizes.size()) + " and " + std::to_string(strides.size()));
    }
    const int64_t elems = static_cast<int64_t>(t->storage()->nbytes() / itemsize(t->dtype()));
    if (offset < 0) throw ValueError("storage offset must be non-negative");
    int64_t last = offset;  // the largest element index the view reaches
    bool empty = false;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (sizes[i] < 0 || strides[i] < 0) {
        throw ValueError("sizes and strides must be non-negative");
      }
      if (sizes[i] == 0) empty = true;
    }
    if (!empty) {
      for (size_t i = 0; i < sizes.size(); ++i) {
        int64_t step = 0;
        if (__builtin_mul_overflow(sizes[i] - 1, strides[i], &step) ||
            __builtin_add_overflow(last, step, &last)) {
          throw ValueError("sizes and strides overflow");
        }
      }
    }
    if ((!empty && last >= elems) || offset > elems) {
      throw ValueError("a view of " + std::to_string(elems) + " elements cannot reach element " +
                       std::to_string(last) + " (storage offset " + std::to_string(offset) + ")");
    }
    return Tensor(
        std::make_shared<TensorImpl>(t->storage(), offset, Shape(sizes.begin(), sizes.end()),
                                     Strides(strides.begin(), strides.end()), t->dtype()));
  });
  m.def("is_tensor", [](py::handle h) { return is_tensor(h); });

  init_tensor_methods(m, cls);
  init_scans_and_indexing(m, cls);
  install_fast_methods(cls);  // after the bindings it forwards to
}

}  // namespace ember::bindings
