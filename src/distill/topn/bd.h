// `bd` (Kweon et al., WWW 2021); see bd.cc. Its pieces are exposed for hand-computed tests.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace recpress {

// The binary cross-entropy of sigmoid(logits) against sigmoid(other_logits) as soft labels (no
// gradient into the other model), the mean over a row's items, then over rows; [B, n] each.
torch::Tensor soft_label_bce(const torch::Tensor& logits, const torch::Tensor& other_logits);
// How much a model should learn item i from the other model: tanh(max(eps (rank of i by the
// learner - rank by the other), 0)); ranks from 0 (best). Zero where the learner ranks it higher.
double rank_discrepancy_weight(std::int64_t learner_rank, std::int64_t other_rank, double eps);

}  // namespace recpress
