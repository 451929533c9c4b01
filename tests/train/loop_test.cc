// The shared training loop: a run killed mid-epoch and resumed from last.pt ends exactly where an
// uninterrupted one does (the loop itself, CTR with dropout; next-item in seq_test.cc), a resume
// with other options is refused naming them, a diverging loss stops every task with
// TrainingDiverged, SIGINT stops with the resume command, the optimiser factory and schedules are
// validated.
#include "train/loop.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <csignal>

#include <filesystem>

#include <ATen/autocast_mode.h>

#include "core/atomic_file.h"
#include "data/synthetic.h"
#include "data/transforms.h"
#include "distill/ctr/distiller.h"
#include "distill/seq/distiller.h"
#include "distill/topn/distiller.h"
#include "sys/launch.h"
#include "test_util.h"
#include "train/checkpoint.h"
#include "train/ctr_trainer.h"
#include "train/seq_trainer.h"
#include "train/trainer.h"

namespace recpress {
namespace {

using testing::expect_error;

// The smallest task: least squares on a fixed random problem, with dropout so LibTorch's
// generator matters, batches drawn from the epoch's Rng, and a kill switch.
class ToyTask : public TrainingTask {
 public:
  ToyTask() : net_(torch::nn::Linear(8, 1)) {
    torch::manual_seed(5);
    x_ = torch::randn({256, 8});
    y_ = x_.matmul(torch::randn({8, 1})) + 0.1 * torch::randn({256, 1});
    torch::manual_seed(11);
    net_ = torch::nn::Linear(8, 1);
  }
  torch::nn::Module& model() override { return *net_; }
  std::vector<torch::Tensor> trainable() override { return net_->parameters(); }
  void train_epoch(Rng& rng, BatchStep& step) override {
    for (int b = 0; b < 8; ++b) {
      ++batches_seen;
      if (step.epoch() == kill_epoch && b == kill_batch) throw std::runtime_error("killed");
      if (step.epoch() == interrupt_epoch && b == kill_batch) std::raise(SIGINT);
      std::vector<std::int64_t> rows(32);
      for (auto& r : rows) r = rng.below(256);
      const auto idx = torch::tensor(rows);
      const auto pred = net_(torch::dropout(x_.index_select(0, idx), 0.2, true));
      step(scale * torch::mse_loss(pred, y_.index_select(0, idx)), 32, (b + 1) * 32, 256);
    }
  }
  Validation validate() override {
    torch::NoGradGuard guard;
    const double mse = torch::mse_loss(net_(x_), y_).item<double>();
    return {-mse, {{"mse", mse}}, "mse " + std::to_string(mse)};
  }
  nlohmann::json identity() const override { return {{"task", "toy"}, {"model", "linear"}}; }
  void write_best(const std::string& path, const nlohmann::json& state) override {
    Checkpoint c;
    c.header = identity();
    c.header["state"] = state;
    write_checkpoint(path, c);
  }
  std::vector<float> weights() const {
    auto w = net_->weight.detach().contiguous();
    return {w.data_ptr<float>(), w.data_ptr<float>() + w.numel()};
  }
  int kill_epoch = -1, interrupt_epoch = -1, kill_batch = 3;
  double scale = 1.0;
  int batches_seen = 0;

