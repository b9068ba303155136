// CPU random number generation matching PyTorch's CPU streams bit for bit.
// See random.h for the interface and docs/random.md for the algorithms.

#include "ember/random.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "ember/kernels/multiversion.h"

namespace ember {

namespace {

constexpr int kN = 624;  // mt19937 state size
constexpr int kM = 397;
constexpr uint32_t kMatrixA = 0x9908b0dfU;
constexpr uint32_t kUpperMask = 0x80000000U;
constexpr uint32_t kLowerMask = 0x7fffffffU;

constexpr double kPi = 3.14159265358979323846;

// On x86 with GCC/Clang the float normal kernel is also compiled for FMA hardware and picked
// at run time: std::fma then becomes one instruction instead of a libm call (~4x faster).
// Both versions compute exactly the same bits (fma is exactly rounded either way).
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define EMBER_RNG_FMA_DISPATCH 1
#define EMBER_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define EMBER_RNG_FMA_DISPATCH 0
#define EMBER_ALWAYS_INLINE inline
#endif

inline uint32_t mix_bits(uint32_t u, uint32_t v) { return (u & kUpperMask) | (v & kLowerMask); }
inline uint32_t twist_pair(uint32_t u, uint32_t v) {
  return (mix_bits(u, v) >> 1) ^ ((v & 1U) ? kMatrixA : 0U);
}

inline uint32_t f2u(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}
inline float u2f(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

// ---- torch's scalar distributions (ATen/core/DistributionsHelper.h, TransformationHelper.h) ----
// torch compiles the CPU kernels that use these with -mavx2 -mfma under GCC's default
// -ffp-contract=fast, so "a * b + c" is a fused multiply-add there; std::fma reproduces it.

// uniform_real_distribution<float>: 24 random bits of one 32-bit draw, arithmetic in float.
inline float uniform_float(Generator& g, float from, float to) {
  const float x = static_cast<float>(g.random() & ((1U << 24) - 1)) * (1.0f / (1U << 24));
  return std::fma(x, to - from, from);
}

// uniform_real_distribution<double>: 53 random bits of one 64-bit draw.
inline double uniform_double(Generator& g, double from, double to) {
  const double x =
      static_cast<double>(g.random64() & ((uint64_t{1} << 53) - 1)) * (1.0 / (uint64_t{1} << 53));
  return std::fma(x, to - from, from);
}

// normal_distribution<double>: Box-Muller on two double uniforms; the sin half is cached in
// the generator and returned (unscaled) by the next call.
inline double normal_double(Generator& g, double mean, double std) {
  double ret;
  if (g.next_double_normal_sample(&ret)) return std::fma(ret, std, mean);
  const double u1 = uniform_double(g, 0.0, 1.0);
  const double u2 = uniform_double(g, 0.0, 1.0);
  const double r = std::sqrt(-2.0 * std::log1p(-u2));
  const double theta = 2.0 * kPi * u1;
  g.set_next_double_normal_sample(r * std::sin(theta));
  ret = r * std::cos(theta);
  return std::fma(ret, std, mean);
}

// ---- emulation of avx_mathfun.h's log256_ps / sincos256_ps (cephes single precision),
// one lane at a time, with the multiply-adds GCC fuses when it compiles them with FMA. ----

EMBER_ALWAYS_INLINE float avx_log(float xin) {
  const bool invalid = xin <= 0.0f;
  float x = xin > 1.17549435e-38f ? xin : 1.17549435e-38f;  // _mm256_max_ps(x, min_norm_pos)
  uint32_t xi = f2u(x);
  const int32_t expo = static_cast<int32_t>(xi >> 23) - 0x7f;
  xi = (xi & ~0x7f800000U) | f2u(0.5f);
  x = u2f(xi);
  float e = static_cast<float>(expo);
  e = e + 1.0f;
  const bool mask = x < 0.707106781186547524f;
  const float tmp = mask ? x : 0.0f;
  x = x - 1.0f;
  e = e - (mask ? 1.0f : 0.0f);
  x = x + tmp;
  const float z = x * x;
  float y = 7.0376836292E-2f;
  y = std::fma(y, x, -1.1514610310E-1f);
  y = std::fma(y, x, 1.1676998740E-1f);
  y = std::fma(y, x, -1.2420140846E-1f);
  y = std::fma(y, x, +1.4249322787E-1f);
  y = std::fma(y, x, -1.6668057665E-1f);
  y = std::fma(y, x, +2.0000714765E-1f);
  y = std::fma(y, x, -2.4999993993E-1f);
  y = std::fma(y, x, +3.3333331174E-1f);
  y = y * x;
  y = std::fma(y, z, e * -2.12194440e-4f);
  y = std::fma(-z, 0.5f, y);
  x = std::fma(e, 0.693359375f, x + y);
  if (invalid) x = u2f(f2u(x) | 0xffffffffU);  // NaN for x <= 0
  return x;
}

EMBER_ALWAYS_INLINE void avx_sincos(float xin, float* s, float* c) {
  uint32_t sign_bit_sin = f2u(xin) & 0x80000000U;
  float x = u2f(f2u(xin) & 0x7fffffffU);
  float y = x * 1.27323954473516f;      // 4 / pi
  int32_t j = static_cast<int32_t>(y);  // cvttps (truncation); theta is in [0, 2 pi)
  j = (j + 1) & ~1;
  y = static_cast<float>(j);
  const uint32_t swap_sign_bit_sin = static_cast<uint32_t>(j & 4) << 29;
  const bool poly_mask = (j & 2) == 0;
  x = std::fma(y, -0.78515625f, x);
  x = std::fma(y, -2.4187564849853515625e-4f, x);
  x = std::fma(y, -3.77489497744594108e-8f, x);
  const uint32_t sign_bit_cos = static_cast<uint32_t>(~(j - 2) & 4) << 29;
  sign_bit_sin ^= swap_sign_bit_sin;

  const float z = x * x;
  float yc = 2.443315711809948E-005f;
  yc = std::fma(yc, z, -1.388731625493765E-003f);
  yc = std::fma(yc, z, 4.166664568298827E-002f);
  yc = yc * z;
  yc = std::fma(yc, z, -(z * 0.5f));
  yc = yc + 1.0f;

  float ys = -1.9515295891E-4f;
  ys = std::fma(ys, z, 8.3321608736E-3f);
  ys = std::fma(ys, z, -1.6666654611E-1f);
  ys = ys * z;
  ys = std::fma(ys, x, x);

  const float ysin2 = poly_mask ? ys : 0.0f;
  const float ysin1 = poly_mask ? 0.0f : yc;
  ys = ys - ysin2;
  yc = yc - ysin1;
  const float sv = ysin1 + ysin2;
  const float cv = yc + ys;
  *s = u2f(f2u(sv) ^ sign_bit_sin);
  *c = u2f(f2u(cv) ^ sign_bit_cos);
}

// normal_fill_16_AVX2: data[0..8) and data[8..16) hold uniforms in [0, 1); turn them into
// 16 normals (cos half in the first 8, sin half in the last 8).
EMBER_ALWAYS_INLINE void normal_fill_16_float_impl(float* data, float mean, float std) {
  const float two_pi = static_cast<float>(2.0f * kPi);
  for (int j = 0; j < 8; ++j) {
    const float u1 = 1.0f - data[j];
    const float u2 = data[j + 8];
    const float radius = std::sqrt(-2.0f * avx_log(u1));
    const float theta = two_pi * u2;
    float sn, cs;
    avx_sincos(theta, &sn, &cs);
    data[j] = std::fma(radius * cs, std, mean);
    data[j + 8] = std::fma(radius * sn, std, mean);
  }
}

void normal_fill_16_float_generic(float* data, float mean, float std) {
  normal_fill_16_float_impl(data, mean, std);
}

#if EMBER_RNG_FMA_DISPATCH
__attribute__((target("fma"))) void normal_fill_16_float_fma(float* data, float mean, float std) {
  normal_fill_16_float_impl(data, mean, std);
}
#endif

using Fill16Float = void (*)(float*, float, float);
Fill16Float pick_normal_fill_16_float() {
#if EMBER_RNG_FMA_DISPATCH
  if (__builtin_cpu_supports("fma")) return normal_fill_16_float_fma;
#endif
  return normal_fill_16_float_generic;
}

// normal_fill_16<double>: plain libm Box-Muller.
void normal_fill_16_double(double* data, double mean, double std) {
  for (int j = 0; j < 8; ++j) {
    const double u1 = 1.0 - data[j];
    const double u2 = data[j + 8];
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * kPi * u2;
    data[j] = std::fma(radius * std::cos(theta), std, mean);
    data[j + 8] = std::fma(radius * std::sin(theta), std, mean);
  }
}

// torch's normal_fill / normal_fill_AVX2 for contiguous tensors with >= 16 elements:
// n uniforms, Box-Muller on each block of 16, and if n % 16 != 0 the last 16 elements are
// overwritten by 16 fresh uniforms transformed again.
template <typename T, typename Uniform, typename Fill16>
void normal_fill(T* data, int64_t n, T mean, T std, Uniform uniform, Fill16 fill16) {
  for (int64_t i = 0; i < n; ++i) data[i] = uniform();
  for (int64_t i = 0; i < n - 15; i += 16) fill16(data + i, mean, std);
  if (n % 16 != 0) {
    T* tail = data + n - 16;
    for (int i = 0; i < 16; ++i) tail[i] = uniform();
    fill16(tail, mean, std);
  }
}

// uniform_int_from_to_distribution: one 32-bit draw per element if range < 2^28, otherwise one
// 64-bit draw (torch 2.13 switches at 2^28, not 2^32, to keep the modulo bias small).
template <typename T>
int bit_length_minus_1(T v) {  // floor(log2(v)) for v > 0, 0 for v <= 1
  int k = 0;
  while (v >>= 1) ++k;
  return k;
}

// For floating dtypes torch first nudges [from, to) so that both ends are representable
// (DistributionTemplates.h update_from/update_to): an end whose neighbour rounds past it is
// moved inwards by one ulp of that magnitude. This changes the range (and so the draw width)
// only for |bounds| beyond 2^24 (float) / 2^53 (double).
template <typename T>
int64_t adjust_from(int64_t from) {
  const int64_t from_plus_1 = static_cast<int64_t>(static_cast<T>(from + 1));
  if (from_plus_1 < from) {
    const int k = bit_length_minus_1(from + 1 < 0 ? -(from + 1) : from + 1);
    from = from_plus_1 + (int64_t{1} << (k - std::numeric_limits<T>::digits + 1));
  }
  return from;
}
template <typename T>
int64_t adjust_to(int64_t to) {
  const int64_t to_minus_1 = static_cast<int64_t>(static_cast<T>(to - 1));
  if (to_minus_1 >= to) {
    const int k = bit_length_minus_1(to - 1 < 0 ? -(to - 1) : to - 1);
    to = to_minus_1 - (int64_t{1} << (k - std::numeric_limits<T>::digits + 1));
  }
  return to;
}

template <typename T>
void randint_impl(T* out, int64_t n, int64_t low, int64_t high, Generator& g) {
  if (n <= 0) return;
  if (!(low < high)) throw std::invalid_argument("randint: expects low < high");
  if constexpr (std::is_floating_point_v<T>) {
    low = adjust_from<T>(low);
    high = adjust_to<T>(high);
    if (!(low < high))
      throw std::invalid_argument("randint: expects low < high after rounding to the dtype");
  }
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  std::lock_guard<std::mutex> lock(g.mutex());
  if (range >= (uint64_t{1} << 28)) {
    for (int64_t i = 0; i < n; ++i)
      out[i] =
          static_cast<T>(static_cast<int64_t>(g.random64() % range + static_cast<uint64_t>(low)));
  } else {
    for (int64_t i = 0; i < n; ++i)
      out[i] = static_cast<T>(static_cast<int64_t>(static_cast<uint64_t>(g.random()) % range +
                                                   static_cast<uint64_t>(low)));
  }
}

// Layout of torch's CPUGeneratorImplState (x86-64, little endian).
constexpr size_t kOffSeed = 0;
constexpr size_t kOffLeft = 8;
constexpr size_t kOffSeeded = 12;
constexpr size_t kOffNext = 16;
constexpr size_t kOffState = 24;
// 5016: legacy normal_x (always 0), 5024: normal_y (the cached double normal),
// 5032: legacy normal_rho (always 0), 5040: normal_is_valid, then 4 bytes padding.
constexpr size_t kOffNormalY = kOffState + 8 * kN + 8;  // 5024
constexpr size_t kOffNormalValid = kOffNormalY + 16;    // 5040
constexpr size_t kOffFloatNormal = 5048;
constexpr size_t kOffFloatValid = 5052;  // then 3 bytes padding

template <typename T>
void put(std::vector<uint8_t>& b, size_t off, T v) {
  std::memcpy(b.data() + off, &v, sizeof(T));
}
template <typename T>
T get(const std::vector<uint8_t>& b, size_t off) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

}  // namespace

// ---------------------------------- Generator ----------------------------------

Generator::Generator(uint64_t seed) { manual_seed(seed); }

Generator::Generator(const Generator& other)
    : seed_(other.seed_),
      left_(other.left_),
      seeded_(other.seeded_),
      next_(other.next_),
      state_(other.state_),
      has_double_normal_(other.has_double_normal_),
      double_normal_(other.double_normal_),
      has_float_normal_(other.has_float_normal_),
      float_normal_(other.float_normal_) {}

Generator& Generator::operator=(const Generator& other) {
  if (this != &other) {
    seed_ = other.seed_;
    left_ = other.left_;
    seeded_ = other.seeded_;
    next_ = other.next_;
    state_ = other.state_;
    has_double_normal_ = other.has_double_normal_;
    double_normal_ = other.double_normal_;
    has_float_normal_ = other.has_float_normal_;
    float_normal_ = other.float_normal_;
  }
  return *this;
}

void Generator::manual_seed(uint64_t seed) {
  seed_ = seed;
  seeded_ = true;
  state_[0] = static_cast<uint32_t>(seed & 0xffffffffU);
  for (int j = 1; j < kN; ++j) {
    state_[j] = 1812433253U * (state_[j - 1] ^ (state_[j - 1] >> 30)) + static_cast<uint32_t>(j);
  }
  left_ = 1;
  next_ = 0;
  has_double_normal_ = false;
  double_normal_ = 0.0;
  has_float_normal_ = false;
  float_normal_ = 0.0f;
}

uint64_t Generator::initial_seed() const { return seed_; }

void Generator::twist() {
  uint32_t* p = state_.data();
  left_ = kN;
  next_ = 0;
  for (int j = 0; j < kN - kM; ++j, ++p) *p = p[kM] ^ twist_pair(p[0], p[1]);
  for (int j = 0; j < kM - 1; ++j, ++p) *p = p[kM - kN] ^ twist_pair(p[0], p[1]);
  *p = p[kM - kN] ^ twist_pair(p[0], state_[0]);
}

uint32_t Generator::random() {
  if (--left_ == 0) twist();
  uint32_t y = state_[next_++];
  y ^= (y >> 11);
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= (y >> 18);
  return y;
}

namespace {

// mt19937's tempering of n state words.
EMBER_MULTIVERSION
void temper_words(const uint32_t* __restrict state, uint32_t* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t y = state[i];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= (y >> 18);
    out[i] = y;
  }
}

}  // namespace

void Generator::random_block(uint32_t* out, int64_t n) {
  while (n > 0) {
    if (left_ == 1) {  // the next draw twists (random()'s --left_ == 0)
      twist();         // left_ = kN, next_ = 0
      ++left_;         // that draw's decrement is still to come
    }
    const int64_t take = std::min<int64_t>({n, left_ - 1, kN - next_});
    if (take == 0) {  // a state set_state accepted with next_ at the end: as random() reads it
      *out++ = random();
      --n;
      continue;
    }
    temper_words(state_.data() + next_, out, take);
    next_ += static_cast<uint32_t>(take);
    left_ -= static_cast<int32_t>(take);
    out += take;
    n -= take;
  }
}

uint64_t Generator::random64() {
  const uint32_t hi = random();
  const uint32_t lo = random();
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

bool Generator::next_double_normal_sample(double* out) {
  if (!has_double_normal_) return false;
  *out = double_normal_;
  has_double_normal_ = false;
  return true;
}
void Generator::set_next_double_normal_sample(double v) {
  has_double_normal_ = true;
  double_normal_ = v;
}
bool Generator::next_float_normal_sample(float* out) {
  if (!has_float_normal_) return false;
  *out = float_normal_;
  has_float_normal_ = false;
  return true;
}
void Generator::set_next_float_normal_sample(float v) {
  has_float_normal_ = true;
  float_normal_ = v;
}

std::vector<uint8_t> Generator::get_state() const {
  std::vector<uint8_t> b(kStateSize, 0);
  put<uint64_t>(b, kOffSeed, seed_);
  put<int32_t>(b, kOffLeft, left_);
  put<int32_t>(b, kOffSeeded, seeded_ ? 1 : 0);
  put<uint64_t>(b, kOffNext, next_);
  for (int j = 0; j < kN; ++j) put<uint64_t>(b, kOffState + 8 * j, state_[j]);
  // normal_x and normal_rho are legacy fields torch always writes as 0.
  put<double>(b, kOffNormalY, has_double_normal_ ? double_normal_ : 0.0);
  put<int32_t>(b, kOffNormalValid, has_double_normal_ ? 1 : 0);
  put<float>(b, kOffFloatNormal, has_float_normal_ ? float_normal_ : 0.0f);
  b[kOffFloatValid] = has_float_normal_ ? 1 : 0;
  return b;
}

void Generator::set_state(const std::vector<uint8_t>& b) {
  if (b.size() != kStateSize) {
    throw std::invalid_argument("Generator::set_state: expected a state of " +
                                std::to_string(kStateSize) + " bytes, got " +
                                std::to_string(b.size()));
  }
  const int32_t left = get<int32_t>(b, kOffLeft);
  const int32_t seeded = get<int32_t>(b, kOffSeeded);
  const uint32_t next = static_cast<uint32_t>(get<uint64_t>(b, kOffNext));
  if (!(seeded != 0 && left > 0 && left <= kN && next <= static_cast<uint32_t>(kN))) {
    throw std::invalid_argument("Generator::set_state: invalid mt19937 state");
  }
  bool has_double = false, has_float = false;
  double dn = 0.0;
  float fn = 0.0f;
  if (get<int32_t>(b, kOffNormalValid) != 0) {
    has_double = true;
    dn = get<double>(b, kOffNormalY);
  }
  if (b[kOffFloatValid] != 0) {
    has_float = true;
    fn = get<float>(b, kOffFloatNormal);
  }
  seed_ = get<uint64_t>(b, kOffSeed);
  left_ = left;
  seeded_ = true;
  next_ = next;
  for (int j = 0; j < kN; ++j)
    state_[j] = static_cast<uint32_t>(get<uint64_t>(b, kOffState + 8 * j));
  has_double_normal_ = has_double;
  double_normal_ = dn;
  has_float_normal_ = has_float;
  float_normal_ = fn;
}

Generator& default_generator() {
  static Generator gen(Generator::kDefaultSeed);
  return gen;
}

// ---------------------------------- fills ----------------------------------

// A number as torch prints it in these messages (-1, 1.5).
static std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}
static void check_normal_std(double std) {
  if (!(std >= 0.0)) {
    throw std::runtime_error("normal expects std >= 0.0, but found std " + number(std));
  }
}
static void check_uniform_range(double from, double to) {
  if (!(from <= to)) {
    throw std::runtime_error("uniform_ expects to return a [from, to) range, but found from=" +
                             number(from) + " > to=" + number(to));
  }
}
static void check_probability(double p) {
  if (!(p >= 0.0 && p <= 1.0)) {
    throw std::runtime_error("bernoulli_ expects p to be in [0, 1], but got p=" + number(p));
  }
}

void fill_normal(float* out, int64_t n, double mean, double std, Generator& g) {
  check_normal_std(std);
  if (n <= 0) return;
  std::lock_guard<std::mutex> lock(g.mutex());
  if (n >= 16) {
    static const Fill16Float fill16 = pick_normal_fill_16_float();
    normal_fill<float>(
        out, n, static_cast<float>(mean), static_cast<float>(std),
        [&g] { return uniform_float(g, 0.0f, 1.0f); }, fill16);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(normal_double(g, mean, std));
  }
}

void fill_normal(double* out, int64_t n, double mean, double std, Generator& g) {
  check_normal_std(std);
  if (n <= 0) return;
  std::lock_guard<std::mutex> lock(g.mutex());
  if (n >= 16) {
    normal_fill<double>(
        out, n, mean, std, [&g] { return uniform_double(g, 0.0, 1.0); }, normal_fill_16_double);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = normal_double(g, mean, std);
  }
}

void fill_uniform(float* out, int64_t n, double from, double to, Generator& g) {
  check_uniform_range(from, to);
  if (n <= 0) return;
  std::lock_guard<std::mutex> lock(g.mutex());
  const float f = static_cast<float>(from), t = static_cast<float>(to);
  for (int64_t i = 0; i < n; ++i) out[i] = uniform_float(g, f, t);
}

namespace {

template <typename T>
void fill_exponential_as(T* out, int64_t n, double lambd, Generator& g) {
  if (!(lambd > 0.0)) {
    std::ostringstream msg;
    msg << "exponential_ expects lambda > 0.0, but found lambda=" << lambd;
    throw std::runtime_error(msg.str());
  }
  if (n <= 0) return;
  std::lock_guard<std::mutex> lock(g.mutex());
  const double scale = -1.0 / lambd;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = static_cast<T>(scale * std::log1p(-uniform_double(g, 0.0, 1.0)));
  }
}

}  // namespace

