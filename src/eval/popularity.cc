#include "eval/popularity.h"

#include <algorithm>
#include <numeric>

#include "core/errors.h"

namespace recpress {

namespace {

std::vector<std::int64_t> counts_of(std::span<const Interaction> train, std::int32_t num_items) {
  std::vector<std::int64_t> count(static_cast<std::size_t>(num_items), 0);
  for (const auto& x : train) ++count[static_cast<std::size_t>(x.item)];
  return count;
}

}  // namespace

PopularityGroups::PopularityGroups(std::span<const Interaction> train, std::int32_t num_items,
                                   int groups)
    : PopularityGroups(counts_of(train, num_items), groups) {}

PopularityGroups::PopularityGroups(std::span<const std::int64_t> count, int groups) {
  if (groups < 1 || groups > 255)
    throw Error("popularity groups must be between 1 and 255, not " + std::to_string(groups));
  const auto n = count.size();
  std::int64_t mass = 0;
  for (const auto c : count) mass += c;
  std::vector<std::int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
    return count[static_cast<std::size_t>(a)] > count[static_cast<std::size_t>(b)];
  });
  const auto total = static_cast<double>(mass);
  group_.assign(n, 0);
  std::vector<int> raw(n);
  std::int64_t before = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const auto item = static_cast<std::size_t>(order[k]);
    const int g = total > 0 ? static_cast<int>(groups * (static_cast<double>(before) / total)) : 0;
    raw[item] = std::min(g, groups - 1);
    before += count[item];
  }
  // Renumber the groups some item begins in, in order (raw groups never decrease along `order`).
  std::vector<int> renamed(static_cast<std::size_t>(groups), -1);
  for (std::size_t k = 0; k < n; ++k) {
    auto& r = renamed[static_cast<std::size_t>(raw[static_cast<std::size_t>(order[k])])];
    if (r < 0) r = num_groups_++;
  }
  for (std::size_t i = 0; i < n; ++i)
    group_[i] = static_cast<std::uint8_t>(renamed[static_cast<std::size_t>(raw[i])]);
}

std::int64_t PopularityGroups::size_of(int group) const {
  return std::count(group_.begin(), group_.end(), static_cast<std::uint8_t>(group));
}

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
