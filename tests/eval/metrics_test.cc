// Hand-computed cases for every top-N metric, including ties and the NDCG cases other libraries
// have got wrong (several relevant items; fewer relevant items than K in the ideal DCG).
#include "eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/errors.h"
#include "core/rng.h"

namespace recpress {
namespace {

using R = std::vector<std::int64_t>;

TEST(Metrics, SingleRelevantItem) {
  const R at2 = {2};  // third place
  EXPECT_EQ(hit_ratio_at(at2, 5), 1.0);
  EXPECT_EQ(hit_ratio_at(at2, 2), 0.0);
  EXPECT_NEAR(ndcg_at(at2, 1, 5), 0.5, 1e-12);  // 1 / log2(4)
  EXPECT_NEAR(mrr_at(at2, 5), 1.0 / 3, 1e-12);
  EXPECT_NEAR(map_at(at2, 1, 5), 1.0 / 3, 1e-12);
  EXPECT_NEAR(precision_at(at2, 5), 0.2, 1e-12);
  EXPECT_EQ(recall_at(at2, 1, 5), 1.0);
  const R first = {0};
  EXPECT_EQ(ndcg_at(first, 1, 1), 1.0);
  const R out = {5};
  EXPECT_EQ(hit_ratio_at(out, 5), 0.0);
  EXPECT_EQ(ndcg_at(out, 1, 5), 0.0);
  EXPECT_EQ(mrr_at(out, 5), 0.0);
  EXPECT_EQ(map_at(out, 1, 5), 0.0);
}

TEST(Metrics, SeveralRelevantItems) {
  const R ranks = {0, 2};  // 3 relevant, 2 of them at positions 1 and 3
  EXPECT_NEAR(precision_at(ranks, 3), 2.0 / 3, 1e-12);
  EXPECT_NEAR(recall_at(ranks, 3, 3), 2.0 / 3, 1e-12);
  // DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3) + 1/log2(4) = 2.1309297535714578
  EXPECT_NEAR(ndcg_at(ranks, 3, 3), 1.5 / 2.1309297535714578, 1e-12);
  // AP@3 = (1/1 + 2/3) / min(3, 3)
  EXPECT_NEAR(map_at(ranks, 3, 3), (1.0 + 2.0 / 3) / 3, 1e-12);
  EXPECT_EQ(mrr_at(ranks, 3), 1.0);
}

TEST(Metrics, IdealDcgStopsAtTheNumberOfRelevantItems) {
  // One relevant item at the top of a top-10 list is a perfect list: NDCG@10 = 1, not 1/IDCG(10).
  EXPECT_EQ(ndcg_at(R{0}, 1, 10), 1.0);
  EXPECT_EQ(ndcg_at(R{0, 1}, 2, 10), 1.0);
  EXPECT_NEAR(ndcg_at(R{1}, 1, 10), 1.0 / std::log2(3.0), 1e-12);
  // Two relevant, one retrieved at rank 4 (0-based 3): DCG = 1/log2(5); IDCG = 1 + 1/log2(3).
  EXPECT_NEAR(ndcg_at(R{3}, 2, 5), (1.0 / std::log2(5.0)) / (1.0 + 1.0 / std::log2(3.0)), 1e-12);
  EXPECT_NEAR(recall_at(R{3}, 2, 5), 0.5, 1e-12);
  EXPECT_NEAR(map_at(R{3}, 2, 5), 0.25 / 2, 1e-12);
  // More relevant items than K: the ideal list is K long.
  EXPECT_EQ(ndcg_at(R{0, 1}, 5, 2), 1.0);
  EXPECT_EQ(map_at(R{0, 1}, 5, 2), 1.0);
}

TEST(PessimisticRanks, TiesPutTheRelevantItemLast) {
  EXPECT_EQ(pessimistic_ranks(std::vector<float>{1, 1, 1}, std::vector<std::uint8_t>{0, 1, 0}),
            R{2});
  EXPECT_EQ(
      pessimistic_ranks(std::vector<float>{3, 2, 2, 1}, std::vector<std::uint8_t>{0, 1, 0, 0}),
      R{2});
  EXPECT_EQ(
      pessimistic_ranks(std::vector<float>{3, 2, 2, 1}, std::vector<std::uint8_t>{1, 0, 0, 0}),
      R{0});
  // Two relevant items tied with each other: they take consecutive places, below tied negatives.
  EXPECT_EQ(pessimistic_ranks(std::vector<float>{5, 5, 5}, std::vector<std::uint8_t>{1, 0, 1}),
            (R{1, 2}));
}

TEST(PessimisticRanks, NaNIsWorstAndMaskedIsAbsent) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(pessimistic_ranks(std::vector<float>{nan, 0, -5}, std::vector<std::uint8_t>{1, 0, 0}),
            R{2});
  EXPECT_EQ(pessimistic_ranks(std::vector<float>{1, 9, 8, 0}, std::vector<std::uint8_t>{1, 0, 0, 0},
                              std::vector<std::uint8_t>{0, 1, 0, 0}),
            R{1});
  // A masked relevant item is not ranked.
  EXPECT_TRUE(pessimistic_ranks(std::vector<float>{1, 2}, std::vector<std::uint8_t>{1, 0},
                                std::vector<std::uint8_t>{1, 0})
                  .empty());
}

TEST(PessimisticRanks, ManyRelevantPathMatchesTheDefinition) {
  Rng rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    const std::size_t n = 200;
    std::vector<float> s(n);
    std::vector<std::uint8_t> rel(n, 0), mask(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      s[i] = static_cast<float>(rng.below(15));  // many ties
      rel[i] = rng.uniform() < 0.2 ? 1 : 0;
      mask[i] = rng.uniform() < 0.1 ? 1 : 0;
    }
    R expected;
    for (std::size_t a = 0; a < n; ++a) {
      if (!rel[a] || mask[a]) continue;
      std::int64_t rank = 0;
      for (std::size_t j = 0; j < n; ++j) {
        if (mask[j] || j == a) continue;
        if (rel[j] ? (s[j] > s[a] || (s[j] == s[a] && j < a)) : s[j] >= s[a]) ++rank;
      }
      expected.push_back(rank);
    }
    std::sort(expected.begin(), expected.end());
    ASSERT_GT(expected.size(), 16u);
    EXPECT_EQ(pessimistic_ranks(s, rel, mask), expected);
  }
}

TEST(MetricSpecs, ParseNamesAndErrors) {
  const auto m = parse_metrics("HR@5,10 ndcg@10; mrr@10 map@3 precision@2 recall@20");
  ASSERT_EQ(m.size(), 7u);
  EXPECT_EQ(m[1].name(), "HR@10");
  EXPECT_EQ(m[2].name(), "NDCG@10");
  EXPECT_EQ(m[6].name(), "Recall@20");
  EXPECT_THROW(parse_metrics("auc@10"), Error);
  EXPECT_THROW(parse_metrics("ndcg"), Error);
  EXPECT_THROW(parse_metrics("ndcg@0"), Error);
  EXPECT_THROW(parse_metrics(""), Error);
}

TEST(MetricAccumulator, AveragesOverUsers) {
  MetricAccumulator acc(parse_metrics("hr@1 ndcg@4"));
  acc.add(R{0}, 1);
  acc.add(R{3}, 1);
  const auto m = acc.means();
  EXPECT_EQ(acc.users(), 2);
  EXPECT_NEAR(m.at("HR@1"), 0.5, 1e-12);
  EXPECT_NEAR(m.at("NDCG@4"), (1.0 + 1.0 / std::log2(5.0)) / 2, 1e-12);
}

}  // namespace
}  // namespace recpress
