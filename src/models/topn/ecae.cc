// `ecae`: the Enhanced Collaborative Autoencoder with knowledge distillation (Pan, He & Yu, "A
// novel Enhanced Collaborative Autoencoder with knowledge distillation for top-N recommender
// systems", Neurocomputing 332:137-148, 2019).
//
// Published (the abstract; the full text was not available to us): discrete feedback describes
// interests poorly, so a trained model generates continuous "soft" feedback and a second model is
// retrained on it; as the generated data is noisy, ECAE (1) couples the generation and retraining
// stages in one network, so the generated data is fine-tuned by the retraining network's training
// errors; (2) weighs each generated unit by a distillation layer that balances its noise against
// its knowledge; (3) recommends from the predictions of both networks.
//
// Our reconstruction (every formula below is ours, built from those three sentences):
//   generation (a CDAE, Wu et al. WSDM 2016, with its corruption q):
//     h_g = sigmoid(W_g^T x~_u + V_u + b_g),   y_g = W'_g h_g + b'_g          (logits [I])
//   distillation layer, a learned weight per item unit, alpha_i = sigmoid(a_i) (a_i = 0: 1/2):
//     s_u = alpha * sigmoid(y_g) + (1 - alpha) * x_u                          (soft row [I])
//   retraining:  h_r = sigmoid(W_r^T s_u + b_r),   y_r = W'_r h_r + b'_r
//   score(u, i) = (1 - mix) y_g,i + mix y_r,i                                  (mix = 1/2)
// Trained jointly (one network, gradients of the score reach the generation through s_u): the
// trainer's loss on the score (`bce` with negatives, `bpr` or `multinomial`) plus the generation's
// own denoising reconstruction of x_u, the class-balanced logistic loss
//   generation_weight * mean_u [ mean_{i in x_u} softplus(-y_g,i) + mean_{i not in x_u}
//   softplus(y_g,i) ]
// added through take_penalty(), so the generated units stay feedback estimates rather than free
// features. The retraining input is a dense [B, I] row (one GEMM B x I x d each way); fine for
// MovieLens-sized catalogs, not for millions of items.
//
// In eval mode nothing is corrupted and the model is the dot product <[(1 - mix) h_g, mix h_r, 1],
// [W'_g,i, W'_r,i, (1 - mix) b'_g,i + mix b'_r,i]>: exported as MF (exact, the user codes computed
// once at export). The training rows are a checkpoint buffer, as CDAE's.
#include "models/topn/ecae.h"

#include "core/errors.h"

namespace recpress {

ECAEImpl::ECAEImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items)
    : TopNModel(spec, num_users, num_items),
      corruption_(spec.get_double("corruption")),
      mix_(spec.get_double("mix")),
      generation_weight_(spec.get_double("generation_weight")) {
  const auto dim = spec.get_int("dim");
  generation_input = make_embedding("generation_input", num_items, dim);
  user_node = make_embedding("user_node", num_users, dim);
  generation_output = make_embedding("generation_output", num_items, dim);
  generation_hidden_bias = register_parameter("generation_hidden_bias", torch::zeros({dim}));
  generation_output_bias = register_parameter("generation_output_bias", torch::zeros({num_items}));
  gate = register_parameter("gate", torch::zeros({num_items}));
  retraining_input = make_embedding("retraining_input", num_items, dim);
  retraining_output = make_embedding("retraining_output", num_items, dim);
  retraining_hidden_bias = register_parameter("retraining_hidden_bias", torch::zeros({dim}));
  retraining_output_bias = register_parameter("retraining_output_bias", torch::zeros({num_items}));
  edges_ = register_buffer("edges", torch::zeros({2, 0}, torch::kInt));
}

void ECAEImpl::set_training_interactions(std::span<const Interaction> train) {
  const auto edges = interaction_buffer(train, num_users(), num_items(), "ecae");
  torch::NoGradGuard guard;
  edges_.set_(edges);
  rows_ = UserRows();
}

torch::Tensor ECAEImpl::generated_weight() const {
  return torch::sigmoid(gate);
}

