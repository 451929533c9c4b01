// The MLP of NCF (He et al. 2017, eq. 10): the concatenated user and item embeddings go through a
// tower that halves its width at each layer, e.g. dim 32 -> 64-32-16-8, then a linear output.
// Parameters: dim (embedding size per side, default 32), layers (hidden layers, default 3).
#pragma once

#include "models/topn/model.h"

namespace recpress {

// The tower shared by MLP and NeuMF: Linear+ReLU layers of widths 2*dim, dim, dim/2, ...
class TowerImpl : public torch::nn::Module {
 public:
  TowerImpl(std::int64_t dim, std::int64_t layers);
  // Returns the last hidden layer; `hidden` (optional) receives every hidden layer.
  torch::Tensor forward(const torch::Tensor& input, std::vector<torch::Tensor>* hidden = nullptr);
  // Fast path for all items: the first layer splits into a user part and an item part, so
  // W [p_u; q_i] = W_u p_u + W_i q_i is computed once per user and once per item.
  torch::Tensor forward_all(const torch::Tensor& user_emb, const torch::Tensor& item_emb);
  std::int64_t output_size() const { return output_size_; }
  std::vector<torch::nn::Linear> layers;

 private:
  std::int64_t output_size_ = 0;
};
TORCH_MODULE(Tower);

class MLPImpl : public TopNModel {
 public:
  MLPImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items);
  torch::Tensor forward(const torch::Tensor& users, const torch::Tensor& items) override;
  torch::Tensor score_all(const torch::Tensor& users) override;
  std::vector<std::pair<std::string, torch::Tensor>> representations(
      const torch::Tensor& users, const torch::Tensor& items) override;
  std::optional<NcfParts> ncf_parts() override;
  torch::nn::Embedding user_embedding{nullptr}, item_embedding{nullptr};
  Tower tower{nullptr};
  torch::nn::Linear predict{nullptr};
};
TORCH_MODULE(MLP);

}  // namespace recpress
