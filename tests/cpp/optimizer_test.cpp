// The fused optimizer steps (ops/optimizer.h, Note [Fused optimizer steps])
// against a reference that runs torch's single-tensor step one tensor op at a
// time, each op rounding as torch's CPU kernel does: bit for bit, for every
// option, in float32 and float64, over several steps and parameters of sizes
// that cross the parallel grain. Also the version counters, the argument
// checks and a parameter listed twice.

#include "ember/ops/optimizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ember/ops.h"
#include "ember/parallel.h"

namespace ember {
namespace {

// ---- torch's tensor ops on plain vectors ----

template <typename T>
using Vec = std::vector<T>;

template <typename T>
Vec<T> neg(const Vec<T>& a) {
  Vec<T> r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = -a[i];
  return r;
}
// a.mul_(s): s rounded to T
template <typename T>
void mul_(Vec<T>& a, double s) {
  for (T& x : a) x = x * static_cast<T>(s);
}
// a.add(b, alpha=s): fmadd(b, alpha, a) in torch's vectorized kernel
template <typename T>
Vec<T> add(const Vec<T>& a, const Vec<T>& b, double alpha) {
  Vec<T> r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = std::fma(b[i], static_cast<T>(alpha), a[i]);
  return r;
}
template <typename T>
void add_(Vec<T>& a, const Vec<T>& b, double alpha) {
  a = add(a, b, alpha);
}
// a + s, a / s with a Python float s
template <typename T>
Vec<T> add_scalar(const Vec<T>& a, double s) {
  Vec<T> r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = a[i] + static_cast<T>(s);
  return r;
}
template <typename T>
Vec<T> div_scalar(const Vec<T>& a, double s) {
  Vec<T> r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = a[i] / static_cast<T>(s);
  return r;
}
template <typename T>
void div_(Vec<T>& a, const Vec<T>& b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] = a[i] / b[i];
}
template <typename T>
void mul_(Vec<T>& a, const Vec<T>& b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] = a[i] * b[i];
}
template <typename T>
Vec<T> sqrt(const Vec<T>& a) {
  Vec<T> r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = std::sqrt(a[i]);
  return r;
}
// a.addcmul_(b, c, value=v): fmadd(v * b, c, a)
template <typename T>
Vec<T> addcmul(const Vec<T>& a, const Vec<T>& b, const Vec<T>& c, double v) {
  Vec<T> r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = std::fma(static_cast<T>(v) * b[i], c[i], a[i]);
  return r;
}
template <typename T>
void addcmul_(Vec<T>& a, const Vec<T>& b, const Vec<T>& c, double v) {
  a = addcmul(a, b, c, v);
}
// a.addcdiv_(b, c, value=v): a + v * b / c, unfused
template <typename T>
void addcdiv_(Vec<T>& a, const Vec<T>& b, const Vec<T>& c, double v) {
  for (size_t i = 0; i < a.size(); ++i) a[i] = a[i] + static_cast<T>(v) * b[i] / c[i];
}
// a.lerp_(b, w): torch's vectorized form, one fma from the nearer end
template <typename T>
void lerp_(Vec<T>& a, const Vec<T>& b, double weight) {
  const T w = static_cast<T>(weight);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = std::abs(w) < T(0.5) ? std::fma(w, b[i] - a[i], a[i])
                                : std::fma(static_cast<T>(w - T(1)), b[i] - a[i], b[i]);
  }
}
template <typename T>
void maximum_(Vec<T>& a, const Vec<T>& b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] = std::isnan(a[i]) || a[i] >= b[i] ? a[i] : b[i];
}

// ---- one parameter's tensors, as vectors and as the tensors the fused step takes ----

template <typename T>
struct State {
  Vec<T> param, grad, a, b, c;  // a, b, c: the optimizer's state buffers in its order
  float step = 0;
  bool has_buffer = true;  // SGD: false until the first step made the momentum buffer
};

