// Top-N ranking metrics, computed from the 0-based positions ("ranks") that a user's relevant
// items take in the ranked list. Binary relevance. For a user with R relevant items and a cut-off
// K:
//   HR@K        1 if any relevant item is in the top K
//   Precision@K hits / K
//   Recall@K    hits / R
//   NDCG@K      DCG / IDCG, DCG = sum over hits of 1 / log2(rank + 2),
//               IDCG = sum_{i < min(R, K)} 1 / log2(i + 2)  (the ideal list puts all R first; with
//               fewer relevant items than K the ideal stops at R, not at K)
//   MRR@K       1 / (rank + 1) of the first hit, 0 if none in the top K
//   MAP@K       (1 / min(R, K)) * sum over hits at rank r < K of Precision@(r + 1)
// With one relevant item (leave-one-out), NDCG@K = 1 / log2(rank + 2) and MAP@K = MRR@K.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace recpress {

enum class MetricKind { kHitRatio, kNdcg, kMrr, kMap, kPrecision, kRecall };

struct MetricSpec {
  MetricKind kind;
  int k;
  std::string name() const;  // "HR@10", "NDCG@5", ...
};

// "hr@5,10 ndcg@10 mrr@10" or "HR@10,NDCG@10": names hr|hit, ndcg, mrr, map, precision|p,
// recall|r; each followed by @K or @K1,K2... Throws Error on an unknown name or bad K.
std::vector<MetricSpec> parse_metrics(const std::string& text);
std::vector<MetricSpec> default_topn_metrics();  // HR, NDCG, MRR, MAP, Precision, Recall @5,10,20

// `ranks` sorted ascending, 0-based; `num_relevant` >= ranks.size() counts relevant items that
// may lie outside the ranked candidates.
double hit_ratio_at(std::span<const std::int64_t> ranks, int k);
double precision_at(std::span<const std::int64_t> ranks, int k);
double recall_at(std::span<const std::int64_t> ranks, std::int64_t num_relevant, int k);
double ndcg_at(std::span<const std::int64_t> ranks, std::int64_t num_relevant, int k);
double mrr_at(std::span<const std::int64_t> ranks, int k);
double map_at(std::span<const std::int64_t> ranks, std::int64_t num_relevant, int k);
double metric_value(const MetricSpec& spec, std::span<const std::int64_t> ranks,
                    std::int64_t num_relevant);

// Ranks of the relevant candidates under pessimistic tie-breaking: a relevant item is placed below
// every non-relevant item with an equal score (so a constant model cannot look good). NaN scores
// count as -infinity. Masked candidates (mask[i] != 0) are not ranked at all.
// Returns the ranks sorted ascending.
std::vector<std::int64_t> pessimistic_ranks(std::span<const float> scores,
                                            std::span<const std::uint8_t> relevant,
                                            std::span<const std::uint8_t> mask = {});

// Averages metrics over users.
class MetricAccumulator {
 public:
  explicit MetricAccumulator(std::vector<MetricSpec> specs)
      : specs_(std::move(specs)), sums_(specs_.size(), 0.0) {}
  void add(std::span<const std::int64_t> ranks, std::int64_t num_relevant);
  void merge(const MetricAccumulator& other);
  std::int64_t users() const { return users_; }
  std::map<std::string, double> means() const;
  const std::vector<MetricSpec>& specs() const { return specs_; }

 private:
  std::vector<MetricSpec> specs_;
  std::vector<double> sums_;
  std::int64_t users_ = 0;
};

}  // namespace recpress
