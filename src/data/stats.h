// Dataset statistics for `recpress data stats`.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "data/dataset.h"

namespace recpress {

struct Distribution {
  double min = 0, p25 = 0, median = 0, mean = 0, p75 = 0, p90 = 0, max = 0;
};

struct DatasetStats {
  std::string name;
  std::int64_t interactions = 0;
  std::int64_t users = 0;
  std::int64_t items = 0;
  std::int64_t duplicate_pairs = 0;  // repeated (user, item) occurrences beyond the first
  double density = 0;                // distinct pairs / (users * items)
  Distribution per_user, per_item;
  std::map<float, std::int64_t> ratings;  // only when the data has ratings
  std::int64_t first_time = 0, last_time = 0;
  std::string checksum;
};

DatasetStats compute_stats(const Dataset& data);
// Human-readable report; the first line is "NAME: N interactions / U users / I items".
std::string format_stats(const DatasetStats& stats, const Dataset& data);

}  // namespace recpress
