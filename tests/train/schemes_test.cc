// Teacher wiring shared by the CLI and the runner: teacher sources (weights, ensembles, untrained
// peers), NeuMF pre-training from the wrong kinds, born-again generations, CTR ensembles of
// teachers trained on other rows.
#include "train/schemes.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "data/synthetic.h"
#include "distill/topn/ensemble.h"
#include "test_util.h"

namespace recpress {
namespace {

TrainConfig tiny_config() {
  TrainConfig c;
  c.loss = "bpr";
  c.epochs = 1;
  c.lr = 0.01;
  c.protocol = "sampled:uniform:20";
  c.show_progress = false;
  return c;
}

// A trained top-N checkpoint of `spec` on `data`: its best.pt.
std::string trained(const Dataset& data, const Split& split, const std::string& spec,
                    const std::string& name) {
  const auto dir = testing::scratch_dir(name);
  auto model = create_topn_model(ModelSpec::parse(spec), data.num_users(), data.num_items());
  Trainer(data, split, model, tiny_config()).fit(dir);
  return dir + "/best.pt";
}

using testing::error_of;

TEST(Schemes, TopNTeachersWeightsEnsemblesAndPeers) {
  const Dataset data =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=40,items=50,mean=8,min=4"));
  const Split split = make_split(data, SplitConfig::parse("loo", 1));
  const auto mf = trained(data, split, "mf:dim=4", "schemes_mf");
  const auto gmf = trained(data, split, "gmf:dim=4", "schemes_gmf");
  EXPECT_EQ(load_topn_teachers({mf}, false, data)->spec().name, "mf");
  const auto both = load_topn_teachers({mf + "@0.7", gmf + "@0.3"}, false, data);
  ASSERT_NE(dynamic_cast<EnsembleTeacherImpl*>(both.get()), nullptr);
  EXPECT_EQ(dynamic_cast<EnsembleTeacherImpl&>(*both).members().size(), 2u);
  EXPECT_NE(error_of([&] {
              load_topn_teachers({mf + "@0.7", gmf}, false, data);
            }).find("every teacher or to none"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { load_topn_teachers({mf + "@heavy"}, false, data); }).find("must be a number"),
      std::string::npos);
  EXPECT_NE(
      error_of([&] { load_topn_teachers({"new:mf:dim=4"}, false, data); }).find("--scheme online"),
      std::string::npos);
  EXPECT_EQ(load_topn_teachers({"new:mf:dim=4"}, true, data)->spec().name, "mf");
  // NeuMF pre-training needs a NeuMF model, then a GMF and an MLP checkpoint in that order.
  auto neumf =
      create_topn_model(ModelSpec::parse("neumf:dim=4"), data.num_users(), data.num_items());
  auto plain = create_topn_model(ModelSpec::parse("mf:dim=4"), data.num_users(), data.num_items());
  EXPECT_NE(error_of([&] { pretrain_neumf(*plain, gmf + "," + mf, 0.5, data); }).find("neumf only"),
            std::string::npos);
  EXPECT_NE(error_of([&] { pretrain_neumf(*neumf, gmf, 0.5, data); }).find("GMF.pt,MLP.pt"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              pretrain_neumf(*neumf, mf + "," + mf, 0.5, data);
            }).find("is not a GMF model"),
            std::string::npos);
  // Born-again: generations of the teacher's architecture, each trained from the previous.
  const auto gens = train_born_again(data, split, load_topn_teachers({mf}, false, data),
                                     tiny_config(), {"kd"}, 2, "", 1);
  ASSERT_EQ(gens.size(), 2u);
  EXPECT_EQ(gens[1].generation, 2);
  EXPECT_FALSE(gens[1].result.test.metrics.empty());
  EXPECT_NE(error_of([&] {
              train_born_again(data, split, load_topn_teachers({mf}, false, data), tiny_config(),
                               {"kd"}, 0, "", 1);
            }).find("generations must be >= 1"),
            std::string::npos);
}

TEST(Schemes, CtrTeachersMustShareTheirRows) {
  CtrDataSpec spec;
  spec.data = "synthetic:users=100,items=40";
  CtrTrainConfig c;
  c.epochs = 1;
  c.show_progress = false;
  auto train_on = [&](std::uint64_t split_seed, const std::string& name) {
    CtrDataSpec s = spec;
    s.split_seed = split_seed;
    const CtrData data = prepare_ctr_data(s);
    const auto dir = testing::scratch_dir(name);
    CtrTrainer(data, create_ctr_model(ModelSpec::parse("lr"), data.encoder.layout()), c).fit(dir);
    return dir + "/best.pt";
  };
  const auto a = train_on(1, "schemes_ctr_a"), b = train_on(1, "schemes_ctr_b");
  const auto other = train_on(2, "schemes_ctr_other");
  const CtrTeachers t = load_ctr_teachers({a, b});
  EXPECT_EQ(t.checkpoints.size(), 2u);
  EXPECT_NE(dynamic_cast<CtrEnsembleImpl*>(t.model.get()), nullptr);
  EXPECT_NE(error_of([&] {
              load_ctr_teachers({a, other});
            }).find("an ensemble needs the same"),
            std::string::npos);
}

}  // namespace
}  // namespace recpress
