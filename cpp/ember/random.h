#pragma once
// CPU random number generation that reproduces PyTorch's CPU random streams bit for bit
// (checked against torch 2.13.0, CPU capability AVX2). See docs/random.md for which
// algorithm torch uses for which size/dtype and why the code looks the way it does.

#include <array>
#include <cstdint>
#include <mutex>
#include <vector>

namespace ember {

// torch's CPUGeneratorImpl: a 32-bit Mersenne Twister (mt19937) plus two optional cached
// normal samples (the sin half of a Box-Muller pair), one for double and one for float.
//
// Thread safety: like torch, Generator's own methods (random(), random64(), ...) do not lock.
// All fill_* functions below lock g.mutex() for the whole fill, so concurrent fills on the
// same generator (e.g. default_generator()) are safe and each fill draws a contiguous run.
class Generator {
 public:
  static constexpr uint64_t kDefaultSeed = 67280421310721ULL;  // torch's default_rng_seed_val
  // Size of get_state(): identical layout to torch.get_rng_state() (CPUGeneratorImplState).
  static constexpr size_t kStateSize = 5056;

  explicit Generator(uint64_t seed = kDefaultSeed);
  Generator(const Generator& other);             // copies the state, not the mutex
  Generator& operator=(const Generator& other);  // copies the state, not the mutex

  // Resets the mt19937 state (seeded with the low 32 bits, like torch) and drops both cached
  // normal samples. initial_seed() reports the full 64-bit value.
  void manual_seed(uint64_t seed);
  uint64_t initial_seed() const;

  uint32_t random();    // next 32 bits of mt19937
  uint64_t random64();  // (first draw << 32) | second draw, as torch does
  // n draws of random() into out: the same values and the same state after,
  // with the tempering run over the state in a loop the compiler vectorizes.
  void random_block(uint32_t* out, int64_t n);

  // Byte-compatible with torch.get_rng_state() / torch.set_rng_state(): the returned bytes
  // can be handed to torch and vice versa. set_state(get_state()) round-trips exactly,
  // cached normals included. set_state throws std::invalid_argument on a size other than
  // kStateSize (torch 2.13 no longer accepts the 5048-byte legacy layout either) or on an
  // invalid mt19937 state (seeded flag unset, left not in 1..624, next > 624; as torch).
  std::vector<uint8_t> get_state() const;
  void set_state(const std::vector<uint8_t>& state);

  // The cached normal samples (used by torch's scalar normal_distribution<double/float>).
  bool next_double_normal_sample(double* out);  // pops it if present
  void set_next_double_normal_sample(double v);
  bool next_float_normal_sample(float* out);
  void set_next_float_normal_sample(float v);

  std::mutex& mutex() { return mutex_; }

 private:
  void twist();

  uint64_t seed_;
  int32_t left_;
  bool seeded_;
  uint32_t next_;
  std::array<uint32_t, 624> state_;
  bool has_double_normal_ = false;
  double double_normal_ = 0.0;
  bool has_float_normal_ = false;
  float float_normal_ = 0.0f;
  std::mutex mutex_;
};

// Process-wide generator, seeded with kDefaultSeed (torch's default CPU generator).
Generator& default_generator();

// All fill functions write n contiguous elements and draw exactly what torch draws for a
// contiguous CPU tensor of n elements of that dtype. They lock g.mutex().

// torch.randn / normal_(mean, std) / torch.normal(mean, std, size).
void fill_normal(float* out, int64_t n, double mean, double std, Generator& g);
void fill_normal(double* out, int64_t n, double mean, double std, Generator& g);

// torch.rand / uniform_(from, to).
void fill_uniform(float* out, int64_t n, double from, double to, Generator& g);
void fill_uniform(double* out, int64_t n, double from, double to, Generator& g);

// x.exponential_(lambd): -(1 / lambd) * log1p(-u) in double for a double uniform u, for
// every dtype, as torch's CPU kernel computes it. Requires lambd > 0.
void fill_exponential(float* out, int64_t n, double lambd, Generator& g);
void fill_exponential(double* out, int64_t n, double lambd, Generator& g);

// torch._standard_gamma(alpha): a Gamma(alpha, 1) draw per element, by Marsaglia and
// Tsang's method (alpha < 1 boosted by a uniform power), drawing what torch's CPU
// sampler draws; results at least the type's smallest normal number.
void fill_standard_gamma(float* out, const float* alpha, int64_t n, Generator& g);
void fill_standard_gamma(double* out, const double* alpha, int64_t n, Generator& g);

// torch.randint(low, high, (n,), dtype=...) / random_(low, high). Requires low < high.
void fill_randint(int64_t* out, int64_t n, int64_t low, int64_t high, Generator& g);
void fill_randint(float* out, int64_t n, int64_t low, int64_t high, Generator& g);
void fill_randint(double* out, int64_t n, int64_t low, int64_t high, Generator& g);

// torch.randperm(n) (int64).
void fill_randperm(int64_t* out, int64_t n, Generator& g);

// torch.bernoulli(p) for a tensor of probabilities p (output has p's dtype, values 0/1).
void fill_bernoulli(float* out, const float* p, int64_t n, Generator& g);
void fill_bernoulli(double* out, const double* p, int64_t n, Generator& g);

// x.bernoulli_(p) with a scalar p (values 0/1), on a non-Intel CPU (see docs/random.md:
// on Intel CPUs torch's MKL build takes a different, MKL-VSL path for this one op).
void fill_bernoulli(float* out, double p, int64_t n, Generator& g);
void fill_bernoulli(double* out, double p, int64_t n, Generator& g);

// The scaled mask of torch.nn.functional.dropout(x, p, training=True) on CPU:
// torch draws noise = empty_like(x).bernoulli_(1 - p) and divides it by (1 - p), so
// mask[i] is 0 or 1/(1-p) computed in the tensor's dtype, and dropout(x) == x * mask
// bitwise. Draws nothing if n == 0 or p == 0 or p == 1 (torch returns x, resp. x * 0,
// without touching the generator); for p == 1 the mask is all zeros, for p == 0 all ones.
void fill_dropout_mask(float* mask, int64_t n, double p, Generator& g);
void fill_dropout_mask(double* mask, int64_t n, double p, Generator& g);

}  // namespace ember
