#include "data/transforms.h"

#include <gtest/gtest.h>

#include "core/errors.h"

namespace recpress {
namespace {

Dataset make(const std::vector<std::tuple<std::string, std::string, float, std::int64_t>>& rows) {
  Dataset d;
  d.name = "t";
  d.has_ratings = true;
  for (const auto& [u, i, r, t] : rows) {
    d.interactions.push_back({d.users.intern(u), d.items.intern(i), r, t});
  }
  return d;
}

TEST(Transforms, ImplicitKeepsAllOrThreshold) {
  Dataset a = make({{"u", "a", 1, 1}, {"u", "b", 4, 2}, {"v", "a", 5, 3}});
  EXPECT_EQ(to_implicit(a, std::nullopt), 0u);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_FLOAT_EQ(a.interactions[0].rating, 1.0f);
  Dataset b = make({{"u", "a", 1, 1}, {"u", "b", 4, 2}, {"v", "a", 5, 3}});
  EXPECT_EQ(to_implicit(b, 4.0), 1u);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_FALSE(b.has_ratings);
}

TEST(Transforms, DedupFirstLastKeep) {
  const auto rows = std::vector<std::tuple<std::string, std::string, float, std::int64_t>>{
      {"u", "a", 1, 30}, {"u", "b", 2, 10}, {"u", "a", 5, 20}, {"v", "a", 3, 5}};
  Dataset first = make(rows);
  EXPECT_EQ(deduplicate(first, DedupPolicy::kFirst), 1u);
  ASSERT_EQ(first.size(), 3u);
  // The earliest (t = 20) of u's two "a" interactions is kept, in its original position.
  EXPECT_EQ(first.interactions[1].timestamp, 20);
  Dataset last = make(rows);
  EXPECT_EQ(deduplicate(last, DedupPolicy::kLast), 1u);
  EXPECT_EQ(last.interactions[0].timestamp, 30);
  Dataset keep = make(rows);
  EXPECT_EQ(deduplicate(keep, DedupPolicy::kKeep), 0u);
  EXPECT_EQ(keep.size(), 4u);
  EXPECT_THROW(parse_dedup_policy("newest"), Error);
}

TEST(Transforms, KcoreIsIterativeAndCompacts) {
  // Item "c" has 1 interaction; dropping it leaves user "w" with 1, which must then go too,
  // which in turn leaves item "b" with 1 (from "u")... until stable.
  Dataset d = make({{"u", "a", 1, 1},
                    {"u", "b", 1, 2},
                    {"v", "a", 1, 3},
                    {"v", "d", 1, 4},
                    {"x", "a", 1, 5},
                    {"x", "d", 1, 6},
                    {"w", "b", 1, 7},
                    {"w", "c", 1, 8}});
  const auto removed = kcore_filter(d, 2, 2);
  EXPECT_EQ(removed, 4u);
  EXPECT_EQ(d.num_users(), 2);  // v, x
  EXPECT_EQ(d.num_items(), 2);  // a, d
  EXPECT_FALSE(d.users.find("w").has_value());
  for (const auto& x : d.interactions) {
    EXPECT_LT(x.user, d.num_users());
    EXPECT_LT(x.item, d.num_items());
  }
}

TEST(Transforms, CompactCarriesFeaturesAndTitles) {
  Dataset d = make({{"u", "a", 1, 1}, {"u", "b", 1, 2}});
  d.item_titles = {"A", "B"};
  FeatureBuilder g("genre");
  g.set(0, {"x"});
  g.set(1, {"y", "z"});
  d.item_features.fields.push_back(g.finish(2));
  d.interactions.erase(d.interactions.begin());  // drop item a
  compact(d);
  ASSERT_EQ(d.num_items(), 1);
  EXPECT_EQ(d.item_titles, std::vector<std::string>{"B"});
  const auto& f = d.item_features.fields[0];
  ASSERT_EQ(f.offsets.size(), 2u);
  EXPECT_EQ(f.offsets[1], 2);
  EXPECT_EQ(f.vocabulary.raw(f.values[0]), "y");
}

}  // namespace
}  // namespace recpress
