#include "models/topn/gmf.h"

namespace recpress {

GMFImpl::GMFImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items)
    : TopNModel(spec, num_users, num_items) {
  const auto dim = spec.get_int("dim");
  user_embedding = make_embedding("user_embedding", num_users, dim);
  item_embedding = make_embedding("item_embedding", num_items, dim);
  predict = register_module("predict", torch::nn::Linear(dim, 1));
}

torch::Tensor GMFImpl::forward(const torch::Tensor& users, const torch::Tensor& items) {
  return predict(user_embedding(users) * item_embedding(items)).squeeze(1);
}

torch::Tensor GMFImpl::score_all(const torch::Tensor& users) {
  // h^T (p_u * q_i) = (p_u * h)^T q_i: one GEMM over the catalog.
  return torch::addmm(predict->bias, user_embedding(users) * predict->weight,
                      item_embedding->weight.t());
}

std::vector<std::pair<std::string, torch::Tensor>> GMFImpl::representations(
    const torch::Tensor& users, const torch::Tensor& items) {
  const auto p = user_embedding(users), q = item_embedding(items);
  return {{"user", p}, {"item", q}, {"interaction", p * q}};
}

std::optional<NcfParts> GMFImpl::ncf_parts() {
  NcfParts parts;
  parts.gmf_user = user_embedding->weight;
  parts.gmf_item = item_embedding->weight;
  parts.head_weight = predict->weight;
  parts.head_bias = predict->bias;
  return parts;
}

namespace {
TopNModelPtr make_gmf(const ModelSpec& s, std::int64_t u, std::int64_t i) {
  return GMF(s, u, i).ptr();
}
}  // namespace
RECPRESS_REGISTER_TOPN_MODEL("gmf",
                             "generalized MF, h^T (p_u * q_i) (NCF: He et al., WWW 2017, eq. 9)",
                             {int_param("dim", 32, 1, "embedding size")}, make_gmf);

}  // namespace recpress
