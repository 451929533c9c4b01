#include "eval/ctr_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/errors.h"

namespace recpress {
namespace {

void check_labels(std::span<const float> labels) {
  for (float y : labels) {
    if (y != 0.0f && y != 1.0f) throw Error("labels must be 0 or 1, got " + std::to_string(y));
  }
}

// AUC without validation; returns -1 if one class is missing.
double auc_unchecked(std::span<const float> labels, std::span<const float> scores,
                     std::span<const std::size_t> index) {
  std::vector<std::size_t> order(index.begin(), index.end());
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0;  // sum of 1-based average ranks of the positives
  std::int64_t pos = 0;
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double avg_rank = (static_cast<double>(i) + 1.0 + static_cast<double>(j)) / 2.0;
    for (std::size_t t = i; t < j; ++t) {
      if (labels[order[t]] == 1.0f) {
        rank_sum += avg_rank;
        ++pos;
      }
    }
    i = j;
  }
  const auto neg = static_cast<std::int64_t>(order.size()) - pos;
  if (pos == 0 || neg == 0) return -1.0;
  const double p = static_cast<double>(pos);
  return (rank_sum - p * (p + 1.0) / 2.0) / (p * static_cast<double>(neg));
}

}  // namespace

double auc(std::span<const float> labels, std::span<const float> scores) {
  if (labels.size() != scores.size()) throw Error("auc: labels and scores differ in size");
  check_labels(labels);
  for (float s : scores) {
    if (std::isnan(s)) throw Error("auc: a score is NaN");
  }
  std::vector<std::size_t> index(labels.size());
  std::iota(index.begin(), index.end(), 0);
  const double a = auc_unchecked(labels, scores, index);
  if (a < 0) throw Error("auc: needs both positive and negative labels");
  return a;
}

double log_loss(std::span<const float> labels, std::span<const float> probabilities, double eps) {
  if (labels.size() != probabilities.size())
    throw Error("log_loss: labels and probabilities differ in size");
  if (labels.empty()) throw Error("log_loss: no samples");
  check_labels(labels);
  double sum = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (std::isnan(probabilities[i])) throw Error("log_loss: a probability is NaN");
    const double p = std::clamp(static_cast<double>(probabilities[i]), eps, 1.0 - eps);
    sum += labels[i] == 1.0f ? -std::log(p) : -std::log(1.0 - p);
  }
  return sum / static_cast<double>(labels.size());
}

double gauc(std::span<const std::int64_t> groups, std::span<const float> labels,
            std::span<const float> scores) {
  if (groups.size() != labels.size() || labels.size() != scores.size())
    throw Error("gauc: inputs differ in size");
  check_labels(labels);
  std::unordered_map<std::int64_t, std::vector<std::size_t>> by_group;
  std::vector<std::int64_t> order_of_groups;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    auto& members = by_group[groups[i]];
    if (members.empty()) order_of_groups.push_back(groups[i]);
    members.push_back(i);
  }
  double weighted = 0, weight = 0;
  for (auto g : order_of_groups) {
    const auto& members = by_group[g];
    const double a = auc_unchecked(labels, scores, members);
    if (a < 0) continue;
    weighted += a * static_cast<double>(members.size());
    weight += static_cast<double>(members.size());
  }
  if (weight == 0) throw Error("gauc: no group has both positive and negative labels");
  return weighted / weight;
}

}  // namespace recpress
