// Training losses for implicit feedback.
//   pointwise BCE (NCF, He et al. 2017, eq. 7): -[y log s(x) + (1 - y) log(1 - s(x))], mean over
//     positives and their sampled negatives;
//   BPR (Rendle et al., UAI 2009, eq. 4 without the prior): -log s(x_ui - x_uj), mean over
//     (user, positive, negative) triples. The L2 prior is the optimiser's weight decay;
//   multinomial (Mult-VAE): below.
#pragma once

#include <torch/torch.h>

#include <string>

namespace recpress {

torch::Tensor pointwise_bce_loss(const torch::Tensor& logits, const torch::Tensor& labels);
torch::Tensor bpr_loss(const torch::Tensor& positive_logits, const torch::Tensor& negative_logits);

// Full-softmax cross-entropy, mean over rows: -(1/N) sum_r log softmax(x_r)[t_r] for logits
// [N, C] (fp32 or bf16) and 0-based targets [N] in [0, C), with its gradient (softmax(x_r) -
// onehot(t_r)) / N computed in the same pass over each row while the row is in cache and kept
// for the backward pass. LibTorch's cross_entropy made ~8 passes over the [N, C] matrix
// (log_softmax, its output, the NLL gather, the zeroed gradient, log_softmax's backward, and a
// cast each way under autocast), the largest element-wise cost of a full-softmax SASRec or
// BERT4Rec epoch. The same value and gradient as cross_entropy to fp32 rounding (tested).
// Double logits go through LibTorch's cross_entropy (double precision, for gradient checks).
// Throws Error for a target outside [0, C) or mismatched shapes.
torch::Tensor full_softmax_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets);

// The multinomial log-likelihood (Mult-VAE, Liang et al., WWW 2018, eq. 1-2) as a loss, the mean
// over the B users of a batch: -(1/B) sum_u sum_{i in x_u} log softmax(logits_u)_i, for logits
// [B, I] and the observed pairs given as their row in the batch and item, int64 [N] each.
// Throws Error for a pair outside the logits.
torch::Tensor multinomial_loss(const torch::Tensor& logits, const torch::Tensor& rows,
                               const torch::Tensor& items);

enum class LossKind { kBce, kBpr, kMultinomial };
LossKind parse_loss(const std::string& name);  // "bce" | "bpr" | "multinomial"; throws Error
const char* to_string(LossKind kind);

}  // namespace recpress
