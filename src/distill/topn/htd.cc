// `htd`: Hierarchical Topology Distillation (Kang, Hwang, Kweon & Yu, "Topology Distillation for
// Recommender System", KDD 2021, Sec. 4).
//
// Rather than each representation alone, the student learns the teacher's *topology*: the
// similarities between entities. Full topology (all pairs) over-constrains a small student, so
// HTD splits the teacher's space into K groups and transfers it at two levels:
//   group level:  cos(P_k, P_l) between group prototypes (the mean representation of a group);
//   entity level: cos(h_i, h_j) for entities of the same group, and cos(h_i, P_k) between each
//                 entity and the prototypes of the other groups.
// As in the paper, the groups are found by DE's selection network on the teacher's
// representation (Gumbel-softmax, annealed to one-hot) and the student's representation enters
// the teacher's space through one small expert per group. Relations are compared with the
// squared difference, weighted by the (soft) group memberships, for the batch's users and items.
// L = alpha * L_group + (1 - alpha) * L_entity.
// Parameters: groups (K, 5), alpha (0.5), tau (1), tau_end (1e-4).
#include "distill/topn/htd.h"

#include "core/errors.h"
#include "distill/topn/distiller.h"
#include "distill/topn/experts.h"

namespace recpress {
namespace {

torch::Tensor cosine_matrix(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::mm(
      torch::nn::functional::normalize(a, torch::nn::functional::NormalizeFuncOptions().dim(1)),
      torch::nn::functional::normalize(b, torch::nn::functional::NormalizeFuncOptions().dim(1))
          .t());
}

torch::Tensor weighted_mean(const torch::Tensor& values, const torch::Tensor& weights) {
  return (values * weights).sum() / weights.sum().clamp_min(1e-8);
}

torch::Tensor unit_rows(const torch::Tensor& x) {
  return torch::nn::functional::normalize(x, torch::nn::functional::NormalizeFuncOptions().dim(1));
}

// The entity-entity term over pairs of the same group, weighted by shared membership (a a^T
// without its diagonal).
torch::Tensor intra_group_loss(const torch::Tensor& t, const torch::Tensor& s,
                               const torch::Tensor& a) {
  const auto n = t.size(0);
  const auto same_group = torch::mm(a, a.t()) * (1 - torch::eye(n, t.options()));
  return weighted_mean((cosine_matrix(t, t) - cosine_matrix(s, s)).pow(2), same_group);
}

// The same when every membership is one-hot (the Gumbel selection once its temperature has
// annealed): a a^T is then block-diagonal, so only each group's own N_k x N_k block is computed,
// sum_k N_k^2 instead of N^2 pairs. Exact: the same terms, and `a` gets no gradient either way
// (a softmax's Jacobian is zero at a one-hot point).
torch::Tensor intra_group_loss_one_hot(const torch::Tensor& t, const torch::Tensor& s,
                                       const torch::Tensor& group, std::int64_t groups) {
  const auto ut = unit_rows(t), us = unit_rows(s);
  torch::Tensor sum = torch::zeros({}, t.options());
  double pairs = 0;
  for (std::int64_t k = 0; k < groups; ++k) {
    const auto members = (group == k).nonzero().squeeze(1);
    const auto m = members.size(0);
    if (m < 2) continue;
    const auto tk = ut.index_select(0, members), sk = us.index_select(0, members);
    const auto d2 = (torch::mm(tk, tk.t()) - torch::mm(sk, sk.t())).pow(2);
    sum = sum + d2.sum() - d2.diagonal().sum();
    pairs += static_cast<double>(m * (m - 1));
  }
  return sum / std::max(pairs, 1e-8);
}

}  // namespace

torch::Tensor htd_topology_loss(const torch::Tensor& t, const torch::Tensor& s,
                                const torch::Tensor& a, double alpha) {
  const auto groups = a.size(1);
  const auto mass = a.sum(0).clamp_min(1e-8);                    // [K]
  const auto proto_t = torch::mm(a.t(), t) / mass.unsqueeze(1);  // [K, d_t]
  const auto proto_s = torch::mm(a.t(), s) / mass.unsqueeze(1);
  // Group level: prototype-prototype similarities, weighted by how populated both groups are.
  const auto present = (mass / mass.sum()).unsqueeze(1);
  const auto off_diagonal = 1 - torch::eye(groups, t.options());
  const auto group_loss =
      weighted_mean((cosine_matrix(proto_t, proto_t) - cosine_matrix(proto_s, proto_s)).pow(2),
                    present * present.t() * off_diagonal);
  // Entity level, within a group: entity-entity similarities weighted by shared membership.
  const auto [top, group] = a.max(1);
  const auto intra = (top == 1).all().item<bool>() ? intra_group_loss_one_hot(t, s, group, groups)
                                                   : intra_group_loss(t, s, a);
  // Entity level, across groups: entity-prototype similarities for the groups it is not in.
  const auto inter =
      weighted_mean((cosine_matrix(t, proto_t) - cosine_matrix(s, proto_s)).pow(2), 1 - a);
  return alpha * group_loss + (1 - alpha) * (intra + inter);
}

namespace {

class HierarchicalTopologyDistillation : public ExpertDistiller {
 public:
  explicit HierarchicalTopologyDistillation(const ModelSpec& spec)
      : ExpertDistiller(spec, "groups"), alpha_(spec.get_double("alpha")) {}
  std::string name() const override { return "htd"; }

 private:
  // The selection is the group membership of each entity.
  torch::Tensor term(const torch::Tensor& teacher, const torch::Tensor& projected,
                     const torch::Tensor& groups) override {
    return htd_topology_loss(teacher, projected, groups, alpha_);
  }

  double alpha_;
};

DistillerPtr make_htd(const ModelSpec& spec) {
  return std::make_shared<HierarchicalTopologyDistillation>(spec);
}

}  // namespace

RECPRESS_REGISTER_DISTILLER(
    "htd",
    "Hierarchical Topology Distillation (Kang et al., KDD 2021): the "
    "teacher's similarity structure at group and entity level",
    [] {
      ParamDecls p = expert_params("groups", "groups per entity kind");
      p.push_back(real_param("alpha", 0.5, 0, 1, false, false,
                             "weight of the group level (1 - alpha: "
                             "entity level)"));
      return p;
    }(),
    make_htd);

}  // namespace recpress
