#include "models/topn/mlp.h"

#include "core/errors.h"

namespace recpress {

TowerImpl::TowerImpl(std::int64_t dim, std::int64_t n_layers) {
  std::int64_t in = 2 * dim;
  for (std::int64_t l = 0; l < n_layers; ++l) {
    const std::int64_t out = std::max<std::int64_t>(1, in / 2);
    layers.push_back(register_module("layer" + std::to_string(l), torch::nn::Linear(in, out)));
    in = out;
  }
  output_size_ = in;
}

torch::Tensor TowerImpl::forward(const torch::Tensor& input, std::vector<torch::Tensor>* hidden) {
  torch::Tensor x = input;
  for (auto& layer : layers) {
    x = torch::relu(layer(x));
    if (hidden != nullptr) hidden->push_back(x);
  }
  return x;
}

torch::Tensor TowerImpl::forward_all(const torch::Tensor& user_emb, const torch::Tensor& item_emb) {
  const auto d = user_emb.size(1);
  const auto& w = layers[0]->weight;  // [out, 2d]
  const auto user_part =
      torch::addmm(layers[0]->bias, user_emb, w.narrow(1, 0, d).t());              // [B, out]
  const auto item_part = torch::mm(item_emb, w.narrow(1, d, d).t());               // [I, out]
  torch::Tensor x = torch::relu(user_part.unsqueeze(1) + item_part.unsqueeze(0));  // [B, I, out]
  for (std::size_t l = 1; l < layers.size(); ++l) x = torch::relu(layers[l](x));
  return x;
}

MLPImpl::MLPImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items)
    : TopNModel(spec, num_users, num_items) {
  const auto dim = spec.get_int("dim");
  const auto n_layers = spec.get_int("layers");
  user_embedding = make_embedding("user_embedding", num_users, dim);
  item_embedding = make_embedding("item_embedding", num_items, dim);
  tower = register_module("tower", Tower(dim, n_layers));
  predict = register_module("predict", torch::nn::Linear(tower->output_size(), 1));
}

torch::Tensor MLPImpl::forward(const torch::Tensor& users, const torch::Tensor& items) {
  return predict(tower(torch::cat({user_embedding(users), item_embedding(items)}, 1))).squeeze(1);
}

torch::Tensor MLPImpl::score_all(const torch::Tensor& users) {
  return predict(tower->forward_all(user_embedding(users), item_embedding->weight)).squeeze(2);
}

std::vector<std::pair<std::string, torch::Tensor>> MLPImpl::representations(
    const torch::Tensor& users, const torch::Tensor& items) {
  const auto p = user_embedding(users), q = item_embedding(items);
  std::vector<torch::Tensor> hidden;
  tower(torch::cat({p, q}, 1), &hidden);
  std::vector<std::pair<std::string, torch::Tensor>> out = {{"user", p}, {"item", q}};
  for (std::size_t l = 0; l < hidden.size(); ++l)
    out.emplace_back("hidden" + std::to_string(l + 1), hidden[l]);
  return out;
}

std::optional<NcfParts> MLPImpl::ncf_parts() {
  NcfParts parts;
  parts.mlp_user = user_embedding->weight;
  parts.mlp_item = item_embedding->weight;
  parts.tower = tower->layers;
  parts.head_weight = predict->weight;
  parts.head_bias = predict->bias;
  return parts;
}

namespace {
TopNModelPtr make_mlp(const ModelSpec& s, std::int64_t u, std::int64_t i) {
  return MLP(s, u, i).ptr();
}
}  // namespace
RECPRESS_REGISTER_TOPN_MODEL(
    "mlp", "NCF's MLP tower over [p_u; q_i], halving each layer (He et al. 2017, eq. 10)",
    (ParamDecls{int_param("dim", 32, 1, "embedding size (the tower is 2d-d-d/2-...)"),
                int_param("layers", 3, 1, "tower layers, each half the previous")}),
    make_mlp);

}  // namespace recpress
