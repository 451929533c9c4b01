// Adapts a top-N model to the evaluator's Scorer interface: batched, no autograd, eval mode.
#pragma once

#include "eval/scorer.h"
#include "models/topn/model.h"

namespace recpress {

class TopNScorer : public Scorer {
 public:
  explicit TopNScorer(TopNModelPtr model, std::string name = "");
  std::string name() const override { return name_; }
  std::int32_t num_items() const override { return static_cast<std::int32_t>(model_->num_items()); }
  void score(std::int32_t user, std::span<const std::int32_t> items,
             std::span<float> out) const override;
  void score_all(std::span<const std::int32_t> users, std::span<float> out) const override;
  void score_lists(std::span<const std::int32_t> users, std::span<const std::int64_t> offsets,
                   std::span<const std::int32_t> items, std::span<float> out) const override;

 private:
  TopNModelPtr model_;
  std::string name_;
};

}  // namespace recpress
