#include "data/interaction_matrix.h"

#include <algorithm>

namespace recpress {

InteractionMatrix::InteractionMatrix(std::span<const Interaction> xs, std::int32_t num_users,
                                     std::int32_t num_items)
    : num_users_(num_users), num_items_(num_items) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(num_users) + 1, 0);
  for (const auto& x : xs) ++counts[static_cast<std::size_t>(x.user) + 1];
  for (std::size_t u = 1; u < counts.size(); ++u) counts[u] += counts[u - 1];
  std::vector<std::int32_t> items(xs.size());
  std::vector<std::int64_t> cursor(counts.begin(), counts.end() - 1);
  for (const auto& x : xs)
    items[static_cast<std::size_t>(cursor[static_cast<std::size_t>(x.user)]++)] = x.item;
  offsets_.assign(1, 0);
  offsets_.reserve(counts.size());
  items_.reserve(items.size());
  for (std::size_t u = 0; u < static_cast<std::size_t>(num_users); ++u) {
    auto first = items.begin() + counts[u];
    auto last = items.begin() + counts[u + 1];
    std::sort(first, last);
    last = std::unique(first, last);
    items_.insert(items_.end(), first, last);
    offsets_.push_back(static_cast<std::int64_t>(items_.size()));
  }
}

bool InteractionMatrix::contains(std::int32_t user, std::int32_t item) const {
  const auto r = row(user);
  return std::binary_search(r.begin(), r.end(), item);
}

std::vector<std::int64_t> InteractionMatrix::item_counts() const {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(num_items_), 0);
  for (const auto i : items_) ++counts[static_cast<std::size_t>(i)];
  return counts;
}

}  // namespace recpress
