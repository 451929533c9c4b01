// Matrix factorisation: score(u, i) = <p_u, q_i> (Koren et al. 2009; trained with BPR, Rendle et
// al. 2009, or pointwise BCE). Parameters: dim (default 32).
#pragma once

#include "models/topn/model.h"

namespace recpress {

class MFImpl : public TopNModel {
 public:
  MFImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items);
  torch::Tensor forward(const torch::Tensor& users, const torch::Tensor& items) override;
  torch::Tensor score_all(const torch::Tensor& users) override;
  std::vector<std::pair<std::string, torch::Tensor>> representations(
      const torch::Tensor& users, const torch::Tensor& items) override;
  std::optional<NcfParts> ncf_parts() override;
  std::optional<std::pair<torch::Tensor, torch::Tensor>> as_dot_product() override {
    return std::make_pair(user_embedding->weight, item_embedding->weight);
  }
  torch::nn::Embedding user_embedding{nullptr}, item_embedding{nullptr};
};
TORCH_MODULE(MF);

}  // namespace recpress
