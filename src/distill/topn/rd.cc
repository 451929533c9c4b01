// `rd`: Ranking Distillation (Tang & Wang, "Ranking Distillation: Learning Compact Ranking Models
// With High Performance for Recommender System", KDD 2018).
//
// The teacher's top-K unobserved items pi_1..pi_K of each user become extra, weighted positives
// of the student (eq. 4):   L_RD(u) = - sum_r w_r log sigma(s(u, pi_r)).
// Hybrid weighting (Sec. 3.2): the position importance w^a_r ~ exp(-r / lambda) and the dynamic
// rank discrepancy w^b_r = tanh(max(mu (rhat_r - r), 0)), where rhat_r is the student's rank of
// pi_r estimated from `samples` uniformly drawn items (rhat = |I| * share of the draws the student
// scores higher). The paper trains with w^a alone first (its code: 10 epochs) and then with
// w^a * w^b; `warmup` is that first share of training. w^a sums to 1 per user; the hybrid
// weight is not renormalised (as the authors' code by default; renormalize=1 does).
// Parameters: k (10), lambda (1), mu (0.1), samples (100): the paper's values; warmup (0.2),
// renormalize (0). RD was designed for point-wise students (BCE on sampled negatives).
#include "distill/topn/rd.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/errors.h"
#include "distill/topn/distiller.h"

namespace recpress {

torch::Tensor rd_position_weights(std::int64_t k, double lambda) {
  auto w = torch::exp(-torch::arange(1, k + 1, torch::kFloat) / lambda);
  return w / w.sum();
}

torch::Tensor rd_discrepancy_weights(const torch::Tensor& estimated_ranks, double mu) {
  const auto k = estimated_ranks.size(1);
  const auto ranks = torch::arange(1, k + 1, torch::kFloat).unsqueeze(0);
  return torch::tanh(torch::clamp_min(mu * (estimated_ranks - ranks), 0.0));
}

torch::Tensor rd_loss(const torch::Tensor& student_logits, const torch::Tensor& weights) {
  // -log sigma(x) = softplus(-x)
  return (weights * torch::softplus(-student_logits)).sum(1).mean();
}

namespace {

class RankingDistillation : public Distiller {
 public:
  explicit RankingDistillation(const ModelSpec& spec) {
    k_ = spec.get_int("k");
    lambda_ = spec.get_double("lambda");
    mu_ = spec.get_double("mu");
    samples_ = spec.get_int("samples");
    warmup_ = spec.get_double("warmup");
    renormalize_ = spec.get_int("renormalize") != 0;
    if (!(lambda_ > 0)) throw Error("rd: lambda must be > 0");
    if (!(mu_ >= 0)) throw Error("rd: mu must be >= 0");
    if (!(warmup_ >= 0 && warmup_ <= 1)) throw Error("rd: warmup must be in [0, 1]");
  }
  std::string name() const override { return "rd"; }
  bool student_through_batch() const override { return true; }

  void prepare(TopNModel& teacher, TopNModel& student, const InteractionMatrix& train) override {
    top_ = teacher_top_items(teacher, train, k_);
    position_ = rd_position_weights(k_, lambda_).unsqueeze(0);
  }

  torch::Tensor loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch) override {
    const auto b = batch.users.size(0);
    const auto items = top_.index_select(0, batch.users);  // [B, K]
    const auto users = batch.users.unsqueeze(1).expand({b, k_}).reshape({-1});
    const auto s = batch.score(student, users, items.reshape({-1})).view({b, k_});
    torch::Tensor w = position_.expand({b, k_});
    if (batch.progress >= warmup_ && mu_ > 0) {
      torch::NoGradGuard guard;
      const auto draws = sample_candidates(b, samples_, student.num_items(), *batch.rng);
      const auto su = batch.users.unsqueeze(1).expand({b, samples_}).reshape({-1});
      const auto sd = batch.score(student, su, draws.reshape({-1})).view({b, 1, samples_});
      // A draw of the item itself is not above it: comparing an item's score with itself would
      // count float rounding between two scoring paths (the native step's and the no-grad one).
      const auto other = draws.view({b, 1, samples_}) != items.unsqueeze(2);  // [B, K, S]
      const auto higher =
          ((sd > s.detach().unsqueeze(2)) & other).to(torch::kFloat).mean(2);  // [B, K]
      const auto rhat = higher * static_cast<double>(student.num_items()) + 1.0;
      w = w * rd_discrepancy_weights(rhat, mu_);
      if (renormalize_) w = w / w.sum(1, true).clamp_min(1e-12);
    }
    return rd_loss(s, w);
  }

