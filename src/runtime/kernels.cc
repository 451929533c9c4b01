// The scoring kernels (fp32, fp16, int8 against a column-major item matrix) and the IEEE
// binary16 conversions they use.
#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define RECPRESS_X86 1
#endif

#include "runtime/internal.h"

namespace recpress::runtime {

const std::array<float, 65536>& half_table() {
  static const std::array<float, 65536> table = [] {
    std::array<float, 65536> t{};
    for (std::uint32_t h = 0; h < 65536; ++h) t[h] = half_to_float(static_cast<std::uint16_t>(h));
    return t;
  }();
  return table;
}

bool cpu_has_avx2_fma() {
#ifdef RECPRESS_X86
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

// The scoring kernels stream the column-major item matrix one dimension at a time, so the inner
// loop runs across items and vectorises; each is compiled for AVX2 and for the baseline and the
// loader picks one at run time (GCC function multi-versioning).
namespace {

__attribute__((target_clones("avx2", "default"))) void score_f32_plain(const float* u,
                                                                       const float* q,
                                                                       std::size_t d, std::size_t n,
                                                                       float bias, float* out) {
  std::fill(out, out + n, 0.0f);
  for (std::size_t k = 0; k < d; ++k) {
    const float uk = u[k];
    const float* col = q + k * n;
    for (std::size_t i = 0; i < n; ++i) out[i] += uk * col[i];
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = bias + out[i];
}

// int8 x int8 products summed in int32, then scaled: s = b + s_u s_i sum_k q_uk q_ik.
__attribute__((target_clones("avx2", "default"))) void score_i8_plain(
    const std::int8_t* u, const std::int8_t* q, std::size_t d, std::size_t n, float bias,
    float user_scale, const float* item_scales, float* out) {
  thread_local std::vector<std::int32_t> acc;
  acc.assign(n, 0);
  std::int32_t* a = acc.data();
  // Two dimensions at a time in 16-bit lanes: |q| <= 127, so a pair of products fits an int16
  // (2 * 127^2 = 32258), which halves the widening work of the 32-bit accumulation.
  std::size_t k = 0;
  for (; k + 1 < d; k += 2) {
    const std::int16_t u0 = u[k], u1 = u[k + 1];
    const std::int8_t* c0 = q + k * n;
    const std::int8_t* c1 = c0 + n;
    for (std::size_t i = 0; i < n; ++i)
      a[i] += static_cast<std::int16_t>(u0 * static_cast<std::int16_t>(c0[i]) +
                                        u1 * static_cast<std::int16_t>(c1[i]));
  }
  for (; k < d; ++k) {
    const std::int32_t uk = u[k];
    const std::int8_t* col = q + k * n;
    for (std::size_t i = 0; i < n; ++i) a[i] += uk * static_cast<std::int32_t>(col[i]);
  }
  for (std::size_t i = 0; i < n; ++i)
    out[i] = bias + user_scale * item_scales[i] * static_cast<float>(a[i]);
}

#ifdef RECPRESS_X86
// 32 items at a time with their sums in registers across every dimension (one load, one multiply
// and one add per item and dimension, one store per item): the same sums in the same order as the
// plain kernels and, unfused, the same roundings (an fp32 file scores exactly as its floats do:
// compiled without FMA, which GCC would contract the multiply and add into); AVX2 only (the
// plain kernels serve other CPUs and the last items).
__attribute__((target("avx2"))) std::size_t score_f32_blocked(const float* u, const float* q,
                                                              std::size_t d, std::size_t n,
                                                              float bias, float* out) {
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (std::size_t k = 0; k < d; ++k) {
      const float* c = q + k * n + i;
      const __m256 uk = _mm256_set1_ps(u[k]);
      a0 = _mm256_add_ps(a0, _mm256_mul_ps(uk, _mm256_loadu_ps(c)));
      a1 = _mm256_add_ps(a1, _mm256_mul_ps(uk, _mm256_loadu_ps(c + 8)));
      a2 = _mm256_add_ps(a2, _mm256_mul_ps(uk, _mm256_loadu_ps(c + 16)));
      a3 = _mm256_add_ps(a3, _mm256_mul_ps(uk, _mm256_loadu_ps(c + 24)));
    }
    const __m256 b = _mm256_set1_ps(bias);
    _mm256_storeu_ps(out + i, _mm256_add_ps(b, a0));
    _mm256_storeu_ps(out + i + 8, _mm256_add_ps(b, a1));
    _mm256_storeu_ps(out + i + 16, _mm256_add_ps(b, a2));
    _mm256_storeu_ps(out + i + 24, _mm256_add_ps(b, a3));
  }
  return i;
}

// 8 int8 values widened to floats.
__attribute__((target("avx2,fma"), always_inline)) inline __m256 widen(const std::int8_t* p) {
  return _mm256_cvtepi32_ps(
      _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

// int8: the integer products summed in fp32 registers, exact while d * 127^2 < 2^24 (every
// partial sum is an integer below 2^24), so the same numbers as the int32 path.
__attribute__((target("avx2,fma"))) std::size_t score_i8_blocked(
    const std::int8_t* u, const std::int8_t* q, std::size_t d, std::size_t n, float bias,
    float user_scale, const float* item_scales, float* out) {
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (std::size_t k = 0; k < d; ++k) {
      const std::int8_t* c = q + k * n + i;
      const __m256 uk = _mm256_set1_ps(static_cast<float>(u[k]));
      a0 = _mm256_fmadd_ps(uk, widen(c), a0);
      a1 = _mm256_fmadd_ps(uk, widen(c + 8), a1);
      a2 = _mm256_fmadd_ps(uk, widen(c + 16), a2);
      a3 = _mm256_fmadd_ps(uk, widen(c + 24), a3);
    }
    const __m256 b = _mm256_set1_ps(bias), su = _mm256_set1_ps(user_scale);
    const __m256* acc[4] = {&a0, &a1, &a2, &a3};
    for (int v = 0; v < 4; ++v) {
      const __m256 s = _mm256_mul_ps(su, _mm256_loadu_ps(item_scales + i + 8 * v));
      _mm256_storeu_ps(out + i + 8 * v, _mm256_add_ps(b, _mm256_mul_ps(s, *acc[v])));
    }
  }
  return i;
}
#endif

}  // namespace

void score_f32(const float* u, const float* q, std::size_t d, std::size_t n, float bias,
               float* out) {
  std::size_t done = 0;
#ifdef RECPRESS_X86
  if (cpu_has_avx2_fma()) done = score_f32_blocked(u, q, d, n, bias, out);
#endif
  if (done == 0) return score_f32_plain(u, q, d, n, bias, out);
  if (done == n) return;
  // The last items (fewer than 32) through the plain kernel, on the same matrix.
  for (std::size_t i = done; i < n; ++i) {
    float sum = 0;
    for (std::size_t k = 0; k < d; ++k) sum += u[k] * q[k * n + i];
    out[i] = bias + sum;
  }
}

void score_i8(const std::int8_t* u, const std::int8_t* q, std::size_t d, std::size_t n, float bias,
              float user_scale, const float* item_scales, float* out) {
  std::size_t done = 0;
#ifdef RECPRESS_X86
  if (cpu_has_avx2_fma() && d * 127 * 127 < (std::size_t{1} << 24))
    done = score_i8_blocked(u, q, d, n, bias, user_scale, item_scales, out);
#endif
  if (done == 0) return score_i8_plain(u, q, d, n, bias, user_scale, item_scales, out);
  for (std::size_t i = done; i < n; ++i) {
    std::int32_t sum = 0;
    for (std::size_t k = 0; k < d; ++k)
      sum += static_cast<std::int32_t>(u[k]) * static_cast<std::int32_t>(q[k * n + i]);
    out[i] = bias + user_scale * item_scales[i] * static_cast<float>(sum);
  }
}

namespace {

constexpr std::size_t kPackBlock = 16;  // items per block of the packed int8 matrix

// out[i] = bias + (s_u s_i) * sum_i for one block's integer sums, in score_i8's order of
// operations (this file is compiled with -ffp-contract=off, so no FMA changes the rounding).
inline void scale_block(const std::int32_t* sums, std::size_t count, float bias, float user_scale,
                        const float* item_scales, float* out) {
  for (std::size_t j = 0; j < count; ++j)
    out[j] = bias + user_scale * item_scales[j] * static_cast<float>(sums[j]);
}

#ifdef RECPRESS_X86
// Two blocks at a time so that two independent multiply-add chains are in flight.
__attribute__((target("avx2"))) void score_pairs_avx2(const std::int16_t* packed, std::size_t pairs,
                                                      std::size_t n, const std::int32_t* user_pairs,
                                                      float bias, float user_scale,
                                                      const float* item_scales, float* out) {
  alignas(32) std::int32_t sums[kPackBlock];
  const __m256 b = _mm256_set1_ps(bias), su = _mm256_set1_ps(user_scale);
  for (std::size_t i = 0; i < n; i += kPackBlock) {
    const std::int16_t* blk = packed + (i / kPackBlock) * pairs * 2 * kPackBlock;
    __m256i lo = _mm256_setzero_si256(), hi = lo;
    for (std::size_t p = 0; p < pairs; ++p) {
      const __m256i u = _mm256_set1_epi32(user_pairs[p]);
      const auto* v = reinterpret_cast<const __m256i*>(blk + p * 2 * kPackBlock);
      lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_loadu_si256(v), u));
      hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_loadu_si256(v + 1), u));
    }
    if (i + kPackBlock <= n) {
      for (int h = 0; h < 2; ++h) {
        const __m256 s = _mm256_mul_ps(su, _mm256_loadu_ps(item_scales + i + 8 * h));
        const __m256 x = _mm256_cvtepi32_ps(h == 0 ? lo : hi);
        _mm256_storeu_ps(out + i + 8 * h, _mm256_add_ps(b, _mm256_mul_ps(s, x)));
      }
    } else {
      _mm256_store_si256(reinterpret_cast<__m256i*>(sums), lo);
      _mm256_store_si256(reinterpret_cast<__m256i*>(sums + 8), hi);
      scale_block(sums, n - i, bias, user_scale, item_scales + i, out + i);
    }
  }
}

