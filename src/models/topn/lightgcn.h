// LightGCN (He et al., SIGIR 2020): user and item embeddings smoothed over the training graph,
// score(u, i) = <e_u, e_i> with e the layer mean of the propagated embeddings. See lightgcn.cc.
// Parameters: dim (64), layers (3).
#pragma once

#include <cstdint>
#include <span>
#include <utility>

#include "models/topn/model.h"

namespace recpress {

class LightGCNImpl : public TopNModel {
 public:
  LightGCNImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items);
  void set_training_interactions(std::span<const Interaction> train) override;
  torch::Tensor forward(const torch::Tensor& users, const torch::Tensor& items) override;
  torch::Tensor score_all(const torch::Tensor& users) override;
  std::vector<std::pair<std::string, torch::Tensor>> representations(
      const torch::Tensor& users, const torch::Tensor& items) override;
  // The final (layer-mean) user [U, d] and item [I, d] embeddings.
  std::pair<torch::Tensor, torch::Tensor> propagated();
  std::optional<std::pair<torch::Tensor, torch::Tensor>> as_dot_product() override {
    const bool was_training = is_training();  // the caller's mode is kept
    eval();
    auto product = propagated();
    train(was_training);
    return product;
  }

  torch::nn::Embedding user_embedding{nullptr}, item_embedding{nullptr};

 private:
  void build_adjacency();

  std::int64_t layers_;
  torch::Tensor edges_;  // buffer [2, nnz] int32: the training pairs (user, item)
  // D^-1/2 A D^-1/2 over the U + I nodes in CSR form, built from edges_ (again when they change).
  torch::Tensor row_ptr_, col_, val_;
  const void* adjacency_of_ = nullptr;
  // The final embeddings in eval mode without autograd, reused while no parameter changes.
  std::pair<torch::Tensor, torch::Tensor> cached_;
  std::vector<std::int64_t> cached_key_;
};
TORCH_MODULE(LightGCN);

}  // namespace recpress
