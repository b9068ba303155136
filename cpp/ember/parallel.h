#pragma once
// The process's one pool of compute threads. See Note [Thread budget] and
// Note [Parallel kernels].

#include <cstdint>
#include <functional>

namespace ember {

// Note [Thread budget]
// A process has one set of compute threads: Ember's pool. OpenBLAS is driven
// single-threaded and large matrix products are split over the pool instead
// (see gemm in kernels/blas.cpp). Two pools in one process take turns with
// spinning workers, each hand-over costing a scheduler time slice; with one
// pool, nothing spins while another pool needs the core.
// The default size is the number of cores this process may run on
// (sched_getaffinity), overridden by EMBER_NUM_THREADS, else OMP_NUM_THREADS,
// as torch reads it. set_num_threads changes it at run time.

// Note [Parallel kernels]
// parallel_for cuts [0, n) into chunks of at least `grain` elements (a few per
// thread) that the calling thread and the pool's workers claim one at a time,
// each its own slice first (Note [Chunk ownership], parallel.cpp). The caller
// waits only for chunks that were claimed:
// a worker that is asleep, or has lost its core to another process, when the
// work runs out costs nothing, because the caller has done its share. So a
// parallel region is never much slower than running inline, at any thread
// count and under contention. fn must not depend on which thread runs which
// chunk, nor on how [0, n) is cut; reductions that need reproducible rounding
// pass fixed-size blocks as the unit (see sum_kernel). Work below the grain
// runs inline, and calls from inside a chunk run inline (no nested
// parallelism), as do calls while another thread's region holds the pool.
// After a fork, the child gets a fresh pool on first use (the parent's
// workers do not exist there).
int get_num_threads();
void set_num_threads(int n);
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
// True inside a parallel_for chunk (nested calls run inline).
bool in_parallel_region();
// The cores this process may run on, as first seen; fixed for the process.
int cpu_cores();

// Element counts above which elementwise and reduction kernels go parallel:
// below ~32k floats (~5 us of the cheapest work) a hand-over costs more than
// it saves. Splitting cheap ops this early pays only because chains of them
// keep each slice on one core (Note [Chunk ownership]): x.abs().exp() at 64k
// floats takes 15.6 us split, 21.3 us inline.
constexpr int64_t kParallelGrain = 32768;
// The same for kernels costing ~0.4 ns or more per element (tanh, log, GELU,
// the fused softmax and layer-norm rows): ~10 us of work per chunk.
constexpr int64_t kParallelGrainHeavy = 16384;

}  // namespace ember
