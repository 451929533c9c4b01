// Scores a model on the validation or test hold-out under a protocol and averages the metrics.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/interaction_matrix.h"
#include "data/split.h"
#include "eval/candidates.h"
#include "eval/metrics.h"
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

  const Dataset* data_;
  std::string split_name_;
  std::uint64_t seed_;
  EvalTarget target_;
  Protocol protocol_;
  std::vector<MetricSpec> metrics_;
  std::string checksum_;
  HoldOut holdout_;
  InteractionMatrix masked_;  // full: items not to rank per user (train, + validation for test)
  CandidateSet candidates_;
};

}  // namespace recpress
