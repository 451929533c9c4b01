#include "train/losses.h"

#include "core/errors.h"

namespace recpress {

torch::Tensor pointwise_bce_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
  // The with-logits form is the numerically stable one: log(1 + exp(-|x|)) + max(x, 0) - x y.
  return torch::binary_cross_entropy_with_logits(logits, labels);
}

torch::Tensor bpr_loss(const torch::Tensor& positive_logits, const torch::Tensor& negative_logits) {
  // -log sigmoid(d) = softplus(-d), stable for large |d|.
  return torch::softplus(negative_logits - positive_logits).mean();
}

LossKind parse_loss(const std::string& name) {
  if (name == "bce") return LossKind::kBce;
  if (name == "bpr") return LossKind::kBpr;
  throw Error("unknown loss '" + name + "' (expected bce or bpr)");
}

const char* to_string(LossKind kind) {
  return kind == LossKind::kBce ? "bce" : "bpr";
}

}  // namespace recpress
