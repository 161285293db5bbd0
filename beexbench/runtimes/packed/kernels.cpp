// Packed 1-bit linear kernels over the sign-bit layout of beexbench/models/bitpack.py.
//
// Weights: int64 [m, words], bit j of row i at word j/64, bit j%64 (little-endian),
// 1 = +1, 0 = -1. Padding bits past n are never read as data:
//   - w1a1 packs x with zero padding and masks the weight's padding bits off, so
//     the dot product covers exactly the n valid bits;
//   - w1a32 pads x with zeros, so padded weight bits select 0.0.
//
// Every argument is checked here (dtype, device, contiguity, shapes); the Python
// wrapper turns a failed check into a one-line UsageError.

#include "kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace {

constexpr int64_t kWordBits = 64;

// Below this many estimated inner-loop operations a kernel stays on one thread:
// an OpenMP fork/join costs a few microseconds, more than small GEMVs take.
constexpr int64_t kParallelWork = int64_t(1) << 16;

int threads_for(int64_t work) {
  return work >= kParallelWork ? at::get_num_threads() : 1;
}

inline int64_t popcount64(uint64_t v) { return __builtin_popcountll(v); }

// Sign bits of one row of n floats (bit = 1 where x >= 0; NaN -> 0), zero padded.
void pack_row(const float* x, int64_t n, uint64_t* out) {
  const int64_t full = n / kWordBits;
  int64_t k = 0;
#if defined(__AVX512F__)
  const __m512 zero = _mm512_setzero_ps();
  for (; k < full; ++k) {
    const float* p = x + k * kWordBits;
    const uint64_t m0 = _mm512_cmp_ps_mask(_mm512_loadu_ps(p), zero, _CMP_GE_OQ);
    const uint64_t m1 = _mm512_cmp_ps_mask(_mm512_loadu_ps(p + 16), zero, _CMP_GE_OQ);
    const uint64_t m2 = _mm512_cmp_ps_mask(_mm512_loadu_ps(p + 32), zero, _CMP_GE_OQ);
    const uint64_t m3 = _mm512_cmp_ps_mask(_mm512_loadu_ps(p + 48), zero, _CMP_GE_OQ);
    out[k] = m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
  }
#endif
  for (; k * kWordBits < n; ++k) {
    uint64_t word = 0;
    const int64_t end = std::min<int64_t>(kWordBits, n - k * kWordBits);
    for (int64_t j = 0; j < end; ++j) {
      word |= static_cast<uint64_t>(x[k * kWordBits + j] >= 0.f) << j;
    }
    out[k] = word;
  }
}

// Number of differing bits between two rows of `words` words.
inline int64_t mismatches(const uint64_t* a, const uint64_t* b, int64_t words) {
  int64_t count = 0;
  for (int64_t k = 0; k < words; ++k) count += popcount64(a[k] ^ b[k]);
  return count;
}

#if defined(__AVX512VPOPCNTDQ__) && defined(__AVX512DQ__)
// Lane r of the result is the sum of the 8 lanes of a[r]: a transpose-and-add tree,
// far fewer shuffles than eight separate horizontal sums.
inline __m512i sum_lanes_8(const __m512i* a) {
  __m512i s[4];
  for (int p = 0; p < 4; ++p) {
    s[p] = _mm512_add_epi64(_mm512_unpacklo_epi64(a[2 * p], a[2 * p + 1]),
                            _mm512_unpackhi_epi64(a[2 * p], a[2 * p + 1]));
  }
  constexpr int kEven = _MM_SHUFFLE(2, 0, 2, 0), kOdd = _MM_SHUFFLE(3, 1, 3, 1);
  const __m512i q0 = _mm512_add_epi64(_mm512_shuffle_i64x2(s[0], s[1], kEven),
                                      _mm512_shuffle_i64x2(s[0], s[1], kOdd));
  const __m512i q1 = _mm512_add_epi64(_mm512_shuffle_i64x2(s[2], s[3], kEven),
                                      _mm512_shuffle_i64x2(s[2], s[3], kOdd));
  return _mm512_add_epi64(_mm512_shuffle_i64x2(q0, q1, kEven),
                          _mm512_shuffle_i64x2(q0, q1, kOdd));
}

