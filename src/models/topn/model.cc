#include "models/topn/model.h"

#include "core/errors.h"
#include "core/registry.h"
#include "models/module_util.h"

namespace recpress {
namespace {

NamedRegistry<TopNFactory>& registry() {
  static NamedRegistry<TopNFactory> r("model");
  return r;
}

}  // namespace

TopNModel::TopNModel(ModelSpec spec, std::int64_t num_users, std::int64_t num_items)
    : spec_(std::move(spec)), num_users_(num_users), num_items_(num_items) {
  if (num_users <= 0 || num_items <= 0)
    throw Error("model '" + spec_.name + "': needs at least one user and one item");
}

torch::nn::Embedding TopNModel::make_embedding(const std::string& name, std::int64_t rows,
                                               std::int64_t dim) {
  auto e = register_module(name, torch::nn::Embedding(rows, dim));
  torch::NoGradGuard guard;
  e->weight.normal_(0.0, 0.01);
  return e;
}

torch::Tensor TopNModel::score_all(const torch::Tensor& users) {
  const auto b = users.size(0);
  const auto items = torch::arange(num_items_, torch::kLong);
  std::vector<torch::Tensor> rows;
  rows.reserve(static_cast<std::size_t>(b));
  for (std::int64_t k = 0; k < b; ++k) {
    rows.push_back(forward(users[k].expand({num_items_}), items));
  }
  return torch::stack(rows);
}

std::int64_t TopNModel::parameter_count() const {
  return count_parameters(*this);
}

std::int64_t TopNModel::byte_size() const {
  return parameter_bytes(*this);
}

void register_topn_model(const std::string& name, const std::string& help, ParamDecls params,
                         TopNFactory factory) {
  registry().add(name, help, std::move(params), std::move(factory));
}

TopNModelPtr create_topn_model(const ModelSpec& spec, std::int64_t num_users,
                               std::int64_t num_items) {
  return registry().get(spec.name)(checked_spec(registry(), spec), num_users, num_items);
}

std::vector<std::pair<std::string, std::string>> topn_models() {
  return registry().list();
}

std::vector<std::tuple<std::string, std::string, ParamDecls>> topn_model_params() {
  return registry().declared();
}

}  // namespace recpress
