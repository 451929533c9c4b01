// `multvae`: Mult-VAE^PR (Liang, Krishnan, Hoffman & Jebara, WWW 2018, Sec. 2).
//
// A user's click row x_u is L2-normalised and dropped out (the code's input dropout, p = 0.5),
// encoded by an MLP [I -> 600 -> 2 x 200] with tanh into the mean and log-variance of
// q(z_u | x_u) = N(mu_u, diag(sigma_u^2)) (Sec. 2.2), and decoded by [200 -> 600 -> I] into
// logits f(z_u) over the catalog; pi(z_u) = softmax(f(z_u)) (eq. 1). Training maximises the
// annealed ELBO (eq. 7 with beta, Sec. 2.2.2):
//   L(x_u) = sum_i x_ui log pi_i(z_u) - beta * KL(q(z_u | x_u) || N(0, I)),
// z_u = mu_u + eps * sigma_u (the reparametrisation trick), beta rising linearly from 0 to its cap
// (0.2, the paper's best) over `anneal_steps` updates. The multinomial part is our trainer's
// `multinomial` loss (batches of users, each with its whole training row); this model adds
// beta * KL through take_penalty(). At prediction z_u = mu_u (Sec. 2.4). Initialisation as the
// published code: Xavier-uniform weights, N(0, 0.001) biases. Parameters: dim (200), hidden
// (600), dropout (0.5), beta (0.2), anneal_steps (1000; the paper's code anneals over 200,000
// updates of 500 users on ML-20M, ~730 epochs: on our datasets a few hundred epochs hold
// fewer updates than that, and 1,000 reaches the cap within the first ~10-130 epochs).
//
// Ours: the training rows are a buffer saved with the checkpoint (as CDAE's); the annealing's
// update count is a buffer too, so a resumed run continues the schedule exactly. In eval mode
// the model is the dot product <[g_u, 1], [W_out_i, b_i]> of the decoder's last hidden layer and
// its output layer, and is exported as MF (exact; the encoder runs once per user at export).
#include "models/topn/multvae.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"

namespace recpress {
namespace {

void xavier_uniform(torch::Tensor& w, std::int64_t fan_in, std::int64_t fan_out) {
  const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  w.uniform_(-bound, bound);
}

}  // namespace

MultVAEImpl::MultVAEImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items)
    : TopNModel(spec, num_users, num_items),
      dim_(spec.get_int("dim")),
      dropout_(spec.get_double("dropout")),
      beta_(spec.get_double("beta")),
      anneal_steps_(spec.get_int("anneal_steps")) {
  const auto hidden = spec.get_int("hidden");
  encoder_input = make_embedding("encoder_input", num_items, hidden);
  encoder_bias = register_parameter("encoder_bias", torch::zeros({hidden}));
  encoder_out = register_module("encoder_out", torch::nn::Linear(hidden, 2 * dim_));
  decoder_in = register_module("decoder_in", torch::nn::Linear(dim_, hidden));
  decoder_output = make_embedding("decoder_output", num_items, hidden);
  decoder_bias = register_parameter("decoder_bias", torch::zeros({num_items}));
  edges_ = register_buffer("edges", torch::zeros({2, 0}, torch::kInt));
  updates_ = register_buffer("updates", torch::zeros({1}, torch::kLong));
  torch::NoGradGuard guard;
  xavier_uniform(encoder_input->weight, num_items, hidden);
  xavier_uniform(encoder_out->weight, hidden, 2 * dim_);
  xavier_uniform(decoder_in->weight, dim_, hidden);
  xavier_uniform(decoder_output->weight, hidden, num_items);
  for (auto* b : {&encoder_bias, &encoder_out->bias, &decoder_in->bias, &decoder_bias})
    b->normal_(0.0, 0.001);
}

void MultVAEImpl::set_training_interactions(std::span<const Interaction> train) {
  const auto edges = interaction_buffer(train, num_users(), num_items(), "multvae");
  torch::NoGradGuard guard;
  edges_.set_(edges);
  rows_ = UserRows();
}

double MultVAEImpl::kl_weight() const {
  if (anneal_steps_ == 0) return beta_;
  const double done = static_cast<double>(updates_.item<std::int64_t>());
  return beta_ * std::min(1.0, done / static_cast<double>(anneal_steps_));
}

