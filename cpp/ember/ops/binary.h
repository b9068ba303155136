#pragma once
// The binary pointwise ops' autograd, declared once each: torch's node name,
// what the node saves, and per input the derivative that serves backward and
// forward mode (Note [Binary op table]).

#include <cstddef>
#include <cstdint>

#include "ember/autograd/functions/common.h"

namespace ember {

// Note [Binary op table]
// A pointwise op z = f(x, y) has a diagonal Jacobian in each input, so, as for
// the unary ops (Note [Op table]), one formula per input serves both
// directions: self_derivative(v, operands) = v * df/dx is the backward formula
// when v is the gradient of z (then summed to x's shape and cast to its dtype,
// undoing broadcasting and promotion) and x's part of the forward formula when
// v is x's tangent (the parts are added and broadcast to z's shape). Likewise
// other_derivative for y. Formulas are written with differentiable ops, so
// gradients and tangents of every order flow through them.
//
// An entry is one torch node name. It says which call forms record it
// (tensor-tensor, tensor-scalar, scalar-tensor: torch names some scalar forms
// differently, PowBackward0 for x ** 2.0 and PowBackward2 for 2.0 ** x; an
// entry with both tensor forms is one where torch wraps the number into a
// tensor, so the node lists a second, empty edge in Python), how
// the node keeps a Python-number operand (not at all; releasable, as torch
// wraps the 2 of `x * 2` into a saved tensor; or kept as a number), and what
// each input's formula reads: self, other, the result, or an aux tensor made
// from them at record time (a piecewise-constant factor such as fmod's
// truncated quotient, saved without a graph). The node saves the union of
// what the inputs that require grad read, and nothing else, so `mul` keeps y
// only when x requires grad. record_binary() and binary_tangent() do the rest;
// BinaryNode<fn> is one C++ type, and one Python class, per entry.
//
// Left hand-written: clamp with bounds (ClampBackward1: one input and two
// optional numbers, not a binary op), where (a condition as third operand),
// the in-place comparisons (CompareBackward: zero gradients for any number of
// inputs, no formula) and the forms torch gives no derivative (floor
// division, number % tensor: NotImplemented). clamp with tensor bounds is
// composed in Python (python/ember/_pointwise.py), so its gradients come from
// the parts, where torch records ClampBackward0; xlogy with a number wraps it
// into a tensor (XlogyBackward0, where torch records XlogyBackward1/2).

enum class BinaryFn : uint8_t {
  Add,
  Sub,
  Rsub,
  Mul,
  Div,
  DivScalar,  // torch's division by a number inside its own functions (losses)
  PowScalar,  // tensor ** number
  Pow,        // tensor ** tensor
  RPow,       // number ** tensor
  Maximum,
  Minimum,
  RemainderScalar,
  Remainder,
  FmodScalar,
  Fmod,
  Copysign,
  CopysignScalar,
  RoundedDiv,  // div with a rounding_mode
  Atan2,
  Xlogy,
  Hypot,
  Logaddexp,
  Logaddexp2,
  Fmax,
  Fmin,
  Ldexp,
};
constexpr size_t kBinaryFnCount = static_cast<size_t>(BinaryFn::Ldexp) + 1;

// Call forms an entry's node is recorded for.
namespace binary_form {
constexpr uint8_t TensorTensor = 1, TensorScalar = 2, ScalarTensor = 4;
}  // namespace binary_form

// What a formula reads (a bit each).
namespace binary_reads {
constexpr uint8_t Self = 1, Other = 2, Result = 4, Aux = 8;
}  // namespace binary_reads

// How the node keeps a Python-number operand.
enum class ScalarUse : uint8_t { Unused, Releasable, Kept };

// What a formula sees. `other` is null in the scalar forms, where `scalar`
// holds the number (the base for number ** tensor); a tensor the entry does
// not save is null too. `self` is the tensor operand in every form.
struct BinaryOperands {
  Tensor self, other, result, aux;
  Scalar scalar = 0.0;
  double alpha = 1.0;  // add / sub: self + alpha * other
};

using BinaryFormula = Tensor (*)(const Tensor& v, const BinaryOperands& operands);

struct BinaryEntry {
  BinaryFn op;
  const char* name;       // the Python function: "mul"
  const char* node_name;  // torch's grad_fn: "MulBackward0"
  uint8_t forms;          // binary_form bits
  ScalarUse scalar;
  uint8_t self_reads, other_reads;  // binary_reads bits
  // The aux tensor from (self, other, result), when a formula reads it.
  Tensor (*aux)(const Tensor& self, const Tensor& other, const Tensor& result);
  BinaryFormula self_derivative;
  BinaryFormula other_derivative;  // null when only the scalar forms exist
};

const BinaryEntry& binary_entry(BinaryFn fn);

struct BinaryNodeBase : Node {
  void release_saved() override {
    self.release(), other.release(), extra.release(), scalar.release();
  }
  bool has_forward_formula() const override { return true; }
  TensorList apply(TensorList&& grads) final;
  virtual const BinaryEntry& entry() const = 0;
  SavedTensor self, other;
  SavedTensor extra;  // the result or the aux tensor: no entry reads both
  GradFit self_meta, other_meta;
  SavedScalar scalar;
  double alpha = 1.0;
};

// One C++ type per entry, so Python sees one class per torch node name.
template <BinaryFn Fn>
struct BinaryNode final : BinaryNodeBase {
  const char* name() const override { return binary_entry(Fn).node_name; }
  const BinaryEntry& entry() const override { return binary_entry(Fn); }
};

// Records `fn`'s node as out's grad_fn (call when an input requires grad).
void record_binary(BinaryFn fn, const Tensor& out, const Tensor& a, const Tensor& b,
                   double alpha = 1.0);
void record_binary(BinaryFn fn, const Tensor& out, const Tensor& a, const Scalar& b);
// Sets out's tangent from the inputs' tangents, if any carries one.
void binary_tangent(BinaryFn fn, const Tensor& out, const Tensor& a, const Tensor& b,
                    double alpha = 1.0);
void binary_tangent(BinaryFn fn, const Tensor& out, const Tensor& a, const Scalar& b);

// The tangent of a pointwise op from each input's part (null where the input
// carries none), broadcast to the output's shape (Note [Forward-mode AD]).
void set_pointwise_tangent(const Tensor& out, const Tensor& a_part, const Tensor& b_part = nullptr);

// Both, for an op whose result is differentiable.
inline void differentiate_binary(BinaryFn fn, const Tensor& out, const Tensor& a, const Tensor& b,
                                 double alpha = 1.0) {
  if (any_requires_grad(a, b)) record_binary(fn, out, a, b, alpha);
  if (forward_ad::any_tangent(a, b)) binary_tangent(fn, out, a, b, alpha);
}
inline void differentiate_binary(BinaryFn fn, const Tensor& out, const Tensor& a, const Scalar& b) {
  if (any_requires_grad(a)) record_binary(fn, out, a, b);
  if (forward_ad::has_tangent(a)) binary_tangent(fn, out, a, b);
}

// torch's node names (the in-place ops record them directly).
using AddBackward0 = BinaryNode<BinaryFn::Add>;
using SubBackward0 = BinaryNode<BinaryFn::Sub>;
using RsubBackward1 = BinaryNode<BinaryFn::Rsub>;
using MulBackward0 = BinaryNode<BinaryFn::Mul>;
using DivBackward0 = BinaryNode<BinaryFn::Div>;
using DivBackward1 = BinaryNode<BinaryFn::DivScalar>;
using PowBackward0 = BinaryNode<BinaryFn::PowScalar>;
using PowBackward1 = BinaryNode<BinaryFn::Pow>;
using PowBackward2 = BinaryNode<BinaryFn::RPow>;
using MaximumBackward0 = BinaryNode<BinaryFn::Maximum>;
using MinimumBackward0 = BinaryNode<BinaryFn::Minimum>;
using RemainderBackward0 = BinaryNode<BinaryFn::RemainderScalar>;
using RemainderBackward1 = BinaryNode<BinaryFn::Remainder>;
using FmodBackward0 = BinaryNode<BinaryFn::FmodScalar>;
using FmodBackward1 = BinaryNode<BinaryFn::Fmod>;
using CopysignBackward0 = BinaryNode<BinaryFn::Copysign>;
using CopysignBackward1 = BinaryNode<BinaryFn::CopysignScalar>;
using DivBackward2 = BinaryNode<BinaryFn::RoundedDiv>;
using Atan2Backward0 = BinaryNode<BinaryFn::Atan2>;
using XlogyBackward0 = BinaryNode<BinaryFn::Xlogy>;
using HypotBackward0 = BinaryNode<BinaryFn::Hypot>;
using LogaddexpBackward0 = BinaryNode<BinaryFn::Logaddexp>;
using Logaddexp2Backward0 = BinaryNode<BinaryFn::Logaddexp2>;
using FmaxBackward0 = BinaryNode<BinaryFn::Fmax>;
using FminBackward0 = BinaryNode<BinaryFn::Fmin>;
using LdexpBackward0 = BinaryNode<BinaryFn::Ldexp>;

}  // namespace ember
