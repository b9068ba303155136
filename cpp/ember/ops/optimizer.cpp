#include "ember/ops/optimizer.h"

#include <string>
#include <unordered_set>
#include <utility>

#include "ember/dtype.h"
#include "ember/shape.h"

namespace ember {

namespace {

// One list argument of a fused step and the version bumps torch's in-place
// ops give each of its tensors per step.
struct List {
  const char* name;
  const std::vector<Tensor>* tensors;
  int bumps;
  bool may_be_undefined = false;  // SGD's momentum buffers before the first step
};

std::string entry(const char* name, size_t i) {
  return std::string(name) + "[" + std::to_string(i) + "]";
}

// The checks of ops/optimizer.h, with messages naming the argument. lists[0]
// is params. Returns the params' dtype.
DType check_lists(const char* fn, const std::vector<List>& lists, const std::vector<Tensor>& steps,
                  bool has_steps) {
  const auto fail = [&](const std::string& what) {
    throw ValueError(std::string(fn) + ": " + what);
  };
  const std::vector<Tensor>& params = *lists[0].tensors;
  const size_t count = params.size();
  for (const List& l : lists) {
    if (l.tensors->size() != count) {
      fail(std::string("expected one of ") + l.name + " per param (" + std::to_string(count) +
           "), got " + std::to_string(l.tensors->size()));
    }
  }
  if (has_steps && steps.size() != count) {
    fail("expected one of state_steps per param (" + std::to_string(count) + "), got " +
         std::to_string(steps.size()));
  }
  DType dtype = DType::Float32;
  if (count > 0) {
    if (!params[0]) fail("params[0] is undefined");
    dtype = params[0]->dtype();
    if (dtype != DType::Float32 && dtype != DType::Float64) {
      fail(std::string("params[0] has dtype ") + dtype_name(dtype) +
           "; the fused step takes float32 or float64");
    }
  }
  for (size_t i = 0; i < count; ++i) {
    // the byte ranges of param i's tensors, which may not overlap
    std::vector<std::pair<const char*, const char*>> ranges;
    std::vector<const char*> names;
    for (const List& l : lists) {
      const Tensor& t = (*l.tensors)[i];
      if (!t) {
        if (l.may_be_undefined) continue;
        fail(entry(l.name, i) + " is undefined");
      }
      if (t->dtype() != dtype) {
        fail(entry(l.name, i) + " has dtype " + dtype_name(t->dtype()) + " but " +
             "params[0] has " + dtype_name(dtype) +
             "; every tensor of a fused step must have one dtype");
      }
      if (!t->is_contiguous()) fail(entry(l.name, i) + " is not contiguous");
      if (t->shape() != params[i]->shape()) {
        fail(entry(l.name, i) + " has shape " + shape_str(t->shape()) + " but " +
             entry("params", i) + " has " + shape_str(params[i]->shape()));
      }
      const char* begin = static_cast<const char*>(t->raw_data());
      const char* end = begin + t->numel() * static_cast<int64_t>(itemsize(dtype));
      for (size_t k = 0; k < ranges.size(); ++k) {
        if (begin < ranges[k].second && ranges[k].first < end) {
          fail(entry(l.name, i) + " overlaps " + entry(names[k], i) + " in memory");
        }
      }
      ranges.emplace_back(begin, end);
      names.push_back(l.name);
    }
    if (has_steps) {
      const Tensor& s = steps[i];
      if (!s || s->dtype() != DType::Float32 || s->numel() != 1) {
        fail(entry("state_steps", i) + " must be a float32 tensor of one element");
      }
    }
  }
  return dtype;
}

void check_absent(const char* fn, const char* name, const std::vector<Tensor>& list,
                  const char* unless) {
  if (!list.empty()) {
    throw ValueError(std::string(fn) + ": " + name + " must be empty unless " + unless);
  }
}

// Calls step(begin, end) over [0, params.size()) in runs where no parameter
// appears twice: a parameter listed twice is stepped twice, in order, as in
// torch's loop, never by two threads at once.
template <typename Step>
void in_runs(const std::vector<Tensor>& params, const Step& step) {
  std::unordered_set<const void*> seen;
  size_t begin = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i]->numel() == 0) continue;
    if (!seen.insert(params[i]->raw_data()).second) {
      step(begin, i);
      seen.clear();
      seen.insert(params[i]->raw_data());
      begin = i;
    }
  }
  step(begin, params.size());
}

void bump(const List& l, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    const Tensor& t = (*l.tensors)[i];
    for (int k = 0; k < l.bumps; ++k) t->bump_version();
  }
}

// step_t += 1 (float32, as torch's); returns the new count.
double increment_step(const Tensor& step) {
  float* s = step->data<float>();
  *s = *s + 1.0f;
  step->bump_version();
  return static_cast<double>(*s);
}

template <typename T>
T* data_or_null(const std::vector<Tensor>& list, size_t i) {
  return list.empty() ? nullptr : list[i]->data<T>();
}

const std::vector<Tensor> kNone;

}  // namespace

