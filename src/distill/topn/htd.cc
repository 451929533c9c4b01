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
// Ours (issue 19): the native step computes the term and both its gradients (the projected
// representations' and the memberships') by hand, htd_topology_by_hand: rows whose selection is
// one-hot pair only within their group's block, the few mixed ones against every entity. Exact;
// checked against autograd on one-hot, nearly one-hot and soft memberships.
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

// torch's normalize backward: u = x / max(|x|, eps) row-wise; d x from d u.
torch::Tensor unit_rows_backward(const torch::Tensor& x, const torch::Tensor& u,
                                 const torch::Tensor& du) {
  constexpr double kEps = 1e-12;  // normalize()'s default
  const auto norm = x.norm(2, 1, /*keepdim=*/true);
  const auto clamped = norm.clamp_min(kEps);
  return torch::where(norm > kEps, (du - u * (u * du).sum(1, true)) / clamped, du / clamped);
}

}  // namespace

TopologyGradient htd_topology_by_hand(const torch::Tensor& t, const torch::Tensor& s,
                                      const torch::Tensor& a, double alpha) {
  torch::NoGradGuard guard;
  const auto n = t.size(0), groups = a.size(1);
  const auto opts = s.options();
  const auto raw_mass = a.sum(0);
  const auto mass = raw_mass.clamp_min(1e-8);  // as htd_topology_loss: empty groups weigh ~0
  const auto kept = (raw_mass >= 1e-8).to(s.dtype());  // where the clamp passes a gradient
  const auto proto_t = torch::mm(a.t(), t) / mass.unsqueeze(1);
  const auto proto_s = torch::mm(a.t(), s) / mass.unsqueeze(1);
  const auto ut = unit_rows(t), us = unit_rows(s), upt = unit_rows(proto_t),
             ups = unit_rows(proto_s);
  // Each level is sum w (C_t - C_s)^2 / sum w over cosine matrices C = U V^T, so
  // d / d C_s = -2 w (C_t - C_s) / sum w, then d U = dC V (and dC^T U for V); with w = w(a),
  // d / d w = ((C_t - C_s)^2 - L) / sum w.
  // Group level: prototype pairs weighted by both groups' shares (symmetric: d U = 2 dC U).
  const auto share = mass / mass.sum();
  const auto off = 1 - torch::eye(groups, opts);
  const auto w_group = torch::outer(share, share) * off;
  const double w_group_sum = std::max(w_group.sum().item<double>(), 1e-8);
  const auto diff_group = torch::mm(upt, upt.t()) - torch::mm(ups, ups.t());
  const double group_loss = (w_group * diff_group.pow(2)).sum().item<double>() / w_group_sum;
  auto d_ups = torch::mm(w_group * diff_group, ups) * (-4 * alpha / w_group_sum);
  auto d_upt = torch::mm(w_group * diff_group, upt) * (4 * alpha / w_group_sum);

  // Entity level within groups: pairs i != j weighted by a_i . a_j. Rows with one nonzero
  // membership (most, once the selection has annealed) pair only within their group: those are
  // sorted by group and take one block each, sum_k N_k^2 pairs instead of N^2. The other
  // ("mixed") rows take a row against every entity. S = sum w D^2 over ordered pairs, D the
  // difference of cosines; d S / d u_s,i = -4 sum_j w_ij D_ij u_s,j; R_ik = sum_j a_jk D_ij^2.
  const auto one = (a > 0).sum(1) == 1;
  const auto pure = one.nonzero().squeeze(1), mixed = (~one).nonzero().squeeze(1);
  const auto [top, chosen] = a.max(1);
  auto d_us = torch::zeros_like(us);
  auto r = torch::zeros_like(a);
  double intra_sum = 0, intra_weight = 0;
  if (pure.numel() > 0) {
    const auto pure_group = chosen.index_select(0, pure);
    const auto rows = pure.index_select(0, torch::argsort(pure_group));
    const auto sizes = torch::bincount(pure_group, {}, groups);
    const auto* size = sizes.data_ptr<std::int64_t>();
    const auto ut_b = ut.index_select(0, rows), us_b = us.index_select(0, rows);
    const auto w_b = top.index_select(0, rows);
    auto d_us_b = torch::zeros_like(us_b);
    auto r_b = torch::zeros({rows.numel()}, opts);
    for (std::int64_t k = 0, begin = 0; k < groups; begin += size[k], ++k) {
      if (size[k] < 2) continue;
      const auto tk = ut_b.narrow(0, begin, size[k]), sk = us_b.narrow(0, begin, size[k]);
      const auto wk = w_b.narrow(0, begin, size[k]);
      auto diff = torch::mm(tk, tk.t()) - torch::mm(sk, sk.t());
      diff.fill_diagonal_(0);  // pairs of distinct entities only
      const auto weighted = diff * torch::outer(wk, wk);
      intra_sum += (weighted * diff).sum().item<double>();
      intra_weight += (wk.sum().pow(2) - wk.pow(2).sum()).item<double>();
      d_us_b.narrow(0, begin, size[k]).addmm_(weighted, sk);
      r_b.narrow(0, begin, size[k]).copy_(torch::mv(diff.pow(2), wk));
    }
    d_us.index_copy_(0, rows, d_us_b);
    r.index_put_({rows, chosen.index_select(0, rows)}, r_b);
  }
  if (mixed.numel() > 0) {
    const auto a_x = a.index_select(0, mixed), us_x = us.index_select(0, mixed);
    const auto self = torch::arange(mixed.numel());
    auto w_x = torch::mm(a_x, a.t());
    w_x.index_put_({self, mixed}, 0);  // no pair of an entity with itself
    const auto diff_x = torch::mm(ut.index_select(0, mixed), ut.t()) - torch::mm(us_x, us.t());
    // A pure row j pairs with a mixed row i both as (i, j) and (j, i); a mixed one is a row itself.
    auto twice = torch::full({n}, 2.0, opts);
    twice.index_fill_(0, mixed, 1.0);
    intra_sum += (w_x * diff_x.pow(2) * twice).sum().item<double>();
    intra_weight += (w_x * twice).sum().item<double>();
    const auto g_x = w_x * diff_x;
    d_us.index_add_(0, mixed, torch::mm(g_x, us));
    d_us.index_add_(0, pure, torch::mm(g_x.t(), us_x).index_select(0, pure));
    auto sq = diff_x.pow(2);
    sq.index_put_({self, mixed}, 0);
    r.index_add_(0, mixed, torch::mm(sq, a));
    r.index_add_(0, pure, torch::mm(sq.t(), a_x).index_select(0, pure));
  }
  const double intra_norm = std::max(intra_weight, 1e-8);
  const double intra = intra_sum / intra_norm;
  d_us.mul_(-4 * (1 - alpha) / intra_norm);
  auto d_a = (r - intra * (raw_mass.unsqueeze(0) - a)) * (2 * (1 - alpha) / intra_norm);

  // Entity level across groups: each entity against the prototypes, weighted by 1 - a_ik.
  const auto w_inter = 1 - a;
  const double w_inter_sum = std::max(w_inter.sum().item<double>(), 1e-8);
  const auto diff_inter = torch::mm(ut, upt.t()) - torch::mm(us, ups.t());
  const double inter = (w_inter * diff_inter.pow(2)).sum().item<double>() / w_inter_sum;
  const auto d_inter = w_inter * diff_inter * (-2 * (1 - alpha) / w_inter_sum);
  d_us.addmm_(d_inter, ups);
  d_ups.addmm_(d_inter.t(), us);
  d_upt.addmm_(d_inter.t(), ut, 1, -1);
  d_a += (inter - diff_inter.pow(2)) * ((1 - alpha) / w_inter_sum);

  // Back through the normalisations and the prototypes, P_k = sum_i a_ik x_i / m_k:
  // d x_i = sum_k a_ik d P_k / m_k and d a_ik = (x_i . d P_k - [m_k unclamped] P_k . d P_k) / m_k.
  const auto d_proto_s = unit_rows_backward(proto_s, ups, d_ups) / mass.unsqueeze(1);
  const auto d_proto_t = unit_rows_backward(proto_t, upt, d_upt) / mass.unsqueeze(1);
  auto d_s = unit_rows_backward(s, us, d_us) + torch::mm(a, d_proto_s);
  for (const auto& [x, proto, d_proto] :
       {std::tuple{s, proto_s, d_proto_s}, std::tuple{t, proto_t, d_proto_t}})
    d_a += torch::mm(x, d_proto.t()) - (kept * (proto * d_proto).sum(1)).unsqueeze(0);
  // The group shares p = m / sum m: d p_k / d m_j = (delta_kj - p_k) / sum m.
  const auto d_share =
      (torch::mv(diff_group.pow(2) * off, share) - torch::mv(off, share) * group_loss) *
      (2 * alpha / w_group_sum);
  d_a += ((d_share - (d_share * share).sum()) / mass.sum() * kept).unsqueeze(0);
  // A membership flushed to 0 passes no gradient (the selection's mask): left at 0.
  d_a *= (a > 0).to(d_a.dtype());
  return {alpha * group_loss + (1 - alpha) * (intra + inter), d_s, d_a};
}

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
  // The whole term by hand, memberships' gradient included (no autograd graph).
  bool has_term_by_hand() const override { return true; }
  TermGradient term_by_hand(const torch::Tensor& teacher, const torch::Tensor& projected,
                            const torch::Tensor& groups) override {
    auto g = htd_topology_by_hand(teacher, projected, groups, alpha_);
    return {g.value, g.d_s, g.d_a};
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
