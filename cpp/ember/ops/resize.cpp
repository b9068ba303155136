// Tensor.resize_: a new shape over the same memory, grown when too small.

#include <cstring>

#include "ember/ops.h"

namespace ember {

Tensor& resize_(Tensor& self, const Shape& shape) {
  // torch refuses any tensor in a graph, under no_grad too.
  if (self->requires_grad()) throw std::runtime_error("cannot resize variables that require grad");
  for (int64_t s : shape) {
    if (s < 0) throw std::runtime_error("numel: integer multiplication overflow");
  }
  if (shape == self->shape()) return self;  // same shape: strides stay, as in torch
  const size_t item = itemsize(self->dtype());
  const size_t needed = static_cast<size_t>(self->offset() + numel_of(shape)) * item;
  std::shared_ptr<Storage> storage = self->storage();
  if (needed > storage->nbytes()) {
    // The old bytes come along; the rest is uninitialized, as in torch.
    auto grown = Storage::allocate(needed);
    std::memcpy(grown->data(), storage->data(), storage->nbytes());
    storage = std::move(grown);
  }
  const TensorImpl resized(storage, self->offset(), shape, contiguous_strides(shape),
                           self->dtype());
  self->set_data(resized);
  self->bump_version();
  return self;
}

}  // namespace ember
