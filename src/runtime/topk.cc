#include "runtime/topk.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>

namespace recpress::runtime {

namespace {

// How many of x[0..n) are >= threshold (NaN never is); inlined into each clone of top_k.
inline __attribute__((always_inline)) std::size_t count_at_least(const float* x, std::size_t n,
                                                                 float threshold) {
  std::size_t c = 0;
  for (std::size_t j = 0; j < n; ++j) c += x[j] >= threshold ? 1 : 0;
  return c;
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
  constexpr std::size_t kChunk = 16;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    // A full heap: skip whole chunks in which no score reaches the worst kept one (a vectorised
    // count; most chunks of a large catalog).
    if (heap.size() == k && i % kChunk == 0 && i + kChunk <= scores.size() &&
        count_at_least(scores.data() + i, kChunk, worst) == 0) {
      i += kChunk - 1;
      continue;
    }
    const float s = scores[i];
    if (heap.size() == k && !(s >= worst)) continue;
    if ((!exclude.empty() && exclude[i]) || std::isnan(s)) continue;
    const auto idx = static_cast<std::int32_t>(i);
    if (heap.size() < k) {
      heap.push(idx);
    } else if (better(idx, heap.top())) {
      heap.pop();
      heap.push(idx);
    }
    if (heap.size() == k) worst = scores[static_cast<std::size_t>(heap.top())];
  }
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
