#include "ember/storage.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "ember/allocator.h"

namespace ember {

std::shared_ptr<Storage> Storage::allocate(size_t nbytes) {
  return std::make_shared<Storage>(nbytes);
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, std::shared_ptr<void> owner) {
  return std::make_shared<Storage>(data, nbytes, std::move(owner));
}

Storage::Storage(size_t nbytes) : nbytes_(nbytes) {
  data_ =
      nbytes <= kInlineBytes ? static_cast<void*>(inline_) : allocate_buffer(nbytes, &capacity_);
}

Storage::Storage(void* data, size_t nbytes, std::shared_ptr<void> owner)
    : data_(data), nbytes_(nbytes), owner_(std::move(owner)) {}

Storage::~Storage() {
  if (shared_) munmap(data_, std::max<size_t>(nbytes_, 1));
  void* own_buffer = shared_ ? retired_ : data_;
  if (capacity_) release_buffer(own_buffer, capacity_);
}

void Storage::move_to_shared_memory() {
  if (shared_) return;
  void* mapped = mmap(nullptr, std::max<size_t>(nbytes_, 1), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) throw std::bad_alloc();
  if (nbytes_) std::memcpy(mapped, data_, nbytes_);
  // The old buffer stays until the storage dies: a NumPy array from .numpy()
  // may still point into it (it then no longer sees the tensor, as in torch).
  retired_ = data_;
  data_ = mapped;
  shared_ = true;
}

}  // namespace ember
