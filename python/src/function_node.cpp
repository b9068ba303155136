// The graph node of a Python ember.autograd.Function (see
// python/ember/autograd/function.py): it calls the class's backward.

#include <string>
#include <utility>
#include <vector>

#include "common.h"
#include "ember/autograd/functions/common.h"

namespace ember::bindings {
namespace {

// A Python object the engine may release on a thread that does not hold the
// GIL (graphs are freed wherever their last reference goes).
using SharedPyObject = std::shared_ptr<py::object>;
SharedPyObject share(py::object o) {
  return SharedPyObject(new py::object(std::move(o)), [](py::object* p) {
    py::gil_scoped_acquire gil;
    delete p;
  });
}

// Note [Python functions]
// Function.apply runs the user's forward with grad mode off, then
// record_function makes a PyFunctionNode the grad_fn of the outputs, with one
// edge per tensor argument. The node's apply() takes the GIL and calls the
// class's backward(ctx, *grads). Tensors given to ctx.save_for_backward are
// held here as SavedTensors (so in-place changes are caught, and a saved
// output makes no cycle), and ctx.saved_tensors holds them only while
// backward runs: ctx never owns a tensor, so the node and ctx form no cycle
// that Python's collector cannot see.
//
// Each Function subclass has its own node class (CubeBackward, made by
// FunctionMeta as a layout-compatible Python subclass of BackwardCFunction).
// The node keeps that class, and node_object() gives every Python object
// made for the node that class, wherever it is handed out (grad_fn,
// next_functions).
class PyFunctionNode final : public Node {
 public:
  const char* name() const override { return name_.c_str(); }
  uint32_t num_outputs() const override { return static_cast<uint32_t>(outputs_.size()); }
  void release_saved() override {
    for (SavedTensor& s : saved_) s.release();
  }
  TensorList apply(TensorList&& grads) override;
  // Note [Tensors and Python's cycle collector]: `ctx.out = out` is a cycle.
  void* gc_object() const override { return ctx_ ? ctx_->ptr() : nullptr; }
  // backward() is Python written with Ember's ops, which carry tangents.
  bool backward_carries_tangents() const override { return true; }
  // Function.apply sets the outputs' tangents from Function.jvp, or raises.
  bool has_forward_formula() const override { return true; }

