#include "eval/evaluator.h"

#include <gtest/gtest.h>

#include <limits>

#include "core/errors.h"
#include "data/interaction_matrix.h"
#include "data/synthetic.h"
#include "eval/popularity.h"
#include "eval/result.h"

namespace recpress {
namespace {

// Scores held-out items 1, training items 2 (they must be masked by `full`), the rest 0 or a
// constant.
class RuleScorer : public Scorer {
 public:
  RuleScorer(const Dataset& d, const Split& s, float held, float train, float other)
      : held_(s.test, d.num_users(), d.num_items()),
        train_(s.train, d.num_users(), d.num_items()),
        n_(d.num_items()),
        held_score_(held),
        train_score_(train),
        other_(other) {}
  std::string name() const override { return "rule"; }
  std::int32_t num_items() const override { return n_; }
  void score(std::int32_t u, std::span<const std::int32_t> items,
             std::span<float> out) const override {
    for (std::size_t j = 0; j < items.size(); ++j) {
      out[j] = held_.contains(u, items[j])    ? held_score_
               : train_.contains(u, items[j]) ? train_score_
                                              : other_;
    }
  }

 private:
  InteractionMatrix held_, train_;
  std::int32_t n_;
  float held_score_, train_score_, other_;
};

class EvaluatorTest : public ::testing::Test {
 protected:
  EvaluatorTest()
      : data_(generate_synthetic(
            SyntheticConfig::parse("synthetic:users=300,items=200,mean=20,min=5"))),
        split_(make_split(data_, SplitConfig::parse("loo", 2))) {}
  EvalResult run(const std::string& protocol, const Scorer& s) {
    return Evaluator(data_, split_, EvalTarget::kTest, Protocol::parse(protocol),
                     parse_metrics("hr@1,10 ndcg@10"), 4)
        .evaluate(s);
  }
  Dataset data_;
  Split split_;
};

TEST_F(EvaluatorTest, OracleIsPerfectUnderEveryProtocol) {
  const RuleScorer oracle(data_, split_, 1.0f, 0.0f, 0.0f);
  for (const char* p : {"sampled:uniform:99", "sampled:popularity:50", "full"}) {
    const auto r = run(p, oracle);
    EXPECT_EQ(r.metrics.at("HR@1"), 1.0) << p;
    EXPECT_EQ(r.metrics.at("NDCG@10"), 1.0) << p;
    EXPECT_EQ(r.users, 300);
  }
}

TEST_F(EvaluatorTest, ConstantScoresGetNoCredit) {
  const RuleScorer constant(data_, split_, 0.5f, 0.5f, 0.5f);
  EXPECT_EQ(run("sampled:uniform:99", constant).metrics.at("HR@10"), 0.0);
  EXPECT_EQ(run("full", constant).metrics.at("HR@10"), 0.0);
}

TEST_F(EvaluatorTest, FullMasksTrainingItems) {
  // Training items score highest; if they were not masked the held-out item would fall below them.
  const RuleScorer s(data_, split_, 1.0f, 5.0f, 0.0f);
  EXPECT_EQ(run("full", s).metrics.at("HR@1"), 1.0);
}

TEST_F(EvaluatorTest, NaNScoresAreCountedAndRankedLast) {
  const RuleScorer s(data_, split_, std::numeric_limits<float>::quiet_NaN(), 0.0f, 0.0f);
  const auto r = run("sampled:uniform:99", s);
  EXPECT_EQ(r.metrics.at("HR@10"), 0.0);
  EXPECT_EQ(r.nan_scores, 300);
}

TEST_F(EvaluatorTest, PopularityBeatsChanceAndResultCarriesProvenance) {
  const PopularityScorer pop(split_.train, data_.num_items());
  const auto r = run("sampled:uniform:99", pop);
  EXPECT_GT(r.metrics.at("HR@10"), 0.15);  // chance is 0.10
  EXPECT_EQ(r.protocol, "sampled:uniform:99");
  EXPECT_EQ(r.split, "loo");
  EXPECT_EQ(r.seed, 4u);
  EXPECT_EQ(r.data_checksum, data_.checksum());
  const std::string json = result_to_json(r);
  EXPECT_NE(json.find("\"data_checksum\""), std::string::npos);
  EXPECT_NE(results_table({r}).find("popularity"), std::string::npos);
}

TEST(PopularityGroups, EqualInteractionMassByHand) {
  // Counts: item 0: 6, item 1: 3, item 2: 2, item 3: 1, item 4: 0 (12 interactions). Sorted, the
  // mass before each item is 0, 6, 9, 11, 12.
  std::vector<Interaction> train;
  const int counts[] = {6, 3, 2, 1, 0};
  for (int i = 0; i < 5; ++i)
    for (int c = 0; c < counts[i]; ++c) train.push_back({c, i, 1.0f, 0});
  const PopularityGroups two(train, 5, 2);  // floor(2 * before / 12): 0, 1, 1, 1, 1
  EXPECT_EQ(two.num_groups(), 2);
  EXPECT_EQ(two.groups(), (std::vector<std::uint8_t>{0, 1, 1, 1, 1}));
  const PopularityGroups three(train, 5, 3);  // 0, 1, 2, 2, min(3, 2)
  EXPECT_EQ(three.groups(), (std::vector<std::uint8_t>{0, 1, 2, 2, 2}));
  EXPECT_EQ(three.size_of(2), 3);
  // Four: 0, 2, 3, 3, 3 -> group 1 begins nowhere (item 0 holds half the mass): renumbered.
  const PopularityGroups four(train, 5, 4);
  EXPECT_EQ(four.num_groups(), 3);
  EXPECT_EQ(four.groups(), (std::vector<std::uint8_t>{0, 1, 2, 2, 2}));
  // Equal counts are ordered by id.
  const std::vector<Interaction> tie = {{0, 1, 1.0f, 0}, {1, 0, 1.0f, 0}};
  EXPECT_EQ(PopularityGroups(tie, 2, 2).groups(), (std::vector<std::uint8_t>{0, 1}));
  EXPECT_THROW(PopularityGroups(train, 5, 0), Error);
}

// Scores the user's held-out head items `head`, held-out tail items `tail`, the rest 0.
class HeadTailScorer : public Scorer {
 public:
  HeadTailScorer(const Dataset& d, const Split& s, float head, float tail)
      : held_(s.test, d.num_users(), d.num_items()),
        groups_(s.train, d.num_items(), 2),
        n_(d.num_items()),
        head_(head),
        tail_(tail) {}
  std::string name() const override { return "head-tail"; }
  std::int32_t num_items() const override { return n_; }
  void score(std::int32_t u, std::span<const std::int32_t> items,
             std::span<float> out) const override {
    for (std::size_t j = 0; j < items.size(); ++j)
      out[j] = !held_.contains(u, items[j]) ? 0.0f : groups_.of(items[j]) == 0 ? head_ : tail_;
  }
  const PopularityGroups& groups() const { return groups_; }