// Mismatch counts of one packed activation row against 8 consecutive weight rows,
// with the weights' padding bits masked off (the activation's padding is 0).
inline __m512i mismatches_8(const uint64_t* xb, const uint64_t* w, int64_t words,
                            uint64_t tail_bits) {
  __m512i acc[8];
  for (int r = 0; r < 8; ++r) acc[r] = _mm512_setzero_si512();
  const int64_t last = (words - 1) / 8 * 8;  // first word of the final 8-word chunk
  for (int64_t k = 0; k < last; k += 8) {
    const __m512i xv = _mm512_loadu_si512(xb + k);
    for (int r = 0; r < 8; ++r) {
      const __m512i d = _mm512_xor_si512(xv, _mm512_loadu_si512(w + r * words + k));
      acc[r] = _mm512_add_epi64(acc[r], _mm512_popcnt_epi64(d));
    }
  }
  const int rest = static_cast<int>(words - last);  // 1..8 words
  const __mmask8 lanes = static_cast<__mmask8>((1u << rest) - 1);
  // Keep only the valid bits of the row's last word.
  const __m512i valid = _mm512_mask_set1_epi64(_mm512_set1_epi64(-1), __mmask8(1u << (rest - 1)),
                                               static_cast<int64_t>(tail_bits));
  const __m512i xv = _mm512_maskz_loadu_epi64(lanes, xb + last);
  for (int r = 0; r < 8; ++r) {
    const __m512i wv = _mm512_maskz_loadu_epi64(lanes, w + r * words + last);
    const __m512i d = _mm512_and_si512(_mm512_xor_si512(xv, wv), valid);
    acc[r] = _mm512_add_epi64(acc[r], _mm512_popcnt_epi64(d));
  }
  return sum_lanes_8(acc);
}
#endif

#if defined(__AVX512VPOPCNTDQ__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
// Rows of W = 1, 2 or 4 words (n <= 256, as in the small presets): one vector holds
// R = 8 / W whole weight rows, so each XOR + popcount serves R outputs, where the
// general path would spend a full vector and a transpose-add tree on W valid words.
template <int W>
void w1a1_short_rows(const uint64_t* xb, const uint64_t* wd, int64_t B, int64_t m, int64_t n,
                     uint64_t tail_bits, const float* alpha, float* y, int nt) {
  constexpr int R = 8 / W;
  const int64_t vecs = m / R;  // the m % R rows left over take the scalar path
  const __m512i lane_word = _mm512_set_epi64(7 % W, 6 % W, 5 % W, 4 % W, 3 % W, 2 % W, 1 % W, 0);
  // The last word of each row keeps only the bits of valid columns.
  const __mmask8 last_words = static_cast<__mmask8>(W == 1 ? 0xFF : W == 2 ? 0xAA : 0x88);
  const __m512i valid = _mm512_mask_set1_epi64(_mm512_set1_epi64(-1), last_words,
                                               static_cast<int64_t>(tail_bits));
  const __mmask8 heads = static_cast<__mmask8>(W == 1 ? 0xFF : W == 2 ? 0x55 : 0x11);
  const __mmask8 out_lanes = static_cast<__mmask8>((1u << R) - 1);
  const __m512i nv = _mm512_set1_epi64(n);
  std::vector<__m512i> xpat(B);  // each activation row repeated across the 8 lanes
  for (int64_t b = 0; b < B; ++b) {
    const __m512i xw = _mm512_maskz_loadu_epi64(static_cast<__mmask8>((1u << W) - 1), xb + b * W);
    xpat[b] = _mm512_permutexvar_epi64(lane_word, xw);
  }
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t v = 0; v < vecs; ++v) {
    const __m512i wv = _mm512_loadu_si512(wd + v * 8);
    const __m256 a = _mm256_maskz_loadu_ps(out_lanes, alpha + v * R);
    for (int64_t b = 0; b < B; ++b) {
      __m512i d = _mm512_popcnt_epi64(_mm512_and_si512(_mm512_xor_si512(wv, xpat[b]), valid));
      if (W >= 2) d = _mm512_add_epi64(d, _mm512_shuffle_epi32(d, _MM_PERM_BADC));
      if (W >= 4) d = _mm512_add_epi64(d, _mm512_permutex_epi64(d, _MM_SHUFFLE(1, 0, 3, 2)));
      // Row r's mismatch count is now in lane r * W.
      const __m512i dot = _mm512_sub_epi64(nv, _mm512_add_epi64(d, d));
      const __m256 f = _mm256_maskz_compress_ps(heads, _mm512_cvtepi64_ps(dot));
      _mm256_mask_storeu_ps(y + b * m + v * R, out_lanes, _mm256_mul_ps(a, f));
    }
  }
}
#endif

