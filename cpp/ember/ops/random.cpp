// Random tensor factories, samplers and in-place fills; the draws match
// torch's CPU generator (see docs/random.md).

#include "ember/random.h"

#include <algorithm>
#include <stdexcept>

#include "ember/autograd/grad_mode.h"
#include "ember/ops.h"

namespace ember {
namespace {

Generator& generator_or_default(Generator* gen) { return gen ? *gen : default_generator(); }

// torch's refusal of an integer dtype for a floating sampler, named by its kernel.
void check_floating(DType dtype, const char* kernel) {
  if (!is_floating(dtype)) {
    throw NotImplementedError(std::string("\"") + kernel + "\" not implemented for '" +
                              scalar_type_name(dtype) + "'");
  }
}

// Overwrites t with fill(data, n, generator) in row-major order. Non-contiguous
// targets and the half types are filled through a contiguous buffer. A tensor
// in a graph is overwritten through copy_, which records the write (its old
// history gets no gradient, as torch's) and refuses views that may not be written.
template <typename Fill>
Tensor& fill_in_place(Tensor& t, Generator* gen, Fill fill) {
  check_inplace(t);
  Generator& g = generator_or_default(gen);
  const bool in_graph = GradMode::is_enabled() && t->requires_grad();
  const bool direct = t->is_contiguous() && !in_graph && has_kernels(t->dtype());
  Tensor target = direct ? t : empty(t->shape(), kernel_dtype(t->dtype()));
  EMBER_DISPATCH_FLOAT(target->dtype(), T, [&] { fill(target->data<T>(), target->numel(), g); });
  if (in_graph) return copy_(t, target);
  if (target != t) copy_kernel(t, target);
  t->bump_version();
  return t;
}

}  // namespace

// The half types draw a float32 stream and round it (Note [Half types]):
// values differ from torch's own half streams, which use 11- or 8-bit uniforms.
Tensor randn(const Shape& shape, DType dtype, Generator* gen) {
  check_floating(dtype, "normal_kernel_cpu");
  if (!has_kernels(dtype)) return convert(randn(shape, kernel_dtype(dtype), gen), dtype);
  Tensor t = empty(shape, dtype);
  Generator& g = generator_or_default(gen);
  EMBER_DISPATCH_FLOAT(dtype, T, [&] { fill_normal(t->data<T>(), t->numel(), 0.0, 1.0, g); });
  return t;
}

Tensor rand(const Shape& shape, DType dtype, Generator* gen) {
  check_floating(dtype, "check_uniform_bounds");
  if (!has_kernels(dtype)) return convert(rand(shape, kernel_dtype(dtype), gen), dtype);
  Tensor t = empty(shape, dtype);
  Generator& g = generator_or_default(gen);
  EMBER_DISPATCH_FLOAT(dtype, T, [&] { fill_uniform(t->data<T>(), t->numel(), 0.0, 1.0, g); });
  return t;
}

// The draws depend on the bounds only, so narrower dtypes convert int64 or
// float32 draws (Note [Compute dtypes]).
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Generator* gen) {
  if (low >= high) {
    throw std::runtime_error("random_ expects 'from' to be less than 'to', but got from=" +
                             std::to_string(low) + " >= to=" + std::to_string(high));
  }
  if (dtype == DType::Bool) throw TypeError("randint does not support dtype bool");
  Tensor drawn = empty(shape, kernel_dtype(dtype));
  Generator& g = generator_or_default(gen);
  if (drawn->dtype() == DType::Int64) {
    fill_randint(drawn->data<int64_t>(), drawn->numel(), low, high, g);
  } else if (drawn->dtype() == DType::Float32) {
    fill_randint(drawn->data<float>(), drawn->numel(), low, high, g);
  } else {
    fill_randint(drawn->data<double>(), drawn->numel(), low, high, g);
  }
  return convert(drawn, dtype);
}

