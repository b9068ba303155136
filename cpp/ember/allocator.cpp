#include "ember/allocator.h"

#include <array>
#include <chrono>
#include <cstdlib>
#include <iterator>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#ifdef __linux__
#include <pthread.h>
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
constexpr size_t kDefaultCacheLimit = size_t{256} << 20;  // Note [Buffer caching]
constexpr size_t kMaxCachedPerSmallClass = 4096;
constexpr int64_t kIdleNanoseconds = 1'000'000'000;
// The idle check reads the clock on one call in this many (and on every large
// release, which reads it anyway), so small ops do not pay for it.
constexpr int64_t kCallsPerIdleCheck = 64;

size_t round_size(size_t nbytes) {
  if (nbytes <= kAlignment) return kAlignment;
  if (nbytes >= kLargeThreshold) return (nbytes + kLargeThreshold - 1) & ~(kLargeThreshold - 1);
  size_t p = kAlignment;
  while (p < nbytes) p <<= 1;
  return p;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// EMBER_CPU_CACHE_MB, read once; a value that is not a whole number of MiB
// keeps the default.
size_t read_cache_limit() {
  const char* text = std::getenv("EMBER_CPU_CACHE_MB");
  if (!text || !*text) return kDefaultCacheLimit;
  char* end = nullptr;
  const unsigned long long mb = std::strtoull(text, &end, 10);
  if (*end != '\0' || text[0] == '-' || mb > (size_t{1} << 24)) return kDefaultCacheLimit;
  return static_cast<size_t>(mb) << 20;
}

struct CachedBuffer {
  void* ptr;
  int64_t cached_at_ns;  // set for large buffers only
};

struct Cache {
  std::mutex mutex;
  // Per size, in the order the buffers were cached: reuse takes the newest,
  // idle release the oldest.
  std::map<size_t, std::vector<CachedBuffer>> free_lists;
  const size_t limit = read_cache_limit();
  int64_t live_buffers = 0;
  int64_t live_bytes = 0;
  int64_t cached_bytes = 0;
  int64_t large_cached_bytes = 0;
  int64_t calls_until_idle_check = kCallsPerIdleCheck;
};

// Leaked on purpose: tensors held by Python globals are released after static
// destructors would have run. A fork waits for the lock, so the child never
// starts with it held by a thread that does not exist there.
Cache& cache() {
  static Cache* c = [] {
    Cache* created = new Cache();
#ifdef __linux__
    pthread_atfork([] { cache().mutex.lock(); }, [] { cache().mutex.unlock(); },
                   [] { cache().mutex.unlock(); });
#endif
    return created;
  }();
  return *c;
}

// Idle buffers taken under the lock, freed after it: at most a fixed number
// per call (the rest go on later calls), so releasing a buffer never allocates.
class IdleBatch {
 public:
  bool full() const { return count_ == ptrs_.size(); }
  void add(void* p) { ptrs_[count_++] = p; }
  void free_all() {
    for (size_t i = 0; i < count_; ++i) std::free(ptrs_[i]);
    count_ = 0;
  }

 private:
  std::array<void*, 16> ptrs_{};
  size_t count_ = 0;
};

// Moves the large buffers cached before `now - kIdleNanoseconds` into `out`
// and drops emptied size classes (varying sizes would otherwise pile them up).
// Called with the cache locked.
void take_idle_buffers(Cache& c, int64_t now, IdleBatch& out) {
  if (c.large_cached_bytes == 0) return;
  auto it = c.free_lists.lower_bound(kLargeThreshold);
  while (it != c.free_lists.end() && !out.full()) {
    auto& list = it->second;
    size_t idle = 0;
    while (idle < list.size() && !out.full() && now - list[idle].cached_at_ns > kIdleNanoseconds) {
      out.add(list[idle++].ptr);
    }
    list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(idle));
    const int64_t bytes = static_cast<int64_t>(idle * it->first);
    c.cached_bytes -= bytes;
    c.large_cached_bytes -= bytes;
    it = list.empty() ? c.free_lists.erase(it) : std::next(it);
  }
}

// Every kCallsPerIdleCheck-th call, while large buffers are cached.
void check_idle(Cache& c, IdleBatch& out) {
  if (c.large_cached_bytes == 0 || --c.calls_until_idle_check > 0) return;
  c.calls_until_idle_check = kCallsPerIdleCheck;
  take_idle_buffers(c, now_ns(), out);
}

}  // namespace

void* allocate_buffer(size_t nbytes, size_t* capacity) {
  const size_t size = round_size(nbytes);
  *capacity = size;
  Cache& c = cache();
  IdleBatch idle;
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free_lists.find(size);
    if (it != c.free_lists.end() && !it->second.empty()) {
      p = it->second.back().ptr;
      it->second.pop_back();
      c.cached_bytes -= static_cast<int64_t>(size);
      if (size >= kLargeThreshold) c.large_cached_bytes -= static_cast<int64_t>(size);
      c.live_buffers += 1;
      c.live_bytes += static_cast<int64_t>(size);
    }
    check_idle(c, idle);
  }
  idle.free_all();
  if (p) return p;
  p = allocate_aligned(size);
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

void release_buffer(void* ptr, size_t capacity) noexcept {
  if (!ptr) return;
  Cache& c = cache();
  const bool large = capacity >= kLargeThreshold;
  const int64_t now = large ? now_ns() : 0;
  IdleBatch to_free;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    c.live_buffers -= 1;
    c.live_bytes -= static_cast<int64_t>(capacity);
    if (large) {
      take_idle_buffers(c, now, to_free);
    } else {
      check_idle(c, to_free);
    }
    const bool fits =
        c.cached_bytes + static_cast<int64_t>(capacity) <= static_cast<int64_t>(c.limit);
    try {  // the free list may need memory; without it the buffer goes back at once
      auto& list = c.free_lists[capacity];
      if (fits && (large || list.size() < kMaxCachedPerSmallClass)) {
        list.push_back({ptr, now});
        c.cached_bytes += static_cast<int64_t>(capacity);
        if (large) c.large_cached_bytes += static_cast<int64_t>(capacity);
        ptr = nullptr;
      }
    } catch (const std::bad_alloc&) {
    }
  }
  to_free.free_all();
  std::free(ptr);
}

void empty_cache() {
  Cache& c = cache();
  std::map<size_t, std::vector<CachedBuffer>> taken;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    taken.swap(c.free_lists);
    c.cached_bytes = 0;
    c.large_cached_bytes = 0;
  }
  for (auto& [size, list] : taken) {
    for (const CachedBuffer& b : list) std::free(b.ptr);
  }
}

size_t cache_limit() { return cache().limit; }

BufferStats buffer_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return {c.live_buffers, c.live_bytes, c.cached_bytes};
}

}  // namespace ember
