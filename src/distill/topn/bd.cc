// `bd`: Bidirectional Distillation (Kweon, Kang & Yu, "Bidirectional Distillation for Top-K
// Recommender System", WWW 2021).
//
// Published (the paper's abstract; its full text was not available to us): the student beats the
// teacher on a significant share of users, so the two are trained together and each learns from
// the other: each model's loss is its own loss plus a distillation loss that makes it follow the
// other's predictions, on items picked by a *rank discrepancy-aware* sampling scheme that keeps
// only the informative ones (the other model ranks the item much higher than this one does),
// designed to cope with a large gap between the two.
//
// What we implement (the parts the abstract leaves open are ours, as we recall the method's
// commonly cited form; change them by parameter):
//   - every epoch, both models rank every user's unobserved items (rank 0 = best);
//   - the student learns on items drawn with P(i) ~ tanh(max(eps_t (rank_S(i) - rank_T(i)), 0))
//     (the teacher ranks them higher than the student does), the teacher on items drawn with
//     P(i) ~ tanh(max(eps_s (rank_T(i) - rank_S(i)), 0)); `samples` of each per user and epoch,
//     without replacement;
//   - the distillation loss is the binary cross-entropy of a model's probability sigma(s) against
//     the other model's sigma(s) as a soft label, averaged over the drawn items and users;
//   - the student's term has the recipe's weight; the teacher's is `teacher_weight` times it.
// The teacher trains as under online distillation (Trainer: the teacher steps on its own loss and
// the term after the student, and stops, back at its best state, the first epoch its validation
// does not improve); a study gives each bd run its own copy of the teacher and records the
// teacher's test metrics after training beside the student's ("teacher NDCG@10").
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "core/errors.h"
#include "distill/topn/bd.h"
#include "distill/topn/distiller.h"

namespace recpress {

torch::Tensor soft_label_bce(const torch::Tensor& logits, const torch::Tensor& other_logits) {
  const auto target = torch::sigmoid(other_logits.detach());
  return torch::binary_cross_entropy_with_logits(logits, target, {}, {}, at::Reduction::None)
      .mean(1)
      .mean();
}

double rank_discrepancy_weight(std::int64_t learner_rank, std::int64_t other_rank, double eps) {
  return std::tanh(std::max(eps * static_cast<double>(learner_rank - other_rank), 0.0));
}

namespace {

// Every user's unobserved items ranked by a model: rank[u * items + i] (-1 for training items).
std::vector<std::int32_t> unobserved_ranks(TopNModel& model, const InteractionMatrix& train) {
  const std::int64_t users = model.num_users(), items = model.num_items();
  std::vector<std::int32_t> rank(static_cast<std::size_t>(users * items), -1);
  std::vector<std::int32_t> order;
  const bool was_training = model.is_training();
  model.eval();  // the ranking as the model would serve it (no dropout)
  for_each_user_block(model, [&](std::int64_t u0, std::int64_t n, const torch::Tensor& scores) {
    const float* s = scores.data_ptr<float>();
    for (std::int64_t r = 0; r < n; ++r) {
      const auto u = static_cast<std::int32_t>(u0 + r);
      const float* row = s + r * items;
      auto* out = rank.data() + (u0 + r) * items;
      for (const auto i : train.row(u)) out[i] = -2;  // marked: not ranked
      order.clear();
      for (std::int32_t i = 0; i < items; ++i)
        if (out[i] != -2) order.push_back(i);
      std::sort(order.begin(), order.end(), [row](std::int32_t a, std::int32_t b) {
        return row[a] != row[b] ? row[a] > row[b] : a < b;
      });
      for (std::size_t k = 0; k < order.size(); ++k) out[order[k]] = static_cast<std::int32_t>(k);
      for (const auto i : train.row(u)) out[i] = -1;
    }
  });
  if (was_training) model.train();
  return rank;
}

class BidirectionalDistillation : public Distiller {
 public:
  explicit BidirectionalDistillation(const ModelSpec& spec)
      : samples_(spec.get_int("samples")),
        eps_t_(spec.get_double("eps_t")),
        eps_s_(spec.get_double("eps_s")),
        teacher_weight_(spec.get_double("teacher_weight")) {}
  std::string name() const override { return "bd"; }
  bool supports_online() const override { return true; }
  bool trains_teacher() const override { return true; }

  void prepare(TopNModel& teacher, TopNModel& student, const InteractionMatrix& train) override {
    teacher_ = &teacher;
    student_ = &student;
    train_ = train;
    to_student_.clear();
  }

