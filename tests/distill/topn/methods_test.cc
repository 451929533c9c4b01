// Each distillation loss against a hand-computed case, finite-difference gradient checks, and the
// methods' bad inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/errors.h"
#include "distill/common/hint.h"
#include "distill/topn/adversarial.h"
#include "distill/topn/bd.h"
#include "distill/topn/cd.h"
#include "distill/topn/distiller.h"
#include "distill/topn/ensemble.h"
#include "distill/topn/experts.h"
#include "distill/topn/htd.h"
#include "distill/topn/rd.h"
#include "distill/topn/rkd.h"
#include "distill/topn/rrd.h"
#include "distill/topn/unkd.h"
#include "eval/popularity.h"

namespace recpress {
namespace {

torch::Tensor dbl(std::initializer_list<std::initializer_list<double>> rows) {
  std::vector<torch::Tensor> r;
  for (const auto& row : rows) r.push_back(torch::tensor(std::vector<double>(row), torch::kDouble));
  return torch::stack(r);
}

// Autograd's gradient of f at x against central finite differences (double precision).
void expect_gradient_matches(const std::function<torch::Tensor(const torch::Tensor&)>& f,
                             torch::Tensor x) {
  x = x.detach().clone().to(torch::kDouble).requires_grad_(true);
  f(x).backward();
  const auto analytic = x.grad().clone();
  auto flat = x.detach().clone().view({-1});
  const double h = 1e-6;
  for (std::int64_t k = 0; k < flat.numel(); ++k) {
    const double v = flat[k].item<double>();
    flat[k] = v + h;
    const double up = f(flat.view(x.sizes())).item<double>();
    flat[k] = v - h;
    const double down = f(flat.view(x.sizes())).item<double>();
    flat[k] = v;
    EXPECT_NEAR(analytic.view({-1})[k].item<double>(), (up - down) / (2 * h), 1e-6)
        << "coordinate " << k;
  }
}

TEST(RankingDistillation, HandComputedWeightsAndLoss) {
  // w^a_r ~ exp(-r): (e^-1, e^-2, e^-3) / sum.
  const double z = std::exp(-1.0) + std::exp(-2.0) + std::exp(-3.0);
  const auto w = rd_position_weights(3, 1.0);
  EXPECT_NEAR(w[0].item<double>(), std::exp(-1.0) / z, 1e-6);
  EXPECT_NEAR(w[2].item<double>(), std::exp(-3.0) / z, 1e-6);
  // Student ranks (1, 12, 2) of the teacher's ranks (1, 2, 3), mu = 0.1:
  // tanh(max(0.1 * (1-1), 0)) = 0, tanh(0.1 * 10) = tanh 1, tanh(max(-0.1, 0)) = 0.
  const auto d = rd_discrepancy_weights(torch::tensor({{1.0f, 12.0f, 2.0f}}), 0.1);
  EXPECT_NEAR(d[0][0].item<double>(), 0.0, 1e-7);
  EXPECT_NEAR(d[0][1].item<double>(), std::tanh(1.0), 1e-6);
  EXPECT_NEAR(d[0][2].item<double>(), 0.0, 1e-7);
  // Logits (0, ln 3), weights (1/2, 1/2): 1/2 (-log 1/2) + 1/2 (-log 3/4).
  const auto l = rd_loss(dbl({{0.0, std::log(3.0)}}), dbl({{0.5, 0.5}}));
  EXPECT_NEAR(l.item<double>(), 0.5 * std::log(2.0) + 0.5 * std::log(4.0 / 3.0), 1e-12);
}

TEST(RankingDistillation, Gradient) {
  const auto w = dbl({{0.6, 0.3, 0.1}, {0.2, 0.2, 0.6}});
  expect_gradient_matches([&](const torch::Tensor& s) { return rd_loss(s, w); },
                          dbl({{0.5, -1.0, 2.0}, {0.0, 0.3, -0.7}}));
}

TEST(RelaxedRankingDistillation, HandComputedPlackettLuce) {
  // Interesting (2, 1) in the teacher's order, uninteresting (0):
  // -log[ e^2 / (e^2 + e^1 + e^0) ] - log[ e^1 / (e^1 + e^0) ].
  const double e = std::exp(1.0);
  const double expected = std::log(e * e + e + 1) - 2 + std::log(e + 1) - 1;
  EXPECT_NEAR(rrd_loss(dbl({{2.0, 1.0}}), dbl({{0.0}})).item<double>(), expected, 1e-12);
  // The uninteresting items are not ordered among themselves: permuting them changes nothing.
  EXPECT_NEAR(rrd_loss(dbl({{2.0, 1.0}}), dbl({{0.5, -1.0}})).item<double>(),
              rrd_loss(dbl({{2.0, 1.0}}), dbl({{-1.0, 0.5}})).item<double>(), 1e-12);
  // ...but the interesting ones are: reversing them costs.
  EXPECT_GT(rrd_loss(dbl({{1.0, 2.0}}), dbl({{0.0}})).item<double>(), expected);
}

TEST(RelaxedRankingDistillation, Gradient) {
  const auto bad = dbl({{0.1, -0.4, 0.3}, {1.0, 0.0, -2.0}});
  expect_gradient_matches([&](const torch::Tensor& s) { return rrd_loss(s, bad); },
                          dbl({{1.5, 0.5}, {-0.2, 0.4}}));
  const auto good = dbl({{1.5, 0.5}, {-0.2, 0.4}});
  expect_gradient_matches([&](const torch::Tensor& s) { return rrd_loss(good, s); }, bad);
}

TEST(CollaborativeDistillation, HandComputedSoftLabelLoss) {
  // Student logit 0 (p = 1/2) against soft label 3/4: -(3/4 log 1/2 + 1/4 log 1/2) = log 2; logit
  // ln 3 (p = 3/4) against 1/4: -(1/4 log 3/4 + 3/4 log 1/4).
  const auto l = cd_soft_label_loss(dbl({{0.0, std::log(3.0)}}), dbl({{0.75, 0.25}}));
  const double expected = (std::log(2.0) - (0.25 * std::log(0.75) + 0.75 * std::log(0.25))) / 2.0;
  EXPECT_NEAR(l.item<double>(), expected, 1e-12);
  const auto q = dbl({{0.9, 0.2, 0.5}});
  expect_gradient_matches([&](const torch::Tensor& s) { return cd_soft_label_loss(s, q); },
                          dbl({{0.3, -1.2, 2.0}}));
}

TEST(HintDistillation, HandComputedLoss) {
  // Rows (1, 2) vs (0, 0) and (3, 0) vs (3, 1): 1/2 (5 + 1) / 2 = 1.5.
  EXPECT_NEAR(
      hint_loss(dbl({{1.0, 2.0}, {3.0, 0.0}}), dbl({{0.0, 0.0}, {3.0, 1.0}})).item<double>(), 1.5,
      1e-12);
  const auto t = dbl({{1.0, 2.0}, {3.0, 0.0}});
  expect_gradient_matches([&](const torch::Tensor& s) { return hint_loss(t, s); },
                          dbl({{0.5, -0.5}, {1.0, 2.0}}));
}

TEST(RelationalDistillation, HandComputedDistanceLoss) {
  // Points on a line: teacher 0, 1, 2 (distances 1, 2, 1; mean 4/3), student 0, 1, 3 (1, 3, 2;
  // mean 2). Normalised: (3/4, 3/2, 3/4) vs (1/2, 3/2, 1). Huber of 1/4, 0, 1/4 is 1/32, 0, 1/32,
  // over the 6 ordered pairs: 4/32 / 6.
  const auto t = dbl({{0.0}, {1.0}, {2.0}}), s = dbl({{0.0}, {1.0}, {3.0}});
  EXPECT_NEAR(rkd_distance_loss(t, s).item<double>(), (4.0 / 32.0) / 6.0, 1e-9);
  // Relations are invariant to scale and rotation: a scaled, rotated copy costs nothing.
  const auto x = dbl({{0.3, 1.0}, {-1.0, 0.2}, {0.5, -0.7}, {2.0, 0.1}});
  const auto rot = dbl({{0.0, -1.0}, {1.0, 0.0}});
  EXPECT_NEAR(rkd_distance_loss(x, 3.0 * torch::mm(x, rot)).item<double>(), 0.0, 1e-9);
  EXPECT_NEAR(rkd_angle_loss(x, 3.0 * torch::mm(x, rot)).item<double>(), 0.0, 1e-9);
}

TEST(RelationalDistillation, AngleLossMatchesTheNaiveTripleLoop) {
  const auto t = dbl({{0.0, 0.0}, {1.0, 0.0}, {0.0, 1.0}});
  const auto s = dbl({{0.0, 0.0}, {1.0, 0.0}, {1.0, 1.0}});
  auto cosine_at = [](const torch::Tensor& x, int i, int j, int k) {
    if (i == j || k == j) return 0.0;  // a zero vector has no direction
    const auto a = x[i] - x[j], b = x[k] - x[j];
    return (a.dot(b) / (a.norm() * b.norm())).item<double>();
  };
  double sum = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) {
        const double d = std::abs(cosine_at(s, i, j, k) - cosine_at(t, i, j, k));
        sum += d < 1 ? 0.5 * d * d : d - 0.5;
      }
  EXPECT_NEAR(rkd_angle_loss(t, s).item<double>(), sum / 27, 1e-9);
}

TEST(RelationalDistillation, Gradient) {
  const auto t = dbl({{0.3, 1.0}, {-1.0, 0.2}, {0.5, -0.7}, {2.0, 0.1}});
  const auto s0 = dbl({{0.1, 0.2, 0.3}, {-0.5, 0.1, 0.9}, {0.4, -0.3, 0.0}, {1.0, 1.0, -1.0}});
  expect_gradient_matches([&](const torch::Tensor& s) { return rkd_distance_loss(t, s); }, s0);
  expect_gradient_matches([&](const torch::Tensor& s) { return rkd_angle_loss(t, s); }, s0);
}

TEST(TopologyDistillation, HandComputedSingleGroup) {
  // One group: no group-level pairs, no other groups; entity level = the entity-entity term.
  // Teacher (1,0), (0,1): cosine 0. Student (1,0), (1,1): cosine 1/sqrt 2. Squared difference
  // 1/2 on both off-diagonal entries -> 1/2; times (1 - alpha) = 1/2.
  const auto t = dbl({{1.0, 0.0}, {0.0, 1.0}}), s = dbl({{1.0, 0.0}, {1.0, 1.0}});
  const auto a = dbl({{1.0}, {1.0}});
  EXPECT_NEAR(htd_topology_loss(t, s, a, 0.5).item<double>(), 0.25, 1e-9);
  // Identical topology costs nothing, whatever the grouping.
  const auto x = dbl({{0.3, 1.0}, {-1.0, 0.2}, {0.5, -0.7}});
  const auto soft = dbl({{0.7, 0.3}, {0.1, 0.9}, {0.5, 0.5}});
  EXPECT_NEAR(htd_topology_loss(x, 2.0 * x, soft, 0.5).item<double>(), 0.0, 1e-9);
}

TEST(TopologyDistillation, Gradient) {
  const auto t = dbl({{0.3, 1.0}, {-1.0, 0.2}, {0.5, -0.7}});
  const auto a = dbl({{0.7, 0.3}, {0.1, 0.9}, {0.5, 0.5}});
  expect_gradient_matches([&](const torch::Tensor& s) { return htd_topology_loss(t, s, a, 0.3); },
                          dbl({{0.2, 0.4}, {-0.3, 0.9}, {1.0, 0.1}}));
}

// One-hot memberships take the blocked path (each group's own pairs only): the same loss and
// gradients as the soft formula, which a membership a hair away from one-hot still takes.
TEST(TopologyDistillation, OneHotGroupsMatchTheSoftFormula) {
  torch::manual_seed(3);
  const auto t = torch::randn({9, 4}, torch::kDouble), s0 = torch::randn({9, 4}, torch::kDouble);
  auto a = torch::zeros({9, 3}, torch::kDouble);
  const std::vector<std::int64_t> group = {0, 2, 2, 1, 0, 2, 0, 1, 2};
  for (std::int64_t i = 0; i < 9; ++i) a[i][group[static_cast<std::size_t>(i)]] = 1.0;
  auto nearly = a.clone();
  nearly[0][0] = 1 - 1e-15;
  nearly[0][1] = 1e-15;
  const auto blocked_s = s0.clone().requires_grad_(true), soft_s = s0.clone().requires_grad_(true);
  const auto blocked = htd_topology_loss(t, blocked_s, a, 0.3);
  const auto soft = htd_topology_loss(t, soft_s, nearly, 0.3);
  EXPECT_GT(blocked.item<double>(), 0.01);
  EXPECT_NEAR(blocked.item<double>(), soft.item<double>(), 1e-12);
  blocked.backward();
  soft.backward();
  EXPECT_TRUE(torch::allclose(blocked_s.grad(), soft_s.grad(), 1e-9, 1e-12));
  expect_gradient_matches([&](const torch::Tensor& s) { return htd_topology_loss(t, s, a, 0.3); },
                          s0);
  // A group of one has no pairs, and no group with pairs: the entity-entity term is zero.
  const auto singles = torch::eye(3, torch::kDouble);
  const auto x = torch::randn({3, 4}, torch::kDouble);
  EXPECT_NEAR(htd_topology_loss(x, 2.0 * x, singles, 0.5).item<double>(), 0.0, 1e-12);
}

TEST(TopologyDistillation, ByHandMatchesAutograd) {
  torch::manual_seed(5);
  // Four groups: 0 has three members, 1 one (no pairs), 2 none (an empty prototype), 3 two.
  const auto group = torch::tensor(std::vector<std::int64_t>{3, 0, 1, 0, 3, 0}, torch::kLong);
  const auto one_hot = torch::zeros({6, 4}, torch::kDouble).scatter_(1, group.unsqueeze(1), 1.0);
  // Nearly one-hot (winners 1 - 1e-7) with two mixed rows, and soft everywhere.
  auto nearly = one_hot * (1 - 1e-7);
  nearly[1][0] = 0.6, nearly[1][2] = 0.4;
  nearly[4][1] = 0.2, nearly[4][3] = 0.3, nearly[4][0] = 0.5;
  const auto soft = torch::softmax(torch::randn({6, 4}, torch::kDouble), 1);
  const auto t = torch::randn({6, 5}, torch::kDouble), s0 = torch::randn({6, 5}, torch::kDouble);
  for (const auto& a : {one_hot, nearly, soft}) {
    // At an exactly one-hot point htd_topology_loss takes its blocked shortcut, which gives the
    // memberships no entity-level gradient (the softmax's Jacobian is zero there anyway): d a is
    // compared where the soft formula is the reference.
    const bool compare_memberships = !a.equal(one_hot);
    for (const double alpha : {0.0, 0.3, 1.0}) {
      const auto s = s0.clone().requires_grad_(true), memberships = a.clone().requires_grad_(true);
      const auto expected = htd_topology_loss(t, s, memberships, alpha);
      expected.backward();
      const auto got = htd_topology_by_hand(t, s0, a, alpha);
      EXPECT_GT(expected.item<double>(), 1e-3) << alpha;
      EXPECT_NEAR(got.value, expected.item<double>(), 1e-12) << alpha;
      EXPECT_TRUE(torch::allclose(got.d_s, s.grad(), 1e-9, 1e-12)) << alpha << "\n"
                                                                   << got.d_s << "\n"
                                                                   << s.grad();
      // Where a is 0 the selection passes no gradient; elsewhere d a matches.
      const auto where = (a > 0).to(torch::kDouble);
      if (compare_memberships) {
        EXPECT_TRUE(torch::allclose(got.d_a, memberships.grad() * where, 1e-9, 1e-12))
            << alpha << "\n"
            << got.d_a << "\n"
            << memberships.grad();
      }
    }
  }
}

TEST(DistillationExperts, ColdSelectionPicksOneExpert) {
  torch::manual_seed(1);
  ExpertProjection experts(3, 4, 5);
  Rng rng(7);
  const auto teacher = torch::randn({6, 4}), student = torch::randn({6, 3});
  const auto sel = experts->select(teacher, 1e-4, rng);
  // Near-zero temperature: one-hot rows.
  EXPECT_TRUE(torch::allclose(sel.sum(1), torch::ones({6}), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(std::get<0>(sel.max(1)), torch::ones({6}), 1e-4, 1e-4));
  // The projection is the chosen expert's output.
  const auto all = experts->experts(student);  // [6, 5, 4]
  const auto chosen = std::get<1>(sel.max(1));
  const auto proj = experts->project(student, sel);
  for (int r = 0; r < 6; ++r)
    EXPECT_TRUE(torch::allclose(proj[r], all[r][chosen[r].item<std::int64_t>()], 1e-4, 1e-5));
  // Same generator state, same draw.
  Rng a(3), b(3);
  EXPECT_TRUE(torch::equal(experts->select(teacher, 0.5, a), experts->select(teacher, 0.5, b)));
  EXPECT_NEAR(annealed_temperature(0.0, 1.0, 1e-4), 1.0, 1e-12);
  EXPECT_NEAR(annealed_temperature(0.5, 1.0, 1e-4), 1e-2, 1e-12);
  EXPECT_NEAR(annealed_temperature(1.0, 1.0, 1e-4), 1e-4, 1e-12);
}

TEST(DistillationExperts, OneHotSelectionComputesOnlyTheChosenExpertsExactly) {
  // The one-hot path (project() for rows whose selection is exactly one-hot) against the full
  // mixture: the same values and the same gradients for the student and every expert parameter.
  torch::manual_seed(3);
  ExpertProjection experts(3, 4, 5);
  const auto teacher = torch::randn({9, 4});
  Rng rng(2);
  const auto logits = experts->select(teacher, 1.0, rng).detach();
  auto one_hot =
      torch::zeros_like(logits).scatter_(1, std::get<1>(logits.max(1)).unsqueeze(1), 1.0);
  one_hot[4] = logits[4];  // one row still mixed: it takes the mixture
  const auto student = torch::randn({9, 3});
  auto run = [&](bool fast) {
    experts->zero_grad();
    auto s = student.clone().requires_grad_(true);
    const auto sel = one_hot.clone().requires_grad_(true);
    const auto proj =
        fast ? experts->project(s, sel) : (experts->experts(s) * sel.unsqueeze(2)).sum(1);
    de_reconstruction_loss(teacher, proj).backward();
    std::vector<torch::Tensor> grads = {proj.detach(), s.grad()};
    for (auto& p : experts->parameters())
      grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    return grads;
  };
  const auto fast = run(true), full = run(false);
  for (std::size_t k = 0; k < fast.size(); ++k)
    EXPECT_TRUE(torch::allclose(fast[k], full[k], 1e-4, 1e-5)) << "tensor " << k;
}

TEST(DistillationExperts, GradientOfTheReconstructionLoss) {
  torch::manual_seed(2);
  ExpertProjection experts(2, 3, 2);
  experts->to(torch::kDouble);
  const auto teacher = torch::randn({4, 3}, torch::kDouble);
  Rng rng(5);
  const auto sel = experts->select(teacher, 0.7, rng).detach();
  // d L / d h_s through the experts.
  expect_gradient_matches(
      [&](const torch::Tensor& s) {
        return de_reconstruction_loss(teacher, experts->project(s, sel));
      },
      torch::randn({4, 2}, torch::kDouble));
  // Hand value: ||(1, 2) - (0, 0)||^2 = 5 and ||(0, 1) - (0, 1)||^2 = 0 -> mean 2.5.
  EXPECT_NEAR(de_reconstruction_loss(dbl({{1.0, 2.0}, {0.0, 1.0}}), dbl({{0.0, 0.0}, {0.0, 1.0}}))
                  .item<double>(),
              2.5, 1e-12);
}

TEST(Distillers, SamplingWithoutReplacementFollowsTheWeights) {
  Rng rng(11);
  // Weight 0 never drawn; draws are distinct; a heavy item is drawn almost always.
  const auto w = torch::tensor({{0.0f, 1.0f, 1.0f, 50.0f}}).expand({2000, 4}).contiguous();
  const auto d = sample_without_replacement(w, 2, rng);
  EXPECT_EQ((d == 0).sum().item<std::int64_t>(), 0);
  EXPECT_EQ((d.select(1, 0) == d.select(1, 1)).sum().item<std::int64_t>(), 0);
  const double heavy = (d == 3).sum().item<double>() / 2000.0;
  EXPECT_GT(heavy, 0.95);
  EXPECT_THROW(sample_without_replacement(w, 5, rng), Error);
}

// An MF-8 teacher and an MF-2 student over 6 users and 40 items (seed 6), no training items, and
// a batch of every user with rng seed 1.
struct TinyPair {
  struct Seeded {
    Seeded() { torch::manual_seed(6); }
  } seeded;  // first: seeds the models' initialisation below
  TopNModelPtr t = create_topn_model(ModelSpec::parse("mf:dim=8"), 6, 40);
  TopNModelPtr s = create_topn_model(ModelSpec::parse("mf:dim=2"), 6, 40);
  InteractionMatrix train{{}, 6, 40};
  Rng rng{1};
  DistillBatch batch{torch::arange(6, torch::kLong), torch::arange(40, torch::kLong), &rng};
};

TEST(UnbiasedDistillation, HandComputedPairLossAndGradient) {
  // Pairs (2, 0) and (1, 1): (-log sigmoid(2) - log sigmoid(0)) / 2.
  const double expected = (std::log1p(std::exp(-2.0)) + std::log(2.0)) / 2;
  EXPECT_NEAR(unkd_loss(dbl({{2.0, 1.0}}), dbl({{0.0, 1.0}})).item<double>(), expected, 1e-12);
  // Rows average: a second row with the pairs swapped.
  const double swapped = (std::log1p(std::exp(2.0)) + std::log(2.0)) / 2;
  EXPECT_NEAR(
      unkd_loss(dbl({{2.0, 1.0}, {0.0, 1.0}}), dbl({{0.0, 1.0}, {2.0, 1.0}})).item<double>(),
      (expected + swapped) / 2, 1e-12);
  const auto neg = dbl({{0.3, -1.0, 2.0}});
  expect_gradient_matches([&](const torch::Tensor& p) { return unkd_loss(p, neg); },
                          dbl({{1.0, 0.5, -0.2}}));
}

TEST(UnbiasedDistillation, RankDrawsInvertTheTruncatedExponential) {
  // P(r) ~ exp(-(r + 1) / T) on [0, L): the CDF's steps by hand, for T = 2, L = 4.
  const double q = std::exp(-0.5);
  double z = 0, cdf = 0;
  for (int r = 0; r < 4; ++r) z += std::pow(q, r);
  for (int r = 0; r < 4; ++r) {
    const double below = cdf;
    cdf += std::pow(q, r) / z;
    EXPECT_EQ(unkd_draw_rank(below + 1e-9, 2.0, 4), r);
    EXPECT_EQ(unkd_draw_rank(cdf - 1e-9, 2.0, 4), r);
  }
  EXPECT_EQ(unkd_draw_rank(0.0, 2.0, 4), 0);
  EXPECT_EQ(unkd_draw_rank(1.0 - 1e-16, 2.0, 4), 3);
  EXPECT_EQ(unkd_draw_rank(0.999, 1e6, 1000), 998);  // a flat distribution: uniform
}

TEST(UnbiasedDistillation, PairsPerGroupByHand) {
  // Mean popularity 10, 5, 1: w = 11 - mean = 1, 6, 10, normalised 1/17 (raised to 0.1), 6/17,
  // 10/17. lamda = 0: equal, the remainder to the first groups.
  EXPECT_EQ(unkd_pairs_per_group({10, 5, 1}, 30, 0), (std::vector<std::int64_t>{10, 10, 10}));
  EXPECT_EQ(unkd_pairs_per_group({10, 5, 1}, 31, 0), (std::vector<std::int64_t>{11, 10, 10}));
  // lamda = 1: shares 30 w / sum(w) = 2.881, 10.169, 16.949 -> 2, 10, 16 and the two largest
  // remainders (0.949, 0.881) one more each.
  EXPECT_EQ(unkd_pairs_per_group({10, 5, 1}, 30, 1), (std::vector<std::int64_t>{3, 10, 17}));
}

TEST(UnbiasedDistillation, PairsStayWithinAPopularityGroupAndFollowTheTeacher) {
  // 12 users, 40 items; item i is in the training data of the first (40 - i) / 4 users: a
  // popularity ramp, so that the groups differ in size.
  torch::manual_seed(4);
  auto teacher = create_topn_model(ModelSpec::parse("mf:dim=8"), 12, 40);
  auto student = create_topn_model(ModelSpec::parse("mf:dim=2"), 12, 40);
  std::vector<Interaction> xs;
  for (std::int32_t i = 0; i < 40; ++i)
    for (std::int32_t u = 0; u < (40 - i) / 4; ++u) xs.push_back({u, i, 1.0f, 0});
  const InteractionMatrix train(xs, 12, 40);
  const PopularityGroups groups(train.item_counts(), 3);
  ASSERT_EQ(groups.num_groups(), 3);
  auto d = create_distiller(ModelSpec::parse("unkd:groups=3,pairs=9,t=2"));
  teacher->eval();
  d->prepare(*teacher, *student, train);
  Rng rng(5);
  d->start_epoch(rng);
  std::vector<torch::Tensor> users, items;  // score() calls: the positives', then the negatives'
  DistillBatch batch{torch::arange(12, torch::kLong), torch::arange(40, torch::kLong), &rng};
  batch.student_scores = [&](const torch::Tensor& u, const torch::Tensor& i) {
    users.push_back(u.clone());
    items.push_back(i.clone());
    return torch::zeros({u.size(0)});
  };
  d->loss(*teacher, *student, batch);
  ASSERT_EQ(items.size(), 2u);
  torch::NoGradGuard guard;
  const auto tp = teacher->forward(users[0], items[0]), tn = teacher->forward(users[1], items[1]);
  std::vector<std::array<int, 3>> per_group(12, {0, 0, 0});
  for (std::int64_t k = 0; k < items[0].size(0); ++k) {
    const auto u = static_cast<std::int32_t>(users[0][k].item<std::int64_t>());
    const auto p = static_cast<std::int32_t>(items[0][k].item<std::int64_t>());
    const auto n = static_cast<std::int32_t>(items[1][k].item<std::int64_t>());
    ASSERT_EQ(u, users[1][k].item<std::int64_t>());
    EXPECT_EQ(groups.of(p), groups.of(n)) << "pair " << k;  // never popular against rare
    EXPECT_NE(p, n);
    EXPECT_FALSE(train.contains(u, p));
    EXPECT_FALSE(train.contains(u, n));
    EXPECT_GE(tp[k].item<float>(), tn[k].item<float>()) << "the teacher prefers the positive";
    ++per_group[static_cast<std::size_t>(u)][groups.of(p)];
  }
  // 9 pairs per user, 3 per group, for the users whose every group has two unobserved items.
  int checked = 0;
  for (std::int32_t u = 0; u < 12; ++u) {
    std::array<int, 3> unobserved{0, 0, 0};
    for (std::int32_t i = 0; i < 40; ++i) unobserved[groups.of(i)] += train.contains(u, i) ? 0 : 1;
    if (*std::min_element(unobserved.begin(), unobserved.end()) < 2) continue;
    EXPECT_EQ(per_group[static_cast<std::size_t>(u)], (std::array<int, 3>{3, 3, 3})) << u;
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

TEST(AdversarialDistillation, DiscriminatorByHand) {
  torch::manual_seed(1);
  Discriminator d(2, 4, 2);
  d->to(torch::kDouble);
  {
    torch::NoGradGuard guard;
    d->user.copy_(torch::tensor({1.0, 2.0, -1.0, 0.5}, torch::kDouble).view({2, 2}));
    d->item.copy_(
        torch::tensor({0.0, 0.0, 1.0, -1.0, 5.0, 5.0, 2.0, 3.0}, torch::kDouble).view({4, 2}));
    d->bias.copy_(torch::tensor({0.0, 0.1, 0.0, -0.3}, torch::kDouble));
  }
  // User 1 (a = (-1, 0.5)), candidates 1 and 3, y = (0.25, 0.75):
  // sum y b = 0.25 (1, -1) + 0.75 (2, 3) = (1.75, 2), <a, .> = -1.75 + 1 = -0.75;
  // sum y c = 0.25 * 0.1 + 0.75 * -0.3 = -0.2.
  const auto users = torch::tensor({1}, torch::kLong);
  const auto candidates = torch::tensor({1, 3}, torch::kLong).view({1, 2});
  EXPECT_NEAR(d->forward(users, candidates, dbl({{0.25, 0.75}})).item<double>(), -0.95, 1e-12);
  expect_gradient_matches(
      [&](const torch::Tensor& y) { return d->forward(users, candidates, y).sum(); },
      dbl({{0.25, 0.75}}));
}

TEST(AdversarialDistillation, RelaxedSamplesAndGumbelNoise) {
  // softmax((log p + g) / tau): p = (0.5, 0.5), g = (0, log 3), tau = 1 -> (0.25, 0.75).
  const auto y = relaxed_sample(torch::log(dbl({{0.5, 0.5}})), dbl({{0.0, std::log(3.0)}}), 1.0);
  EXPECT_NEAR(y[0][0].item<double>(), 0.25, 1e-12);
  EXPECT_NEAR(y[0][1].item<double>(), 0.75, 1e-12);
  // tau halves: (1/10, 9/10).
  const auto sharp =
      relaxed_sample(torch::log(dbl({{0.5, 0.5}})), dbl({{0.0, std::log(3.0)}}), 0.5);
  EXPECT_NEAR(sharp[0][1].item<double>(), 0.9, 1e-12);
  // Standard Gumbel: mean Euler's gamma 0.5772, variance pi^2 / 6; the same seed, the same noise.
  Rng a(4), b(4);
  const auto g = gumbel_noise({200, 100}, a);
  EXPECT_NEAR(g.mean().item<double>(), 0.5772, 0.03);
  EXPECT_NEAR(g.var().item<double>(), 3.14159265 * 3.14159265 / 6, 0.1);
  EXPECT_TRUE(torch::equal(g, gumbel_noise({200, 100}, b)));
}

TEST(AdversarialDistillation, TheStudentIsPushedTowardsWhatTheDiscriminatorCallsReal) {
  // A discriminator that calls samples on candidate 0 real (its bias): the generator loss
  // softplus(-D) falls as the student puts more mass there, so its gradient on the student's
  // logit of candidate 0 is negative and on the others positive, for any noise.
  torch::manual_seed(2);
  Discriminator d(1, 3, 2);
  d->to(torch::kDouble);
  {
    torch::NoGradGuard guard;
    d->user.zero_();
    d->bias.copy_(torch::tensor({3.0, -1.0, -1.0}, torch::kDouble));
  }
  const auto users = torch::tensor({0}, torch::kLong);
  const auto candidates = torch::tensor({0, 1, 2}, torch::kLong).view({1, 3});
  Rng rng(6);
  for (int trial = 0; trial < 5; ++trial) {
    auto s = dbl({{0.2, 0.5, -0.1}}).requires_grad_(true);
    const auto noise = gumbel_noise({1, 3}, rng).to(torch::kDouble);
    const auto y = relaxed_sample(torch::log_softmax(s, 1), noise, 0.5);
    torch::softplus(-d->forward(users, candidates, y)).sum().backward();
    EXPECT_LT(s.grad()[0][0].item<double>(), 0) << trial;
    EXPECT_GT(s.grad()[0][1].item<double>(), 0) << trial;
    EXPECT_GT(s.grad()[0][2].item<double>(), 0) << trial;
  }
}

TEST(BidirectionalDistillation, HandComputedSoftLabelLossAndWeights) {
  // Logits 0 and 2 against soft labels sigmoid(0) = 0.5 and sigmoid(-1): the BCE of a logit x
  // and a label y is softplus(x) - y x.
  const double y = 1 / (1 + std::exp(1.0));
  const double expected = (std::log(2.0) + (std::log1p(std::exp(2.0)) - 2 * y)) / 2;
  auto other = dbl({{0.0, -1.0}}).requires_grad_(true);
  const auto loss = soft_label_bce(dbl({{0.0, 2.0}}), other);
  EXPECT_NEAR(loss.item<double>(), expected, 1e-12);
  EXPECT_FALSE(loss.requires_grad());  // nothing flows into the other model
  const auto peer = dbl({{0.3, -1.0, 2.0}});
  expect_gradient_matches([&](const torch::Tensor& x) { return soft_label_bce(x, peer); },
                          dbl({{1.0, 0.5, -0.2}}));
  // The learner ranks the item 10th, the other 4th: tanh(0.1 * 6); ranked higher: nothing to learn.
  EXPECT_NEAR(rank_discrepancy_weight(10, 4, 0.1), std::tanh(0.6), 1e-15);
  EXPECT_EQ(rank_discrepancy_weight(4, 10, 0.1), 0.0);
  EXPECT_EQ(rank_discrepancy_weight(7, 7, 0.1), 0.0);
}

TEST(BidirectionalDistillation, EachModelLearnsWhereTheOtherRanksHigher) {
  torch::manual_seed(8);
  auto teacher = create_topn_model(ModelSpec::parse("mf:dim=8"), 5, 60);
  auto student = create_topn_model(ModelSpec::parse("mf:dim=2"), 5, 60);
  std::vector<Interaction> xs;
  for (std::int32_t u = 0; u < 5; ++u)
    for (std::int32_t i = u; i < 60; i += 7) xs.push_back({u, i, 1.0f, 0});
  const InteractionMatrix train(xs, 5, 60);
  auto d = create_distiller(ModelSpec::parse("bd:samples=6,eps_t=0.05,eps_s=0.05"));
  EXPECT_TRUE(d->trains_teacher());
  d->prepare(*teacher, *student, train);
  Rng rng(2);
  d->start_epoch(rng);
  // Each model's ranking of the users' unobserved items, as the method ranks them.
  auto ranks = [&](TopNModel& m) {
    torch::NoGradGuard guard;
    const auto s = m.score_all(torch::arange(5, torch::kLong));
    std::vector<std::vector<std::int64_t>> r(5, std::vector<std::int64_t>(60, -1));
    for (std::int32_t u = 0; u < 5; ++u) {
      std::vector<std::int32_t> order;
      for (std::int32_t i = 0; i < 60; ++i)
        if (!train.contains(u, i)) order.push_back(i);
      std::sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
        const float x = s[u][a].item<float>(), y = s[u][b].item<float>();
        return x != y ? x > y : a < b;
      });
      for (std::size_t k = 0; k < order.size(); ++k) r[u][order[k]] = static_cast<std::int64_t>(k);
    }
    return r;
  };
  const auto rt = ranks(*teacher), rs = ranks(*student);
  DistillBatch batch{torch::arange(5, torch::kLong), torch::arange(60, torch::kLong), &rng};
  // The student's draws: seen through its scored rows.
  std::vector<torch::Tensor> users, items;
  batch.student_scores = [&](const torch::Tensor& u, const torch::Tensor& i) {
    users.push_back(u.clone());
    items.push_back(i.clone());
    return student->forward(u, i);
  };
  d->loss(*teacher, *student, batch);
  ASSERT_EQ(items.size(), 1u);
  for (std::int64_t k = 0; k < items[0].size(0); ++k) {
    const auto u = users[0][k].item<std::int64_t>(), i = items[0][k].item<std::int64_t>();
    EXPECT_GE(rt[u][i], 0) << "a training item";
    EXPECT_GT(rs[u][i], rt[u][i]) << "the teacher must rank it higher than the student";
  }
  // The teacher's draws: the item rows its loss reaches.
  teacher->zero_grad();
  d->loss(*student, *teacher, batch).backward();
  const auto grad = teacher->named_parameters()["item_embedding.weight"].grad();
  ASSERT_TRUE(grad.defined());
  int reached = 0;
  for (std::int64_t i = 0; i < 60; ++i) {
    if (grad[i].abs().sum().item<double>() == 0) continue;
    ++reached;
    bool some_user_learns = false;  // some user has it unobserved and ranked higher by the student
    for (std::int64_t u = 0; u < 5; ++u) some_user_learns |= rt[u][i] > rs[u][i] && rs[u][i] >= 0;
    EXPECT_TRUE(some_user_learns) << "item " << i;
  }
  EXPECT_GE(reached, 6);
}

// Issue 23: the rank region follows the catalog (distiller.h states the rule; values by hand).
TEST(Distillers, DefaultRankRegionFollowsTheCatalog) {
  const auto small = default_rank_region(400);  // T = 400 / 32 = 12.5, pool 5 T = 62.5
  EXPECT_DOUBLE_EQ(small.temperature, 12.5);
  EXPECT_EQ(small.pool, 63);                      // lround(62.5) rounds half away from zero
  EXPECT_EQ(small.draws, 10);                     // 63 / 12 = 5, raised to 10
  const auto ml100k = default_rank_region(1682);  // T = 52.5625, pool lround(262.8) = 263
  EXPECT_DOUBLE_EQ(ml100k.temperature, 52.5625);
  EXPECT_EQ(ml100k.pool, 263);
  EXPECT_EQ(ml100k.draws, 21);
  for (const std::int64_t items : {3200, 3615, 9742, 200000}) {
    const auto r = default_rank_region(items);
    EXPECT_DOUBLE_EQ(r.temperature, 100.0);
    EXPECT_EQ(r.pool, 500);
    EXPECT_EQ(r.draws, 40);
  }
  const auto tiny = default_rank_region(10);  // T floor 10, pool at most half the catalog
  EXPECT_EQ(tiny.pool, 5);
  EXPECT_EQ(tiny.draws, 5);
  // Given keys win; a given t moves the pool with it; a given pool keeps t.
  const auto spec = ModelSpec::parse("rrd:t=20").checked(*[] {
    static const ParamDecls d = rank_region_params("interesting", "k");
    return &d;
  }());
  const auto given = rank_region_of(spec, "interesting", 3615);
  EXPECT_DOUBLE_EQ(given.temperature, 20.0);
  EXPECT_EQ(given.pool, 100);
  EXPECT_EQ(given.draws, 10);
}

// Successive sampling by rank weight: distinct sorted ranks whose sets follow Plackett-Luce.
TEST(Distillers, RankSamplerDrawsPlackettLuceSets) {
  const double t = 1.0;
  const RankSampler sampler(3, t);
  Rng rng(5);
  const std::int64_t rows = 200000;
  const auto d = sampler.draw(rows, 2, rng);
  ASSERT_EQ(d.sizes(), (std::vector<std::int64_t>{rows, 2}));
  EXPECT_EQ((d.select(1, 0) >= d.select(1, 1)).sum().item<std::int64_t>(), 0);  // sorted, distinct
  // P({a, b}) = p_a p_b / (1 - p_a) + p_b p_a / (1 - p_b), p_r ~ exp(-(r + 1) / t).
  const double w[3] = {std::exp(-1.0), std::exp(-2.0), std::exp(-3.0)};
  const double z = w[0] + w[1] + w[2];
  const double p[3] = {w[0] / z, w[1] / z, w[2] / z};
  const auto pair = [&](int a, int b) {
    return p[a] * p[b] / (1 - p[a]) + p[b] * p[a] / (1 - p[b]);
  };
  const auto share = [&](int a, int b) {
    return ((d.select(1, 0) == a) & (d.select(1, 1) == b)).sum().item<double>() / rows;
  };
  EXPECT_NEAR(share(0, 1), pair(0, 1), 0.004);
  EXPECT_NEAR(share(0, 2), pair(0, 2), 0.004);
  EXPECT_NEAR(share(1, 2), pair(1, 2), 0.004);
  // One draw per row follows the rank weights themselves (the alias table over 10 ranks).
  const RankSampler ten(10, 3.0);
  const auto one = ten.draw(rows, 1, rng);
  double z10 = 0;
  for (int r = 0; r < 10; ++r) z10 += std::exp(-(r + 1) / 3.0);
  for (int r = 0; r < 10; ++r)
    EXPECT_NEAR((one == r).sum().item<double>() / rows, std::exp(-(r + 1) / 3.0) / z10, 0.003)
        << "rank " << r;
  // Reproducible by seed; too many draws refused.
  Rng a(9), b(9);
  EXPECT_TRUE(torch::equal(sampler.draw(50, 2, a), sampler.draw(50, 2, b)));
  EXPECT_THROW(sampler.draw(1, 4, rng), Error);
  // Weights so sharp that repeats never stop: the exact fallback ends with the top ranks.
  const RankSampler sharp(50, 0.01);
  const auto top = sharp.draw(3, 20, rng);
  EXPECT_TRUE(torch::equal(top, torch::arange(20, torch::kLong).unsqueeze(0).expand({3, 20})));
  EXPECT_THROW(RankSampler(0, 1.0), Error);
  EXPECT_THROW(RankSampler(5, 0.0), Error);
}

// kd's candidates: the teacher's ranked draws first, then the uniform ones; top=0 is Hinton's
// uniform-only form; a top above the pool is refused.
TEST(Distillers, KdMixesTheTeachersRankedItemsWithUniformOnes) {
  TinyPair pair;
  auto &t = pair.t, &s = pair.s;
  const auto& train = pair.train;
  const auto& batch = pair.batch;
  for (const char* spec : {"kd", "kd:top=0", "kd:top=5,pool=10,candidates=3"}) {
    auto kd = create_distiller(ModelSpec::parse(spec));
    kd->prepare(*t, *s, train);
    const auto loss = kd->loss(*t, *s, batch);
    EXPECT_TRUE(std::isfinite(loss.item<double>())) << spec;
    EXPECT_GE(loss.item<double>(), -1e-6) << spec;  // a KL divergence (float rounding near 0)
  }
  auto too_many = create_distiller(ModelSpec::parse("kd:top=11,pool=10"));
  EXPECT_THROW(too_many->prepare(*t, *s, train), Error);
}

// The student's rows as a native step holds them, for native_loss: scored by the model without a
// graph, their gradients summed per row in call order.
struct RecordedRows : StudentRows {
  explicit RecordedRows(TopNModel& m) : model(m) {}
  std::int64_t score(const std::int64_t* users, const std::int64_t* items, std::int64_t n,
                     float* scores) override {
    peek(users, items, n, scores);
    const auto first = static_cast<std::int64_t>(grad.size());
    grad.resize(grad.size() + static_cast<std::size_t>(n), 0.0f);
    return first;
  }
  void add_gradient(std::int64_t first, const float* g, std::int64_t n) override {
    for (std::int64_t k = 0; k < n; ++k) grad[static_cast<std::size_t>(first + k)] += g[k];
  }
  void peek(const std::int64_t* users, const std::int64_t* items, std::int64_t n,
            float* scores) override {
    torch::NoGradGuard guard;
    const auto u = torch::from_blob(const_cast<std::int64_t*>(users), {n}, torch::kLong);
    const auto i = torch::from_blob(const_cast<std::int64_t*>(items), {n}, torch::kLong);
    const auto s = model.forward(u, i).contiguous();
    std::copy_n(s.data_ptr<float>(), n, scores);
  }
  TopNModel& model;
  std::vector<float> grad;
};

// The student's logits as autograd leaves, recorded in `logits` in call order so that a test can
// read d loss / d logit; a no-gradient look (a peek) is returned unrecorded.
std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)> leaf_scores(
    TopNModel& student, std::vector<torch::Tensor>& logits) {
  return [&student, &logits](const torch::Tensor& u, const torch::Tensor& i) {
    const bool keep = torch::GradMode::is_enabled();
    torch::Tensor s;
    {
      torch::NoGradGuard guard;
      s = student.forward(u, i).contiguous();
    }
    if (!keep) return s;
    logits.push_back(s.requires_grad_(true));
    return logits.back();
  };
}

// kd's, rrd's, rd's and cd's hand-written gradients (native_loss, what the native step trains
// with) against LibTorch's autograd of loss() on the same draws: the loss and d loss / d logit of
// every row.
TEST(Distillers, NativeLossesMatchAutograd) {
  for (const char* spec :
       {"kd", "kd:top=0,temperature=0.5", "kd:top=5,pool=10,candidates=3", "rrd",
        "rrd:pool=10,interesting=3,uninteresting=4,draws=epoch", "rd:k=5,samples=20,warmup=0",
        "rd:k=5,warmup=0,renormalize=1,mu=0.5", "rd:warmup=1", "cd:samples=4,pool=20",
        "cd:samples=4,pool=20@0.5", "unkd:groups=1,pool=20,pairs=7", "unkd:t=3,pairs=5"}) {
    // "@p": at training progress p (cd's rank-discrepancy weights need the student's ranks).
    const std::string text = spec;
    const auto at = text.find('@');
    const std::string method = text.substr(0, at);
    TinyPair pair;
    if (at != std::string::npos) pair.batch.progress = std::stod(text.substr(at + 1));
    pair.t->eval();  // frozen, as the trainer leaves it: kd caches its scores
    {
      torch::NoGradGuard guard;  // scores far from 0, so that every term's gradient is sizeable
      for (auto* m : {pair.t.get(), pair.s.get()})
        for (auto& p : m->parameters()) p.normal_(0, 1);
    }
    auto& batch = pair.batch;
    auto d = create_distiller(ModelSpec::parse(method));
    d->prepare(*pair.t, *pair.s, pair.train);
    Rng epoch(3);
    d->start_epoch(epoch);
    std::vector<torch::Tensor> logits;  // the autograd side's scored rows, in call order
    DistillBatch graph = batch;
    graph.student_scores = leaf_scores(*pair.s, logits);
    const double weight = 0.7;
    Rng same(1);
    graph.rng = &same;
    const auto loss = weight * d->loss(*pair.t, *pair.s, graph);
    loss.backward();
    std::vector<float> expected;
    for (const auto& l : logits)
      for (std::int64_t k = 0; k < l.numel(); ++k) expected.push_back(l.grad()[k].item<float>());

    RecordedRows rows(*pair.s);
    const auto term = d->native_loss(*pair.t, *pair.s, batch, rows, weight);
    EXPECT_FALSE(term.autograd.defined()) << spec;  // all of it by hand
    EXPECT_NEAR(term.by_hand, loss.item<double>(), 1e-5 * std::abs(loss.item<double>())) << spec;
    ASSERT_EQ(rows.grad.size(), expected.size()) << spec;
    for (std::size_t k = 0; k < expected.size(); ++k)
      ASSERT_NEAR(rows.grad[k], expected[k], 1e-6) << spec << " row " << k;
  }
}

// The student's rows with their representations too, for terms that read those (de): each
// entity() call's rows and the gradients added to them, in call order.
struct RecordedEntityRows : RecordedRows {
  using RecordedRows::RecordedRows;
  std::int64_t entity_width(const std::string& kind) override {
    return entity_representation(model, kind, torch::zeros({1}, torch::kLong)).size(1);
  }
  void entity(const std::string& kind, const std::int64_t* ids, std::int64_t n,
              float* out) override {
    torch::NoGradGuard guard;
    const auto index = torch::from_blob(const_cast<std::int64_t*>(ids), {n}, torch::kLong);
    const auto rep = entity_representation(model, kind, index).contiguous();
    std::copy_n(rep.data_ptr<float>(), rep.numel(), out);
    entity_grad.push_back(torch::zeros_like(rep));
  }
  void add_entity_gradient(const std::string&, const std::int64_t*, std::int64_t n,
                           const float* grad) override {
    auto& g = entity_grad.back();  // each term reads its rows, then adds their gradient
    ASSERT_EQ(g.size(0), n);
    g += torch::from_blob(const_cast<float*>(grad), g.sizes(), torch::kFloat);
  }
  std::vector<torch::Tensor> entity_grad;
};

// The terms that read representations, by hand against autograd of loss() on the same draws:
// de's (and derrd's DE half's) experts and hint's regressor. The loss, d loss / d representation
// of every student row, and every parameter's gradient (experts, selector, regressor); with soft
// selections (progress 0) and one-hot ones (progress 1, tau = tau_end), where only the chosen
// expert is computed.
TEST(Distillers, RepresentationTermsByHandMatchAutograd) {
  for (const char* spec :
       {"de", "de:experts=3,tau=0.5,scale=0.3", "derrd:rrd.pool=10,rrd.interesting=3", "hint",
        "hint:layer=item", "htd", "htd:groups=3,alpha=0.3"}) {
    for (const double progress : {0.0, 1.0}) {
      const std::string where = std::string(spec) + " at progress " + std::to_string(progress);
      TinyPair pair;
      pair.batch.progress = progress;
      pair.t->eval();
      {
        torch::NoGradGuard guard;
        for (auto* m : {pair.t.get(), pair.s.get()})
          for (auto& p : m->parameters()) p.normal_(0, 1);
      }
      auto d = create_distiller(ModelSpec::parse(spec));
      d->prepare(*pair.t, *pair.s, pair.train);
      Rng epoch(3);
      d->start_epoch(epoch);
      // Autograd: the representations as leaves, so their gradients can be read.
      std::vector<torch::Tensor> reps, logits;
      DistillBatch graph = pair.batch;
      graph.student_entities = [&](const std::string& kind, const torch::Tensor& index) {
        torch::Tensor rep;
        {
          torch::NoGradGuard guard;
          rep = entity_representation(*pair.s, kind, index).contiguous();
        }
        reps.push_back(rep.requires_grad_(true));
        return reps.back();
      };
      graph.student_scores = leaf_scores(*pair.s, logits);
      const double weight = 0.7;
      Rng same(1);
      graph.rng = &same;
      const auto loss = weight * d->loss(*pair.t, *pair.s, graph);
      loss.backward();
      std::vector<torch::Tensor> expected_params;
      for (auto& p : d->parameters()) {
        ASSERT_TRUE(p.grad().defined()) << where;
        expected_params.push_back(p.grad().clone());
        p.mutable_grad() = torch::Tensor();
      }

      RecordedEntityRows rows(*pair.s);
      const auto term = d->native_loss(*pair.t, *pair.s, pair.batch, rows, weight);
      EXPECT_FALSE(term.autograd.defined()) << where;
      EXPECT_NEAR(term.by_hand, loss.item<double>(), 1e-5 * std::abs(loss.item<double>())) << where;
      ASSERT_EQ(rows.entity_grad.size(), reps.size()) << where;
      for (std::size_t k = 0; k < reps.size(); ++k)
        EXPECT_TRUE(torch::allclose(rows.entity_grad[k], reps[k].grad(), 1e-4, 1e-6))
            << where << " representation " << k << "\n"
            << rows.entity_grad[k] << "\n"
            << reps[k].grad();
      const auto params = d->parameters();
      ASSERT_EQ(params.size(), expected_params.size());
      // HTD's memberships get a gradient of their own, which the selector's softmax backward
      // divides by tau (1e-4 at progress 1): in the selector rows whose true gradient is ~0
      // (sum_j d log alpha_j vanishes analytically) both computations leave float residue of
      // ~2e-6 of the largest entry, so there the tolerance scales with that entry.
      const bool residue = std::string(spec).rfind("htd", 0) == 0;
      for (std::size_t k = 0; k < params.size(); ++k) {
        const double atol =
            residue ? 1e-5 * std::max(1.0, expected_params[k].abs().max().item<double>()) : 1e-6;
        EXPECT_TRUE(torch::allclose(params[k].grad(), expected_params[k], 1e-4, atol))
            << where << " parameter " << k << "\n"
            << params[k].grad() << "\n"
            << expected_params[k];
      }
      float logit_grads = 0;
      for (const auto& l : logits) logit_grads += l.grad().abs().sum().item<float>();
      EXPECT_EQ(logit_grads > 0, std::string(spec).rfind("derrd", 0) == 0) << where;
    }
  }
}

TEST(Distillers, EveryMethodIsRegisteredAndValidatesItsParameters) {
  for (const char* name :
       {"kd", "rd", "cd", "de", "rrd", "derrd", "htd", "hint", "rkd", "unkd", "bd", "adversarial"})
    EXPECT_EQ(create_distiller(ModelSpec::parse(name))->name(), name);
  EXPECT_THROW(create_distiller(ModelSpec::parse("rd:lambda=0")), Error);
  EXPECT_THROW(create_distiller(ModelSpec::parse("rrd:interesting=20,pool=10")), Error);
  EXPECT_THROW(create_distiller(ModelSpec::parse("cd:samples=0")), Error);
  EXPECT_THROW(create_distiller(ModelSpec::parse("derrd:lambda=3")), Error);
  EXPECT_THROW(create_distiller(ModelSpec::parse("derrd:rrd.pool=x")), Error);
  EXPECT_THROW(create_distiller(ModelSpec::parse("htd:alpha=2")), Error);
  EXPECT_THROW(create_distiller(ModelSpec::parse("de:tau=-1")), Error);
}

TEST(Distillers, HintWithoutProjectionNeedsEqualWidths) {
  auto t = create_topn_model(ModelSpec::parse("mf:dim=8"), 5, 6);
  auto s = create_topn_model(ModelSpec::parse("mf:dim=2"), 5, 6);
  const InteractionMatrix train({}, 5, 6);
  auto hint = create_distiller(ModelSpec::parse("hint:projection=0"));
  EXPECT_THROW(hint->prepare(*t, *s, train), Error);
  auto unknown_layer = create_distiller(ModelSpec::parse("hint:layer=hidden9"));
  EXPECT_THROW(unknown_layer->prepare(*t, *s, train), Error);
  auto ok = create_distiller(ModelSpec::parse("hint"));
  ok->prepare(*t, *s, train);
  EXPECT_EQ(ok->parameters().size(), 2u);  // the regressor's weight and bias
}

TEST(Distillers, RrdDrawsNewListsEveryBatchOrOncePerEpoch) {
  TinyPair pair;
  auto &t = pair.t, &s = pair.s;
  const auto& train = pair.train;
  const auto& batch = pair.batch;
  const auto value = [&](Distiller& d) { return d.loss(*t, *s, batch).item<double>(); };

  auto per_epoch = create_distiller(ModelSpec::parse("rrd:pool=10,interesting=3,draws=epoch"));
  per_epoch->prepare(*t, *s, train);
  Rng epoch1(2), epoch2(3);
  per_epoch->start_epoch(epoch1);
  const double first = value(*per_epoch);
  EXPECT_EQ(value(*per_epoch), first);  // the same lists all epoch, whatever the batch generator
  per_epoch->start_epoch(epoch2);
  EXPECT_NE(value(*per_epoch), first);  // new lists next epoch

  auto per_batch = create_distiller(ModelSpec::parse("rrd:pool=10,interesting=3"));
  per_batch->prepare(*t, *s, train);
  EXPECT_NE(value(*per_batch), value(*per_batch));
  EXPECT_THROW(create_distiller(ModelSpec::parse("rrd:draws=sometimes")), Error);
}

TEST(Distillers, TeacherTopItemsSkipTrainingItems) {
  torch::manual_seed(4);
  auto t = create_topn_model(ModelSpec::parse("mf:dim=4"), 3, 6);
  const std::vector<Interaction> xs = {{0, 1, 1, 0}, {0, 2, 1, 0}, {2, 5, 1, 0}};
  const InteractionMatrix train(xs, 3, 6);
  const auto top = teacher_top_items(*t, train, 4);
  const auto all = t->score_all(torch::arange(3, torch::kLong));
  for (int u = 0; u < 3; ++u) {
    for (int k = 0; k < 4; ++k) {
      const auto i = static_cast<std::int32_t>(top[u][k].item<std::int64_t>());
      EXPECT_FALSE(train.contains(u, i));
      if (k > 0) {
        EXPECT_GE(all[u][top[u][k - 1].item<std::int64_t>()].item<float>(),
                  all[u][i].item<float>());
      }
    }
  }
  EXPECT_THROW(teacher_top_items(*t, train, 7), Error);
}

TEST(Distillers, TeacherScoresAreTheTeachersOwnOnlyWhenFrozen) {
  torch::manual_seed(6);
  auto t = create_topn_model(ModelSpec::parse("neumf:dim=3,layers=2"), 5, 7);
  auto peer = create_topn_model(ModelSpec::parse("mf:dim=3"), 5, 7);
  const auto u = torch::tensor({0, 4, 4, 2}, torch::kLong),
             i = torch::tensor({6, 0, 3, 3}, torch::kLong);
  t->eval();
  TeacherScores cache;
  cache.compute(*t, 1 << 20);
  ASSERT_TRUE(cache.cached());
  EXPECT_TRUE(torch::allclose(cache.lookup(*t, u, i), t->forward(u, i), 1e-5, 1e-6));
  // Another model (the roles swapped in online training) is scored live.
  EXPECT_TRUE(torch::allclose(cache.lookup(*peer, u, i), peer->forward(u, i)));
  // Too large for the budget, or a teacher in training (an online peer): nothing cached, scored
  // live, and the scores follow the model when it changes.
  cache.compute(*t, 5 * 7 * 4 - 1);
  EXPECT_FALSE(cache.cached());
  t->train();
  cache.compute(*t, 1 << 20);
  EXPECT_FALSE(cache.cached());
  {
    torch::NoGradGuard g;
    for (auto& p : t->parameters()) p.add_(0.5);
  }
  EXPECT_TRUE(torch::allclose(cache.lookup(*t, u, i), t->forward(u, i)));
}

TEST(EnsembleTeacher, MeanOfMembersAndConcatenatedRepresentations) {
  torch::manual_seed(5);
  auto a = create_topn_model(ModelSpec::parse("mf:dim=3"), 4, 5);
  auto b = create_topn_model(ModelSpec::parse("gmf:dim=2"), 4, 5);
  EnsembleTeacher e(std::vector<TopNModelPtr>{a, b}, std::vector<double>{});
  const auto u = torch::tensor({0, 3}, torch::kLong), i = torch::tensor({4, 1}, torch::kLong);
  EXPECT_TRUE(torch::allclose(e->forward(u, i), 0.5 * (a->forward(u, i) + b->forward(u, i))));
  EXPECT_TRUE(torch::allclose(e->score_all(u), 0.5 * (a->score_all(u) + b->score_all(u))));
  EXPECT_EQ(entity_representation(*e, "user", u).size(1), 5);
  auto other = create_topn_model(ModelSpec::parse("mf:dim=3"), 4, 6);
  EXPECT_THROW(EnsembleTeacher(std::vector<TopNModelPtr>{a, other}, std::vector<double>{}), Error);
  EXPECT_THROW(EnsembleTeacher(std::vector<TopNModelPtr>{a, b}, std::vector<double>{1.0}), Error);
}

}  // namespace
}  // namespace recpress
