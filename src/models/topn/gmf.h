// Generalized Matrix Factorization (He et al., "Neural Collaborative Filtering", WWW 2017, eq. 9):
// score(u, i) = h^T (p_u * q_i) + b. Parameters: dim (default 32).
#pragma once

#include "models/topn/model.h"

namespace recpress {

class GMFImpl : public TopNModel {
 public:
  GMFImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items);
  torch::Tensor forward(const torch::Tensor& users, const torch::Tensor& items) override;
  torch::Tensor score_all(const torch::Tensor& users) override;
  std::vector<std::pair<std::string, torch::Tensor>> representations(
      const torch::Tensor& users, const torch::Tensor& items) override;
  std::optional<NcfParts> ncf_parts() override;
  torch::nn::Embedding user_embedding{nullptr}, item_embedding{nullptr};
  torch::nn::Linear predict{nullptr};
};
TORCH_MODULE(GMF);

}  // namespace recpress
