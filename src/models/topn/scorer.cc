#include "models/topn/scorer.h"

namespace recpress {
namespace {

torch::Tensor to_long(std::span<const std::int32_t> v) {
  return torch::from_blob(const_cast<std::int32_t*>(v.data()),
                          {static_cast<std::int64_t>(v.size())}, torch::kInt)
      .to(torch::kLong);
}

void copy_out(const torch::Tensor& t, std::span<float> out) {
  const auto c = t.contiguous().to(torch::kFloat);
  std::copy_n(c.data_ptr<float>(), out.size(), out.begin());
}

}  // namespace

TopNScorer::TopNScorer(TopNModelPtr model, std::string name)
    : model_(std::move(model)),
      name_(name.empty() ? model_->spec().to_string() : std::move(name)) {}

void TopNScorer::score(std::int32_t user, std::span<const std::int32_t> items,
                       std::span<float> out) const {
  torch::NoGradGuard guard;
  model_->eval();
  const auto it = to_long(items);
  copy_out(
      model_->forward(torch::full({it.size(0)}, static_cast<std::int64_t>(user), torch::kLong), it),
      out);
}

void TopNScorer::score_all(std::span<const std::int32_t> users, std::span<float> out) const {
  torch::NoGradGuard guard;
  model_->eval();
  copy_out(model_->score_all(to_long(users)), out);
}

void TopNScorer::score_lists(std::span<const std::int32_t> users,
                             std::span<const std::int64_t> offsets,
                             std::span<const std::int32_t> items, std::span<float> out) const {
  torch::NoGradGuard guard;
  model_->eval();
  std::vector<std::int64_t> pair_users(items.size());
  const auto base = offsets[0];
  for (std::size_t k = 0; k < users.size(); ++k) {
    for (auto j = offsets[k]; j < offsets[k + 1]; ++j)
      pair_users[static_cast<std::size_t>(j - base)] = users[k];
  }
  const auto u = torch::from_blob(pair_users.data(), {static_cast<std::int64_t>(pair_users.size())},
                                  torch::kLong);
  copy_out(model_->forward(u, to_long(items)), out);
}

}  // namespace recpress
