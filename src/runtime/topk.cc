#include "runtime/topk.h"

#include <algorithm>
#include <cmath>
#include <queue>

namespace recpress::runtime {

std::vector<std::int32_t> top_k(std::span<const float> scores, std::size_t k,
                                std::span<const std::uint8_t> exclude) {
  // "a before b" in the final order: higher score, then lower index.
  auto better = [&](std::int32_t a, std::int32_t b) {
    const float sa = scores[static_cast<std::size_t>(a)], sb = scores[static_cast<std::size_t>(b)];
    return sa != sb ? sa > sb : a < b;
  };
  // A min-heap of size k (worst on top) keeps this O(n log k) with no full sort.
  std::priority_queue<std::int32_t, std::vector<std::int32_t>, decltype(better)> heap(better);
  if (k == 0) return {};
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if ((!exclude.empty() && exclude[i]) || std::isnan(scores[i])) continue;
    const auto idx = static_cast<std::int32_t>(i);
    if (heap.size() < k) {
      heap.push(idx);
    } else if (better(idx, heap.top())) {
      heap.pop();
      heap.push(idx);
    }
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