#endif

}  // namespace

std::shared_ptr<const PackedI8Items> PackedI8Items::pack(const std::int8_t* q, std::size_t d,
                                                         std::size_t n) {
#ifdef RECPRESS_X86
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (!avx2 || d == 0 || n == 0) return nullptr;
  auto p = std::make_shared<PackedI8Items>();
  p->d_ = d;
  p->n_ = n;
  p->pairs_ = (d + 1) / 2;
  const std::size_t blocks = (n + kPackBlock - 1) / kPackBlock;
  p->values_.assign(blocks * p->pairs_ * 2 * kPackBlock, 0);  // padding: zero products
  for (std::size_t k = 0; k < d; ++k) {
    const std::int8_t* column = q + k * n;  // column-major: dimension k of every item
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t at =
          ((i / kPackBlock) * p->pairs_ + k / 2) * 2 * kPackBlock + (i % kPackBlock) * 2 + k % 2;
      p->values_[at] = column[i];
    }
  }
  return p;
#else
  (void)q;
  (void)d;
  (void)n;
  return nullptr;
#endif
}

void PackedI8Items::score(const std::int8_t* u, float bias, float user_scale,
                          const float* item_scales, float* out) const {
  // The user's dimension pairs as (low, high) int16 halves of one 32-bit lane, broadcast per pair.
  thread_local std::vector<std::uint32_t> user_pairs;
  user_pairs.assign(pairs_, 0);
  for (std::size_t k = 0; k < d_; ++k) {
    const std::uint32_t bits = static_cast<std::uint16_t>(static_cast<std::int16_t>(u[k]));
    user_pairs[k / 2] |= k % 2 == 0 ? bits : bits << 16;
  }
  const auto* pairs = reinterpret_cast<const std::int32_t*>(user_pairs.data());
#ifdef RECPRESS_X86
  score_pairs_avx2(values_.data(), pairs_, n_, pairs, bias, user_scale, item_scales, out);
#else
  (void)pairs;  // pack() never builds one here
  (void)bias;
  (void)user_scale;
  (void)item_scales;
  (void)out;
#endif
}

