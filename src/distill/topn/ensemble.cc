#include "distill/topn/ensemble.h"

#include "core/errors.h"

namespace recpress {
namespace {

ModelSpec ensemble_spec(const std::vector<TopNModelPtr>& members) {
  if (members.empty()) throw Error("an ensemble needs at least one teacher");
  return ModelSpec{"ensemble", {{"members", std::to_string(members.size())}}};
}

}  // namespace

EnsembleTeacherImpl::EnsembleTeacherImpl(std::vector<TopNModelPtr> members,
                                         std::vector<double> weights)
    : TopNModel(ensemble_spec(members), members.front()->num_users(), members.front()->num_items()),
      members_(std::move(members)),
      weights_(std::move(weights)) {
  if (weights_.empty())
    weights_.assign(members_.size(), 1.0 / static_cast<double>(members_.size()));
  if (weights_.size() != members_.size())
    throw Error("ensemble: " + std::to_string(members_.size()) + " teachers but " +
                std::to_string(weights_.size()) + " weights");
  for (std::size_t m = 0; m < members_.size(); ++m) {
    const auto& t = members_[m];
    if (t->num_users() != num_users() || t->num_items() != num_items())
      throw Error("ensemble: teacher " + std::to_string(m + 1) + " (" + t->spec().to_string() +
                  ") has " + std::to_string(t->num_users()) + " users x " +
                  std::to_string(t->num_items()) + " items, teacher 1 " +
                  std::to_string(num_users()) + " x " + std::to_string(num_items()));
    register_module("member" + std::to_string(m), t);
  }
}

torch::Tensor EnsembleTeacherImpl::forward(const torch::Tensor& users, const torch::Tensor& items) {
  torch::Tensor out;
  for (std::size_t m = 0; m < members_.size(); ++m) {
    const auto s = weights_[m] * members_[m]->forward(users, items);
    out = out.defined() ? out + s : s;
  }
  return out;
}

torch::Tensor EnsembleTeacherImpl::score_all(const torch::Tensor& users) {
  torch::Tensor out;
  for (std::size_t m = 0; m < members_.size(); ++m) {
    const auto s = weights_[m] * members_[m]->score_all(users);
    out = out.defined() ? out + s : s;
  }
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> EnsembleTeacherImpl::representations(
    const torch::Tensor& users, const torch::Tensor& items) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  std::vector<std::vector<std::pair<std::string, torch::Tensor>>> all;
  for (auto& m : members_) all.push_back(m->representations(users, items));
  for (const auto& [name, first] : all.front()) {
    std::vector<torch::Tensor> parts{first};
    for (std::size_t m = 1; m < all.size(); ++m)
      for (const auto& [n, t] : all[m])
        if (n == name) parts.push_back(t);
    if (parts.size() == all.size()) out.emplace_back(name, torch::cat(parts, 1));
  }
  return out;
}

}  // namespace recpress