 private:
  InteractionMatrix held_;
  PopularityGroups groups_;
  std::int32_t n_;
  float head_, tail_;
};

TEST_F(EvaluatorTest, HeadAndTailAreScoredApart) {
  // Leave-one-out: each user is in the group of their one held-out item.
  const HeadTailScorer s(data_, split_, 1.0f, -1.0f);  // tail items below every other item
  std::int64_t head_users = 0;
  for (const auto& x : split_.test) head_users += s.groups().of(x.item) == 0 ? 1 : 0;
  ASSERT_GT(head_users, 0);
  ASSERT_LT(head_users, 300);
  for (const char* p : {"sampled:uniform:99", "full"}) {
    const auto r = run(p, s);
    EXPECT_EQ(r.by_popularity.at("head users"), static_cast<double>(head_users)) << p;
    EXPECT_EQ(r.by_popularity.at("tail users"), static_cast<double>(300 - head_users)) << p;
    EXPECT_EQ(r.by_popularity.at("head HR@1"), 1.0) << p;
    EXPECT_EQ(r.by_popularity.at("tail HR@10"), 0.0) << p;
    // The overall metric is the users' mean: the head's share of users at 1, the tail's at 0.
    EXPECT_NEAR(r.metrics.at("NDCG@10"), static_cast<double>(head_users) / 300.0, 1e-12) << p;
    EXPECT_NE(result_to_json(r).find("\"tail NDCG@10\""), std::string::npos);
  }
}

TEST(Evaluator, HeadAndTailOfOneUserLeaveTheOtherGroupOut) {
  // Several held-out items per user: head ones score 2, tail ones 1. Ranked apart, each group's
  // items come first (the head's are left out of the tail's ranking); ranked together the tail's
  // would sit below the head's and lose HR@1.
  const Dataset data =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=200,items=150,mean=30,min=10"));
  const Split split = make_split(data, SplitConfig::parse("random:0.6,0.1", 3));
  const HeadTailScorer s(data, split, 2.0f, 1.0f);
  std::int64_t mixed = 0;
  {
    const InteractionMatrix held(split.test, data.num_users(), data.num_items());
    for (std::int32_t u = 0; u < data.num_users(); ++u) {
      bool head = false, tail = false;
      for (const auto i : held.row(u)) (s.groups().of(i) == 0 ? head : tail) = true;
      mixed += head && tail ? 1 : 0;
    }
  }
  ASSERT_GT(mixed, 10);
  for (const char* p : {"sampled:uniform:50", "full"}) {
    const auto r = Evaluator(data, split, EvalTarget::kTest, Protocol::parse(p),
                             parse_metrics("hr@1 ndcg@10"), 4)
                       .evaluate(s);
    EXPECT_EQ(r.by_popularity.at("head HR@1"), 1.0) << p;
    EXPECT_EQ(r.by_popularity.at("tail HR@1"), 1.0) << p;
    // Every group's items first, ideal: NDCG 1 (the other group's ranks must not count either).
    EXPECT_NEAR(r.by_popularity.at("head NDCG@10"), 1.0, 1e-12) << p;
    EXPECT_NEAR(r.by_popularity.at("tail NDCG@10"), 1.0, 1e-12) << p;
    EXPECT_EQ(r.by_popularity.at("head users") + r.by_popularity.at("tail users"),
              static_cast<double>(r.users + mixed))
        << p;
  }
}

// Regression (issue 22): columns were in string order, HR@10 before HR@5.
TEST(ResultsTable, MetricColumnsInCutoffOrder) {
  EvalResult r;
  r.scorer = "m";
  r.metrics = {{"HR@10", 0.5}, {"HR@5", 0.3}, {"NDCG@10", 0.2}, {"NDCG@5", 0.1}, {"MRR@100", 0.4}};
  const std::string t = results_table({r});
  const auto at = [&](const std::string& s) { return t.find(s); };
  EXPECT_LT(at("HR@5"), at("HR@10"));
  EXPECT_LT(at("HR@10"), at("MRR@100"));
  EXPECT_LT(at("NDCG@5"), at("NDCG@10"));
  // The values follow their columns.
  EXPECT_LT(t.find("0.3000"), t.find("0.5000"));
}

TEST_F(EvaluatorTest, MatrixScorerAndWrongItemCount) {
  const auto n = static_cast<std::size_t>(data_.num_items());
  std::vector<float> m(static_cast<std::size_t>(data_.num_users()) * n, 0.0f);
  for (const auto& x : split_.test)
    m[static_cast<std::size_t>(x.user) * n + static_cast<std::size_t>(x.item)] = 1.0f;
  const MatrixScorer ms(m.data(), data_.num_users(), data_.num_items());
  EXPECT_EQ(run("full", ms).metrics.at("HR@1"), 1.0);
  const MatrixScorer wrong(m.data(), data_.num_users(), data_.num_items() - 1);
  EXPECT_THROW(run("full", wrong), Error);
}

TEST_F(EvaluatorTest, ValidationTargetNeedsAValidationPart) {
  const Split novalid = make_split(data_, SplitConfig::parse("loo+novalid", 2));
  EXPECT_THROW(Evaluator(data_, novalid, EvalTarget::kValid, Protocol::parse("full"),
                         parse_metrics("hr@10"), 1),
               Error);
}

}  // namespace
}  // namespace recpress
