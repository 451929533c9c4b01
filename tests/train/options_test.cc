#include "train/options.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "test_util.h"
#include "train/ctr_trainer.h"
#include "train/seq_trainer.h"
#include "train/trainer.h"

namespace recpress {
namespace {

using testing::error_of;

TEST(TrainOptions, EachTaskHasItsDeclaredDefaults) {
  const TrainConfig topn;
  const CtrTrainConfig ctr;
  const SeqTrainConfig seq;
  EXPECT_EQ(topn.batch_size, 256);
  EXPECT_EQ(ctr.batch_size, 2048);
  EXPECT_EQ(seq.batch_size, 32);
  EXPECT_EQ(topn.epochs, 20);
  EXPECT_EQ(ctr.patience, 2);
  EXPECT_DOUBLE_EQ(seq.lr, 0.002);
  EXPECT_EQ(topn.loss, "bce");
  EXPECT_EQ(topn.negatives, 4);
  EXPECT_EQ(ctr.monitor, "auc");
  EXPECT_EQ(seq.protocol, "sampled:popularity:100");
  EXPECT_NO_THROW(topn.validate());
  EXPECT_NO_THROW(ctr.validate());
  EXPECT_NO_THROW(seq.validate());
  // Every declared option with a default for a task is one of its options.
  for (const auto& d : train_option_decls())
    EXPECT_EQ(ctr.uses(d.param.name), d.used_by(TrainTask::kCtr)) << d.param.name;
}

TEST(TrainOptions, SetParsesTypesBoundsAndSyntaxNamingTheOption) {
  TrainConfig c;
  c.set("batch_size", "1024");
  c.set("lr", "0.005");
  c.set("sampler", "popularity:0.75");
  EXPECT_EQ(c.batch_size, 1024);
  EXPECT_DOUBLE_EQ(c.lr, 0.005);
  EXPECT_EQ(c.sampler, "popularity:0.75");
  EXPECT_EQ(error_of([&] { c.set("lr", "0"); }), "lr must be > 0, got 0");
  EXPECT_EQ(error_of([&] { c.set("epochs", "two"); }), "epochs must be an integer, got 'two'");
  EXPECT_EQ(error_of([&] { c.set("patience", "-1"); }), "patience must be >= 0, got -1");
  EXPECT_EQ(error_of([&] { c.set("loss", "hinge"); }),
            "loss must be bce, bpr or multinomial, got 'hinge'");
  EXPECT_NE(error_of([&] { c.set("sampler", "zipf"); }).find("unknown sampler 'zipf'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { c.set("schedule", "step:2,0"); }).find("GAMMA"), std::string::npos);
  EXPECT_NE(error_of([&] { c.set("optimizer", "lion"); }).find("unknown optimizer"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { c.set("epochz", "3"); }), "epochz: not a training option");
  CtrTrainConfig ctr;
  EXPECT_EQ(error_of([&] { ctr.set("negatives", "4"); }),
            "negatives: not an option of CTR training");
  // A refused value leaves the option as it was.
  EXPECT_DOUBLE_EQ(c.lr, 0.005);
}

TEST(TrainOptions, ValidateChecksFieldsSetDirectlyAndAcrossOptions) {
  SeqTrainConfig seq;
  seq.monitor = "NDCG@20";
  EXPECT_NE(error_of([&] { seq.validate(); }).find("seq train: monitored metric 'NDCG@20'"),
            std::string::npos);
  CtrTrainConfig ctr;
  ctr.monitor = "NDCG@10";
  EXPECT_EQ(error_of([&] { ctr.validate(); }),
            "ctr train: monitor must be auc or logloss, got 'NDCG@10'");
  TrainConfig topn;
  topn.batch_size = 0;
  EXPECT_EQ(error_of([&] { topn.validate(); }), "train: batch_size must be >= 1, got 0");
}

TEST(TrainOptions, JsonHoldsExactlyTheTasksOptionsAndRoundTrips) {
  CtrTrainConfig ctr;
  ctr.lr = 0.003;
  ctr.epochs = 7;
  const nlohmann::json j = ctr.to_json();
  EXPECT_FALSE(j.contains("negatives"));
  EXPECT_FALSE(j.contains("protocol"));
  EXPECT_FALSE(j.contains("show_progress"));
  // What checkpoints written before the table held: the same keys.
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"batch_size", "epochs", "lr", "monitor", "optimizer",
                                            "patience", "schedule", "seed", "weight_decay"}));
  const CtrTrainConfig back = CtrTrainConfig::from_json(j);
  EXPECT_EQ(back.to_json(), j);
  // Keys absent from an older file keep their defaults.
  const TrainConfig partial = TrainConfig::from_json({{"epochs", 3}});
  EXPECT_EQ(partial.epochs, 3);
  EXPECT_EQ(partial.sampler, "uniform");
}

TEST(TrainOptions, ReferenceListsEveryOptionOnce) {
  const std::string ref = train_options_reference();
  for (const auto& d : train_option_decls()) {
    const std::string row = "| `" + d.param.name + "` |";
    const auto first = ref.find(row);
    EXPECT_NE(first, std::string::npos) << d.param.name;
    EXPECT_EQ(ref.find(row, first + 1), std::string::npos) << d.param.name;
  }
  EXPECT_NE(ref.find("topn `256` / ctr `2048` / seq `32`"), std::string::npos);
}

}  // namespace
}  // namespace recpress
