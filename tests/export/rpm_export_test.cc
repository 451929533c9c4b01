// Export: the runtime's scores of an exported MF / GMF / MLP / NeuMF / LightGCN / CDAE / Mult-VAE
// equal LibTorch's (in eval mode); quantised files stay close; broken checkpoints and checkpoints
// of other data are refused.
#include "export/rpm_export.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "data/synthetic.h"
#include "test_util.h"
#include "train/trainer.h"

namespace recpress {
namespace {

std::string train_checkpoint(const Dataset& data, const std::string& spec, const std::string& dir) {
  const Split split = make_split(data, SplitConfig::parse("loo", 1));
  torch::manual_seed(1);
  auto model = create_topn_model(ModelSpec::parse(spec), data.num_users(), data.num_items());
  TrainConfig c;
  c.epochs = 2;
  c.protocol = "full";
  c.show_progress = false;
  Trainer(data, split, model, c).fit(dir);
  return dir + "/best.pt";
}

TEST(Export, RuntimeScoresEqualLibTorchScores) {
  const Dataset data =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=60,items=80,mean=10,min=5"));
  const std::string dir = testing::scratch_dir("export");
  for (const std::string spec :
       {"mf:dim=6", "gmf:dim=5", "mlp:dim=6", "neumf:dim=4,layers=2", "lightgcn:dim=6,layers=2",
        "cdae:dim=5", "multvae:dim=3,hidden=6", "ecae:dim=3"}) {
    const std::string ck = train_checkpoint(data, spec, dir + "/" + spec.substr(0, 3));
    const auto model = load_topn_checkpoint(ck, &data);
    model->eval();
    torch::NoGradGuard guard;
    const auto expected = model->score_all(torch::arange(data.num_users(), torch::kLong));
    for (const auto dtype : {runtime::DType::kF32, runtime::DType::kF16, runtime::DType::kI8}) {
      const std::string path = dir + "/" + spec.substr(0, 3) + "-" + runtime::dtype_name(dtype);
      ExportOptions options;
      options.dtype = dtype;
      options.seen_from = &data;
      export_model(ck, path, options);
      const auto m = runtime::Model::open(path);
      ASSERT_EQ(m.num_users(), static_cast<std::uint32_t>(data.num_users()));
      EXPECT_EQ(m.user_id(3), data.users.raw(3));
      EXPECT_EQ(m.has_tower(), spec.starts_with("mlp") || spec.starts_with("neumf")) << spec;
      EXPECT_EQ(m.parameter_count() > 0, true);
      std::vector<float> s(m.num_items());
      // Quantisation error grows with the scores' scale (a tower's are larger than a dot's).
      const double scale = std::max(1.0, expected.abs().max().item<double>());
      const double tolerance = dtype == runtime::DType::kF32   ? 1e-5 * scale
                               : dtype == runtime::DType::kF16 ? 2e-3 * scale
                                                               : 1e-2 * scale;
      for (std::uint32_t u = 0; u < m.num_users(); ++u) {
        m.score_all(u, s.data());
        for (std::uint32_t i = 0; i < m.num_items(); ++i)
          ASSERT_NEAR(s[i], expected[u][i].item<float>(), tolerance)
              << spec << " " << u << " " << i;
      }
      // Seen items are the user's interactions.
      const auto top = m.recommend(0, m.num_items(), true);
      EXPECT_LT(top.size(), static_cast<std::size_t>(m.num_items()));
    }
  }
}

TEST(Export, RefusesBrokenCheckpointsAndOtherData) {
  const Dataset data =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=40,items=50,mean=8,min=4"));
  const std::string dir = testing::scratch_dir("export-bad");
  EXPECT_THROW(export_model(dir + "/missing.pt", dir + "/n.rpm", {}), Error);
  const std::string mf = train_checkpoint(data, "mf:dim=4", dir + "/mf");
  const Dataset other =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=41,items=50,mean=8,min=4"));
  ExportOptions options;
  options.seen_from = &other;
  EXPECT_THROW(export_model(mf, dir + "/m.rpm", options), Error);
}

}  // namespace
}  // namespace recpress
