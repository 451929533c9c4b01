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
