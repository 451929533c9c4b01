// The helpers every model family shares: fast_dropout's masks (rate, scale, reproducibility,
// gradient, evaluation mode).
#include "models/module_util.h"

#include <gtest/gtest.h>

namespace recpress {
namespace {

TEST(FastDropout, KeepsOneMinusPScaledAndIsTheIdentityInEvaluation) {
  const auto x = torch::full({1000, 101}, 2.0f);  // an odd count: the last partial draw
  torch::manual_seed(1);
  const auto y = fast_dropout(x, 0.3, true);
  const auto kept = y.ne(0);
  // 101,000 Bernoulli(0.7) draws: the kept fraction is 0.7 within ~5 standard deviations.
  EXPECT_NEAR(kept.to(torch::kDouble).mean().item<double>(), 0.7, 5 * std::sqrt(0.21 / 101000));
  // A kept unit is x / (1 - p), the others 0.
  EXPECT_TRUE(torch::allclose(y.masked_select(kept), torch::full({1}, 2.0f / 0.7f)));
  EXPECT_TRUE(fast_dropout(x, 0.3, false).equal(x));
  EXPECT_TRUE(fast_dropout(x, 0.0, true).equal(x));
  EXPECT_EQ(fast_dropout(x, 1.0, true).abs().sum().item<float>(), 0.0f);
  // The same LibTorch seed, the same mask; a second call draws another.
  torch::manual_seed(1);
  EXPECT_TRUE(fast_dropout(x, 0.3, true).equal(y));
  EXPECT_FALSE(fast_dropout(x, 0.3, true).equal(y));
  // Neighbouring lanes of one 64-bit draw decide independently: of 50,000 neighbouring pairs,
  // 2 * 0.7 * 0.3 = 42% differ (21,000, standard deviation ~110).
  const auto pairs = kept.flatten().narrow(0, 0, 100000).view({-1, 2}).to(torch::kInt).sum(1);
  EXPECT_NEAR(pairs.eq(1).sum().item<int>(), 21000, 550);
}

TEST(FastDropout, TheGradientIsTheMask) {
  auto x = torch::randn({64, 33}).requires_grad_(true);
  torch::manual_seed(4);
  const auto y = fast_dropout(x, 0.5, true);
  y.sum().backward();
  EXPECT_TRUE(torch::allclose(x.grad(), (y / x).detach()));
  EXPECT_TRUE(x.grad().eq(0).logical_or(x.grad().eq(2)).all().item<bool>());
}

}  // namespace
}  // namespace recpress