namespace {

// One Gamma(alpha, 1) draw. The mixed float and double arithmetic is torch's
// (its constants are float literals, its accumulation double), which the
// draws must follow to be torch's bit for bit.
template <typename T>
T standard_gamma_draw(T alpha, Generator& g) {
  double scale = 1.0f;
  if (alpha < 1.0f) {  // boost: Gamma(a) = Gamma(a + 1) * U^(1/a)
    if (alpha == 0.f) return 0.f;
    scale *= std::pow(1 - uniform_double(g, 0.0, 1.0), 1.0f / alpha);
    alpha += 1.0f;
  }
  const double d = alpha - 1.0f / 3.0f;
  const double c = 1.0f / std::sqrt(9.0f * d);
  for (;;) {
    double x, y;
    do {
      x = normal_double(g, 0.0, 1.0);
      y = 1.0f + c * x;
    } while (y <= 0);
    const double v = y * y * y;
    const double u = 1 - uniform_double(g, 0.0, 1.0);
    const double xx = x * x;
    if (u < 1.0f - 0.0331f * xx * xx) return static_cast<T>(scale * d * v);
    if (std::log(u) < 0.5f * xx + d * (1.0f - v + std::log(v))) {
      return static_cast<T>(scale * d * v);
    }
  }
}

template <typename T>
void fill_standard_gamma_as(T* out, const T* alpha, int64_t n, Generator& g) {
  std::lock_guard<std::mutex> lock(g.mutex());
  for (int64_t i = 0; i < n; ++i) {
    out[i] = std::max(std::numeric_limits<T>::min(), standard_gamma_draw(alpha[i], g));
  }
}

}  // namespace

