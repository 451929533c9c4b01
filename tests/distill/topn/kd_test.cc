#include "distill/common/soft_targets.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.h"
#include "distill/topn/distiller.h"

namespace recpress {
namespace {

TEST(KnowledgeDistillation, HandComputedLoss) {
  // Teacher logits (0, ln 3) -> p = (1/4, 3/4); student (0, 0) -> q = (1/2, 1/2).
  const auto t = torch::tensor({{0.0, std::log(3.0)}}, torch::kDouble);
  const auto s = torch::tensor({{0.0, 0.0}}, torch::kDouble);
  EXPECT_NEAR(kd_soft_target_loss(t, s, 1.0).item<double>(),
              0.25 * std::log(0.5) + 0.75 * std::log(1.5), 1e-12);
  // T = 2: p = (1, sqrt 3) / (1 + sqrt 3); times T^2.
  const double r3 = std::sqrt(3.0), p0 = 1 / (1 + r3), p1 = r3 / (1 + r3);
  EXPECT_NEAR(kd_soft_target_loss(t, s, 2.0).item<double>(),
              4 * (p0 * std::log(2 * p0) + p1 * std::log(2 * p1)), 1e-12);
  EXPECT_NEAR(kd_soft_target_loss(t, t, 2.0).item<double>(), 0.0, 1e-12);
}

TEST(KnowledgeDistillation, GradientIsTemperatureTimesQMinusP) {
  const double T = 3.0;
  const auto t = torch::tensor({{1.0, -2.0, 0.5}, {0.0, 0.3, 2.0}}, torch::kDouble);
  auto s = torch::tensor({{0.2, 0.1, -1.0}, {1.0, 1.0, 0.0}},
                         torch::dtype(torch::kDouble).requires_grad(true));
  kd_soft_target_loss(t, s, T).backward();
  const auto expected = T * (torch::softmax(s.detach() / T, 1) - torch::softmax(t / T, 1)) / 2.0;
  EXPECT_TRUE(torch::allclose(s.grad(), expected, 1e-10, 1e-12));
}

TEST(Distillers, RegistryErrors) {
  EXPECT_THROW(create_distiller(ModelSpec::parse("telepathy")), Error);
  EXPECT_THROW(create_distiller(ModelSpec::parse("kd:temperature=0")), Error);
  EXPECT_THROW(create_distiller(ModelSpec::parse("kd:temp=2")), Error);
  EXPECT_EQ(create_distiller(ModelSpec::parse("kd:temperature=4,candidates=20"))->name(), "kd");
}

}  // namespace
}  // namespace recpress
