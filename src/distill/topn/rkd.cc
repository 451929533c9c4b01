// `rkd`: Relational Knowledge Distillation (Park, Kim, Lu & Cho, CVPR 2019).
// The student's embeddings need not match the teacher's (their widths differ), only their
// relations within the batch: distance-wise (eq. 4-5, distances normalised by their batch mean)
// and angle-wise (eq. 6-7, the cosine of the angle at each vertex of each triplet), compared with
// the Huber loss: L = lambda_D * L_dist + lambda_A * L_angle (the paper's 1 and 2), over the
// batch's users and over its items. The angle term is cubic in the batch size, so it uses at most
// `angle` entities of each kind. Parameters: distance (1), angle_weight (2), angle (32).
#include "distill/topn/rkd.h"

#include <numeric>

#include "core/errors.h"
#include "distill/topn/distiller.h"

namespace recpress {
namespace {

torch::Tensor pairwise_distances(const torch::Tensor& x) {
  const auto sq = x.pow(2).sum(1);
  const auto d2 = (sq.unsqueeze(1) + sq.unsqueeze(0) - 2 * torch::mm(x, x.t())).clamp_min(1e-12);
  return d2.sqrt() * (1 - torch::eye(x.size(0), x.options()));
}

torch::Tensor normalised_distances(const torch::Tensor& x) {
  const auto n = x.size(0);
  const auto d = pairwise_distances(x);
  const auto mu = d.sum() / static_cast<double>(n * (n - 1));
  return d / mu.clamp_min(1e-12);
}

torch::Tensor angles(const torch::Tensor& x) {
  // e[j][i] = (x_i - x_j) / ||x_i - x_j||; angle(i, j, k) = <e[j][i], e[j][k]>, through the Gram
  // matrix G = x x^T: <x_i - x_j, x_k - x_j> = G_ik - G_ij - G_jk + G_jj and ||x_i - x_j||^2 =
  // G_ii + G_jj - 2 G_ij. One n x n product instead of n difference matrices of n x d and a
  // batch of n products (LibTorch runs a batch of small products one matrix at a time: profiled,
  // that was most of rkd's time). An angle with the vertex itself (i = j or k = j) is 0, as
  // normalize() makes it; it is set so rather than computed, since there the difference of the
  // G terms is rounding noise over a zero norm.
  const auto n = x.size(0);
  const auto g = torch::mm(x, x.t());
  const auto sq = g.diagonal();
  const auto off = 1 - torch::eye(n, x.options());
  // Clamped before the root, so that the diagonal's zero takes no (infinite) gradient.
  const auto norm = (sq.unsqueeze(1) + sq.unsqueeze(0) - 2 * g).clamp_min(1e-24).sqrt();
  const auto inverse = off / norm;  // [j, i]: 1 / ||x_i - x_j||, 0 on the diagonal
  // [j, i, k]: g[i][k] - g[j][i] - g[j][k] + g[j][j]
  const auto dot = g.unsqueeze(0) - g.unsqueeze(2) - g.unsqueeze(1) + sq.view({-1, 1, 1});
  return dot * inverse.unsqueeze(2) * inverse.unsqueeze(1);
}

}  // namespace

torch::Tensor rkd_distance_loss(const torch::Tensor& teacher, const torch::Tensor& student) {
  const auto n = teacher.size(0);
  const auto off = 1 - torch::eye(n, teacher.options());
  const auto diff = torch::nn::functional::smooth_l1_loss(
      normalised_distances(student), normalised_distances(teacher),
      torch::nn::functional::SmoothL1LossFuncOptions().reduction(torch::kNone));
  return (diff * off).sum() / static_cast<double>(n * (n - 1));
}

torch::Tensor rkd_angle_loss(const torch::Tensor& teacher, const torch::Tensor& student) {
  return torch::nn::functional::smooth_l1_loss(angles(student), angles(teacher));
}

namespace {

class RelationalDistillation : public Distiller {
 public:
  explicit RelationalDistillation(const ModelSpec& spec) {
    distance_weight_ = spec.get_double("distance");
    angle_weight_ = spec.get_double("angle_weight");
    angle_entities_ = spec.get_int("angle");
    if (distance_weight_ < 0 || angle_weight_ < 0) throw Error("rkd: weights must be >= 0");
  }
  std::string name() const override { return "rkd"; }
  bool student_through_batch() const override { return true; }
  bool supports_online() const override { return true; }

  torch::Tensor loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch) override {
    return term(teacher, student, "user", batch.users, batch) +
           term(teacher, student, "item", batch.items, batch);
  }

 private:
  torch::Tensor term(TopNModel& teacher, TopNModel& student, const char* kind,
                     const torch::Tensor& index, const DistillBatch& batch) const {
    Rng& rng = *batch.rng;
    if (index.size(0) < 3) return torch::zeros({}, torch::kFloat);
    const auto [t, s] = representation_pair(teacher, student, kind, index, batch);
    auto out = distance_weight_ * rkd_distance_loss(t, s);
    if (angle_weight_ > 0) {
      // A random subset of the batch for the cubic angle term.
      const auto n = index.size(0), m = std::min(angle_entities_, n);
      auto pick = torch::empty({m}, torch::kLong);
      std::vector<std::int64_t> order(static_cast<std::size_t>(n));
      std::iota(order.begin(), order.end(), 0);
      for (std::int64_t k = 0; k < m; ++k) {  // partial Fisher-Yates
        const auto j = k + rng.below(static_cast<std::uint32_t>(n - k));
        std::swap(order[static_cast<std::size_t>(k)], order[static_cast<std::size_t>(j)]);
        pick[k] = order[static_cast<std::size_t>(k)];
      }
      out = out + angle_weight_ * rkd_angle_loss(t.index_select(0, pick), s.index_select(0, pick));
    }
    return out;
  }

  double distance_weight_, angle_weight_;
  std::int64_t angle_entities_;
};

DistillerPtr make_rkd(const ModelSpec& spec) {
  return std::make_shared<RelationalDistillation>(spec);
}

}  // namespace

RECPRESS_REGISTER_DISTILLER("rkd",
                            "Relational KD (Park et al., CVPR 2019): distance- and angle-wise "
                            "relations of the batch's embeddings",
                            (ParamDecls{
                                real_param("distance", 1.0, 0, kUnbounded, false, false,
                                           "weight of the distance-wise term"),
                                real_param("angle_weight", 2.0, 0, kUnbounded, false, false,
                                           "weight of the angle-wise term"),
                                int_param("angle", 32, 3, "entities whose triplets form angles")}),
                            make_rkd);

}  // namespace recpress