 private:
  torch::nn::Linear net_;
  torch::Tensor x_, y_;
};

LoopConfig toy_config(int epochs) {
  LoopConfig c;
  c.epochs = epochs;
  c.patience = 0;
  c.seed = 9;
  c.show_progress = false;
  c.optimizer.lr = 0.05;
  c.options = {{"lr", 0.05}, {"epochs", epochs}};
  return c;
}

TEST(TrainingLoop, KilledMidEpochResumesToTheUninterruptedNumbers) {
  const auto dir_a = testing::scratch_dir("loop_a"), dir_b = testing::scratch_dir("loop_b");
  ToyTask full;
  const auto a = TrainingLoop(full, toy_config(5)).run(dir_a);

  ToyTask killed;
  killed.kill_epoch = 4;  // dies in the middle of epoch 4: last.pt holds epoch 3
  EXPECT_THROW(TrainingLoop(killed, toy_config(5)).run(dir_b), std::runtime_error);
  EXPECT_EQ(read_checkpoint(dir_b + "/last.pt").header["state"]["epoch"], 3);
  ToyTask resumed;
  const auto b = TrainingLoop(resumed, toy_config(5)).run(dir_b, dir_b + "/last.pt");
  EXPECT_EQ(b.epochs_run, 2);
  ASSERT_EQ(b.history.size(), 5u);
  EXPECT_EQ(b.history[4]["loss"], a.history[4]["loss"]);
  EXPECT_EQ(b.history[4]["valid"], a.history[4]["valid"]);
  EXPECT_EQ(b.best_epoch, a.best_epoch);
  EXPECT_EQ(resumed.weights(), full.weights());  // the best epoch's parameters, bit for bit
}

TEST(TrainingLoop, ResumeWithOtherOptionsIsRefusedNamingThem) {
  const auto dir = testing::scratch_dir("loop_opts");
  ToyTask first;
  TrainingLoop(first, toy_config(2)).run(dir);
  ToyTask again;
  auto changed = toy_config(4);
  changed.options["lr"] = 0.5;
  expect_error([&] { TrainingLoop(again, changed).run(dir, dir + "/last.pt"); },
               {"last.pt", "lr 0.05 -> 0.5", "only --epochs and --patience may change"});
  // best.pt is not resumable.
  expect_error([&] { TrainingLoop(again, toy_config(4)).run(dir, dir + "/best.pt"); },
               {"not a resumable checkpoint"});
}

TEST(TrainingLoop, AnExplodingLossStopsKeepingTheLastGoodEpoch) {
  const auto dir = testing::scratch_dir("loop_diverge");
  ToyTask task;
  // Epochs 1-2 are fine; in epoch 3 the loss jumps by 1e9 (as a learning rate far too high does).
  struct Exploding : ToyTask {
    void train_epoch(Rng& rng, BatchStep& step) override {
      scale = step.epoch() >= 3 ? 1e9 : 1.0;
      ToyTask::train_epoch(rng, step);
    }
  } exploding;
  try {
    TrainingLoop(exploding, toy_config(5)).run(dir);
    FAIL() << "no divergence reported";
  } catch (const TrainingDiverged& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("diverged at epoch 3, batch 1"), std::string::npos) << what;
    EXPECT_NE(what.find("lower the learning rate"), std::string::npos) << what;
    EXPECT_NE(what.find("hold epoch 2"), std::string::npos) << what;
  }
  EXPECT_EQ(read_checkpoint(dir + "/last.pt").header["state"]["epoch"], 2);
  // NaN stops too.
  struct Nan : ToyTask {
    void train_epoch(Rng& rng, BatchStep& step) override {
      scale = std::nan("");
      ToyTask::train_epoch(rng, step);
    }
  } nan;
  expect_error([&] { TrainingLoop(nan, toy_config(2)).run(""); }, {"loss nan"});
}

TEST(TrainingLoop, SigintStopsAtTheNextBatchAndSaysHowToResume) {
  const auto dir = testing::scratch_dir("loop_sigint");
  stop_training_on_interrupt();
  ToyTask task;
  task.interrupt_epoch = 2;
  try {
    TrainingLoop(task, toy_config(5)).run(dir);
    FAIL() << "not interrupted";
  } catch (const TrainingInterrupted& e) {
    EXPECT_NE(std::string(e.what()).find("--resume " + dir + "/last.pt"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("holds epoch 1"), std::string::npos) << e.what();
  }
  std::signal(SIGINT, SIG_DFL);
  EXPECT_EQ(task.batches_seen, 8 + 4);  // stopped right after the batch that raised it
}

TEST(TrainingLoop, OptimizersAndSchedulesAreValidated) {
  OptimizerConfig c;
  for (const char* name : {"adam", "lazyadam", "sgd", "adagrad"}) {
    c.optimizer = name;
    EXPECT_NO_THROW(validate_optimizer(c));
  }
  c.optimizer = "lion";
  expect_error([&] { validate_optimizer(c, "ctr train"); }, {"ctr train", "unknown optimizer"});
  c.optimizer = "adam";
  c.schedule = "step:1,-1";
  expect_error([&] { validate_optimizer(c); }, {"GAMMA must be in (0, 1]"});
  c.schedule = "step:0,0.5";
  expect_error([&] { validate_optimizer(c); }, {"EVERY must be a positive"});
  c.schedule = "warmup";
  expect_error([&] { validate_optimizer(c); }, {"unknown schedule"});
  c.schedule = "constant";
  c.lr = -1;
  expect_error([&] { validate_optimizer(c); }, {"learning rate"});
  c.lr = 0.1;
  c.schedule = "step:2,0.5";
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 1, 10), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 3, 10), 0.05);
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 5, 10), 0.025);
  c.schedule = "cosine";
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 1, 4), 0.1);
  EXPECT_NEAR(scheduled_lr(c, 3, 4), 0.05, 1e-12);
}

