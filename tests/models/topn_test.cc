// Top-N models: gradients against finite differences, the all-items fast paths against forward(),
// NeuMF pre-training as the paper's linear head mix, the loss values by hand, and bad specs.
#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.h"
#include "grad_check.h"
#include "models/topn/cdae.h"
#include "models/topn/ecae.h"
#include "models/topn/lightgcn.h"
#include "models/topn/model.h"
#include "models/topn/multvae.h"
#include "models/topn/neumf.h"
#include "test_util.h"
#include "train/losses.h"

namespace recpress {
namespace {

// The autoencoders train with their randomness (corruption, dropout, the reparametrisation's
// noise): pair_loss reseeds LibTorch's generator so every evaluation draws the same.
const std::vector<std::string> kModels = {"mf:dim=4",
                                          "gmf:dim=4",
                                          "mlp:dim=4,layers=2",
                                          "neumf:dim=4,layers=2",
                                          "lightgcn:dim=4,layers=2",
                                          "cdae:dim=4",
                                          "multvae:dim=3,hidden=4,anneal_steps=0",
                                          "ecae:dim=3"};

// A training graph for the models that read one (every user and item has an edge but item 6).
const std::vector<Interaction> kTrain = {{0, 1}, {0, 2}, {1, 2}, {1, 5}, {2, 0},
                                         {3, 3}, {3, 4}, {4, 0}, {4, 5}};

TopNModelPtr make(const std::string& spec, std::int64_t users = 5, std::int64_t items = 7) {
  torch::manual_seed(3);
  auto m = create_topn_model(ModelSpec::parse(spec), users, items);
  m->set_training_interactions(kTrain);
  // Larger than the paper's N(0, 0.01) so the finite differences are not lost in rounding, and
  // biases off zero so no ReLU sits exactly at its kink.
  torch::NoGradGuard g;
  for (auto& p : m->parameters()) p.uniform_(-0.8, 0.8);
  return m;
}

torch::Tensor pair_loss(TopNModel& m) {
  torch::manual_seed(11);
  const auto users = torch::tensor({0, 1, 2, 4, 3, 0}, torch::kLong);
  const auto items = torch::tensor({1, 6, 2, 0, 5, 3}, torch::kLong);
  const auto labels = torch::tensor({1.0, 0.0, 1.0, 0.0, 1.0, 0.0}, torch::kDouble);
  const auto loss = pointwise_bce_loss(m.forward(users, items), labels);
  const auto penalty = m.take_penalty();  // Mult-VAE's KL term, ECAE's generation loss
  return penalty.defined() ? loss + penalty : loss;
}

TEST(TopNModels, GradientsMatchFiniteDifferences) {
  for (const auto& spec : kModels) {
    auto m = make(spec);
    m->to(torch::kDouble);
    EXPECT_GT(testing::expect_gradients_match(
                  *m, [&] { return pair_loss(*m); }, spec),
              8)
        << spec;
  }
}

TEST(TopNModels, ScoreAllEqualsForwardOnEveryPair) {
  for (const auto& spec : kModels) {
    auto m = make(spec);
    m->eval();  // no corruption or sampling: the same scores both ways
    torch::NoGradGuard g;
    const auto users = torch::tensor({4, 0, 2}, torch::kLong);
    const auto all = m->score_all(users);
    ASSERT_EQ(all.size(0), 3);
    ASSERT_EQ(all.size(1), 7);
    for (std::int64_t b = 0; b < 3; ++b) {
      const auto f = m->forward(users[b].expand({7}), torch::arange(7, torch::kLong));
      EXPECT_TRUE(torch::allclose(all[b], f, 1e-5, 1e-5)) << spec;
    }
  }
}

// A model with a dot-product form (what `export` ships as MF) scores through it exactly as
// score_all does in eval mode, and asking for it leaves the caller's training mode alone.
TEST(TopNModels, DotProductFormEqualsEvalScoresAndKeepsTheMode) {
  int with_form = 0;
  for (const auto& spec : kModels) {
    auto m = make(spec);
    m->train();
    torch::NoGradGuard g;
    const auto dot = m->as_dot_product();
    EXPECT_TRUE(m->is_training()) << spec;
    if (!dot) continue;
    ++with_form;
    m->eval();
    const auto all = m->score_all(torch::arange(5, torch::kLong));
    EXPECT_TRUE(torch::allclose(torch::mm(dot->first, dot->second.t()), all, 1e-5, 1e-5)) << spec;
  }
  EXPECT_EQ(with_form, 5);  // mf, lightgcn, cdae, multvae, ecae
}

TEST(TopNModels, RepresentationsAndSizes) {
  auto mf = make("mf:dim=4");
  EXPECT_EQ(mf->parameter_count(), (5 + 7) * 4);
  EXPECT_EQ(mf->byte_size(), (5 + 7) * 4 * 4);
  auto mlp = make("mlp:dim=4,layers=2");
  // embeddings 12*4 + layer 8->4 (36) + 4->2 (10) + head 2->1 (3)
  EXPECT_EQ(mlp->parameter_count(), 48 + 36 + 10 + 3);
  const auto reps = mlp->representations(torch::tensor({0, 1}, torch::kLong),
                                         torch::tensor({2, 3}, torch::kLong));
  std::vector<std::string> names;
  for (const auto& [n, t] : reps) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"user", "item", "hidden1", "hidden2"}));
  EXPECT_EQ(reps[3].second.size(1), 2);
}

