#include "models/topn/neumf.h"

#include "core/errors.h"

namespace recpress {

NeuMFImpl::NeuMFImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items)
    : TopNModel(spec, num_users, num_items) {
  const auto dim = spec.get_int("dim");
  const auto n_layers = spec.get_int("layers");
  const auto mlp_dim = spec.has("mlp_dim") ? spec.get_int("mlp_dim") : dim;
  gmf_user = make_embedding("gmf_user", num_users, dim);
  gmf_item = make_embedding("gmf_item", num_items, dim);
  mlp_user = make_embedding("mlp_user", num_users, mlp_dim);
  mlp_item = make_embedding("mlp_item", num_items, mlp_dim);
  tower = register_module("tower", Tower(mlp_dim, n_layers));
  predict = register_module("predict", torch::nn::Linear(dim + tower->output_size(), 1));
}

torch::Tensor NeuMFImpl::forward(const torch::Tensor& users, const torch::Tensor& items) {
  const auto g = gmf_user(users) * gmf_item(items);
  const auto m = tower(torch::cat({mlp_user(users), mlp_item(items)}, 1));
  return predict(torch::cat({g, m}, 1)).squeeze(1);
}

torch::Tensor NeuMFImpl::score_all(const torch::Tensor& users) {
  const auto d = gmf_user->weight.size(1);
  const auto& w = predict->weight;  // [1, d + h]
  // GMF half: (p_u * h_g) q_i as one GEMM; MLP half through the tower's all-items path.
  const auto gmf = torch::mm(gmf_user(users) * w.narrow(1, 0, d), gmf_item->weight.t());
  const auto hidden = tower->forward_all(mlp_user(users), mlp_item->weight);  // [B, I, h]
  const auto mlp = torch::matmul(hidden, w.narrow(1, d, w.size(1) - d).t()).squeeze(2);
  return gmf + mlp + predict->bias;
}

std::vector<std::pair<std::string, torch::Tensor>> NeuMFImpl::representations(
    const torch::Tensor& users, const torch::Tensor& items) {
  const auto gu = gmf_user(users), gi = gmf_item(items), mu = mlp_user(users), mi = mlp_item(items);
  std::vector<torch::Tensor> hidden;
  tower(torch::cat({mu, mi}, 1), &hidden);
  std::vector<std::pair<std::string, torch::Tensor>> out = {{"user", torch::cat({gu, mu}, 1)},
                                                            {"item", torch::cat({gi, mi}, 1)},
                                                            {"interaction", gu * gi}};
  for (std::size_t l = 0; l < hidden.size(); ++l)
    out.emplace_back("hidden" + std::to_string(l + 1), hidden[l]);
  return out;
}

void NeuMFImpl::load_pretrained(const GMFImpl& gmf, const MLPImpl& mlp, double alpha) {
  torch::NoGradGuard guard;
  auto copy = [](torch::Tensor& dst, const torch::Tensor& src, const std::string& what) {
    if (!dst.sizes().equals(src.sizes())) {
      throw Error("NeuMF pre-training: " + what + " has shape " + c10::str(src.sizes()) +
                  ", NeuMF expects " + c10::str(dst.sizes()) +
                  " (same dim, layers, users and items needed)");
    }
    dst.copy_(src);
  };
  copy(gmf_user->weight, gmf.user_embedding->weight, "GMF user embedding");
  copy(gmf_item->weight, gmf.item_embedding->weight, "GMF item embedding");
  copy(mlp_user->weight, mlp.user_embedding->weight, "MLP user embedding");
  copy(mlp_item->weight, mlp.item_embedding->weight, "MLP item embedding");
  if (tower->layers.size() != mlp.tower->layers.size())
    throw Error("NeuMF pre-training: MLP has a different number of layers");
  for (std::size_t l = 0; l < tower->layers.size(); ++l) {
    copy(tower->layers[l]->weight, mlp.tower->layers[l]->weight, "MLP layer " + std::to_string(l));
    copy(tower->layers[l]->bias, mlp.tower->layers[l]->bias,
         "MLP layer " + std::to_string(l) + " bias");
  }
  const auto d = gmf_user->weight.size(1);
  predict->weight.narrow(1, 0, d).copy_(alpha * gmf.predict->weight);
  predict->weight.narrow(1, d, predict->weight.size(1) - d)
      .copy_((1.0 - alpha) * mlp.predict->weight);
  predict->bias.copy_(alpha * gmf.predict->bias + (1.0 - alpha) * mlp.predict->bias);
}

std::optional<NcfParts> NeuMFImpl::ncf_parts() {
  NcfParts parts;
  parts.gmf_user = gmf_user->weight;
  parts.gmf_item = gmf_item->weight;
  parts.mlp_user = mlp_user->weight;
  parts.mlp_item = mlp_item->weight;
  parts.tower = tower->layers;
  parts.head_weight = predict->weight;
  parts.head_bias = predict->bias;
  return parts;
}

namespace {
TopNModelPtr make_neumf(const ModelSpec& s, std::int64_t u, std::int64_t i) {
  return NeuMF(s, u, i).ptr();
}
}  // namespace
RECPRESS_REGISTER_TOPN_MODEL(
    "neumf",
    "NeuMF: GMF + MLP into one head, pre-trainable from GMF and MLP (He et al. 2017, eq. 11-12)",
    (ParamDecls{int_param("dim", 32, 1, "GMF embedding size"),
                int_param("layers", 3, 1, "MLP tower layers"),
                [] {
                  auto d = int_param("mlp_dim", 32, 1,
                                     "MLP embedding size (default: dim; 4 x dim is NCF's sizing)");
                  d.default_value = "";  // = dim
                  return d;
                }()}),
    make_neumf);

}  // namespace recpress
