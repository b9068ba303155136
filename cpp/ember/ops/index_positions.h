#pragma once
// The one bounds check of integer indices, shared by indexing, index_select,
// take, index_fill and index_copy: each op words the error as torch does.

#include <cstdint>
#include <functional>
#include <string>

#include "ember/tensor.h"

namespace ember {

// torch's usual wording: "<op>index k is out of bounds for dimension d with size s".
std::string out_of_bounds_message(int64_t k, int64_t dim, int64_t size, const std::string& op = "");

// A contiguous int64 copy of `index` with every position in [0, size):
// negative ones count from the end when `wrap`; `refuse(k)` throws the op's
// error for any other position k.
Tensor wrapped_positions(const Tensor& index, int64_t size, bool wrap,
                         const std::function<void(int64_t)>& refuse);
// The same, refusing with IndexError and torch's usual message for dimension `dim`.
Tensor wrapped_positions(const Tensor& index, int64_t size, int64_t dim);

}  // namespace ember
