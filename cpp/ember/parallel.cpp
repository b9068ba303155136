#include "ember/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "ember/kernels/blas.h"

namespace ember {
namespace {

thread_local bool inside_parallel_region = false;

class ThreadPool {
 public:
  explicit ThreadPool(int threads) { resize(threads); }
  ~ThreadPool() { stop_workers(); }

  int size() const { return size_.load(std::memory_order_relaxed); }

  void resize(int threads) {
    stop_workers();
    uint64_t generation;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = false;
      generation = generation_;
    }
    // A new worker waits for the next run after `generation`: not an earlier,
    // finished one (task_ is null then), and not missing one that starts
    // before the thread does.
    for (int i = 1; i < threads; ++i) {
      workers_.emplace_back([this, i, generation] { work(i, generation); });
    }
    size_.store(std::max(threads, 1), std::memory_order_relaxed);
  }

  // Runs task(i) for i in [0, size()) with i = 0 on the calling thread.
  void run(const std::function<void(int)>& task) {
    std::unique_lock<std::mutex> lock(mutex_);
    task_ = &task;
    remaining_ = static_cast<int>(workers_.size());
    error_ = nullptr;
    ++generation_;
    lock.unlock();
    wake_.notify_all();
    std::exception_ptr first_error;
    try {
      task(0);
    } catch (...) {
      first_error = std::current_exception();
    }
    lock.lock();
    done_.wait(lock, [this] { return remaining_ == 0; });
    task_ = nullptr;
    if (!first_error) first_error = error_;
    if (first_error) std::rethrow_exception(first_error);
  }

 private:
  void work(int index, uint64_t seen) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      const std::function<void(int)>* task = task_;
      lock.unlock();
      try {
        (*task)(index);
      } catch (...) {
        std::lock_guard<std::mutex> g(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      lock.lock();
      if (--remaining_ == 0) done_.notify_one();
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
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
  const std::function<void(int)>* task_ = nullptr;
  uint64_t generation_ = 0;
  int remaining_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

int default_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

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
  const int64_t max_chunks =
      std::min<int64_t>(p.size(), (n + grain - 1) / std::max<int64_t>(grain, 1));
  if (max_chunks <= 1 || inside_parallel_region) {
    fn(0, n);
    return;
  }
  std::unique_lock<std::mutex> lock(pool_mutex, std::try_to_lock);
  if (!lock.owns_lock()) {  // another thread's kernel holds the pool
    fn(0, n);
    return;
  }
  const int chunks = static_cast<int>(max_chunks);
  const int64_t per = (n + chunks - 1) / chunks;
  p.run([&](int i) {
    if (i >= chunks) return;
    struct RegionFlag {  // cleared even when fn throws
      RegionFlag() { inside_parallel_region = true; }
      ~RegionFlag() { inside_parallel_region = false; }
    } flag;
    const int64_t begin = i * per;
    const int64_t end = std::min(n, begin + per);
    if (begin < end) fn(begin, end);
  });
}

}  // namespace ember
