// The training interactions a model keeps for itself (a graph model's graph, an autoencoder's
// input rows), as a checkpoint buffer, so a loaded model scores without the data.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace recpress {

// The pairs as an int32 [2, nnz] tensor (row 0 users, row 1 items). Throws Error naming `model`
// when a pair lies outside users x items.
torch::Tensor interaction_buffer(std::span<const Interaction> train, std::int64_t users,
                                 std::int64_t items, const std::string& model);

// Each user's items of such a buffer (distinct, sorted), for an encoder that reads a user's row:
// the bags of a batch of users in LibTorch's embedding_bag layout.
class UserRows {
 public:
  struct Bags {
    torch::Tensor items;    // int64 [sum of the rows' lengths]
    torch::Tensor offsets;  // int64 [B]: where each user's items start
    torch::Tensor lengths;  // int64 [B]
  };
  // Rebuilt when `edges` is another buffer than last time (a new graph or a loaded checkpoint).
  void attach(const torch::Tensor& edges, std::int64_t users);
  // The rows of `users` (int64 [B], each in [0, users)). Throws Error when no rows are attached.
  Bags bags(const torch::Tensor& users) const;
  bool empty() const { return offsets_.empty(); }

 private:
  const void* of_ = nullptr;
  std::int64_t nnz_ = -1;
  std::vector<std::int64_t> offsets_;  // CSR [users + 1]
  std::vector<std::int64_t> items_;
};

// Every user's code of a frozen model, computed once: the representation methods (de, htd, hint)
// read a frozen teacher's user codes every batch, and an autoencoder computes a code from the
// user's whole row (Mult-VAE: |row| x hidden + hidden x 2 dim per user). In eval mode with
// autograd off, get() returns rows of the all-user codes, recomputed only when a parameter or
// buffer of `model` changed (their version counters) or another buffer was attached; otherwise
// it calls `codes(users)` as before. The cached rows equal the direct computation (eval mode is
// deterministic).
class FrozenUserCodes {
 public:
  using Codes = std::function<torch::Tensor(const torch::Tensor& users)>;
  torch::Tensor get(const torch::nn::Module& model, const torch::Tensor& users,
                    std::int64_t num_users, const Codes& codes);

 private:
  torch::Tensor all_;
  std::vector<std::int64_t> key_;
};

}  // namespace recpress
