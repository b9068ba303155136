// Random numbers: the seed and state functions and the sampling ops (torch-identical streams).

#include <random>

#include "common.h"
#include "ember/kernels/elementwise.h"
#include "ember/random.h"

namespace ember::bindings {
namespace {

std::vector<uint8_t> bytes_from(py::handle state) {
  if (is_tensor(state)) {
    const Tensor& t = as_tensor(state);
    std::vector<uint8_t> out(static_cast<size_t>(t->numel()));
    for (int64_t i = 0; i < t->numel(); ++i) out[static_cast<size_t>(i)] = static_cast<uint8_t>(element_as_double(t, i));
    return out;
  }
  const std::string s = py::reinterpret_borrow<py::bytes>(state);
  return std::vector<uint8_t>(s.begin(), s.end());
}

Tensor state_tensor(const Generator& g) {
  const std::vector<uint8_t> s = g.get_state();
  // ember has no uint8 dtype; the state is returned as int64 values 0..255.
  Tensor t = empty(Shape{static_cast<int64_t>(s.size())}, DType::Int64);
  for (size_t i = 0; i < s.size(); ++i) t->data<int64_t>()[i] = s[i];
  return t;
}

uint64_t nondeterministic_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) | rd();
}

}  // namespace

void init_random(py::module_& m) {
  m.def("manual_seed", [](py::handle seed) {
    // Like torch, any Python int is taken modulo 2**64.
    py::object as_int = py::module_::import("builtins").attr("int")(seed);
    default_generator().manual_seed(PyLong_AsUnsignedLongLongMask(as_int.ptr()));
    return py::none();
  }, py::arg("seed"));
  m.def("initial_seed", [] { return default_generator().initial_seed(); });
  m.def("seed", [] {
    const uint64_t s = nondeterministic_seed();
    default_generator().manual_seed(s);
    return s;
  });
  m.def("get_rng_state", [] { return state_tensor(default_generator()); });
  m.def("set_rng_state", [](py::handle state) {
    try {
      default_generator().set_state(bytes_from(state));
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(e.what());
    }
  }, py::arg("new_state"));

  m.def("randint", [](py::args args, py::object dtype, bool requires_grad) {
    // randint(high, size) or randint(low, high, size)
    if (args.size() != 2 && args.size() != 3) throw TypeError("randint() expects (high, size) or (low, high, size)");
    const int64_t low = args.size() == 3 ? args[0].cast<int64_t>() : 0;
    const int64_t high = args[args.size() - 2].cast<int64_t>();
    if (low >= high) {
      throw std::runtime_error("random_ expects 'from' to be less than 'to', but got from=" +
                               std::to_string(low) + " >= to=" + std::to_string(high));
    }
    const DimList d = dims_from(args[args.size() - 1]);
    const DType t = optional_dtype(dtype).value_or(DType::Int64);
    Tensor out = empty(Shape(d.begin(), d.end()), t);
    Generator& g = default_generator();
    switch (t) {
      case DType::Int64: fill_randint(out->data<int64_t>(), out->numel(), low, high, g); break;
      case DType::Float32: fill_randint(out->data<float>(), out->numel(), low, high, g); break;
      case DType::Float64: fill_randint(out->data<double>(), out->numel(), low, high, g); break;
      case DType::Bool: throw TypeError("randint does not support dtype bool");
    }
    if (requires_grad) out->set_requires_grad(true);
    return out;
  }, py::kw_only(), py::arg("dtype") = py::none(), py::arg("requires_grad") = false);
  m.def("randperm", [](int64_t n, py::object dtype) {
    if (n < 0) throw std::runtime_error("n must be non-negative, got" + std::to_string(n));
    Tensor out = empty(Shape{n}, DType::Int64);
    fill_randperm(out->data<int64_t>(), n, default_generator());
    return optional_dtype(dtype) ? to_dtype(out, *optional_dtype(dtype)) : out;
  }, py::arg("n"), py::kw_only(), py::arg("dtype") = py::none());
  m.def("bernoulli", [](const Tensor& p) {
    Tensor probs = contiguous_clone(p);
    Tensor out = empty(p->shape(), p->dtype());
    EMBER_DISPATCH_FLOAT(p->dtype(), T, [&] {
      fill_bernoulli(out->data<T>(), probs->data<T>(), out->numel(), default_generator());
    });
    return out;
  }, py::arg("input"));
  m.def("_dropout_mask", [](const Tensor& like, double p) {
    Tensor mask = empty(like->shape(), like->dtype());
    EMBER_DISPATCH_FLOAT(like->dtype(), T, [&] {
      fill_dropout_mask(mask->data<T>(), mask->numel(), p, default_generator());
    });
    return mask;
  });

  // In-place samplers on contiguous tensors (no autograd: torch's are not differentiable).
  auto sampler = [&m](const char* name, auto fill) {
    m.def(name, [fill](py::handle self, double a, double b) {
      Tensor t = as_tensor(self);
      check_inplace(t);
      Tensor target = t->is_contiguous() ? t : empty(t->shape(), t->dtype());
      EMBER_DISPATCH_FLOAT(t->dtype(), T, [&] { fill(target->data<T>(), target->numel(), a, b); });
      if (target != t) copy_kernel(t, target);
      t->bump_version();
      return self;
    });
  };
  sampler("_normal_", [](auto* p, int64_t n, double mean, double std) {
    fill_normal(p, n, mean, std, default_generator());
  });
  sampler("_uniform_", [](auto* p, int64_t n, double from, double to) {
    fill_uniform(p, n, from, to, default_generator());
  });
  sampler("_bernoulli_", [](auto* p, int64_t n, double prob, double) {
    fill_bernoulli(p, prob, n, default_generator());
  });
}

}  // namespace ember::bindings
