#include "ember/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "ember/kernels/blas.h"

namespace ember {
namespace {

thread_local bool inside_parallel_region = false;

// Waits until `ready()` holds: spinning first, for up to kSpinTime, then
// blocking on `cv` under `mutex`. Waking a sleeping thread costs ~100 us on
// this kind of VM, more than a whole mid-sized kernel, so workers (and the
// caller waiting for them) spin briefly across back-to-back kernels, as
// OpenMP runtimes do.
template <typename Ready>
void spin_then_wait(std::mutex& mutex, std::condition_variable& cv, Ready ready) {
  constexpr auto kSpinTime = std::chrono::microseconds(200);
  const auto until = std::chrono::steady_clock::now() + kSpinTime;
  for (int i = 0;; ++i) {
    if (ready()) return;
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) break;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  std::unique_lock<std::mutex> lock(mutex);
  cv.wait(lock, ready);
}

class ThreadPool {
 public:
  explicit ThreadPool(int threads) { resize(threads); }
  ~ThreadPool() { stop_workers(); }

  int size() const { return size_.load(std::memory_order_relaxed); }

  void resize(int threads) {
    stop_workers();
    stopping_.store(false);
    // A new worker waits for the run after the current generation: not an
    // earlier, finished one, and not missing one that starts before it does.
    const uint64_t generation = generation_.load();
    for (int i = 1; i < threads; ++i) {
      workers_.emplace_back([this, i, generation] { work(i, generation); });
    }
    size_.store(std::max(threads, 1), std::memory_order_relaxed);
  }

  // Runs task(i) for i in [0, size()) with i = 0 on the calling thread.
  void run(const std::function<void(int)>& task) {
    task_ = &task;
    error_ = nullptr;
    remaining_.store(static_cast<int>(workers_.size()));
    {
      // Under the lock, so a worker about to block cannot miss the change.
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    std::exception_ptr first_error;
    try {
      task(0);
    } catch (...) {
      first_error = std::current_exception();
    }
    spin_then_wait(mutex_, done_, [this] { return remaining_.load() == 0; });
    task_ = nullptr;
    if (!first_error) first_error = error_;
    if (first_error) std::rethrow_exception(first_error);
  }

 private:
  void work(int index, uint64_t seen) {
    while (true) {
      spin_then_wait(mutex_, wake_, [&] { return stopping_.load() || generation_.load() != seen; });
      if (stopping_.load()) return;
      seen = generation_.load();
      try {
        (*task_)(index);
      } catch (...) {
        std::lock_guard<std::mutex> g(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      if (remaining_.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);  // the caller may be about to block
        done_.notify_one();
      }
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
  }

  std::vector<std::thread> workers_;
  std::atomic<int> size_{1};  // read without the lock by get_num_threads
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // Written by run() before the generation changes; read by workers after.
  const std::function<void(int)>* task_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> remaining_{0};
  std::atomic<bool> stopping_{false};
  std::exception_ptr error_;  // guarded by mutex_
};

int default_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

// Work is cut into up to this many chunks per thread and claimed from a shared
// counter, so a thread that starts late (asleep, or preempted by another
// process's spinning threads) costs its share only once. Note [Parallel kernels].
constexpr int64_t kChunksPerThread = 4;

std::mutex pool_mutex;  // one parallel region at a time; others run inline

ThreadPool& pool() {
  static ThreadPool* p = new ThreadPool(default_threads());  // leaked: see allocator.cpp
  return *p;
}

}  // namespace

int get_num_threads() { return pool().size(); }

void set_num_threads(int n) {
  if (n < 1) n = 1;
  std::lock_guard<std::mutex> lock(pool_mutex);
  pool().resize(n);
  blas_set_num_threads(n);
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  ThreadPool& p = pool();
  grain = std::max<int64_t>(grain, 1);
  const int64_t max_chunks =
      std::min<int64_t>(kChunksPerThread * p.size(), (n + grain - 1) / grain);
  if (p.size() <= 1 || max_chunks <= 1 || inside_parallel_region) {
    fn(0, n);
    return;
  }
  std::unique_lock<std::mutex> lock(pool_mutex, std::try_to_lock);
  if (!lock.owns_lock()) {  // another thread's kernel holds the pool
    fn(0, n);
    return;
  }
  const int64_t per = (n + max_chunks - 1) / max_chunks;
  std::atomic<int64_t> next_chunk{0};
  p.run([&](int) {
    struct RegionFlag {  // cleared even when fn throws
      RegionFlag() { inside_parallel_region = true; }
      ~RegionFlag() { inside_parallel_region = false; }
    } flag;
    for (int64_t c = next_chunk.fetch_add(1); c * per < n; c = next_chunk.fetch_add(1)) {
      fn(c * per, std::min(n, (c + 1) * per));
    }
  });
}

}  // namespace ember
