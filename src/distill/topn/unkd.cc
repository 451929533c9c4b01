// `unkd`: Unbiased Knowledge Distillation (Chen, Chen, Feng, Zhou & He, "Unbiased Knowledge
// Distillation for Recommendation", WSDM 2023).
//
// Published (the paper's abstract and summaries of it; its full text was not available to us): a
// teacher's soft labels favour popular items, and distillation passes the bias on. UnKD
// stratifies: it partitions the items into groups by popularity and distills the teacher's
// ranking *within* each group only, so the student learns which of two equally popular items the
// teacher prefers, never "popular above rare". For each user and group it samples item pairs by a
// rank-aware distribution over the teacher's ranking and trains the student with a group-wise
// pairwise loss L_G beside its own loss L_R.
//
// As in the authors' released code (chengang95/UnKD, sample.py, read for this header; nothing is
// copied): the pairs are drawn once per epoch; each pair is two different rank positions drawn
// independently with P(r) ~ exp(-(r + 1) / 20) over the group's ranking, the better-ranked one the
// positive; the loss is the mean over a user's pairs of -log sigmoid(s_pos - s_neg), then the mean
// over users; 30 pairs per user by default, split equally over the groups (their `lamda` = 0; with
// lamda > 0 a group gets pairs ~ w_g^lamda, w_g = (max + min of the groups' mean popularity) -
// the group's mean popularity, normalised, at least 0.1: rarer groups more); the README's command
// uses 4 groups.
//
// Ours: the groups are PopularityGroups (eval/popularity.h: an item belongs to the group where its
// interaction mass begins; the authors' greedy split differs only at the group edges). Ranks are
// kept up to `pool` = 10 T (200 by default) per user and group instead of 1000: the weight beyond
// is below e^-10 of the first's, and ml-1m's lists then take 19 MB instead of 97. A rank pair is
// drawn exactly by inverting the truncated geometric CDF (no rejection of equal draws beyond
// redrawing the second). Pair counts are rounded by largest remainder so they sum to `pairs`.
// A user with fewer than two unobserved items in a group draws that group's pairs from their
// largest group instead.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "core/errors.h"
#include "distill/topn/distiller.h"
#include "distill/topn/unkd.h"
#include "eval/popularity.h"

namespace recpress {

std::vector<std::int64_t> unkd_pairs_per_group(const std::vector<double>& mean_popularity,
                                               std::int64_t pairs, double lamda) {
  const auto groups = mean_popularity.size();
  if (groups == 0) return {};
  const auto [lo, hi] = std::minmax_element(mean_popularity.begin(), mean_popularity.end());
  std::vector<double> w(groups);
  double sum = 0;
  for (std::size_t g = 0; g < groups; ++g) sum += w[g] = *lo + *hi - mean_popularity[g];
  double total = 0;
  for (auto& x : w) {
    x = std::pow(std::max(sum > 0 ? x / sum : 1.0 / static_cast<double>(groups), 0.1), lamda);
    total += x;
  }
  // Largest remainder: floors first, then one more to the largest fractional parts.
  std::vector<std::int64_t> n(groups);
  std::vector<std::pair<double, std::size_t>> rest;
  std::int64_t given = 0;
  for (std::size_t g = 0; g < groups; ++g) {
    const double share = static_cast<double>(pairs) * w[g] / total;
    n[g] = static_cast<std::int64_t>(std::floor(share));
    given += n[g];
    rest.emplace_back(share - static_cast<double>(n[g]), g);
  }
  std::stable_sort(rest.begin(), rest.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t k = 0; given < pairs; ++k, ++given) ++n[rest[k % groups].second];
  return n;
}

std::int64_t unkd_draw_rank(double u, double temperature, std::int64_t length) {
  // P(r) ~ q^r, q = exp(-1 / T), r in [0, L): CDF(r) = (1 - q^(r+1)) / (1 - q^L), inverted.
  const double log_q = -1.0 / temperature;
  const double tail = -std::expm1(log_q * static_cast<double>(length));  // 1 - q^L
  const double r = std::floor(std::log1p(-u * tail) / log_q);
  return std::clamp<std::int64_t>(static_cast<std::int64_t>(r), 0, length - 1);
}

torch::Tensor unkd_loss(const torch::Tensor& positive, const torch::Tensor& negative) {
  return -torch::log_sigmoid(positive - negative).mean(1).mean();
}

namespace {

class UnbiasedKnowledgeDistillation : public Distiller {
 public:
  explicit UnbiasedKnowledgeDistillation(const ModelSpec& spec)
      : groups_requested_(static_cast<int>(spec.get_int("groups"))),
        pairs_(spec.get_int("pairs")),
        temperature_(spec.get_double("t")),
        lamda_(spec.get_double("lamda")),
        pool_(spec.has("pool") ? spec.get_int("pool")
                               : static_cast<std::int64_t>(std::ceil(10 * temperature_))) {}
  std::string name() const override { return "unkd"; }
  bool student_through_batch() const override { return true; }

