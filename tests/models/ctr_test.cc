// CTR models and their distillation: gradients against finite differences, FM's O(kn) identity
// against the naive pairwise sum, multi-hot pooling and padding, DeepFM beating LR on the
// synthetic data, the kd loss by hand, hint's errors, checkpoints and bad inputs.
#include <gtest/gtest.h>

#include <map>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "distill/ctr/distiller.h"
#include "grad_check.h"
#include "models/ctr/ctr_model.h"
#include "test_util.h"
#include "train/ctr_trainer.h"

namespace recpress {
namespace {

using testing::expect_error;

const std::vector<std::string> kModels = {"lr", "fm:dim=3", "wide_deep:dim=3,hidden=5-4",
                                          "deepfm:dim=3,hidden=5-4,dropout=0"};

// Fields: color (categorical, vocab OOV+3), tags (multi-hot, 2 slots, vocab OOV+3), a cross
// (wide only, 1 slot, vocab OOV+2), one dense numeric field.
CtrLayout tiny_layout() {
  CtrLayout l;
  l.sparse = {{"color", "categorical", 0, 4, 0, 1, false, false},
              {"tags", "multi", 4, 4, 1, 2, false, false},
              {"color*x", "cross", 8, 3, 3, 1, false, true}};
  l.dense = {{"price", "dense", 0, 0, 0, 1, false, false}};
  l.vocab_size = 11;
  l.slots = 4;
  return l;
}

CtrBatch tiny_batch(torch::Dtype dtype = torch::kFloat) {
  // Row 2 has one tag (second slot padded), row 3 none.
  return {torch::tensor({0, 5, 6, 9, 1, 7, 11, 8, 3, 11, 11, 10, 2, 4, 5, 9}, torch::kLong)
              .view({4, 4}),
          torch::tensor({0.5, -1.0, 2.0, 0.0}, dtype).view({4, 1})};
}

CtrModelPtr make(const std::string& spec) {
  torch::manual_seed(5);
  auto m = create_ctr_model(ModelSpec::parse(spec), tiny_layout());
  torch::NoGradGuard g;
  // Away from zero so finite differences are not lost in rounding; padding rows stay zero.
  for (auto& p : m->named_parameters()) {
    p.value().uniform_(-0.8, 0.8);
    if (p.key().find("table") != std::string::npos ||
        p.key().find("weights.weight") != std::string::npos)
      p.value()[p.value().size(0) - 1].zero_();
  }
  return m;
}

torch::Tensor loss_of(CtrModel& m, const CtrBatch& b) {
  const auto y = torch::tensor({1.0, 0.0, 1.0, 0.0}, torch::kDouble);
  return torch::binary_cross_entropy_with_logits(m.forward(b), y);
}

TEST(CtrModels, GradientsMatchFiniteDifferences) {
  // The embeddings' last row is the padding id's: zero gradient by construction, not checked.
  const auto padding_row = [](const std::string& name) -> std::int64_t {
    return name.find("table") != std::string::npos ||
           name.find("weights.weight") != std::string::npos;
  };
  for (const auto& spec : kModels) {
    auto m = make(spec);
    m->to(torch::kDouble);
    const auto b = tiny_batch(torch::kDouble);
    EXPECT_GT(testing::expect_gradients_match(
                  *m, [&] { return loss_of(*m, b); }, spec, 7, padding_row),
              5)
        << spec;
  }
}

// Every registered model, whatever file added it, gets the same check: its declared parameters
// set small (dim 3, two hidden layers, no dropout) so finite differences stay cheap.
TEST(CtrModels, EveryRegisteredModelHasMatchingGradients) {
  const auto padding_row = [](const std::string& name) -> std::int64_t {
    return name.find("table") != std::string::npos ||
           name.find("weights.weight") != std::string::npos;
  };
  int checked = 0;
  for (const auto& [name, help, params] : ctr_model_params()) {
    const std::map<std::string, std::string> small = {
        {"dim", "3"}, {"hidden", "5-4"}, {"dropout", "0"}};
    ModelSpec parsed;
    parsed.name = name;
    for (const auto& p : params)
      if (small.count(p.name)) parsed.params[p.name] = small.at(p.name);
    const std::string spec = parsed.to_string();
    auto m = make(spec);
    m->to(torch::kDouble);
    const auto b = tiny_batch(torch::kDouble);
    EXPECT_GT(testing::expect_gradients_match(
                  *m, [&] { return loss_of(*m, b); }, spec, 7, padding_row),
              5)
        << spec;
    ++checked;
  }
  EXPECT_GE(checked, 5);  // lr, fm, wide_deep, deepfm, dnn
}

TEST(CtrModels, FmPairwiseEqualsNaiveSum) {
  torch::manual_seed(1);
  const auto v = torch::randn({3, 5, 4}, torch::kDouble);
  const auto fast = fm_pairwise(v);
  for (std::int64_t b = 0; b < 3; ++b) {
    double naive = 0;
    for (std::int64_t i = 0; i < 5; ++i) {
      for (std::int64_t j = i + 1; j < 5; ++j) naive += torch::dot(v[b][i], v[b][j]).item<double>();
    }
    EXPECT_NEAR(fast[b].item<double>(), naive, 1e-10);
  }
}

TEST(CtrModels, MultiHotIsTheMeanOfItsTokensAndPaddingIsInert) {
  auto m = make("fm:dim=3");
  auto* fm = m.get();
  torch::NoGradGuard g;
  const auto b = tiny_batch();
  const auto e = fm->run(b).get("embeddings", "fm");
  ASSERT_EQ(e.sizes(), (std::vector<std::int64_t>{4, 3, 3}));  // color, tags, price; no cross
  auto table = fm->named_parameters()["embedding.table.weight"];
  EXPECT_TRUE(torch::allclose(e[0][1], (table[5] + table[6]) / 2));  // two tags: mean
  EXPECT_TRUE(torch::allclose(e[1][1], table[7]));                   // one tag + padding
  EXPECT_TRUE(torch::allclose(e[2][1], torch::zeros({3})));          // no tags
  // Changing what sits in the padding row never changes an output.
  const auto before = fm->forward(b);
  table[11].fill_(3.0);
  EXPECT_TRUE(torch::allclose(before.narrow(0, 1, 2), fm->forward(b).narrow(0, 1, 2)));
}

TEST(CtrModels, BadSpecsAreClearErrors) {
  expect_error([] { create_ctr_model(ModelSpec::parse("xgboost"), tiny_layout()); },
               {"unknown CTR model 'xgboost'", "deepfm"});
  expect_error([] { create_ctr_model(ModelSpec::parse("deepfm:hidden=400x400"), tiny_layout()); },
               {"hidden", "400-400-400"});
  expect_error([] { create_ctr_model(ModelSpec::parse("fm:dimm=4"), tiny_layout()); }, {"dimm"});
}

// ---------------------------------------------------------------- training on synthetic data

CtrDataSpec synthetic_spec() {
  CtrDataSpec s;
  s.data = "synthetic:users=1000,items=300";
  s.split_seed = 3;
  return s;
}

CtrTrainConfig quick_config(int epochs) {
  CtrTrainConfig c;
  c.epochs = epochs;
  c.lr = 0.01;
  c.show_progress = false;
  c.patience = 0;
  return c;
}

CtrTrainResult train(const CtrData& data, const std::string& spec, int epochs,
                     const std::string& out = "", CtrModelPtr* model_out = nullptr) {
  torch::manual_seed(1);
  auto model = create_ctr_model(ModelSpec::parse(spec), data.encoder.layout());
  CtrTrainer trainer(data, model, quick_config(epochs));
  auto r = trainer.fit(out);
  if (model_out != nullptr) *model_out = model;
  return r;
}

TEST(CtrTraining, DeepFmBeatsLogisticRegressionOnSyntheticData) {
  const auto data = prepare_ctr_data(synthetic_spec());
  const auto lr = train(data, "lr", 5);
  const auto deepfm = train(data, "deepfm:dim=8,hidden=64-32,dropout=0", 5);
  // The synthetic clicks follow a user x item affinity that a linear model cannot represent.
  EXPECT_GT(deepfm.test.auc, lr.test.auc + 0.03) << lr.test.auc << " vs " << deepfm.test.auc;
  EXPECT_GT(deepfm.test.gauc, 0.5);
  // Same seed, same numbers.
  EXPECT_DOUBLE_EQ(train(data, "lr", 5).test.auc, lr.test.auc);
}

TEST(CtrTraining, CheckpointRoundTripAndBadFiles) {
  const auto data = prepare_ctr_data(synthetic_spec());
  const auto dir = testing::scratch_dir("ctr-ckpt");
  CtrModelPtr model;
  const auto r = train(data, "fm:dim=4", 2, dir, &model);
  const auto c = load_ctr_checkpoint(dir + "/best.pt");
  EXPECT_EQ(c.model->spec().to_string(), "fm:dim=4");
  EXPECT_EQ(c.data.data, synthetic_spec().data);
  const auto again = prepare_ctr_data(c.data, &c.encoder);
  EXPECT_EQ(again.checksum, data.checksum);
  EXPECT_NEAR(evaluate_ctr(*c.model, again.test).auc, r.test.auc, 1e-9);
  EXPECT_TRUE(std::filesystem::exists(dir + "/results.json"));

  // Truncated file.
  const auto bytes = std::filesystem::file_size(dir + "/best.pt");
  std::filesystem::copy_file(dir + "/best.pt", dir + "/cut.pt");
  std::filesystem::resize_file(dir + "/cut.pt", bytes / 2);
  expect_error([&] { load_ctr_checkpoint(dir + "/cut.pt"); }, {"cut.pt"});
  expect_error([&] { load_ctr_checkpoint(dir + "/missing.pt"); }, {"missing.pt"});
}

// ---------------------------------------------------------------- distillation

TEST(CtrDistill, KdLossByHand) {
  // Teacher: logistic regression with bias 2 and nothing else -> logit 2 on every row.
  auto teacher = make("lr");
  {
    torch::NoGradGuard g;
    for (auto& p : teacher->parameters()) p.zero_();
    teacher->named_parameters()["linear.bias"].fill_(2.0);
  }
  auto student = make("lr");
  CtrRows train;
  train.rows = 2;
  train.slots = 4;
  train.dense = 1;
  train.ids = {0, 4, 11, 8, 1, 5, 6, 9};
  train.values = {0, 1};
  train.labels = {1, 0};
  auto kd = create_ctr_distiller(ModelSpec::parse("kd:alpha=0.5,temperature=2"));
  kd->prepare(*teacher, *student, train);
  CtrBatch batch = tiny_batch();
  CtrOutput out{torch::zeros({2}, torch::kFloat), {}};  // student logits 0
  const CtrDistillBatch db{&batch, torch::tensor({1, 0}, torch::kLong), torch::tensor({1.0f, 1.0f}),
                           &out};
  // soft target sigmoid(2 / 2) = 0.7311; student sigmoid(0 / 2) = 0.5: BCE = ln 2 for any target,
  // soft = T^2 ln 2 = 2.7726; hard = ln 2; term = 0.5 * (2.7726 - 0.6931) = 1.0397.
  EXPECT_NEAR(kd->loss(*teacher, *student, db).item<double>(), 0.5 * (4 - 1) * std::log(2.0), 1e-5);
  // A student logit of 1: soft = 4 * BCE(sigmoid(0.5), 0.7311), hard = BCE(sigmoid(1), 1).
  out.logits = torch::ones({2});
  const double s = 1 / (1 + std::exp(-0.5)), p = 1 / (1 + std::exp(-1.0));
  const double soft = 4 * -(p * std::log(s) + (1 - p) * std::log(1 - s));
  const double hard = -std::log(p);
  EXPECT_NEAR(kd->loss(*teacher, *student, db).item<double>(), 0.5 * (soft - hard), 1e-5);
}

TEST(CtrDistill, BadMethodsAndTeachers) {
  expect_error([] { parse_ctr_distillation_terms({"derrd"}); },
               {"unknown CTR distillation method 'derrd'", "kd"});
  expect_error([] { parse_ctr_distillation_terms({"kd:alpha=2"}); }, {"alpha"});
  CtrRows train;
  train.rows = 1;
  train.slots = 4;
  train.dense = 1;
  train.ids = {0, 4, 11, 8};
  train.values = {0};
  train.labels = {1};
  auto teacher = make("deepfm:dim=3,hidden=5-4"), student = make("lr");
  auto hint = create_ctr_distiller(ModelSpec::parse("hint"));
  expect_error([&] { hint->prepare(*teacher, *student, train); },
               {"has no representation 'embeddings'"});
  auto ensemble = CtrEnsemble(std::vector<CtrModelPtr>{teacher, make("fm:dim=3")}).ptr();
  expect_error([&] { hint->prepare(*ensemble, *make("fm:dim=2"), train); }, {"ensemble", "kd"});
  // Teachers of different data cannot form an ensemble.
  auto other_layout = tiny_layout();
  other_layout.sparse[0].vocab = 5;
  auto foreign = create_ctr_model(ModelSpec::parse("lr"), other_layout);
  expect_error(
      [&] {
        CtrEnsemble(std::vector<CtrModelPtr>{teacher, foreign});
      },
      {"differently encoded data"});
}

TEST(CtrDistill, HintProjectsStudentLayersOntoTheTeacher) {
  auto teacher = make("deepfm:dim=4,hidden=6-5,dropout=0"), student = make("deepfm:dim=2,hidden=3");
  CtrRows train;
  train.rows = 1;
  train.slots = 4;
  train.dense = 1;
  train.ids = {0, 4, 11, 8};
  train.values = {0.5};
  train.labels = {1};
  auto hint = create_ctr_distiller(ModelSpec::parse("hint:layers=embeddings/hidden1>hidden2"));
  hint->prepare(*teacher, *student, train);
  ASSERT_EQ(hint->parameters().size(), 4u);  // two projections, weight + bias each
  const auto b = tiny_batch();
  const auto out = student->run(b);
  const CtrDistillBatch db{&b, torch::arange(4), torch::ones({4}), &out};
  const auto loss = hint->loss(*teacher, *student, db);
  loss.backward();
  EXPECT_GT(loss.item<double>(), 0);
  // The loss reaches the student and the projections, never the frozen teacher.
  EXPECT_TRUE(
      student->named_parameters()["embedding.table.weight"].grad().abs().sum().item<double>() > 0);
  EXPECT_TRUE(hint->parameters()[0].grad().defined());
  for (const auto& p : teacher->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(CtrDistill, KdFromDeepTeacherHelpsSmallStudent) {
  const auto data = prepare_ctr_data(synthetic_spec());
  CtrModelPtr teacher;
  train(data, "deepfm:dim=16,hidden=64-32,dropout=0", 6, "", &teacher);
  const auto alone = train(data, "fm:dim=2", 6);
  torch::manual_seed(1);
  auto student = create_ctr_model(ModelSpec::parse("fm:dim=2"), data.encoder.layout());
  CtrTrainer trainer(data, student, quick_config(6));
  trainer.distill_from({teacher, parse_ctr_distillation_terms({"kd:alpha=0.9"})});
  const auto kd = trainer.fit("");
  EXPECT_GT(kd.test.auc, alone.test.auc + 0.002) << alone.test.auc << " -> " << kd.test.auc;
}

}  // namespace
}  // namespace recpress
