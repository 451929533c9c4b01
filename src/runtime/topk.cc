#include "runtime/topk.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace recpress::runtime {

namespace {

typedef float Floats8 __attribute__((vector_size(32)));
typedef std::int32_t Ints8 __attribute__((vector_size(32)));

// (By reference: a function returning a 32-byte vector compiled without AVX changes the ABI.)
inline __attribute__((always_inline)) void load8(const float* x, Floats8& v) {
  std::memcpy(&v, x, sizeof v);
}

// Whether any of x[0..16) is >= threshold (NaN never is): two vector compares and one test, in
// GCC's vector extensions (the plain counting loop compiled to 16 scalar compares and branches).
// Inlined into each clone of top_k.
inline __attribute__((always_inline)) bool any_at_least_16(const float* x, float threshold) {
  const Floats8 t = Floats8{} + threshold;
  Floats8 a, b;
  load8(x, a);
  load8(x + 8, b);
  const Ints8 hit = (a >= t) | (b >= t);
  std::int64_t lanes[4];
  std::memcpy(lanes, &hit, sizeof lanes);
  return (lanes[0] | lanes[1] | lanes[2] | lanes[3]) != 0;
}

// The largest of x[0..count), count a multiple of 8; NaN is skipped (a compare with NaN is
// false, so the running maximum stays), -inf for none.
inline __attribute__((always_inline)) float max_of(const float* x, std::size_t count) {
  Floats8 m = Floats8{} - std::numeric_limits<float>::infinity();
  for (std::size_t j = 0; j < count; j += 8) {
    Floats8 v;
    load8(x + j, v);
    m = v > m ? v : m;
  }
  float out = m[0];
  for (int l = 1; l < 8; ++l) out = m[l] > out ? m[l] : out;
  return out;
}

struct Candidate {
  float score;
  std::int32_t index;
};

// "a before b" in the final order: higher score, then lower index.
inline bool better(const Candidate& a, const Candidate& b) {
  return a.score != b.score ? a.score > b.score : a.index < b.index;
}

}  // namespace

// Two passes. (1) A bar: the catalog is cut into C >= 4k blocks and the k-th largest block
// maximum taken (over eligible scores). k blocks hold an eligible score at or above it, so every
// one of the k best is at or above it too, and few others are. (2) The eligible items at or
// above the bar (a vector compare rejects most 16-item chunks at once) are collected and sorted.
// A binary heap paid a pop and a push per improvement, ~60 of them over 3,706 items, and its
// bar rose only one item at a time. Compiled for AVX2 and the baseline (the passes vectorise).
__attribute__((target_clones("avx2", "default"))) std::vector<std::int32_t> top_k(
    std::span<const float> scores, std::size_t k, std::span<const std::uint8_t> exclude) {
  if (k == 0) return {};
  const std::size_t n = scores.size();
  constexpr float kNone = -std::numeric_limits<float>::infinity();
  // Excluded items must not raise the bar: they are read as -inf (NaN is skipped by max_of).
  const float* x = scores.data();
  thread_local std::vector<float> eligible;
  if (!exclude.empty()) {
    eligible.resize(n);
    for (std::size_t i = 0; i < n; ++i) eligible[i] = exclude[i] ? kNone : x[i];
    x = eligible.data();
  }
  std::size_t block = 16;
  while (block < 4096 && n / (2 * block) >= 4 * k) block *= 2;
  thread_local std::vector<float> maxima;
  maxima.clear();
  std::size_t i = 0;
  for (; i + block <= n; i += block) maxima.push_back(max_of(x + i, block));
  float bar = kNone;
  if (maxima.size() >= k) {
    std::nth_element(maxima.begin(), maxima.begin() + static_cast<std::ptrdiff_t>(k - 1),
                     maxima.end(), std::greater<float>());
    bar = maxima[k - 1];
  }
  thread_local std::vector<Candidate> found;
  found.clear();
  const auto consider = [&](std::size_t j) __attribute__((always_inline)) {
    const float s = scores[j];
    if (!(s >= bar) || (!exclude.empty() && exclude[j])) return;  // NaN fails the compare
    found.push_back({s, static_cast<std::int32_t>(j)});
  };
  constexpr std::size_t kChunk = 16;
  for (i = 0; i + kChunk <= n; i += kChunk) {
    if (!any_at_least_16(x + i, bar)) continue;
    for (std::size_t j = i; j < i + kChunk; ++j) consider(j);
  }
  for (; i < n; ++i) consider(i);
  if (found.size() > k) {
    std::nth_element(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(k - 1), found.end(),
                     better);
    found.resize(k);
  }
  std::sort(found.begin(), found.end(), better);
  std::vector<std::int32_t> out;
  out.reserve(found.size());
  for (const auto& c : found) out.push_back(c.index);
  return out;
}

}  // namespace recpress::runtime
