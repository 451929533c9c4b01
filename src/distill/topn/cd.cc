// `cd`: Collaborative Distillation (Lee et al., "Collaborative
// Distillation for Top-N Recommendation", ICDM 2019).
//
// The teacher's opinion of *unobserved* items is the knowledge: for each user, a few unobserved
// items are sampled and the student fits the teacher's soft label on them,
//   L_CD = mean BCE( sigma(s_ui), sigma(t_ui / T) ),
// rather than the hard 0 of a sampled negative. Which items to sample matters: CD's
// rank-discrepancy-aware sampling favours items the teacher ranks high but the student ranks
// low. We draw from the teacher's top-`pool` unobserved items with probability
//   (1 - beta) * exp(-rank_t / lambda) / Z_1 + beta * tanh(max(mu (rank_s - rank_t), 0)) / Z_2,
// where rank_s is the student's rank within the pool and beta anneals from 0 to 1 over training
// (teacher-rank sampling while the student is untrained, discrepancy sampling once its ranking
// means something) -- our reading of the paper's annealed schedule.
// Parameters: samples (10), pool (100), t (1), lambda (10), mu (0.1).
#include "distill/topn/cd.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/errors.h"
#include "distill/topn/distiller.h"

namespace recpress {

torch::Tensor cd_soft_label_loss(const torch::Tensor& student_logits,
                                 const torch::Tensor& soft_labels) {
  return torch::binary_cross_entropy_with_logits(student_logits, soft_labels);
}

namespace {

class CollaborativeDistillation : public Distiller {
 public:
  explicit CollaborativeDistillation(const ModelSpec& spec) {
    samples_ = spec.get_int("samples");
    pool_ = spec.get_int("pool");
    temperature_ = spec.get_double("t");
    lambda_ = spec.get_double("lambda");
    mu_ = spec.get_double("mu");
    if (samples_ > pool_) throw Error("cd: samples must be <= pool");
    if (!(temperature_ > 0 && lambda_ > 0 && mu_ > 0)) throw Error("cd: t, lambda, mu must be > 0");
  }
  std::string name() const override { return "cd"; }
  bool student_through_batch() const override { return true; }

  void prepare(TopNModel& teacher, TopNModel& student, const InteractionMatrix& train) override {
    pool_ = std::min<std::int64_t>(pool_, teacher.num_items());
    if (samples_ > pool_) throw Error("cd: the catalog is smaller than `samples`");
    top_ = teacher_top_items(teacher, train, pool_);
    // The teacher's soft labels on its pool, cached with it.
    torch::NoGradGuard guard;
    const auto users = torch::arange(teacher.num_users(), torch::kLong)
                           .unsqueeze(1)
                           .expand({teacher.num_users(), pool_})
                           .reshape({-1});
    soft_labels_ = torch::empty({teacher.num_users(), pool_});
    constexpr std::int64_t kChunk = 1 << 16;
    const auto flat_items = top_.reshape({-1});
    auto flat_labels = soft_labels_.view({-1});
    for (std::int64_t k = 0; k < users.size(0); k += kChunk) {
      const auto n = std::min(kChunk, users.size(0) - k);
      flat_labels.narrow(0, k, n).copy_(torch::sigmoid(
          teacher.forward(users.narrow(0, k, n), flat_items.narrow(0, k, n)) / temperature_));
    }
    rank_weights_ = torch::exp(-torch::arange(1, pool_ + 1, torch::kFloat) / lambda_);
    rank_weights_ /= rank_weights_.sum();
  }

  torch::Tensor loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch) override {
    const auto b = batch.users.size(0);
    const auto pool = top_.index_select(0, batch.users);  // [B, P], teacher's order
    torch::Tensor pool_scores;
    if (batch.progress > 0) {
      torch::NoGradGuard guard;
      const auto flat_users = batch.users.unsqueeze(1).expand({b, pool_}).reshape({-1});
      pool_scores = batch.score(student, flat_users, pool.reshape({-1})).contiguous();
    }
    const auto picked =
        draw(b, pool_scores.defined() ? pool_scores.data_ptr<float>() : nullptr, batch);
    const auto items = pool.gather(1, picked);
    const auto labels = soft_labels_.index_select(0, batch.users).gather(1, picked);
    const auto logits =
        batch
            .score(student, batch.users.unsqueeze(1).expand({b, samples_}).reshape({-1}),
                   items.reshape({-1}))
            .view({b, samples_});
    return cd_soft_label_loss(logits, labels);
  }

