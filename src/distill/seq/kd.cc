// `kd` for next-item models: Hinton et al. 2015 over the next-item distribution. At every position
// where the student is trained to predict an item (BERT4Rec: the masked ones; SASRec: every real
// one), the student's softmax over all items at temperature T matches the teacher's:
//   T^2 * KL(softmax(z_t / T) || softmax(z_s / T)), averaged over those positions.
// The full catalog is small enough here (a few thousand items) to need no candidate sampling.
#include "core/errors.h"
#include "distill/common/soft_targets.h"
#include "distill/seq/distiller.h"

namespace recpress {

class SeqKd : public SeqDistiller {
 public:
  explicit SeqKd(const ModelSpec& spec) {
    temperature_ = spec.get_double("temperature");
    if (!(temperature_ > 0)) throw Error("kd: temperature must be > 0");
  }
  std::string name() const override { return "kd"; }

  torch::Tensor loss(SeqModel& teacher, SeqModel& student, const SeqDistillBatch& b) override {
    const auto where = b.input->targets.gt(0);
    torch::Tensor teacher_logits;
    {
      torch::NoGradGuard guard;
      teacher_logits = teacher.item_logits(b.teacher->hidden.index({where}));
    }
    return kd_soft_target_loss(teacher_logits,
                               student.item_logits(b.student->hidden.index({where})), temperature_);
  }

 private:
  double temperature_ = 1.0;
};

namespace {
SeqDistillerPtr make_seq_kd(const ModelSpec& s) {
  return std::make_shared<SeqKd>(s);
}
}  // namespace
RECPRESS_REGISTER_SEQ_DISTILLER("kd",
                                "Hinton et al. 2015: T^2 KL(teacher softmax over all items || "
                                "student's) at every trained position",
                                ParamDecls{real_param("temperature", 1.0, 0, kUnbounded, true,
                                                      false, "softening temperature")},
                                make_seq_kd);

}  // namespace recpress
