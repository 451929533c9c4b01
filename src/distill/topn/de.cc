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
#include "distill/topn/distiller.h"
#include "distill/topn/experts.h"

namespace recpress {
namespace {

class DistillationExperts : public ExpertDistiller {
 public:
  explicit DistillationExperts(const ModelSpec& spec) : ExpertDistiller(spec, "experts") {}
  std::string name() const override { return "de"; }

 private:
  torch::Tensor term(const torch::Tensor& teacher, const torch::Tensor& projected,
                     const torch::Tensor& selection) override {
    return de_reconstruction_loss(teacher, projected);
  }
};

DistillerPtr make_de(const ModelSpec& spec) {
  return std::make_shared<DistillationExperts>(spec);
}

}  // namespace

RECPRESS_REGISTER_DISTILLER(
    "de",
    "Distillation Experts (Kang et al., CIKM 2020): reconstruct the teacher's "
    "user/item representations through Gumbel-selected experts",
    expert_params("experts", "experts (M) per entity kind"), make_de);

}  // namespace recpress
