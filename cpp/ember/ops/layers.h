#pragma once
// Layer ops torch records as one node of their own (ops/layers.cpp): pixel
// shuffling and PReLU's kernel.

#include "ember/ops.h"

namespace ember {

// (..., C*r*r, H, W) -> (..., C, H*r, W*r); node PixelShuffleBackward0.
Tensor pixel_shuffle(const Tensor& input, int64_t upscale_factor);
// The inverse rearrangement; node PixelUnshuffleBackward0.
Tensor pixel_unshuffle(const Tensor& input, int64_t downscale_factor);

// x where x > 0, else weight * x, with weight already shaped to broadcast
// against x; node PreluKernelBackward0.
Tensor prelu_kernel(const Tensor& input, const Tensor& weight);

}  // namespace ember
