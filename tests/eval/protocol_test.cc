#include "eval/protocol.h"

#include <gtest/gtest.h>

#include <iostream>
#include <set>

#include "core/errors.h"
#include "data/interaction_matrix.h"
#include "data/loader.h"
#include "data/synthetic.h"
#include "eval/candidates.h"
#include "test_util.h"

namespace recpress {
namespace {

TEST(Protocol, ParseAndPrint) {
  EXPECT_EQ(Protocol::parse("full").kind, Protocol::Kind::kFull);
  const auto p = Protocol::parse("sampled:uniform:99");
  EXPECT_EQ(p.negatives, 99);
  EXPECT_EQ(p.to_string(), "sampled:uniform:99");
  EXPECT_EQ(Protocol::parse("sampled:popularity:100").sampler, "popularity");
  EXPECT_EQ(Protocol::parse("file:x.negative").path, "x.negative");
  for (const char* bad : {"sampled", "sampled:uniform", "sampled:zipf:10", "sampled:uniform:0",
                          "sampled:uniform:x", "loo", "file:"}) {
    EXPECT_THROW(Protocol::parse(bad), Error) << bad;
  }
}

class Candidates : public ::testing::Test {
 protected:
  Candidates()
      : data_(generate_synthetic(
            SyntheticConfig::parse("synthetic:users=200,items=300,mean=20,min=5"))),
        split_(make_split(data_, SplitConfig::parse("loo", 1))) {}
  Dataset data_;
  Split split_;
};

TEST_F(Candidates, SampledNegativesAreValidDistinctAndSeeded) {
  const auto set =
      draw_candidates(data_, split_, EvalTarget::kTest, Protocol::parse("sampled:uniform:99"), 5);
  const InteractionMatrix all(data_.interactions, data_.num_users(), data_.num_items());
  ASSERT_EQ(set.size(), 200u);
  for (std::size_t k = 0; k < set.size(); ++k) {
    const auto items = set.items_of(k);
    const auto rel = set.relevant_of(k);
    ASSERT_EQ(items.size(), 100u);
    EXPECT_EQ(rel[0], 1);
    EXPECT_TRUE(std::all_of(rel.begin() + 1, rel.end(), [](auto r) { return r == 0; }));
    std::set<std::int32_t> distinct(items.begin(), items.end());
    EXPECT_EQ(distinct.size(), items.size());
    for (std::size_t j = 1; j < items.size(); ++j)
      EXPECT_FALSE(all.contains(set.users[k], items[j]));
  }
  const auto again =
      draw_candidates(data_, split_, EvalTarget::kTest, Protocol::parse("sampled:uniform:99"), 5);
  EXPECT_EQ(again.items, set.items);
  const auto other =
      draw_candidates(data_, split_, EvalTarget::kTest, Protocol::parse("sampled:uniform:99"), 6);
  EXPECT_NE(other.items, set.items);
}

TEST_F(Candidates, PopularityNegativesFavourPopularItems) {
  const auto pop = draw_candidates(data_, split_, EvalTarget::kTest,
                                   Protocol::parse("sampled:popularity:30"), 1);
  const auto uni =
      draw_candidates(data_, split_, EvalTarget::kTest, Protocol::parse("sampled:uniform:30"), 1);
  const auto counts =
      InteractionMatrix(split_.train, data_.num_users(), data_.num_items()).item_counts();
  auto mean_count = [&](const CandidateSet& s) {
    double sum = 0;
    std::size_t n = 0;
    for (std::size_t j = 0; j < s.items.size(); ++j) {
      if (s.relevant[j]) continue;
      sum += static_cast<double>(counts[static_cast<std::size_t>(s.items[j])]);
      ++n;
    }
    return sum / static_cast<double>(n);
  };
  std::cerr << "mean training count of negatives: popularity " << mean_count(pop) << ", uniform "
            << mean_count(uni) << "\n";
  EXPECT_GT(mean_count(pop), 1.3 * mean_count(uni));
}

TEST_F(Candidates, TooFewAvailableItemsIsAnError) {
  EXPECT_THROW(
      draw_candidates(data_, split_, EvalTarget::kTest, Protocol::parse("sampled:uniform:299"), 1),
      Error);
}

TEST_F(Candidates, SaveAndReloadAreIdenticalAndChecked) {
  const auto dir = testing::scratch_dir("candidates");
  const auto set =
      draw_candidates(data_, split_, EvalTarget::kValid, Protocol::parse("sampled:uniform:20"), 3);
  save_candidates(set, data_, dir + "/c.tsv");
  const auto back = load_candidates(dir + "/c.tsv", data_);
  EXPECT_EQ(back.items, set.items);
  EXPECT_EQ(back.relevant, set.relevant);
  EXPECT_EQ(back.users, set.users);
  EXPECT_EQ(back.protocol, "sampled:uniform:20");
  EXPECT_EQ(back.seed, 3u);
  const Dataset other = generate_synthetic(
      SyntheticConfig::parse("synthetic:users=200,items=300,mean=20,min=5,seed=9"));
  EXPECT_THROW(load_candidates(dir + "/c.tsv", other), DataError);
  testing::write_text(dir, "bad.tsv", "hello\n");
  EXPECT_THROW(load_candidates(dir + "/bad.tsv", data_), DataError);
}

TEST(PublishedCandidates, NcfFileMappedAndValidated) {
  const auto dir = testing::scratch_dir("published");
  // Users 0, 1; user 0's latest item is 12, user 1's is 13.
  testing::write_text(dir, "d.rating",
                      "0\t10\t5\t1\n0\t11\t5\t2\n0\t12\t5\t3\n1\t10\t5\t1\n1\t13\t5\t4\n"
                      "2\t14\t5\t1\n2\t15\t5\t2\n");
  LoadReport r;
  const Dataset d = load_path(dir + "/d.rating", {}, r);
  const Split s = make_split(d, SplitConfig::parse("loo+novalid", 1));
  auto load = [&](const std::string& text) {
    testing::write_text(dir, "x.negative", text);
    return load_published_candidates(dir + "/x.negative", d, s, EvalTarget::kTest);
  };
  const auto ok = load("(0,12)\t13\t14\n(1,13)\t11\t12\n");
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok.items_of(0).size(), 3u);
  auto expect = [&](const std::string& text, const std::string& fragment) {
    try {
      load(text);
      FAIL() << fragment;
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect("(0,12)\t13\n(7,13)\t11\n", "x.negative:2: field 'user': unknown user '7'");
  expect("(0,12)\t99\n", "unknown item '99'");
  expect("(0,11)\t13\n", "not user '0''s held-out item");
  expect("(0,12)\t10\n", "interacted with");
  expect("(0,12)\t13\n(0,12)\t14\n", "appears twice");
}

}  // namespace
}  // namespace recpress
