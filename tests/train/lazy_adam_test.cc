#include "train/lazy_adam.h"

#include <gtest/gtest.h>

namespace recpress {
namespace {

// A tiny model: an embedding table and a dense layer.
struct Tiny : torch::nn::Module {
  Tiny() {
    emb = register_module("emb", torch::nn::Embedding(6, 3));
    lin = register_module("lin", torch::nn::Linear(3, 1));
  }
  torch::Tensor loss(const torch::Tensor& rows) { return lin(emb(rows)).pow(2).sum(); }
  torch::nn::Embedding emb{nullptr};
  torch::nn::Linear lin{nullptr};
};

TEST(LazyAdam, EqualsAdamWhenEveryRowIsTouched) {
  torch::manual_seed(1);
  Tiny dense, lazy;
  {
    torch::NoGradGuard g;
    for (std::size_t k = 0; k < dense.parameters().size(); ++k)
      lazy.parameters()[k].copy_(dense.parameters()[k]);
  }
  use_sparse_embedding_gradients(lazy);
  torch::optim::Adam adam(dense.parameters(), torch::optim::AdamOptions(0.05));
  LazyAdam lazy_adam(lazy.parameters(), LazyAdamOptions(0.05));
  const auto all_rows =
      torch::tensor({0, 1, 2, 3, 4, 5, 2}, torch::kLong);  // row 2 twice: coalescing
  for (int step = 0; step < 5; ++step) {
    adam.zero_grad();
    dense.loss(all_rows).backward();
    adam.step();
    lazy_adam.zero_grad();
    lazy.loss(all_rows).backward();
    ASSERT_TRUE(lazy.emb->weight.grad().is_sparse());
    lazy_adam.step();
  }
  for (std::size_t k = 0; k < dense.parameters().size(); ++k) {
    EXPECT_TRUE(torch::allclose(dense.parameters()[k], lazy.parameters()[k], 1e-5, 1e-6)) << k;
  }
}

TEST(LazyAdam, RowsNotInTheBatchStayUnchanged) {
  torch::manual_seed(2);
  Tiny m;
  use_sparse_embedding_gradients(m);
  const auto before = m.emb->weight.detach().clone();
  LazyAdam opt(m.parameters(), LazyAdamOptions(0.1).weight_decay(0.01));
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    m.loss(torch::tensor({1, 4}, torch::kLong)).backward();
    opt.step();
  }
  const auto after = m.emb->weight.detach();
  for (int r : {0, 2, 3, 5}) EXPECT_TRUE(torch::equal(before[r], after[r])) << r;
  for (int r : {1, 4}) EXPECT_FALSE(torch::equal(before[r], after[r])) << r;
}

}  // namespace
}  // namespace recpress