// ---------------------------------------------------------------- every task on the loop

CtrTrainConfig ctr_config(int epochs) {
  CtrTrainConfig c;
  c.epochs = epochs;
  c.lr = 0.01;
  c.patience = 0;
  c.show_progress = false;
  return c;
}

CtrTrainResult ctr_run(const CtrData& data, const CtrTrainConfig& c, const std::string& dir,
                       const std::string& resume = "") {
  torch::manual_seed(1);
  auto model = create_ctr_model(ModelSpec::parse("deepfm:dim=4,hidden=16-8,dropout=0.3"),
                                data.encoder.layout());
  return CtrTrainer(data, model, c).fit(dir, resume);
}

TEST(TrainingLoop, CtrResumesExactly) {
  CtrDataSpec spec;
  spec.data = "synthetic:users=300,items=120";
  const auto data = prepare_ctr_data(spec);
  const auto dir_a = testing::scratch_dir("ctr_loop_a"), dir_b = testing::scratch_dir("ctr_loop_b");
  const auto full = ctr_run(data, ctr_config(4), dir_a);
  ctr_run(data, ctr_config(2), dir_b);
  EXPECT_TRUE(std::filesystem::exists(dir_b + "/last.pt"));
  const auto resumed = ctr_run(data, ctr_config(4), dir_b, dir_b + "/last.pt");
  ASSERT_EQ(resumed.history.size(), 4u);
  EXPECT_EQ(resumed.history[3]["loss"], full.history[3]["loss"]);
  EXPECT_EQ(resumed.test.auc, full.test.auc);
  EXPECT_EQ(resumed.best_epoch, full.best_epoch);
  // Lazy Adam and a schedule work for CTR too, and resume exactly.
  auto lazy4 = ctr_config(4), lazy2 = ctr_config(2);
  lazy4.optimizer = lazy2.optimizer = "lazyadam";
  lazy4.schedule = lazy2.schedule = "step:1,0.5";
  const auto dir_c = testing::scratch_dir("ctr_loop_c"), dir_d = testing::scratch_dir("ctr_loop_d");
  const auto lazy_full = ctr_run(data, lazy4, dir_c);
  ctr_run(data, lazy2, dir_d);
  const auto lazy_resumed = ctr_run(data, lazy4, dir_d, dir_d + "/last.pt");
  EXPECT_EQ(lazy_resumed.history[3]["loss"], lazy_full.history[3]["loss"]);
  EXPECT_EQ(lazy_resumed.test.auc, lazy_full.test.auc);
  EXPECT_DOUBLE_EQ(lazy_full.history[3]["lr"].get<double>(), 0.01 / 8);
  // Divergence.
  auto wild = ctr_config(2);
  wild.lr = 1e9;
  EXPECT_THROW(ctr_run(data, wild, ""), TrainingDiverged);
}

TEST(TrainingLoop, CtrRefusesOneClassData) {
  CtrDataSpec spec;
  spec.data = "synthetic:users=100,items=50";
  spec.threshold = 9;  // no rating reaches 9: no positives
  const auto data = prepare_ctr_data(spec);
  torch::manual_seed(1);
  auto model = create_ctr_model(ModelSpec::parse("lr"), data.encoder.layout());
  expect_error([&] { CtrTrainer(data, model, ctr_config(1)); },
               {"all negative", "AUC is undefined", "--threshold"});
}