std::vector<Tensor> fused_sgd_step(const std::vector<Tensor>& params,
                                   const std::vector<Tensor>& grads,
                                   const std::vector<Tensor>& momentum_buffers,
                                   const SgdOptions& options) {
  const char* fn = "fused_sgd_step";
  const bool momentum = options.momentum != 0;
  std::vector<List> lists = {{"params", &params, 1}, {"grads", &grads, 0}};
  if (momentum) {
    lists.push_back({"momentum_buffers", &momentum_buffers, 2, /*may_be_undefined=*/true});
  } else {
    check_absent(fn, "momentum_buffers", momentum_buffers, "momentum != 0");
  }
  const DType dtype = check_lists(fn, lists, kNone, false);

  std::vector<Tensor> buffers = momentum_buffers;
  std::vector<bool> fresh(buffers.size(), false);
  for (size_t i = 0; i < buffers.size(); ++i) {
    if (!buffers[i]) {
      buffers[i] = empty(params[i]->shape(), dtype);
      fresh[i] = true;
    }
  }
  in_runs(params, [&](size_t begin, size_t end) {
    EMBER_DISPATCH_FLOAT(dtype, T, [&] {
      std::vector<SgdSlot<T>> slots;
      for (size_t i = begin; i < end; ++i) {
        slots.push_back({params[i]->data<T>(), grads[i]->data<T>(), data_or_null<T>(buffers, i),
                         momentum && fresh[i], params[i]->numel()});
      }
      sgd_step_kernel(slots, options);
    });
    bump(lists[0], begin, end);
    for (size_t i = begin; i < end && momentum; ++i) {
      // torch's buf.mul_().add_() on an old buffer; a new one is a fresh clone
      if (!fresh[i]) buffers[i]->bump_version(), buffers[i]->bump_version();
    }
  });
  return buffers;
}

void fused_adam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                     const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                     const std::vector<Tensor>& max_exp_avg_sqs,
                     const std::vector<Tensor>& state_steps, const AdamOptions& options) {
  const char* fn = "fused_adam_step";
  // param.mul_() for decoupled weight decay, then addcdiv_()
  const int param_bumps = options.decoupled_weight_decay && options.weight_decay != 0 ? 2 : 1;
  std::vector<List> lists = {{"params", &params, param_bumps},
                             {"grads", &grads, 0},
                             {"exp_avgs", &exp_avgs, 1},         // lerp_
                             {"exp_avg_sqs", &exp_avg_sqs, 2}};  // mul_, addcmul_
  if (options.amsgrad) {
    lists.push_back({"max_exp_avg_sqs", &max_exp_avg_sqs, 1});  // maximum(out=)
  } else {
    check_absent(fn, "max_exp_avg_sqs", max_exp_avg_sqs, "amsgrad");
  }
  const DType dtype = check_lists(fn, lists, state_steps, true);
  in_runs(params, [&](size_t begin, size_t end) {
    EMBER_DISPATCH_FLOAT(dtype, T, [&] {
      std::vector<AdamSlot<T>> slots;
      for (size_t i = begin; i < end; ++i) {
        slots.push_back({params[i]->data<T>(), grads[i]->data<T>(), exp_avgs[i]->data<T>(),
                         exp_avg_sqs[i]->data<T>(), data_or_null<T>(max_exp_avg_sqs, i),
                         increment_step(state_steps[i]), params[i]->numel()});
      }
      adam_step_kernel(slots, options);
    });
    for (const List& l : lists) bump(l, begin, end);
  });
}

void fused_adadelta_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                         const std::vector<Tensor>& square_avgs,
                         const std::vector<Tensor>& acc_deltas,
                         const std::vector<Tensor>& state_steps, const AdadeltaOptions& options) {
  const std::vector<List> lists = {{"params", &params, 1},  // add_
                                   {"grads", &grads, 0},
                                   {"square_avgs", &square_avgs, 2},  // mul_, addcmul_
                                   {"acc_deltas", &acc_deltas, 2}};   // mul_, addcmul_
  const DType dtype = check_lists("fused_adadelta_step", lists, state_steps, true);
  in_runs(params, [&](size_t begin, size_t end) {
    EMBER_DISPATCH_FLOAT(dtype, T, [&] {
      std::vector<AdadeltaSlot<T>> slots;
      for (size_t i = begin; i < end; ++i) {
        increment_step(state_steps[i]);
        slots.push_back({params[i]->data<T>(), grads[i]->data<T>(), square_avgs[i]->data<T>(),
                         acc_deltas[i]->data<T>(), params[i]->numel()});
      }
      adadelta_step_kernel(slots, options);
    });
    for (const List& l : lists) bump(l, begin, end);
  });
}

void fused_rmsprop_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                        const std::vector<Tensor>& square_avgs,
                        const std::vector<Tensor>& grad_avgs,
                        const std::vector<Tensor>& momentum_buffers,
                        const std::vector<Tensor>& state_steps, const RmspropOptions& options) {
  const char* fn = "fused_rmsprop_step";
  std::vector<List> lists = {{"params", &params, 1},  // add_ or addcdiv_
                             {"grads", &grads, 0},
                             {"square_avgs", &square_avgs, 2}};  // mul_, addcmul_
  if (options.centered) {
    lists.push_back({"grad_avgs", &grad_avgs, 1});  // lerp_
  } else {
    check_absent(fn, "grad_avgs", grad_avgs, "centered");
  }
  if (options.momentum > 0) {
    lists.push_back({"momentum_buffers", &momentum_buffers, 2});  // mul_, addcdiv_
  } else {
    check_absent(fn, "momentum_buffers", momentum_buffers, "momentum > 0");
  }
  const DType dtype = check_lists(fn, lists, state_steps, true);
  in_runs(params, [&](size_t begin, size_t end) {
    EMBER_DISPATCH_FLOAT(dtype, T, [&] {
      std::vector<RmspropSlot<T>> slots;
      for (size_t i = begin; i < end; ++i) {
        increment_step(state_steps[i]);
        slots.push_back({params[i]->data<T>(), grads[i]->data<T>(), square_avgs[i]->data<T>(),
                         data_or_null<T>(grad_avgs, i), data_or_null<T>(momentum_buffers, i),
                         params[i]->numel()});
      }
      rmsprop_step_kernel(slots, options);
    });
    for (const List& l : lists) bump(l, begin, end);
  });
}

}  // namespace ember
