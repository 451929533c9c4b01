// Training negative samplers: items a user has not interacted with, drawn uniformly or in
// proportion to popularity^alpha (word2vec-style smoothing, Mikolov et al. 2013; alpha = 0.75 is
// common, 1 is plain popularity). Rejection against the user's sorted positives; an O(1) alias
// table (Walker 1977 / Vose 1991) for the popularity distribution.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"
#include "data/interaction_matrix.h"

namespace recpress {

class AliasTable {
 public:
  AliasTable() = default;
  explicit AliasTable(const std::vector<double>& weights);
  std::int32_t sample(Rng& rng) const {
    const std::uint32_t k = rng.below(static_cast<std::uint32_t>(prob_.size()));
    return rng.uniform() < prob_[k] ? static_cast<std::int32_t>(k) : alias_[k];
  }
  std::size_t size() const { return prob_.size(); }

 private:
  std::vector<double> prob_;
  std::vector<std::int32_t> alias_;
};

class NegativeSampler {
 public:
  enum class Kind { kUniform, kPopularity };
  // `positives`: the items to exclude per user (normally the training matrix).
  // `popularity`: per-item counts (for kPopularity; e.g. positives.item_counts()).
  NegativeSampler(const InteractionMatrix& positives, Kind kind, double alpha = 1.0,
                  const std::vector<std::int64_t>& popularity = {});
  // "uniform", "popularity", "popularity:0.75"
  struct Spec {
    Kind kind = Kind::kUniform;
    double alpha = 1.0;
  };
  static Spec parse_spec(const std::string& spec);  // throws Error for anything else
  static NegativeSampler from_spec(const InteractionMatrix& positives, const std::string& spec);

  // One negative for `user`. Throws Error if the user has interacted with every item.
  std::int32_t sample(std::int32_t user, Rng& rng) const;
  // `per_user` negatives for each of users[0..n), written to out[i * per_user + j].
  void sample_many(const std::int32_t* users, std::size_t n, int per_user, std::int32_t* out,
                   Rng& rng) const;

 private:
  std::int32_t draw(Rng& rng) const {
    return kind_ == Kind::kUniform ? static_cast<std::int32_t>(rng.below(num_items_))
                                   : alias_.sample(rng);
  }
  std::int32_t sample_slow(std::int32_t user, Rng& rng) const;

  const InteractionMatrix* positives_;
  Kind kind_;
  std::uint32_t num_items_;
  AliasTable alias_;
};

}  // namespace recpress
