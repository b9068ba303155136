// Random numbers: generators, seed and state functions and the sampling ops.
// Streams equal torch's CPU generator bit for bit (docs/random.md).

#include "ember/random.h"

#include <random>

#include "common.h"

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

// A state given as a NumPy array, anything with .numpy() or bytes.
std::vector<uint8_t> bytes_from(py::handle state) {
  if (py::isinstance<py::array>(state) || py::hasattr(state, "numpy")) {
    py::array_t<uint8_t> arr = py::array_t<uint8_t>::ensure(
        py::hasattr(state, "numpy") ? state.attr("numpy")()
                                    : py::reinterpret_borrow<py::object>(state));
    return std::vector<uint8_t>(arr.data(), arr.data() + arr.size());
  }
  const std::string s = py::reinterpret_borrow<py::bytes>(state);
  return std::vector<uint8_t>(s.begin(), s.end());
}

void set_state(Generator& g, py::handle state) {
  if (is_tensor(state)) {
    set_rng_state(g, as_tensor(state));
  } else {
    set_rng_state(g, bytes_from(state));
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
      .def("get_state", [](const Generator& g) { return rng_state(g); })
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
  m.def("get_rng_state", [] { return rng_state(default_generator()); });
  m.def(
      "set_rng_state", [](py::handle state) { set_state(default_generator(), state); },
      py::arg("new_state"));
}

void bind_samplers(py::module_& m) {
  m.def(
      "randn",
      [](py::args size, py::handle generator, py::object dtype, bool requires_grad,
         py::object device) {
        check_device(device);
        const DType t = optional_dtype(dtype).value_or(default_float_dtype());
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
        const DType t = optional_dtype(dtype).value_or(default_float_dtype());
        return with_grad_flag(rand(shape_from_args(size), t, &generator_from(generator)),
                              requires_grad);
      },
      py::kw_only(), py::arg("generator") = py::none(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def(
      "randn_like",
      [](const Tensor& like, py::object dtype, bool requires_grad, py::object device) {
        check_device(device);
        return with_grad_flag(randn(like->shape(), optional_dtype(dtype).value_or(like->dtype())),
                              requires_grad);
      },
      py::arg("input"), py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def(
      "rand_like",
      [](const Tensor& like, py::object dtype, bool requires_grad, py::object device) {
        check_device(device);
        return with_grad_flag(rand(like->shape(), optional_dtype(dtype).value_or(like->dtype())),
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
        const DimList d = dims_from(given.back());
        const DType t = optional_dtype(dtype).value_or(DType::Int64);
        return with_grad_flag(
            randint(low, high, Shape(d.begin(), d.end()), t, &generator_from(generator)),
            requires_grad);
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
        return randperm(n, optional_dtype(dtype).value_or(DType::Int64),
                        &generator_from(generator));
      },
      py::arg("n"), py::kw_only(), py::arg("generator") = py::none(), py::arg("dtype") = py::none(),
      py::arg("device") = py::none());
  m.def(
      "bernoulli",
      [](const Tensor& p, py::handle generator) {
        return bernoulli(p, &generator_from(generator));
      },
      py::arg("input"), py::kw_only(), py::arg("generator") = py::none());
  m.def(
      "_standard_gamma",
      [](const Tensor& alpha, py::handle generator) {
        return standard_gamma(alpha, &generator_from(generator));
      },
      py::arg("alpha"), py::arg("generator") = py::none());
  m.def("_dropout_mask", [](const Tensor& like, double p) { return dropout_mask(like, p); });

  // In-place samplers: a and b are the distribution's parameters.
  auto sampler = [&m](const char* name, auto fill) {
    m.def(
        name,
        [fill](py::handle self, double a, double b, py::handle generator) {
          Tensor t = as_tensor(self);
          fill(t, a, b, &generator_from(generator));
          return self;
        },
        py::arg("self"), py::arg("a"), py::arg("b"), py::arg("generator") = py::none());
  };
  sampler("_normal_",
          [](Tensor& t, double mean, double std, Generator* g) { normal_(t, mean, std, g); });
  sampler("_uniform_",
          [](Tensor& t, double from, double to, Generator* g) { uniform_(t, from, to, g); });
  sampler("_exponential_",
          [](Tensor& t, double lambd, double, Generator* g) { exponential_(t, lambd, g); });
  sampler("_bernoulli_", [](Tensor& t, double p, double, Generator* g) { bernoulli_(t, p, g); });
}

}  // namespace

void init_random(py::module_& m) {
  bind_generator(m);
  bind_seed_functions(m);
  bind_samplers(m);
}

}  // namespace ember::bindings