torch::Tensor MultVAEImpl::decoder_hidden(const torch::Tensor& users) {
  if (edges_.size(1) == 0)
    throw Error("multvae: no training rows (the model needs its training interactions)");
  rows_.attach(edges_, num_users());
  const auto bags = rows_.bags(users);
  const auto& w = encoder_input->weight;
  // normalize(x_u) = x_u / sqrt(|x_u|) for a 0/1 row; the dropout keeps an entry with
  // probability 1 - p and scales it by 1 / (1 - p).
  const auto length = bags.lengths.clamp_min(1).to(w.scalar_type());
  auto weights = length.rsqrt().repeat_interleave(bags.lengths, 0, bags.items.numel());
  const bool training = is_training();
  if (training && dropout_ > 0)
    weights = weights *
              torch::bernoulli(torch::full({bags.items.numel()}, 1.0 - dropout_, w.options())) /
              (1.0 - dropout_);
  const auto first = std::get<0>(
      torch::embedding_bag(w, bags.items, bags.offsets, false, /*sum=*/0, false, weights));
  const auto code = encoder_out(torch::tanh(first + encoder_bias));
  const auto mu = code.narrow(1, 0, dim_), log_variance = code.narrow(1, dim_, dim_);
  torch::Tensor z = mu;
  if (training) {
    z = mu + torch::randn_like(mu) * torch::exp(0.5 * log_variance);
    // KL(N(mu, sigma^2) || N(0, I)) = 1/2 sum_k (-log sigma_k^2 + sigma_k^2 + mu_k^2 - 1), the
    // mean over the batch's users (the paper's code).
    const auto kl = 0.5 * (-log_variance + log_variance.exp() + mu.square() - 1).sum(1).mean();
    const auto weighted = kl_weight() * kl;
    penalty_ = penalty_.defined() ? penalty_ + weighted : weighted;
  }
  return torch::tanh(decoder_in(z));
}

torch::Tensor MultVAEImpl::take_penalty() {
  auto p = std::move(penalty_);
  penalty_ = torch::Tensor();
  if (p.defined()) {
    torch::NoGradGuard guard;
    updates_.add_(1);
  }
  return p;
}

torch::Tensor MultVAEImpl::forward(const torch::Tensor& users, const torch::Tensor& items) {
  const auto [distinct, inverse] = torch::_unique(users, /*sorted=*/true, /*return_inverse=*/true);
  const auto g = frozen_codes(distinct).index_select(0, inverse);
  return (g * decoder_output(items)).sum(1) + decoder_bias.index_select(0, items);
}

torch::Tensor MultVAEImpl::frozen_codes(const torch::Tensor& users) {
  return frozen_.get(*this, users, num_users(),
                     [this](const torch::Tensor& u) { return decoder_hidden(u); });
}

torch::Tensor MultVAEImpl::score_all(const torch::Tensor& users) {
  return torch::addmm(decoder_bias, frozen_codes(users), decoder_output->weight.t());
}

std::vector<std::pair<std::string, torch::Tensor>> MultVAEImpl::representations(
    const torch::Tensor& users, const torch::Tensor& items) {
  const auto [distinct, inverse] = torch::_unique(users, true, true);
  return {{"user", frozen_codes(distinct).index_select(0, inverse)},
          {"item", decoder_output(items)}};
}

std::optional<std::pair<torch::Tensor, torch::Tensor>> MultVAEImpl::as_dot_product() {
  // The codes of eval mode (no corruption or dropout; the mean); the caller's mode is kept.
  const bool was_training = is_training();
  eval();
  const auto g = decoder_hidden(torch::arange(num_users(), torch::kLong));
  const auto ones = torch::ones({num_users(), 1}, g.options());
  auto product =
      std::make_pair(torch::cat({g, ones}, 1),
                     torch::cat({decoder_output->weight, decoder_bias.view({-1, 1})}, 1));
  train(was_training);
  return product;
}

namespace {
TopNModelPtr make_multvae(const ModelSpec& s, std::int64_t u, std::int64_t i) {
  return MultVAE(s, u, i).ptr();
}
}  // namespace
RECPRESS_REGISTER_TOPN_MODEL(
    "multvae",
    "variational autoencoder of the user's row, multinomial likelihood (Liang et al., WWW 2018); "
    "train with loss multinomial",
    (ParamDecls{int_param("dim", 200, 1, "latent dimension"),
                int_param("hidden", 600, 1, "units of the encoder's and decoder's hidden layer"),
                real_param("dropout", 0.5, 0, 1, false, true, "input dropout probability"),
                real_param("beta", 0.2, 0, 10, false, false, "the KL weight's cap"),
                int_param("anneal_steps", 1000, 0,
                          "updates over which the KL weight rises from 0 to beta (0: beta "
                          "throughout)")}),
    make_multvae);

}  // namespace recpress