Tensor randperm(int64_t n, DType dtype, Generator* gen) {
  if (n < 0) throw std::runtime_error("n must be non-negative, got" + std::to_string(n));
  Tensor out = empty(Shape{n}, DType::Int64);
  fill_randperm(out->data<int64_t>(), n, generator_or_default(gen));
  return dtype == DType::Int64 ? out : to_dtype(out, dtype);
}

Tensor bernoulli(const Tensor& p, Generator* gen) {
  const Tensor probs = contiguous_clone(p);
  Tensor out = empty(p->shape(), p->dtype());
  Generator& g = generator_or_default(gen);
  EMBER_DISPATCH_FLOAT(p->dtype(), T, [&] {
    const T* q = probs->data<T>();
    for (int64_t i = 0; i < probs->numel(); ++i) {
      if (!(q[i] >= T(0) && q[i] <= T(1))) {  // NaN fails too, as in torch
        throw std::runtime_error("Expected p_in >= 0 && p_in <= 1 to be true, but got false.");
      }
    }
    fill_bernoulli(out->data<T>(), q, out->numel(), g);
  });
  return out;
}

Tensor standard_gamma(const Tensor& alpha, Generator* gen) {
  if (!is_floating(alpha->dtype()) || !has_kernels(alpha->dtype())) {
    throw NotImplementedError(std::string("\"gamma_cpu\" not implemented for '") +
                              scalar_type_name(alpha->dtype()) + "'");
  }
  const Tensor a = contiguous_clone(detach(alpha));
  Tensor out = empty(a->shape(), a->dtype());
  Generator& g = generator_or_default(gen);
  EMBER_DISPATCH_FLOAT(a->dtype(), T,
                       [&] { fill_standard_gamma(out->data<T>(), a->data<T>(), a->numel(), g); });
  return out;
}

Tensor dropout_mask(const Tensor& like, double p, Generator* gen) {
  Generator& g = generator_or_default(gen);
  if (is_floating(like->dtype()) && !has_kernels(like->dtype())) {  // a rounded float32 mask
    Tensor mask = empty(like->shape(), kernel_dtype(like->dtype()));
    fill_dropout_mask(mask->data<float>(), mask->numel(), p, g);
    return convert(mask, like->dtype());
  }
  Tensor mask = empty(like->shape(), like->dtype());
  EMBER_DISPATCH_FLOAT(like->dtype(), T,
                       [&] { fill_dropout_mask(mask->data<T>(), mask->numel(), p, g); });
  return mask;
}

Tensor& normal_(Tensor& self, double mean, double std, Generator* gen) {
  return fill_in_place(self, gen,
                       [&](auto* p, int64_t n, Generator& g) { fill_normal(p, n, mean, std, g); });
}

Tensor& uniform_(Tensor& self, double from, double to, Generator* gen) {
  return fill_in_place(self, gen,
                       [&](auto* p, int64_t n, Generator& g) { fill_uniform(p, n, from, to, g); });
}

Tensor& exponential_(Tensor& self, double lambd, Generator* gen) {
  return fill_in_place(self, gen,
                       [&](auto* p, int64_t n, Generator& g) { fill_exponential(p, n, lambd, g); });
}

Tensor& bernoulli_(Tensor& self, double p, Generator* gen) {
  return fill_in_place(self, gen,
                       [&](auto* out, int64_t n, Generator& g) { fill_bernoulli(out, p, n, g); });
}

Tensor rng_state(const Generator& g) {
  const std::vector<uint8_t> bytes = g.get_state();
  Tensor t = empty(Shape{static_cast<int64_t>(bytes.size())}, DType::UInt8);
  std::copy(bytes.begin(), bytes.end(), t->data<uint8_t>());
  return t;
}

// torch raises RuntimeError for a state it refuses.
void set_rng_state(Generator& g, const std::vector<uint8_t>& state) {
  try {
    g.set_state(state);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
}

void set_rng_state(Generator& g, const Tensor& state) {
  std::vector<uint8_t> bytes(static_cast<size_t>(state->numel()));
  for (int64_t i = 0; i < state->numel(); ++i) {
    bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(element_as_double(state, i));
  }
  set_rng_state(g, bytes);
}

}  // namespace ember
