// Python's operators on ember.Tensor: `a + b`, `2.0 * a`, `m @ v`, `-a`,
// comparisons and the in-place forms. Each binding only converts operands.

#include "common.h"

namespace ember::bindings {
namespace {

using TensorClass = py::class_<TensorImpl, Tensor>;

// One binary operator: what `tensor op other` and `other op tensor` compute.
struct BinaryOperator {
  const char* name;                                           // "__add__"
  const char* reflected;                                      // "__radd__"
  Tensor (*tensors)(const Tensor& a, const Tensor& b);        // a op b
  Tensor (*tensor_scalar)(const Tensor& a, const Scalar& s);  // a op s; nullptr: tensors only
  Tensor (*scalar_tensor)(const Scalar& s, const Tensor& a);  // s op a
};

// clang-format off
const BinaryOperator kAdd{"__add__", "__radd__",
    [](const Tensor& a, const Tensor& b) { return add(a, b); },
    [](const Tensor& a, const Scalar& s) { return add(a, s); },
    [](const Scalar& s, const Tensor& a) { return add(a, s); }};
const BinaryOperator kSub{"__sub__", "__rsub__",
    [](const Tensor& a, const Tensor& b) { return sub(a, b); },
    [](const Tensor& a, const Scalar& s) { return sub(a, s); },
    [](const Scalar& s, const Tensor& a) { return rsub(a, s); }};
const BinaryOperator kMul{"__mul__", "__rmul__",
    [](const Tensor& a, const Tensor& b) { return mul(a, b); },
    [](const Tensor& a, const Scalar& s) { return mul(a, s); },
    [](const Scalar& s, const Tensor& a) { return mul(a, s); }};
const BinaryOperator kDiv{"__truediv__", "__rtruediv__",
    [](const Tensor& a, const Tensor& b) { return div(a, b); },
    [](const Tensor& a, const Scalar& s) { return div(a, s); },
    [](const Scalar& s, const Tensor& a) { return rdiv(a, s); }};
const BinaryOperator kPow{"__pow__", "__rpow__",
    [](const Tensor& a, const Tensor& b) { return pow(a, b); },
    [](const Tensor& a, const Scalar& s) { return pow(a, s); },
    [](const Scalar& s, const Tensor& a) { return rpow(a, s); }};
const BinaryOperator kMatmul{"__matmul__", "__rmatmul__",
    [](const Tensor& a, const Tensor& b) { return matmul(a, b); }, nullptr, nullptr};
const BinaryOperator kFloorDiv{"__floordiv__", "__rfloordiv__",
    [](const Tensor& a, const Tensor& b) { return floor_divide(a, b); },
    [](const Tensor& a, const Scalar& s) { return floor_divide(a, s); },
    [](const Scalar& s, const Tensor& a) { return floor_divide(a, s, /*scalar_first=*/true); }};
const BinaryOperator kMod{"__mod__", "__rmod__",
    [](const Tensor& a, const Tensor& b) { return remainder(a, b); },
    [](const Tensor& a, const Scalar& s) { return remainder(a, s); },
    [](const Scalar& s, const Tensor& a) { return remainder(a, s, /*scalar_first=*/true); }};
// clang-format on

template <BinaryOp op>
Tensor bitwise_tensors(const Tensor& a, const Tensor& b) {
  return bitwise(op, a, b);
}
template <BinaryOp op>
Tensor bitwise_tensor_scalar(const Tensor& a, const Scalar& s) {
  return bitwise(op, a, s);
}
template <BinaryOp op>
Tensor bitwise_scalar_tensor(const Scalar& s, const Tensor& a) {
  return bitwise(op, a, s, /*scalar_first=*/true);
}
template <BinaryOp op>
constexpr BinaryOperator bitwise_operator(const char* name, const char* reflected) {
  return {name, reflected, bitwise_tensors<op>, bitwise_tensor_scalar<op>,
          bitwise_scalar_tensor<op>};
}
const BinaryOperator kAnd = bitwise_operator<BinaryOp::BitAnd>("__and__", "__rand__");
const BinaryOperator kOr = bitwise_operator<BinaryOp::BitOr>("__or__", "__ror__");
const BinaryOperator kXor = bitwise_operator<BinaryOp::BitXor>("__xor__", "__rxor__");
const BinaryOperator kShiftLeft =
    bitwise_operator<BinaryOp::ShiftLeft>("__lshift__", "__rlshift__");
const BinaryOperator kShiftRight =
    bitwise_operator<BinaryOp::ShiftRight>("__rshift__", "__rrshift__");

// `self op other`, or `other op self` when reflected; self is a tensor.
// NotImplemented for operands ember does not take, so Python tries the other
// operand's method (NumPy arrays, user types).
py::object apply(const BinaryOperator& op, py::handle self, py::handle other, bool reflected) {
  const Tensor& a = as_tensor(self);
  Tensor out;
  if (is_tensor(other) || py::isinstance<py::array>(other)) {
    // A NumPy array operand becomes a tensor, as in torch (Tensor's high
    // __array_priority__ makes NumPy hand `array op tensor` to us as well).
    const Tensor b = is_tensor(other) ? as_tensor(other) : tensor_from_data(other, std::nullopt);
    MaybeReleaseGIL gil(a->numel() + b->numel());
    out = reflected ? op.tensors(b, a) : op.tensors(a, b);
  } else if (std::optional<Scalar> s; op.tensor_scalar && (s = as_scalar(other))) {
    MaybeReleaseGIL gil(a->numel());
    out = reflected ? op.scalar_tensor(*s, a) : op.tensor_scalar(a, *s);
  } else {
    return py::reinterpret_borrow<py::object>(Py_NotImplemented);
  }
  return py::cast(std::move(out));
}

// Note [Operator slots]
// Python runs `a + b` through the nb_add slot of a's (or b's) type. For a
// class with a bound `__add__`, that slot is a generic wrapper: it looks the
// method up, binds it and runs pybind11's overload dispatcher, which costs as
// much as the whole op on a small tensor. Ember points the slots of
// ember.Tensor at the functions below, which call `apply` directly. The
// `__add__`/`__radd__` methods stay bound (same `apply`) for explicit calls,
// and Python subclasses (nn.Parameter) reach them through the generic
// wrapper, which also honours a subclass's own overrides.
template <const BinaryOperator& op>
PyObject* binary_slot(PyObject* left, PyObject* right) {
  try {
    if (is_tensor(left)) return apply(op, left, right, /*reflected=*/false).release().ptr();
    return apply(op, right, left, /*reflected=*/true).release().ptr();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (...) {
    py::detail::try_translate_exceptions();
  }
  return nullptr;
}

// `a ** b` has a third operand (`pow(a, b, mod)`) that tensors do not take.
PyObject* power_slot(PyObject* left, PyObject* right, PyObject* mod) {
  if (mod != Py_None) Py_RETURN_NOTIMPLEMENTED;
  return binary_slot<kPow>(left, right);
}

PyObject* negative_slot(PyObject* self) {
  try {
    const Tensor& a = as_tensor(self);
    Tensor out;
    {
      MaybeReleaseGIL gil(a->numel());
      out = unary(UnaryOp::Neg, a);
    }
    return py::cast(std::move(out)).release().ptr();  // with the GIL held
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (...) {
    py::detail::try_translate_exceptions();
  }
  return nullptr;
}

void install_operator_slots(TensorClass& cls) {
  cls.attr("__array_priority__") = 1000;  // NumPy defers `array op tensor` to Tensor
  PyNumberMethods* slots = reinterpret_cast<PyTypeObject*>(cls.ptr())->tp_as_number;
  slots->nb_add = binary_slot<kAdd>;
  slots->nb_subtract = binary_slot<kSub>;
  slots->nb_multiply = binary_slot<kMul>;
  slots->nb_true_divide = binary_slot<kDiv>;
  slots->nb_power = power_slot;
  slots->nb_matrix_multiply = binary_slot<kMatmul>;
  slots->nb_floor_divide = binary_slot<kFloorDiv>;
  slots->nb_remainder = binary_slot<kMod>;
  slots->nb_and = binary_slot<kAnd>;
  slots->nb_or = binary_slot<kOr>;
  slots->nb_xor = binary_slot<kXor>;
  slots->nb_lshift = binary_slot<kShiftLeft>;
  slots->nb_rshift = binary_slot<kShiftRight>;
  slots->nb_negative = negative_slot;
}

Tensor unary_op(UnaryOp op, const Tensor& a) {
  MaybeReleaseGIL gil(a->numel());
  return unary(op, a);
}

void init_arithmetic(TensorClass& cls) {
  for (const BinaryOperator* op : {&kAdd, &kSub, &kMul, &kDiv, &kPow, &kMatmul, &kFloorDiv, &kMod,
                                   &kAnd, &kOr, &kXor, &kShiftLeft, &kShiftRight}) {
    cls.def(op->name, [op](py::handle self, py::handle other) {
      return apply(*op, self, other, /*reflected=*/false);
    });
    cls.def(op->reflected, [op](py::handle self, py::handle other) {
      return apply(*op, self, other, /*reflected=*/true);
    });
  }
  cls.def("__neg__", [](const Tensor& a) { return unary_op(UnaryOp::Neg, a); })
      .def("__pos__",
           [](py::handle a) {
             if (as_tensor(a)->dtype() == DType::Bool) {
               throw std::runtime_error("The `+` operator, on a bool tensor is not supported.");
             }
             return a;
           })
      .def("__abs__", [](const Tensor& a) { return unary_op(UnaryOp::Abs, a); })
      .def("__invert__", [](const Tensor& a) {
        if (is_floating(a->dtype())) {  // the operator's own check comes first in torch
          throw TypeError(
              "~ (operator.invert) is only implemented on integer and Boolean-type tensors");
        }
        return bitwise_not(a);
      });
}

void init_comparisons(TensorClass& cls) {
  const std::pair<const char*, BinaryOp> comparisons[] = {
      {"__eq__", BinaryOp::Eq}, {"__ne__", BinaryOp::Ne}, {"__lt__", BinaryOp::Lt},
      {"__le__", BinaryOp::Le}, {"__gt__", BinaryOp::Gt}, {"__ge__", BinaryOp::Ge}};
  for (const auto& [name, op] : comparisons) {
    const BinaryOp o = op;
    cls.def(name, [o](py::handle self, py::handle other) -> py::object {
      const Tensor& a = as_tensor(self);
      Tensor out;
      if (is_tensor(other)) {
        MaybeReleaseGIL gil(a->numel());
        out = compare(o, a, as_tensor(other));
      } else if (std::optional<Scalar> s = as_scalar(other)) {
        MaybeReleaseGIL gil(a->numel());
        out = compare(o, a, *s);
      } else {
        return py::reinterpret_borrow<py::object>(Py_NotImplemented);
      }
      return py::cast(std::move(out));
    });
  }
}

// In place: a -= b keeps the same Python object.
void init_inplace_operators(TensorClass& cls) {
  auto inplace = [&cls](const char* name, auto with_tensor, auto with_scalar) {
    cls.def(name, [with_tensor, with_scalar](py::handle self, py::handle other) -> py::object {
      Tensor t = as_tensor(self);
      if (is_tensor(other)) {
        with_tensor(t, as_tensor(other));
      } else if (std::optional<Scalar> s = as_scalar(other)) {
        with_scalar(t, *s);
      } else {
        return py::reinterpret_borrow<py::object>(Py_NotImplemented);
      }
      return py::reinterpret_borrow<py::object>(self);
    });
  };
  inplace(
      "__iadd__", [](Tensor& t, const Tensor& o) { add_(t, o); },
      [](Tensor& t, const Scalar& s) { add_(t, s); });
  inplace(
      "__isub__", [](Tensor& t, const Tensor& o) { sub_(t, o); },
      [](Tensor& t, const Scalar& s) { sub_(t, s); });
  inplace(
      "__imul__", [](Tensor& t, const Tensor& o) { mul_(t, o); },
      [](Tensor& t, const Scalar& s) { mul_(t, s); });
  inplace(
      "__itruediv__", [](Tensor& t, const Tensor& o) { div_(t, o); },
      [](Tensor& t, const Scalar& s) { div_(t, s); });
  const std::pair<const char*, BinaryOp> bitwise_ops[] = {{"__iand__", BinaryOp::BitAnd},
                                                          {"__ior__", BinaryOp::BitOr},
                                                          {"__ixor__", BinaryOp::BitXor},
                                                          {"__ilshift__", BinaryOp::ShiftLeft},
                                                          {"__irshift__", BinaryOp::ShiftRight}};
  for (const auto& [name, op] : bitwise_ops) {
    const BinaryOp o = op;
    inplace(
        name, [o](Tensor& t, const Tensor& other) { bitwise_(o, t, other); },
        [o](Tensor& t, const Scalar& s) { bitwise_(o, t, s); });
  }
}

}  // namespace

void init_operators(TensorClass& cls) {
  init_arithmetic(cls);
  init_comparisons(cls);
  init_inplace_operators(cls);
  install_operator_slots(cls);  // last: binding `__add__` resets nb_add
}

}  // namespace ember::bindings
