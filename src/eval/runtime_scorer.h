// A shipped model (.rpm, through the LibTorch-free runtime) as an evaluator scorer, so a student
// is measured after export exactly as it will serve (users and items share the data's indices).
#pragma once

#include <string>
#include <vector>

#include "eval/scorer.h"
#include "runtime/model.h"
#include "runtime/next_item_model.h"

namespace recpress {

class RuntimeScorer : public Scorer {
 public:
  RuntimeScorer(const runtime::Model& m, std::string name) : m_(m), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  std::int32_t num_items() const override { return static_cast<std::int32_t>(m_.num_items()); }
  void score(std::int32_t user, std::span<const std::int32_t> items,
             std::span<float> out) const override {
    buffer_.resize(m_.num_items());
    m_.score_all(static_cast<std::uint32_t>(user), buffer_.data());
    for (std::size_t k = 0; k < items.size(); ++k)
      out[k] = buffer_[static_cast<std::size_t>(items[k])];
  }

 private:
  const runtime::Model& m_;
  std::string name_;
  mutable std::vector<float> buffer_;
};

// A next-item file as a Scorer: user u is scored from histories[u] (0-based items, oldest first),
// through the runtime, as it ships. An empty history scores every item 0.
class NextItemRuntimeScorer : public Scorer {
 public:
  NextItemRuntimeScorer(const runtime::NextItemModel& m,
                        const std::vector<std::vector<std::int32_t>>& histories, std::string name)
      : m_(m), histories_(histories), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  std::int32_t num_items() const override { return static_cast<std::int32_t>(m_.num_items()); }
  void score(std::int32_t user, std::span<const std::int32_t> items,
             std::span<float> out) const override {
    const auto& h = histories_.at(static_cast<std::size_t>(user));
    buffer_.assign(m_.num_items(), 0.0f);
    if (!h.empty()) {
      history_.assign(h.begin(), h.end());
      m_.score_all(history_, buffer_.data());
    }
    for (std::size_t k = 0; k < items.size(); ++k)
      out[k] = buffer_[static_cast<std::size_t>(items[k])];
  }

 private:
  const runtime::NextItemModel& m_;
  const std::vector<std::vector<std::int32_t>>& histories_;
  std::string name_;
  mutable std::vector<float> buffer_;
  mutable std::vector<std::uint32_t> history_;
};

}  // namespace recpress
