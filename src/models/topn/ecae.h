// ECAE, the Enhanced Collaborative Autoencoder with knowledge distillation (Pan, He & Yu,
// Neurocomputing 332, 2019): a generation network's soft feedback, gated per item against the
// observed row, retrained by a second autoencoder; both score. See ecae.cc for what is published
// and what is our reconstruction. Parameters: dim (100), corruption (0.2), mix (0.5),
// generation_weight (1).
#pragma once

#include <cstdint>
#include <span>
#include <utility>

#include "models/topn/history.h"
#include "models/topn/model.h"

namespace recpress {

class ECAEImpl : public TopNModel {
 public:
  ECAEImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items);
  void set_training_interactions(std::span<const Interaction> train) override;
  torch::Tensor forward(const torch::Tensor& users, const torch::Tensor& items) override;
  torch::Tensor score_all(const torch::Tensor& users) override;
  std::vector<std::pair<std::string, torch::Tensor>> representations(
      const torch::Tensor& users, const torch::Tensor& items) override;
  torch::Tensor take_penalty() override;
  std::optional<std::pair<torch::Tensor, torch::Tensor>> as_dot_product() override;

  // The user side of the score for each user: [(1 - mix) h_g, mix h_r, 1] [B, 2d + 1], so that
  // score(u, i) = <code_u, item_i> with item_i = [W'_g,i, W'_r,i, (1 - mix) b'_g,i + mix b'_r,i].
  // In training mode the generation's input is corrupted and its reconstruction loss accumulates.
  torch::Tensor user_code(const torch::Tensor& users);
  torch::Tensor item_code() const;  // [I, 2d + 1]
  // The distillation layer's per-item weight of the generated unit, sigmoid(gate) [I].
  torch::Tensor generated_weight() const;

  // Generation network (a CDAE: Wu et al., WSDM 2016).
  torch::nn::Embedding generation_input{nullptr};                // [I, d]
  torch::nn::Embedding user_node{nullptr};                       // [U, d]
  torch::nn::Embedding generation_output{nullptr};               // [I, d]
  torch::Tensor generation_hidden_bias, generation_output_bias;  // [d], [I]
  // Distillation layer.
  torch::Tensor gate;  // [I]
  // Retraining network.
  torch::nn::Embedding retraining_input{nullptr};                // [I, d]
  torch::nn::Embedding retraining_output{nullptr};               // [I, d]
  torch::Tensor retraining_hidden_bias, retraining_output_bias;  // [d], [I]

 private:
  double corruption_, mix_, generation_weight_;
  torch::Tensor edges_;    // buffer [2, nnz] int32: the training pairs
  torch::Tensor penalty_;  // accumulated since take_penalty()
  UserRows rows_;
};
TORCH_MODULE(ECAE);

}  // namespace recpress