TEST(TopNModels, NeuMFPretrainingMixesTheHeads) {
  auto gmf = make("gmf:dim=4");
  auto mlp = make("mlp:dim=4,layers=2");
  auto neumf = make("neumf:dim=4,layers=2");
  auto* n = dynamic_cast<NeuMFImpl*>(neumf.get());
  n->load_pretrained(dynamic_cast<GMFImpl&>(*gmf), dynamic_cast<MLPImpl&>(*mlp), 0.3);
  torch::NoGradGuard g;
  const auto u = torch::tensor({0, 3, 4}, torch::kLong), i = torch::tensor({6, 1, 2}, torch::kLong);
  EXPECT_TRUE(torch::allclose(neumf->forward(u, i),
                              0.3 * gmf->forward(u, i) + 0.7 * mlp->forward(u, i), 1e-5, 1e-6));
  // The paper's shape: GMF factors 4, MLP embeddings 16 (tower 32-16-8-4).
  auto gmf4 = make("gmf:dim=4");
  auto mlp16 = make("mlp:dim=16,layers=3");
  auto paper = make("neumf:dim=4,layers=3,mlp_dim=16");
  dynamic_cast<NeuMFImpl&>(*paper).load_pretrained(dynamic_cast<GMFImpl&>(*gmf4),
                                                   dynamic_cast<MLPImpl&>(*mlp16));
  EXPECT_TRUE(torch::allclose(paper->forward(u, i),
                              0.5 * gmf4->forward(u, i) + 0.5 * mlp16->forward(u, i), 1e-5, 1e-6));
  auto other = make("mlp:dim=8,layers=2");
  EXPECT_THROW(n->load_pretrained(dynamic_cast<GMFImpl&>(*gmf), dynamic_cast<MLPImpl&>(*other)),
               Error);
}

