// The native NCF step against LibTorch's autograd path: for every model of the family, both
// losses and every optimiser it supports, the same batches give the same losses and, after
// several steps, the same parameters (to float rounding); Adam's state is LibTorch's own; the
// trainer's two engines train the same run.
#include "train/ncf_step.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

#include "core/errors.h"
#include "data/synthetic.h"
#include "data/transforms.h"
#include "distill/topn/distiller.h"
#include "test_util.h"
#include "train/lazy_adam.h"
#include "train/trainer.h"

namespace recpress {
namespace {
using testing::expect_error_of;

constexpr std::int64_t kUsers = 5, kItems = 7, kBatch = 9;  // repeated rows in every batch

TopNModelPtr make_model(const std::string& spec) {
  torch::manual_seed(3);
  auto m = create_topn_model(ModelSpec::parse(spec), kUsers, kItems);
  // Larger than the N(0, 0.01) initialisation, so that every term of the gradient matters.
  torch::NoGradGuard g;
  for (auto& p : m->parameters()) p.normal_(0, 0.5);
  return m;
}

void copy_parameters(TopNModel& from, TopNModel& to) {
  torch::NoGradGuard g;
  for (std::size_t k = 0; k < from.parameters().size(); ++k)
    to.parameters()[k].copy_(from.parameters()[k]);
}

struct Batch {
  std::vector<std::int64_t> users, items, negatives;
  std::vector<float> labels;
};

Batch make_batch(int seed) {
  Batch b;
  for (std::int64_t k = 0; k < kBatch; ++k) {
    b.users.push_back((k * 3 + seed) % kUsers);
    b.items.push_back((k * 5 + 2 * seed) % kItems);
    b.negatives.push_back((k * 2 + seed + 1) % kItems);
    b.labels.push_back(static_cast<float>((k + seed) % 3 == 0));
  }
  return b;
}

torch::Tensor longs(const std::vector<std::int64_t>& v) {
  return torch::tensor(v, torch::kLong);
}

struct Case {
  std::string model, loss, optimizer;
  double weight_decay;
};

class NcfStepTest : public ::testing::TestWithParam<Case> {};

TEST_P(NcfStepTest, EqualsTheAutogradStep) {
  const Case c = GetParam();
  const LossKind loss = parse_loss(c.loss);
  const OptimizerConfig oc{c.optimizer, 0.05, c.weight_decay, "constant"};
  auto reference = make_model(c.model), native = make_model(c.model);
  copy_parameters(*reference, *native);
  auto ref_opt = make_training_optimizer(oc, *reference, reference->parameters());
  auto nat_opt = make_training_optimizer(oc, *native, native->parameters());
  ASSERT_EQ(ncf_step_unsupported(*native, *nat_opt, c.optimizer), "");
  NcfStep step(*native, *nat_opt, oc, loss, kBatch);
  for (int s = 0; s < 4; ++s) {
    const Batch b = make_batch(s);
    const auto users = longs(b.users), items = longs(b.items);
    const torch::Tensor ref_loss =
        loss == LossKind::kBce
            ? pointwise_bce_loss(reference->forward(users, items), torch::tensor(b.labels))
            : bpr_loss(reference->forward(users, items),
                       reference->forward(users, longs(b.negatives)));
    ref_opt->zero_grad();
    ref_loss.backward();
    ref_opt->step();
    const double nat_loss =
        step.forward(b.users.data(), b.items.data(), b.negatives.data(), b.labels.data(), kBatch);
    EXPECT_NEAR(nat_loss, ref_loss.item<double>(), 1e-5) << "step " << s;
    step.update(0.05);
  }
  const auto names = reference->named_parameters();
  for (std::size_t k = 0; k < names.size(); ++k) {
    const auto diff = (names[k].value() - native->parameters()[k]).abs().max().item<double>();
    EXPECT_LT(diff, 1e-5) << names[k].key();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Family, NcfStepTest,
    ::testing::Values(Case{"mf:dim=4", "bpr", "lazyadam", 0}, Case{"mf:dim=4", "bce", "sgd", 0},
                      Case{"mf:dim=4", "bpr", "adam", 0.01}, Case{"gmf:dim=3", "bce", "adam", 0},
                      Case{"gmf:dim=3", "bpr", "sgd", 0.01},
                      Case{"mlp:dim=4,layers=2", "bce", "lazyadam", 0.01},
                      Case{"mlp:dim=4,layers=3", "bpr", "adam", 0},
                      Case{"neumf:dim=3,layers=2,mlp_dim=4", "bce", "adam", 0},
                      Case{"neumf:dim=3,layers=2,mlp_dim=4", "bce", "lazyadam", 0},
                      Case{"neumf:dim=3,layers=3,mlp_dim=4", "bpr", "sgd", 0.01},
                      Case{"neumf:dim=2,layers=1", "bce", "lazyadam", 0.01}),
    [](const auto& test) {
      std::string name = test.param.model.substr(0, test.param.model.find(':')) + "_" +
                         test.param.loss + "_" + test.param.optimizer;
      if (test.param.weight_decay > 0) name += "_wd";
      return name + "_" + std::to_string(test.index);
    });

TEST(NcfStep, AdamStateIsLibTorchsOwn) {
  // After native steps, a LibTorch step on the same optimiser finds the moments and step counts
  // the native one keeps (no second state per parameter), so checkpoints and resume see them.
  auto model = make_model("neumf:dim=3,layers=2,mlp_dim=4");
  const OptimizerConfig oc{"adam", 0.05, 0, "constant"};
  auto opt = make_training_optimizer(oc, *model, model->parameters());
  NcfStep step(*model, *opt, oc, LossKind::kBce, kBatch);
  const Batch b = make_batch(1);
  step.forward(b.users.data(), b.items.data(), nullptr, b.labels.data(), kBatch);
  step.update(0.05);
  ASSERT_EQ(opt->state().size(), model->parameters().size());
  opt->zero_grad();
  pointwise_bce_loss(model->forward(longs(b.users), longs(b.items)), torch::tensor(b.labels))
      .backward();
  opt->step();
  EXPECT_EQ(opt->state().size(), model->parameters().size());
  for (const auto& [key, state] : opt->state())
    EXPECT_EQ(static_cast<torch::optim::AdamParamState&>(*state).step(), 2) << key;
}

TEST(NcfStep, RefusesWhatItCannotTrain) {
  auto seq_like = make_model("mf:dim=4");
  const OptimizerConfig adagrad{"adagrad", 0.05, 0, "constant"};
  auto opt = make_training_optimizer(adagrad, *seq_like, seq_like->parameters());
  EXPECT_NE(ncf_step_unsupported(*seq_like, *opt, "adagrad").find("adagrad"), std::string::npos);
  expect_error_of<Error>([&] { NcfStep(*seq_like, *opt, adagrad, LossKind::kBce, 8); },
                         {"optimizer 'adagrad'"});
  // A model tensor the optimiser does not train; a tensor the model does not own (a distiller's
  // projection, stepped by LibTorch) is fine.
  const OptimizerConfig adam{"adam", 0.05, 0, "constant"};
  auto params = seq_like->parameters();
  params.push_back(torch::zeros({2, 2}, torch::requires_grad()));
  auto extra = make_optimizer(adam, params);
  EXPECT_EQ(ncf_step_unsupported(*seq_like, *extra, "adam"), "");
  auto partial = make_optimizer(adam, {seq_like->parameters()[0]});
  EXPECT_NE(ncf_step_unsupported(*seq_like, *partial, "adam").find("every model parameter"),
            std::string::npos);
  auto ok = make_training_optimizer(adam, *seq_like, seq_like->parameters());
  NcfStep step(*seq_like, *ok, adam, LossKind::kBpr, 4);
  const Batch b = make_batch(0);
  expect_error_of<Error>(
      [&] { step.forward(b.users.data(), b.items.data(), b.negatives.data(), nullptr, 5); },
      {"batch of 5 outside 1..4"});
  // A distillation term's rows and representations: ids are checked, and a gradient may name
  // rows beyond the batch's.
  step.forward(b.users.data(), b.items.data(), b.negatives.data(), nullptr, 4);
  const std::vector<std::int64_t> bad = {kUsers};
  float score = 0;
  expect_error_of<Error>([&] { step.add_rows(bad.data(), b.items.data(), 1, &score, true); },
                         {"id 5 outside 0..4"});
  std::vector<float> rep(4 * kItems);
  expect_error_of<Error>(
      [&] { step.entity("item", std::vector<std::int64_t>{kItems}.data(), 1, rep.data()); },
      {"id 7 outside 0..6"});
  // A step sized for one triple (2 rows) taking gradients for all 7 items: every item moves.
  NcfStep tiny(*seq_like, *ok, adam, LossKind::kBpr, 1);
  tiny.forward(b.users.data(), b.items.data(), b.negatives.data(), nullptr, 1);
  std::vector<std::int64_t> every_item(kItems);
  std::iota(every_item.begin(), every_item.end(), 0);
  const std::vector<float> grad(static_cast<std::size_t>(kItems * 4), 0.1f);
  const auto before = seq_like->parameters()[1].clone();
  tiny.add_entity_gradient("item", every_item.data(), kItems, grad.data());
  tiny.update(0.05);
  EXPECT_TRUE(((seq_like->parameters()[1] - before).abs().sum(1) > 0).all().item<bool>());
}

Dataset implicit_data(const std::string& spec) {
  Dataset data = generate_synthetic(SyntheticConfig::parse(spec));
  to_implicit(data, std::nullopt);
  return data;
}

// Two epochs of lazy Adam at batch `batch`, quietly.
TrainConfig two_epochs(std::int64_t batch) {
  TrainConfig c;
  c.epochs = 2;
  c.patience = 0;
  c.batch_size = batch;
  c.show_progress = false;
  c.optimizer = "lazyadam";
  return c;
}

TEST(NcfStep, TrainerEnginesTrainTheSameRun) {
  const Dataset data = implicit_data("synthetic:users=120,items=200,mean=15,min=6");
  const Split split = make_split(data, SplitConfig::parse("loo", 1));
  TrainConfig c = two_epochs(128);
  c.lr = 0.005;
  std::vector<TrainResult> runs;
  for (const char* engine : {"torch", "native"}) {
    c.engine = engine;
    torch::manual_seed(c.seed);
    auto model = create_topn_model(ModelSpec::parse("neumf:dim=8,layers=2"), data.num_users(),
                                   data.num_items());
    runs.push_back(Trainer(data, split, model, c).fit(""));
    EXPECT_EQ(runs.back().engine, engine);
  }
  ASSERT_EQ(runs[0].history.size(), runs[1].history.size());
  for (std::size_t e = 0; e < runs[0].history.size(); ++e)
    EXPECT_NEAR(runs[0].history[e].at("loss").get<double>(),
                runs[1].history[e].at("loss").get<double>(), 1e-5);
  for (const auto& [name, value] : runs[0].test.metrics)
    EXPECT_NEAR(value, runs[1].test.metrics.at(name), 1e-4) << name;
  // A method that reads a hidden layer needs autograd: engine native says so rather than
  // silently falling back.
  c.engine = "native";
  auto student =
      create_topn_model(ModelSpec::parse("gmf:dim=4"), data.num_users(), data.num_items());
  Trainer distilled(data, split, student, c);
  distilled.distill_from(
      {create_topn_model(ModelSpec::parse("gmf:dim=8"), data.num_users(), data.num_items()),
       parse_distillation_terms({"hint:layer=interaction"}), false});
  expect_error_of<Error>([&] { distilled.fit(""); },
                         {"engine native: method 'hint' reads a layer of the student"});
}

TEST(NcfStep, DistillationTrainsTheSameRunNatively) {
  // kd, rd, cd, rrd read the student only through DistillBatch::score, de, htd, rkd and an
  // embedding hint through DistillBatch::entity: the native step answers both from its own rows
  // and takes their gradients from the term's loss (a term's own parameters step in LibTorch).
  const Dataset data = implicit_data("synthetic:users=80,items=250,mean=12,min=6");
  const Split split = make_split(data, SplitConfig::parse("loo", 1));
  torch::manual_seed(11);
  auto teacher = create_topn_model(ModelSpec::parse("neumf:dim=8,layers=2"), data.num_users(),
                                   data.num_items());
  {
    torch::NoGradGuard g;
    for (auto& p : teacher->parameters()) p.normal_(0, 0.3);
  }
  TrainConfig c = two_epochs(64);
  c.loss = "bpr";
  c.negatives = 1;
  for (const char* method :
       {"kd:candidates=8", "rd:k=5,samples=10", "cd:samples=4,pool=20",
        "rrd:interesting=3,uninteresting=6,pool=20", "kd+rrd:pool=20", "de", "htd", "rkd",
        "hint:layer=item", "derrd:rrd.pool=20", "unkd:pool=20,groups=2"}) {
    std::vector<TrainResult> runs;
    for (const char* engine : {"torch", "native"}) {
      c.engine = engine;
      torch::manual_seed(c.seed);
      auto student = create_topn_model(ModelSpec::parse("neumf:dim=4,layers=1"), data.num_users(),
                                       data.num_items());
      Trainer t(data, split, student, c);
      t.distill_from({teacher, parse_distillation_terms({method}), false});
      runs.push_back(t.fit(""));
      EXPECT_EQ(runs.back().engine, engine);
    }
    for (std::size_t e = 0; e < runs[0].history.size(); ++e)
      EXPECT_NEAR(runs[0].history[e].at("loss").get<double>(),
                  runs[1].history[e].at("loss").get<double>(), 1e-4)
          << method << " epoch " << e + 1;
    for (const auto& [name, value] : runs[0].test.metrics)
      EXPECT_NEAR(value, runs[1].test.metrics.at(name), 1e-3) << method << " " << name;
  }
}

// A term that only records which users and items each batch shows it (its loss is 0).
struct BatchRecorder : Distiller {
  std::string name() const override { return "recorder"; }
  bool student_through_batch() const override { return true; }
  torch::Tensor loss(TopNModel&, TopNModel& student, const DistillBatch& batch) override {
    users.push_back(batch.users.clone());
    items.push_back(batch.items.clone());
    progress.push_back(batch.progress);
    return torch::zeros({});
  }
  std::vector<torch::Tensor> users, items;
  std::vector<double> progress;
};

// distill_share: each batch's terms see that share of its distinct users and items (sorted,
// distinct, a subset of what share 1 shows), under either engine.
TEST(NcfStep, DistillShareShowsTheTermsAShareOfEachBatch) {
  const Dataset data = implicit_data("synthetic:users=80,items=250,mean=12,min=6");
  const Split split = make_split(data, SplitConfig::parse("loo", 1));
  auto teacher =
      create_topn_model(ModelSpec::parse("mf:dim=8"), data.num_users(), data.num_items());
  TrainConfig c = two_epochs(64);
  c.loss = "bpr";
  for (const char* engine : {"torch", "native"}) {
    c.engine = engine;
    std::vector<std::shared_ptr<BatchRecorder>> seen;
    for (const double share : {1.0, 0.3}) {
      c.distill_share = share;
      torch::manual_seed(c.seed);
      auto student =
          create_topn_model(ModelSpec::parse("mf:dim=4"), data.num_users(), data.num_items());
      Trainer t(data, split, student, c);
      seen.push_back(std::make_shared<BatchRecorder>());
      t.distill_from({teacher, {{seen.back(), 1.0}}, false});
      t.fit("");
    }
    const auto& all = *seen[0];
    const auto& part = *seen[1];
    ASSERT_EQ(all.users.size(), part.users.size()) << engine;
    ASSERT_GT(all.users.size(), 4u);
    for (std::size_t b = 0; b < all.users.size(); ++b) {
      for (const auto& [whole, share] :
           {std::pair{all.users[b], part.users[b]}, {all.items[b], part.items[b]}}) {
        const auto n = whole.size(0);
        EXPECT_EQ(share.size(0), std::clamp<std::int64_t>(std::llround(0.3 * n), 1, n));
        EXPECT_TRUE(torch::equal(std::get<0>(torch::_unique(whole, true)), whole));  // distinct
        EXPECT_TRUE(torch::equal(std::get<0>(torch::_unique(share, true)), share));  // sorted
        EXPECT_TRUE(torch::isin(share, whole).all().item<bool>()) << engine << " batch " << b;
      }
    }
  }
}

// anneal_epochs: the schedules' progress runs over that many epochs, then stays at 1; at 0 it runs
// over the epoch cap (never reaching 1), as before the option existed.
TEST(NcfStep, AnnealEpochsIsTheSchedulesHorizon) {
  const Dataset data = implicit_data("synthetic:users=80,items=250,mean=12,min=6");
  const Split split = make_split(data, SplitConfig::parse("loo", 1));
  auto teacher =
      create_topn_model(ModelSpec::parse("mf:dim=8"), data.num_users(), data.num_items());
  TrainConfig c = two_epochs(64);
  c.epochs = 4;
  c.loss = "bpr";
  for (const char* engine : {"torch", "native"}) {
    c.engine = engine;
    std::vector<std::vector<double>> seen;
    for (const int horizon : {0, 2}) {
      c.anneal_epochs = horizon;
      auto student =
          create_topn_model(ModelSpec::parse("mf:dim=4"), data.num_users(), data.num_items());
      Trainer t(data, split, student, c);
      auto recorder = std::make_shared<BatchRecorder>();
      t.distill_from({teacher, {{recorder, 1.0}}, false});
      t.fit("");
      seen.push_back(recorder->progress);
    }
    const auto& over_cap = seen[0];
    const auto& over_two = seen[1];
    ASSERT_EQ(over_cap.size(), over_two.size());
    ASSERT_EQ(over_cap.size() % 4, 0u) << "the same number of batches in each of the 4 epochs";
    const std::size_t per_epoch = over_cap.size() / 4;
    ASSERT_GT(per_epoch, 1u);
    for (std::size_t b = 0; b < over_cap.size(); ++b) {
      EXPECT_NEAR(over_two[b], std::min(1.0, 2 * over_cap[b]), 1e-12) << engine << " batch " << b;
      if (b > 0) {
        EXPECT_GT(over_cap[b], over_cap[b - 1]);
      }
    }
    EXPECT_EQ(over_cap.front(), 0.0);
    EXPECT_LT(over_cap.back(), 1.0);
    EXPECT_NEAR(over_cap[per_epoch], 0.25, 1e-12) << "epoch 2 starts a quarter of the way";
    EXPECT_EQ(over_two[2 * per_epoch], 1.0) << "epoch 3 starts past the horizon";
    EXPECT_EQ(over_two.back(), 1.0);
  }
}

}  // namespace
}  // namespace recpress