// Next-item resume and divergence: tests/models/seq_test.cc (SeqTraining).

// Synthetic ratings read as implicit feedback.
Dataset implicit_data(const std::string& spec) {
  Dataset d = generate_synthetic(SyntheticConfig::parse(spec));
  to_implicit(d, std::nullopt);
  return d;
}

TEST(TrainingLoop, TopNDivergenceIsAnErrorNotALoss) {
  const Dataset d = implicit_data("synthetic:users=100,items=300,mean=10");
  const Split split = make_split(d, SplitConfig::parse("loo", 1));
  TrainConfig c;
  c.epochs = 2;
  c.lr = 1e9;
  c.show_progress = false;
  torch::manual_seed(1);
  auto model = create_topn_model(ModelSpec::parse("mf:dim=8"), d.num_users(), d.num_items());
  expect_error([&] { Trainer(d, split, model, c).fit(""); }, {"training diverged", "lr"});
}

TEST(OutputFolders, RefusedWhenTheyHoldAnInputOrCannotBeWritten) {
  const auto dir = testing::scratch_dir("out_dirs");
  const auto teacher = testing::write_text(dir, "best.pt", "x");
  expect_error([&] { prepare_output_dir(dir, {teacher}); }, {"holds the input", "best.pt"});
  expect_error([&] { prepare_output_dir(dir + "/./", {teacher}); }, {"holds the input"});
  EXPECT_NO_THROW(prepare_output_dir(dir + "/student/a", {teacher}));
  EXPECT_FALSE(std::filesystem::exists(dir + "/student"));  // checked, not created
  std::filesystem::create_directories(dir + "/student");
  if (::geteuid() != 0) {  // root writes anywhere
    std::filesystem::permissions(
        dir + "/student", std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    expect_error([&] { prepare_output_dir(dir + "/student"); }, {"cannot write"});
  }
  expect_error([&] { prepare_output_dir("/proc/recpress-out"); }, {"/proc/recpress-out"});
  expect_error([&] { prepare_output_dir(teacher + "/sub"); }, {"is not a folder"});
}

// ---------------------------------------------------------------- precision: bf16

// The last epoch's mean training loss of a run.
double last_loss(const nlohmann::json& history) {
  return history.back().at("loss").get<double>();
}

// `precision: bf16` trains every task (alone and distilling) under LibTorch's CPU autocast: the
// losses stay finite and close to fp32's from the same seed but are not identical (the products
// were rounded to bfloat16), the thread leaves autocast afterwards, and the option enters a
// run's identity only when not fp32. A CPU without fast bf16 refuses it with the reason.
TEST(TrainingLoop, Bf16PrecisionTrainsEveryTaskNearFp32OrIsRefused) {
  CtrTrainConfig fp32 = ctr_config(2);
  EXPECT_FALSE(fp32.to_json().contains("precision"));  // runs before the option keep their hash
  if (!cpu_has_fast_bf16()) {
    expect_error([&] { fp32.set("precision", "bf16"); }, {"precision", "AVX512-BF16", "doctor"});
    return;
  }
  CtrTrainConfig bf16 = fp32;
  bf16.set("precision", "bf16");
  EXPECT_EQ(bf16.to_json().at("precision"), "bf16");
  const auto near = [](double a, double b) { return std::abs(a - b) <= 0.05 * std::abs(b); };

  CtrDataSpec spec;
  spec.data = "synthetic:users=300,items=120";
  const auto data = prepare_ctr_data(spec);
  const auto ctr_fp32 = ctr_run(data, fp32, ""), ctr_bf16 = ctr_run(data, bf16, "");
  EXPECT_TRUE(near(last_loss(ctr_bf16.history), last_loss(ctr_fp32.history)));
  EXPECT_NE(last_loss(ctr_bf16.history), last_loss(ctr_fp32.history));
  EXPECT_NEAR(ctr_bf16.test.auc, ctr_fp32.test.auc, 0.02);
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  {  // a CTR student distilling from a teacher (kd)
    torch::manual_seed(2);
    auto student = create_ctr_model(ModelSpec::parse("fm:dim=4"), data.encoder.layout());
    auto teacher =
        create_ctr_model(ModelSpec::parse("deepfm:dim=4,hidden=16-8"), data.encoder.layout());
    CtrTrainer t(data, student, bf16);
    t.distill_from({teacher, {{create_ctr_distiller(ModelSpec::parse("kd")), 1.0}}});
    EXPECT_TRUE(std::isfinite(last_loss(t.fit("").history)));
  }

  const Dataset seq = implicit_data("synthetic:users=200,items=300,markov=0.7");
  const Split seq_split = make_split(seq, SplitConfig::parse("loo", 1));
  SeqTrainConfig seq_fp32;
  seq_fp32.epochs = 2;
  seq_fp32.patience = 0;
  seq_fp32.batch_size = 64;
  seq_fp32.protocol = "sampled:uniform:50";
  seq_fp32.metrics = "ndcg@10";
  seq_fp32.show_progress = false;
  SeqTrainConfig seq_bf16 = seq_fp32;
  seq_bf16.set("precision", "bf16");
  const auto seq_run = [&](const SeqTrainConfig& c, bool distill) {
    torch::manual_seed(3);
    const auto spec_text = "sasrec:loss=ce,max_len=20,hidden=32,layers=1,heads=2";
    auto model = create_seq_model(ModelSpec::parse(spec_text), seq.num_items());
    SeqTrainer t(seq, seq_split, model, c);
    if (distill)
      t.distill_from({create_seq_model(ModelSpec::parse(spec_text), seq.num_items()),
                      {{create_seq_distiller(ModelSpec::parse("kd")), 1.0}}});
    return last_loss(t.fit("").history);
  };
  const double seq_loss_fp32 = seq_run(seq_fp32, false), seq_loss_bf16 = seq_run(seq_bf16, false);
  EXPECT_TRUE(near(seq_loss_bf16, seq_loss_fp32)) << seq_loss_bf16 << " vs " << seq_loss_fp32;
  EXPECT_NE(seq_loss_bf16, seq_loss_fp32);
  EXPECT_TRUE(std::isfinite(seq_run(seq_bf16, true)));

  const Dataset topn = implicit_data("synthetic:users=200,items=300");
  const Split topn_split = make_split(topn, SplitConfig::parse("loo", 1));
  TrainConfig topn_fp32;
  topn_fp32.epochs = 2;
  topn_fp32.patience = 0;
  topn_fp32.show_progress = false;
  TrainConfig topn_bf16 = topn_fp32;
  topn_bf16.set("precision", "bf16");
  const auto topn_run = [&](const TrainConfig& c, bool distill, bool online = false) {
    torch::manual_seed(4);
    auto model = create_topn_model(ModelSpec::parse("neumf:dim=8,mlp_dim=16"), topn.num_users(),
                                   topn.num_items());
    Trainer t(topn, topn_split, model, c);
    if (distill)
      t.distill_from({create_topn_model(ModelSpec::parse("neumf:dim=8,mlp_dim=16"),
                                        topn.num_users(), topn.num_items()),
                      {{create_distiller(ModelSpec::parse("kd")), 1.0}},
                      online});
    return t.fit("");
  };
  const auto topn_a = topn_run(topn_fp32, false), topn_b = topn_run(topn_bf16, false);
  EXPECT_EQ(topn_a.engine, "native");
  EXPECT_EQ(topn_b.engine, "torch");  // the native step is fp32 only: auto trains through autograd
  EXPECT_TRUE(near(last_loss(topn_b.history), last_loss(topn_a.history)));
  EXPECT_TRUE(std::isfinite(last_loss(topn_run(topn_bf16, true).history)));
  // Online distillation: the teacher's own update also runs outside autocast.
  EXPECT_TRUE(std::isfinite(last_loss(topn_run(topn_bf16, true, true).history)));
  topn_bf16.set("engine", "native");
  expect_error([&] { topn_run(topn_bf16, false); }, {"engine native", "fp32", "precision bf16"});
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
}

}  // namespace
}  // namespace recpress