// LightGCN's propagation by hand on a path graph u0 - i0 - u1 (degrees 1, 2, 1): the normalised
// adjacency has weight 1/sqrt(2) on both edges, so with one layer
//   e_u0 = (p0 + q0 / sqrt2) / 2,  e_i0 = (q0 + (p0 + p1) / sqrt2) / 2,  e_u1 = (p1 + q0 / sqrt2)
//   / 2.
TEST(TopNModels, LightGCNPropagatesByTheNormalisedGraph) {
  auto m = create_topn_model(ModelSpec::parse("lightgcn:dim=2,layers=1"), 2, 1);
  const std::vector<Interaction> path = {{0, 0}, {1, 0}};
  m->set_training_interactions(path);
  auto& g = dynamic_cast<LightGCNImpl&>(*m);
  {
    torch::NoGradGuard guard;
    g.user_embedding->weight.copy_(torch::tensor({{1.0f, 2.0f}, {3.0f, -1.0f}}));
    g.item_embedding->weight.copy_(torch::tensor({{0.5f, 4.0f}}));
  }
  const double r = 1 / std::sqrt(2.0);
  const auto [users, items] = g.propagated();
  EXPECT_NEAR(users[0][0].item<double>(), (1 + 0.5 * r) / 2, 1e-6);
  EXPECT_NEAR(users[1][1].item<double>(), (-1 + 4 * r) / 2, 1e-6);
  EXPECT_NEAR(items[0][0].item<double>(), (0.5 + (1 + 3) * r) / 2, 1e-6);
  EXPECT_NEAR(items[0][1].item<double>(), (4 + (2 - 1) * r) / 2, 1e-6);
  const auto score = m->forward(torch::tensor({1}, torch::kLong), torch::tensor({0}, torch::kLong));
  EXPECT_NEAR(score.item<double>(), (users[1] * items[0]).sum().item<double>(), 1e-6);
  // Eval mode without autograd reuses the propagation until a parameter changes.
  m->eval();
  torch::NoGradGuard guard;
  const auto before = m->score_all(torch::tensor({0}, torch::kLong)).clone();
  g.item_embedding->weight.add_(1.0);
  EXPECT_FALSE(torch::allclose(m->score_all(torch::tensor({0}, torch::kLong)), before));
  // The float product (vectorised, 8 dimensions at a time plus a remainder) equals the double one.
  auto wide = create_topn_model(ModelSpec::parse("lightgcn:dim=75,layers=2"), 5, 7);
  wide->set_training_interactions(kTrain);
  for (auto& p : wide->parameters()) p.uniform_(-1, 1);
  const auto f32 = dynamic_cast<LightGCNImpl&>(*wide).propagated().second.clone();
  wide->to(torch::kDouble);
  const auto f64 = dynamic_cast<LightGCNImpl&>(*wide).propagated().second;
  EXPECT_TRUE(torch::allclose(f32.to(torch::kDouble), f64, 1e-5, 1e-6));
  // Without its graph the model says so.
  auto bare = create_topn_model(ModelSpec::parse("lightgcn"), 2, 1);
  EXPECT_THROW(bare->score_all(torch::tensor({0}, torch::kLong)), Error);
  const std::vector<Interaction> outside = {{0, 3}};
  EXPECT_THROW(bare->set_training_interactions(outside), Error);
}

