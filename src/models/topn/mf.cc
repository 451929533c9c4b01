#include "models/topn/mf.h"

namespace recpress {

MFImpl::MFImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items)
    : TopNModel(spec, num_users, num_items) {
  const auto dim = spec.get_int("dim");
  user_embedding = make_embedding("user_embedding", num_users, dim);
  item_embedding = make_embedding("item_embedding", num_items, dim);
}

torch::Tensor MFImpl::forward(const torch::Tensor& users, const torch::Tensor& items) {
  return (user_embedding(users) * item_embedding(items)).sum(1);
}

torch::Tensor MFImpl::score_all(const torch::Tensor& users) {
  return torch::mm(user_embedding(users), item_embedding->weight.t());
}

std::vector<std::pair<std::string, torch::Tensor>> MFImpl::representations(
    const torch::Tensor& users, const torch::Tensor& items) {
  return {{"user", user_embedding(users)}, {"item", item_embedding(items)}};
}

std::optional<NcfParts> MFImpl::ncf_parts() {
  NcfParts parts;
  parts.gmf_user = user_embedding->weight;
  parts.gmf_item = item_embedding->weight;
  return parts;
}

namespace {
TopNModelPtr make_mf(const ModelSpec& s, std::int64_t u, std::int64_t i) {
  return MF(s, u, i).ptr();
}
}  // namespace
RECPRESS_REGISTER_TOPN_MODEL("mf",
                             "matrix factorisation, <p_u, q_i> (BPR: Rendle et al., UAI 2009)",
                             {int_param("dim", 32, 1, "embedding size")}, make_mf);

}  // namespace recpress