void fill_standard_gamma(float* out, const float* alpha, int64_t n, Generator& g) {
  fill_standard_gamma_as(out, alpha, n, g);
}

void fill_standard_gamma(double* out, const double* alpha, int64_t n, Generator& g) {
  fill_standard_gamma_as(out, alpha, n, g);
}

void fill_exponential(float* out, int64_t n, double lambd, Generator& g) {
  fill_exponential_as(out, n, lambd, g);
}

void fill_exponential(double* out, int64_t n, double lambd, Generator& g) {
  fill_exponential_as(out, n, lambd, g);
}

void fill_uniform(double* out, int64_t n, double from, double to, Generator& g) {
  check_uniform_range(from, to);
  if (n <= 0) return;
  std::lock_guard<std::mutex> lock(g.mutex());
  for (int64_t i = 0; i < n; ++i) out[i] = uniform_double(g, from, to);
}

void fill_randint(int64_t* out, int64_t n, int64_t low, int64_t high, Generator& g) {
  randint_impl(out, n, low, high, g);
}
void fill_randint(float* out, int64_t n, int64_t low, int64_t high, Generator& g) {
  randint_impl(out, n, low, high, g);
}
void fill_randint(double* out, int64_t n, int64_t low, int64_t high, Generator& g) {
  randint_impl(out, n, low, high, g);
}

