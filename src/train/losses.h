// Training losses for implicit feedback.
//   pointwise BCE (NCF, He et al. 2017, eq. 7): -[y log s(x) + (1 - y) log(1 - s(x))], mean over
//     positives and their sampled negatives;
//   BPR (Rendle et al., UAI 2009, eq. 4 without the prior): -log s(x_ui - x_uj), mean over
//     (user, positive, negative) triples. The L2 prior is the optimiser's weight decay.
#pragma once

#include <torch/torch.h>

#include <string>

namespace recpress {

torch::Tensor pointwise_bce_loss(const torch::Tensor& logits, const torch::Tensor& labels);
torch::Tensor bpr_loss(const torch::Tensor& positive_logits, const torch::Tensor& negative_logits);

enum class LossKind { kBce, kBpr };
LossKind parse_loss(const std::string& name);  // "bce" | "bpr"; throws Error
const char* to_string(LossKind kind);

}  // namespace recpress
