#include "eval/evaluator.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>

#include "core/errors.h"

namespace recpress {

void Scorer::score_all(std::span<const std::int32_t> users, std::span<float> out) const {
  const auto n = static_cast<std::size_t>(num_items());
  std::vector<std::int32_t> all(n);
  for (std::size_t i = 0; i < n; ++i) all[i] = static_cast<std::int32_t>(i);
  for (std::size_t k = 0; k < users.size(); ++k) score(users[k], all, out.subspan(k * n, n));
}

void Scorer::score_lists(std::span<const std::int32_t> users, std::span<const std::int64_t> offsets,
                         std::span<const std::int32_t> items, std::span<float> out) const {
  const auto base = offsets[0];
  for (std::size_t k = 0; k < users.size(); ++k) {
    const auto begin = static_cast<std::size_t>(offsets[k] - base);
    const auto n = static_cast<std::size_t>(offsets[k + 1] - offsets[k]);
    score(users[k], items.subspan(begin, n), out.subspan(begin, n));
  }
}

void MatrixScorer::score(std::int32_t user, std::span<const std::int32_t> items,
                         std::span<float> out) const {
  const float* row =
      scores_ + static_cast<std::size_t>(user) * static_cast<std::size_t>(num_items_);
  for (std::size_t j = 0; j < items.size(); ++j) out[j] = row[items[j]];
}

void MatrixScorer::score_all(std::span<const std::int32_t> users, std::span<float> out) const {
  const auto n = static_cast<std::size_t>(num_items_);
  for (std::size_t k = 0; k < users.size(); ++k) {
    std::copy_n(scores_ + static_cast<std::size_t>(users[k]) * n, n,
                out.begin() + static_cast<std::ptrdiff_t>(k * n));
  }
}

namespace {

std::vector<Interaction> mask_for(const Split& split, EvalTarget target) {
  std::vector<Interaction> xs = split.train;
  if (target == EvalTarget::kTest) xs.insert(xs.end(), split.valid.begin(), split.valid.end());
  return xs;
}

void check_target(const Split& split, EvalTarget target) {
  if (target == EvalTarget::kValid && split.valid.empty()) {
    throw Error("the split '" + split.config.to_string() + "' has no validation part to evaluate");
  }
  if (target == EvalTarget::kTest && split.test.empty()) throw Error("the split has no test part");
}

// The head's and the tail's metrics apart (EvalResult::by_popularity).
class HeadTailAccumulator {
 public:
  explicit HeadTailAccumulator(const std::vector<MetricSpec>& specs)
      : acc_{MetricAccumulator(specs), MetricAccumulator(specs)} {}

  // One user's ranking: `ranks` of every relevant candidate, `in_group` the relevant items in the
  // head and in the tail; rerank(g) ranks the group-g ones with the other group's left out. A user
  // whose held-out items are all in one group keeps `ranks` (leave-one-out: always).
  template <typename Rerank>
  void add(std::span<const std::int64_t> ranks, std::int64_t num_relevant,
           const std::array<std::int64_t, 2>& in_group, Rerank rerank) {
    if (num_relevant == 0) return;
    for (int g = 0; g < 2; ++g) {
      if (in_group[g] == 0) continue;
      if (in_group[1 - g] == 0)
        acc_[g].add(ranks, num_relevant);
      else
        acc_[g].add(rerank(g), in_group[g]);
    }
  }

  void write(EvalResult& r) const {
    for (int g = 0; g < 2; ++g) {
      const std::string prefix = g == 0 ? "head " : "tail ";
      for (const auto& [name, value] : acc_[g].means()) r.by_popularity[prefix + name] = value;
      r.by_popularity[prefix + "users"] = static_cast<double>(acc_[g].users());
    }
  }

