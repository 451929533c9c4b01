#include "models/topn/history.h"

#include <algorithm>

#include "core/errors.h"

namespace recpress {

torch::Tensor interaction_buffer(std::span<const Interaction> train, std::int64_t users,
                                 std::int64_t items, const std::string& model) {
  auto edges = torch::empty({2, static_cast<std::int64_t>(train.size())}, torch::kInt);
  auto* u = edges[0].data_ptr<std::int32_t>();
  auto* i = edges[1].data_ptr<std::int32_t>();
  for (std::size_t k = 0; k < train.size(); ++k) {
    if (train[k].user < 0 || train[k].user >= users || train[k].item < 0 || train[k].item >= items)
      throw Error(model + ": training pair (" + std::to_string(train[k].user) + ", " +
                  std::to_string(train[k].item) + ") outside the model's " + std::to_string(users) +
                  " users x " + std::to_string(items) + " items");
    u[k] = train[k].user, i[k] = train[k].item;
  }
  return edges;
}

void UserRows::attach(const torch::Tensor& edges, std::int64_t users) {
  if (of_ == edges.data_ptr() && nnz_ == edges.size(1) && !offsets_.empty()) return;
  // As int32 whatever the buffer became (Module::to(dtype) converts buffers too).
  const auto e = edges.to(torch::kInt).contiguous();
  const auto n = e.size(1);
  const auto* u = e[0].data_ptr<std::int32_t>();
  const auto* it = e[1].data_ptr<std::int32_t>();
  std::vector<std::int64_t> count(static_cast<std::size_t>(users) + 1, 0);
  for (std::int64_t k = 0; k < n; ++k) {
    if (u[k] < 0 || u[k] >= users)
      throw Error("interaction buffer: user " + std::to_string(u[k]) + " outside [0, " +
                  std::to_string(users) + ")");
    ++count[static_cast<std::size_t>(u[k]) + 1];
  }
  for (std::size_t r = 1; r < count.size(); ++r) count[r] += count[r - 1];
  items_.assign(static_cast<std::size_t>(n), 0);
  auto next = count;
  for (std::int64_t k = 0; k < n; ++k) items_[next[static_cast<std::size_t>(u[k])]++] = it[k];
  // Distinct and sorted within each row (a pair listed twice is one observed item).
  offsets_.assign(count.size(), 0);
  std::size_t out = 0;
  for (std::size_t r = 0; r + 1 < count.size(); ++r) {
    auto* b = items_.data() + count[r];
    auto* f = items_.data() + count[r + 1];
    std::sort(b, f);
    const auto* last = std::unique(b, f);
    for (auto* p = b; p != last; ++p) items_[out++] = *p;
    offsets_[r + 1] = static_cast<std::int64_t>(out);
  }
  items_.resize(out);
  of_ = edges.data_ptr();
  nnz_ = n;
}

UserRows::Bags UserRows::bags(const torch::Tensor& users) const {
  if (offsets_.empty()) throw Error("the model has no training interactions attached");
  const auto uc = users.contiguous();
  const auto* u = uc.data_ptr<std::int64_t>();
  const auto b = uc.numel();
  const auto rows = static_cast<std::int64_t>(offsets_.size()) - 1;
  Bags out{torch::Tensor(), torch::empty({b}, torch::kLong), torch::empty({b}, torch::kLong)};
  auto* off = out.offsets.data_ptr<std::int64_t>();
  auto* len = out.lengths.data_ptr<std::int64_t>();
  std::int64_t total = 0;
  for (std::int64_t k = 0; k < b; ++k) {
    if (u[k] < 0 || u[k] >= rows)
      throw Error("user " + std::to_string(u[k]) + " outside [0, " + std::to_string(rows) + ")");
    off[k] = total;
    len[k] =
        offsets_[static_cast<std::size_t>(u[k]) + 1] - offsets_[static_cast<std::size_t>(u[k])];
    total += len[k];
  }
  out.items = torch::empty({total}, torch::kLong);
  auto* o = out.items.data_ptr<std::int64_t>();
  for (std::int64_t k = 0; k < b; ++k) {
    const auto* first = items_.data() + offsets_[static_cast<std::size_t>(u[k])];
    std::copy(first, first + len[k], o + off[k]);
  }
  return out;
}

torch::Tensor FrozenUserCodes::get(const torch::nn::Module& model, const torch::Tensor& users,
                                   std::int64_t num_users, const Codes& codes) {
  if (model.is_training() || torch::GradMode::is_enabled()) return codes(users);
  std::vector<std::int64_t> key;
  for (const auto& p : model.parameters()) key.push_back(p._version());
  for (const auto& b : model.buffers()) {
    key.push_back(b._version());
    key.push_back(reinterpret_cast<std::int64_t>(b.data_ptr()));
  }
  if (!all_.defined() || key != key_) {
    all_ = codes(torch::arange(num_users, torch::kLong));
    key_ = std::move(key);
  }
  return all_.index_select(0, users);
}

}  // namespace recpress