torch::Tensor ECAEImpl::user_code(const torch::Tensor& users) {
  if (edges_.size(1) == 0)
    throw Error("ecae: no training rows (the model needs its training interactions)");
  rows_.attach(edges_, num_users());
  const auto bags = rows_.bags(users);
  const auto& w = generation_input->weight;
  const bool training = is_training();
  torch::Tensor keep;  // per entry of the bags: the corruption's keep / (1 - q), else none
  if (training && corruption_ > 0) {
    keep = torch::bernoulli(torch::full({bags.items.numel()}, 1.0 - corruption_, w.options())) /
           (1.0 - corruption_);
  }
  const auto sum =
      std::get<0>(torch::embedding_bag(w, bags.items, bags.offsets, false, /*sum=*/0, false, keep));
  const auto h_g = torch::sigmoid(sum + user_node(users) + generation_hidden_bias);
  const auto y_g = torch::addmm(generation_output_bias, h_g, generation_output->weight.t());

  // The observed rows, dense: x[b, i] = 1 for each training item i of users[b].
  const auto batch = users.size(0);
  const auto row_of_entry = torch::repeat_interleave(torch::arange(batch, torch::kLong),
                                                     bags.lengths, 0, bags.items.numel());
  auto x = torch::zeros({batch, num_items()}, w.options());
  x.index_put_({row_of_entry, bags.items}, 1.0);

  const auto alpha = generated_weight();
  const auto soft = alpha * torch::sigmoid(y_g) + (1 - alpha) * x;
  const auto h_r =
      torch::sigmoid(torch::addmm(retraining_hidden_bias, soft, retraining_input->weight));
  if (training && generation_weight_ > 0) {
    const auto observed = bags.lengths.clamp_min(1).to(w.scalar_type());
    const auto unobserved = (num_items() - bags.lengths).clamp_min(1).to(w.scalar_type());
    const auto positive = (torch::nn::functional::softplus(-y_g) * x).sum(1) / observed;
    const auto negative = (torch::nn::functional::softplus(y_g) * (1 - x)).sum(1) / unobserved;
    const auto loss = generation_weight_ * (positive + negative).mean();
    penalty_ = penalty_.defined() ? penalty_ + loss : loss;
  }
  const auto ones = torch::ones({batch, 1}, w.options());
  return torch::cat({(1 - mix_) * h_g, mix_ * h_r, ones}, 1);
}

torch::Tensor ECAEImpl::item_code() const {
  const auto bias = (1 - mix_) * generation_output_bias + mix_ * retraining_output_bias;
  return torch::cat({generation_output->weight, retraining_output->weight, bias.view({-1, 1})}, 1);
}

torch::Tensor ECAEImpl::take_penalty() {
  auto p = std::move(penalty_);
  penalty_ = torch::Tensor();
  return p;
}

torch::Tensor ECAEImpl::forward(const torch::Tensor& users, const torch::Tensor& items) {
  // Each distinct user once: one code (one corruption) per user and batch.
  const auto [distinct, inverse] = torch::_unique(users, /*sorted=*/true, /*return_inverse=*/true);
  const auto code = user_code(distinct).index_select(0, inverse);
  return (code * item_code().index_select(0, items)).sum(1);
}

torch::Tensor ECAEImpl::score_all(const torch::Tensor& users) {
  return torch::mm(user_code(users), item_code().t());
}

std::vector<std::pair<std::string, torch::Tensor>> ECAEImpl::representations(
    const torch::Tensor& users, const torch::Tensor& items) {
  const auto [distinct, inverse] = torch::_unique(users, true, true);
  return {{"user", user_code(distinct).index_select(0, inverse)},
          {"item", item_code().index_select(0, items)}};
}

std::optional<std::pair<torch::Tensor, torch::Tensor>> ECAEImpl::as_dot_product() {
  // The codes of eval mode (no corruption, no penalty); the caller's mode is kept.
  const bool was_training = is_training();
  eval();
  auto product = std::make_pair(user_code(torch::arange(num_users(), torch::kLong)), item_code());
  train(was_training);
  return product;
}

namespace {
TopNModelPtr make_ecae(const ModelSpec& s, std::int64_t u, std::int64_t i) {
  return ECAE(s, u, i).ptr();
}
}  // namespace
RECPRESS_REGISTER_TOPN_MODEL(
    "ecae",
    "enhanced collaborative autoencoder (Pan, He & Yu, Neurocomputing 2019; our reconstruction): "
    "a CDAE's soft feedback, gated per item, retrained by a second autoencoder; both score",
    (ParamDecls{int_param("dim", 100, 1, "hidden units of each network"),
                real_param("corruption", 0.2, 0, 1, false, true,
                           "dropout probability of the generation's input entries"),
                real_param("mix", 0.5, 0, 1, false, false,
                           "weight of the retraining network's logits in the score"),
                real_param("generation_weight", 1, 0, 100, false, false,
                           "weight of the generation network's own reconstruction loss")}),
    make_ecae);

}  // namespace recpress