float vector_sum(const float* x, int64_t n) {
  int64_t j = 0;
  float total = 0.f;
#if defined(__AVX512F__)
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  for (; j + 32 <= n; j += 32) {
    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(x + j));
    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(x + j + 16));
  }
  total = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
#endif
  for (; j < n; ++j) total += x[j];
  return total;
}

#if defined(__AVX512F__)
// The 16-bit slice c (0..3) of word k of a weight row, as a mask register: bit j
// of the slice enables lane j of a masked add. (A kmovw straight from memory was
// measured slower here than this 16-bit load plus register move.)
inline __mmask16 mask_at(const uint64_t* row, int64_t k, int c) {
  return static_cast<__mmask16>(reinterpret_cast<const uint16_t*>(row + k)[c]);
}

// Batch 1, RB weight rows at once: sum of x over the set bits of each row. Four
// accumulators per row keep RB*4 independent add chains in flight.
template <int RB>
inline void select_sum_gemv(const float* xp, const uint64_t* w, int64_t words, float* sel) {
  __m512 acc[RB][4];
  for (int r = 0; r < RB; ++r)
    for (int c = 0; c < 4; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int64_t k = 0; k < words; ++k) {
    const float* xk = xp + k * kWordBits;
    const __m512 x0 = _mm512_loadu_ps(xk), x1 = _mm512_loadu_ps(xk + 16);
    const __m512 x2 = _mm512_loadu_ps(xk + 32), x3 = _mm512_loadu_ps(xk + 48);
    for (int r = 0; r < RB; ++r) {
      const uint64_t* row = w + r * words;
      acc[r][0] = _mm512_mask_add_ps(acc[r][0], mask_at(row, k, 0), acc[r][0], x0);
      acc[r][1] = _mm512_mask_add_ps(acc[r][1], mask_at(row, k, 1), acc[r][1], x1);
      acc[r][2] = _mm512_mask_add_ps(acc[r][2], mask_at(row, k, 2), acc[r][2], x2);
      acc[r][3] = _mm512_mask_add_ps(acc[r][3], mask_at(row, k, 3), acc[r][3], x3);
    }
  }
  for (int r = 0; r < RB; ++r) {
    const __m512 s = _mm512_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]),
                                   _mm512_add_ps(acc[r][2], acc[r][3]));
    sel[r] = _mm512_reduce_add_ps(s);
  }
}

