// Train / validation / test splits. All are seeded and deterministic.
//   loo          leave-one-out by time: each user's latest interaction is the test item, the one
//                before it the validation item (ties in time broken by original file order)
//   loo_random   leave-one-out with the held-out interaction(s) drawn at random per user
//   temporal     global time ratio: the earliest train_ratio of all interactions train, next
//                valid_ratio validation, the rest test
//   random       global random ratio with the same fractions
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace recpress {

struct SplitConfig {
  std::string method = "loo";  // loo | loo_random | temporal | random
  bool validation = true;      // hold out a validation part as well
  double train_ratio = 0.8;    // ratio methods only
  double valid_ratio = 0.1;    // ratio methods only (ignored without validation)
  std::uint64_t seed = 42;

  // "loo", "loo_random", "temporal:0.8,0.1", "random:0.7,0.1", with "+novalid" suffix to drop the
  // validation hold-out. Throws Error on a bad spec.
  static SplitConfig parse(const std::string& spec, std::uint64_t seed);
  std::string to_string() const;
};

struct Split {
  SplitConfig config;
  std::vector<Interaction> train, valid, test;
};

// Throws DataError naming the first user with too few interactions for leave-one-out.
Split make_split(const Dataset& data, const SplitConfig& config);

}  // namespace recpress