void fill_randperm(int64_t* out, int64_t n, Generator& g) {
  if (n <= 0) return;
  for (int64_t i = 0; i < n; ++i) out[i] = i;
  std::lock_guard<std::mutex> lock(g.mutex());
  // Fisher-Yates with "random() % remaining"; torch switches to 64-bit draws for huge n.
  const bool use64 = n >= static_cast<int64_t>(0xffffffffU / 20);
  for (int64_t i = 0; i < n - 1; ++i) {
    const uint64_t r = use64 ? g.random64() : static_cast<uint64_t>(g.random());
    const int64_t z = static_cast<int64_t>(r % static_cast<uint64_t>(n - i));
    const int64_t sav = out[i];
    out[i] = out[z + i];
    out[z + i] = sav;
  }
}

void fill_bernoulli(float* out, const float* p, int64_t n, Generator& g) {
  if (n <= 0) return;
  std::lock_guard<std::mutex> lock(g.mutex());
  for (int64_t i = 0; i < n; ++i) out[i] = uniform_float(g, 0.0f, 1.0f) < p[i] ? 1.0f : 0.0f;
}

void fill_bernoulli(double* out, const double* p, int64_t n, Generator& g) {
  if (n <= 0) return;
  std::lock_guard<std::mutex> lock(g.mutex());
  for (int64_t i = 0; i < n; ++i) out[i] = uniform_double(g, 0.0, 1.0) < p[i] ? 1.0 : 0.0;
}

