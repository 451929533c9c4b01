// `derrd`: DE + RRD trained together, as the DE-RRD paper (Kang et al., CIKM 2020, eq. 9):
//   L = L_base + lambda_DE * L_DE + lambda_RRD * L_RRD.
// The two parts are the registered `de` and `rrd` methods; their parameters pass through with a
// prefix (de.experts=5, rrd.interesting=10, ...), and `de` / `rrd` are the two lambdas.
#include "core/errors.h"
#include "distill/topn/distiller.h"

namespace recpress {
namespace {

class DeRrd : public Distiller {
 public:
  explicit DeRrd(const ModelSpec& spec) {
    ModelSpec de{"de", {}}, rrd{"rrd", {}};
    for (const auto& [key, value] : spec.params) {
      if (key == "de") {
        de_weight_ = spec.get_double("de", 1.0);
      } else if (key == "rrd") {
        rrd_weight_ = spec.get_double("rrd", 1.0);
      } else if (key.rfind("de.", 0) == 0) {
        de.params[key.substr(3)] = value;
      } else if (key.rfind("rrd.", 0) == 0) {
        rrd.params[key.substr(4)] = value;
      } else {
        throw Error("derrd: unknown parameter '" + key +
                    "' (known: de, rrd, de.<de parameter>, rrd.<rrd parameter>)");
      }
    }
    de_ = create_distiller(de);
    rrd_ = create_distiller(rrd);
  }
  std::string name() const override { return "derrd"; }
  bool student_through_batch() const override {
    return de_->student_through_batch() && rrd_->student_through_batch();
  }

  void prepare(TopNModel& teacher, TopNModel& student, const InteractionMatrix& train) override {
    de_->prepare(teacher, student, train);
    rrd_->prepare(teacher, student, train);
  }
  void start_epoch(Rng& rng) override {
    de_->start_epoch(rng);
    rrd_->start_epoch(rng);
  }
  torch::Tensor loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch) override {
    // Sequenced (the operands of + are not): DE's Gumbel noise, then RRD's lists.
    const auto de = de_weight_ * de_->loss(teacher, student, batch);
    return de + rrd_weight_ * rrd_->loss(teacher, student, batch);
  }
  NativeTerm native_loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch,
                         StudentRows& rows, double weight) override {
    // The same order of draws as loss(): DE's Gumbel noise, then RRD's lists.
    auto de = de_->native_loss(teacher, student, batch, rows, weight * de_weight_);
    const auto rrd = rrd_->native_loss(teacher, student, batch, rows, weight * rrd_weight_);
    de.by_hand += rrd.by_hand;
    if (rrd.autograd.defined())
      de.autograd = de.autograd.defined() ? de.autograd + rrd.autograd : rrd.autograd;
    return de;
  }
  std::vector<torch::Tensor> parameters() override { return de_->parameters(); }

 private:
  double de_weight_ = 1.0, rrd_weight_ = 1.0;
  DistillerPtr de_, rrd_;
};

DistillerPtr make_derrd(const ModelSpec& spec) {
  return std::make_shared<DeRrd>(spec);
}

}  // namespace

RECPRESS_REGISTER_DISTILLER(
    "derrd",
    "DE + RRD (Kang et al., CIKM 2020, eq. 9): both; `de`, `rrd` are the two "
    "weights (1), `de.X` / `rrd.X` pass parameter X to each",
    std::nullopt, make_derrd);

}  // namespace recpress