constexpr DType dtype_of(float*) { return DType::Float32; }
constexpr DType dtype_of(double*) { return DType::Float64; }

template <typename T>
Tensor tensor_of(const Vec<T>& v) {
  Tensor t = empty(Shape{static_cast<int64_t>(v.size())}, dtype_of(static_cast<T*>(nullptr)));
  if (!v.empty()) std::memcpy(t->data<T>(), v.data(), v.size() * sizeof(T));
  return t;
}

template <typename T>
Vec<T> values_of(const Tensor& t) {
  return Vec<T>(t->data<T>(), t->data<T>() + t->numel());
}

template <typename T>
Vec<T> random_vec(std::mt19937& rng, size_t n, bool positive = false) {
  std::normal_distribution<double> normal;
  Vec<T> v(n);
  for (T& x : v) x = static_cast<T>(positive ? std::abs(normal(rng)) * 0.1 : normal(rng));
  return v;
}

// Sizes around the vector widths and past the parallel grains (tails, chunks
// that start or end inside a parameter), and an empty one.
const std::vector<size_t> kSizes = {7, 0, 1, 100, 70001, 33};

template <typename T>
std::vector<State<T>> make_states(uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<State<T>> states;
  for (size_t n : kSizes) {
    State<T> s;
    s.param = random_vec<T>(rng, n);
    s.a = random_vec<T>(rng, n, true);
    s.b = random_vec<T>(rng, n, true);
    s.c = random_vec<T>(rng, n, true);
    states.push_back(s);
  }
  return states;
}

// Equal values, or NaN in both (centered RMSprop's random starting state may have
// square_avg < grad_avg**2).
template <typename T>
void expect_equal(const Vec<T>& got, const Vec<T>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i] && !(std::isnan(got[i]) && std::isnan(want[i]))) {
      ADD_FAILURE() << what << "[" << i << "] = " << got[i] << ", reference " << want[i];
      return;
    }
  }
}

// Steps the states `steps` times through the fused step `fused` (taking the
// tensors, returning them updated) and the reference, checking every buffer
// after each step. `buffers` is how many of a, b, c the options use.
template <typename T, typename Fused, typename Reference>
void check_steps(int buffers, const Fused& fused, const Reference& reference) {
  std::vector<State<T>> want = make_states<T>(1);
  std::vector<Tensor> params, grads, steps;
  std::vector<std::vector<Tensor>> bufs(3);
  for (const State<T>& s : want) {
    params.push_back(tensor_of(s.param));
    for (int k = 0; k < buffers; ++k)
      bufs[k].push_back(tensor_of(k == 0 ? s.a : k == 1 ? s.b : s.c));
    steps.push_back(scalar_tensor(Scalar(0.0), DType::Float32));
  }
  std::mt19937 rng(2);
  for (int step = 0; step < 4; ++step) {
    grads.clear();
    for (State<T>& s : want) {
      s.grad = random_vec<T>(rng, s.param.size());
      grads.push_back(tensor_of(s.grad));
      reference(s);
    }
    fused(params, grads, bufs, steps);
    for (size_t i = 0; i < want.size(); ++i) {
      SCOPED_TRACE("step " + std::to_string(step) + ", param " + std::to_string(i));
      expect_equal(values_of<T>(params[i]), want[i].param, "param");
      for (int k = 0; k < buffers; ++k) {
        if (!bufs[k][i]) continue;  // SGD's buffer before it exists
        expect_equal(values_of<T>(bufs[k][i]),
                     k == 0   ? want[i].a
                     : k == 1 ? want[i].b
                              : want[i].c,
                     "state");
      }
      EXPECT_EQ(static_cast<float>(item_as_double(steps[i])), want[i].step);
    }
  }
}

// ---- the four optimizers ----