namespace {

// Note [Bernoulli in blocks]
// torch's bernoulli(p) draws uniform_double per element and takes it when it
// is below p. That double is m * 2^-53 for m the 53 low bits of (first draw
// << 32 | second draw), so the test is m < p * 2^53 (exact in double), an
// integer compare against ceil(p * 2^53). The draws come 2048 at a time from
// random_block and the compares run as a vector loop: the same mask as the
// element-by-element loop, several times faster (dropout's mask is this).
constexpr int64_t kBernoulliBlock = 1024;

uint64_t bernoulli_threshold(double p) {
  return static_cast<uint64_t>(std::ceil(std::ldexp(p, 53)));
}

template <typename T>
inline void bernoulli_from_draws(const uint32_t* __restrict draws, int64_t n, uint64_t threshold,
                                 T taken, T* __restrict out) {
  constexpr uint64_t kLow53 = (uint64_t{1} << 53) - 1;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t m = ((static_cast<uint64_t>(draws[2 * i]) << 32) | draws[2 * i + 1]) & kLow53;
    out[i] = m < threshold ? taken : T(0);
  }
}

EMBER_MULTIVERSION
void bernoulli_block(const uint32_t* draws, int64_t n, uint64_t threshold, float taken,
                     float* out) {
  bernoulli_from_draws(draws, n, threshold, taken, out);
}