namespace {

#ifdef RECPRESS_X86
// fp16 with the CPU's conversion instructions (F16C: 8 halves -> 8 floats per instruction).
__attribute__((target("avx2,f16c,fma"))) void score_f16_f16c(const std::uint16_t* u,
                                                             const std::uint16_t* q, std::size_t d,
                                                             std::size_t n, float bias,
                                                             float* out) {
  std::fill(out, out + n, 0.0f);
  for (std::size_t k = 0; k < d; ++k) {
    const float uk = _cvtsh_ss(u[k]);
    const __m256 vu = _mm256_set1_ps(uk);
    const std::uint16_t* col = q + k * n;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const __m256 x = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(col + i)));
      _mm256_storeu_ps(out + i, _mm256_fmadd_ps(vu, x, _mm256_loadu_ps(out + i)));
    }
    for (; i < n; ++i) out[i] += uk * _cvtsh_ss(col[i]);
  }
  for (std::size_t i = 0; i < n; ++i) out[i] += bias;
}

#endif

// fp16 anywhere else: a 64K-entry table of the conversions.
void score_f16_table(const std::uint16_t* u, const std::uint16_t* q, std::size_t d, std::size_t n,
                     float bias, float* out) {
  const auto& table = half_table();
  std::fill(out, out + n, 0.0f);
  for (std::size_t k = 0; k < d; ++k) {
    const float uk = table[u[k]];
    const std::uint16_t* col = q + k * n;
    for (std::size_t i = 0; i < n; ++i) out[i] += uk * table[col[i]];
  }
  for (std::size_t i = 0; i < n; ++i) out[i] += bias;
}

}  // namespace

