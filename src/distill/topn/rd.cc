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

 private:
  std::int64_t k_, samples_;
  double lambda_, mu_, warmup_;
  bool renormalize_;
  torch::Tensor top_, position_;
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
