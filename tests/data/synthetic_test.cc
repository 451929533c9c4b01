#include "data/synthetic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "core/errors.h"
#include "data/interaction_matrix.h"

namespace recpress {
namespace {

TEST(Synthetic, DeterministicBySeed) {
  const auto c = SyntheticConfig::parse("synthetic:users=100,items=80,mean=12,min=5,seed=3");
  const Dataset a = generate_synthetic(c);
  const Dataset b = generate_synthetic(c);
  EXPECT_EQ(a.checksum(), b.checksum());
  auto c2 = c;
  c2.seed = 4;
  EXPECT_NE(generate_synthetic(c2).checksum(), a.checksum());
}

TEST(Synthetic, ShapeZipfAndLongTail) {
  const Dataset d =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=800,items=400,mean=30,min=5"));
  EXPECT_EQ(d.num_users(), 800);
  EXPECT_GT(d.num_items(), 350);
  std::vector<std::int64_t> per_user(800, 0);
  for (const auto& x : d.interactions) ++per_user[static_cast<std::size_t>(x.user)];
  EXPECT_GE(*std::min_element(per_user.begin(), per_user.end()), 5);
  std::sort(per_user.begin(), per_user.end());
  EXPECT_GT(per_user.back(), 3 * per_user[400]);  // long-tailed activity
  InteractionMatrix m(d.interactions, d.num_users(), d.num_items());
  auto counts = m.item_counts();
  std::sort(counts.rbegin(), counts.rend());
  EXPECT_GT(counts[0], 3 * counts[counts.size() / 2]);  // popular head (uniform would be ~1.2x)
  EXPECT_EQ(m.nnz(), d.size());                         // no repeated pairs
}

TEST(Synthetic, SequencesCarryMarkovStructure) {
  // With markov = 0.9 consecutive pairs repeat across users far more than with markov = 0.
  // Share of transitions that go to the most frequent successor of the previous item: the
  // order of a sequence is predictable when markov is high, much less so when it is 0.
  auto top_successor_share = [](double markov) {
    auto c = SyntheticConfig::parse("synthetic:users=400,items=300,mean=20,min=10");
    c.markov = markov;
    const Dataset d = generate_synthetic(c);
    std::map<int, std::map<int, int>> next;
    int transitions = 0;
    for (std::size_t k = 1; k < d.size(); ++k) {
      if (d.interactions[k].user != d.interactions[k - 1].user) continue;
      ++next[d.interactions[k - 1].item][d.interactions[k].item];
      ++transitions;
    }
    int top = 0;
    for (const auto& [_, successors] : next) {
      int best = 0;
      for (const auto& [__, n] : successors) best = std::max(best, n);
      top += best;
    }
    return static_cast<double>(top) / transitions;
  };
  const double ordered = top_successor_share(0.9), unordered = top_successor_share(0.0);
  std::cerr << "top-successor share: markov 0.9 -> " << ordered << ", markov 0 -> " << unordered
            << "\n";
  EXPECT_GT(ordered, 2.0 * unordered);
}

TEST(Synthetic, FeaturesCorrelateWithTaste) {
  const Dataset d =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=400,items=200,mean=20,min=5"));
  const FeatureField* seg = d.user_features.find("segment");
  const FeatureField* cat = d.item_features.find("category");
  ASSERT_NE(seg, nullptr);
  ASSERT_NE(cat, nullptr);
  // Share of interactions whose item category equals the user's segment: chance is 1/8.
  int same = 0;
  for (const auto& x : d.interactions) {
    const auto s = seg->vocabulary.raw(seg->values[static_cast<std::size_t>(x.user)]).substr(1);
    const auto c = cat->vocabulary.raw(cat->values[static_cast<std::size_t>(x.item)]).substr(1);
    same += s == c ? 1 : 0;
  }
  EXPECT_GT(same / double(d.size()), 0.25);
}

TEST(Synthetic, BadParameters) {
  EXPECT_THROW(SyntheticConfig::parse("synthetic:users=0"), Error);
  EXPECT_THROW(SyntheticConfig::parse("synthetic:colour=3"), Error);
  EXPECT_THROW(SyntheticConfig::parse("synthetic:users=abc"), Error);
  EXPECT_THROW(SyntheticConfig::parse("synthetic:items=10,min=8"), Error);
  EXPECT_THROW(SyntheticConfig::parse("synthetic:markov=1.5"), Error);
}

}  // namespace
}  // namespace recpress
