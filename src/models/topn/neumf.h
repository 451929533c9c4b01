// NeuMF (He et al. 2017, eq. 11-12): a GMF and an MLP with separate embeddings; their last layers
// are concatenated into one linear head. Parameters: dim (both parts, default 32), layers (3).
// Pre-training (Sec. 3.4.1): initialise from trained GMF and MLP models, with the head
// h = [alpha * h_GMF ; (1 - alpha) * h_MLP], alpha = 0.5, then train with plain SGD.
#pragma once

#include "models/topn/gmf.h"
#include "models/topn/mlp.h"

namespace recpress {

class NeuMFImpl : public TopNModel {
 public:
  NeuMFImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items);
  torch::Tensor forward(const torch::Tensor& users, const torch::Tensor& items) override;
  torch::Tensor score_all(const torch::Tensor& users) override;
  std::vector<std::pair<std::string, torch::Tensor>> representations(
      const torch::Tensor& users, const torch::Tensor& items) override;
  std::optional<NcfParts> ncf_parts() override;
  // Copy weights from trained GMF and MLP models of matching shapes; throws Error otherwise.
  void load_pretrained(const GMFImpl& gmf, const MLPImpl& mlp, double alpha = 0.5);

  torch::nn::Embedding gmf_user{nullptr}, gmf_item{nullptr}, mlp_user{nullptr}, mlp_item{nullptr};
  Tower tower{nullptr};
  torch::nn::Linear predict{nullptr};
};
TORCH_MODULE(NeuMF);

}  // namespace recpress
