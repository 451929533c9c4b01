// Per-user sorted item lists (CSR). Membership tests are a binary search in a short row, which is
// what the negative samplers and the evaluators need millions of times per second.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "data/dataset.h"

namespace recpress {

class InteractionMatrix {
 public:
  InteractionMatrix() = default;
  // Distinct (user, item) pairs of `xs`; num_users/num_items give the shape.
  InteractionMatrix(std::span<const Interaction> xs, std::int32_t num_users,
                    std::int32_t num_items);

  std::span<const std::int32_t> row(std::int32_t user) const {
    const auto u = static_cast<std::size_t>(user);
    return {items_.data() + offsets_[u], static_cast<std::size_t>(offsets_[u + 1] - offsets_[u])};
  }
  bool contains(std::int32_t user, std::int32_t item) const;
  std::int32_t num_users() const { return num_users_; }
  std::int32_t num_items() const { return num_items_; }
  std::size_t nnz() const { return items_.size(); }
  // Number of users having each item.
  std::vector<std::int64_t> item_counts() const;

 private:
  std::int32_t num_users_ = 0;
  std::int32_t num_items_ = 0;
  std::vector<std::int64_t> offsets_{0};
  std::vector<std::int32_t> items_;
};

}  // namespace recpress