template <typename T>
void reference_sgd(State<T>& s, const SgdOptions& o) {
  Vec<T> grad = o.maximize ? neg(s.grad) : s.grad;
  if (o.weight_decay != 0) grad = add(grad, s.param, o.weight_decay);
  if (o.momentum != 0) {
    if (!s.has_buffer) {
      s.a = grad;  // the clone
      s.has_buffer = true;
    } else {
      mul_(s.a, o.momentum);
      add_(s.a, grad, 1 - o.dampening);
    }
    grad = o.nesterov ? add(grad, s.a, o.momentum) : s.a;
  }
  add_(s.param, grad, -o.lr);
}

template <typename T>
void check_sgd(const SgdOptions& o) {
  // momentum buffers start undefined, as in torch's first step
  bool first = true;
  check_steps<T>(
      o.momentum != 0 ? 1 : 0,
      [&](const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
          std::vector<std::vector<Tensor>>& bufs, const std::vector<Tensor>&) {
        if (first && o.momentum != 0) {
          for (Tensor& b : bufs[0]) b = Tensor();
        }
        first = false;
        bufs[0] = fused_sgd_step(params, grads, bufs[0], o);
      },
      [&](State<T>& s) {
        if (first) s.has_buffer = false;
        reference_sgd(s, o);
      });
}

TEST(FusedOptimizer, SgdMatchesTorchsOpsForEveryOption) {
  for (double momentum : {0.0, 0.9}) {
    for (double dampening : {0.0, 0.3}) {
      for (bool nesterov : {false, true}) {
        if (nesterov && (momentum == 0 || dampening != 0)) continue;
        for (double weight_decay : {0.0, 0.05}) {
          for (bool maximize : {false, true}) {
            const SgdOptions o{0.07, momentum, dampening, weight_decay, nesterov, maximize};
            SCOPED_TRACE("momentum " + std::to_string(momentum) + " dampening " +
                         std::to_string(dampening) + " nesterov " + std::to_string(nesterov) +
                         " weight_decay " + std::to_string(weight_decay) + " maximize " +
                         std::to_string(maximize));
            check_sgd<float>(o);
            check_sgd<double>(o);
          }
        }
      }
    }
  }
}

template <typename T>
void reference_adam(State<T>& s, const AdamOptions& o) {
  s.step += 1.0f;
  Vec<T> grad = o.maximize ? neg(s.grad) : s.grad;
  if (o.weight_decay != 0) {
    if (o.decoupled_weight_decay) {
      mul_(s.param, 1 - o.lr * o.weight_decay);
    } else {
      grad = add(grad, s.param, o.weight_decay);
    }
  }
  lerp_(s.a, grad, 1 - o.beta1);
  mul_(s.b, o.beta2);
  addcmul_(s.b, grad, grad, 1 - o.beta2);
  const double step = s.step;
  const double bias_correction1 = 1 - std::pow(o.beta1, step);
  const double bias_correction2 = 1 - std::pow(o.beta2, step);
  const double step_size = o.lr / bias_correction1;
  const double bias_correction2_sqrt = std::pow(bias_correction2, 0.5);
  Vec<T> denom;
  if (o.amsgrad) {
    maximum_(s.c, s.b);
    denom = add_scalar(div_scalar(sqrt(s.c), bias_correction2_sqrt), o.eps);
  } else {
    denom = add_scalar(div_scalar(sqrt(s.b), bias_correction2_sqrt), o.eps);
  }
  addcdiv_(s.param, s.a, denom, -step_size);
}

