// Offline distillation end to end: on synthetic data where a NeuMF teacher is far better than a
// tiny MF trained alone, `kd` must lift the same student (same seed, same epochs) by a clear
// margin.
#include <gtest/gtest.h>

#include <iostream>

#include "core/errors.h"
#include "data/synthetic.h"
#include "data/transforms.h"
#include "distill/distiller.h"
#include "train/trainer.h"

namespace recpress {
namespace {

TEST(OfflineDistillation, KdImprovesATinyStudent) {
  Dataset data = generate_synthetic(SyntheticConfig::parse(
      "synthetic:users=600,items=400,mean=25,min=10,clusters=32,dim=32,sharpness=4"));
  to_implicit(data, std::nullopt);
  const Split split = make_split(data, SplitConfig::parse("loo", 1));
  auto config = [](double lr, const std::string& loss) {
    TrainConfig c;
    c.epochs = 10;
    c.patience = 0;
    c.lr = lr;
    c.loss = loss;
    c.seed = 3;
    c.show_progress = false;
    return c;
  };
  torch::manual_seed(3);
  auto teacher =
      create_topn_model(ModelSpec::parse("neumf:dim=32"), data.num_users(), data.num_items());
  const auto t = Trainer(data, split, teacher, config(0.002, "bce")).fit("");

  auto student = [&](bool with_kd) {
    torch::manual_seed(3);
    auto s = create_topn_model(ModelSpec::parse("mf:dim=2"), data.num_users(), data.num_items());
    Trainer trainer(data, split, s, config(0.005, "bpr"));
    if (with_kd)
      trainer.distill_from(
          {teacher, {{create_distiller(ModelSpec::parse("kd:temperature=1")), 1.0}}});
    return trainer.fit("").test.metrics.at("NDCG@10");
  };
  const double alone = student(false), kd = student(true);
  const double teacher_ndcg = t.test.metrics.at("NDCG@10");
  std::cerr << "NDCG@10 teacher " << teacher_ndcg << ", student alone " << alone
            << ", student + kd " << kd << "\n";
  EXPECT_GT(teacher_ndcg, alone + 0.1);  // the setting has a real gap to close
  EXPECT_GT(kd, alone * 1.05);           // kd closes part of it (>= 5% relative)
}

TEST(OfflineDistillation, TeacherMustMatchTheStudentsCatalog) {
  const Dataset data =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=100,items=300,mean=10,min=5"));
  const Split split = make_split(data, SplitConfig::parse("loo", 1));
  auto s = create_topn_model(ModelSpec::parse("mf:dim=2"), data.num_users(), data.num_items());
  auto other =
      create_topn_model(ModelSpec::parse("mf:dim=8"), data.num_users(), data.num_items() + 1);
  TrainConfig c;
  Trainer trainer(data, split, s, c);
  EXPECT_THROW(trainer.distill_from({other, {{create_distiller(ModelSpec::parse("kd")), 1.0}}}),
               Error);
}

}  // namespace
}  // namespace recpress
