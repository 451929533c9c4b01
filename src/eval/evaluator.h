// Scores a model on the validation or test hold-out under a protocol and averages the metrics.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/interaction_matrix.h"
#include "data/split.h"
#include "eval/candidates.h"
#include "eval/metrics.h"
#include "eval/popularity.h"
#include "eval/protocol.h"
#include "eval/scorer.h"

namespace recpress {

struct EvalResult {
  std::string scorer;
  std::map<std::string, double> metrics;
  std::int64_t users = 0;
  std::string protocol;
  std::string split;
  std::string target;
  std::uint64_t seed = 0;
  std::string data_checksum;
  // The metrics of the popular head's and the rare tail's held-out items apart ("head NDCG@10",
  // "tail NDCG@10", ...) and how many users each averages over ("head users", "tail users"): the
  // head is the most interacted-with items holding half of the training part's interactions
  // (PopularityGroups with 2 groups). A user counts in a group when one of their held-out items is
  // in it; the other group's held-out items are then left out of that ranking. What a method does
  // to unpopular items, which plain accuracy hides (issue 17; UnKD, WSDM 2023).
  std::map<std::string, double> by_popularity;
  std::int64_t nan_scores = 0;  // a model that emits NaN is ranked as if it scored -inf there
  double seconds = 0;
};

class Evaluator {
 public:
  // For sampled protocols the negatives are drawn here, once; file protocols load them here.
  Evaluator(const Dataset& data, const Split& split, EvalTarget target, const Protocol& protocol,
            std::vector<MetricSpec> metrics, std::uint64_t seed);
  // Use candidates drawn earlier (e.g. loaded with load_candidates) for a sampled protocol.
  Evaluator(const Dataset& data, const Split& split, EvalTarget target, CandidateSet candidates,
            std::vector<MetricSpec> metrics);

  EvalResult evaluate(const Scorer& scorer) const;

  const Protocol& protocol() const { return protocol_; }
  const CandidateSet& candidates() const { return candidates_; }  // empty for `full`
  std::size_t num_users() const;

 private:
  EvalResult evaluate_full(const Scorer& scorer) const;
  EvalResult evaluate_sampled(const Scorer& scorer) const;
  // The held-out items in the head and in the tail; a full ranking's ranks of the `group` ones
  // with the other group's held-out items masked (`mask` is restored before returning).
  std::array<std::int64_t, 2> group_counts(std::span<const std::int32_t> items) const;
  std::vector<std::int64_t> ranks_within(std::span<const float> row,
                                         std::span<const std::uint8_t> relevant,
                                         std::vector<std::uint8_t>& mask,
                                         std::span<const std::int32_t> held, int group) const;

  const Dataset* data_;
  std::string split_name_;
  std::uint64_t seed_;
  EvalTarget target_;
  Protocol protocol_;
  std::vector<MetricSpec> metrics_;
  std::string checksum_;
  HoldOut holdout_;
  PopularityGroups head_tail_;  // 0 head, 1 tail
  InteractionMatrix masked_;    // full: items not to rank per user (train, + validation for test)
  CandidateSet candidates_;
};

}  // namespace recpress
