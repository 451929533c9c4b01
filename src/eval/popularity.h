// Most-popular baseline: every user gets the items ranked by their training interaction count.
// The floor every learned model must clear.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "data/dataset.h"
#include "eval/scorer.h"

namespace recpress {

// Items in `groups` groups of about equal interaction mass, by training popularity: 0 holds the
// most interacted-with items, which together hold about 1/groups of `train`'s interactions, and
// so on; the last group the rarest (items never seen included). An item belongs to the group in
// which its mass begins: with the items sorted by count (ties by id) and c_i the interactions of
// the items before it, its group is floor(groups * c_i / total). A group that no item begins in
// (a single item holding more than a share) is dropped and the later ones renumbered, so every
// group index below num_groups() is used. The stratification of UnKD (Chen et al., "Unbiased
// Knowledge Distillation for Recommendation", WSDM 2023: items grouped by popularity; its
// released code makes the groups' interaction totals equal, as here up to the group edges); with
// groups = 2, the head and the tail of the evaluation's breakdown.
class PopularityGroups {
 public:
  PopularityGroups() = default;
  PopularityGroups(std::span<const Interaction> train, std::int32_t num_items, int groups);
  // From each item's interaction count.
  PopularityGroups(std::span<const std::int64_t> counts, int groups);
  int num_groups() const { return num_groups_; }
  std::uint8_t of(std::int32_t item) const { return group_[static_cast<std::size_t>(item)]; }
  const std::vector<std::uint8_t>& groups() const { return group_; }
  std::int64_t size_of(int group) const;  // items in the group

 private:
  std::vector<std::uint8_t> group_;
  int num_groups_ = 0;
};

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
