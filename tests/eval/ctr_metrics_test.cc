#include "eval/ctr_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/errors.h"

namespace recpress {
namespace {

TEST(Auc, HandComputedWithTies) {
  // Positives 0.9 and 0.4; negatives 0.1 and 0.4. Pairs: (0.9>0.1) (0.9>0.4) (0.4>0.1) (0.4=0.4:
  // 1/2)
  const std::vector<float> y = {1, 0, 1, 0};
  const std::vector<float> s = {0.9f, 0.1f, 0.4f, 0.4f};
  EXPECT_NEAR(auc(y, s), 3.5 / 4, 1e-12);
  EXPECT_NEAR(auc(std::vector<float>{1, 1, 0}, std::vector<float>{0.5f, 0.5f, 0.5f}), 0.5, 1e-12);
  EXPECT_NEAR(auc(std::vector<float>{0, 1}, std::vector<float>{0.9f, 0.1f}), 0.0, 1e-12);
}

TEST(Auc, Errors) {
  EXPECT_THROW(auc(std::vector<float>{1, 1}, std::vector<float>{0.1f, 0.2f}), Error);
  EXPECT_THROW(auc(std::vector<float>{1, 0}, std::vector<float>{0.1f}), Error);
  EXPECT_THROW(auc(std::vector<float>{1, 2}, std::vector<float>{0.1f, 0.2f}), Error);
}

TEST(LogLoss, HandComputedAndClipped) {
  EXPECT_NEAR(log_loss(std::vector<float>{1, 0}, std::vector<float>{0.8f, 0.3f}),
              -(std::log(0.8) + std::log(0.7)) / 2, 1e-6);
  EXPECT_NEAR(log_loss(std::vector<float>{1}, std::vector<float>{0.0f}), -std::log(1e-7), 1e-9);
  EXPECT_THROW(log_loss(std::vector<float>{}, std::vector<float>{}), Error);
}

TEST(Gauc, WeightsGroupsBySizeAndSkipsSingleClassGroups) {
  // group 1: AUC 1 (2 samples); group 2: AUC 0.5 (3 samples); group 3: one class only, skipped.
  const std::vector<std::int64_t> g = {1, 1, 2, 2, 2, 3};
  const std::vector<float> y = {1, 0, 1, 0, 0, 1};
  const std::vector<float> s = {0.9f, 0.1f, 0.2f, 0.5f, 0.1f, 0.3f};
  EXPECT_NEAR(gauc(g, y, s), (1.0 * 2 + 0.5 * 3) / 5, 1e-12);
  EXPECT_THROW(gauc(std::vector<std::int64_t>{1}, std::vector<float>{1}, std::vector<float>{0.2f}),
               Error);
}

}  // namespace
}  // namespace recpress