EMBER_MULTIVERSION
void bernoulli_block(const uint32_t* draws, int64_t n, uint64_t threshold, double taken,
                     double* out) {
  bernoulli_from_draws(draws, n, threshold, taken, out);
}

// out[i] = `taken` with probability p, else 0 (Note [Bernoulli in blocks]).
template <typename T>
void fill_bernoulli_as(T* out, double p, T taken, int64_t n, Generator& g) {
  check_probability(p);
  if (n <= 0) return;
  const uint64_t threshold = bernoulli_threshold(p);
  uint32_t draws[2 * kBernoulliBlock];
  std::lock_guard<std::mutex> lock(g.mutex());
  for (int64_t i = 0; i < n; i += kBernoulliBlock) {
    const int64_t count = std::min(kBernoulliBlock, n - i);
    g.random_block(draws, 2 * count);
    bernoulli_block(draws, count, threshold, taken, out + i);
  }
}

}  // namespace

void fill_bernoulli(float* out, double p, int64_t n, Generator& g) {
  fill_bernoulli_as(out, p, 1.0f, n, g);
}

void fill_bernoulli(double* out, double p, int64_t n, Generator& g) {
  fill_bernoulli_as(out, p, 1.0, n, g);
}

namespace {

template <typename T>
void dropout_mask_impl(T* mask, int64_t n, double p, Generator& g) {
  if (n <= 0) return;
  if (!(p >= 0.0 && p <= 1.0))
    throw std::invalid_argument("dropout probability has to be between 0 and 1");
  if (p == 0.0) {
    for (int64_t i = 0; i < n; ++i) mask[i] = T(1);
    return;
  }
  if (p == 1.0) {
    for (int64_t i = 0; i < n; ++i) mask[i] = T(0);
    return;
  }
  // torch: noise.bernoulli_(1 - p).div_(1 - p), the divisor cast to the dtype.
  const T scale = static_cast<T>(1.0 - p);
  fill_bernoulli_as(mask, 1.0 - p, T(1) / scale, n, g);
}

}  // namespace

void fill_dropout_mask(float* mask, int64_t n, double p, Generator& g) {
  dropout_mask_impl(mask, n, p, g);
}
void fill_dropout_mask(double* mask, int64_t n, double p, Generator& g) {
  dropout_mask_impl(mask, n, p, g);
}

}  // namespace ember