TEST(FusedOptimizer, AdamMatchesTorchsOpsForEveryOption) {
  for (bool amsgrad : {false, true}) {
    for (bool maximize : {false, true}) {
      for (double weight_decay : {0.0, 0.1}) {
        for (bool decoupled : {false, true}) {
          // betas on both sides of lerp's 0.5 switch
          for (double beta1 : {0.9, 0.3}) {
            const AdamOptions o{0.01,         beta1,   0.95,     1e-8,
                                weight_decay, amsgrad, maximize, decoupled};
            SCOPED_TRACE("amsgrad " + std::to_string(amsgrad) + " maximize " +
                         std::to_string(maximize) + " weight_decay " +
                         std::to_string(weight_decay) + " decoupled " + std::to_string(decoupled) +
                         " beta1 " + std::to_string(beta1));
            const auto fused =
                [&](const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                    std::vector<std::vector<Tensor>>& b, const std::vector<Tensor>& steps) {
                  fused_adam_step(params, grads, b[0], b[1], amsgrad ? b[2] : std::vector<Tensor>{},
                                  steps, o);
                };
            const int buffers = amsgrad ? 3 : 2;
            check_steps<float>(buffers, fused, [&](State<float>& s) { reference_adam(s, o); });
            check_steps<double>(buffers, fused, [&](State<double>& s) { reference_adam(s, o); });
          }
        }
      }
    }
  }
}

template <typename T>
void reference_adadelta(State<T>& s, const AdadeltaOptions& o) {
  s.step += 1.0f;
  Vec<T> grad = o.maximize ? neg(s.grad) : s.grad;
  if (o.weight_decay != 0) grad = add(grad, s.param, o.weight_decay);
  mul_(s.a, o.rho);
  addcmul_(s.a, grad, grad, 1 - o.rho);
  const Vec<T> std_ = sqrt(add_scalar(s.a, o.eps));
  Vec<T> delta = sqrt(add_scalar(s.b, o.eps));
  div_(delta, std_);
  mul_(delta, grad);
  mul_(s.b, o.rho);
  addcmul_(s.b, delta, delta, 1 - o.rho);
  add_(s.param, delta, -o.lr);
}

TEST(FusedOptimizer, AdadeltaMatchesTorchsOpsForEveryOption) {
  for (bool maximize : {false, true}) {
    for (double weight_decay : {0.0, 0.1}) {
      const AdadeltaOptions o{0.5, 0.8, 1e-6, weight_decay, maximize};
      SCOPED_TRACE("maximize " + std::to_string(maximize) + " weight_decay " +
                   std::to_string(weight_decay));
      const auto fused = [&](const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                             std::vector<std::vector<Tensor>>& b,
                             const std::vector<Tensor>& steps) {
        fused_adadelta_step(params, grads, b[0], b[1], steps, o);
      };
      check_steps<float>(2, fused, [&](State<float>& s) { reference_adadelta(s, o); });
      check_steps<double>(2, fused, [&](State<double>& s) { reference_adadelta(s, o); });
    }
  }
}

// State order: square_avg (a), momentum_buffer (b), grad_avg (c).
template <typename T>
void reference_rmsprop(State<T>& s, const RmspropOptions& o) {
  s.step += 1.0f;
  Vec<T> grad = o.maximize ? neg(s.grad) : s.grad;
  if (o.weight_decay != 0) grad = add(grad, s.param, o.weight_decay);
  mul_(s.a, o.alpha);
  addcmul_(s.a, grad, grad, 1 - o.alpha);
  Vec<T> avg;
  if (o.centered) {
    lerp_(s.c, grad, 1 - o.alpha);
    avg = sqrt(addcmul(s.a, s.c, s.c, -1));
  } else {
    avg = sqrt(s.a);
  }
  avg = add_scalar(avg, o.eps);
  if (o.momentum > 0) {
    mul_(s.b, o.momentum);
    addcdiv_(s.b, grad, avg, 1);
    add_(s.param, s.b, -o.lr);
  } else {
    addcdiv_(s.param, grad, avg, -o.lr);
  }
}

