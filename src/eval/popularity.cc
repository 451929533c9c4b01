#include "eval/popularity.h"

#include <algorithm>

namespace recpress {

PopularityScorer::PopularityScorer(std::span<const Interaction> train, std::int32_t num_items)
    : counts_(static_cast<std::size_t>(num_items), 0.0f) {
  for (const auto& x : train) counts_[static_cast<std::size_t>(x.item)] += 1.0f;
}

void PopularityScorer::score(std::int32_t, std::span<const std::int32_t> items,
                             std::span<float> out) const {
  for (std::size_t j = 0; j < items.size(); ++j)
    out[j] = counts_[static_cast<std::size_t>(items[j])];
}

void PopularityScorer::score_all(std::span<const std::int32_t> users, std::span<float> out) const {
  for (std::size_t k = 0; k < users.size(); ++k) {
    std::copy(counts_.begin(), counts_.end(),
              out.begin() + static_cast<std::ptrdiff_t>(k * counts_.size()));
  }
}

}  // namespace recpress