  // Both models' rankings of this epoch and every user's draws for both directions.
  void start_epoch(Rng& rng) override {
    if (!teacher_) throw Error("bd: prepare() was not called");
    const auto rank_t = unobserved_ranks(*teacher_, train_);
    const auto rank_s = unobserved_ranks(*student_, train_);
    const std::int64_t users = teacher_->num_users(), items = teacher_->num_items();
    to_student_.assign(static_cast<std::size_t>(users * samples_), 0);
    to_teacher_.assign(to_student_.size(), 0);
    std::vector<double> w_s(static_cast<std::size_t>(items)), w_t(w_s.size());
    for (std::int64_t u = 0; u < users; ++u) {
      const auto* rt = rank_t.data() + u * items;
      const auto* rs = rank_s.data() + u * items;
      for (std::int64_t i = 0; i < items; ++i) {
        const bool seen = rt[i] < 0;
        // The student learns where the teacher ranks higher (a smaller rank), and conversely.
        w_s[i] = seen ? 0 : rank_discrepancy_weight(rs[i], rt[i], eps_t_);
        w_t[i] = seen ? 0 : rank_discrepancy_weight(rt[i], rs[i], eps_s_);
      }
      draw(w_s, rng, to_student_.data() + u * samples_);
      draw(w_t, rng, to_teacher_.data() + u * samples_);
    }
  }

  // loss(peer, learner): the learner follows the peer on the learner's draws.
  torch::Tensor loss(TopNModel& peer, TopNModel& learner, const DistillBatch& batch) override {
    if (to_student_.empty()) start_epoch(*batch.rng);  // used outside a Trainer epoch
    const bool student_learns = &learner == student_;
    auto& draws = student_learns ? to_student_ : to_teacher_;
    const auto all = static_cast<std::int64_t>(draws.size()) / samples_;
    const auto items =
        torch::from_blob(draws.data(), {all, samples_}, torch::kLong).index_select(0, batch.users);
    const auto b = batch.users.size(0);
    const auto users = batch.users.unsqueeze(1).expand({b, samples_}).reshape({-1});
    const auto flat = items.reshape({-1});
    torch::Tensor other;
    {
      torch::NoGradGuard guard;
      other = peer.forward(users, flat).view({b, samples_});
    }
    // The student's logits through the batch (the native step's rows when it drives).
    const auto mine =
        (student_learns ? batch.score(learner, users, flat) : learner.forward(users, flat))
            .view({b, samples_});
    const auto term = soft_label_bce(mine, other);
    return student_learns ? term : teacher_weight_ * term;
  }

 private:
  // `samples_` items by weight without replacement: successive inverse-CDF draws, a repeat drawn
  // again (the weights are rebuilt without the drawn items when repeats pile up). When fewer items
  // than `samples_` have weight, the rest are repeats of the drawn ones, or uniform when none has.
  void draw(std::vector<double>& w, Rng& rng, std::int64_t* out) {
    cdf_.resize(w.size());
    std::int64_t k = 0, repeats = 0;
    std::partial_sum(w.begin(), w.end(), cdf_.begin());
    while (k < samples_) {
      const double total = cdf_.empty() ? 0 : cdf_.back();
      if (!(total > 0)) break;
      const double x = rng.uniform() * total;
      const auto i = std::min(
          static_cast<std::size_t>(std::upper_bound(cdf_.begin(), cdf_.end(), x) - cdf_.begin()),
          w.size() - 1);
      if (w[i] <= 0 || std::find(out, out + k, static_cast<std::int64_t>(i)) != out + k) {
        if (++repeats > 8 * samples_) {  // sharp weights: take the drawn ones out, rebuild
          for (std::int64_t j = 0; j < k; ++j) w[static_cast<std::size_t>(out[j])] = 0;
          std::partial_sum(w.begin(), w.end(), cdf_.begin());
          repeats = 0;
        }
        continue;
      }
      out[k++] = static_cast<std::int64_t>(i);
    }
    for (std::int64_t j = k; j < samples_; ++j)
      out[j] = k > 0 ? out[j % k] : rng.below(static_cast<std::uint32_t>(w.size()));
  }

  std::int64_t samples_;
  double eps_t_, eps_s_, teacher_weight_;
  TopNModel* teacher_ = nullptr;
  TopNModel* student_ = nullptr;
  InteractionMatrix train_;
  std::vector<std::int64_t> to_student_, to_teacher_;  // [users, samples]: this epoch's draws
  std::vector<double> cdf_;
};

DistillerPtr make_bd(const ModelSpec& spec) {
  return std::make_shared<BidirectionalDistillation>(spec);
}

}  // namespace

RECPRESS_REGISTER_DISTILLER(
    "bd",
    "Bidirectional Distillation (Kweon et al., WWW 2021): teacher and student train together, "
    "each following the other on items it ranks much lower (rank-discrepancy sampling)",
    (ParamDecls{
        int_param("samples", 10, 1, "items drawn per user, epoch and direction"),
        real_param("eps_t", 1e-3, 0, kUnbounded, true, false,
                   "sharpness of the teacher-to-student draws: tanh(eps_t * rank gap)"),
        real_param("eps_s", 1e-3, 0, kUnbounded, true, false,
                   "sharpness of the student-to-teacher draws"),
        real_param("teacher_weight", 1, 0, kUnbounded, false, false,
                   "the teacher's term, relative to the student's"),
    }),
    make_bd);

}  // namespace recpress