// CDAE by hand (Wu et al. 2016, eq. 7-8): user 0's row is items {1, 2} (kTrain), so in eval mode
// (no corruption) z_0 = sigmoid(W_1 + W_2 + V_0 + b) and score(0, i) = W'_i . z_0 + b'_i; in
// training mode each entry is kept or dropped, the kept ones scaled by 1 / (1 - q).
TEST(TopNModels, CDAEEncodesTheUsersRowByHand) {
  auto m = make("cdae:dim=3,corruption=0.5");
  auto& c = dynamic_cast<CDAEImpl&>(*m);
  m->eval();
  torch::NoGradGuard guard;
  const auto& w = c.input->weight;
  const auto z = torch::sigmoid(w[1] + w[2] + c.user_node->weight[0] + c.hidden_bias);
  const auto expected = (c.output->weight[5] * z).sum() + c.output_bias[5];
  EXPECT_NEAR(
      m->forward(torch::tensor({0}, torch::kLong), torch::tensor({5}, torch::kLong)).item<double>(),
      expected.item<double>(), 1e-6);
  m->train();
  const auto base = c.user_node->weight[0] + c.hidden_bias;
  const auto coded = c.encode(torch::tensor({0}, torch::kLong))[0];
  bool matched = false;
  for (const auto& kept : {std::vector<int>{}, {1}, {2}, {1, 2}}) {
    auto sum = base.clone();
    for (const int j : kept) sum += 2.0 * w[j];
    matched = matched || torch::allclose(coded, torch::sigmoid(sum), 1e-5, 1e-6);
  }
  EXPECT_TRUE(matched) << "the corrupted code is none of the four kept subsets";
  // Exported as a dot product with one more dimension.
  const auto dot = m->as_dot_product();
  ASSERT_TRUE(dot.has_value());
  EXPECT_EQ(dot->first.size(1), 4);
  EXPECT_NEAR((dot->first[0] * dot->second[5]).sum().item<double>(), expected.item<double>(), 1e-6);
  auto bare = create_topn_model(ModelSpec::parse("cdae"), 2, 1);
  EXPECT_THROW(bare->score_all(torch::tensor({0}, torch::kLong)), Error);
}

// ECAE as reconstructed in ecae.cc, by hand: user 0's row is items {1, 2} of 7. Generation
// h_g = sigmoid(W_g,1 + W_g,2 + V_0 + b_g), y_g = W'_g h_g + b'_g; soft row s = alpha sigmoid(y_g)
// + (1 - alpha) x; retraining h_r = sigmoid(W_r^T s + b_r), y_r = W'_r h_r + b'_r; score
// (1 - mix) y_g + mix y_r. Training mode adds the generation's class-balanced logistic loss.
TEST(TopNModels, ECAEGatesTheGeneratedRowAndMixesBothNetworksByHand) {
  auto m = make("ecae:dim=2,corruption=0,mix=0.25,generation_weight=2");
  auto& e = dynamic_cast<ECAEImpl&>(*m);
  torch::NoGradGuard guard;
  const auto& wg = e.generation_input->weight;
  const auto h_g =
      torch::sigmoid(wg[1] + wg[2] + e.user_node->weight[0] + e.generation_hidden_bias);
  const auto y_g = torch::mv(e.generation_output->weight, h_g) + e.generation_output_bias;
  auto x = torch::zeros({7});
  x[1] = 1;
  x[2] = 1;
  const auto alpha = torch::sigmoid(e.gate);
  const auto soft = alpha * torch::sigmoid(y_g) + (1 - alpha) * x;
  const auto h_r =
      torch::sigmoid(torch::mv(e.retraining_input->weight.t(), soft) + e.retraining_hidden_bias);
  const auto y_r = torch::mv(e.retraining_output->weight, h_r) + e.retraining_output_bias;
  const auto expected = 0.75 * y_g + 0.25 * y_r;
  const auto user = torch::tensor({0}, torch::kLong);
  m->eval();
  EXPECT_TRUE(torch::allclose(m->score_all(user)[0], expected, 1e-5, 1e-6));
  EXPECT_FALSE(m->take_penalty().defined());  // eval mode adds nothing
  m->train();
  EXPECT_NEAR(m->forward(user, torch::tensor({5}, torch::kLong)).item<double>(),
              expected[5].item<double>(), 1e-5);
  const auto sp = [](const torch::Tensor& t) { return torch::log1p(torch::exp(t)); };
  const auto reconstruction = (sp(-y_g) * x).sum() / 2 + (sp(y_g) * (1 - x)).sum() / 5;
  EXPECT_NEAR(m->take_penalty().item<double>(), 2 * reconstruction.item<double>(), 1e-5);
  EXPECT_FALSE(m->take_penalty().defined());  // taken, so reset
  const auto dot = m->as_dot_product();
  ASSERT_TRUE(dot.has_value());
  EXPECT_EQ(dot->first.size(1), 5);
  EXPECT_NEAR((dot->first[0] * dot->second[5]).sum().item<double>(), expected[5].item<double>(),
              1e-5);
}

