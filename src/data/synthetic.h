// Synthetic interaction data for the default demo and for tests. Deterministic by seed.
//
// Structure, chosen so that every task has something real to learn:
//  - items have Zipf popularity (exponent `zipf`), users a long-tailed (log-normal) activity;
//  - users and items have latent vectors around `clusters` taste centres in `dim` dimensions, and
//    a user picks item i with weight popularity_i * exp(sharpness * <u, v_i> / sqrt(dim)): a model
//    needs enough factors to recover the taste structure, so a bigger model really does better;
//  - with probability `markov`, the next item is one of the previous item's few fixed successors
//    (same cluster): the order of a user's sequence carries information for next-item models;
//  - side features (user segment, age band; item category, popularity band) correlate with the
//    latent clusters, for the CTR task; ratings 1..5 follow the affinity.
#pragma once

#include <cstdint>
#include <string>

#include "data/dataset.h"

namespace recpress {

struct SyntheticConfig {
  std::int32_t users = 2000;
  std::int32_t items = 1000;
  double mean_interactions = 40.0;  // mean per user
  std::int32_t min_interactions = 8;
  double zipf = 0.8;
  double activity_sigma = 0.8;
  std::int32_t clusters = 8;
  std::int32_t dim = 16;
  double sharpness = 3.0;
  double markov = 0.4;
  std::int32_t successors = 4;
  std::uint64_t seed = 42;

  // "synthetic" or "synthetic:users=500,items=300,seed=7,...". Throws Error naming a bad key.
  static SyntheticConfig parse(const std::string& spec);
  std::string to_string() const;
  void validate() const;
};

Dataset generate_synthetic(const SyntheticConfig& config);

}  // namespace recpress
