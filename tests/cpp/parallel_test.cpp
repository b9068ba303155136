// The thread pool: every index covered once, errors surface, wake-ups are not
// lost, nested and concurrent regions run inline, resizing, and products
// split over the pool match the single-threaded result.

#include "ember/parallel.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ember/kernels/blas.h"

namespace ember {
namespace {

class ParallelTest : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = get_num_threads(); }
  void TearDown() override { set_num_threads(saved_); }
  int saved_ = 1;
};

TEST_F(ParallelTest, EveryIndexRunsExactlyOnce) {
  set_num_threads(3);
  for (int64_t n : {1, 2, 7, 1000, 100003}) {
    for (int64_t grain : {1, 3, 64, 5000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      parallel_for(n, grain, [&](int64_t b, int64_t e) {
        EXPECT_LT(b, e);
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << n;
    }
  }
}

TEST_F(ParallelTest, ManyBackToBackRegionsNeverLoseAWakeUp) {
  // Alternates regions with pauses longer than the workers' spin, so workers
  // are caught both spinning and asleep; a lost wake-up would hang here.
  set_num_threads(2);
  std::atomic<int64_t> total{0};
  for (int round = 0; round < 2000; ++round) {
    parallel_for(8, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    if (round % 100 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
  }
  EXPECT_EQ(total.load(), 2000 * 8);
}

TEST_F(ParallelTest, AnErrorInAChunkReachesTheCaller) {
  set_num_threads(2);
  EXPECT_THROW(parallel_for(100, 1,
                            [&](int64_t b, int64_t) {
                              if (b >= 50) throw std::runtime_error("chunk failed");
                            }),
               std::runtime_error);
  // The pool still works afterwards.
  std::atomic<int64_t> total{0};
  parallel_for(100, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
  EXPECT_EQ(total.load(), 100);
}

TEST_F(ParallelTest, NestedCallsRunInlineOnTheSameThread) {
  set_num_threads(2);
  std::atomic<int> nested_off_thread{0};
  parallel_for(4, 1, [&](int64_t, int64_t) {
    EXPECT_TRUE(in_parallel_region());
    const auto outer = std::this_thread::get_id();
    parallel_for(100, 1, [&](int64_t, int64_t) {
      if (std::this_thread::get_id() != outer) nested_off_thread.fetch_add(1);
    });
  });
  EXPECT_EQ(nested_off_thread.load(), 0);
  EXPECT_FALSE(in_parallel_region());
}

TEST_F(ParallelTest, ConcurrentCallersEachGetTheirResults) {
  set_num_threads(2);
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int round = 0; round < 200; ++round) {
        std::atomic<int64_t> total{0};
        parallel_for(1000, 10, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
        if (total.load() != 1000) wrong.fetch_add(1);
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(ParallelTest, ResizingBetweenRegions) {
  for (int n : {1, 4, 2, 3, 1, 2}) {
    set_num_threads(n);
    EXPECT_EQ(get_num_threads(), n);
    std::atomic<int64_t> total{0};
    parallel_for(10000, 10, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    EXPECT_EQ(total.load(), 10000);
  }
  EXPECT_THROW(set_num_threads(0), std::runtime_error);  // torch refuses it too
  EXPECT_EQ(get_num_threads(), 2);
}

TEST_F(ParallelTest, ForkedChildGetsAWorkingPool) {
  set_num_threads(2);
  std::atomic<int64_t> warm{0};
  parallel_for(1000, 1, [&](int64_t b, int64_t e) { warm.fetch_add(e - b); });
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::atomic<int64_t> total{0};
    parallel_for(1000, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    _exit(total.load() == 1000 && get_num_threads() == 2 ? 0 : 1);
  }
  int status = 0;
  // A child stuck on the parent's vanished workers would hang: give it 20 s.
  for (int i = 0; i < 2000 && waitpid(pid, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (waitpid(pid, &status, WNOHANG) == 0 && !WIFEXITED(status)) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    FAIL() << "the forked child hung in parallel_for";
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

template <typename T>
std::vector<T> product(int threads, int64_t m, int64_t n, int64_t k, const std::vector<T>& a,
                       const std::vector<T>& b, bool transpose_b) {
  set_num_threads(threads);
  std::vector<T> c(static_cast<size_t>(m * n), T(1));
  const MatrixRef<T> bref =
      transpose_b ? MatrixRef<T>{b.data(), 1, k} : MatrixRef<T>{b.data(), n, 1};
  gemm<T>(m, n, k, {a.data(), k, 1}, bref, c.data(), n, /*accumulate=*/true);
  return c;
}

TEST_F(ParallelTest, SplitProductsMatchOneThread) {
  std::mt19937 rng(0);
  std::normal_distribution<double> normal;
  // Tall (split by rows), wide (split by columns), both transposes.
  for (auto [m, n, k] : {std::array<int64_t, 3>{700, 40, 300}, {40, 900, 300}, {513, 517, 129}}) {
    std::vector<double> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n));
    for (auto& v : a) v = normal(rng);
    for (auto& v : b) v = normal(rng);
    for (bool tb : {false, true}) {
      const auto one = product<double>(1, m, n, k, a, b, tb);
      const auto three = product<double>(3, m, n, k, a, b, tb);
      // Reference by a plain loop: C = 1 + A @ B.
      for (int64_t i = 0; i < m; i += 37) {
        for (int64_t j = 0; j < n; j += 29) {
          double ref = 1;
          for (int64_t p = 0; p < k; ++p) {
            ref += a[i * k + p] * (tb ? b[j * k + p] : b[p * n + j]);
          }
          ASSERT_NEAR(three[i * n + j], ref, 1e-9) << m << "x" << n << "x" << k;
        }
      }
      for (size_t i = 0; i < one.size(); ++i) ASSERT_NEAR(one[i], three[i], 1e-10);
    }
  }
}

}  // namespace
}  // namespace ember
