#pragma once
// A small thread pool for large kernels. See Note [Parallel kernels].

#include <cstdint>
#include <functional>

namespace ember {

// Note [Parallel kernels]
// parallel_for cuts [0, n) into chunks of at least `grain` elements (a few per
// thread) that the calling thread and the pool's workers claim one at a time,
// so when a worker is slow to wake or loses its core, the others take its
// share instead of waiting. fn must therefore not depend on which thread runs
// which chunk, nor on how [0, n) is cut; reductions that need reproducible
// rounding pass fixed-size blocks as the unit (see sum_kernel). Small work runs
// inline, because waking a thread costs microseconds and most ops in small
// models finish faster than that. Calls from inside a chunk run inline (no
// nested parallelism). set_num_threads also sets OpenBLAS's thread count.
int get_num_threads();
void set_num_threads(int n);
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Element counts above which elementwise and reduction kernels go parallel.
constexpr int64_t kParallelGrain = 32768;

}  // namespace ember
