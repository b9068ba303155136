#pragma once
// EMBER_MULTIVERSION compiles a function for AVX-512 (x86-64-v4), AVX2+FMA and
// baseline x86-64; the loader picks one per machine. For the float loops that
// must keep up with torch's vectorized kernels; the file compiling them needs
// -fno-trapping-math (CMakeLists.txt) so that selects if-convert.

#ifndef EMBER_MULTIVERSION  // a test build may pin one CPU level
#define EMBER_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "avx2,fma", "default")))
#define EMBER_DISPATCH_AT_RUNTIME
#endif
