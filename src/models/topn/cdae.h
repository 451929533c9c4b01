// CDAE (Wu, DuBois, Zheng & Ester, "Collaborative Denoising Auto-Encoders for Top-N Recommender
// Systems", WSDM 2016): a denoising autoencoder of the user's row with a user node. See cdae.cc.
// Parameters: dim (50), corruption (0.2).
#pragma once

#include <cstdint>
#include <span>
#include <utility>

#include "models/topn/history.h"
#include "models/topn/model.h"

namespace recpress {

class CDAEImpl : public TopNModel {
 public:
  CDAEImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items);
  void set_training_interactions(std::span<const Interaction> train) override;
  torch::Tensor forward(const torch::Tensor& users, const torch::Tensor& items) override;
  torch::Tensor score_all(const torch::Tensor& users) override;
  std::vector<std::pair<std::string, torch::Tensor>> representations(
      const torch::Tensor& users, const torch::Tensor& items) override;
  std::optional<std::pair<torch::Tensor, torch::Tensor>> as_dot_product() override;
  // The hidden code z_u [B, d] of each user's (in training mode: corrupted) row.
  torch::Tensor encode(const torch::Tensor& users);

  torch::nn::Embedding input{nullptr};      // W [I, d]
  torch::nn::Embedding user_node{nullptr};  // V [U, d]
  torch::nn::Embedding output{nullptr};     // W' [I, d]
  torch::Tensor hidden_bias, output_bias;   // b [d], b' [I]

 private:
  double corruption_;
  torch::Tensor edges_;  // buffer [2, nnz] int32: the training pairs
  UserRows rows_;
};
TORCH_MODULE(CDAE);

}  // namespace recpress
