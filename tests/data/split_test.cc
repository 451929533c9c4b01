#include "data/split.h"

#include <gtest/gtest.h>

#include <set>

#include "core/errors.h"
#include "data/synthetic.h"

namespace recpress {
namespace {

Dataset tiny() {
  Dataset d;
  d.source = "tiny";
  auto add = [&](const char* u, const char* i, std::int64_t t) {
    d.interactions.push_back({d.users.intern(u), d.items.intern(i), 1.0f, t});
  };
  // u1: times 5, 1, 9, 9 (tie at 9: file order decides, so "d" is the latest)
  add("u1", "a", 5);
  add("u1", "b", 1);
  add("u1", "c", 9);
  add("u1", "d", 9);
  add("u2", "a", 3);
  add("u2", "c", 2);
  add("u2", "e", 4);
  return d;
}

TEST(Split, LeaveOneOutByTimeWithTies) {
  const Dataset d = tiny();
  const Split s = make_split(d, SplitConfig::parse("loo", 1));
  ASSERT_EQ(s.test.size(), 2u);
  ASSERT_EQ(s.valid.size(), 2u);
  EXPECT_EQ(d.items.raw(s.test[0].item), "d");
  EXPECT_EQ(d.items.raw(s.valid[0].item), "c");
  EXPECT_EQ(d.items.raw(s.test[1].item), "e");
  EXPECT_EQ(d.items.raw(s.valid[1].item), "a");
  EXPECT_EQ(s.train.size(), 3u);
}

TEST(Split, LeaveOneOutWithoutValidation) {
  const Split s = make_split(tiny(), SplitConfig::parse("loo+novalid", 1));
  EXPECT_TRUE(s.valid.empty());
  EXPECT_EQ(s.train.size(), 5u);
}

TEST(Split, TooFewInteractionsNamesTheUser) {
  Dataset d = tiny();
  d.interactions.push_back({d.users.intern("lonely"), 0, 1.0f, 1});
  d.interactions.push_back({d.users.intern("lonely"), 1, 1.0f, 2});
  try {
    make_split(d, SplitConfig::parse("loo", 1));
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("'lonely' has 2"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(make_split(d, SplitConfig::parse("loo+novalid", 1)));
}

TEST(Split, RandomLeaveOneOutIsSeeded) {
  const Dataset d =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=50,items=40,mean=10,min=5"));
  const Split a = make_split(d, SplitConfig::parse("loo_random", 7));
  const Split b = make_split(d, SplitConfig::parse("loo_random", 7));
  const Split c = make_split(d, SplitConfig::parse("loo_random", 8));
  auto items = [](const Split& s) {
    std::vector<std::int32_t> v;
    for (const auto& x : s.test) v.push_back(x.item);
    return v;
  };
  EXPECT_EQ(items(a), items(b));
  EXPECT_NE(items(a), items(c));
  EXPECT_EQ(a.train.size() + a.valid.size() + a.test.size(), d.size());
}

TEST(Split, RatiosTemporalAndRandom) {
  const Dataset d =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=60,items=50,mean=10,min=5"));
  const Split t = make_split(d, SplitConfig::parse("temporal:0.8,0.1", 1));
  const double n = static_cast<double>(d.size());
  EXPECT_NEAR(static_cast<double>(t.train.size()) / n, 0.8, 0.01);
  EXPECT_NEAR(static_cast<double>(t.valid.size()) / n, 0.1, 0.01);
  std::int64_t last_train = 0;
  for (const auto& x : t.train) last_train = std::max(last_train, x.timestamp);
  for (const auto& x : t.test) EXPECT_GE(x.timestamp, last_train);
  const Split r1 = make_split(d, SplitConfig::parse("random:0.7,0.1", 3));
  const Split r2 = make_split(d, SplitConfig::parse("random:0.7,0.1", 3));
  ASSERT_EQ(r1.test.size(), r2.test.size());
  EXPECT_EQ(r1.test[0].item, r2.test[0].item);
  EXPECT_EQ(r1.test.back().user, r2.test.back().user);
}

TEST(Split, BadSpecs) {
  EXPECT_THROW(SplitConfig::parse("leave-one-out", 1), Error);
  EXPECT_THROW(SplitConfig::parse("temporal:0.95,0.1", 1), Error);
  EXPECT_THROW(SplitConfig::parse("random:abc", 1), Error);
  EXPECT_THROW(SplitConfig::parse("loo:0.8", 1), Error);
  EXPECT_EQ(SplitConfig::parse("temporal:0.8,0.1", 1).to_string(), "temporal:0.8,0.1");
}

}  // namespace
}  // namespace recpress
