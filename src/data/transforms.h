// Dataset clean-up applied before splitting. Each step is explicit and reported, never silent.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "data/dataset.h"

namespace recpress {

// What to do when the same (user, item) pair occurs more than once.
//   first: keep the earliest occurrence (by timestamp, then file order)
//   last:  keep the latest occurrence (default: the user's most recent opinion/position counts)
//   keep:  keep every occurrence (sequential data where re-consumption matters)
enum class DedupPolicy { kFirst, kLast, kKeep };
DedupPolicy parse_dedup_policy(const std::string& text);
const char* to_string(DedupPolicy policy);

// Implicit feedback: keep all interactions (threshold empty) or those with rating >= threshold;
// every kept interaction becomes a positive with rating 1. Returns the number removed.
std::size_t to_implicit(Dataset& data, std::optional<double> threshold);

// Apply a duplicate policy. Returns the number of interactions removed.
std::size_t deduplicate(Dataset& data, DedupPolicy policy);

// Iteratively drop users with < user_k and items with < item_k interactions until stable
// (the usual "k-core"). Returns the number of interactions removed.
std::size_t kcore_filter(Dataset& data, int user_k, int item_k);

// Drop users/items that no longer have interactions and renumber (features and titles follow).
void compact(Dataset& data);

}  // namespace recpress
