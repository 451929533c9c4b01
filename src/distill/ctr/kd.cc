// `kd` for CTR: Hinton et al. 2015 ("Distilling the Knowledge in a Neural Network", eq. 2 and the
// T^2 scaling of Sec. 2.1) for a binary output. The teacher's click probability softened by the
// temperature, p_t = sigmoid(z_t / T), is a soft label for the student's sigmoid(z_s / T):
//   soft = T^2 * BCE(sigmoid(z_s / T), p_t),  hard = BCE(sigmoid(z_s), y).
// The term returned is alpha * (soft - hard): added to the student's own hard loss by the trainer,
// the total is (1 - alpha) * hard + alpha * soft, the paper's mixture. The teacher's logits for
// every training row are computed once in prepare().
#include "distill/common/soft_targets.h"
#include "distill/ctr/distiller.h"

#include "core/errors.h"

namespace recpress {

class CtrKd : public CtrDistiller {
 public:
  explicit CtrKd(const ModelSpec& spec) {
    alpha_ = spec.get_double("alpha");
    temperature_ = spec.get_double("temperature");
    if (alpha_ < 0 || alpha_ > 1) throw Error("kd: alpha must be in [0, 1]");
    if (!(temperature_ > 0)) throw Error("kd: temperature must be > 0");
  }
  std::string name() const override { return "kd"; }

  void prepare(CtrModel& teacher, CtrModel& student, const CtrRows& train) override {
    teacher_logits_ = ctr_predict_logits(teacher, train);
  }

  torch::Tensor loss(CtrModel& teacher, CtrModel& student, const CtrDistillBatch& b) override {
    const auto& z = b.student->logits;
    const auto soft =
        kd_binary_soft_target_loss(teacher_logits_.index_select(0, b.rows), z, temperature_);
    const auto hard = torch::binary_cross_entropy_with_logits(z, b.labels);
    return alpha_ * (soft - hard);
  }

 private:
  double alpha_ = 0.5, temperature_ = 1.0;
  torch::Tensor teacher_logits_;
};

namespace {
CtrDistillerPtr make_ctr_kd(const ModelSpec& s) {
  return std::make_shared<CtrKd>(s);
}
}  // namespace
RECPRESS_REGISTER_CTR_DISTILLER(
    "kd",
    "Hinton et al. 2015, binary form: (1 - alpha) BCE(label) + alpha T^2 BCE(sigmoid(z_s/T), "
    "sigmoid(z_t/T)); teacher logits cached once",
    (ParamDecls{
        real_param("alpha", 0.5, 0, 1, false, false, "weight of the soft term"),
        real_param("temperature", 1.0, 0, kUnbounded, true, false, "softening temperature")}),
    make_ctr_kd);

}  // namespace recpress