  std::string name_;
  SharedPyObject class_;  // the Function's own node class (CubeBackward)
  SharedPyObject backward_;
  SharedPyObject ctx_;
  size_t num_args_ = 0;              // forward's arguments: backward returns one grad each
  std::vector<int> edge_of_arg_;     // edge index per argument, -1 for non-tensors
  std::vector<InputMeta> inputs_;    // per edge
  std::vector<InputMeta> outputs_;   // per output: zeros for missing gradients
  std::vector<SavedTensor> saved_;   // ctx.save_for_backward, in order
  std::vector<bool> saved_is_none_;  // save_for_backward(None) gives None back
  bool materialize_grads_ = true;
};

// Whether `from` broadcasts to `to` (right-aligned dims equal or 1).
bool expands_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  for (size_t k = 1; k <= from.size(); ++k) {
    const int64_t f = from[from.size() - k], t = to[to.size() - k];
    if (f != t && f != 1) return false;
  }
  return true;
}

TensorList PyFunctionNode::apply(TensorList&& grads) {
  py::gil_scoped_acquire gil;
  py::tuple args(grads.size() + 1);
  args[0] = *ctx_;
  for (size_t i = 0; i < grads.size(); ++i) {
    Tensor g = grads[i];
    if (!g && materialize_grads_) g = zeros(outputs_[i].shape, outputs_[i].dtype);
    args[i + 1] = g ? py::cast(g) : py::none();
  }
  py::tuple saved(saved_.size());
  for (size_t i = 0; i < saved_.size(); ++i) {
    saved[i] = saved_is_none_[i] ? py::none() : py::cast(saved_[i].unpack(*this));
  }
  py::object ctx = *ctx_;
  ctx.attr("_saved_tensors") = saved;
  py::object result;
  try {
    result = (*backward_)(*args);
  } catch (...) {
    ctx.attr("_saved_tensors") = py::none();
    throw;
  }
  ctx.attr("_saved_tensors") = py::none();
  py::tuple grads_in =
      py::isinstance<py::tuple>(result) ? py::tuple(result) : py::make_tuple(result);
  bool extra_gradient = false;  // torch accepts extra trailing Nones, nothing else
  for (size_t a = num_args_; a < grads_in.size(); ++a) extra_gradient |= !grads_in[a].is_none();
  if (grads_in.size() < num_args_ || extra_gradient) {
    throw std::runtime_error(
        "function " + name_ + " returned an incorrect number of gradients (expected " +
        std::to_string(num_args_) + ", got " + std::to_string(grads_in.size()) + ")");
  }
  TensorList out(next_edges().size());
  for (size_t a = 0; a < num_args_; ++a) {
    const int e = edge_of_arg_[a];
    py::handle g = grads_in[a];
    if (g.is_none()) continue;
    if (e < 0) {
      throw std::runtime_error(
          "function " + name_ + " returned a gradient different than None at position " +
          std::to_string(a + 1) + ", but the corresponding forward input was not a Variable");
    }
    if (!is_tensor(g)) {
      throw TypeError("function " + name_ + " returned a gradient that is not a Tensor or None");
    }
    const InputMeta& meta = inputs_[static_cast<size_t>(e)];
    Tensor t = as_tensor(g);
    if (t->shape() != meta.shape && expands_to(meta.shape, t->shape())) {
      t = sum_to(t, meta.shape);  // torch sums a broadcast gradient back, as for any op
    }
    if (t->shape() != meta.shape) {
      throw std::runtime_error("Function " + name_ + " returned an invalid gradient at index " +
                               std::to_string(a) + " - got " + shape_str(t->shape()) +
                               " but expected shape compatible with " + shape_str(meta.shape));
    }
    out[static_cast<size_t>(e)] = t->dtype() == meta.dtype ? t : to_dtype(t, meta.dtype);
  }
  return out;
}

// An argument the forward modified in place and returned (ctx.mark_dirty)
// becomes an output of the node itself, as after a built-in in-place op: its
// old history is the node's edge, its grad_fn the node. Views are rebased by
// Function.apply in Python (through copy_, which records CopySlices).
void rebase_dirty(Tensor& t, const std::shared_ptr<PyFunctionNode>& node, uint32_t output_nr) {
  if (!t->grad_fn() && t->requires_grad()) {
    throw std::runtime_error(
        "a leaf Variable that requires grad has been used in an in-place operation.");
  }
  const std::shared_ptr<Node> old_fn = t->grad_fn();
  t->bump_version();  // as torch's mark_dirty, on top of the forward's own write
  t->storage()->bump_history();
  t->set_history(node, output_nr);
  // As after a built-in in-place op: earlier hooks stay with the old values.
  if (t->hook_list()) t->drop_hook_list();
  if (old_fn) old_fn->stop_retaining(t);
  if (t->retains_grad()) watch_non_leaf(t);
}

// Connects the outputs of a Function's forward to a new PyFunctionNode and
// returns them (an output that is one of the arguments comes back as a new
// alias, so the argument's own history is left alone, as in torch, unless
// it is marked dirty).
py::tuple record_function(const std::string& name, py::object node_class, py::object backward,
                          py::object ctx, py::tuple args, py::tuple outputs, py::tuple to_save,
                          py::tuple non_differentiable, py::tuple dirty, bool materialize_grads) {
  auto node = std::make_shared<PyFunctionNode>();
  node->name_ = name;
  node->class_ = share(std::move(node_class));
  node->backward_ = share(std::move(backward));
  node->ctx_ = share(std::move(ctx));
  node->materialize_grads_ = materialize_grads;
  node->num_args_ = args.size();
  for (py::handle a : args) {
    if (!is_tensor(a)) {
      node->edge_of_arg_.push_back(-1);
      continue;
    }
    const Tensor& t = as_tensor(a);
    node->edge_of_arg_.push_back(static_cast<int>(node->next_edges().size()));
    node->next_edges().push_back(gradient_edge(t));
    node->inputs_.emplace_back(t);
  }
  auto listed = [](py::tuple list, const Tensor& t) {
    for (py::handle h : list) {
      if (is_tensor(h) && as_tensor(h) == t) return true;
    }
    return false;
  };
  for (py::handle h : dirty) {
    if (!listed(outputs, as_tensor(h))) {
      throw std::runtime_error(
          "Some elements marked as dirty during the forward method were not returned as "
          "output. The inputs that are modified inplace must all be outputs of the Function.");
    }
  }
  py::tuple result(outputs.size());
  std::vector<Tensor> outs;
  for (size_t i = 0; i < outputs.size(); ++i) {
    Tensor t = as_tensor(outputs[i]);
    const bool in_place = listed(args, t) && listed(dirty, t) && !t->is_view();
    if (listed(args, t) && !in_place) t = detach(t);
    const bool differentiable =
        !listed(non_differentiable, as_tensor(outputs[i])) && is_floating(t->dtype());
    if (in_place && differentiable) {
      rebase_dirty(t, node, static_cast<uint32_t>(i));
    } else if (differentiable) {
      t->set_history(node, static_cast<uint32_t>(i));
    }
    node->outputs_.emplace_back(t);
    outs.push_back(t);
    result[i] = t == as_tensor(outputs[i]) ? outputs[i] : py::cast(t);
  }
  for (py::handle h : to_save) {
    node->saved_is_none_.push_back(h.is_none());
    if (h.is_none()) {
      node->saved_.emplace_back();
      continue;
    }
    if (!is_tensor(h)) throw TypeError("save_for_backward can only save tensors or None");
    Tensor t = as_tensor(h);
    bool is_output = false;
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (as_tensor(outputs[i]) == t) {
        t = outs[i];
        is_output = t->grad_fn() == node;  // saved without the cycle output -> node -> output
      }
    }
    node->saved_.emplace_back(t, is_output);
  }
  return result;
}

}  // namespace

py::handle function_node_class(const Node& node) {
  const auto* fn = dynamic_cast<const PyFunctionNode*>(&node);
  return fn && fn->class_ ? py::handle(*fn->class_) : py::handle();
}

void init_function_node(py::module_& m) {
  // torch's class for the nodes of Python functions; name() gives "<Function>Backward".
  // dynamic_attr makes the type garbage-collected like its Python subclasses
  // (CubeBackward), so a node object can be given its Function's class.
  py::class_<PyFunctionNode, Node, std::shared_ptr<PyFunctionNode>>(m, "BackwardCFunction",
                                                                    py::dynamic_attr())
      // torch's grad_fn of a custom Function is its ctx; Ember's keeps the ctx
      // apart, and the Python node classes read attributes through to it.
      .def_property_readonly("_ctx", [](const PyFunctionNode& n) { return *n.ctx_; })
      .def_property_readonly("saved_tensors", [](const PyFunctionNode& n) {
        py::tuple saved(n.saved_.size());
        for (size_t i = 0; i < n.saved_.size(); ++i) {
          saved[i] = n.saved_is_none_[i] ? py::none() : py::cast(n.saved_[i].unpack(n));
        }
        return saved;
      });
  m.def("_record_function", &record_function);
}

}  // namespace ember::bindings