// Mult-VAE by hand (Liang et al. 2018): user 3's row is items {3, 4}, so the encoder's input is
// (W_3 + W_4) / sqrt(2); at prediction z = mu, g = tanh(decoder_in(z)), score = W_out_i . g + b_i.
// In training mode (no dropout here) the KL term of q(z | x) = N(mu, sigma^2), weighted by
// beta * min(1, updates / anneal_steps), accumulates until take_penalty() returns it.
TEST(TopNModels, FrozenMultVAECodesAreComputedOnceAndFollowItsParameters) {
  auto m = make("multvae:dim=2,hidden=3,dropout=0");
  auto& v = dynamic_cast<MultVAEImpl&>(*m);
  m->eval();
  const auto users = torch::tensor({3, 0, 3, 4}, torch::kLong);
  torch::NoGradGuard guard;
  const auto direct = v.decoder_hidden(users);
  const auto cached = v.frozen_codes(users);
  EXPECT_TRUE(torch::allclose(cached, direct, 1e-6, 1e-7));
  EXPECT_GT(direct.abs().sum().item<double>(), 0);
  // A changed parameter (an optimiser step, a loaded checkpoint) changes the codes at once.
  v.encoder_bias.add_(0.5);
  const auto moved = v.decoder_hidden(users);
  EXPECT_FALSE(torch::allclose(moved, direct));
  EXPECT_TRUE(torch::allclose(v.frozen_codes(users), moved, 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(m->score_all(users),
                              torch::addmm(v.decoder_bias, moved, v.decoder_output->weight.t()),
                              1e-5, 1e-6));
}

TEST(TopNModels, MultVAEEncodesDecodesAndAnnealsItsKLByHand) {
  auto m = make("multvae:dim=2,hidden=3,dropout=0,beta=0.5,anneal_steps=4");
  auto& v = dynamic_cast<MultVAEImpl&>(*m);
  const auto user = torch::tensor({3}, torch::kLong);
  torch::Tensor mu, log_variance;
  {
    torch::NoGradGuard guard;
    const auto& w = v.encoder_input->weight;
    const auto code =
        v.encoder_out(torch::tanh((w[3] + w[4]) / std::sqrt(2.0) + v.encoder_bias).view({1, -1}));
    mu = code.narrow(1, 0, 2), log_variance = code.narrow(1, 2, 2);
    const auto g = torch::tanh(v.decoder_in(mu))[0];
    m->eval();
    EXPECT_NEAR(m->forward(user, torch::tensor({6}, torch::kLong)).item<double>(),
                ((v.decoder_output->weight[6] * g).sum() + v.decoder_bias[6]).item<double>(), 1e-6);
    EXPECT_FALSE(m->take_penalty().defined());  // eval mode adds no KL term
  }
  m->train();
  const double kl =
      (0.5 * (-log_variance + log_variance.exp() + mu.square() - 1).sum()).item<double>();
  EXPECT_EQ(v.kl_weight(), 0.0);  // no update yet
  m->forward(user, torch::tensor({0}, torch::kLong));
  EXPECT_EQ(m->take_penalty().item<double>(), 0.0);
  for (int step = 1; step <= 6; ++step) {
    m->forward(user, torch::tensor({0}, torch::kLong));
    m->forward(user, torch::tensor({1}, torch::kLong));  // two passes: two samples' terms
    const double weight = 0.5 * std::min(1.0, step / 4.0);
    EXPECT_NEAR(m->take_penalty().item<double>(), 2 * weight * kl, 1e-5) << step;
  }
}

TEST(TopNModels, BadSpecs) {
  EXPECT_THROW(create_topn_model(ModelSpec::parse("transformer"), 5, 5), Error);
  EXPECT_THROW(create_topn_model(ModelSpec::parse("mf:dim=0"), 5, 5), Error);
  EXPECT_THROW(create_topn_model(ModelSpec::parse("mf:dim=-3"), 5, 5), Error);
  EXPECT_THROW(create_topn_model(ModelSpec::parse("mf:dimm=3"), 5, 5), Error);
  EXPECT_THROW(create_topn_model(ModelSpec::parse("mlp:layers=x"), 5, 5), Error);
  EXPECT_THROW(create_topn_model(ModelSpec::parse("gmf"), 0, 5), Error);
  EXPECT_THROW(ModelSpec::parse(":dim=3"), Error);
}

TEST(Losses, HandComputedValuesAndGradients) {
  auto logits = torch::tensor({0.0, 2.0}, torch::dtype(torch::kDouble).requires_grad(true));
  const auto labels = torch::tensor({1.0, 0.0}, torch::kDouble);
  auto bce = pointwise_bce_loss(logits, labels);
  EXPECT_NEAR(bce.item<double>(), (std::log(2.0) + std::log(1.0 + std::exp(2.0))) / 2, 1e-12);
  bce.backward();
  // d/dx = (sigmoid(x) - y) / n
  EXPECT_NEAR(logits.grad()[0].item<double>(), (0.5 - 1.0) / 2, 1e-12);
  EXPECT_NEAR(logits.grad()[1].item<double>(), (1.0 / (1.0 + std::exp(-2.0))) / 2, 1e-12);
  auto pos = torch::tensor({1.0, 50.0}, torch::dtype(torch::kDouble).requires_grad(true));
  auto neg = torch::tensor({0.0, -50.0}, torch::dtype(torch::kDouble).requires_grad(true));
  auto bpr = bpr_loss(pos, neg);
  EXPECT_NEAR(bpr.item<double>(),
              (std::log(1.0 + std::exp(-1.0)) + std::log1p(std::exp(-100.0))) / 2, 1e-12);
  bpr.backward();
  // d/dpos = -sigmoid(neg - pos) / n
  EXPECT_NEAR(pos.grad()[0].item<double>(), -(1.0 / (1.0 + std::exp(1.0))) / 2, 1e-12);
  EXPECT_THROW(parse_loss("hinge"), Error);
}

// The full-softmax cross-entropy: hand-computed value and gradient, then LibTorch's
// cross_entropy on random logits (fp32 and bf16, a catalog not a multiple of the vector width,
// logits far below the row maximum), and bad targets.
// Rows [0, ln 3] and [ln 2, 0] have softmax [1/4, 3/4] and [2/3, 1/3]; observed (0, 1), (1, 0),
// (1, 1): loss = -(ln 3/4 + ln 2/3 + ln 1/3) / 2 over the two users. Gradient of row r:
// (n_r softmax_r - x_r) / 2.
TEST(Losses, MultinomialLikelihoodByHand) {
  auto logits = torch::tensor({{0.0, std::log(3.0)}, {std::log(2.0), 0.0}},
                              torch::dtype(torch::kDouble).requires_grad(true));
  const auto rows = torch::tensor({0, 1, 1}, torch::kLong);
  const auto items = torch::tensor({1, 0, 1}, torch::kLong);
  auto loss = multinomial_loss(logits, rows, items);
  EXPECT_NEAR(loss.item<double>(), -(std::log(0.75) + std::log(2.0 / 3) + std::log(1.0 / 3)) / 2,
              1e-12);
  loss.backward();
  const auto g = logits.grad();
  EXPECT_NEAR(g[0][0].item<double>(), (0.25 - 0) / 2, 1e-12);
  EXPECT_NEAR(g[0][1].item<double>(), (0.75 - 1) / 2, 1e-12);
  EXPECT_NEAR(g[1][0].item<double>(), (2 * 2.0 / 3 - 1) / 2, 1e-12);
  EXPECT_NEAR(g[1][1].item<double>(), (2 * 1.0 / 3 - 1) / 2, 1e-12);
  EXPECT_THROW(
      multinomial_loss(logits, torch::tensor({2}, torch::kLong), torch::tensor({0}, torch::kLong)),
      Error);
  EXPECT_THROW(multinomial_loss(logits, rows, torch::tensor({0, 1}, torch::kLong)), Error);
  EXPECT_EQ(parse_loss("multinomial"), LossKind::kMultinomial);
  EXPECT_THROW(parse_loss("softmax"), Error);
}

TEST(Losses, FullSoftmaxCrossEntropyByHandAndAgainstLibTorch) {
  auto x = torch::tensor({{1.0f, 2.0f, 3.0f}, {0.0f, 0.0f, 0.0f}}).requires_grad_(true);
  const auto t = torch::tensor({2, 0}, torch::kLong);
  auto loss = full_softmax_cross_entropy(x, t);
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(loss.item<double>(), ((std::log(z) - 3.0) + std::log(3.0)) / 2, 1e-6);
  loss.backward();
  const auto g = x.grad();
  EXPECT_NEAR(g[0][0].item<double>(), std::exp(1.0) / z / 2, 1e-7);
  EXPECT_NEAR(g[0][2].item<double>(), (std::exp(3.0) / z - 1) / 2, 1e-7);
  EXPECT_NEAR(g[1][0].item<double>(), (1.0 / 3 - 1) / 2, 1e-7);
  EXPECT_NEAR(g[1][1].item<double>(), 1.0 / 3 / 2, 1e-7);
  torch::manual_seed(3);
  for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
    auto a = (torch::randn({37, 1001}) * 4).to(dtype).requires_grad_(true);
    a.data()[0][5] = -200;  // e^(x - max) underflows to 0
    auto b = a.detach().clone().requires_grad_(true);
    const auto targets = torch::randint(0, 1001, {37}, torch::kLong);
    auto ours = full_softmax_cross_entropy(a, targets);
    auto theirs = torch::nn::functional::cross_entropy(b.to(torch::kFloat), targets);
    EXPECT_NEAR(ours.item<double>(), theirs.item<double>(), 1e-5);
    (ours * 3).backward();
    (theirs * 3).backward();
    EXPECT_EQ(a.grad().scalar_type(), dtype);
    const double tolerance = dtype == torch::kFloat ? 1e-7 : 1e-3;  // bf16 keeps 8 bits
    EXPECT_LT((a.grad().to(torch::kFloat) - b.grad().to(torch::kFloat)).abs().max().item<double>(),
              tolerance);
  }
  testing::expect_error(
      [&] {
        full_softmax_cross_entropy(x, torch::tensor({3, 0}, torch::kLong));
      },
      {"target 3 of row 0 is outside [0, 3)"});
  testing::expect_error([&] { full_softmax_cross_entropy(x, torch::tensor({0}, torch::kLong)); },
                        {"logits must be [N, C] and targets [N]"});
}

}  // namespace
}  // namespace recpress

