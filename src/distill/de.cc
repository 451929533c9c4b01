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
    experts_ = spec.get_int("experts", 5, 1);
    tau_ = spec.get_double("tau", 1.0);
    tau_end_ = spec.get_double("tau_end", 1e-4);
    if (!(tau_ > 0 && tau_end_ > 0)) throw Error("de: tau and tau_end must be > 0");
  }
  std::string name() const override { return "de"; }

  void prepare(TopNModel& teacher, TopNModel& student, const InteractionMatrix& train) override {
    const auto probe = torch::zeros({1}, torch::kLong);
    torch::NoGradGuard guard;
    for (const char* kind : {"user", "item"}) {
      const auto t = entity_representation(teacher, kind, probe).size(1);
      const auto s = entity_representation(student, kind, probe).size(1);
      experts_of_.push_back(ExpertProjection(s, t, experts_));
    }
  }

  torch::Tensor loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch) override {
    const double tau = annealed_temperature(batch.progress, tau_, tau_end_);
    return term(teacher, student, "user", batch.users, experts_of_[0], tau, *batch.rng) +
           term(teacher, student, "item", batch.items, experts_of_[1], tau, *batch.rng);
  }

  std::vector<torch::Tensor> parameters() override {
    std::vector<torch::Tensor> out;
    for (auto& e : experts_of_)
      for (auto& p : e->parameters()) out.push_back(p);
    return out;
  }

 private:
  static torch::Tensor term(TopNModel& teacher, TopNModel& student, const char* kind,
                            const torch::Tensor& index, ExpertProjection& experts, double tau,
                            Rng& rng) {
    torch::Tensor t;
    {
      torch::NoGradGuard guard;
      t = entity_representation(teacher, kind, index);
    }
    const auto s = entity_representation(student, kind, index);
    return de_reconstruction_loss(t, experts->project(s, experts->select(t, tau, rng)));
  }

  std::int64_t experts_;
  double tau_, tau_end_;
  std::vector<ExpertProjection> experts_of_;  // users, items
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
