// Mult-VAE (Liang, Krishnan, Hoffman & Jebara, "Variational Autoencoders for Collaborative
// Filtering", WWW 2018): a variational autoencoder of the user's row with a multinomial
// likelihood. See multvae.cc. Parameters: dim (200), hidden (600), dropout (0.5), beta (0.2),
// anneal_steps (1000).
#pragma once

#include <cstdint>
#include <span>
#include <utility>

#include "models/topn/history.h"
#include "models/topn/model.h"

namespace recpress {

class MultVAEImpl : public TopNModel {
 public:
  MultVAEImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items);
  void set_training_interactions(std::span<const Interaction> train) override;
  torch::Tensor forward(const torch::Tensor& users, const torch::Tensor& items) override;
  torch::Tensor score_all(const torch::Tensor& users) override;
  std::vector<std::pair<std::string, torch::Tensor>> representations(
      const torch::Tensor& users, const torch::Tensor& items) override;
  torch::Tensor take_penalty() override;
  std::optional<std::pair<torch::Tensor, torch::Tensor>> as_dot_product() override;
  // The decoder's last hidden layer g_u [B, hidden] for each user: from a sample of q(z | x_u)
  // in training mode (the KL term accumulates), from its mean in eval mode.
  torch::Tensor decoder_hidden(const torch::Tensor& users);
  // decoder_hidden(users), read from every user's codes computed once when the model is frozen
  // (eval mode, autograd off: a teacher being distilled, an evaluation).
  torch::Tensor frozen_codes(const torch::Tensor& users);
  // The KL weight at the current update count.
  double kl_weight() const;

  torch::nn::Embedding encoder_input{nullptr};   // [I, hidden]: the first layer, row per item
  torch::Tensor encoder_bias;                    // [hidden]
  torch::nn::Linear encoder_out{nullptr};        // hidden -> 2 dim (mean, log-variance)
  torch::nn::Linear decoder_in{nullptr};         // dim -> hidden
  torch::nn::Embedding decoder_output{nullptr};  // [I, hidden]: the last layer, row per item
  torch::Tensor decoder_bias;                    // [I]

 private:
  std::int64_t dim_;
  double dropout_, beta_;
  std::int64_t anneal_steps_;
  torch::Tensor edges_;    // buffer [2, nnz] int32: the training pairs
  torch::Tensor updates_;  // buffer [1] int64: steps taken (the KL annealing's clock)
  torch::Tensor penalty_;  // accumulated since take_penalty()
  UserRows rows_;
  FrozenUserCodes frozen_;  // a frozen teacher's codes, once per run
};
TORCH_MODULE(MultVAE);

}  // namespace recpress