namespace recpress {
namespace {

// Declared parameters: the one table a model's parameters come from (core/params.h).
TEST(DeclaredParams, CheckDefaultsAndDescribe) {
  const ParamDecls decls = {int_param("dim", 32, 1, "embedding size"),
                            real_param("dropout", 0.2, 0, 1, false, true, "dropout"),
                            text_param("loss", "bce", {"bce", "ce"}, "loss")};
  const ModelSpec plain = ModelSpec::parse("m").checked(decls);
  EXPECT_EQ(plain.get_int("dim"), 32);  // the declared defaults
  EXPECT_DOUBLE_EQ(plain.get_double("dropout"), 0.2);
  EXPECT_EQ(plain.get_string("loss"), "bce");
  EXPECT_EQ(plain.to_string(), "m");  // defaults are not written into the spec
  const ModelSpec given = ModelSpec::parse("m:dim=8,dropout=0,loss=ce").checked(decls);
  EXPECT_EQ(given.get_int("dim"), 8);
  EXPECT_EQ(given.get_string("loss"), "ce");
  auto error = [&](const std::string& text) {
    try {
      ModelSpec::parse(text).checked(decls);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(error("m:dimm=8"), "model 'm': unknown parameter 'dimm' (known: dim, dropout, loss)");
  EXPECT_EQ(error("m:dim=0"), "model 'm': dim must be >= 1, got 0");
  EXPECT_EQ(error("m:dim=8.5"), "model 'm': dim must be an integer, got '8.5'");
  EXPECT_EQ(error("m:dropout=1"), "model 'm': dropout must be in [0, 1), got 1");
  EXPECT_EQ(error("m:dropout=nan"), "model 'm': dropout must be a number, got 'nan'");
  EXPECT_EQ(error("m:loss=bpr"), "model 'm': loss must be bce or ce, got 'bpr'");
  EXPECT_EQ(params_summary(decls), "dim=32, dropout=0.2, loss=bce");
  EXPECT_EQ(decls[1].range_text(), "in [0, 1)");
  // The registries check every model's spec against its declaration before building it.
  EXPECT_THROW(create_topn_model(ModelSpec::parse("neumf:mlp_dim=0"), 3, 3), Error);
  EXPECT_EQ(create_topn_model(ModelSpec::parse("neumf:dim=4"), 3, 3)->spec().to_string(),
            "neumf:dim=4");
  bool listed = false;
  for (const auto& [name, help] : topn_models())
    listed = listed || (name == "mlp" && help.find("dim=32, layers=3") != std::string::npos);
  EXPECT_TRUE(listed) << "--help lists each model's declared defaults";
}

// A run's identity resolves its specs: every declared parameter written out, so equivalent texts
// agree and a changed default disagrees; weights, '+'-joined terms and undeclared names survive.
TEST(DeclaredParams, ResolvedSpecTextWritesEveryParameter) {
  const DeclaredSpecs declared = {{"kd",
                                   "",
                                   {real_param("temperature", 2.0, 0, kUnbounded, true, false, "t"),
                                    int_param("candidates", 50, 2, "c")}},
                                  {"hint", "", {text_param("layer", "user", {}, "l")}}};
  EXPECT_EQ(resolved_spec_text("kd", declared), "kd:temperature=2,candidates=50");
  EXPECT_EQ(resolved_spec_text("kd:candidates=50,temperature=2", declared),
            resolved_spec_text("kd", declared));
  EXPECT_EQ(resolved_spec_text("kd:candidates=20@0.5+hint", declared),
            "kd:temperature=2,candidates=20@0.5+hint:layer=user");
  EXPECT_EQ(resolved_spec_text("none", declared), "none");
  EXPECT_EQ(resolved_spec_text("kd:extra=1", declared), "kd:temperature=2,candidates=50,extra=1");
  DeclaredSpecs changed = declared;
  std::get<2>(changed[0])[1] = int_param("candidates", 100, 2, "c");
  EXPECT_NE(resolved_spec_text("kd", changed), resolved_spec_text("kd", declared));
  // The real registries: declared defaults are filled; a derived one is its rule's fingerprint.
  EXPECT_EQ(resolved_spec_text("mf:dim=20", topn_model_params()).rfind("mf:dim=20", 0), 0u);
  DeclaredSpecs derived = declared;
  std::get<2>(derived[0])[1].default_value = "";  // candidates derived by a rule
  const auto rule = resolved_spec_text("kd", derived);
  EXPECT_NE(rule.find("candidates=derived-"), std::string::npos) << rule;
  std::get<2>(derived[0])[1].doc = "another rule";
  EXPECT_NE(resolved_spec_text("kd", derived), rule);
}

}  // namespace
}  // namespace recpress
