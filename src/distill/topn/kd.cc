// `kd`: response-based knowledge distillation (Hinton, Vinyals & Dean, "Distilling the Knowledge in
// a Neural Network", 2015), adapted to ranking: for each user of the batch, `candidates` items are
// drawn uniformly; the student's temperature-softened distribution over them matches the
// teacher's:  T^2 * KL( softmax(t / T) || softmax(s / T) ), averaged over users (eq. 2 of the
// paper; the T^2 keeps gradient magnitudes comparable across temperatures).
// Parameters: temperature (default 2), candidates (default 50).
// A frozen teacher's scores are computed once per run (TeacherScores, up to 512 MB) and looked up
// per batch: the same numbers as scoring the drawn candidates, without a teacher pass per batch.
#include "core/errors.h"
#include "distill/common/soft_targets.h"
#include "distill/topn/distiller.h"

namespace recpress {
namespace {

class KnowledgeDistillation : public Distiller {
 public:
  explicit KnowledgeDistillation(const ModelSpec& spec) {
    temperature_ = spec.get_double("temperature");
    candidates_ = spec.get_int("candidates");
    if (!(temperature_ > 0)) throw Error("kd: temperature must be > 0");
  }
  std::string name() const override { return "kd"; }
  bool student_through_batch() const override { return true; }
  bool supports_online() const override { return true; }
  void prepare(TopNModel& teacher, TopNModel&, const InteractionMatrix&) override {
    teacher_scores_.compute(teacher, std::int64_t{512} << 20);
  }

  torch::Tensor loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch) override {
    const auto b = batch.users.size(0);
    const auto items = sample_candidates(b, candidates_, student.num_items(), *batch.rng);
    const auto users = batch.users.unsqueeze(1).expand({b, candidates_}).reshape({-1});
    const auto t =
        teacher_scores_.lookup(teacher, users, items.reshape({-1})).view({b, candidates_});
    const auto s = batch.score(student, users, items.reshape({-1})).view({b, candidates_});
    return kd_soft_target_loss(t, s, temperature_);
  }

 private:
  double temperature_;
  std::int64_t candidates_;
  TeacherScores teacher_scores_;
};

DistillerPtr make_kd(const ModelSpec& spec) {
  return std::make_shared<KnowledgeDistillation>(spec);
}

}  // namespace

RECPRESS_REGISTER_DISTILLER(
    "kd",
    "Hinton, Vinyals & Dean 2015: the teacher's temperature-softened scores over sampled "
    "candidates",
    (ParamDecls{real_param("temperature", 2.0, 0, kUnbounded, true, false, "softening temperature"),
                int_param("candidates", 50, 2, "items per user the softmax runs over")}),
    make_kd);

}  // namespace recpress
