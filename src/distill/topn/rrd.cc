// `rrd`: Relaxed Ranking Distillation (Kang, Hwang, Kweon & Yu, "DE-RRD: A Knowledge Distillation
// Framework for Recommender System", CIKM 2020, Sec. 3.2).
//
// For each user, K "interesting" items are drawn from the teacher's top-`pool` ranking with
// probability ~ exp(-rank / T) (eq. 7) and kept in the teacher's order; L "uninteresting" items
// are drawn uniformly from the rest of the unobserved items. The relaxed permutation
// probability (eq. 8)
//   p(pi | s) = prod_{k=1..K} exp(s_k) / ( sum_{j=k..K} exp(s_j) + sum_{l=1..L} exp(s_l) )
// asks the student to keep the order of the interesting items and to put all of them above the
// uninteresting ones, without ordering the latter among themselves; the loss is -log p.
// The teacher's ranking is computed once (offline). The draws are new every batch (`draws=batch`)
// or, as in the authors' code, drawn for every user once per epoch (`draws=epoch`: cheaper, but
// each user meets the same lists all epoch).
// Parameters: interesting (K), uninteresting (L, 40), pool, t, draws (batch). K, the pool and T
// follow the catalog unless given (default_rank_region in distiller.h, issue 23): 40 of the
// top-500 with T = 100 on catalogs of 3,200 items or more, scaled down below. The paper's own
// setting (K = 10 of the top-100, T = 10) put 95% of the weight on the teacher's top-30, which on
// MovieLens taught the student to order a head the metric rarely reaches (ml-1m: -1.5% vs the
// student alone, against +11.8% spread; docs/results.md, "what held DE-RRD back").
// The interesting draws are successive sampling by rank weight (RankSampler), in C++.
#include "distill/topn/rrd.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "distill/topn/distiller.h"

namespace recpress {

torch::Tensor rrd_loss(const torch::Tensor& interesting, const torch::Tensor& uninteresting) {
  // log( sum_{j>=k} exp(s_j) ) by a reversed cumulative logsumexp over the interesting items.
  const auto rev = interesting.flip({1});
  const auto suffix = torch::logcumsumexp(rev, 1).flip({1});  // [B, K]
  const auto below = torch::logsumexp(uninteresting, 1, /*keepdim=*/true);
  const auto denominators = torch::logaddexp(suffix, below);
  return (denominators - interesting).sum(1).mean();
}

namespace {

class RelaxedRankingDistillation : public Distiller {
 public:
  explicit RelaxedRankingDistillation(const ModelSpec& spec) : spec_(spec) {
    uninteresting_ = spec.get_int("uninteresting");
    per_epoch_ = spec.get_string("draws") == "epoch";
    if (spec.has("interesting") && spec.has("pool") &&
        spec.get_int("interesting") > spec.get_int("pool"))
      throw Error("rrd: interesting must be <= pool");
  }
  std::string name() const override { return "rrd"; }
  bool student_through_batch() const override { return true; }

  void prepare(TopNModel& teacher, TopNModel& student, const InteractionMatrix& train) override {
    // K, the pool and T from the catalog unless given (default_rank_region, issue 23); the pool
    // leaves room for the uninteresting draws outside it.
    const auto region = rank_region_of(spec_, "interesting", teacher.num_items());
    interesting_ = region.draws;
    pool_ = std::min<std::int64_t>(region.pool, teacher.num_items() / 2);
    if (interesting_ < 1) throw Error("rrd: interesting must be >= 1");
    if (interesting_ > pool_)
      throw Error("rrd: interesting (" + std::to_string(interesting_) + ") must be <= pool (" +
                  std::to_string(pool_) + ", at most half the catalog)");
    top_ = teacher_top_items(teacher, train, pool_);
    sampler_ = RankSampler(pool_, region.temperature);
    num_items_ = teacher.num_items();
    train_ = train;
    prepare_exclusions();
    good_ = bad_ = torch::Tensor();
  }

  // Every user's interesting and uninteresting items for this epoch, drawn at once as the
  // authors' code does (URRD_sampling, once per epoch): a batch then only looks its users up, and
  // each user is ranked against the same lists all epoch.
  void start_epoch(Rng& rng) override {
    if (!per_epoch_) return;
    const auto users = torch::arange(top_.size(0), torch::kLong);
    good_ = draw_interesting(users, rng);
    bad_ = draw_outside_pool(users, rng);
  }

  torch::Tensor loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch) override {
    const auto [good, bad] = draws(batch);
    const auto interesting = score(student, batch, good);  // sequenced: rows in a known order
    return rrd_loss(interesting, score(student, batch, bad));
  }