TEST(FusedOptimizer, RmspropMatchesTorchsOpsForEveryOption) {
  for (bool centered : {false, true}) {
    for (double momentum : {0.0, 0.9}) {
      for (bool maximize : {false, true}) {
        for (double weight_decay : {0.0, 0.1}) {
          // alpha on both sides of lerp's 0.5 switch (the weight is 1 - alpha)
          for (double alpha : {0.99, 0.3}) {
            const RmspropOptions o{0.01, alpha, 1e-8, weight_decay, momentum, centered, maximize};
            SCOPED_TRACE("centered " + std::to_string(centered) + " momentum " +
                         std::to_string(momentum) + " maximize " + std::to_string(maximize) +
                         " weight_decay " + std::to_string(weight_decay) + " alpha " +
                         std::to_string(alpha));
            const auto fused =
                [&](const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                    std::vector<std::vector<Tensor>>& b, const std::vector<Tensor>& steps) {
                  fused_rmsprop_step(params, grads, b[0], centered ? b[2] : std::vector<Tensor>{},
                                     momentum > 0 ? b[1] : std::vector<Tensor>{}, steps, o);
                };
            check_steps<float>(3, fused, [&](State<float>& s) { reference_rmsprop(s, o); });
            check_steps<double>(3, fused, [&](State<double>& s) { reference_rmsprop(s, o); });
          }
        }
      }
    }
  }
}

// ---- versions, threads, repeats, argument checks ----

TEST(FusedOptimizer, BumpsVersionsAsTorchsInPlaceOpsDo) {
  const Tensor p = zeros(Shape{3}), g = ones(Shape{3}), m = zeros(Shape{3}), v = zeros(Shape{3}),
               mx = zeros(Shape{3}), step = scalar_tensor(Scalar(0.0));
  // AdamW: param.mul_ and addcdiv_; lerp_; mul_ and addcmul_; maximum(out=); step += 1
  fused_adam_step({p}, {g}, {m}, {v}, {mx}, {step}, {0.1, 0.9, 0.99, 1e-8, 0.1, true, false, true});
  EXPECT_EQ(p->version(), 2u);
  EXPECT_EQ(g->version(), 0u);
  EXPECT_EQ(m->version(), 1u);
  EXPECT_EQ(v->version(), 2u);
  EXPECT_EQ(mx->version(), 1u);
  EXPECT_EQ(step->version(), 1u);
  // SGD: a new momentum buffer is a fresh clone; an old one gets mul_ and add_
  const Tensor q = zeros(Shape{3});
  std::vector<Tensor> bufs = fused_sgd_step({q}, {g}, {Tensor()}, {0.1, 0.9, 0, 0, false, false});
  EXPECT_EQ(q->version(), 1u);
  EXPECT_EQ(bufs[0]->version(), 0u);
  bufs = fused_sgd_step({q}, {g}, bufs, {0.1, 0.9, 0, 0, false, false});
  EXPECT_EQ(q->version(), 2u);
  EXPECT_EQ(bufs[0]->version(), 2u);
}

TEST(FusedOptimizer, ResultsDoNotDependOnTheThreadCount) {
  const int threads = get_num_threads();
  std::vector<Vec<float>> results;
  for (int n : {1, 2, 3}) {
    set_num_threads(n);
    std::vector<State<float>> s = make_states<float>(5);
    std::vector<Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
    std::mt19937 rng(6);
    for (const State<float>& st : s) {
      params.push_back(tensor_of(st.param));
      grads.push_back(tensor_of(random_vec<float>(rng, st.param.size())));
      exp_avgs.push_back(tensor_of(st.a));
      exp_avg_sqs.push_back(tensor_of(st.b));
      steps.push_back(scalar_tensor(Scalar(0.0)));
    }
    fused_adam_step(params, grads, exp_avgs, exp_avg_sqs, {}, steps, AdamOptions{});
    Vec<float> all;
    for (const Tensor& p : params) {
      const Vec<float> v = values_of<float>(p);
      all.insert(all.end(), v.begin(), v.end());
    }
    results.push_back(all);
  }
  set_num_threads(threads);
  expect_equal(results[1], results[0], "2 threads");
  expect_equal(results[2], results[0], "3 threads");
}

