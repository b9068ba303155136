#pragma once
// A tensor's memory: one buffer shared by a tensor and all of its views.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace ember {

// Note [Version counter]
// Each storage counts the in-place writes made to it. Views share the storage,
// so a write through any view bumps the one counter all of them see. A saved
// tensor records the version at save time; if it differs when backward unpacks
// it, the values the gradient formula needs are gone and backward raises
// instead of returning a silently wrong gradient.
class Storage {
 public:
  // Buffers up to this size live inside the Storage object itself: scalars and
  // short vectors then cost no allocation beyond the Storage.
  static constexpr size_t kInlineBytes = 16;

  // Uninitialized memory for `nbytes`.
  static std::shared_ptr<Storage> allocate(size_t nbytes);
  // Memory owned elsewhere (a NumPy array); `owner` keeps it alive.
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, std::shared_ptr<void> owner);

  explicit Storage(size_t nbytes);
  Storage(void* data, size_t nbytes, std::shared_ptr<void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // Note [Shared memory]
  // share_memory_() moves the buffer into an anonymous MAP_SHARED mapping,
  // so processes forked afterwards (torch.multiprocessing's default on Linux)
  // read and write the same memory: Hogwild training. Every view sees it, as
  // they share this Storage. Idempotent.
  void move_to_shared_memory();
  bool is_shared() const { return shared_; }

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  uint32_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }
  // Counts in-place ops recorded in the graph (history rewrites) on this memory;
  // a view made before one of them has a stale grad_fn. See Note [Views and in-place].
  uint32_t history() const { return history_.load(std::memory_order_relaxed); }
  void bump_history() { history_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void* data_;
  size_t nbytes_;
  size_t capacity_ = 0;      // nonzero when the buffer came from the allocator
  bool shared_ = false;      // data_ is a MAP_SHARED mapping of nbytes_ (at least 1)
  void* retired_ = nullptr;  // the buffer before the move, kept for old NumPy views
  std::atomic<uint32_t> version_{0};
  std::atomic<uint32_t> history_{0};
  std::shared_ptr<void> owner_;
  alignas(16) unsigned char inline_[kInlineBytes];
};

}  // namespace ember