// RB weight rows x BB batch rows: every mask loaded once serves BB activation rows.
template <int RB, int BB>
inline void select_sum_gemm(const float* xp, int64_t xstride, const uint64_t* w, int64_t words,
                            float* sel /* [RB][BB] */) {
  __m512 acc[RB][BB];
  for (int r = 0; r < RB; ++r)
    for (int b = 0; b < BB; ++b) acc[r][b] = _mm512_setzero_ps();
  for (int64_t k = 0; k < words; ++k) {
    for (int c = 0; c < 4; ++c) {
      __m512 xv[BB];
      for (int b = 0; b < BB; ++b) xv[b] = _mm512_loadu_ps(xp + b * xstride + k * kWordBits + 16 * c);
      for (int r = 0; r < RB; ++r) {
        const __mmask16 m = mask_at(w + r * words, k, c);
        for (int b = 0; b < BB; ++b) acc[r][b] = _mm512_mask_add_ps(acc[r][b], m, acc[r][b], xv[b]);
      }
    }
  }
  for (int r = 0; r < RB; ++r)
    for (int b = 0; b < BB; ++b) sel[r * BB + b] = _mm512_reduce_add_ps(acc[r][b]);
}
#else
// Portable path: a table maps each weight byte to eight 0/1 floats, so the inner
// loop is a plain 8-wide multiply-add that compilers vectorize (NEON, AVX2).
struct ByteBits {
  float v[256][8];
  ByteBits() {
    for (int b = 0; b < 256; ++b)
      for (int j = 0; j < 8; ++j) v[b][j] = static_cast<float>((b >> j) & 1);
  }
};
const ByteBits kByteBits;

inline float select_sum_row(const float* xp, const uint64_t* row, int64_t words) {
  float acc[2][8] = {};  // two sets of lanes: independent add chains
  for (int64_t k = 0; k < words; ++k) {
    const uint64_t word = row[k];
    const float* xk = xp + k * kWordBits;
    for (int q = 0; q < 8; ++q) {
      const float* bits = kByteBits.v[(word >> (8 * q)) & 0xFF];
      for (int j = 0; j < 8; ++j) acc[q & 1][j] += xk[8 * q + j] * bits[j];
    }
  }
  float s = 0.f;
  for (int j = 0; j < 8; ++j) s += acc[0][j] + acc[1][j];
  return s;
}
#endif

// The packed matrix [rows, ceil(n/64)] and its per-row scales, on the CPU.
void check_weights(const torch::Tensor& w, int64_t n, const torch::Tensor& alpha) {
  TORCH_CHECK(n > 0, "n must be positive");
  TORCH_CHECK(w.dim() == 2 && w.scalar_type() == torch::kLong && w.is_contiguous() &&
                  w.size(1) == (n + kWordBits - 1) / kWordBits,
              "w_packed must be contiguous int64 [rows, ceil(n/64)]");
  TORCH_CHECK(alpha.dim() == 1 && alpha.scalar_type() == torch::kFloat &&
                  alpha.is_contiguous() && alpha.size(0) == w.size(0),
              "alpha must be contiguous float32 [rows]");
  TORCH_CHECK(w.device().is_cpu() && alpha.device().is_cpu(), "packed kernels run on the CPU");
}

void check_args(const torch::Tensor& x, const torch::Tensor& w, int64_t n,
                const torch::Tensor& alpha) {
  check_weights(w, n, alpha);
  TORCH_CHECK(x.dim() == 2 && x.scalar_type() == torch::kFloat && x.is_contiguous() &&
                  x.size(1) == n,
              "x must be contiguous float32 [B, n]");
  TORCH_CHECK(x.device().is_cpu(), "packed kernels run on the CPU");
}

void check_bias(const std::optional<torch::Tensor>& bias, int64_t m) {
  if (!bias) return;
  TORCH_CHECK(bias->dim() == 1 && bias->scalar_type() == torch::kFloat &&
                  bias->is_contiguous() && bias->size(0) == m && bias->device().is_cpu(),
              "bias must be contiguous float32 [m] on the CPU");
}

// y[b, i] += bias[i], as its own pass after the products are stored, so the compiler
// cannot fuse it into a multiply-add: the sums round exactly as torch's `y + bias`.
void add_bias(torch::Tensor& y, const std::optional<torch::Tensor>& bias) {
  if (!bias) return;
  const int64_t B = y.size(0), m = y.size(1);
  const float* bd = bias->data_ptr<float>();
  float* yd = y.data_ptr<float>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < m; ++i) yd[b * m + i] += bd[i];
}

}  // namespace

