// Graph nodes as Python classes named like torch's, grad mode, and the engine entry points.

#include <sstream>
#include <utility>

#include "common.h"
#include "ember/autograd/engine.h"
#include "ember/autograd/functions/elementwise.h"
#include "ember/autograd/functions/linalg.h"
#include "ember/autograd/functions/nn.h"
#include "ember/autograd/functions/placement.h"
#include "ember/autograd/functions/reduce.h"
#include "ember/autograd/functions/shape.h"
#include "ember/autograd/functions/special.h"
#include "ember/ops/binary.h"
#include "ember/ops/unary.h"

namespace ember::bindings {

std::string as_node_name(py::handle node);

namespace {

using NodeClass = py::class_<Node, std::shared_ptr<Node>>;

// One class per unary table entry that records its own node (Note [Op table]).
template <size_t... I>
void bind_unary_nodes(py::module_& m, std::index_sequence<I...>) {
  auto bind_one = [&m](auto op) {
    constexpr UnaryOp kOp = decltype(op)::value;
    if (const char* name = unary_entry(kOp).node_name) {
      bind_node<UnaryNode<kOp>, UnaryNodeBase>(m, name);
    }
  };
  (bind_one(std::integral_constant<UnaryOp, static_cast<UnaryOp>(I)>{}), ...);
}

// One class per binary table entry (Note [Binary op table]).
template <size_t... I>
void bind_binary_nodes(py::module_& m, std::index_sequence<I...>) {
  auto bind_one = [&m](auto fn) {
    constexpr BinaryFn kFn = decltype(fn)::value;
    bind_node<BinaryNode<kFn>, BinaryNodeBase>(m, binary_entry(kFn).node_name);
  };
  (bind_one(std::integral_constant<BinaryFn, static_cast<BinaryFn>(I)>{}), ...);
}

std::vector<Tensor> tensor_list(py::handle h) {
  std::vector<Tensor> out;
  if (h.is_none()) return out;
  if (is_tensor(h)) {
    out.push_back(as_tensor(h));
    return out;
  }
  for (py::handle item : h) out.push_back(item.is_none() ? nullptr : as_tensor(item));
  return out;
}

// `x * 2` records its node with one edge; torch wraps the 2 in a tensor and
// lists it as a second, empty edge, which printed graphs show as (None, 0).
// These are the table entries recorded for both tensor forms.
bool has_scalar_operand(const Node& n) {
  if (n.next_edges().size() != 1) return false;
  const auto* binary = dynamic_cast<const BinaryNodeBase*>(&n);
  constexpr uint8_t both = binary_form::TensorTensor | binary_form::TensorScalar;
  return binary && (binary->entry().forms & both) == both;
}

// Note [Node hooks]
// grad_fn.register_prehook(fn) and register_hook(fn) as torch's: fn gets
// tuples (None for a missing gradient) and may return replacements. The
// engine calls hooks without the GIL, so each call takes it, and the Python
// callable is released under the GIL wherever the node dies.
using SharedHook = std::shared_ptr<py::object>;
SharedHook share_hook(py::object fn) {
  return SharedHook(new py::object(std::move(fn)), [](py::object* p) {
    py::gil_scoped_acquire gil;
    delete p;
  });
}

// `padding` trailing Nones stand for the empty edge of a scalar operand
// (has_scalar_operand), which torch's hooks see too.
py::tuple as_python(const TensorList& grads, size_t padding = 0) {
  py::tuple out(grads.size() + padding);
  for (size_t i = 0; i < grads.size(); ++i) out[i] = grads[i] ? py::cast(grads[i]) : py::none();
  for (size_t i = grads.size(); i < out.size(); ++i) out[i] = py::none();
  return out;
}

// A hook's return value: None keeps `grads`; a tuple (or one tensor) replaces them.
void replace_from(py::handle result, TensorList& grads, const py::object& hook,
                  size_t padding = 0) {
  if (result.is_none()) return;
  py::tuple values = py::isinstance<py::tuple>(result) ? py::reinterpret_borrow<py::tuple>(result)
                     : py::isinstance<py::list>(result)
                         ? py::tuple(py::reinterpret_borrow<py::list>(result))
                         : py::make_tuple(result);
  const size_t expected = grads.size() + padding;
  if (values.size() != expected) {
    throw std::runtime_error("hook '" + py::str(hook.attr("__name__")).cast<std::string>() +
                             "' has returned an incorrect number of values (got " +
                             std::to_string(values.size()) + ", but expected " +
                             std::to_string(expected) + ")");
  }
  for (size_t i = 0; i < grads.size(); ++i) {
    grads[i] = values[i].is_none() ? Tensor() : as_tensor(values[i]);
  }
}

Node::PreHook pre_hook_calling(SharedHook fn) {
  return [fn](TensorList& grad_outputs) {
    py::gil_scoped_acquire gil;
    replace_from((*fn)(as_python(grad_outputs)), grad_outputs, *fn);
  };
}

// `node` owns the hook, so the raw pointer outlives it.
Node::PostHook post_hook_calling(SharedHook fn, const Node* node) {
  return [fn, node](TensorList& grad_inputs, const TensorList& grad_outputs) {
    py::gil_scoped_acquire gil;
    const size_t padding = has_scalar_operand(*node) ? 1 : 0;
    replace_from((*fn)(as_python(grad_inputs, padding), as_python(grad_outputs)), grad_inputs, *fn,
                 padding);
  };
}

// torch's RemovableHandle; it holds the node weakly.
py::object removable(Node& n, int id) {
  std::weak_ptr<Node> weak = n.shared_from_this();
  py::cpp_function remove([weak, id]() {
    if (auto node = weak.lock()) node->remove_hook(id);
  });
  return py::module_::import("ember._hooks").attr("RemovableHandle")(remove);
}

// One class per name the renamed ops record (RenamedNode in ops.h).
template <size_t... I>
void bind_renamed(py::module_& m, std::index_sequence<I...>) {
  (bind_node<Renamed<static_cast<RenamedNode>(I)>>(m,
                                                   renamed_node_name(static_cast<RenamedNode>(I))),
   ...);
}

void bind_nodes(py::module_& m) {
  NodeClass node(m, "Node");
  node.def("name", [](const Node& n) { return std::string(n.name()); })
      .def_property_readonly("next_functions",
                             [](const Node& n) {
                               const size_t edges = n.next_edges().size();
                               py::tuple out(edges + (has_scalar_operand(n) ? 1 : 0));
                               for (size_t i = 0; i < edges; ++i) {
                                 const Edge& e = n.next_edges()[i];
                                 py::object fn = node_object(e.node);
                                 out[i] = py::make_tuple(fn, e.input_nr);
                               }
                               if (out.size() > edges) out[edges] = py::make_tuple(py::none(), 0);
                               return out;
                             })
      .def("_sequence_nr", [](const Node& n) { return n.sequence_nr(); })
      .def(
          "register_prehook",
          [](Node& n, py::object hook) {
            return removable(n, n.add_pre_hook(pre_hook_calling(share_hook(std::move(hook)))));
          },
          py::arg("fn"))
      .def(
          "register_hook",
          [](Node& n, py::object hook) {
            return removable(n,
                             n.add_post_hook(post_hook_calling(share_hook(std::move(hook)), &n)));
          },
          py::arg("fn"))
      .def("__repr__",
           [](py::handle self) {
             std::ostringstream s;
             s << "<" << as_node_name(self) << " object at 0x" << std::hex
               << reinterpret_cast<uintptr_t>(self.ptr()) << ">";
             return s.str();
           })
      .def("__call__", [](Node& n, py::args grads) -> py::object {
        // As torch: one argument per output of the forward op; with no
        // gradient at all the formula is not run (it assumes at least one).
        const size_t expected = n.num_outputs();
        if (grads.size() != expected) {
          throw TypeError("expected " + std::to_string(expected) + " arguments, got " +
                          std::to_string(grads.size()) + " instead");
        }
        TensorList in;
        bool any_grad = false;
        for (py::handle g : grads) {
          in.push_back(g.is_none() ? nullptr : as_tensor(g));
          any_grad = any_grad || in.back();
        }
        const TensorList out =
            any_grad ? n.apply(std::move(in)) : TensorList(n.next_edges().size());
        auto to_python = [](const Tensor& t) -> py::object { return t ? py::cast(t) : py::none(); };
        if (out.size() == 1) return to_python(out[0]);
        py::tuple result(out.size());
        for (size_t i = 0; i < out.size(); ++i) result[i] = to_python(out[i]);
        return std::move(result);
      });
  py::class_<AccumulateGrad, Node, std::shared_ptr<AccumulateGrad>>(m, "AccumulateGrad")
      .def_property_readonly("variable", [](const AccumulateGrad& a) { return a.variable(); });

  py::class_<UnaryNodeBase, Node, std::shared_ptr<UnaryNodeBase>>(m, "_UnaryNode");
  bind_unary_nodes(m, std::make_index_sequence<kUnaryOpCount>{});
  py::class_<BinaryNodeBase, Node, std::shared_ptr<BinaryNodeBase>>(m, "_BinaryNode");
  bind_binary_nodes(m, std::make_index_sequence<kBinaryFnCount>{});
#define EMBER_BIND(NAME) bind_node<NAME>(m, #NAME)
  // elementwise
  EMBER_BIND(ClampBackward0);
  EMBER_BIND(ClampBackward1);
  EMBER_BIND(WhereBackward0);
  EMBER_BIND(NotImplemented);
  EMBER_BIND(ToCopyBackward0);
  EMBER_BIND(CloneBackward0);
  EMBER_BIND(PolygammaBackward0);
  EMBER_BIND(EqBackward0);
  EMBER_BIND(EqBackward1);
  EMBER_BIND(NeBackward0);
  EMBER_BIND(NeBackward1);
  EMBER_BIND(LtBackward0);
  EMBER_BIND(LtBackward1);
  EMBER_BIND(LeBackward0);
  EMBER_BIND(LeBackward1);
  EMBER_BIND(GtBackward0);
  EMBER_BIND(GtBackward1);
  EMBER_BIND(GeBackward0);
  EMBER_BIND(GeBackward1);
  EMBER_BIND(DiagonalBackward0);
  EMBER_BIND(DiagonalBackwardBackward0);
  EMBER_BIND(GeluBackward0);
  EMBER_BIND(FillBackward0);
  EMBER_BIND(ZeroBackward0);
  EMBER_BIND(CopyBackwards);
  EMBER_BIND(CopySlices);
  EMBER_BIND(AsStridedBackward0);
  EMBER_BIND(AsStridedBackward1);
  EMBER_BIND(AsStridedScatterBackward0);
  // reductions
  EMBER_BIND(SumBackward0);
  EMBER_BIND(ProdBackward0);
  EMBER_BIND(ProdBackward1);
  EMBER_BIND(CumsumBackward0);
  EMBER_BIND(CumprodBackward0);
  EMBER_BIND(LogcumsumexpBackward0);
  EMBER_BIND(CummaxBackward0);
  EMBER_BIND(CumminBackward0);
  EMBER_BIND(KthvalueBackward0);
  EMBER_BIND(ModeBackward0);
  EMBER_BIND(RenormBackward0);
  EMBER_BIND(SumBackward1);
  EMBER_BIND(NansumBackward0);
  EMBER_BIND(AminmaxBackward0);
  EMBER_BIND(VarMeanBackward0);
  EMBER_BIND(StdMeanBackward0);
  EMBER_BIND(DistBackward0);
  EMBER_BIND(MeanBackward0);
  EMBER_BIND(MeanBackward1);
  EMBER_BIND(VarBackward0);
  EMBER_BIND(StdBackward0);
  EMBER_BIND(LinalgVectorNormBackward0);
  EMBER_BIND(MaxBackward0);
  EMBER_BIND(MaxBackward1);
  EMBER_BIND(MinBackward0);
  EMBER_BIND(MinBackward1);
  // products
  EMBER_BIND(DotBackward0);
  EMBER_BIND(MvBackward0);
  EMBER_BIND(MmBackward0);
  EMBER_BIND(BmmBackward0);
  EMBER_BIND(AddmmBackward0);
  EMBER_BIND(BaddbmmBackward0);
  EMBER_BIND(AddmvBackward0);
  EMBER_BIND(AddrBackward0);
  EMBER_BIND(AddbmmBackward0);
  // shapes
  EMBER_BIND(ViewBackward0);
  EMBER_BIND(UnsafeViewBackward0);
  EMBER_BIND(ExpandBackward0);
  EMBER_BIND(SqueezeBackward0);
  EMBER_BIND(SqueezeBackward1);
  EMBER_BIND(SqueezeBackward2);
  EMBER_BIND(SqueezeBackward4);
  EMBER_BIND(SqueezeBackward3);
  EMBER_BIND(SqueezeBackward5);
  EMBER_BIND(ReshapeAliasBackward0);
  EMBER_BIND(AliasBackward0);
  EMBER_BIND(UnsqueezeBackward0);
  EMBER_BIND(UnsqueezeBackward1);
  EMBER_BIND(TransposeBackward0);
  EMBER_BIND(TransposeBackward1);
  EMBER_BIND(TBackward0);
  EMBER_BIND(TBackward1);
  EMBER_BIND(PermuteBackward0);
  EMBER_BIND(SliceBackward0);
  EMBER_BIND(SelectBackward0);
  EMBER_BIND(SplitBackward0);
  EMBER_BIND(SplitWithSizesBackward0);
  EMBER_BIND(UnbindBackward0);
  EMBER_BIND(SliceBackwardBackward0);
  EMBER_BIND(SelectBackwardBackward0);
  EMBER_BIND(CatBackward0);
  EMBER_BIND(StackBackward0);
  EMBER_BIND(IndexBackward0);
  EMBER_BIND(IndexSelectBackward0);
  EMBER_BIND(MaskedSelectBackward0);
  EMBER_BIND(RepeatBackward0);
  EMBER_BIND(IndexAddBackward0);
  EMBER_BIND(SelectScatterBackward0);
  EMBER_BIND(SliceScatterBackward0);
  EMBER_BIND(DiagonalScatterBackward0);
  EMBER_BIND(MaskedScatterBackward0);
  EMBER_BIND(MaskedScatterBackwardBackward0);
  EMBER_BIND(DiagEmbedBackward0);
  EMBER_BIND(BlockDiagBackward0);
  EMBER_BIND(GatherBackward0);
  EMBER_BIND(ScatterAddBackward0);
  EMBER_BIND(ScatterBackward0);
  EMBER_BIND(ScatterBackward1);
  EMBER_BIND(ScatterReduceBackward0);
  EMBER_BIND(TakeBackward0);
  EMBER_BIND(IndexFillBackward0);
  EMBER_BIND(IndexFillBackward1);
  EMBER_BIND(IndexCopyBackward0);
  EMBER_BIND(UnfoldBackward0);
  EMBER_BIND(UnfoldBackwardBackward0);
  EMBER_BIND(Rot90Backward0);
  EMBER_BIND(IndexPutImplBackward0);
  // nn
  EMBER_BIND(SoftmaxBackward0);
  EMBER_BIND(LogSoftmaxBackward0);
  EMBER_BIND(NativeLayerNormBackward0);
  EMBER_BIND(AmaxBackward0);
  EMBER_BIND(AminBackward0);
  EMBER_BIND(NativeBatchNormBackward0);
  EMBER_BIND(EmbeddingBackward0);
  EMBER_BIND(EmbeddingDenseBackwardBackward0);
  EMBER_BIND(MseLossBackward0);
  EMBER_BIND(SmoothL1LossBackward0);
  EMBER_BIND(HuberLossBackward0);
  EMBER_BIND(BinaryCrossEntropyWithLogitsBackward0);
  EMBER_BIND(BinaryCrossEntropyBackward0);
  EMBER_BIND(NllLossBackward0);
  EMBER_BIND(NllLoss2DBackward0);
#undef EMBER_BIND
  bind_renamed(m, std::make_index_sequence<static_cast<size_t>(RenamedNode::UnbindCopy) + 1>{});
}

}  // namespace

// The name reprs show: torch prints `<CopySlices ...>` for the node whose
// name() is "torch::autograd::CopySlices".
py::object node_object(const std::shared_ptr<Node>& node) {
  if (!node) return py::none();
  py::object obj = py::cast(node);
  py::handle cls = function_node_class(*node);
  if (cls && py::type::handle_of(obj).ptr() != cls.ptr()) obj.attr("__class__") = cls;
  return obj;
}

std::string as_node_name(py::handle node) {
  const std::string name = py::cast<const Node&>(node).name();
  const size_t scope = name.rfind("::");
  return scope == std::string::npos ? name : name.substr(scope + 2);
}

namespace {

// Forward-mode AD (Note [Forward-mode AD]); ember.autograd.forward_ad checks the arguments.
void bind_forward_ad(py::module_& m) {
  m.def("_enter_dual_level", &forward_ad::enter_level);
  m.def("_exit_dual_level", &forward_ad::exit_level, py::arg("level"));
  m.def("_current_dual_level", &forward_ad::current_level);
  // A view of the primal carrying the tangent (torch records ViewBackward0).
  m.def("_make_dual", [](const Tensor& primal, const Tensor& tangent) {
    Tensor dual = view(primal, DimList(primal->shape().begin(), primal->shape().end()));
    forward_ad::set_tangent(dual, tangent);
    return dual;
  });
  // The tangent of the open level, or None.
  m.def("_tangent", &forward_ad::tangent);
  m.def("_set_tangent", &forward_ad::set_tangent, py::arg("tensor"), py::arg("tangent"));
  // Around a custom Function's forward and jvp, whose ops compute no tangents
  // (forward_ad::FormulaScope).
  m.def("_enter_formula_scope", [] { ++forward_ad::detail::formula_depth; });
  m.def("_exit_formula_scope", [] { --forward_ad::detail::formula_depth; });
  // The unary op table (Note [Op table]), for tests that walk it.
  m.def("_unary_op_table", [] {
    py::list out;
    for (size_t i = 0; i < kUnaryOpCount; ++i) {
      const UnaryEntry& e = unary_entry(static_cast<UnaryOp>(i));
      if (!e.times_derivative) continue;
      py::dict d;
      d["name"] = e.name;
      d["node_name"] = e.node_name ? py::str(e.node_name) : py::str("PowBackward0");
      d["saves"] = e.saves == Saves::Input    ? "input"
                   : e.saves == Saves::Result ? "result"
                                              : "nothing";
      out.append(d);
    }
    return out;
  });
  // The binary op table (Note [Binary op table]), for tests that walk it.
  m.def("_binary_op_table", [] {
    py::list out;
    for (size_t i = 0; i < kBinaryFnCount; ++i) {
      const BinaryEntry& e = binary_entry(static_cast<BinaryFn>(i));
      py::list forms, saves;
      if (e.forms & binary_form::TensorTensor) forms.append("tensor-tensor");
      if (e.forms & binary_form::TensorScalar) forms.append("tensor-scalar");
      if (e.forms & binary_form::ScalarTensor) forms.append("scalar-tensor");
      const uint8_t reads = e.self_reads | e.other_reads;
      if (reads & binary_reads::Self) saves.append("self");
      if (reads & binary_reads::Other) saves.append("other");
      if (reads & binary_reads::Result) saves.append("result");
      if (reads & binary_reads::Aux) saves.append("aux");
      py::dict d;
      d["name"] = e.name;
      d["node_name"] = e.node_name;
      d["forms"] = forms;
      d["saves"] = saves;
      d["scalar"] = e.scalar == ScalarUse::Unused       ? "unused"
                    : e.scalar == ScalarUse::Releasable ? "releasable"
                                                        : "kept";
      out.append(d);
    }
    return out;
  });
  // A view of t without its tangent (t keeps it).
  m.def("_primal", [](const Tensor& t) {
    Tensor primal = alias(t);
    if (forward_ad::active()) forward_ad::set_tangent(primal, nullptr);
    return primal;
  });
}

}  // namespace

void init_autograd(py::module_& m) {
  bind_nodes(m);
  bind_forward_ad(m);
  m.def("is_grad_enabled", [] { return GradMode::is_enabled(); });
  m.def("_set_grad_enabled", [](bool v) { GradMode::set_user_enabled(v); });
  // Sets grad mode and returns the previous one: a grad-mode switch's entry in one call.
  m.def("_exchange_grad_enabled", [](bool v) {
    const bool previous = GradMode::is_enabled();
    GradMode::set_user_enabled(v);
    return previous;
  });
  m.def("_set_anomaly_enabled", &AnomalyMode::set_enabled, py::arg("enabled"),
        py::arg("check_nan") = true);
  m.def("is_anomaly_enabled", [] { return AnomalyMode::is_enabled(); });
  m.def("_is_checkpoint_valid", [] { return Engine::is_checkpoint_valid(); });
  m.def("_next_sequence_nr", [] { return peek_sequence_nr(); });
  m.def("is_anomaly_check_nan_enabled", [] { return AnomalyMode::checks_nan(); });
  m.def(
      "_backward",
      [](py::handle tensors, py::handle grad_tensors, py::object retain_graph, bool create_graph,
         py::handle inputs) {
        std::vector<Tensor> roots = tensor_list(tensors);
        std::vector<Tensor> grads = tensor_list(grad_tensors);
        const bool keep = retain_graph.is_none() ? create_graph : retain_graph.cast<bool>();
        std::vector<Tensor> in = tensor_list(inputs);
        py::gil_scoped_release no_gil;
        Engine::backward(roots, grads, keep, create_graph, in);
      },
      py::arg("tensors"), py::arg("grad_tensors") = py::none(),
      py::arg("retain_graph") = py::none(), py::arg("create_graph") = false,
      py::arg("inputs") = py::none());
  m.def(
      "_grad",
      [](py::handle outputs, py::handle inputs, py::handle grad_outputs, py::object retain_graph,
         bool create_graph, bool allow_unused) {
        std::vector<Tensor> roots = tensor_list(outputs);
        std::vector<Tensor> in = tensor_list(inputs);
        std::vector<Tensor> grads = tensor_list(grad_outputs);
        const bool keep = retain_graph.is_none() ? create_graph : retain_graph.cast<bool>();
        std::vector<Tensor> result;
        {
          py::gil_scoped_release no_gil;
          result = Engine::grad(roots, grads, in, keep, create_graph, allow_unused);
        }
        py::tuple out(result.size());
        for (size_t i = 0; i < result.size(); ++i)
          out[i] = result[i] ? py::cast(result[i]) : py::none();
        return out;
      },
      py::arg("outputs"), py::arg("inputs"), py::arg("grad_outputs") = py::none(),
      py::arg("retain_graph") = py::none(), py::arg("create_graph") = false,
      py::arg("allow_unused") = false);
}

}  // namespace ember::bindings