  // loss() by hand. With D_k = sum_{j>=k} exp(s_j) + sum_l exp(u_l), a row's loss is
  // sum_k (log D_k - s_k), so
  //   d/ds_j = sum_{k<=j} exp(s_j) / D_k - 1,   d/du_l = exp(u_l) sum_k 1 / D_k,
  // over the b users' mean (exponentials shifted by the row's largest score).
  NativeTerm native_loss(TopNModel&, TopNModel&, const DistillBatch& batch, StudentRows& rows,
                         double weight) override {
    const auto [good, bad] = draws(batch);
    const auto b = batch.users.size(0), K = interesting_, L = uninteresting_, n = K + L;
    // Rows as loss() scores them: every user's interesting items, then every user's others.
    const auto cells = static_cast<std::size_t>(b * n);
    users_.resize(cells);
    items_.resize(cells);
    s_.resize(cells);
    const auto* user_of = batch.users.data_ptr<std::int64_t>();
    for (std::int64_t r = 0; r < b; ++r) {
      std::fill_n(users_.data() + r * K, K, user_of[r]);
      std::fill_n(users_.data() + b * K + r * L, L, user_of[r]);
    }
    std::copy_n(good.data_ptr<std::int64_t>(), b * K, items_.data());
    std::copy_n(bad.data_ptr<std::int64_t>(), b * L, items_.data() + b * K);
    const auto first = rows.score(users_.data(), items_.data(), b * n, s_.data());
    suffix_.resize(static_cast<std::size_t>(K));
    double total = 0;
    const double scale = weight / static_cast<double>(b);
    for (std::int64_t r = 0; r < b; ++r) {
      float* s = s_.data() + r * K;          // the interesting scores, then their gradient
      float* u = s_.data() + b * K + r * L;  // the uninteresting ones
      const double m = std::max(*std::max_element(s, s + K), *std::max_element(u, u + L));
      double below = 0;
      for (std::int64_t l = 0; l < L; ++l) below += std::exp(u[l] - m);
      // suffix_[k] = D_k (shifted), from the last interesting item up.
      double run = below;
      for (std::int64_t k = K - 1; k >= 0; --k) suffix_[k] = run += std::exp(s[k] - m);
      double inverse_sum = 0;  // sum_{k<=j} 1 / D_k as j advances
      for (std::int64_t k = 0; k < K; ++k) {
        total += std::log(suffix_[k]) + m - s[k];
        inverse_sum += 1.0 / suffix_[k];
        s[k] = static_cast<float>(scale * (std::exp(s[k] - m) * inverse_sum - 1.0));
      }
      for (std::int64_t l = 0; l < L; ++l)
        u[l] = static_cast<float>(scale * std::exp(u[l] - m) * inverse_sum);
    }
    rows.add_gradient(first, s_.data(), b * n);
    return {weight * total / static_cast<double>(b), {}};
  }

 private:
  // The batch users' interesting [b, K] and uninteresting [b, L] items.
  std::pair<torch::Tensor, torch::Tensor> draws(const DistillBatch& batch) {
    if (per_epoch_) {
      if (!good_.defined()) start_epoch(*batch.rng);  // used outside a Trainer epoch
      return {good_.index_select(0, batch.users), bad_.index_select(0, batch.users)};
    }
    auto good = draw_interesting(batch.users, *batch.rng);
    return {good, draw_outside_pool(batch.users, *batch.rng)};
  }

  // K rank-weighted draws without replacement from each user's top-`pool`, in the teacher's order.
  torch::Tensor draw_interesting(const torch::Tensor& users, Rng& rng) const {
    const auto picked = sampler_.draw(users.size(0), interesting_, rng);
    return top_.index_select(0, users).gather(1, picked);
  }

  static torch::Tensor score(TopNModel& m, const DistillBatch& batch, const torch::Tensor& items) {
    const auto b = items.size(0), n = items.size(1);
    return batch
        .score(m, batch.users.unsqueeze(1).expand({b, n}).reshape({-1}), items.reshape({-1}))
        .view({b, n});
  }