void score_f16(const std::uint16_t* u, const std::uint16_t* q, std::size_t d, std::size_t n,
               float bias, float* out) {
#ifdef RECPRESS_X86
  // F16C from CPUID leaf 1 (clang 14's __builtin_cpu_supports does not know "f16c").
  static const bool f16c = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & bit_F16C) != 0;
  }();
  if (f16c) return score_f16_f16c(u, q, d, n, bias, out);
#endif
  score_f16_table(u, q, d, n, bias, out);
}

std::uint16_t float_to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u)  // inf or NaN
    return static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (abs < 0x38800000u) {  // subnormal half (or zero): value / 2^-24, rounded to nearest even
    float a;
    std::memcpy(&a, &abs, 4);
    const float scaled = a * 16777216.0f;  // 2^24
    return static_cast<std::uint16_t>(sign | static_cast<std::uint32_t>(std::nearbyint(scaled)));
  }
  // Normal: rebias the exponent, round the mantissa to 10 bits (nearest, ties to even).
  std::uint32_t m = abs + 0xc8000000u;  // exponent - 112 in the float's field
  m += 0x0fffu + ((m >> 13) & 1u);
  return static_cast<std::uint16_t>(sign | (m >> 13));
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  float out;
  if (exp == 0) {
    out = std::ldexp(static_cast<float>(mant), -24);
    if (sign) out = -out;
    return out;
  }
  std::uint32_t bits;
  if (exp == 31)
    bits = sign | 0x7f800000u | (mant << 13);
  else
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  std::memcpy(&out, &bits, 4);
  return out;
}

namespace {

// KB output units x 16 block positions of dense_relu, held in registers across the whole sum
// over c (8 AVX2 registers for KB = 4): one load of x per two FMAs, no stores in the inner loop.
// GCC's vector extensions (8 floats; two SSE registers in the baseline clone) make the tiling
// explicit: its auto-vectoriser, given the same loops over plain arrays, vectorised across the
// units with gathers and spilled the accumulators (3x slower than no tiling at all).
typedef float Floats8 __attribute__((vector_size(32)));

__attribute__((always_inline)) inline void load8(const float* p, Floats8& v) {
  std::memcpy(&v, p, sizeof v);  // unaligned load
}

template <std::size_t KB>
__attribute__((always_inline)) inline void dense_relu_tile(const float* w, const float* b,
                                                           std::size_t in, std::size_t k0,
                                                           const float* x, std::size_t j0,
                                                           std::size_t m, float* y) {
  Floats8 acc[KB][2];
  for (std::size_t kk = 0; kk < KB; ++kk) {
    acc[kk][0] = Floats8{} + b[k0 + kk];
    acc[kk][1] = acc[kk][0];
  }
  for (std::size_t c = 0; c < in; ++c) {
    const float* xc = x + c * kTowerBlock + j0;
    Floats8 x0, x1;
    load8(xc, x0);
    load8(xc + 8, x1);
    for (std::size_t kk = 0; kk < KB; ++kk) {
      const float wkc = w[(k0 + kk) * in + c];
      acc[kk][0] += wkc * x0;
      acc[kk][1] += wkc * x1;
    }
  }
  const std::size_t n = std::min<std::size_t>(16, m - j0);
  const Floats8 zero{};
  for (std::size_t kk = 0; kk < KB; ++kk) {
    const Floats8 r0 = acc[kk][0] > zero ? acc[kk][0] : zero;  // ReLU
    const Floats8 r1 = acc[kk][1] > zero ? acc[kk][1] : zero;
    float* yk = y + (k0 + kk) * kTowerBlock + j0;
    if (n == 16) {  // a whole tile: two vector stores
      std::memcpy(yk, &r0, sizeof r0);
      std::memcpy(yk + 8, &r1, sizeof r1);
    } else {
      float sums[16];
      std::memcpy(sums, &r0, sizeof r0);
      std::memcpy(sums + 8, &r1, sizeof r1);
      std::copy(sums, sums + n, yk);
    }
  }
}

}  // namespace

