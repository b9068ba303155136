#include "ember/kernels/conv_shifted_rows.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "ember/allocator.h"
#include "ember/kernels/multiversion.h"
#include "ember/parallel.h"

// GCC 12 warns about _mm512_undefined_ps inside its own intrinsics (a
// known false positive of -Wmaybe-uninitialized at -O3).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

namespace ember {

// Note [Weight gradient by shifted rows]
// With unit stride, what kernel tap (ki, kj) of channel c sees over a
// sample's output plane is the (zero-padded) input plane itself, read from
// offset ki*dh*Wp + kj*dw on, if output positions are numbered with the
// input's row length Wp: position (y, x) is y*Wp + x, and the positions with
// x >= ow are gaps. So
//   grad_weight[o, (c, ki, kj)] = sum over positions k of
//       grad_out[o, k] * input[c, k + ki*dh*Wp + kj*dw]
// is a product whose second factor is a shifted view of the input: no
// column matrix (9 copies of the input for a 3x3 kernel) is gathered, and
// only grad_out is copied once, into rows Wp long with the gaps zeroed. The
// loads of the input take a mask that drops the gaps, so values read there
// (the next row's, or past the plane) never meet the product: an inf or NaN
// in the input reaches only the weights it truly touches, and no masked-off
// address is touched.
//
// A 4 x 6 tile of grad_weight (4 output channels, 6 taps) holds 24 vector
// accumulators over 16 positions each, summed across lanes once per block of
// samples. Threads split the output channels, each running every block of
// samples in order, so results do not depend on the thread count. Blocks
// take as many samples as keep their input planes in L2. For the second
// layer of pytorch/examples' MNIST net (64 x 32 x 3 x 3 over 26 x 26, batch
// 64) this takes 13.4 ms at one thread, the column matrix and BLAS 17.5 ms.

namespace {

constexpr int kTileRows = 4;                             // output channels per tile
constexpr int kTileTaps = 6;                             // (channel, tap) columns per tile
constexpr int64_t kLanes = 16;                           // floats per AVX-512 vector
constexpr int64_t kBlockInputFloats = int64_t(1) << 16;  // input floats per sample block
constexpr int64_t kMaxBlockSamples = 8;

// A unit-stride correlation: out[n, o, y, x] = bias[o] + sum over (c, ki, kj) of
// weight(o, c, ki, kj) * in[n, c, y + ki*dh - ph, x + kj*dw - pw] (zero outside).
struct Correlation {
  int64_t batch = 0, c_in = 0, h = 0, w = 0, ph = 0, pw = 0;
  int64_t c_out = 0, kh = 0, kw = 0, dh = 1, dw = 1, oh = 0, ow = 0;

  int64_t hp() const { return h + 2 * ph; }
  int64_t wp() const { return w + 2 * pw; }
  int64_t taps() const { return c_in * kh * kw; }
};

bool correlation_fits(const Correlation& c) {
  if (c.oh <= 0 || c.ow <= 0 || c.ph < 0 || c.pw < 0) return false;
  if (c.oh + (c.kh - 1) * c.dh > c.hp() || c.ow + (c.kw - 1) * c.dw > c.wp()) return false;
  return 4 * c.ow >= 3 * c.wp();  // gaps waste at most a quarter of the lanes
}

// The forward as a correlation (the weight gradient reads the same rows).
Correlation forward_correlation(const ConvGeometry& g) {
  return {g.batch, g.c_in, g.h, g.w, g.ph, g.pw, g.c_out, g.kh, g.kw, g.dh, g.dw, g.oh, g.ow};
}

bool unit_stride_dense(const ConvGeometry& g) {
  return cpu_has_avx512() && g.groups == 1 && g.sh == 1 && g.sw == 1 && g.kh * g.kw > 1;
}

// Where each (channel, ki, kj) tap starts reading in planes hp x wp laid end
// to end: position k of the tap reads element k of the returned offset on.
std::vector<int64_t> tap_offsets(int64_t channels, int64_t kh, int64_t kw, int64_t dh, int64_t dw,
                                 int64_t hp, int64_t wp) {
  std::vector<int64_t> offsets;
  offsets.reserve(channels * kh * kw);
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t ki = 0; ki < kh; ++ki) {
      for (int64_t kj = 0; kj < kw; ++kj) offsets.push_back(c * hp * wp + ki * dh * wp + kj * dw);
    }
  }
  return offsets;
}

