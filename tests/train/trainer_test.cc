// The trainer: every model clearly beats the popularity baseline on a small synthetic dataset,
// same seed gives the same numbers, a resumed run ends exactly where an uninterrupted one does, and
// bad checkpoints are refused with clear errors.
#include "train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "data/synthetic.h"
#include "data/transforms.h"
#include "distill/topn/distiller.h"
#include "eval/popularity.h"
#include "models/topn/scorer.h"
#include "test_util.h"

namespace recpress {
namespace {

class TrainerTest : public ::testing::Test {
 protected:
  TrainerTest()
      : data_(make_data("synthetic:users=300,items=250,mean=25,min=8")),
        split_(make_split(data_, SplitConfig::parse("loo", 1))) {}
  static Dataset make_data(const std::string& spec) {
    Dataset d = generate_synthetic(SyntheticConfig::parse(spec));
    to_implicit(d, std::nullopt);
    return d;
  }
  TrainConfig config(int epochs) {
    TrainConfig c;
    c.epochs = epochs;
    c.patience = 0;
    c.lr = 0.005;
    c.batch_size = 256;
    c.show_progress = false;
    c.seed = 7;
    return c;
  }
  TrainResult train(const std::string& spec, const TrainConfig& c, const std::string& dir = "",
                    const std::string& resume = "") {
    torch::manual_seed(c.seed);
    auto model = create_topn_model(ModelSpec::parse(spec), data_.num_users(), data_.num_items());
    Trainer t(data_, split_, model, c);
    return t.fit(dir, resume);
  }
  Dataset data_;
  Split split_;
};

TEST_F(TrainerTest, EveryModelBeatsPopularity) {
  const PopularityScorer pop(split_.train, data_.num_items());
  const double pop_ndcg =
      Evaluator(data_, split_, EvalTarget::kTest, Protocol::parse("sampled:uniform:99"),
                parse_metrics("ndcg@10"), 7)
          .evaluate(pop)
          .metrics.at("NDCG@10");
  for (const std::string spec :
       {"mf:dim=16", "gmf:dim=16", "mlp:dim=16", "neumf:dim=16", "neumf:dim=16,lazy"}) {
    TrainConfig c = config(8);
    if (spec == "neumf:dim=16,lazy") c.optimizer = "lazyadam";
    if (spec == "mf:dim=16") c.loss = "bpr";
    const auto r = train(spec.substr(0, spec.find(",lazy")), c);
    const double ndcg = r.test.metrics.at("NDCG@10");
    std::cerr << spec << ": NDCG@10 " << ndcg << " vs popularity " << pop_ndcg << "\n";
    EXPECT_GT(ndcg, pop_ndcg + 0.05) << spec;
  }
}

TEST_F(TrainerTest, SameSeedSameNumbers) {
  const auto a = train("neumf:dim=8", config(2));
  const auto b = train("neumf:dim=8", config(2));
  EXPECT_EQ(a.history[1]["loss"], b.history[1]["loss"]);
  EXPECT_EQ(a.test.metrics, b.test.metrics);
  TrainConfig other = config(2);
  other.seed = 8;
  EXPECT_NE(train("neumf:dim=8", other).history[1]["loss"], a.history[1]["loss"]);
}

TEST_F(TrainerTest, ResumeEndsWhereAnUninterruptedRunEnds) {
  const auto dir_a = testing::scratch_dir("train_a"), dir_b = testing::scratch_dir("train_b");
  const auto full = train("gmf:dim=8", config(4), dir_a);
  train("gmf:dim=8", config(2), dir_b);
  const auto resumed = train("gmf:dim=8", config(4), dir_b, dir_b + "/last.pt");
  EXPECT_EQ(resumed.history.size(), 4u);
  EXPECT_EQ(resumed.history[3]["loss"], full.history[3]["loss"]);
  EXPECT_EQ(resumed.test.metrics, full.test.metrics);
  EXPECT_EQ(resumed.best_epoch, full.best_epoch);
  // The best checkpoint reloads to the same test numbers.
  auto best = load_topn_checkpoint(dir_a + "/best.pt", &data_);
  const auto again =
      Evaluator(data_, split_, EvalTarget::kTest, Protocol::parse("sampled:uniform:99"),
                parse_metrics(config(1).metrics), 7)
          .evaluate(TopNScorer(best));
  EXPECT_EQ(again.metrics, full.test.metrics);
}

TEST_F(TrainerTest, ResumeWithLazyAdamIsExactToo) {
  const auto dir_a = testing::scratch_dir("lazy_a"), dir_b = testing::scratch_dir("lazy_b");
  TrainConfig c4 = config(4), c2 = config(2);
  c4.optimizer = c2.optimizer = "lazyadam";
  const auto full = train("neumf:dim=8", c4, dir_a);
  train("neumf:dim=8", c2, dir_b);
  const auto resumed = train("neumf:dim=8", c4, dir_b, dir_b + "/last.pt");
  EXPECT_EQ(resumed.history[3]["loss"], full.history[3]["loss"]);
  EXPECT_EQ(resumed.test.metrics, full.test.metrics);
}

// The autoencoders under their papers' losses: CDAE (and ECAE, built on it) with the logistic
// loss over sampled negatives, Mult-VAE with the multinomial likelihood over batches of users (and
// its KL annealing, whose update count is checkpointed: a resumed run ends exactly where an
// uninterrupted one does).
TEST_F(TrainerTest, AutoencodersBeatPopularityAndResumeExactly) {
  const PopularityScorer pop(split_.train, data_.num_items());
  const double pop_ndcg =
      Evaluator(data_, split_, EvalTarget::kTest, Protocol::parse("sampled:uniform:99"),
                parse_metrics("ndcg@10"), 7)
          .evaluate(pop)
          .metrics.at("NDCG@10");
  TrainConfig cdae = config(8);
  TrainConfig vae = config(8);
  vae.loss = "multinomial";
  vae.batch_size = 16;
  for (const auto& [spec, c] :
       {std::pair{std::string("cdae:dim=16"), cdae}, std::pair{std::string("ecae:dim=16"), cdae},
        std::pair{std::string("multvae:dim=16,hidden=32"), vae}}) {
    const auto r = train(spec, c);
    const double ndcg = r.test.metrics.at("NDCG@10");
    std::cerr << spec << ": NDCG@10 " << ndcg << " vs popularity " << pop_ndcg << "\n";
    EXPECT_GT(ndcg, pop_ndcg + 0.05) << spec;
    EXPECT_EQ(r.engine, "torch");
  }
  const std::string spec = "multvae:dim=8,hidden=16,anneal_steps=30";
  const auto dir_a = testing::scratch_dir("vae_a"), dir_b = testing::scratch_dir("vae_b");
  TrainConfig c4 = vae, c2 = vae;
  c4.epochs = 4, c2.epochs = 2;
  const auto full = train(spec, c4, dir_a);
  train(spec, c2, dir_b);
  const auto resumed = train(spec, c4, dir_b, dir_b + "/last.pt");
  EXPECT_EQ(resumed.history[3]["loss"], full.history[3]["loss"]);
  EXPECT_EQ(resumed.test.metrics, full.test.metrics);
}

// Methods with state of their own resume exactly: DE's experts and hint's regressor (trainable
// tensors besides the model), bd's teacher, which trains too, and adversarial's discriminator with
// its optimiser (TrainingTask::save_extra). Before, a resumed DE run restarted its experts.
TEST_F(TrainerTest, DistillationStateResumesExactly) {
  const auto distill = [&](const std::string& method, int epochs, const std::string& dir,
                           const std::string& resume) {
    torch::manual_seed(3);
    auto teacher =
        create_topn_model(ModelSpec::parse("mf:dim=16"), data_.num_users(), data_.num_items());
    {
      torch::NoGradGuard guard;
      for (auto& p : teacher->parameters()) p.normal_(0, 0.5);
    }
    TrainConfig c = config(epochs);
    c.loss = "bpr";
    c.anneal_epochs = 4;  // DE's temperature schedule: the same horizon for both caps
    torch::manual_seed(c.seed);
    auto student =
        create_topn_model(ModelSpec::parse("mf:dim=4"), data_.num_users(), data_.num_items());
    Trainer t(data_, split_, student, c);
    t.distill_from({teacher, parse_distillation_terms({method}), false});
    return t.fit(dir, resume);
  };
  for (const std::string method :
       {"de", "hint", "bd:samples=4", "adversarial:top=5,random=5,d_steps=2"}) {
    const auto dir_a = testing::scratch_dir("state_a"), dir_b = testing::scratch_dir("state_b");
    const auto full = distill(method, 4, dir_a, "");
    distill(method, 2, dir_b, "");
    const auto resumed = distill(method, 4, dir_b, dir_b + "/last.pt");
    for (const auto& h : full.history)
      EXPECT_TRUE(std::isfinite(h["loss"].get<double>())) << method;
    EXPECT_EQ(resumed.history[3]["loss"], full.history[3]["loss"]) << method;
    EXPECT_EQ(resumed.test.metrics, full.test.metrics) << method;
    // Reproducible: the same seed, the same run.
    EXPECT_EQ(distill(method, 4, "", "").history[3]["loss"], full.history[3]["loss"]) << method;
  }
}

// An online teacher (bd, --scheme online) stops on its own: validated after every epoch, it goes
// back to its best state the first time it does not improve and learns no more, so it never ends
// worse on validation than it started (before, a converged teacher trained on only overfitted).
TEST_F(TrainerTest, AnOnlineTeacherNeverEndsWorseThanItStarted) {
  TrainConfig tc = config(8);
  tc.loss = "bpr";
  torch::manual_seed(tc.seed);
  auto teacher =
      create_topn_model(ModelSpec::parse("mf:dim=16"), data_.num_users(), data_.num_items());
  Trainer(data_, split_, teacher, tc).fit("");  // converged enough: it holds its best epoch
  const Evaluator valid(data_, split_, EvalTarget::kValid, Protocol::parse(tc.protocol),
                        parse_metrics(tc.metrics), tc.seed);
  const auto score = [&] {
    teacher->eval();
    return valid.evaluate(TopNScorer(teacher)).metrics.at(tc.monitor);
  };
  const double before = score();
  for (const std::string method : {"bd", "bd:teacher_weight=0"}) {
    TrainConfig c = config(6);
    c.loss = "bpr";
    auto student =
        create_topn_model(ModelSpec::parse("mf:dim=4"), data_.num_users(), data_.num_items());
    Trainer t(data_, split_, student, c);
    t.distill_from({teacher, parse_distillation_terms({method}), false});
    t.fit("");
    EXPECT_GE(score(), before) << method;
  }
}

TEST_F(TrainerTest, BadCheckpointsAreRefused) {
  const auto dir = testing::scratch_dir("train_bad");
  train("mf:dim=4", config(1), dir);
  const std::string good = read_file(dir + "/best.pt");
  write_file_atomic(dir + "/truncated.pt", good.substr(0, good.size() / 2));
  EXPECT_THROW(load_topn_checkpoint(dir + "/truncated.pt", &data_), DataError);
  std::string flipped = good;
  flipped[flipped.size() - 100] ^= 1;
  write_file_atomic(dir + "/flipped.pt", flipped);
  EXPECT_THROW(load_topn_checkpoint(dir + "/flipped.pt", &data_), DataError);
  write_file_atomic(dir + "/text.pt", "hello");
  EXPECT_THROW(load_topn_checkpoint(dir + "/text.pt", &data_), DataError);
  const Dataset other = make_data("synthetic:users=300,items=250,mean=25,min=8,seed=5");
  try {
    load_topn_checkpoint(dir + "/best.pt", &other);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("not on this data"), std::string::npos) << e.what();
  }
  // Resuming another model's run is refused too.
  torch::manual_seed(1);
  auto gmf = create_topn_model(ModelSpec::parse("gmf:dim=4"), data_.num_users(), data_.num_items());
  EXPECT_THROW(Trainer(data_, split_, gmf, config(2)).fit("", dir + "/last.pt"), DataError);
}

TEST_F(TrainerTest, ConfigValidation) {
  auto model =
      create_topn_model(ModelSpec::parse("mf:dim=4"), data_.num_users(), data_.num_items());
  auto bad = [&](auto edit) {
    TrainConfig c = config(1);
    edit(c);
    EXPECT_THROW(Trainer(data_, split_, model, c), Error);
  };
  bad([](TrainConfig& c) { c.loss = "hinge"; });
  bad([](TrainConfig& c) { c.optimizer = "lion"; });
  bad([](TrainConfig& c) { c.lr = 0; });
  bad([](TrainConfig& c) { c.monitor = "AUC@10"; });
  bad([](TrainConfig& c) { c.schedule = "linear"; });
  bad([](TrainConfig& c) { c.negatives = 0; });
  auto wrong =
      create_topn_model(ModelSpec::parse("mf:dim=4"), data_.num_users() + 1, data_.num_items());
  EXPECT_THROW(Trainer(data_, split_, wrong, config(1)), Error);
}

}  // namespace
}  // namespace recpress
