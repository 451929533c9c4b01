#include "data/transforms.h"

#include <algorithm>
#include <numeric>

#include "core/errors.h"

namespace recpress {

DedupPolicy parse_dedup_policy(const std::string& text) {
  if (text == "first") return DedupPolicy::kFirst;
  if (text == "last") return DedupPolicy::kLast;
  if (text == "keep") return DedupPolicy::kKeep;
  throw Error("unknown duplicate policy '" + text + "' (expected first, last or keep)");
}

const char* to_string(DedupPolicy policy) {
  switch (policy) {
    case DedupPolicy::kFirst:
      return "first";
    case DedupPolicy::kLast:
      return "last";
    case DedupPolicy::kKeep:
      return "keep";
  }
  return "?";
}

std::size_t to_implicit(Dataset& data, std::optional<double> threshold) {
  const std::size_t before = data.interactions.size();
  if (threshold) {
    std::erase_if(data.interactions, [&](const Interaction& x) { return x.rating < *threshold; });
  }
  for (auto& x : data.interactions) x.rating = 1.0f;
  data.has_ratings = false;
  return before - data.interactions.size();
}

std::size_t deduplicate(Dataset& data, DedupPolicy policy) {
  if (policy == DedupPolicy::kKeep) return 0;
  auto& xs = data.interactions;
  std::vector<std::size_t> order(xs.size());
  std::iota(order.begin(), order.end(), 0);
  // Group by (user, item), then by time and file order so "first"/"last" are well defined.
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto& x = xs[a];
    const auto& y = xs[b];
    if (x.user != y.user) return x.user < y.user;
    if (x.item != y.item) return x.item < y.item;
    if (x.timestamp != y.timestamp) return x.timestamp < y.timestamp;
    return a < b;
  });
  std::vector<char> keep(xs.size(), 0);
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j < order.size() && xs[order[j]].user == xs[order[i]].user &&
           xs[order[j]].item == xs[order[i]].item) {
      ++j;
    }
    keep[policy == DedupPolicy::kFirst ? order[i] : order[j - 1]] = 1;
    i = j;
  }
  std::vector<Interaction> kept;
  kept.reserve(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (keep[i]) kept.push_back(xs[i]);
  }
  const std::size_t removed = xs.size() - kept.size();
  xs = std::move(kept);
  return removed;
}

std::size_t kcore_filter(Dataset& data, int user_k, int item_k) {
  const std::size_t before = data.interactions.size();
  if (user_k <= 1 && item_k <= 1) return 0;
  for (;;) {
    std::vector<int> ucount(static_cast<std::size_t>(data.num_users()), 0);
    std::vector<int> icount(static_cast<std::size_t>(data.num_items()), 0);
    for (const auto& x : data.interactions) {
      ++ucount[static_cast<std::size_t>(x.user)];
      ++icount[static_cast<std::size_t>(x.item)];
    }
    const std::size_t n = data.interactions.size();
    std::erase_if(data.interactions, [&](const Interaction& x) {
      return ucount[static_cast<std::size_t>(x.user)] < user_k ||
             icount[static_cast<std::size_t>(x.item)] < item_k;
    });
    if (data.interactions.size() == n) break;
  }
  compact(data);
  return before - data.interactions.size();
}

namespace {

void compact_features(FeatureTable& table, const std::vector<std::int32_t>& remap,
                      std::int32_t new_count) {
  for (auto& field : table.fields) {
    std::vector<std::int64_t> offsets(static_cast<std::size_t>(new_count) + 1, 0);
    std::vector<std::vector<std::int32_t>> per(static_cast<std::size_t>(new_count));
    for (std::size_t old = 0; old + 1 < field.offsets.size() && old < remap.size(); ++old) {
      if (remap[old] < 0) continue;
      per[static_cast<std::size_t>(remap[old])].assign(
          field.values.begin() + field.offsets[old], field.values.begin() + field.offsets[old + 1]);
    }
    field.values.clear();
    for (std::size_t e = 0; e < per.size(); ++e) {
      field.values.insert(field.values.end(), per[e].begin(), per[e].end());
      offsets[e + 1] = static_cast<std::int64_t>(field.values.size());
    }
    field.offsets = std::move(offsets);
  }
}

}  // namespace

void compact(Dataset& data) {
  std::vector<char> used_users(static_cast<std::size_t>(data.num_users()), 0);
  std::vector<char> used_items(static_cast<std::size_t>(data.num_items()), 0);
  for (const auto& x : data.interactions) {
    used_users[static_cast<std::size_t>(x.user)] = 1;
    used_items[static_cast<std::size_t>(x.item)] = 1;
  }
  const auto user_map = data.users.compact(used_users);
  const auto item_map = data.items.compact(used_items);
  for (auto& x : data.interactions) {
    x.user = user_map[static_cast<std::size_t>(x.user)];
    x.item = item_map[static_cast<std::size_t>(x.item)];
  }
  compact_features(data.user_features, user_map, data.num_users());
  compact_features(data.item_features, item_map, data.num_items());
  if (!data.item_titles.empty()) {
    std::vector<std::string> titles(static_cast<std::size_t>(data.num_items()));
    for (std::size_t old = 0; old < item_map.size() && old < data.item_titles.size(); ++old) {
      if (item_map[old] >= 0)
        titles[static_cast<std::size_t>(item_map[old])] = data.item_titles[old];
    }
    data.item_titles = std::move(titles);
  }
}

}  // namespace recpress