torch::Tensor w1a1(torch::Tensor x, torch::Tensor w_packed, int64_t n, torch::Tensor alpha,
                   std::optional<torch::Tensor> bias) {
  check_args(x, w_packed, n, alpha);
  check_bias(bias, w_packed.size(0));
  const int64_t B = x.size(0), m = w_packed.size(0), words = w_packed.size(1);
  auto y = torch::empty({B, m}, x.options());
  if (B == 0 || m == 0) return y;

  const float* xd = x.data_ptr<float>();
  const auto* wd = reinterpret_cast<const uint64_t*>(w_packed.data_ptr<int64_t>());
  const float* ad = alpha.data_ptr<float>();
  float* yd = y.data_ptr<float>();

  std::vector<uint64_t> xbits(B * words);
  for (int64_t b = 0; b < B; ++b) pack_row(xd + b * n, n, xbits.data() + b * words);

  // x's padding bits are 0, so a weight padding bit of 1 adds exactly one mismatch:
  // masking the last word with tail_bits removes it.
  const int rem = static_cast<int>(n % kWordBits);
  const uint64_t tail_bits = rem ? (uint64_t(1) << rem) - 1 : ~uint64_t(0);
  const uint64_t* xb = xbits.data();
  const int nt = threads_for(B * m * words);

  // One weight row against every activation row, popcount by popcount.
  auto scalar_row = [&](int64_t i) {
    const uint64_t* row = wd + i * words;
    const int64_t pad = popcount64(row[words - 1] & ~tail_bits);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t diff = mismatches(xb + b * words, row, words) - pad;
      yd[b * m + i] = ad[i] * static_cast<float>(n - 2 * diff);
    }
  };

#if defined(__AVX512VPOPCNTDQ__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
  if (words == 1 || words == 2 || words == 4) {
    if (words == 1) w1a1_short_rows<1>(xb, wd, B, m, n, tail_bits, ad, yd, nt);
    if (words == 2) w1a1_short_rows<2>(xb, wd, B, m, n, tail_bits, ad, yd, nt);
    if (words == 4) w1a1_short_rows<4>(xb, wd, B, m, n, tail_bits, ad, yd, nt);
    const int64_t rows_per_vector = 8 / words;
    for (int64_t i = m / rows_per_vector * rows_per_vector; i < m; ++i) scalar_row(i);
    add_bias(y, bias);
    return y;
  }
#endif
  const int64_t blocks = m / 8;

#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t blk = 0; blk <= blocks; ++blk) {
    const int64_t i0 = blk * 8;
#if defined(__AVX512VPOPCNTDQ__) && defined(__AVX512DQ__)
    if (blk < blocks) {
      const __m256 a = _mm256_loadu_ps(ad + i0);
      const __m512i nv = _mm512_set1_epi64(n);
      for (int64_t b = 0; b < B; ++b) {
        const __m512i diff = mismatches_8(xb + b * words, wd + i0 * words, words, tail_bits);
        const __m512i dot = _mm512_sub_epi64(nv, _mm512_add_epi64(diff, diff));
        _mm256_storeu_ps(yd + b * m + i0, _mm256_mul_ps(a, _mm512_cvtepi64_ps(dot)));
      }
      continue;
    }
#endif
    const int64_t end = blk < blocks ? i0 + 8 : m;
    for (int64_t i = i0; i < end; ++i) scalar_row(i);
  }
  add_bias(y, bias);
  return y;
}