namespace {

__attribute__((always_inline)) inline void dense_relu_body(const float* w, const float* b,
                                                           std::size_t in, std::size_t out,
                                                           const float* x, std::size_t m,
                                                           float* y) {
  for (std::size_t j0 = 0; j0 < m; j0 += 16) {
    std::size_t k0 = 0;
    for (; k0 + 4 <= out; k0 += 4) dense_relu_tile<4>(w, b, in, k0, x, j0, m, y);
    for (; k0 < out; ++k0) dense_relu_tile<1>(w, b, in, k0, x, j0, m, y);
  }
}

__attribute__((always_inline)) inline void affine_row_body(const float* wt, const float* b,
                                                           std::size_t in, std::size_t out,
                                                           const float* x, float* y) {
  std::copy(b, b + out, y);
  for (std::size_t c = 0; c < in; ++c) {
    const float xc = x[c];
    const float* row = wt + c * out;
    for (std::size_t k = 0; k < out; ++k) y[k] += xc * row[k];
  }
}

__attribute__((always_inline)) inline void dense_relu_row_body(const float* wt, const float* b,
                                                               std::size_t in, std::size_t out,
                                                               const float* x, float* y) {
  affine_row_body(wt, b, in, out, x, y);
  for (std::size_t k = 0; k < out; ++k) y[k] = std::max(0.0f, y[k]);
}

// Compiled with AVX2 + FMA (the multiply-adds fused) and for the baseline; dense_relu and
// dense_relu_row pick the same one, so a row scores the same alone or in a block.
// (target_clones("avx2") enables no FMA: its clone multiplied and added separately.)
__attribute__((target("avx2,fma"))) void dense_relu_fma(const float* w, const float* b,
                                                        std::size_t in, std::size_t out,
                                                        const float* x, std::size_t m, float* y) {
  dense_relu_body(w, b, in, out, x, m, y);
}
void dense_relu_base(const float* w, const float* b, std::size_t in, std::size_t out,
                     const float* x, std::size_t m, float* y) {
  dense_relu_body(w, b, in, out, x, m, y);
}
__attribute__((target("avx2,fma"))) void dense_relu_row_fma(const float* wt, const float* b,
                                                            std::size_t in, std::size_t out,
                                                            const float* x, float* y) {
  dense_relu_row_body(wt, b, in, out, x, y);
}
void dense_relu_row_base(const float* wt, const float* b, std::size_t in, std::size_t out,
                         const float* x, float* y) {
  dense_relu_row_body(wt, b, in, out, x, y);
}

__attribute__((target("avx2,fma"))) void affine_rows_fma(const float* wt, const float* b,
                                                         std::size_t in, std::size_t out,
                                                         const float* x, std::size_t rows,
                                                         float* y) {
  for (std::size_t r = 0; r < rows; ++r) affine_row_body(wt, b, in, out, x + r * in, y + r * out);
}
void affine_rows_base(const float* wt, const float* b, std::size_t in, std::size_t out,
                      const float* x, std::size_t rows, float* y) {
  for (std::size_t r = 0; r < rows; ++r) affine_row_body(wt, b, in, out, x + r * in, y + r * out);
}

}  // namespace

// y[k][j] = relu(b[k] + sum_c w[k][c] x[c][j]) over a block of items or rows (inner loop across
// the block): an NCF tower's and a CTR deep part's hidden layers. Tiles of 4 units x 16 block
// positions; the block's columns past m are read (the buffers hold kTowerBlock columns) but never
// written. Each unit's sum runs over c in order, as dense_relu_row's does.
void dense_relu(const float* w, const float* b, std::size_t in, std::size_t out, const float* x,
                std::size_t m, float* y) {
  if (cpu_has_avx2_fma()) return dense_relu_fma(w, b, in, out, x, m, y);
  dense_relu_base(w, b, in, out, x, m, y);
}

// One input vector: y[k] = relu(b[k] + sum_c x[c] wt[c][k]) with the weights transposed (in x
// out), vectorised across the units; the same sums in the same order as dense_relu.
void dense_relu_row(const float* wt, const float* b, std::size_t in, std::size_t out,
                    const float* x, float* y) {
  if (cpu_has_avx2_fma()) return dense_relu_row_fma(wt, b, in, out, x, y);
  dense_relu_row_base(wt, b, in, out, x, y);
}

// Rows of x (rows x in, row-major) through an affine map with transposed weights wt (in x out):
// y[r][k] = b[k] + sum_c x[r][c] wt[c][k], vectorised across the outputs.
void affine_rows(const float* wt, const float* b, std::size_t in, std::size_t out, const float* x,
                 std::size_t rows, float* y) {
  if (cpu_has_avx2_fma()) return affine_rows_fma(wt, b, in, out, x, rows, y);
  affine_rows_base(wt, b, in, out, x, rows, y);
}

}  // namespace recpress::runtime
