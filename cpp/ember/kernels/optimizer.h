#pragma once
// Fused optimizer steps (Note [Fused optimizer steps]): the whole per-element
// update of SGD, Adam/AdamW, Adadelta and RMSprop as one pass over each
// parameter's buffers, for a list of parameters at once. Raw loops over
// contiguous buffers; validation, version counters and state allocation are
// the caller's (cpp/ember/ops/optimizer.h).

#include <cstdint>
#include <vector>

namespace ember {

// Hyperparameters as torch's optimizers hold them (Python floats). The kernels
// round each to the parameters' dtype where torch's ops do.
struct SgdOptions {
  double lr = 1e-3, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, maximize = false;
};
struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool amsgrad = false, maximize = false, decoupled_weight_decay = false;
};
struct AdadeltaOptions {
  double lr = 1.0, rho = 0.9, eps = 1e-6, weight_decay = 0;
  bool maximize = false;
};
struct RmspropOptions {
  double lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
  bool centered = false, maximize = false;
};

// One parameter's buffers, each `n` contiguous elements of T. A buffer the
// options do not use is null.
template <typename T>
struct SgdSlot {
  T* param;
  const T* grad;
  T* momentum_buffer;  // null when momentum == 0
  bool fill_buffer;    // the buffer is new: it becomes the gradient (torch's clone)
  int64_t n;
};
template <typename T>
struct AdamSlot {
  T* param;
  const T* grad;
  T* exp_avg;
  T* exp_avg_sq;
  T* max_exp_avg_sq;  // null unless amsgrad
  double step;        // the step count after this step's increment
  int64_t n;
};
template <typename T>
struct AdadeltaSlot {
  T* param;
  const T* grad;
  T* square_avg;
  T* acc_delta;
  int64_t n;
};
template <typename T>
struct RmspropSlot {
  T* param;
  const T* grad;
  T* square_avg;
  T* grad_avg;         // null unless centered
  T* momentum_buffer;  // null unless momentum > 0
  int64_t n;
};

// Each updates every slot's buffers in place, in parallel over all the slots'
// elements together. No two slots may share a buffer. T is float or double.
template <typename T>
void sgd_step_kernel(const std::vector<SgdSlot<T>>& slots, const SgdOptions& options);
template <typename T>
void adam_step_kernel(const std::vector<AdamSlot<T>>& slots, const AdamOptions& options);
template <typename T>
void adadelta_step_kernel(const std::vector<AdadeltaSlot<T>>& slots,
                          const AdadeltaOptions& options);
template <typename T>
void rmsprop_step_kernel(const std::vector<RmspropSlot<T>>& slots, const RmspropOptions& options);

}  // namespace ember