  void prepare(TopNModel& teacher, TopNModel&, const InteractionMatrix& train) override {
    const auto counts = train.item_counts();
    groups_ = PopularityGroups(counts, groups_requested_);
    const int G = groups_.num_groups();
    std::vector<double> mean(static_cast<std::size_t>(G), 0);
    for (std::size_t i = 0; i < counts.size(); ++i)
      mean[groups_.of(static_cast<std::int32_t>(i))] += static_cast<double>(counts[i]);
    for (int g = 0; g < G; ++g) mean[g] /= static_cast<double>(groups_.size_of(g));
    per_group_ = unkd_pairs_per_group(mean, pairs_, lamda_);
    rank_lists(teacher, train);
    pos_.clear();
  }

  // Every user's pairs for the epoch, as the authors' code draws them (KD_sampling, per epoch).
  void start_epoch(Rng& rng) override {
    const std::int64_t users = static_cast<std::int64_t>(length_.size()) / groups_.num_groups();
    pos_.assign(static_cast<std::size_t>(users * pairs_), 0);
    neg_.assign(pos_.size(), 0);
    for (std::int64_t u = 0; u < users; ++u) {
      std::int64_t slot = u * pairs_;
      for (int g = 0; g < groups_.num_groups(); ++g)
        for (std::int64_t k = 0; k < per_group_[g]; ++k, ++slot) draw_pair(u, g, rng, slot);
    }
  }

  torch::Tensor loss(TopNModel&, TopNModel& student, const DistillBatch& batch) override {
    const auto [pos, neg] = pairs_of(batch);
    const auto b = batch.users.size(0);
    const auto users = batch.users.unsqueeze(1).expand({b, pairs_}).reshape({-1});
    const auto sp = batch.score(student, users, pos.reshape({-1})).view({b, pairs_});
    const auto sn = batch.score(student, users, neg.reshape({-1})).view({b, pairs_});
    return unkd_loss(sp, sn);
  }

  // loss() by hand: with d = s_pos - s_neg, d(-log sigmoid(d))/d s_pos = -sigmoid(-d), the
  // negative's the opposite, over the b users' and `pairs` pairs' means.
  NativeTerm native_loss(TopNModel&, TopNModel&, const DistillBatch& batch, StudentRows& rows,
                         double weight) override {
    const auto [pos, neg] = pairs_of(batch);
    const auto b = batch.users.size(0), n = pairs_;
    const auto cells = static_cast<std::size_t>(2 * b * n);
    users_.resize(cells);
    items_.resize(cells);
    s_.resize(cells);
    const auto* user_of = batch.users.data_ptr<std::int64_t>();
    for (std::int64_t r = 0; r < b; ++r) {
      std::fill_n(users_.data() + r * n, n, user_of[r]);
      std::fill_n(users_.data() + b * n + r * n, n, user_of[r]);
    }
    std::copy_n(pos.data_ptr<std::int64_t>(), b * n, items_.data());
    std::copy_n(neg.data_ptr<std::int64_t>(), b * n, items_.data() + b * n);
    const auto first = rows.score(users_.data(), items_.data(), 2 * b * n, s_.data());
    const double scale = weight / static_cast<double>(b * n);
    double total = 0;
    for (std::int64_t k = 0; k < b * n; ++k) {
      const double d = static_cast<double>(s_[k]) - s_[b * n + k];
      // -log sigmoid(d) = softplus(-d), computed without overflow.
      total += d > 0 ? std::log1p(std::exp(-d)) : -d + std::log1p(std::exp(d));
      const double g = -scale / (1.0 + std::exp(d));  // -sigmoid(-d), scaled
      s_[k] = static_cast<float>(g);
      s_[b * n + k] = static_cast<float>(-g);
    }
    rows.add_gradient(first, s_.data(), 2 * b * n);
    return {weight * total / static_cast<double>(b * n), {}};
  }

