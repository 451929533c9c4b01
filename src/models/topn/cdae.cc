// `cdae`: Collaborative Denoising Auto-Encoder (Wu, DuBois, Zheng & Ester, WSDM 2016, Sec. 4).
//
// A user's row y_u (1 for each training item) is corrupted by dropout, each entry kept with
// probability 1 - q and scaled by 1 / (1 - q) (eq. 6), and encoded with the user's own node V_u:
//   z_u = sigmoid(W^T y~_u + V_u + b)                               (eq. 7, h = sigmoid)
// and decoded per item:  score(u, i) = W'_i^T z_u + b'_i,  y^_ui = sigmoid(score)   (eq. 8).
// The paper trains it with the logistic loss over the observed items and sampled negatives of
// each user (Sec. 4.3, "negative sampling"): our `bce` loss with `negatives`; `multinomial` and
// `bpr` train it too. Its L2 term is the optimiser's weight decay. Parameters: dim (K, 50, the
// paper's Fig. 7 setting), corruption (q, 0.2).
//
// Ours: the training rows are part of the model, a buffer saved with the checkpoint (as
// LightGCN's graph), so a loaded model encodes its users without the data. A training batch
// encodes each of its distinct users once, with one corruption for that batch; the dropout
// masks come from LibTorch's generator, which the trainer seeds per (seed, epoch). In eval mode
// nothing is corrupted, so the model is the dot product <[z_u, 1], [W'_i, b'_i]> and is exported
// as MF with one extra dimension (exact).
#include "models/topn/cdae.h"

#include "core/errors.h"

namespace recpress {

CDAEImpl::CDAEImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items)
    : TopNModel(spec, num_users, num_items), corruption_(spec.get_double("corruption")) {
  const auto dim = spec.get_int("dim");
  input = make_embedding("input", num_items, dim);
  user_node = make_embedding("user_node", num_users, dim);
  output = make_embedding("output", num_items, dim);
  hidden_bias = register_parameter("hidden_bias", torch::zeros({dim}));
  output_bias = register_parameter("output_bias", torch::zeros({num_items}));
  edges_ = register_buffer("edges", torch::zeros({2, 0}, torch::kInt));
}

void CDAEImpl::set_training_interactions(std::span<const Interaction> train) {
  const auto edges = interaction_buffer(train, num_users(), num_items(), "cdae");
  torch::NoGradGuard guard;
  edges_.set_(edges);
  rows_ = UserRows();
}

torch::Tensor CDAEImpl::encode(const torch::Tensor& users) {
  if (edges_.size(1) == 0)
    throw Error("cdae: no training rows (the model needs its training interactions)");
  rows_.attach(edges_, num_users());
  const auto bags = rows_.bags(users);
  const auto& w = input->weight;
  torch::Tensor weights;  // per entry of the bags: the corruption's keep / (1 - q), else none
  if (is_training() && corruption_ > 0) {
    weights = torch::bernoulli(torch::full({bags.items.numel()}, 1.0 - corruption_, w.options())) /
              (1.0 - corruption_);
  }
  const auto sum = std::get<0>(
      torch::embedding_bag(w, bags.items, bags.offsets, false, /*sum=*/0, false, weights));
  return torch::sigmoid(sum + user_node(users) + hidden_bias);
}

torch::Tensor CDAEImpl::forward(const torch::Tensor& users, const torch::Tensor& items) {
  // Each distinct user once: one code (one corruption) per user and batch.
  const auto [distinct, inverse] = torch::_unique(users, /*sorted=*/true, /*return_inverse=*/true);
  const auto z = encode(distinct).index_select(0, inverse);
  return (z * output(items)).sum(1) + output_bias.index_select(0, items);
}

torch::Tensor CDAEImpl::score_all(const torch::Tensor& users) {
  return torch::addmm(output_bias, encode(users), output->weight.t());
}

std::vector<std::pair<std::string, torch::Tensor>> CDAEImpl::representations(
    const torch::Tensor& users, const torch::Tensor& items) {
  const auto [distinct, inverse] = torch::_unique(users, true, true);
  return {{"user", encode(distinct).index_select(0, inverse)}, {"item", output(items)}};
}

std::optional<std::pair<torch::Tensor, torch::Tensor>> CDAEImpl::as_dot_product() {
  // The codes of eval mode (no corruption or dropout; the mean); the caller's mode is kept.
  const bool was_training = is_training();
  eval();
  const auto z = encode(torch::arange(num_users(), torch::kLong));
  const auto ones = torch::ones({num_users(), 1}, z.options());
  auto product = std::make_pair(torch::cat({z, ones}, 1),
                                torch::cat({output->weight, output_bias.view({-1, 1})}, 1));
  train(was_training);
  return product;
}

namespace {
TopNModelPtr make_cdae(const ModelSpec& s, std::int64_t u, std::int64_t i) {
  return CDAE(s, u, i).ptr();
}
}  // namespace
RECPRESS_REGISTER_TOPN_MODEL(
    "cdae", "collaborative denoising autoencoder of the user's row (Wu et al., WSDM 2016)",
    (ParamDecls{int_param("dim", 50, 1, "hidden units K"),
                real_param("corruption", 0.2, 0, 1, false, true,
                           "dropout probability q of the input row's entries")}),
    make_cdae);

}  // namespace recpress
