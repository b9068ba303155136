#include "ember/storage.h"

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
  if (capacity_) release_buffer(data_, capacity_);
}

}  // namespace ember