  // loss() by hand: the same draws; d (w_r softplus(-s_r)) / d s_r = -w_r sigma(-s_r), over the
  // b users' mean (the weights take no gradient).
  NativeTerm native_loss(TopNModel&, TopNModel& student, const DistillBatch& batch,
                         StudentRows& rows, double weight) override {
    const auto b = batch.users.size(0), K = k_;
    const auto cells = static_cast<std::size_t>(b * K);
    users_.resize(cells);
    s_.resize(cells);
    w_.resize(cells);
    const auto* user_of = batch.users.data_ptr<std::int64_t>();
    const auto items = top_.index_select(0, batch.users);
    const auto* item = items.data_ptr<std::int64_t>();
    for (std::int64_t r = 0; r < b; ++r) std::fill_n(users_.data() + r * K, K, user_of[r]);
    const auto first = rows.score(users_.data(), item, b * K, s_.data());
    const float* position = position_.data_ptr<float>();
    for (std::int64_t r = 0; r < b; ++r) std::copy_n(position, K, w_.data() + r * K);
    if (batch.progress >= warmup_ && mu_ > 0) {
      const auto draws = sample_candidates(b, samples_, student.num_items(), *batch.rng);
      const auto* drawn = draws.data_ptr<std::int64_t>();
      const auto S = samples_;
      draw_users_.resize(static_cast<std::size_t>(b * S));
      drawn_scores_.resize(static_cast<std::size_t>(b * S));
      for (std::int64_t r = 0; r < b; ++r) std::fill_n(draw_users_.data() + r * S, S, user_of[r]);
      rows.peek(draw_users_.data(), drawn, b * S, drawn_scores_.data());
      const auto catalog = static_cast<double>(student.num_items());
      for (std::int64_t r = 0; r < b; ++r) {
        double sum = 0;
        for (std::int64_t k = 0; k < K; ++k) {
          const auto c = r * K + k;
          std::int64_t higher = 0;
          for (std::int64_t j = 0; j < S; ++j)
            higher += drawn_scores_[r * S + j] > s_[c] && drawn[r * S + j] != item[c];
          const double rhat = static_cast<double>(higher) / static_cast<double>(S) * catalog + 1;
          w_[c] *= static_cast<float>(std::tanh(std::max(mu_ * (rhat - (k + 1)), 0.0)));
          sum += w_[c];
        }
        if (renormalize_)
          for (std::int64_t k = 0; k < K; ++k)
            w_[r * K + k] = static_cast<float>(w_[r * K + k] / std::max(sum, 1e-12));
      }
    }
    double total = 0;
    for (std::size_t c = 0; c < cells; ++c) {
      const double x = s_[c];
      // softplus(-x) and sigma(-x), stable for either sign of x
      total += w_[c] * (std::max(-x, 0.0) + std::log1p(std::exp(-std::abs(x))));
      s_[c] = static_cast<float>(-weight * w_[c] / (1 + std::exp(x)) / static_cast<double>(b));
    }
    rows.add_gradient(first, s_.data(), b * K);
    return {weight * total / static_cast<double>(b), {}};
  }

 private:
  std::int64_t k_, samples_;
  double lambda_, mu_, warmup_;
  bool renormalize_;
  torch::Tensor top_, position_;
  std::vector<std::int64_t> users_, draw_users_;  // native_loss's scratch
  std::vector<float> s_, w_, drawn_scores_;
};

DistillerPtr make_rd(const ModelSpec& spec) {
  return std::make_shared<RankingDistillation>(spec);
}

}  // namespace

RECPRESS_REGISTER_DISTILLER(
    "rd",
    "Ranking Distillation (Tang & Wang, KDD 2018): the teacher's top-K as weighted positives "
    "(position x rank-discrepancy weights)",
    (ParamDecls{
        int_param("k", 10, 1, "the teacher's top-K taken as positives"),
        real_param("lambda", 1.0, 0, kUnbounded, true, false,
                   "position weight scale: w_r ~ exp(-r / lambda)"),
        real_param("mu", 0.1, 0, kUnbounded, false, false, "rank-discrepancy weight sharpness"),
        int_param("samples", 100, 1, "items sampled to estimate ranks"),
        real_param("warmup", 0.2, 0, 1, false, false,
                   "share of training before rank discrepancy applies"),
        int_param("renormalize", 0, 0, "1: weights renormalised per user")}),
    make_rd);

}  // namespace recpress