  // Uniform items neither among the user's top-`pool` nor the user's training items (rejection:
  // both are a small share of the catalog). When users x items bits fit 64 MB, a bitmap of each
  // user's excluded items is built once per run (prepare_exclusions), so a draw is one bit test;
  // else the pool is marked in a catalog-sized flag array per user.
  torch::Tensor draw_outside_pool(const torch::Tensor& users, Rng& rng) {
    const auto b = users.size(0);
    auto out = torch::empty({b, uninteresting_}, torch::kLong);
    auto* o = out.data_ptr<std::int64_t>();
    const auto* top = top_.data_ptr<std::int64_t>();
    const auto* users_ptr = users.data_ptr<std::int64_t>();
    const auto items = static_cast<std::uint32_t>(num_items_);
    if (!excluded_.empty()) {
      for (std::int64_t r = 0; r < b; ++r) {
        const auto* bits = excluded_.data() + users_ptr[r] * words_;
        for (std::int64_t k = 0; k < uninteresting_; ++k) {
          std::uint32_t j;
          do {
            j = rng.below(items);
          } while ((bits[j >> 6] >> (j & 63)) & 1);
          o[r * uninteresting_ + k] = j;
        }
      }
      return out;
    }
    in_pool_.assign(static_cast<std::size_t>(num_items_), 0);
    for (std::int64_t r = 0; r < b; ++r) {
      const auto user = static_cast<std::int32_t>(users_ptr[r]);
      const auto* row = top + users_ptr[r] * pool_;
      for (std::int64_t k = 0; k < pool_; ++k) in_pool_[static_cast<std::size_t>(row[k])] = 1;
      const bool skip_own = skips_own(user);
      for (std::int64_t k = 0; k < uninteresting_; ++k) {
        std::uint32_t j;
        do {
          j = rng.below(items);
        } while (in_pool_[j] || (skip_own && train_.contains(user, static_cast<std::int32_t>(j))));
        o[r * uninteresting_ + k] = j;
      }
      for (std::int64_t k = 0; k < pool_; ++k) in_pool_[static_cast<std::size_t>(row[k])] = 0;
    }
    return out;
  }

  // A user who has nearly every item outside the pool: draw among all of them (no endless loop).
  bool skips_own(std::int32_t user) const {
    return num_items_ - pool_ - static_cast<std::int64_t>(train_.row(user).size()) >= 1;
  }

  void prepare_exclusions() {
    excluded_.clear();
    const std::int64_t users = top_.size(0);
    words_ = (num_items_ + 63) / 64;
    if (users * words_ * 8 > (std::int64_t{64} << 20)) return;
    excluded_.assign(static_cast<std::size_t>(users * words_), 0);
    const auto* top = top_.data_ptr<std::int64_t>();
    for (std::int64_t u = 0; u < users; ++u) {
      auto* bits = excluded_.data() + u * words_;
      const auto mark = [bits](std::int64_t i) { bits[i >> 6] |= std::uint64_t{1} << (i & 63); };
      for (std::int64_t k = 0; k < pool_; ++k) mark(top[u * pool_ + k]);
      if (skips_own(static_cast<std::int32_t>(u)))
        for (const auto i : train_.row(static_cast<std::int32_t>(u))) mark(i);
    }
  }

  ModelSpec spec_;  // K, pool and t are resolved against the catalog in prepare()
  std::int64_t interesting_ = 0, uninteresting_ = 0, pool_ = 0;
  std::int64_t num_items_ = 0;
  bool per_epoch_ = false;
  RankSampler sampler_;
  torch::Tensor top_;
  torch::Tensor good_, bad_;             // this epoch's draws, [num_users, K] and [num_users, L]
  InteractionMatrix train_;              // the uninteresting draws skip the user's own items
  std::vector<std::uint8_t> in_pool_;    // scratch: 1 for the current user's top-`pool` items
  std::vector<std::uint64_t> excluded_;  // per user, `words_` words: 1 bits are not drawn
  std::int64_t words_ = 0;
  std::vector<std::int64_t> users_, items_;  // native_loss's scratch: the rows it scores
  std::vector<float> s_;
  std::vector<double> suffix_;
};

DistillerPtr make_rrd(const ModelSpec& spec) {
  return std::make_shared<RelaxedRankingDistillation>(spec);
}

}  // namespace

RECPRESS_REGISTER_DISTILLER(
    "rrd",
    "Relaxed Ranking Distillation (Kang et al., CIKM 2020): Plackett-Luce "
    "order of sampled interesting items above uninteresting ones",
    ([] {
      auto decls = rank_region_params("interesting", "interesting items per user (K)");
      decls.push_back(int_param("uninteresting", 40, 1, "uninteresting items per user (L)"));
      decls.push_back(text_param("draws", "batch", {"batch", "epoch"},
                                 "new draws every batch or once per epoch"));
      return decls;
    }()),
    make_rrd);

}  // namespace recpress