  // loss() by hand: the same draws; d BCE(s, y) / d s = sigma(s) - y, over the b S rows' mean.
  NativeTerm native_loss(TopNModel&, TopNModel&, const DistillBatch& batch, StudentRows& rows,
                         double weight) override {
    const auto b = batch.users.size(0), P = pool_, S = samples_;
    const auto* user_of = batch.users.data_ptr<std::int64_t>();
    const auto* top = top_.data_ptr<std::int64_t>();
    users_.resize(static_cast<std::size_t>(b * std::max(P, S)));
    items_.resize(static_cast<std::size_t>(b * std::max(P, S)));
    scores_.resize(static_cast<std::size_t>(b * std::max(P, S)));
    if (batch.progress > 0) {
      for (std::int64_t r = 0; r < b; ++r) {
        std::fill_n(users_.data() + r * P, P, user_of[r]);
        std::copy_n(top + user_of[r] * P, P, items_.data() + r * P);
      }
      rows.peek(users_.data(), items_.data(), b * P, scores_.data());
    }
    const auto picked = draw(b, batch.progress > 0 ? scores_.data() : nullptr, batch);
    const auto* pick = picked.data_ptr<std::int64_t>();
    const auto* soft = soft_labels_.data_ptr<float>();
    labels_.resize(static_cast<std::size_t>(b * S));
    for (std::int64_t r = 0; r < b; ++r)
      for (std::int64_t k = 0; k < S; ++k) {
        const auto c = r * S + k;
        users_[c] = user_of[r];
        items_[c] = top[user_of[r] * P + pick[c]];
        labels_[c] = soft[user_of[r] * P + pick[c]];
      }
    const auto first = rows.score(users_.data(), items_.data(), b * S, scores_.data());
    double total = 0;
    const double scale = weight / static_cast<double>(b * S);
    for (std::int64_t c = 0; c < b * S; ++c) {
      const double x = scores_[c], y = labels_[c];
      total += std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::abs(x)));
      scores_[c] = static_cast<float>(scale * (1.0 / (1.0 + std::exp(-x)) - y));
    }
    rows.add_gradient(first, scores_.data(), b * S);
    return {weight * total / static_cast<double>(b * S), {}};
  }

 private:
  // Positions in each user's pool [B, S], drawn by the annealed weights
  //   (1 - beta) exp(-rank_t / lambda) / Z_1 + beta tanh(max(mu (rank_s - rank_t), 0)) / Z_2
  // with beta = the training progress and rank_s the student's rank within the pool (from
  // `pool_scores` [B * P], read only when beta > 0).
  torch::Tensor draw(std::int64_t b, const float* pool_scores, const DistillBatch& batch) {
    const auto P = pool_;
    auto weights = rank_weights_.unsqueeze(0).expand({b, P}).contiguous();
    const double beta = batch.progress;
    if (beta > 0) {
      auto* w = weights.data_ptr<float>();
      order_.resize(static_cast<std::size_t>(P));
      discrepancy_.resize(static_cast<std::size_t>(P));
      for (std::int64_t r = 0; r < b; ++r) {
        const float* s = pool_scores + r * P;
        std::iota(order_.begin(), order_.end(), std::int64_t{0});
        std::sort(order_.begin(), order_.end(), [s](std::int64_t x, std::int64_t y) {
          return s[x] > s[y] || (s[x] == s[y] && x < y);
        });
        double sum = 0;
        for (std::int64_t pos = 0; pos < P; ++pos) {
          const auto k = order_[static_cast<std::size_t>(pos)];  // rank_s(k) = pos + 1
          const double d = std::tanh(std::max(mu_ * static_cast<double>(pos - k), 0.0)) + 1e-6;
          discrepancy_[static_cast<std::size_t>(k)] = d;
          sum += d;
        }
        for (std::int64_t k = 0; k < P; ++k)
          w[r * P + k] = static_cast<float>((1 - beta) * w[r * P + k] +
                                            beta * discrepancy_[static_cast<std::size_t>(k)] / sum);
      }
    }
    return sample_without_replacement(weights, samples_, *batch.rng);
  }

  std::int64_t samples_, pool_;
  double temperature_, lambda_, mu_;
  torch::Tensor top_, soft_labels_, rank_weights_;
  std::vector<std::int64_t> order_, users_, items_;  // scratch
  std::vector<double> discrepancy_;
  std::vector<float> scores_, labels_;
};

DistillerPtr make_cd(const ModelSpec& spec) {
  return std::make_shared<CollaborativeDistillation>(spec);
}

}  // namespace

RECPRESS_REGISTER_DISTILLER(
    "cd",
    "Collaborative Distillation (Lee et al. 2019): teacher soft labels on "
    "rank-discrepancy-sampled unobserved items, annealed",
    (ParamDecls{
        int_param("samples", 10, 1, "unobserved items per user and epoch"),
        int_param("pool", 100, 1, "the teacher's top items sampled from"),
        real_param("t", 1.0, 0, kUnbounded, true, false, "soft-label temperature"),
        real_param("lambda", 10.0, 0, kUnbounded, true, false,
                   "rank-discrepancy sampling sharpness"),
        real_param("mu", 0.1, 0, kUnbounded, true, false, "annealing of the distillation weight")}),
    make_cd);

}  // namespace recpress
