#pragma once
// Memory for tensor data. See Note [Buffer caching].

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>

namespace ember {

// Note [Buffer caching]
// Every tensor buffer comes from here. Freed buffers are kept in per-size-class
// free lists and handed out again, because:
//  - small buffers churn at the rate of ops (one per op result), and malloc's
//    cost shows directly in per-op overhead;
//  - a fresh large buffer costs one page fault per 4 KiB on first touch
//    (about 10k for 40 MB), which dominates a memory-bound kernel like a*b+c.
// Small sizes round up to a power of two; large sizes round up to 1 MiB. The
// cache keeps at most 256 MiB (EMBER_CPU_CACHE_MB sets another cap when the
// library loads; 0 turns caching off): past that, freed buffers go back to
// the system at once, so most of what a program releases is there for other
// allocators (NumPy's, BLAS's), while a loop over large tensors still reuses
// its buffers (a fresh 40 MB buffer costs ~2 ms of page zeroing, half the
// time of a 10M-element exp). A large buffer (1 MiB and up) left in the cache
// for over a second goes back to the system at the next release of a large
// buffer, or at one of the next 64 allocations and releases of any size, so a
// program that moves on from large tensors to small ones does not keep their
// memory (one that stops calling Ember keeps it until empty_cache()).
// empty_cache() returns everything at once.
// Buffers are 64-byte aligned so kernels can use aligned vector loads.
struct BufferStats {
  int64_t live_buffers;  // handed out and not yet released
  int64_t live_bytes;
  int64_t cached_bytes;  // held in free lists
};

// An allocation the system refused even after the cache was emptied; the
// message names the size, as torch's does.
class OutOfMemory : public std::bad_alloc {
 public:
  explicit OutOfMemory(size_t nbytes)
      : message_("DefaultCPUAllocator: can't allocate memory: you tried to allocate " +
                 std::to_string(nbytes) + " bytes.") {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

// Returns a buffer of at least `nbytes`; its real size is written to `capacity`
// and must be passed back to release_buffer. Throws OutOfMemory when the
// system is out of memory.
void* allocate_buffer(size_t nbytes, size_t* capacity);
void release_buffer(void* ptr, size_t capacity) noexcept;
void empty_cache();
BufferStats buffer_stats();
// The most bytes the cache keeps (Note [Buffer caching]).
size_t cache_limit();

// A kernel's temporary array of n T's (uninitialized), from the cache: a large
// scratch buffer taken fresh from the system on every call would pay a page
// fault per 4 KiB each time.
template <typename T>
class ScratchBuffer {
 public:
  explicit ScratchBuffer(int64_t n)
      : data_(static_cast<T*>(
            allocate_buffer(static_cast<size_t>(n > 0 ? n : 1) * sizeof(T), &capacity_))) {}
  ~ScratchBuffer() { release_buffer(data_, capacity_); }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  T* get() const { return data_; }
  T& operator[](int64_t i) const { return data_[i]; }

 private:
  size_t capacity_ = 0;  // declared first: data_'s initializer sets it
  T* data_;
};

}  // namespace ember