TEST(FusedOptimizer, AParamListedTwiceIsSteppedTwiceInOrder) {
  std::mt19937 rng(3);
  const Vec<double> p0 = random_vec<double>(rng, 70001), g0 = random_vec<double>(rng, 70001);
  const AdamOptions o{0.01, 0.9, 0.99, 1e-8, 0.1, false, false, true};
  // once listed twice (the state is shared, as torch's state dict per param is)
  const Tensor p = tensor_of(p0), g = tensor_of(g0), m = zeros(Shape{70001}, DType::Float64),
               v = zeros(Shape{70001}, DType::Float64), s = scalar_tensor(Scalar(0.0));
  fused_adam_step({p, p}, {g, g}, {m, m}, {v, v}, {}, {s, s}, o);
  // and two separate steps
  const Tensor q = tensor_of(p0), m2 = zeros(Shape{70001}, DType::Float64),
               v2 = zeros(Shape{70001}, DType::Float64), s2 = scalar_tensor(Scalar(0.0));
  fused_adam_step({q}, {g}, {m2}, {v2}, {}, {s2}, o);
  fused_adam_step({q}, {g}, {m2}, {v2}, {}, {s2}, o);
  expect_equal(values_of<double>(p), values_of<double>(q), "param");
  EXPECT_EQ(item_as_double(s), 2.0);
  EXPECT_EQ(p->version(), 4u);
}

void expect_value_error(const std::function<void()>& f, const std::string& message) {
  try {
    f();
    ADD_FAILURE() << "no error; expected: " << message;
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
  }
}

TEST(FusedOptimizer, RefusesBadArgumentsNamingThemBeforeWriting) {
  const Tensor p = zeros(Shape{2, 3}), g = ones(Shape{2, 3}), s = scalar_tensor(Scalar(0.0));
  const AdadeltaOptions o;
  const auto adadelta = [&](std::vector<Tensor> grads, std::vector<Tensor> sq,
                            std::vector<Tensor> acc, std::vector<Tensor> steps) {
    return [=] { fused_adadelta_step({p}, grads, sq, acc, steps, o); };
  };
  expect_value_error(adadelta({g}, {zeros(Shape{2, 3})}, {}, {s}),
                     "fused_adadelta_step: expected one of acc_deltas per param (1), got 0");
  expect_value_error(
      adadelta({t(ones(Shape{3, 2}))}, {zeros(Shape{2, 3})}, {zeros(Shape{2, 3})}, {s}),
      "grads[0] is not contiguous");
  expect_value_error(adadelta({g}, {zeros(Shape{2, 3}, DType::Float64)}, {zeros(Shape{2, 3})}, {s}),
                     "square_avgs[0] has dtype float64 but params[0] has float32");
  expect_value_error(adadelta({g}, {zeros(Shape{6})}, {zeros(Shape{2, 3})}, {s}),
                     "square_avgs[0] has shape [6] but params[0] has [2, 3]");
  expect_value_error(adadelta({g}, {g}, {zeros(Shape{2, 3})}, {s}),
                     "square_avgs[0] overlaps grads[0] in memory");
  expect_value_error(adadelta({g}, {zeros(Shape{2, 3})}, {zeros(Shape{2, 3})},
                              {scalar_tensor(Scalar(0.0), DType::Float64)}),
                     "state_steps[0] must be a float32 tensor of one element");
  expect_value_error(adadelta({Tensor()}, {zeros(Shape{2, 3})}, {zeros(Shape{2, 3})}, {s}),
                     "grads[0] is undefined");
  expect_value_error(
      [&] {
        fused_sgd_step({ones(Shape{2}, DType::Int64)}, {ones(Shape{2}, DType::Int64)}, {},
                       SgdOptions{});
      },
      "params[0] has dtype int64; the fused step takes float32 or float64");
  expect_value_error([&] { fused_sgd_step({p}, {g}, {zeros(Shape{2, 3})}, SgdOptions{}); },
                     "momentum_buffers must be empty unless momentum != 0");
  // nothing was written
  EXPECT_EQ(p->version(), 0u);
  EXPECT_EQ(s->version(), 0u);
  EXPECT_EQ(item_as_double(s), 0.0);
}

}  // namespace
}  // namespace ember
