#include "runtime/topk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace recpress::runtime {
namespace {

TEST(TopK, BestFirstTiesToLowerIndex) {
  const std::vector<float> s = {0.5f, 2.0f, 2.0f, -1.0f, 3.0f};
  EXPECT_EQ(top_k(s, 3), (std::vector<std::int32_t>{4, 1, 2}));
  EXPECT_EQ(top_k(s, 10).size(), 5u);
  EXPECT_TRUE(top_k(s, 0).empty());
}

TEST(TopK, ExcludesMaskedAndNaN) {
  const std::vector<float> s = {1.0f, NAN, 3.0f, 2.0f};
  const std::vector<std::uint8_t> mask = {0, 0, 1, 0};
  EXPECT_EQ(top_k(s, 4, mask), (std::vector<std::int32_t>{3, 0}));
}

// Against a full sort, over catalog sizes around the chunk and buffer boundaries, k from 1 to
// beyond the catalog, many ties (scores on a coarse grid), NaNs and masks; ascending scores make
// every item an improvement (the buffer refills and compacts repeatedly).
TEST(TopK, MatchesAFullSortOnRandomInputs) {
  std::mt19937 gen(7);
  for (const std::size_t n : {1, 15, 16, 17, 63, 64, 65, 200, 1000, 3706}) {
    for (const std::size_t k : {1, 2, 10, 16, 100, 5000}) {
      for (int variant = 0; variant < 4; ++variant) {
        std::vector<float> s(n);
        std::vector<std::uint8_t> mask(variant >= 2 ? n : 0);
        for (std::size_t i = 0; i < n; ++i) {
          s[i] = variant == 3 ? static_cast<float>(i) : static_cast<float>(gen() % 50) / 7.0f;
          if (gen() % 37 == 0) s[i] = NAN;
          if (!mask.empty()) mask[i] = gen() % 5 == 0;
        }
        std::vector<std::int32_t> expected;
        for (std::size_t i = 0; i < n; ++i)
          if (!std::isnan(s[i]) && (mask.empty() || !mask[i]))
            expected.push_back(static_cast<std::int32_t>(i));
        std::sort(expected.begin(), expected.end(), [&](std::int32_t a, std::int32_t b) {
          return s[a] != s[b] ? s[a] > s[b] : a < b;
        });
        if (expected.size() > k) expected.resize(k);
        EXPECT_EQ(top_k(s, k, mask), expected) << "n " << n << " k " << k << " variant " << variant;
      }
    }
  }
}

}  // namespace
}  // namespace recpress::runtime
