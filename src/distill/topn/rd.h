// `rd` (Tang & Wang, KDD 2018); see rd.cc. The pieces are exposed for hand-computed tests.
#pragma once

#include <torch/torch.h>

namespace recpress {

// w^a_r = exp(-r / lambda) for r = 1..k, normalised to sum to 1: float [k].
torch::Tensor rd_position_weights(std::int64_t k, double lambda);
// w^b = tanh(max(mu (rhat_r - r), 0)) for estimated ranks rhat [B, k] of the teacher's top-k.
torch::Tensor rd_discrepancy_weights(const torch::Tensor& estimated_ranks, double mu);
// sum_r w_r * -log sigma(s_r), averaged over rows: student_logits, weights [B, k].
torch::Tensor rd_loss(const torch::Tensor& student_logits, const torch::Tensor& weights);

}  // namespace recpress
