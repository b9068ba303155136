// Random numbers: generators, seed and state functions and the sampling ops.
// Streams equal torch's CPU generator bit for bit (docs/random.md).

#include "ember/random.h"

#include <random>

#include "common.h"
#include "ember/autograd/grad_mode.h"
#include "ember/kernels/elementwise.h"

namespace ember::bindings {
namespace {

using GeneratorPtr = std::shared_ptr<Generator>;

// The process-wide generator, shared with C++ (never freed).
GeneratorPtr default_generator_ptr() {
  static GeneratorPtr g(&default_generator(), [](Generator*) {});
  return g;
}

Generator& generator_from(py::handle gen) {
  if (gen.is_none()) return default_generator();
  return *gen.cast<GeneratorPtr>();
}

std::vector<uint8_t> bytes_from(py::handle state) {
  if (is_tensor(state)) {
    const Tensor& t = as_tensor(state);
    std::vector<uint8_t> out(static_cast<size_t>(t->numel()));
    for (int64_t i = 0; i < t->numel(); ++i) {
      out[static_cast<size_t>(i)] = static_cast<uint8_t>(element_as_double(t, i));
    }
    return out;
  }
  if (py::isinstance<py::array>(state) || py::hasattr(state, "numpy")) {
    py::array_t<uint8_t> arr = py::array_t<uint8_t>::ensure(
        py::hasattr(state, "numpy") ? state.attr("numpy")()
                                    : py::reinterpret_borrow<py::object>(state));
    return std::vector<uint8_t>(arr.data(), arr.data() + arr.size());
  }
  const std::string s = py::reinterpret_borrow<py::bytes>(state);
  return std::vector<uint8_t>(s.begin(), s.end());
}

// The state as torch gives it: a uint8 tensor of the generator's bytes.
Tensor state_tensor(const Generator& g) {
  const std::vector<uint8_t> s = g.get_state();
  Tensor t = empty(Shape{static_cast<int64_t>(s.size())}, DType::UInt8);
  std::copy(s.begin(), s.end(), t->data<uint8_t>());
  return t;
}

void set_state(Generator& g, py::handle state) {
  try {
    g.set_state(bytes_from(state));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
}

uint64_t seed_value(py::handle seed) {
  // Like torch, any Python int is taken modulo 2**64.
  py::object as_int = py::module_::import("builtins").attr("int")(seed);
  return PyLong_AsUnsignedLongLongMask(as_int.ptr());
}

uint64_t nondeterministic_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) | rd();
}

Tensor with_grad_flag(Tensor t, bool requires_grad) {
  if (requires_grad) t->set_requires_grad(true);
  return t;
}

void bind_generator(py::module_& m) {
  py::class_<Generator, GeneratorPtr>(m, "Generator")
      .def(py::init([](py::object device) {
             check_device(device);
             return std::make_shared<Generator>();
           }),
           py::arg("device") = "cpu")
      .def(
          "manual_seed",
          [](py::handle self, py::handle seed) {
            self.cast<GeneratorPtr>()->manual_seed(seed_value(seed));
            return self;
          },
          py::arg("seed"))
      .def("seed",
           [](Generator& g) {
             const uint64_t s = nondeterministic_seed();
             g.manual_seed(s);
             return s;
           })
      .def("initial_seed", &Generator::initial_seed)
      .def("get_state", [](const Generator& g) { return state_tensor(g); })
      .def(
          "set_state",
          [](py::handle self, py::handle state) {
            set_state(*self.cast<GeneratorPtr>(), state);
            return self;
          },
          py::arg("new_state"))
      .def_property_readonly("device", [](const Generator&) {
        return py::module_::import("ember").attr("device")("cpu");
      });
  m.attr("default_generator") = default_generator_ptr();
}

void bind_seed_functions(py::module_& m) {
  m.def(
      "manual_seed",
      [](py::handle seed) {
        default_generator().manual_seed(seed_value(seed));
        return default_generator_ptr();
      },
      py::arg("seed"));
  m.def("initial_seed", [] { return default_generator().initial_seed(); });
  m.def("seed", [] {
    const uint64_t s = nondeterministic_seed();
    default_generator().manual_seed(s);
    return s;
  });
  m.def("get_rng_state", [] { return state_tensor(default_generator()); });
  m.def(
      "set_rng_state", [](py::handle state) { set_state(default_generator(), state); },
      py::arg("new_state"));
}

// torch's refusal of an integer dtype for a floating sampler, named by its kernel.
DType floating_sampler_dtype(py::handle dtype, DType fallback, const char* kernel) {
  const DType t = optional_dtype(dtype).value_or(fallback);
  if (!is_floating(t)) {
    throw NotImplementedError(std::string("\"") + kernel + "\" not implemented for '" +
                              scalar_type_name(t) + "'");
  }
  return t;
}

void bind_samplers(py::module_& m) {
  m.def(
      "randn",
      [](py::args size, py::handle generator, py::object dtype, bool requires_grad,
         py::object device) {
        check_device(device);
        const DType t = floating_sampler_dtype(dtype, default_float_dtype(), "normal_kernel_cpu");
        return with_grad_flag(randn(shape_from_args(size), t, &generator_from(generator)),
                              requires_grad);
      },
      py::kw_only(), py::arg("generator") = py::none(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def(
      "rand",
      [](py::args size, py::handle generator, py::object dtype, bool requires_grad,
         py::object device) {
        check_device(device);
        const DType t =
            floating_sampler_dtype(dtype, default_float_dtype(), "check_uniform_bounds");
        return with_grad_flag(rand(shape_from_args(size), t, &generator_from(generator)),
                              requires_grad);
      },
      py::kw_only(), py::arg("generator") = py::none(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def(
      "randn_like",
      [](const Tensor& like, py::object dtype, bool requires_grad, py::object device) {
        check_device(device);
        return with_grad_flag(
            randn(like->shape(), floating_sampler_dtype(dtype, like->dtype(), "normal_kernel_cpu")),
            requires_grad);
      },
      py::arg("input"), py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def(
      "rand_like",
      [](const Tensor& like, py::object dtype, bool requires_grad, py::object device) {
        check_device(device);
        return with_grad_flag(rand(like->shape(), floating_sampler_dtype(dtype, like->dtype(),
                                                                         "check_uniform_bounds")),
                              requires_grad);
      },
      py::arg("input"), py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none());

  m.def(
      "randint",
      [](py::args args, py::handle generator, py::object dtype, bool requires_grad,
         py::object device, py::object low_kw, py::object high_kw, py::object size_kw) {
        check_device(device);
        // randint(high, size) or randint(low, high, size), each part positional
        // or by keyword: the given ones fill (low, high, size) from the right.
        std::vector<py::object> given;
        for (py::handle a : args) given.push_back(py::reinterpret_borrow<py::object>(a));
        for (const py::object& kw : {low_kw, high_kw, size_kw}) {
          if (!kw.is_none()) given.push_back(kw);
        }
        if (given.size() != 2 && given.size() != 3) {
          throw TypeError("randint() expects (high, size) or (low, high, size)");
        }
        if (!low_kw.is_none() && given.size() == 2) {
          throw TypeError("randint() missing required argument 'high'");
        }
        const int64_t low = given.size() == 3 ? given[0].cast<int64_t>() : 0;
        const int64_t high = given[given.size() - 2].cast<int64_t>();
        if (low >= high) {
          throw std::runtime_error("random_ expects 'from' to be less than 'to', but got from=" +
                                   std::to_string(low) + " >= to=" + std::to_string(high));
        }
        const DimList d = dims_from(given.back());
        const DType t = optional_dtype(dtype).value_or(DType::Int64);
        if (t == DType::Bool) throw TypeError("randint does not support dtype bool");
        // The draws depend on the bounds only, so narrower dtypes convert
        // int64 or float32 draws (Note [Compute dtypes]).
        Tensor drawn = empty(Shape(d.begin(), d.end()), kernel_dtype(t));
        Generator& g = generator_from(generator);
        if (drawn->dtype() == DType::Int64) {
          fill_randint(drawn->data<int64_t>(), drawn->numel(), low, high, g);
        } else if (drawn->dtype() == DType::Float32) {
          fill_randint(drawn->data<float>(), drawn->numel(), low, high, g);
        } else {
          fill_randint(drawn->data<double>(), drawn->numel(), low, high, g);
        }
        Tensor out = convert(drawn, t);
        return with_grad_flag(out, requires_grad);
      },
      py::kw_only(), py::arg("generator") = py::none(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none(), py::arg("low") = py::none(),
      py::arg("high") = py::none(), py::arg("size") = py::none());
  // The raw 64-bit draw behind torch's int64 `random_()` (which keeps its low
  // 63 bits); ember.utils.data draws its seeds with it, where torch's loader does.
  m.def(
      "_random64",
      [](py::handle generator) {
        Generator& g = generator_from(generator);
        std::lock_guard<std::mutex> lock(g.mutex());
        return g.random64();
      },
      py::arg("generator") = py::none());
  m.def(
      "randperm",
      [](int64_t n, py::handle generator, py::object dtype, py::object device) {
        check_device(device);
        if (n < 0) throw std::runtime_error("n must be non-negative, got" + std::to_string(n));
        Tensor out = empty(Shape{n}, DType::Int64);
        fill_randperm(out->data<int64_t>(), n, generator_from(generator));
        const std::optional<DType> t = optional_dtype(dtype);
        return t ? to_dtype(out, *t) : out;
      },
      py::arg("n"), py::kw_only(), py::arg("generator") = py::none(), py::arg("dtype") = py::none(),
      py::arg("device") = py::none());
  m.def(
      "bernoulli",
      [](const Tensor& p, py::handle generator) {
        Tensor probs = contiguous_clone(p);
        Tensor out = empty(p->shape(), p->dtype());
        Generator& g = generator_from(generator);
        EMBER_DISPATCH_FLOAT(p->dtype(), T, [&] {
          const T* q = probs->data<T>();
          for (int64_t i = 0; i < probs->numel(); ++i) {
            if (!(q[i] >= T(0) && q[i] <= T(1))) {  // NaN fails too, as in torch
              throw std::runtime_error(
                  "Expected p_in >= 0 && p_in <= 1 to be true, but got false.");
            }
          }
          fill_bernoulli(out->data<T>(), q, out->numel(), g);
        });
        return out;
      },
      py::arg("input"), py::kw_only(), py::arg("generator") = py::none());
  m.def(
      "_standard_gamma",
      [](const Tensor& alpha, py::handle generator) {
        if (!is_floating(alpha->dtype()) || !has_kernels(alpha->dtype())) {
          throw NotImplementedError(std::string("\"gamma_cpu\" not implemented for '") +
                                    scalar_type_name(alpha->dtype()) + "'");
        }
        Tensor a = contiguous_clone(detach(alpha));
        Tensor out = empty(a->shape(), a->dtype());
        Generator& g = generator_from(generator);
        EMBER_DISPATCH_FLOAT(a->dtype(), T, [&] {
          fill_standard_gamma(out->data<T>(), a->data<T>(), a->numel(), g);
        });
        return out;
      },
      py::arg("alpha"), py::arg("generator") = py::none());
  m.def("_dropout_mask", [](const Tensor& like, double p) {
    if (is_floating(like->dtype()) && !has_kernels(like->dtype())) {  // a rounded float32 mask
      Tensor mask = empty(like->shape(), kernel_dtype(like->dtype()));
      fill_dropout_mask(mask->data<float>(), mask->numel(), p, default_generator());
      return convert(mask, like->dtype());
    }
    Tensor mask = empty(like->shape(), like->dtype());
    EMBER_DISPATCH_FLOAT(like->dtype(), T, [&] {
      fill_dropout_mask(mask->data<T>(), mask->numel(), p, default_generator());
    });
    return mask;
  });

  // In-place samplers (not differentiable, as in torch). Non-contiguous
  // targets are filled through a contiguous buffer, in row-major order.
  auto sampler = [&m](const char* name, auto fill) {
    m.def(
        name,
        [fill](py::handle self, double a, double b, py::handle generator) {
          Tensor t = as_tensor(self);
          check_inplace(t);
          Generator& g = generator_from(generator);
          // A tensor in a graph is overwritten through copy_, which records
          // the write (its old history gets no gradient, as torch's) and
          // refuses views that may not be written.
          const bool in_graph = GradMode::is_enabled() && t->requires_grad();
          const bool direct = t->is_contiguous() && !in_graph && has_kernels(t->dtype());
          Tensor target = direct ? t : empty(t->shape(), kernel_dtype(t->dtype()));
          EMBER_DISPATCH_FLOAT(target->dtype(), T,
                               [&] { fill(target->data<T>(), target->numel(), a, b, g); });
          if (in_graph) {
            copy_(t, target);
            return self;
          }
          if (target != t) copy_kernel(t, target);
          t->bump_version();
          return self;
        },
        py::arg("self"), py::arg("a"), py::arg("b"), py::arg("generator") = py::none());
  };
  sampler("_normal_", [](auto* p, int64_t n, double mean, double std, Generator& g) {
    fill_normal(p, n, mean, std, g);
  });
  sampler("_uniform_", [](auto* p, int64_t n, double from, double to, Generator& g) {
    fill_uniform(p, n, from, to, g);
  });
  sampler("_exponential_", [](auto* p, int64_t n, double lambd, double, Generator& g) {
    fill_exponential(p, n, lambd, g);
  });
  sampler("_bernoulli_", [](auto* p, int64_t n, double prob, double, Generator& g) {
    fill_bernoulli(p, prob, n, g);
  });
}

}  // namespace

void init_random(py::module_& m) {
  bind_generator(m);
  bind_seed_functions(m);
  bind_samplers(m);
}

}  // namespace ember::bindings
