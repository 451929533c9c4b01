#include "data/negative_sampler.h"

#include <gtest/gtest.h>

#include "core/errors.h"

namespace recpress {
namespace {

InteractionMatrix matrix(const std::vector<std::pair<int, int>>& pairs, int users, int items) {
  std::vector<Interaction> xs;
  for (auto [u, i] : pairs) xs.push_back({u, i, 1.0f, 0});
  return InteractionMatrix(xs, users, items);
}

TEST(AliasTable, MatchesWeights) {
  const AliasTable t({1.0, 0.0, 3.0, 4.0});
  Rng rng(1);
  std::vector<int> counts(4, 0);
  const int n = 400000;
  for (int k = 0; k < n; ++k) ++counts[static_cast<std::size_t>(t.sample(rng))];
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[0] / double(n), 0.125, 0.005);
  EXPECT_NEAR(counts[2] / double(n), 0.375, 0.005);
  EXPECT_NEAR(counts[3] / double(n), 0.5, 0.005);
  EXPECT_THROW(AliasTable({0.0, 0.0}), Error);
}

TEST(NegativeSampler, UniformNeverReturnsPositivesAndIsUniform) {
  const auto m = matrix({{0, 1}, {0, 3}, {1, 0}}, 2, 5);
  const NegativeSampler s(m, NegativeSampler::Kind::kUniform);
  Rng rng(3);
  std::vector<int> counts(5, 0);
  for (int k = 0; k < 30000; ++k) ++counts[static_cast<std::size_t>(s.sample(0, rng))];
  EXPECT_EQ(counts[1], 0);
  EXPECT_EQ(counts[3], 0);
  for (int i : {0, 2, 4}) EXPECT_NEAR(counts[static_cast<std::size_t>(i)] / 30000.0, 1.0 / 3, 0.02);
}

TEST(NegativeSampler, PopularityFollowsCountsToTheAlpha) {
  // Items 0..3 with training counts 0, 1, 3, 7 from users 1..7; user 0 has item 3.
  std::vector<std::pair<int, int>> pairs = {{0, 3}, {1, 1}, {1, 2}, {2, 2}, {3, 2}};
  for (int u = 1; u <= 7; ++u) pairs.push_back({u, 3});
  const auto m = matrix(pairs, 8, 4);
  const NegativeSampler s(m, NegativeSampler::Kind::kPopularity, 1.0);
  Rng rng(5);
  std::vector<int> counts(4, 0);
  const int n = 200000;
  for (int k = 0; k < n; ++k) ++counts[static_cast<std::size_t>(s.sample(0, rng))];
  EXPECT_EQ(counts[3], 0);
  // weights (count + 1): 1, 2, 4 over the allowed items 0, 1, 2
  EXPECT_NEAR(counts[0] / double(n), 1.0 / 7, 0.01);
  EXPECT_NEAR(counts[2] / double(n), 4.0 / 7, 0.01);
}

TEST(NegativeSampler, DenseUserFallsBackAndFullUserThrows) {
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < 1000; ++i) {
    if (i != 617) pairs.push_back({0, i});
    pairs.push_back({1, i});
  }
  const auto m = matrix(pairs, 2, 1000);
  const NegativeSampler s(m, NegativeSampler::Kind::kUniform);
  Rng rng(1);
  for (int k = 0; k < 20; ++k) EXPECT_EQ(s.sample(0, rng), 617);
  EXPECT_THROW(s.sample(1, rng), Error);
}

TEST(NegativeSampler, SpecsAndDeterminism) {
  const auto m = matrix({{0, 1}}, 1, 50);
  EXPECT_THROW(NegativeSampler::from_spec(m, "zipf"), Error);
  EXPECT_THROW(NegativeSampler::from_spec(m, "popularity:x"), Error);
  const auto s = NegativeSampler::from_spec(m, "popularity:0.75");
  Rng a(9), b(9);
  std::vector<std::int32_t> users(100, 0), out_a(400), out_b(400);
  s.sample_many(users.data(), users.size(), 4, out_a.data(), a);
  s.sample_many(users.data(), users.size(), 4, out_b.data(), b);
  EXPECT_EQ(out_a, out_b);
}

}  // namespace
}  // namespace recpress
