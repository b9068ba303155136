#include "ember/parallel.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

namespace ember {
namespace {

thread_local bool inside_parallel_region = false;

struct RegionFlag {  // cleared even when a chunk throws
  RegionFlag() { inside_parallel_region = true; }
  ~RegionFlag() { inside_parallel_region = false; }
};

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// One parallel_for call. Shared by the caller and the workers that join it; a
// worker that joins after the caller returned finds no chunk left and never
// touches fn, which lived on the caller's stack (Note [Parallel kernels]).
struct Region {
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  int64_t n = 0, per = 0, chunks = 0;
  int threads = 1;  // participants: the caller is 0, the workers 1, 2, ...
  std::unique_ptr<std::atomic<bool>[]> claimed;
  std::atomic<int64_t> finished_chunks{0};
  std::mutex mutex;  // guards error; the caller blocks on all_done under it
  std::condition_variable all_done;
  std::exception_ptr error;

  Region(const std::function<void(int64_t, int64_t)>& f, int64_t n_, int64_t chunks_, int threads_)
      : fn(&f), n(n_), threads(threads_) {
    per = (n + chunks_ - 1) / chunks_;
    chunks = (n + per - 1) / per;
    claimed.reset(new std::atomic<bool>[static_cast<size_t>(chunks)]());
  }

  // Participant t owns chunks [owned_begin(t), owned_begin(t + 1)).
  int64_t owned_begin(int t) const { return chunks * t / threads; }

  // Note [Chunk ownership]
  // A participant runs its own chunks in order, then takes what is left of the others' from their
  // ends. When everyone is awake, a thread gets the same slice of [0, n) in every region of the
  // same size, so in a chain of ops (x.abs().exp()) each core reads what it wrote in the op before,
  // from its own cache; a late or absent thread's chunks are still run by whoever is free.
  void claim_and_run(int self) {
    RegionFlag flag;
    self = self < threads ? self : threads - 1;
    for (int64_t c = owned_begin(self); c < owned_begin(self + 1); ++c) run_if_unclaimed(c);
    for (int i = 1; i < threads; ++i) {
      const int other = (self + i) % threads;
      for (int64_t c = owned_begin(other + 1) - 1; c >= owned_begin(other); --c)
        run_if_unclaimed(c);
    }
  }

  void run_if_unclaimed(int64_t c) {
    if (claimed[c].load(std::memory_order_relaxed) || claimed[c].exchange(true)) return;
    try {
      (*fn)(c* per, std::min(n, (c + 1) * per));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
    }
    if (finished_chunks.fetch_add(1) + 1 == chunks) {
      std::lock_guard<std::mutex> lock(mutex);  // the caller may be about to block
      all_done.notify_all();
    }
  }

  bool done() const { return finished_chunks.load() == chunks; }

  // The caller has run out of chunks; others may still be running theirs.
  void wait_for_claimed_chunks() {
    constexpr auto kSpinTime = std::chrono::microseconds(50);
    const auto until = std::chrono::steady_clock::now() + kSpinTime;
    for (int i = 0; !done(); ++i) {
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) {
        std::unique_lock<std::mutex> lock(mutex);
        all_done.wait(lock, [this] { return done(); });
        break;
      }
      cpu_relax();
    }
  }
};

class ThreadPool {
 public:
  // Workers start on the first parallel region, so a process that never runs
  // a large kernel has no idle threads.
  explicit ThreadPool(int threads) : size_(std::max(threads, 1)) {}
  ~ThreadPool() { stop_workers(); }

  int size() const { return size_.load(std::memory_order_relaxed); }

  // Only with the region lock held (no region running).
  void resize(int threads) {
    stop_workers();
    size_.store(std::max(threads, 1), std::memory_order_relaxed);
    cannot_start_ = false;
  }

  // Runs the region on the calling thread and whichever workers join in time.
  void run(const std::shared_ptr<Region>& region) {
    if (static_cast<int>(workers_.size()) + 1 < size() && !cannot_start_) start_workers();
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_ = region;
      generation_.fetch_add(1);
      wake = sleepers_ > 0;
    }
    if (wake) wake_.notify_all();
    region->claim_and_run(0);
    region->wait_for_claimed_chunks();
    if (region->error) std::rethrow_exception(region->error);
  }

  std::mutex& region_lock() { return region_lock_; }

