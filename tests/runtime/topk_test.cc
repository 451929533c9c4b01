#include "runtime/topk.h"

#include <gtest/gtest.h>

#include <cmath>

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

}  // namespace
}  // namespace recpress::runtime
