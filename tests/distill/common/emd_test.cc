// The Earth Mover's Distance flow: hand-worked plans, the optimum against brute force over every
// plan on a grid that holds all vertices, and errors for bad weights.
#include "distill/common/emd.h"

#include <gtest/gtest.h>

#include <random>

#include "core/errors.h"
#include "test_util.h"

namespace recpress {
namespace {

double total_cost(const std::vector<double>& flow, const std::vector<double>& cost) {
  double t = 0;
  for (std::size_t k = 0; k < flow.size(); ++k) t += flow[k] * cost[k];
  return t;
}

TEST(Emd, HandWorkedPlans) {
  // Two layers each, crossing costs: the diagonal, half each.
  auto f = emd_flow({0, 1, 1, 0}, {0.5, 0.5}, {0.5, 0.5});
  EXPECT_NEAR(f[0], 0.5, 1e-12);
  EXPECT_NEAR(f[1], 0.0, 1e-12);
  EXPECT_NEAR(f[2], 0.0, 1e-12);
  EXPECT_NEAR(f[3], 0.5, 1e-12);
  // One student layer to three teacher layers: a third to each, whatever the costs.
  f = emd_flow({5, 1, 3}, {1}, {1.0 / 3, 1.0 / 3, 1.0 / 3});
  for (const double x : f) EXPECT_NEAR(x, 1.0 / 3, 1e-12);
  // Row 1 is free only to column 3, which takes 1/3: the other 1/6 of row 1 must pay 10, and
  // row 0 (free to columns 1-2) fills the rest: cost 10/6.
  const std::vector<double> cost = {0, 0, 10, 10, 10, 0};
  f = emd_flow(cost, {0.5, 0.5}, {1.0 / 3, 1.0 / 3, 1.0 / 3});
  EXPECT_NEAR(total_cost(f, cost), 10.0 / 6, 1e-12);
  EXPECT_NEAR(f[2], 0.0, 1e-12);
  EXPECT_NEAR(f[5], 1.0 / 3, 1e-12);
  EXPECT_NEAR(f[0] + f[1] + f[2], 0.5, 1e-12);
  EXPECT_NEAR(f[1] + f[4], 1.0 / 3, 1e-12);
}

TEST(Emd, OptimalAgainstBruteForce) {
  // 2 x 3 with weights 1/2 and 1/3: every vertex of the plans' polytope lies on the 1/6 grid, so
  // the best grid plan is the optimum.
  std::mt19937 gen(4);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<double> cost(6);
    for (auto& c : cost) c = u(gen);
    const auto f = emd_flow(cost, {0.5, 0.5}, {1.0 / 3, 1.0 / 3, 1.0 / 3});
    for (std::size_t j = 0; j < 3; ++j) EXPECT_NEAR(f[j] + f[3 + j], 1.0 / 3, 1e-12);
    EXPECT_NEAR(f[0] + f[1] + f[2], 0.5, 1e-12);
    for (const double x : f) EXPECT_GE(x, -1e-15);
    double best = 1e300;
    for (int a = 0; a <= 2; ++a)
      for (int b = 0; b <= 2; ++b) {
        const int c = 3 - a - b;  // row 0 takes a/6, b/6, c/6 of the columns (sum 1/2)
        if (c < 0 || c > 2) continue;
        const std::vector<double> plan = {a / 6.0,       b / 6.0,       c / 6.0,
                                          (2 - a) / 6.0, (2 - b) / 6.0, (2 - c) / 6.0};
        best = std::min(best, total_cost(plan, cost));
      }
    EXPECT_NEAR(total_cost(f, cost), best, 1e-12) << "trial " << trial;
  }
}

TEST(Emd, BadWeightsAreErrors) {
  testing::expect_error([] { emd_flow({1, 2}, {1}, {1}); }, {"2-entry cost", "1 x 1"});
  testing::expect_error([] { emd_flow({1, 2}, {1}, {0.5, 0.2}); }, {"sum to"});
  testing::expect_error([] { emd_flow({1}, {-1}, {-1}); }, {"negative"});
}

}  // namespace
}  // namespace recpress
