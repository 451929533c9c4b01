#include "eval/metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "core/errors.h"
#include "core/text_reader.h"

namespace recpress {

std::string MetricSpec::name() const {
  const char* base = "";
  switch (kind) {
    case MetricKind::kHitRatio:
      base = "HR";
      break;
    case MetricKind::kNdcg:
      base = "NDCG";
      break;
    case MetricKind::kMrr:
      base = "MRR";
      break;
    case MetricKind::kMap:
      base = "MAP";
      break;
    case MetricKind::kPrecision:
      base = "Precision";
      break;
    case MetricKind::kRecall:
      base = "Recall";
      break;
  }
  return std::string(base) + "@" + std::to_string(k);
}

std::vector<MetricSpec> parse_metrics(const std::string& text) {
  std::vector<MetricSpec> out;
  std::string normalized;
  for (char c : text)
    normalized += (c == ';' || c == '\t')
                      ? ' '
                      : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::vector<std::string_view> words;
  split_fields(normalized, ' ', words);
  for (auto word : words) {
    if (word.empty()) continue;
    const auto at = word.find('@');
    if (at == std::string_view::npos)
      throw Error("metric '" + std::string(word) + "' needs a cut-off, e.g. ndcg@10");
    const std::string name(word.substr(0, at));
    MetricKind kind;
    if (name == "hr" || name == "hit" || name == "hitratio")
      kind = MetricKind::kHitRatio;
    else if (name == "ndcg")
      kind = MetricKind::kNdcg;
    else if (name == "mrr")
      kind = MetricKind::kMrr;
    else if (name == "map")
      kind = MetricKind::kMap;
    else if (name == "precision" || name == "p")
      kind = MetricKind::kPrecision;
    else if (name == "recall" || name == "r")
      kind = MetricKind::kRecall;
    else
      throw Error("unknown metric '" + name + "' (known: hr, ndcg, mrr, map, precision, recall)");
    std::vector<std::string_view> ks;
    split_fields(word.substr(at + 1), ',', ks);
    for (auto k : ks) {
      long long v = 0;
      if (!parse_int64(k, v) || v < 1 || v > 100000) {
        throw Error("metric '" + std::string(word) + "': cut-off must be a positive integer");
      }
      out.push_back({kind, static_cast<int>(v)});
    }
  }
  if (out.empty()) throw Error("no metrics given");
  return out;
}

std::vector<MetricSpec> default_topn_metrics() {
  return parse_metrics("hr@5,10,20 ndcg@5,10,20 mrr@10 map@10 precision@10 recall@10,20");
}

namespace {
std::int64_t hits_within(std::span<const std::int64_t> ranks, int k) {
  return std::lower_bound(ranks.begin(), ranks.end(), static_cast<std::int64_t>(k)) - ranks.begin();
}
}  // namespace

double hit_ratio_at(std::span<const std::int64_t> ranks, int k) {
  return !ranks.empty() && ranks.front() < k ? 1.0 : 0.0;
}

double precision_at(std::span<const std::int64_t> ranks, int k) {
  return static_cast<double>(hits_within(ranks, k)) / k;
}

double recall_at(std::span<const std::int64_t> ranks, std::int64_t num_relevant, int k) {
  if (num_relevant <= 0) return 0.0;
  return static_cast<double>(hits_within(ranks, k)) / static_cast<double>(num_relevant);
}

double ndcg_at(std::span<const std::int64_t> ranks, std::int64_t num_relevant, int k) {
  if (num_relevant <= 0) return 0.0;
  double dcg = 0;
  for (auto r : ranks) {
    if (r >= k) break;
    dcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
  }
  double idcg = 0;
  const std::int64_t ideal = std::min<std::int64_t>(num_relevant, k);
  for (std::int64_t i = 0; i < ideal; ++i) idcg += 1.0 / std::log2(static_cast<double>(i) + 2.0);
  return dcg / idcg;
}

double mrr_at(std::span<const std::int64_t> ranks, int k) {
  if (ranks.empty() || ranks.front() >= k) return 0.0;
  return 1.0 / (static_cast<double>(ranks.front()) + 1.0);
}

double map_at(std::span<const std::int64_t> ranks, std::int64_t num_relevant, int k) {
  if (num_relevant <= 0) return 0.0;
  double sum = 0;
  std::int64_t hits = 0;
  for (auto r : ranks) {
    if (r >= k) break;
    ++hits;
    sum += static_cast<double>(hits) / (static_cast<double>(r) + 1.0);
  }
  return sum / static_cast<double>(std::min<std::int64_t>(num_relevant, k));
}

double metric_value(const MetricSpec& spec, std::span<const std::int64_t> ranks,
                    std::int64_t num_relevant) {
  switch (spec.kind) {
    case MetricKind::kHitRatio:
      return hit_ratio_at(ranks, spec.k);
    case MetricKind::kNdcg:
      return ndcg_at(ranks, num_relevant, spec.k);
    case MetricKind::kMrr:
      return mrr_at(ranks, spec.k);
    case MetricKind::kMap:
      return map_at(ranks, num_relevant, spec.k);
    case MetricKind::kPrecision:
      return precision_at(ranks, spec.k);
    case MetricKind::kRecall:
      return recall_at(ranks, num_relevant, spec.k);
  }
  return 0.0;
}

std::vector<std::int64_t> pessimistic_ranks(std::span<const float> scores,
                                            std::span<const std::uint8_t> relevant,
                                            std::span<const std::uint8_t> mask) {
  const std::size_t n = scores.size();
  const float neg_inf = -std::numeric_limits<float>::infinity();
  auto score_of = [&](std::size_t i) { return std::isnan(scores[i]) ? neg_inf : scores[i]; };
  auto masked = [&](std::size_t i) { return !mask.empty() && mask[i] != 0; };
  std::vector<std::size_t> rel;
  for (std::size_t i = 0; i < n; ++i) {
    if (relevant[i] && !masked(i)) rel.push_back(i);
  }
  std::vector<std::int64_t> ranks;
  ranks.reserve(rel.size());
  if (rel.size() <= 16) {
    // Direct count: O(n * R), fastest for leave-one-out.
    for (std::size_t a = 0; a < rel.size(); ++a) {
      const float s = score_of(rel[a]);
      std::int64_t rank = 0;
      for (std::size_t j = 0; j < n; ++j) {
        if (masked(j)) continue;
        const float t = score_of(j);
        if (relevant[j]) {
          // Relevant items among themselves: higher score first, equal scores by position.
          if (t > s || (t == s && j < rel[a])) ++rank;
        } else if (t >= s) {
          ++rank;
        }
      }
      ranks.push_back(rank);
    }
  } else {
    // Many relevant items: sort the non-relevant scores once and binary-search: O(n log n).
    std::vector<float> others;
    others.reserve(n);
    for (std::size_t j = 0; j < n; ++j) {
      if (!masked(j) && !relevant[j]) others.push_back(score_of(j));
    }
    std::sort(others.begin(), others.end());
    std::vector<std::pair<float, std::size_t>> rs;
    for (auto i : rel) rs.emplace_back(score_of(i), i);
    std::sort(rs.begin(), rs.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first > y.first : x.second < y.second;
    });
    for (std::size_t a = 0; a < rs.size(); ++a) {
      const auto not_below =
          others.end() - std::lower_bound(others.begin(), others.end(), rs[a].first);
      ranks.push_back(static_cast<std::int64_t>(a) + static_cast<std::int64_t>(not_below));
    }
  }
  std::sort(ranks.begin(), ranks.end());
  return ranks;
}

void MetricAccumulator::add(std::span<const std::int64_t> ranks, std::int64_t num_relevant) {
  for (std::size_t m = 0; m < specs_.size(); ++m)
    sums_[m] += metric_value(specs_[m], ranks, num_relevant);
  ++users_;
}

void MetricAccumulator::merge(const MetricAccumulator& other) {
  for (std::size_t m = 0; m < specs_.size(); ++m) sums_[m] += other.sums_[m];
  users_ += other.users_;
}

std::map<std::string, double> MetricAccumulator::means() const {
  std::map<std::string, double> out;
  for (std::size_t m = 0; m < specs_.size(); ++m) {
    out[specs_[m].name()] = users_ > 0 ? sums_[m] / static_cast<double>(users_) : 0.0;
  }
  return out;
}

}  // namespace recpress
