// Model's accessors and scoring: a user against the whole catalog (dot product in fp32 / fp16 /
// int8, plus the NCF tower in blocks of items), and the top-K.
#include "runtime/model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/internal.h"
#include "runtime/topk.h"

namespace recpress::runtime {

std::string dtype_name(DType d) {
  return d == DType::kF32 ? "fp32" : d == DType::kF16 ? "fp16" : "int8";
}

DType parse_dtype(std::string_view s) {
  if (s == "fp32") return DType::kF32;
  if (s == "fp16") return DType::kF16;
  if (s == "int8") return DType::kI8;
  throw ModelError("unknown dtype '" + std::string(s) + "' (fp32, fp16, int8)");
}

std::optional<std::uint32_t> Model::user_index(std::string_view raw_id) const {
  const auto it = user_index_.find(raw_id);
  if (it == user_index_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::uint32_t> Model::item_popularity() const {
  std::vector<std::uint32_t> counts;
  if (!has_seen()) return counts;
  counts.assign(num_items_, 0);
  for (std::uint32_t j = 0; j < seen_offsets_[num_users_]; ++j) ++counts[seen_items_[j]];
  return counts;
}

std::string_view Model::user_id(std::uint32_t index) const {
  return user_ids_.at(index);
}
std::string_view Model::item_id(std::uint32_t index) const {
  return item_ids_.at(index);
}

namespace {

// Row `r` of a row-major matrix as floats.
void row_as_float(const std::uint8_t* data, DType dtype, const float* scales, std::uint32_t r,
                  std::uint32_t cols, float* out) {
  const std::size_t at = static_cast<std::size_t>(r) * cols;
  for (std::uint32_t c = 0; c < cols; ++c) {
    if (dtype == DType::kF32)
      out[c] = reinterpret_cast<const float*>(data)[at + c];
    else if (dtype == DType::kF16)
      out[c] = half_table()[reinterpret_cast<const std::uint16_t*>(data)[at + c]];
    else
      out[c] = scales[r] * static_cast<float>(reinterpret_cast<const std::int8_t*>(data)[at + c]);
  }
}

}  // namespace

void Model::user_vector(std::uint32_t user, float* out) const {
  if (user >= num_users_) throw ModelError("user index " + std::to_string(user) + " out of range");
  row_as_float(users_, dtype_, user_scales_, user, dim_, out);
}

void Model::item_vector(std::uint32_t item, float* out) const {
  if (item >= num_items_) throw ModelError("item index " + std::to_string(item) + " out of range");
  const std::size_t n = num_items_;
  for (std::uint32_t c = 0; c < dim_; ++c) {  // column-major: element (item, c) at c * n + item
    const std::size_t at = c * n + item;
    if (dtype_ == DType::kF32)
      out[c] = reinterpret_cast<const float*>(items_)[at];
    else if (dtype_ == DType::kF16)
      out[c] = half_table()[reinterpret_cast<const std::uint16_t*>(items_)[at]];
    else
      out[c] =
          item_scales_[item] * static_cast<float>(reinterpret_cast<const std::int8_t*>(items_)[at]);
  }
}

std::span<const std::uint32_t> Model::seen(std::uint32_t user) const {
  if (!has_seen() || user >= num_users_) return {};
  return {seen_items_ + seen_offsets_[user], seen_items_ + seen_offsets_[user + 1]};
}

std::uint64_t Model::parameter_count() const {
  std::uint64_t n = static_cast<std::uint64_t>(num_users_ + num_items_) * (dim_ + tower_input_) + 1;
  for (const auto& l : layers_) n += static_cast<std::uint64_t>(l.in + 1) * l.out;
  if (has_tower()) n += layers_.empty() ? tower_input_ : layers_.back().out;
  return n;
}

std::uint64_t Model::flops_per_item() const {
  std::uint64_t f = 2ULL * dim_ + 1;  // dot product + bias
  if (!has_tower()) return f;
  f += 2ULL * tower_input_;  // first layer: user part + item part, ReLU
  for (const auto& l : layers_) f += 2ULL * l.in * l.out + 2ULL * l.out;  // GEMV + bias + ReLU
  f += 2ULL * (layers_.empty() ? tower_input_ : layers_.back().out);      // head
  return f;
}

namespace {

// x[c][j] = relu(u[c] + items[c][j0 + j]) for a block of m items of a column-major matrix of n
// items: the tower's first layer, one addition per unit.
__attribute__((target_clones("avx2", "default"))) void first_layer(
    const float* u, const std::uint8_t* items, DType dtype, const float* scales, std::size_t width,
    std::size_t n, std::size_t j0, std::size_t m, float* x) {
  for (std::size_t c = 0; c < width; ++c) {
    float* row = x + c * kTowerBlock;
    const std::size_t at = c * n + j0;
    if (dtype == DType::kF32) {
      const float* col = reinterpret_cast<const float*>(items) + at;
      for (std::size_t j = 0; j < m; ++j) row[j] = std::max(0.0f, u[c] + col[j]);
    } else if (dtype == DType::kF16) {
      const auto* col = reinterpret_cast<const std::uint16_t*>(items) + at;
      const auto& table = half_table();
      for (std::size_t j = 0; j < m; ++j) row[j] = std::max(0.0f, u[c] + table[col[j]]);
    } else {
      const auto* col = reinterpret_cast<const std::int8_t*>(items) + at;
      const float* s = scales + j0;
      for (std::size_t j = 0; j < m; ++j)
        row[j] = std::max(0.0f, u[c] + s[j] * static_cast<float>(col[j]));
    }
  }
}

}  // namespace

// The tower's output for every item, added to out[]: items in blocks of kTowerBlock, each block
// pushed through all layers with the activations held feature-major (so every loop vectorises
// across items).
void Model::add_tower(std::uint32_t user, float* out) const {
  thread_local std::vector<float> u, a, b;
  std::size_t widest = tower_input_;
  for (const auto& l : layers_) widest = std::max<std::size_t>(widest, l.out);
  u.resize(tower_input_);
  a.resize(widest * kTowerBlock);
  b.resize(widest * kTowerBlock);
  row_as_float(mlp_users_, dtype_, mlp_user_scales_, user, tower_input_, u.data());
  const std::size_t n = num_items_;
  for (std::size_t j0 = 0; j0 < n; j0 += kTowerBlock) {
    const std::size_t m = std::min(kTowerBlock, n - j0);
    first_layer(u.data(), mlp_items_, dtype_, mlp_item_scales_, tower_input_, n, j0, m, a.data());
    float* x = a.data();
    float* y = b.data();
    std::size_t width = tower_input_;
    for (const auto& l : layers_) {
      dense_relu(l.weight, l.bias, l.in, l.out, x, m, y);
      std::swap(x, y);
      width = l.out;
    }
    for (std::size_t k = 0; k < width; ++k) {
      const float h = head_[k];
      const float* xk = x + k * kTowerBlock;
      for (std::size_t j = 0; j < m; ++j) out[j0 + j] += h * xk[j];
    }
  }
}

void Model::score_all(std::uint32_t user, float* out) const {
  if (user >= num_users_) throw ModelError("user index " + std::to_string(user) + " out of range");
  const std::size_t d = dim_, n = num_items_;
  if (dtype_ == DType::kF32) {
    score_f32(reinterpret_cast<const float*>(users_) + user * d,
              reinterpret_cast<const float*>(items_), d, n, bias_, out);
  } else if (dtype_ == DType::kF16) {
    score_f16(reinterpret_cast<const std::uint16_t*>(users_) + user * d,
              reinterpret_cast<const std::uint16_t*>(items_), d, n, bias_, out);
  } else if (packed_items_) {
    packed_items_->score(reinterpret_cast<const std::int8_t*>(users_) + user * d, bias_,
                         user_scales_[user], item_scales_, out);
  } else {
    score_i8(reinterpret_cast<const std::int8_t*>(users_) + user * d,
             reinterpret_cast<const std::int8_t*>(items_), d, n, bias_, user_scales_[user],
             item_scales_, out);
  }
  if (has_tower()) add_tower(user, out);
}

std::vector<std::pair<std::uint32_t, float>> Model::recommend(std::uint32_t user, std::size_t k,
                                                              bool exclude_seen) const {
  thread_local std::vector<float> scores;
  thread_local std::vector<std::uint8_t> mask;
  scores.resize(num_items_);
  score_all(user, scores.data());
  mask.clear();
  if (exclude_seen) {
    if (!has_seen())
      throw ModelError("this model file has no seen-items table (export it with --data)");
    mask.assign(num_items_, 0);
    for (std::uint32_t j = seen_offsets_[user]; j < seen_offsets_[user + 1]; ++j)
      mask[seen_items_[j]] = 1;
  }
  std::vector<std::pair<std::uint32_t, float>> out;
  for (const auto i : top_k(scores, k, mask))
    out.emplace_back(static_cast<std::uint32_t>(i), scores[static_cast<std::size_t>(i)]);
  return out;
}

}  // namespace recpress::runtime
