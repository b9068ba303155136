// Bit-exact tests of ember's CPU RNG against PyTorch 2.13.0 (CPU, AVX2 kernels).
// Every golden array below was printed by torch with the call quoted in its comment
// (float32 with %.9g and float64 with %.17g, both of which round-trip exactly).

#include "ember/random.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

namespace ember {
namespace {

template <typename T>
void expect_bits_eq(const std::vector<T>& got, const std::vector<T>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(0, std::memcmp(&got[i], &want[i], sizeof(T)))
        << "index " << i << ": got " << got[i] << ", want " << want[i];
  }
}

std::vector<float> randn_f(Generator& g, int64_t n, double mean = 0.0, double std = 1.0) {
  std::vector<float> v(static_cast<size_t>(n));
  fill_normal(v.data(), n, mean, std, g);
  return v;
}
std::vector<double> randn_d(Generator& g, int64_t n) {
  std::vector<double> v(static_cast<size_t>(n));
  fill_normal(v.data(), n, 0.0, 1.0, g);
  return v;
}
std::vector<float> rand_f(Generator& g, int64_t n, double from = 0.0, double to = 1.0) {
  std::vector<float> v(static_cast<size_t>(n));
  fill_uniform(v.data(), n, from, to, g);
  return v;
}
std::vector<int64_t> randint_l(Generator& g, int64_t low, int64_t high, int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  fill_randint(v.data(), n, low, high, g);
  return v;
}

// FNV-1a 64 over the raw bytes (little endian), as computed in Python over
// tensor.numpy().tobytes().
template <typename T>
uint64_t fnv1a(const std::vector<T>& v) {
  uint64_t h = 0xcbf29ce484222325ULL;
  const auto* p = reinterpret_cast<const uint8_t*>(v.data());
  for (size_t i = 0; i < v.size() * sizeof(T); ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

TEST(Random, TutorialNumbers) {
  Generator g(42);
  // torch.manual_seed(42); torch.randn(5, 3)
  expect_bits_eq(randn_f(g, 15),
                 {0.336690366f, 0.128809407f, 0.234462366f, 0.23033303f, -1.12285638f,
                  -0.186328292f, 2.20820141f, -0.637997031f, 0.461657226f, 0.267350882f,
                  0.534904659f, 0.809357226f, 1.11029029f, -1.68979895f, -0.988959908f});
  // ... then torch.randn(3) (the first element is the cached sin half of the previous pair)
  expect_bits_eq(randn_f(g, 3), {0.957971811f, 1.32213509f, 0.817189753f});
}

TEST(Random, DefaultGeneratorUsesTorchDefaultSeed) {
  // torch.Generator().initial_seed() == 67280421310721; torch.randn(2, generator=torch.Generator())
  // gives [0.9773, 1.1569] (checked; the first two values below).
  Generator g;
  EXPECT_EQ(g.initial_seed(), 67280421310721ULL);
  EXPECT_EQ(default_generator().initial_seed(), Generator::kDefaultSeed);
  std::vector<float> v = randn_f(g, 2);
  EXPECT_NEAR(v[0], 0.9773f, 1e-4f);
  EXPECT_NEAR(v[1], 1.1569f, 1e-4f);
}

TEST(Random, RawStreamIsMt19937OfLow32BitsOfSeed) {
  for (uint64_t seed : {0ULL, 42ULL, 5489ULL, (1ULL << 40) + 7ULL, 0xffffffffffffffffULL}) {
    Generator g(seed);
    EXPECT_EQ(g.initial_seed(), seed);
    std::mt19937 ref(static_cast<uint32_t>(seed));
    for (int i = 0; i < 2000; ++i) ASSERT_EQ(g.random(), ref()) << "seed " << seed << " draw " << i;
    const uint64_t hi = ref(), lo = ref();
    EXPECT_EQ(g.random64(), (hi << 32) | lo);
  }
}

TEST(Random, RandnFloatVectorizedPath) {
  // torch.manual_seed(0); torch.randn(16)   (>= 16 elements: AVX2 Box-Muller in float)
  const std::vector<float> want16 = {-1.12583983f, -1.1523602f,  -0.250578582f, -0.433878809f,
                                     0.848710358f, 0.692009151f, -0.31601277f,  -2.11521935f,
                                     0.322274923f, -1.26333475f, 0.349983186f,  0.30813393f,
                                     0.119841509f, 1.2376579f,   1.11677718f,   -0.247278154f};
  Generator g(0);
  expect_bits_eq(randn_f(g, 16), want16);
  // torch.manual_seed(0); torch.randn(37)   (37 % 16 != 0: the last 16 are redrawn)
  g.manual_seed(0);
  expect_bits_eq(
      randn_f(g, 37),
      {-1.12583983f,  -1.1523602f,   -0.250578582f, -0.433878809f, 0.848710358f,  0.692009151f,
       -0.31601277f,  -2.11521935f,  0.322274923f,  -1.26333475f,  0.349983186f,  0.30813393f,
       0.119841509f,  1.2376579f,    1.11677718f,   -0.247278154f, -1.35265374f,  -1.6959312f,
       0.566650629f,  0.793508351f,  0.598839462f,  0.112411186f,  0.64079237f,   0.441156268f,
       -0.215863258f, -0.742548168f, 0.562721372f,  0.259627402f,  -0.173960999f, 2.30220532f,
       -1.46889389f,  -1.58668876f,  1.20322371f,   0.0845346972f, -1.2001394f,   -0.00478573795f,
       -0.518074811f});
}

TEST(Random, LargeFillsHash) {
  // Long runs exercise the float log/sincos emulation on many inputs (about 1% of float
  // normals differ in the last bit if the FMA contractions torch's build makes are missed).
  Generator g(0);
  // FNV-1a of torch.manual_seed(0); torch.randn(5000).numpy().tobytes()
  EXPECT_EQ(fnv1a(randn_f(g, 5000)), 0x6fe2a0f85a02442fULL);
  // ... then torch.empty(1000, dtype=torch.float64).normal_(2.0, 0.5)
  std::vector<double> d(1000);
  fill_normal(d.data(), 1000, 2.0, 0.5, g);
  EXPECT_EQ(fnv1a(d), 0xae7aca18f641474eULL);
  // ... then torch.rand(4999)
  EXPECT_EQ(fnv1a(rand_f(g, 4999)), 0x61e5e23742b692e1ULL);
}

TEST(Random, RandnFloat64) {
  Generator g(123);
  // torch.manual_seed(123); torch.randn(20, dtype=torch.float64)
  expect_bits_eq(
      randn_d(g, 20),
      {0.90975753221117961,  0.15375718812361189,  0.63435173830981184, 0.36654873669035959,
       -0.75364095393367314, 0.097384605037782165, -1.033437355203513,  0.18202427288882189,
       -1.07450517806488,    0.95218672940808191,  1.9336016801664739,  -1.1461114911295558,
       -0.12594094733194452, 1.4189603684597678,   -1.1131899891860184, 0.95424485280849602,
       0.71126512027563349,  0.4269251632914044,   1.413019990423626,   -0.07914745139728685});
  g.manual_seed(123);
  // torch.manual_seed(123); torch.randn(5, dtype=torch.float64)   (< 16: scalar path)
  expect_bits_eq(randn_d(g, 5), {-0.11146711634581082, 0.12036294405744884, -0.36963450886574944,
                                 -0.24041797675874255, -1.1969243846077398});
}

TEST(Random, Rand) {
  Generator g(7);
  // torch.manual_seed(7); torch.rand(10)
  expect_bits_eq(rand_f(g, 10),
                 {0.53492254f, 0.198803186f, 0.659211695f, 0.656890273f, 0.232761562f, 0.425061405f,
                  0.207086027f, 0.629736364f, 0.365316153f, 0.851268351f});
  // ... then torch.rand(5, dtype=torch.float64)
  std::vector<double> d(5);
  fill_uniform(d.data(), 5, 0.0, 1.0, g);
  expect_bits_eq(d, {0.83954537576238664, 0.29471210801288372, 0.56072159737215554,
                     0.7630434112121387, 0.75935722721328314});
}

TEST(Random, NormalAndUniformWithParameters) {
  Generator g(11);
  // torch.manual_seed(11); torch.empty(20).normal_(1.5, 0.25)
  expect_bits_eq(
      randn_f(g, 20, 1.5, 0.25),
      {1.37230062f, 1.75706792f, 1.41171205f, 1.53074777f, 1.46134377f, 1.22589028f, 1.84164941f,
       1.67232049f, 1.51860976f, 1.45392609f, 1.69900918f, 1.73980856f, 2.00438547f, 1.20784259f,
       1.16895151f, 1.78168583f, 1.97781837f, 1.574476f,   1.32396924f, 1.62457502f});
  // ... then torch.empty(7).normal_(-3.0, 2.0)
  expect_bits_eq(randn_f(g, 7, -3.0, 2.0), {-1.21423697f, -3.97811198f, -5.89404154f, -0.61186105f,
                                            -1.90751815f, -7.15003061f, -4.93822622f});
  // ... then torch.empty(9).uniform_(-2.5, 4.0)
  expect_bits_eq(rand_f(g, 9, -2.5, 4.0),
                 {0.475955516f, -0.181860268f, 0.640208125f, 1.88878095f, -0.85900104f,
                  0.926519394f, 2.88267922f, 0.721627712f, 2.88966656f});
}

TEST(Random, AffineStepIsFused) {
  // torch's kernels are built with FMA contraction: x * (to - from) + from and
  // z * std + mean are single fused multiply-adds. These ranges expose the difference.
  Generator g(13);
  // torch.manual_seed(13); torch.empty(8).uniform_(0.1, 0.77)
  expect_bits_eq(rand_f(g, 8, 0.1, 0.77), {0.161517397f, 0.421184987f, 0.643069327f, 0.110121794f,
                                           0.110253021f, 0.504390001f, 0.255302995f, 0.67840451f});
  // ... then torch.empty(6, dtype=torch.float64).uniform_(0.1, 0.77)
  std::vector<double> d(6);
  fill_uniform(d.data(), 6, 0.1, 0.77, g);
  expect_bits_eq(d, {0.69434077656330306, 0.5449128501955105, 0.31370607706071924,
                     0.28645505523410025, 0.11617033004226526, 0.56453459645872883});
  // ... then torch.empty(6, dtype=torch.float64).normal_(0.1, 0.77)
  fill_normal(d.data(), 6, 0.1, 0.77, g);
  expect_bits_eq(d, {0.11654355965888863, -0.44884598682414456, 0.40009312127001745,
                     -0.41797564714816915, -0.44297465298118543, -0.32143111850101752});
}

TEST(Random, Randint) {
  Generator g(5);
  // torch.manual_seed(5); torch.randint(0, 10, (12,))
  expect_bits_eq(randint_l(g, 0, 10, 12), {1, 4, 7, 5, 6, 0, 2, 3, 8, 4, 9, 0});
  // ... then torch.randint(0, 2**28, (3,))   (range >= 2^28: one 64-bit draw per element)
  expect_bits_eq(randint_l(g, 0, 1LL << 28, 3), {178834032, 211046096, 229011660});
  // ... then torch.randint(-5, 2**40, (4,))
  expect_bits_eq(randint_l(g, -5, 1LL << 40, 4),
                 {617636119537LL, 780171712153LL, 347055047674LL, 189983244436LL});
  // ... then torch.randint(-100, 100, (6,), dtype=torch.float32)
  std::vector<float> f(6);
  fill_randint(f.data(), 6, -100, 100, g);
  expect_bits_eq(f, {-9.0f, 29.0f, 83.0f, 66.0f, -96.0f, 74.0f});
  EXPECT_THROW(fill_randint(f.data(), 6, 3, 3, g), std::invalid_argument);
}

TEST(Random, Randperm) {
  Generator g(3);
  std::vector<int64_t> p10(10), p20(20);
  // torch.manual_seed(3); torch.randperm(10)
  fill_randperm(p10.data(), 10, g);
  expect_bits_eq(p10, {6, 0, 3, 7, 8, 5, 1, 9, 2, 4});
  // ... then torch.randperm(20)
  fill_randperm(p20.data(), 20, g);
  expect_bits_eq(p20, {19, 4, 11, 5, 13, 2, 15, 10, 14, 6, 8, 3, 17, 18, 1, 12, 7, 0, 16, 9});
}

TEST(Random, Bernoulli) {
  Generator g(9);
  // torch.linspace(0, 1, 12)
  const std::vector<float> pf = {0.0f,         0.0909090936f, 0.181818187f, 0.272727281f,
                                 0.363636374f, 0.454545468f,  0.545454502f, 0.636363626f,
                                 0.727272749f, 0.818181813f,  0.909090877f, 1.0f};
  std::vector<float> f(12);
  // torch.manual_seed(9); torch.bernoulli(torch.linspace(0, 1, 12))
  fill_bernoulli(f.data(), pf.data(), 12, g);
  expect_bits_eq(f, {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f, 0.0f, 1.0f, 1.0f, 0.0f, 1.0f});
  // ... then torch.bernoulli(torch.linspace(0, 1, 12, dtype=torch.float64))
  // torch.linspace(0, 1, 12, dtype=torch.float64)
  const std::vector<double> pd = {0.0,
                                  0.090909090909090912,
                                  0.18181818181818182,
                                  0.27272727272727271,
                                  0.36363636363636365,
                                  0.45454545454545459,
                                  0.54545454545454541,
                                  0.63636363636363635,
                                  0.72727272727272729,
                                  0.81818181818181812,
                                  0.90909090909090906,
                                  1.0};
  std::vector<double> d(12);
  fill_bernoulli(d.data(), pd.data(), 12, g);
  expect_bits_eq(d, {0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0});
  // ... then torch.empty(10).bernoulli_(0.3)
  std::vector<float> s(10);
  fill_bernoulli(s.data(), 0.3, 10, g);
  expect_bits_eq(s, {0.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f, 0.0f});
}

TEST(Random, DropoutMask) {
  Generator g(21);
  std::vector<float> m(20);
  // torch.manual_seed(21); F.dropout(torch.ones(20), 0.4, training=True)
  fill_dropout_mask(m.data(), 20, 0.4, g);
  const float k = 1.66666663f;
  expect_bits_eq(
      m, {0.0f, k, k, k, 0.0f, 0.0f, k, 0.0f, k, k, k, k, 0.0f, 0.0f, 0.0f, 0.0f, k, k, k, 0.0f});
  // p == 0 and p == 1 draw nothing.
  const std::vector<uint8_t> before = g.get_state();
  fill_dropout_mask(m.data(), 20, 0.0, g);
  fill_dropout_mask(m.data(), 20, 1.0, g);
  EXPECT_EQ(g.get_state(), before);
  for (float v : m) EXPECT_EQ(v, 0.0f);
}

TEST(Random, BlockDrawsAreTheSingleDraws) {
  // Across twists, from a fresh seed and from mid-state, in odd-sized pieces.
  Generator single(5), block(5);
  for (int64_t piece : {1, 7, 623, 624, 625, 1300, 3, 2000}) {
    std::vector<uint32_t> got(piece);
    block.random_block(got.data(), piece);
    for (int64_t i = 0; i < piece; ++i) ASSERT_EQ(got[i], single.random()) << piece << " " << i;
    EXPECT_EQ(block.get_state(), single.get_state());
  }
}

TEST(Random, BernoulliBlocksAreTheElementByElementDraws) {
  // Note [Bernoulli in blocks]: the same mask as uniform_double(g) < p per element.
  for (double p : {0.0, 1.0, 0.5, 0.3, 1e-9, 1.0 - 1e-16, 0.75}) {
    Generator g(11), reference(11);
    const int64_t n = 2500;  // more than one block of draws and a partial one
    std::vector<float> got(n);
    std::vector<double> got_d(n);
    fill_bernoulli(got.data(), p, n, g);
    fill_bernoulli(got_d.data(), p, n, g);
    for (int64_t i = 0; i < n; ++i) {
      const double u = static_cast<double>(reference.random64() & ((uint64_t{1} << 53) - 1)) /
                       static_cast<double>(uint64_t{1} << 53);
      ASSERT_EQ(got[i], u < p ? 1.0f : 0.0f) << p << " " << i;
    }
    for (int64_t i = 0; i < n; ++i) {
      const double u = static_cast<double>(reference.random64() & ((uint64_t{1} << 53) - 1)) /
                       static_cast<double>(uint64_t{1} << 53);
      ASSERT_EQ(got_d[i], u < p ? 1.0 : 0.0) << p << " " << i;
    }
    EXPECT_EQ(g.get_state(), reference.get_state());
  }
}

TEST(Random, InterleavedCallsAndSeedAbove32Bits) {
  Generator g((1ULL << 40) + 7);
  EXPECT_EQ(g.initial_seed(), 1099511627783ULL);  // torch.initial_seed() after that manual_seed
  randn_f(g, 3);
  rand_f(g, 20);
  // torch.manual_seed(2**40 + 7); torch.randn(3); torch.rand(20); torch.randn(17)
  expect_bits_eq(
      randn_f(g, 17),
      {-1.3032167f, -1.25478518f, 0.816456497f, -1.06539893f, -0.178192616f, -0.259498864f,
       -0.0144879408f, -0.383890986f, -2.96616983f, 0.237014592f, 0.632682085f, -0.0916771665f,
       1.62431645f, 0.00156727072f, -0.43754071f, -2.10853338f, 1.14500749f});
  // ... then torch.randint(0, 100, (5,))
  expect_bits_eq(randint_l(g, 0, 100, 5), {27, 53, 32, 60, 40});
  // ... then torch.randn(2)   (first value is the sin half cached by randn(3))
  expect_bits_eq(randn_f(g, 2), {-1.114344f, -0.185687944f});
}

TEST(Random, StateIsTorchCompatibleAndRoundTrips) {
  Generator g(42);
  randn_f(g, 1);  // leaves a cached double normal sample (0.128809407...)
  const std::vector<uint8_t> st = g.get_state();
  ASSERT_EQ(st.size(), Generator::kStateSize);
  // FNV-1a 64 of torch.get_rng_state() after torch.manual_seed(42); torch.randn(1)
  EXPECT_EQ(fnv1a(st), 0x912c4d45955148f8ULL);

  Generator h(1);
  h.set_state(st);
  EXPECT_EQ(h.get_state(), st);
  EXPECT_EQ(h.initial_seed(), 42u);
  // The cached normal survives set_state: continuing gives torch.randn(5, 3)[1:] ...
  expect_bits_eq(randn_f(h, 2), {0.128809407f, 0.234462366f});
  expect_bits_eq(randn_f(g, 2), {0.128809407f, 0.234462366f});

  // manual_seed drops the cached sample.
  g.manual_seed(42);
  randn_f(g, 1);
  g.manual_seed(42);
  expect_bits_eq(randn_f(g, 1), {0.336690366f});

  EXPECT_THROW(h.set_state(std::vector<uint8_t>(100)), std::invalid_argument);
  EXPECT_THROW(h.set_state(std::vector<uint8_t>(Generator::kStateSize)), std::invalid_argument);
  Generator copy = h;
  EXPECT_EQ(copy.get_state(), h.get_state());
}

TEST(Random, EmptyFillsDrawNothing) {
  Generator g(1);
  const std::vector<uint8_t> before = g.get_state();
  fill_normal(static_cast<float*>(nullptr), 0, 0.0, 1.0, g);
  fill_uniform(static_cast<double*>(nullptr), 0, 0.0, 1.0, g);
  fill_randperm(nullptr, 0, g);
  EXPECT_EQ(g.get_state(), before);
  std::vector<int64_t> one(1);
  fill_randperm(one.data(), 1, g);  // randperm(1) draws nothing either
  EXPECT_EQ(one[0], 0);
  EXPECT_EQ(g.get_state(), before);
}

}  // namespace
}  // namespace ember
