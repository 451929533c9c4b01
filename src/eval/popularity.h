// Most-popular baseline: every user gets the items ranked by their training interaction count.
// The floor every learned model must clear.
#pragma once

#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "eval/scorer.h"

namespace recpress {

class PopularityScorer : public Scorer {
 public:
  PopularityScorer(std::span<const Interaction> train, std::int32_t num_items);
  std::string name() const override { return "popularity"; }
  std::int32_t num_items() const override { return static_cast<std::int32_t>(counts_.size()); }
  void score(std::int32_t user, std::span<const std::int32_t> items,
             std::span<float> out) const override;
  void score_all(std::span<const std::int32_t> users, std::span<float> out) const override;

 private:
  std::vector<float> counts_;
};

}  // namespace recpress