// `planes` h x w planes with ph rows and pw columns of zeros around each, then
// `tail` zeros that loads running past the last plane may read.
void pad_planes(const float* in, int64_t planes, int64_t h, int64_t w, int64_t ph, int64_t pw,
                int64_t tail, float* out) {
  const int64_t hp = h + 2 * ph, wp = w + 2 * pw;
  std::fill(out, out + planes * hp * wp + tail, 0.0f);
  for (int64_t plane = 0; plane < planes; ++plane) {
    const float* src = in + plane * h * w;
    float* dst = out + plane * hp * wp + ph * wp + pw;
    for (int64_t y = 0; y < h; ++y) std::copy(src + y * w, src + (y + 1) * w, dst + y * wp);
  }
}

struct ShiftedLayout {
  int64_t hp = 0, wp = 0;            // padded input plane
  int64_t positions = 0;             // oh * wp, gaps included
  int64_t vectors = 0;               // positions in 16-float vectors, rounded up
  int64_t row_length = 0;            // vectors * 16: a packed grad_out row
  std::vector<int64_t> tap_offsets;  // per (channel, tap) column of the tile
  std::vector<uint16_t> masks;       // per vector: lanes that are real positions
};

ShiftedLayout shifted_layout(const ConvGeometry& g) {
  ShiftedLayout s;
  s.hp = g.h + 2 * g.ph;
  s.wp = g.w + 2 * g.pw;
  s.positions = g.oh * s.wp;
  s.vectors = (s.positions + kLanes - 1) / kLanes;
  s.row_length = s.vectors * kLanes;
  s.tap_offsets = tap_offsets(g.c_in, g.kh, g.kw, g.dh, g.dw, s.hp, s.wp);
  s.masks.assign(s.vectors, 0);
  for (int64_t k = 0; k < s.positions; ++k) {
    if (k % s.wp < g.ow) s.masks[k / kLanes] |= static_cast<uint16_t>(1u << (k % kLanes));
  }
  return s;
}

// grad_out rows [o0, o0 + kTileRows) of a sample block, each row_length long
// with the gaps zeroed, sample after sample; rows past c_out are zero.
void pack_grad_rows(const ConvGeometry& g, const ShiftedLayout& s, const float* grad_out,
                    int64_t samples, int64_t o0, float* packed) {
  std::fill(packed, packed + samples * kTileRows * s.row_length, 0.0f);
  for (int64_t n = 0; n < samples; ++n) {
    for (int64_t i = 0; i < kTileRows && o0 + i < g.c_out; ++i) {
      const float* src = grad_out + (n * g.c_out + o0 + i) * g.out_plane();
      float* dst = packed + (n * kTileRows + i) * s.row_length;
      for (int64_t y = 0; y < g.oh; ++y) {
        std::copy(src + y * g.ow, src + (y + 1) * g.ow, dst + y * s.wp);
      }
    }
  }
}

// The sum of a vector's 16 lanes, in a fixed order. (The halves come from
// vextractf32x8: GCC 12's _mm512_reduce_add_ps and 512-bit shuffles trip
// -Wuninitialized on their own internals.)
__attribute__((target("arch=x86-64-v4"))) inline float lane_total(__m512 x) {
  const __m256 h = _mm256_add_ps(_mm512_extractf32x8_ps(x, 0), _mm512_extractf32x8_ps(x, 1));
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}

