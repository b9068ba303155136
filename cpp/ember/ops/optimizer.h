#pragma once
// Fused optimizer steps over lists of parameters (raw: no autograd; the
// optimizers in python/ember/optim call them under no_grad). Each does torch's
// single-tensor step for every parameter in one pass over its memory; see
// Note [Fused optimizer steps] in kernels/optimizer.cpp.
//
// Entry i of every list belongs to params[i]. Every tensor must be defined,
// contiguous, of params' shape and of one floating dtype (float32 or float64),
// and no two tensors of one parameter may overlap in memory; `state_steps` are
// float32 tensors of one element. Anything else raises ValueError naming the
// argument, before anything is written. A parameter listed twice is stepped
// twice, in order, as torch's loop does.
//
// Each call increments the steps, updates params and state in place, and bumps
// the version counter of every tensor it writes as many times as torch's
// in-place ops do (Note [Version counter]), so a tensor saved for backward and
// then stepped raises torch's error.

#include <vector>

#include "ember/kernels/optimizer.h"
#include "ember/tensor.h"

namespace ember {

// momentum_buffers: one per param when momentum != 0 (undefined ones are
// created, holding the gradient, as torch's first step clones it), else
// empty. Returns the buffers.
std::vector<Tensor> fused_sgd_step(const std::vector<Tensor>& params,
                                   const std::vector<Tensor>& grads,
                                   const std::vector<Tensor>& momentum_buffers,
                                   const SgdOptions& options);

// max_exp_avg_sqs: one per param under amsgrad, else empty.
void fused_adam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                     const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                     const std::vector<Tensor>& max_exp_avg_sqs,
                     const std::vector<Tensor>& state_steps, const AdamOptions& options);

void fused_adadelta_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                         const std::vector<Tensor>& square_avgs,
                         const std::vector<Tensor>& acc_deltas,
                         const std::vector<Tensor>& state_steps, const AdadeltaOptions& options);

// grad_avgs: one per param when centered, else empty; momentum_buffers: one
// per param when momentum > 0, else empty.
void fused_rmsprop_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                        const std::vector<Tensor>& square_avgs,
                        const std::vector<Tensor>& grad_avgs,
                        const std::vector<Tensor>& momentum_buffers,
                        const std::vector<Tensor>& state_steps, const RmspropOptions& options);

}  // namespace ember