 private:
  // Per user and group, the group's unobserved items by the teacher's score, best first, up to
  // `pool` of them.
  void rank_lists(TopNModel& teacher, const InteractionMatrix& train) {
    const std::int64_t users = teacher.num_users(), items = teacher.num_items();
    const int G = groups_.num_groups();
    pool_ = std::max<std::int64_t>(1, pool_);
    list_.assign(static_cast<std::size_t>(users * G * pool_), 0);
    length_.assign(static_cast<std::size_t>(users * G), 0);
    std::vector<std::vector<std::int32_t>> members(static_cast<std::size_t>(G));
    for (std::int32_t i = 0; i < items; ++i) members[groups_.of(i)].push_back(i);
    std::vector<std::uint8_t> own(static_cast<std::size_t>(items), 0);
    std::vector<std::int32_t> candidates;
    for_each_user_block(teacher, [&](std::int64_t u0, std::int64_t n, const torch::Tensor& scores) {
      const float* s = scores.data_ptr<float>();
      for (std::int64_t r = 0; r < n; ++r) {
        const auto u = static_cast<std::int32_t>(u0 + r);
        for (const auto i : train.row(u)) own[static_cast<std::size_t>(i)] = 1;
        const float* row = s + r * items;
        for (int g = 0; g < G; ++g) {
          candidates.clear();
          for (const auto i : members[g])
            if (!own[static_cast<std::size_t>(i)]) candidates.push_back(i);
          const auto keep =
              std::min<std::int64_t>(pool_, static_cast<std::int64_t>(candidates.size()));
          std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(),
                            [row](std::int32_t a, std::int32_t b) {
                              return row[a] != row[b] ? row[a] > row[b] : a < b;
                            });
          std::copy_n(candidates.begin(), keep, list_.begin() + (u * G + g) * pool_);
          length_[static_cast<std::size_t>(u * G + g)] = static_cast<std::int32_t>(keep);
        }
        for (const auto i : train.row(u)) own[static_cast<std::size_t>(i)] = 0;
      }
    });
  }

  void draw_pair(std::int64_t user, int group, Rng& rng, std::int64_t slot) {
    const int G = groups_.num_groups();
    auto length = [&](int g) { return length_[static_cast<std::size_t>(user * G + g)]; };
    if (length(group) < 2) {  // too few unobserved items here: the user's largest group
      for (int g = 0; g < G; ++g)
        if (length(g) > length(group)) group = g;
    }
    const std::int64_t L = length(group);
    const std::int32_t* list = list_.data() + (user * G + group) * pool_;
    if (L < 2) {  // nothing to order: a pair whose loss has no gradient
      pos_[slot] = neg_[slot] = L == 1 ? list[0] : 0;
      return;
    }
    const auto a = unkd_draw_rank(rng.uniform(), temperature_, L);
    std::int64_t b = a;
    while (b == a) b = unkd_draw_rank(rng.uniform(), temperature_, L);
    pos_[slot] = list[std::min(a, b)];
    neg_[slot] = list[std::max(a, b)];
  }

  std::pair<torch::Tensor, torch::Tensor> pairs_of(const DistillBatch& batch) {
    if (pos_.empty()) start_epoch(*batch.rng);  // used outside a Trainer epoch
    const auto all = static_cast<std::int64_t>(pos_.size()) / pairs_;
    const auto options = torch::TensorOptions().dtype(torch::kLong);
    const auto pos = torch::from_blob(pos_.data(), {all, pairs_}, options);
    const auto neg = torch::from_blob(neg_.data(), {all, pairs_}, options);
    return {pos.index_select(0, batch.users), neg.index_select(0, batch.users)};
  }

  int groups_requested_;
  std::int64_t pairs_;
  double temperature_, lamda_;
  std::int64_t pool_;
  PopularityGroups groups_;
  std::vector<std::int64_t> per_group_;
  std::vector<std::int32_t> list_;           // [users, groups, pool]
  std::vector<std::int32_t> length_;         // [users, groups]: how much of each list is filled
  std::vector<std::int64_t> pos_, neg_;      // this epoch's pairs, [users, pairs]
  std::vector<std::int64_t> users_, items_;  // native_loss's scratch
  std::vector<float> s_;
};

DistillerPtr make_unkd(const ModelSpec& spec) {
  return std::make_shared<UnbiasedKnowledgeDistillation>(spec);
}

}  // namespace

RECPRESS_REGISTER_DISTILLER(
    "unkd",
    "Unbiased KD (Chen et al., WSDM 2023): the teacher's ranking distilled within groups of "
    "equally popular items only, by pairs",
    (ParamDecls{
        int_param("groups", 4, 1, "popularity groups of about equal interaction mass (<= 255)"),
        int_param("pairs", 30, 1, "item pairs per user and epoch, over all groups"),
        real_param("t", 20, 0, kUnbounded, true, false,
                   "rank temperature: P(rank r) ~ exp(-(r + 1) / t)"),
        derived_default(int_param("pool", 200, 2, "ranks kept per user and group (default 10 t)")),
        real_param("lamda", 0, 0, 10, false, false,
                   "pairs per group ~ w^lamda, w larger for rarer groups (0: equal)"),
    }),
    make_unkd);

}  // namespace recpress
