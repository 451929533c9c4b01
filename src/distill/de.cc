// `de`: Distillation Experts (Kang, Hwang, Kweon & Yu, "DE-RRD: A Knowledge Distillation
// Framework for Recommender System", CIKM 2020, Sec. 3.1).
//
// The teacher's user and item representations hold its knowledge of the latent space. For users
// and items separately, M experts map the student's representation into the teacher's space; a
// selection network on the teacher's representation picks one expert per entity through a
// Gumbel-softmax whose temperature anneals from `tau` to `tau_end` over training, so that
// entities with similar teacher representations share an expert and distinct ones do not mix.
// Loss (eq. 6): ||h_t - sum_m s_m E_m(h_s)||^2 for the batch's users plus for its items.
// Parameters: experts (M, 5), tau (1), tau_end (1e-4).
#include "core/errors.h"
#include "distill/distiller.h"
#include "distill/experts.h"

namespace recpress {
namespace {

class DistillationExperts : public Distiller {
 public:
  explicit DistillationExperts(const ModelSpec& spec) {
    spec.allow_only({"experts", "tau", "tau_end"});
    count_ = spec.get_int("experts", 5, 1);
    tau_ = spec.get_double("tau", 1.0);
    tau_end_ = spec.get_double("tau_end", 1e-4);
    if (!(tau_ > 0 && tau_end_ > 0)) throw Error("de: tau and tau_end must be > 0");
  }
  std::string name() const override { return "de"; }

  void prepare(TopNModel& teacher, TopNModel& student, const InteractionMatrix& train) override {
    experts_.create(teacher, student, count_);
  }

  torch::Tensor loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch) override {
    const double tau = annealed_temperature(batch.progress, tau_, tau_end_);
    torch::Tensor out;
    for (const auto& [kind, index] : {std::pair{"user", batch.users}, {"item", batch.items}}) {
      const auto [t, s] = representation_pair(teacher, student, kind, index);
      auto& e = experts_.of(kind);
      const auto l = de_reconstruction_loss(t, e->project(s, e->select(t, tau, *batch.rng)));
      out = out.defined() ? out + l : l;
    }
    return out;
  }

  std::vector<torch::Tensor> parameters() override { return experts_.parameters(); }

 private:
  std::int64_t count_;
  double tau_, tau_end_;
  EntityExperts experts_;
};

DistillerPtr make_de(const ModelSpec& spec) {
  return std::make_shared<DistillationExperts>(spec);
}

}  // namespace

RECPRESS_REGISTER_DISTILLER("de",
                            "Distillation Experts, student->teacher representation experts with "
                            "Gumbel selection (experts, tau, tau_end)",
                            make_de);

}  // namespace recpress
