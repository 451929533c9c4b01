// What the evaluator needs from a model: scores for (user, item) pairs. Models, baselines and the
// runtime all implement this; batched overrides let a model use one GEMM for many users.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace recpress {

class Scorer {
 public:
  virtual ~Scorer() = default;
  virtual std::string name() const = 0;
  virtual std::int32_t num_items() const = 0;
  // Scores of `items` for `user`, higher is better.
  virtual void score(std::int32_t user, std::span<const std::int32_t> items,
                     std::span<float> out) const = 0;
  // Scores of every item for each of `users`; `out` is users.size() x num_items(), row-major.
  virtual void score_all(std::span<const std::int32_t> users, std::span<float> out) const;
  // Scores of candidate lists: user k's items are items[offsets[k] .. offsets[k+1]), relative to
  // offsets[0]; `out` is aligned with `items`. Models override it to score many users in one call.
  virtual void score_lists(std::span<const std::int32_t> users,
                           std::span<const std::int64_t> offsets,
                           std::span<const std::int32_t> items, std::span<float> out) const;
};

// Scores read from a dense users x items matrix (benchmarks, tests, externally computed scores).
class MatrixScorer : public Scorer {
 public:
  MatrixScorer(const float* scores, std::int32_t num_users, std::int32_t num_items,
               std::string name = "matrix")
      : scores_(scores), num_users_(num_users), num_items_(num_items), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  std::int32_t num_items() const override { return num_items_; }
  void score(std::int32_t user, std::span<const std::int32_t> items,
             std::span<float> out) const override;
  void score_all(std::span<const std::int32_t> users, std::span<float> out) const override;

 private:
  const float* scores_;
  std::int32_t num_users_;
  std::int32_t num_items_;
  std::string name_;
};

}  // namespace recpress
