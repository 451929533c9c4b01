#include "runtime/topk.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <queue>

namespace recpress::runtime {

namespace {

typedef float Floats8 __attribute__((vector_size(32)));
typedef std::int32_t Ints8 __attribute__((vector_size(32)));

// Whether any of x[0..16) is >= threshold (NaN never is): two vector compares and one test, in
// GCC's vector extensions (the plain counting loop compiled to 16 scalar compares and branches:
// half of a top-10 over 3,706 items). Inlined into each clone of top_k.
inline __attribute__((always_inline)) bool any_at_least_16(const float* x, float threshold) {
  Floats8 a, b;
  std::memcpy(&a, x, sizeof a);
  std::memcpy(&b, x + 8, sizeof b);
  const Floats8 t = Floats8{} + threshold;
  const Ints8 hit = (a >= t) | (b >= t);
  std::int64_t lanes[4];
  std::memcpy(lanes, &hit, sizeof lanes);
  return (lanes[0] | lanes[1] | lanes[2] | lanes[3]) != 0;
}

}  // namespace

// Compiled for AVX2 and the baseline (the chunk pre-filter vectorises), chosen at load.
__attribute__((target_clones("avx2", "default"))) std::vector<std::int32_t> top_k(
    std::span<const float> scores, std::size_t k, std::span<const std::uint8_t> exclude) {
  // "a before b" in the final order: higher score, then lower index.
  auto better = [&](std::int32_t a, std::int32_t b) {
    const float sa = scores[static_cast<std::size_t>(a)], sb = scores[static_cast<std::size_t>(b)];
    return sa != sb ? sa > sb : a < b;
  };
  // A min-heap of size k (worst on top) keeps this O(n log k) with no full sort.
  std::priority_queue<std::int32_t, std::vector<std::int32_t>, decltype(better)> heap(better);
  if (k == 0) return {};
  // Once the heap is full, most items lose to its worst score: one comparison rejects them
  // (NaN fails it too).
  float worst = -std::numeric_limits<float>::infinity();
  const auto consider = [&](std::size_t i) __attribute__((always_inline)) {
    const float s = scores[i];
    if (heap.size() == k && !(s >= worst)) return;
    if ((!exclude.empty() && exclude[i]) || std::isnan(s)) return;
    const auto idx = static_cast<std::int32_t>(i);
    if (heap.size() < k) {
      heap.push(idx);
    } else if (better(idx, heap.top())) {
      heap.pop();
      heap.push(idx);
    }
    if (heap.size() == k) worst = scores[static_cast<std::size_t>(heap.top())];
  };
  constexpr std::size_t kChunk = 16;
  const std::size_t n = scores.size();
  std::size_t i = 0;
  for (; i < n && (heap.size() < k || i % kChunk != 0); ++i) consider(i);
  // A full heap: skip whole chunks in which no score reaches the worst kept one (two vector
  // compares; most chunks of a large catalog).
  for (; i + kChunk <= n; i += kChunk) {
    if (!any_at_least_16(scores.data() + i, worst)) continue;
    for (std::size_t j = i; j < i + kChunk; ++j)
      if (scores[j] >= worst) consider(j);  // NaN and lower scores fail here already
  }
  for (; i < n; ++i) consider(i);
  std::vector<std::int32_t> out;
  out.reserve(heap.size());
  while (!heap.empty()) {
    out.push_back(heap.top());
    heap.pop();
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace recpress::runtime
