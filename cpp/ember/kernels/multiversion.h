#pragma once
// EMBER_MULTIVERSION compiles a function for AVX-512 (x86-64-v4), AVX2+FMA and
// baseline x86-64; the loader picks one per machine. For the float loops that
// must keep up with torch's vectorized kernels; the file compiling them needs
// -fno-trapping-math (CMakeLists.txt) so that selects if-convert.

#ifndef EMBER_MULTIVERSION  // a test build may pin one CPU level
#define EMBER_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "avx2,fma", "default")))
#define EMBER_DISPATCH_AT_RUNTIME
#endif

namespace ember {

// Whether the AVX-512 loops may run: asked of the CPU once when the clones are
// dispatched at load time; a build pinned to one level decides at compile
// time, so it measures that level on any machine.
inline bool cpu_has_avx512() {
#ifdef EMBER_DISPATCH_AT_RUNTIME
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  return yes;
#elif defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512BW__) && \
    defined(__AVX512VL__)
  return true;
#else
  return false;
#endif
}

// Whether the AVX2 loops may run (AVX2 with FMA), decided as cpu_has_avx512.
inline bool cpu_has_avx2() {
#ifdef EMBER_DISPATCH_AT_RUNTIME
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#elif defined(__AVX2__) && defined(__FMA__)
  return true;
#else
  return false;
#endif
}

}  // namespace ember