 private:
  void start_workers() {
    stopping_.store(false);
    const uint64_t seen = generation_.load();
    for (int i = static_cast<int>(workers_.size()) + 1; i < size(); ++i) {
      try {
        workers_.emplace_back([this, seen, i] { work(seen, i); });
      } catch (const std::system_error&) {
        // No room for a thread (its stack is address space, which a memory
        // limit may have used up): regions run on the threads there are, the
        // caller's at least, and no start is tried again until a resize.
        cannot_start_ = true;
        return;
      }
    }
  }

  // Between regions a worker spins for a moment (back-to-back kernels find it
  // awake), yielding its core to any other runnable thread, then sleeps.
  void wait_for_new_region(uint64_t seen) {
    auto changed = [&] { return stopping_.load() || generation_.load() != seen; };
    constexpr auto kPauseTime = std::chrono::microseconds(5);
    constexpr auto kSpinTime = std::chrono::microseconds(100);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0;; ++i) {
      if (changed()) return;
      if ((i & 15) == 15) {
        const auto elapsed = std::chrono::steady_clock::now() - start;
        if (elapsed > kSpinTime) break;
        if (elapsed > kPauseTime) sched_yield();
      }
      cpu_relax();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    ++sleepers_;
    wake_.wait(lock, changed);
    --sleepers_;
  }

  void work(uint64_t seen, int index) {
    while (true) {
      wait_for_new_region(seen);
      std::shared_ptr<Region> region;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_.load()) return;
        seen = generation_.load();
        region = current_;
      }
      if (region) region->claim_and_run(index);
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_.store(true);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
    current_.reset();
  }

  std::vector<std::thread> workers_;  // changed only with the region lock held
  bool cannot_start_ = false;         // a thread failed to start; likewise locked
  std::atomic<int> size_;             // read without the lock by get_num_threads
  std::mutex region_lock_;            // one parallel region at a time; others run inline
  std::mutex mutex_;                  // guards current_ and sleepers_
  std::condition_variable wake_;
  std::shared_ptr<Region> current_;
  int sleepers_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
};

int positive_env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return 0;
  const int n = std::atoi(v);
  return n > 0 ? n : 0;
}

int count_cores() {
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof cpus, &cpus) == 0) return std::max(CPU_COUNT(&cpus), 1);
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

int default_threads() {
  if (int n = positive_env("EMBER_NUM_THREADS")) return n;
  if (int n = positive_env("OMP_NUM_THREADS")) return n;
  return cpu_cores();
}

std::atomic<ThreadPool*> the_pool{nullptr};

// The parent's workers do not exist in a forked child, and its locks may be
// held by threads that are gone; the child starts over with a fresh pool of
// the same size (the old one is leaked: destroying it would join threads that
// do not exist). Workers start lazily, so nothing here creates a thread.
void reset_pool_in_child() {
  ThreadPool* old = the_pool.load();
  if (old != nullptr) the_pool.store(new ThreadPool(old->size()));
}

ThreadPool& pool() {
  ThreadPool* p = the_pool.load(std::memory_order_acquire);
  if (p != nullptr) return *p;
  static std::once_flag once;
  std::call_once(once, [] {
    // Leaked, not destroyed at exit: see allocator.cpp.
    the_pool.store(new ThreadPool(default_threads()), std::memory_order_release);
    pthread_atfork(nullptr, nullptr, reset_pool_in_child);
  });
  return *the_pool.load(std::memory_order_acquire);
}

// Work is cut into up to this many chunks per thread, so a thread that starts
// late costs its share only once. Note [Parallel kernels].
constexpr int64_t kChunksPerThread = 4;

}  // namespace

int get_num_threads() { return pool().size(); }

int cpu_cores() {
  static const int cores = count_cores();
  return cores;
}

void set_num_threads(int n) {
  if (n < 1) throw std::runtime_error("set_num_threads expects a positive integer");
  ThreadPool& p = pool();
  std::lock_guard<std::mutex> lock(p.region_lock());
  p.resize(n);
}

bool in_parallel_region() { return inside_parallel_region; }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  ThreadPool& p = pool();
  grain = std::max<int64_t>(grain, 1);
  const int64_t chunks = std::min<int64_t>(kChunksPerThread * p.size(), (n + grain - 1) / grain);
  if (p.size() <= 1 || chunks <= 1 || inside_parallel_region) {
    fn(0, n);
    return;
  }
  std::unique_lock<std::mutex> lock(p.region_lock(), std::try_to_lock);
  if (!lock.owns_lock()) {  // another thread's kernel holds the pool
    fn(0, n);
    return;
  }
  auto region = std::make_shared<Region>(fn, n, chunks, p.size());
  p.run(region);
}

}  // namespace ember
