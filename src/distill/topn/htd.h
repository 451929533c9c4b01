// `htd` (Kang et al., KDD 2021); see htd.cc. The topology loss is exposed for hand-computed tests.
#pragma once

#include <torch/torch.h>

namespace recpress {

// Teacher representations t [N, d], the student's projected into the teacher's space s [N, d],
// group memberships a [N, K] (rows sum to 1): alpha * group-level + (1 - alpha) * entity-level
// squared differences of cosine similarities.
torch::Tensor htd_topology_loss(const torch::Tensor& t, const torch::Tensor& s,
                                const torch::Tensor& a, double alpha);

// The same loss with its gradients d loss / d s and d loss / d a computed by hand, no autograd
// graph. Rows of `a` with one nonzero weight pair only within their group (blocks); the others
// against every entity. d_a is 0 where a is 0 (a flushed selection weight passes no gradient).
struct TopologyGradient {
  double value = 0;
  torch::Tensor d_s, d_a;
};
TopologyGradient htd_topology_by_hand(const torch::Tensor& t, const torch::Tensor& s,
                                      const torch::Tensor& a, double alpha);

}  // namespace recpress