// sums[i][j] = the sum over the block's samples and positions of
// grad row i times input column j.
__attribute__((target("arch=x86-64-v4"))) void shifted_rows_tile(
    const float* packed, int64_t row_length, const float* const* columns, int64_t sample_stride,
    const uint16_t* masks, int64_t vectors, int64_t samples, float sums[kTileRows][kTileTaps]) {
  __m512 acc[kTileRows][kTileTaps];
#pragma GCC unroll 4
  for (int i = 0; i < kTileRows; ++i) {
#pragma GCC unroll 6
    for (int j = 0; j < kTileTaps; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  for (int64_t n = 0; n < samples; ++n) {
    const float* rows = packed + n * kTileRows * row_length;
    const float* col[kTileTaps];
#pragma GCC unroll 6
    for (int j = 0; j < kTileTaps; ++j) col[j] = columns[j] + n * sample_stride;
    for (int64_t v = 0; v < vectors; ++v) {
      const __mmask16 m = masks[v];
      __m512 gv[kTileRows];
#pragma GCC unroll 4
      for (int i = 0; i < kTileRows; ++i)
        gv[i] = _mm512_loadu_ps(rows + i * row_length + v * kLanes);
#pragma GCC unroll 6
      for (int j = 0; j < kTileTaps; ++j) {
        const __m512 xv = _mm512_maskz_loadu_ps(m, col[j] + v * kLanes);
#pragma GCC unroll 4
        for (int i = 0; i < kTileRows; ++i) acc[i][j] = _mm512_fmadd_ps(gv[i], xv, acc[i][j]);
      }
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < kTileRows; ++i) {
#pragma GCC unroll 6
    for (int j = 0; j < kTileTaps; ++j) sums[i][j] = lane_total(acc[i][j]);
  }
}

}  // namespace

bool shifted_rows_weight_grad_applies(const ConvGeometry& g) {
  // The forward's reads are the weight gradient's: the same fit.
  return unit_stride_dense(g) && correlation_fits(forward_correlation(g));
}

void conv_weight_grad_shifted_rows(const ConvGeometry& g, const float* in, const float* grad_out,
                                   float* grad_weight) {
  const ShiftedLayout s = shifted_layout(g);
  const int64_t patch = g.patch();
  const bool padded = g.ph > 0 || g.pw > 0;
  const int64_t sample_floats = g.c_in * s.hp * s.wp;
  const int64_t block = std::clamp<int64_t>(kBlockInputFloats / sample_floats, 1, kMaxBlockSamples);
  const int64_t row_blocks = (g.c_out + kTileRows - 1) / kTileRows;
  std::fill(grad_weight, grad_weight + g.c_out * patch, 0.0f);
  parallel_for(row_blocks, 1, [&](int64_t lo, int64_t hi) {
    ScratchBuffer<float> packed(block * kTileRows * s.row_length);
    ScratchBuffer<float> padded_in(padded ? block * sample_floats : 0);
    for (int64_t first = 0; first < g.batch; first += block) {
      const int64_t samples = std::min(block, g.batch - first);
      const float* x = in + first * g.c_in * g.in_plane();
      if (padded) {
        pad_planes(x, samples * g.c_in, g.h, g.w, g.ph, g.pw, 0, padded_in.get());
        x = padded_in.get();
      }
      for (int64_t rb = lo; rb < hi; ++rb) {
        const int64_t o0 = rb * kTileRows;
        pack_grad_rows(g, s, grad_out + first * g.c_out * g.out_plane(), samples, o0, packed.get());
        for (int64_t p0 = 0; p0 < patch; p0 += kTileTaps) {
          const float* columns[kTileTaps];
          for (int j = 0; j < kTileTaps; ++j) {
            columns[j] = x + s.tap_offsets[std::min<int64_t>(p0 + j, patch - 1)];
          }
          float sums[kTileRows][kTileTaps];
          shifted_rows_tile(packed.get(), s.row_length, columns, sample_floats, s.masks.data(),
                            s.vectors, samples, sums);
          for (int64_t i = 0; i < kTileRows && o0 + i < g.c_out; ++i) {
            for (int64_t j = 0; j < kTileTaps && p0 + j < patch; ++j) {
              grad_weight[(o0 + i) * patch + p0 + j] += sums[i][j];
            }
          }
        }
      }
    }
  });
}

// Note [Convolution by shifted rows]
// The forward of a unit-stride convolution reads, for output channel o and
// position k (numbered with the padded input's row length, as in Note
// [Weight gradient by shifted rows]),
//   out[o, k] = sum over (c, ki, kj) of weight[o, c, ki, kj] * input[c, k + offset(c, ki, kj)]
// so a tile of R output channels x V vectors of 16 positions (8 x 3, 6 x 4
// or 4 x 6, whichever drops the fewest outputs) holds 24 vector accumulators,
// and each (channel, tap) adds V unaligned loads of the input times R
// broadcast weights: no column matrix. The gap positions (x >= ow) are
// computed and dropped, and the loads run up to a tile's span plus the widest
// tap past the last plane (into the next sample's planes, or the zeroed tail
// of a padded copy for the batch's last sample). The input gradient is the
// same correlation: grad_out padded by (k - 1) * dilation - padding on each
// side, with the weight's channels swapped and its taps flipped. Each output
// is one sum in a fixed order, so results do not depend on the thread count.

namespace {

// A tile of `Rows` output channels x `Vectors` 16-float vectors of positions:
// Rows * Vectors accumulators, 24 of AVX-512's 32 registers.
template <int Rows, int Vectors>
struct TileShape {
  static constexpr int rows = Rows;
  static constexpr int vectors = Vectors;
  static constexpr int64_t span = Vectors * kLanes;  // positions per tile
};

// weight(o, tap) for tiles of S::rows output channels: tile b holds, per tap,
// its channels' S::rows weights side by side (zero past c_out).
template <typename S, typename WeightAt>
std::vector<float> pack_tile_weights(const Correlation& c, WeightAt weight_at) {
  const int64_t tiles = (c.c_out + S::rows - 1) / S::rows, taps = c.taps();
  std::vector<float> packed(tiles * taps * S::rows, 0.0f);
  for (int64_t o = 0; o < c.c_out; ++o) {
    float* dst = packed.data() + (o / S::rows) * taps * S::rows + o % S::rows;
    for (int64_t t = 0; t < taps; ++t) dst[t * S::rows] = weight_at(o, t);
  }
  return packed;
}

// Where a tile's outputs go: per row, its output plane (null past c_out) and
// bias; per vector of positions, the lanes that are real outputs and where the
// first of them goes in the plane.
template <typename S>
struct TileOutput {
  float* planes[S::rows];
  float shifts[S::rows];
  __mmask16 lanes[S::vectors];
  int64_t first[S::vectors];
};

// out.planes[i] at the real positions = shift[i] + the sum over taps of
// weights[tap][i] * x[offset[tap] + position]. Each vector's real lanes are
// compressed to the front and stored as one run: the positions of one vector
// that are outputs lie in at most a few rows, one after another in the plane.
template <typename S>
__attribute__((target("arch=x86-64-v4"))) void correlation_tile(const float* x,
                                                                const int64_t* offsets,
                                                                int64_t taps, const float* weights,
                                                                const TileOutput<S>& out) {
  __m512 acc[S::rows][S::vectors];
#pragma GCC unroll 8
  for (int i = 0; i < S::rows; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < S::vectors; ++v) acc[i][v] = _mm512_setzero_ps();
  }
  for (int64_t t = 0; t < taps; ++t) {
    const float* row = x + offsets[t];
    __m512 xv[S::vectors];
#pragma GCC unroll 8
    for (int v = 0; v < S::vectors; ++v) xv[v] = _mm512_loadu_ps(row + v * kLanes);
    const float* wt = weights + t * S::rows;
#pragma GCC unroll 8
    for (int i = 0; i < S::rows; ++i) {
      const __m512 wb = _mm512_set1_ps(wt[i]);
#pragma GCC unroll 8
      for (int v = 0; v < S::vectors; ++v) acc[i][v] = _mm512_fmadd_ps(wb, xv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < S::rows; ++i) {
    if (out.planes[i] == nullptr) continue;
    const __m512 shift = _mm512_set1_ps(out.shifts[i]);
#pragma GCC unroll 8
    for (int v = 0; v < S::vectors; ++v) {
      const __mmask16 lanes = out.lanes[v];
      const __m512 packed = _mm512_maskz_compress_ps(lanes, _mm512_add_ps(acc[i][v], shift));
      const auto run = static_cast<__mmask16>((1u << __builtin_popcount(lanes)) - 1);
      _mm512_mask_storeu_ps(out.planes[i] + out.first[v], run, packed);
    }
  }
}

template <typename S, typename WeightAt>
void correlate(const Correlation& c, const float* in, WeightAt weight_at, const float* bias,
               float* out) {
  const std::vector<float> weights = pack_tile_weights<S>(c, weight_at);
  const int64_t hp = c.hp(), wp = c.wp(), taps = c.taps();
  const int64_t positions = c.oh * wp, spans = (positions + S::span - 1) / S::span;
  const int64_t sample_floats = c.c_in * hp * wp;
  // Past the last plane, loads reach at most one span plus the widest tap.
  const int64_t tail = S::span + (c.kw - 1) * c.dw;
  const bool padded = c.ph > 0 || c.pw > 0;
  const std::vector<int64_t> offsets = tap_offsets(c.c_in, c.kh, c.kw, c.dh, c.dw, hp, wp);
  const int64_t row_tiles = (c.c_out + S::rows - 1) / S::rows;
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 21) / (c.c_out * taps * S::span));
  parallel_for(c.batch * spans, grain, [&](int64_t lo, int64_t hi) {
    ScratchBuffer<float> copy(sample_floats + tail);
    int64_t copied = -1;  // the sample whose planes `copy` holds
    for (int64_t u = lo; u < hi; ++u) {
      const int64_t n = u / spans, k0 = (u % spans) * S::span;
      const float* x = in + n * sample_floats;
      // Unpadded planes are read in place when the next sample's planes can
      // take the overrun.
      if (padded || n + 1 == c.batch || sample_floats < tail) {
        if (copied != n) {
          pad_planes(in + n * c.c_in * c.h * c.w, c.c_in, c.h, c.w, c.ph, c.pw, tail, copy.get());
        }
        copied = n;
        x = copy.get();
      }
      TileOutput<S> dst;
      for (int v = 0; v < S::vectors; ++v) {
        // Lanes at positions k = y * wp + x with x < ow (and k < positions).
        dst.lanes[v] = 0;
        const int64_t kv = k0 + v * kLanes;
        for (int64_t l = 0; l < kLanes; ++l) {
          const int64_t k = kv + l;
          if (k < positions && k % wp < c.ow) dst.lanes[v] |= static_cast<__mmask16>(1u << l);
        }
        dst.first[v] = kv / wp * c.ow + std::min(kv % wp, c.ow);
      }
      for (int64_t b = 0; b < row_tiles; ++b) {
        for (int i = 0; i < S::rows; ++i) {
          const int64_t o = b * S::rows + i;
          dst.planes[i] = o < c.c_out ? out + (n * c.c_out + o) * c.oh * c.ow : nullptr;
          dst.shifts[i] = bias && o < c.c_out ? bias[o] : 0.0f;
        }
        correlation_tile<S>(x + k0, offsets.data(), taps, weights.data() + b * taps * S::rows, dst);
      }
    }
  });
}

// Positions and output channels a tile shape computes, gaps and padding rows included.
template <typename S>
int64_t computed_outputs(const Correlation& c) {
  const int64_t positions = c.oh * c.wp();
  return (c.c_out + S::rows - 1) / S::rows * S::rows * ((positions + S::span - 1) / S::span) *
         S::span;
}

// The tile shape that computes the fewest discarded outputs. 8 x 3 loads the
// fewest unaligned vectors per tap and wins ties; 4 x 6 loads the most and
// measured 5-15% slower at equal work, which its count carries as a penalty.
template <typename WeightAt>
void correlate_best_tile(const Correlation& c, const float* in, WeightAt weight_at,
                         const float* bias, float* out) {
  using Deep = TileShape<8, 3>;
  using Wide = TileShape<6, 4>;
  using Tall = TileShape<4, 6>;
  const int64_t deep = computed_outputs<Deep>(c), wide = computed_outputs<Wide>(c);
  const int64_t tall = computed_outputs<Tall>(c) * 23 / 20;
  if (deep <= std::min(wide, tall)) return correlate<Deep>(c, in, weight_at, bias, out);
  if (wide <= tall) return correlate<Wide>(c, in, weight_at, bias, out);
  correlate<Tall>(c, in, weight_at, bias, out);
}

// The input gradient's correlation: over grad_out, padded so that every tap
// that reached an input position is read (see Note [Convolution by shifted rows]).
Correlation input_grad_correlation(const ConvGeometry& g) {
  const int64_t ph = (g.kh - 1) * g.dh - g.ph, pw = (g.kw - 1) * g.dw - g.pw;
  return {g.batch, g.c_out, g.oh, g.ow, ph, pw, g.c_in, g.kh, g.kw, g.dh, g.dw, g.h, g.w};
}

// Below this many (channel, tap) pairs per output a tile's stores and the
// copy out of the gaps outweigh its products (a first layer on one channel):
// the column matrix is cheaper there.
constexpr int64_t kMinCorrelationTaps = 16;

}  // namespace

bool shifted_rows_forward_applies(const ConvGeometry& g) {
  const Correlation c = forward_correlation(g);
  return unit_stride_dense(g) && c.taps() >= kMinCorrelationTaps && correlation_fits(c);
}

void conv_forward_shifted_rows(const ConvGeometry& g, const float* in, const float* weight,
                               const float* bias, float* out) {
  const Correlation c = forward_correlation(g);
  const int64_t taps = c.taps();
  correlate_best_tile(c, in, [&](int64_t o, int64_t t) { return weight[o * taps + t]; }, bias, out);
}

bool shifted_rows_input_grad_applies(const ConvGeometry& g) {
  const Correlation c = input_grad_correlation(g);
  return unit_stride_dense(g) && c.taps() >= kMinCorrelationTaps && correlation_fits(c);
}

void conv_input_grad_shifted_rows(const ConvGeometry& g, const float* grad_out, const float* weight,
                                  float* grad_in) {
  const Correlation c = input_grad_correlation(g);
  const int64_t kk = g.kh * g.kw, patch = g.patch();
  // Output channel ci of the correlation reads grad_out channel co through
  // weight[co, ci] with its taps flipped.
  const auto weight_at = [&](int64_t ci, int64_t t) {
    const int64_t co = t / kk, tap = t % kk;
    return weight[co * patch + ci * kk + (kk - 1 - tap)];
  };
  correlate_best_tile(c, grad_out, weight_at, nullptr, grad_in);
}

}  // namespace ember