torch::Tensor w1a32(torch::Tensor x, torch::Tensor w_packed, int64_t n, torch::Tensor alpha,
                    std::optional<torch::Tensor> bias) {
  check_args(x, w_packed, n, alpha);
  check_bias(bias, w_packed.size(0));
  const int64_t B = x.size(0), m = w_packed.size(0), words = w_packed.size(1);
  auto y = torch::empty({B, m}, x.options());
  if (B == 0 || m == 0) return y;

  const auto* wd = reinterpret_cast<const uint64_t*>(w_packed.data_ptr<int64_t>());
  const float* ad = alpha.data_ptr<float>();
  float* yd = y.data_ptr<float>();

  // Whole-word rows of x, zero padded, so padded weight bits select 0.
  const int64_t npad = words * kWordBits;
  const float* xp = x.data_ptr<float>();
  std::vector<float> xbuf;
  if (npad != n) {
    xbuf.assign(B * npad, 0.f);
    for (int64_t b = 0; b < B; ++b) std::memcpy(&xbuf[b * npad], xp + b * n, n * sizeof(float));
    xp = xbuf.data();
  }
  std::vector<float> total(B);
  for (int64_t b = 0; b < B; ++b) total[b] = vector_sum(xp + b * npad, npad);

  // x . s = sum over set bits - sum over clear bits = 2 * selected - total.
  auto store = [&](int64_t i, int64_t b, float sel) {
    yd[b * m + i] = ad[i] * (2.f * sel - total[b]);
  };

#if defined(__AVX512F__)
  constexpr int RB = 4;
  const int64_t tiles = (m + RB - 1) / RB;
  // About one masked add per 16 weights per batch row.
  const int nt = threads_for(B * m * words * 4);

#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t i0 = t * RB;
    const uint64_t* w0 = wd + i0 * words;
    float sel[RB * 4];
    if (i0 + RB <= m) {
      if (B == 1) {
        select_sum_gemv<RB>(xp, w0, words, sel);
        for (int r = 0; r < RB; ++r) store(i0 + r, 0, sel[r]);
        continue;
      }
      int64_t b = 0;
      for (; b + 4 <= B; b += 4) {
        select_sum_gemm<RB, 4>(xp + b * npad, npad, w0, words, sel);
        for (int r = 0; r < RB; ++r)
          for (int j = 0; j < 4; ++j) store(i0 + r, b + j, sel[r * 4 + j]);
      }
      for (; b < B; ++b) {
        select_sum_gemv<RB>(xp + b * npad, w0, words, sel);
        for (int r = 0; r < RB; ++r) store(i0 + r, b, sel[r]);
      }
    } else {
      for (int64_t i = i0; i < m; ++i)
        for (int64_t b = 0; b < B; ++b) {
          select_sum_gemv<1>(xp + b * npad, wd + i * words, words, sel);
          store(i, b, sel[0]);
        }
    }
  }
#else
  const int nt = threads_for(B * m * words * 16);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t i = 0; i < m; ++i)
    for (int64_t b = 0; b < B; ++b) store(i, b, select_sum_row(xp + b * npad, wd + i * words, words));
#endif
  add_bias(y, bias);
  return y;
}

torch::Tensor embedding(torch::Tensor w_packed, int64_t n, torch::Tensor alpha, torch::Tensor ids) {
  check_weights(w_packed, n, alpha);
  TORCH_CHECK(ids.dim() == 1 && ids.scalar_type() == torch::kLong && ids.is_contiguous(),
              "ids must be contiguous int64 [N]");
  TORCH_CHECK(ids.device().is_cpu(), "packed kernels run on the CPU");
  const int64_t N = ids.size(0), V = w_packed.size(0), words = w_packed.size(1);
  const int64_t* id = ids.data_ptr<int64_t>();
  for (int64_t r = 0; r < N; ++r) TORCH_CHECK(id[r] >= 0 && id[r] < V, "id out of range");
  auto out = torch::empty({N, n}, alpha.options());
  const auto* wd = reinterpret_cast<const uint64_t*>(w_packed.data_ptr<int64_t>());
  const float* ad = alpha.data_ptr<float>();
  float* od = out.data_ptr<float>();
  for (int64_t r = 0; r < N; ++r) {
    const uint64_t* row = wd + id[r] * words;
    const float a = ad[id[r]];
    for (int64_t j = 0; j < n; ++j) od[r * n + j] = (row[j / kWordBits] >> (j % kWordBits)) & 1 ? a : -a;
  }
  return out;
}