 private:
  std::array<MetricAccumulator, 2> acc_;
};

}  // namespace

Evaluator::Evaluator(const Dataset& data, const Split& split, EvalTarget target,
                     const Protocol& protocol, std::vector<MetricSpec> metrics, std::uint64_t seed)
    : data_(&data),
      split_name_(split.config.to_string()),
      seed_(seed),
      target_(target),
      protocol_(protocol),
      metrics_(std::move(metrics)),
      checksum_(data.checksum()),
      head_tail_(split.train, data.num_items(), 2) {
  check_target(split, target);
  switch (protocol.kind) {
    case Protocol::Kind::kFull: {
      holdout_ = make_holdout(split, target, data.num_users());
      const auto masked = mask_for(split, target);
      masked_ = InteractionMatrix(masked, data.num_users(), data.num_items());
      break;
    }
    case Protocol::Kind::kSampled:
      candidates_ = draw_candidates(data, split, target, protocol, seed);
      break;
    case Protocol::Kind::kFile:
      candidates_ = load_published_candidates(protocol.path, data, split, target);
      break;
  }
}

Evaluator::Evaluator(const Dataset& data, const Split& split, EvalTarget target,
                     CandidateSet candidates, std::vector<MetricSpec> metrics)
    : data_(&data),
      split_name_(split.config.to_string()),
      seed_(candidates.seed),
      target_(target),
      protocol_(Protocol::parse(candidates.protocol)),
      metrics_(std::move(metrics)),
      checksum_(data.checksum()),
      head_tail_(split.train, data.num_items(), 2),
      candidates_(std::move(candidates)) {
  check_target(split, target);
  if (candidates_.target != to_string(target)) {
    throw Error("candidates were drawn for the " + candidates_.target + " part, not " +
                to_string(target));
  }
}

std::size_t Evaluator::num_users() const {
  return protocol_.kind == Protocol::Kind::kFull ? holdout_.size() : candidates_.size();
}

EvalResult Evaluator::evaluate(const Scorer& scorer) const {
  if (scorer.num_items() != data_->num_items()) {
    throw Error("model '" + scorer.name() + "' scores " + std::to_string(scorer.num_items()) +
                " items but the dataset has " + std::to_string(data_->num_items()));
  }
  const auto start = std::chrono::steady_clock::now();
  EvalResult r =
      protocol_.kind == Protocol::Kind::kFull ? evaluate_full(scorer) : evaluate_sampled(scorer);
  r.scorer = scorer.name();
  r.protocol = protocol_.to_string();
  r.split = split_name_;
  r.target = to_string(target_);
  r.seed = seed_;
  r.data_checksum = checksum_;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

EvalResult Evaluator::evaluate_full(const Scorer& scorer) const {
  EvalResult r;
  MetricAccumulator acc(metrics_);
  HeadTailAccumulator groups(metrics_);
  const auto n = static_cast<std::size_t>(data_->num_items());
  constexpr std::size_t kBatch = 256;
  std::vector<float> scores;
  std::vector<std::uint8_t> relevant(n, 0), mask(n, 0);
  for (std::size_t start = 0; start < holdout_.size(); start += kBatch) {
    const std::size_t count = std::min(kBatch, holdout_.size() - start);
    scores.resize(count * n);
    scorer.score_all(std::span(holdout_.users).subspan(start, count), scores);
    for (std::size_t b = 0; b < count; ++b) {
      const std::int32_t u = holdout_.users[start + b];
      const auto held = holdout_.of(start + b);
      const auto masked = masked_.row(u);
      for (auto i : held) relevant[static_cast<std::size_t>(i)] = 1;
      for (auto i : masked) mask[static_cast<std::size_t>(i)] = 1;
      const std::span<const float> row(scores.data() + b * n, n);
      for (float s : row) r.nan_scores += std::isnan(s) ? 1 : 0;
      const auto ranks = pessimistic_ranks(row, relevant, mask);
      // A held-out item that is also masked (re-consumed in training) still counts as relevant.
      acc.add(ranks, static_cast<std::int64_t>(held.size()));
      groups.add(ranks, static_cast<std::int64_t>(held.size()), group_counts(held),
                 [&](int g) { return ranks_within(row, relevant, mask, held, g); });
      for (auto i : held) relevant[static_cast<std::size_t>(i)] = 0;
      for (auto i : masked) mask[static_cast<std::size_t>(i)] = 0;
    }
  }
  r.metrics = acc.means();
  r.users = acc.users();
  groups.write(r);
  return r;
}

std::array<std::int64_t, 2> Evaluator::group_counts(std::span<const std::int32_t> items) const {
  std::array<std::int64_t, 2> n{0, 0};
  for (const auto i : items) ++n[head_tail_.of(i) == 0 ? 0 : 1];
  return n;
}

std::vector<std::int64_t> Evaluator::ranks_within(std::span<const float> row,
                                                  std::span<const std::uint8_t> relevant,
                                                  std::vector<std::uint8_t>& mask,
                                                  std::span<const std::int32_t> held,
                                                  int group) const {
  // Mask the other group's held-out items, rank, restore the mask as it was.
  std::vector<std::pair<std::size_t, std::uint8_t>> saved;
  for (const auto i : held) {
    if ((head_tail_.of(i) == 0 ? 0 : 1) == group) continue;
    const auto k = static_cast<std::size_t>(i);
    saved.emplace_back(k, mask[k]);
    mask[k] = 1;
  }
  auto ranks = pessimistic_ranks(row, relevant, mask);
  for (auto it = saved.rbegin(); it != saved.rend(); ++it) mask[it->first] = it->second;
  return ranks;
}

EvalResult Evaluator::evaluate_sampled(const Scorer& scorer) const {
  EvalResult r;
  MetricAccumulator acc(metrics_);
  HeadTailAccumulator groups(metrics_);
  std::vector<float> scores;
  std::vector<std::int32_t> held;
  std::vector<std::uint8_t> other;     // the other group's relevant candidates, left out
  constexpr std::size_t kBatch = 512;  // users scored per call
  for (std::size_t start = 0; start < candidates_.size(); start += kBatch) {
    const std::size_t count = std::min(kBatch, candidates_.size() - start);
    const auto first = static_cast<std::size_t>(candidates_.offsets[start]);
    const auto last = static_cast<std::size_t>(candidates_.offsets[start + count]);
    scores.resize(last - first);
    scorer.score_lists(std::span(candidates_.users).subspan(start, count),
                       std::span(candidates_.offsets).subspan(start, count + 1),
                       std::span(candidates_.items).subspan(first, last - first), scores);
    for (float s : scores) r.nan_scores += std::isnan(s) ? 1 : 0;
    for (std::size_t k = start; k < start + count; ++k) {
      const auto rel = candidates_.relevant_of(k);
      const auto begin = static_cast<std::size_t>(candidates_.offsets[k]) - first;
      std::int64_t n_rel = 0;
      for (auto x : rel) n_rel += x;
      const auto row = std::span<const float>(scores).subspan(begin, rel.size());
      const auto ranks = pessimistic_ranks(row, rel);
      acc.add(ranks, n_rel);
      const auto* items = candidates_.items.data() + candidates_.offsets[k];
      held.clear();
      for (std::size_t j = 0; j < rel.size(); ++j)
        if (rel[j]) held.push_back(items[j]);
      groups.add(ranks, n_rel, group_counts(held), [&](int g) {
        other.assign(rel.size(), 0);
        for (std::size_t j = 0; j < rel.size(); ++j)
          other[j] = rel[j] && (head_tail_.of(items[j]) == 0 ? 0 : 1) != g;
        return pessimistic_ranks(row, rel, other);
      });
    }
  }
  r.metrics = acc.means();
  r.users = acc.users();
  groups.write(r);
  return r;
}

}  // namespace recpress
