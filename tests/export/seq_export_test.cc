// Next-item export: the runtime's fp32 scores of SASRec and BERT4Rec equal LibTorch's (1e-5) for
// histories shorter than, as long as and longer than max_len, with several layers and heads;
// fp16 / int8 files stay close and keep the top of the ranking; a trained checkpoint exports;
// bad files, empty histories and unknown items are refused.
#include "export/seq_export.h"

#include "runtime/ctr_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "core/errors.h"
#include "data/synthetic.h"
#include "data/transforms.h"
#include "test_util.h"
#include "train/seq_trainer.h"

namespace recpress {
namespace {

using testing::expect_error_of;

SeqModelPtr random_model(const std::string& spec, std::int64_t items) {
  torch::manual_seed(5);
  auto m = create_seq_model(ModelSpec::parse(spec), items);
  m->eval();
  torch::NoGradGuard g;
  for (auto& p : m->named_parameters()) p.value().uniform_(-0.5, 0.5);
  if (m->items) m->items->weight[0].zero_();  // the padding token, as training keeps it
  return m;
}

std::vector<std::string> ids_of(std::int64_t n) {
  std::vector<std::string> ids;
  for (std::int64_t i = 0; i < n; ++i) ids.push_back("item" + std::to_string(i));
  return ids;
}

// A random history of `length` items: the runtime's fp32 scores of every item equal LibTorch's
// (1e-5, relative above 1) and are not all near zero.
void expect_fp32_scores_equal(SeqModel& model, const runtime::NextItemModel& m, std::size_t length,
                              std::mt19937& gen, const std::string& spec,
                              std::vector<std::uint32_t>& history) {
  const auto items = model.num_items();
  std::vector<std::int32_t> as_int;
  history.clear();
  for (std::size_t k = 0; k < length; ++k) {
    history.push_back(static_cast<std::uint32_t>(gen() % static_cast<std::uint32_t>(items)));
    as_int.push_back(static_cast<std::int32_t>(history.back()));
  }
  torch::NoGradGuard g;
  const auto expected = model.score_all_next(right_aligned_tokens({as_int}, model.max_len()))[0];
  std::vector<float> got(static_cast<std::size_t>(items));
  m.score_all(history, got.data());
  double max_abs = 0;
  for (std::int64_t i = 0; i < items; ++i) {
    const double want = expected[i].item<double>();
    ASSERT_NEAR(got[static_cast<std::size_t>(i)], want, 1e-5 * std::max(1.0, std::fabs(want)))
        << spec << " history " << length << " item " << i;
    max_abs = std::max(max_abs, std::fabs(want));
  }
  EXPECT_GT(max_abs, 0.1) << spec;  // not a comparison of zeros
}

TEST(SeqExport, RuntimeScoresEqualLibTorchForSasRecAndBert4Rec) {
  const std::int64_t items = 40;
  std::mt19937 gen(3);
  for (const std::string spec :
       {"sasrec:max_len=6,hidden=8,layers=2,heads=2", "sasrec:max_len=5,hidden=6,layers=1,heads=1",
        "bert4rec:max_len=6,hidden=8,layers=2,heads=2",
        "bert4rec:max_len=4,hidden=4,layers=1,heads=1"}) {
    const auto model = random_model(spec, items);
    const auto content = seq_export_content(*model, ids_of(items));
    const auto m = runtime::NextItemModel::from_bytes(
        runtime::encode_next_item_model(content, runtime::DType::kF32), spec);
    EXPECT_EQ(m.num_items(), 40u);
    EXPECT_EQ(m.item_id(3), "item3");
    EXPECT_EQ(m.parameter_count(), static_cast<std::uint64_t>(model->parameter_count()) -
                                       m.hidden() * (spec.starts_with("bert") ? 1 : 2))
        << spec;  // LibTorch also counts the padding token (and SASRec's unused [mask])
    for (const std::size_t length : {1, 3, 5, 6, 9}) {
      std::vector<std::uint32_t> history;
      expect_fp32_scores_equal(*model, m, length, gen, spec, history);
      // Quantised: close, and the best item is among the fp32 top 3.
      for (const auto dtype : {runtime::DType::kF16, runtime::DType::kI8}) {
        const auto q =
            runtime::NextItemModel::from_bytes(runtime::encode_next_item_model(content, dtype));
        const auto top = q.next(history, 1, false);
        const auto exact = m.next(history, 3, false);
        ASSERT_EQ(top.size(), 1u);
        bool found = false;
        for (const auto& [i, s] : exact) found = found || i == top[0].first;
        EXPECT_TRUE(found) << spec << " " << runtime::dtype_name(dtype);
        EXPECT_LT(q.file_bytes(), m.file_bytes());
      }
    }
    // Excluding the history removes exactly its items.
    const std::vector<std::uint32_t> history = {1, 2, 3};
    for (const auto& [i, s] : m.next(history, 40, true)) EXPECT_TRUE(i == 0 || i > 3) << i;
    EXPECT_EQ(m.next(history, 40, true).size(), 37u);
    expect_error_of<runtime::ModelError>([&] { m.next({}, 3, false); }, {"empty history"});
    const std::vector<std::uint32_t> outside = {40};
    expect_error_of<runtime::ModelError>([&] { m.next(outside, 3, false); }, {"out of range"});
  }
}

TEST(SeqExport, TensorTrainStudentsScoreAsLibTorchFromTheirCores) {
  const std::int64_t items = 40;
  std::mt19937 gen(4);
  for (const std::string spec : {"sasrec:max_len=6,hidden=8,layers=2,heads=2,tt_rank=4,stp=2",
                                 "bert4rec:max_len=6,hidden=8,layers=1,heads=2,tt_rank=4,stp=2",
                                 "sasrec:max_len=5,hidden=6,layers=1,heads=1,tt_rank=3"}) {
    const auto model = random_model(spec, items);
    ASSERT_TRUE(model->compressed_items());
    const auto content = seq_export_content(*model, ids_of(items));
    ASSERT_TRUE(content.tt_items.has_value());
    EXPECT_EQ(content.items.values.size(), 0u);  // the table is never written whole
    const auto bytes = runtime::encode_next_item_model(content, runtime::DType::kF32);
    const auto m = runtime::NextItemModel::from_bytes(bytes, spec);
    EXPECT_TRUE(m.compressed_items());
    EXPECT_EQ(m.parameter_count(), static_cast<std::uint64_t>(model->parameter_count())) << spec;
    // Smaller than the same architecture with a plain table.
    auto plain_spec = ModelSpec::parse(spec);
    plain_spec.params.erase("tt_rank");
    plain_spec.params.erase("stp");
    const auto plain = random_model(plain_spec.to_string(), items);
    EXPECT_LT(bytes.size(), runtime::encode_next_item_model(
                                seq_export_content(*plain, ids_of(items)), runtime::DType::kF32)
                                .size())
        << spec;
    for (const std::size_t length : {1, 4, 6, 9}) {
      std::vector<std::uint32_t> history;
      expect_fp32_scores_equal(*model, m, length, gen, spec, history);
      for (const auto dtype : {runtime::DType::kF16, runtime::DType::kI8}) {
        const auto q =
            runtime::NextItemModel::from_bytes(runtime::encode_next_item_model(content, dtype));
        EXPECT_EQ(q.dtype(), dtype);
        const auto top = q.next(history, 1, false);
        bool found = false;
        for (const auto& [i, s] : m.next(history, 3, false)) found = found || i == top.at(0).first;
        EXPECT_TRUE(found) << spec << " " << runtime::dtype_name(dtype);
      }
    }
  }
}

TEST(SeqExport, TrainedCheckpointExportsAndBadFilesAreRefused) {
  Dataset data =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=60,items=50,markov=0.7"));
  to_implicit(data, std::nullopt);
  const Split split = make_split(data, SplitConfig::parse("loo", 1));
  torch::manual_seed(2);
  auto model = create_seq_model(ModelSpec::parse("sasrec:max_len=8,hidden=8,layers=1,heads=1"),
                                data.num_items());
  SeqTrainConfig c;
  c.epochs = 1;
  c.show_progress = false;
  c.protocol = "sampled:uniform:20";
  const std::string dir = testing::scratch_dir("seq-export");
  SeqTrainer(data, split, model, c).fit(dir);
  const std::string file = dir + "/student.rpm";
  const std::size_t written = export_seq_model(dir + "/best.pt", file, runtime::DType::kI8);
  EXPECT_EQ(written, std::filesystem::file_size(file));
  const auto m = runtime::NextItemModel::open(file);
  EXPECT_EQ(m.num_items(), static_cast<std::uint32_t>(data.num_items()));
  EXPECT_EQ(m.item_id(7), data.items.raw(7));
  ASSERT_TRUE(m.item_index(data.items.raw(7)).has_value());
  EXPECT_EQ(*m.item_index(data.items.raw(7)), 7u);
  EXPECT_FALSE(m.item_index("no such item").has_value());
  EXPECT_EQ(runtime::model_file_task(file), "seq");
  expect_error_of<runtime::ModelError>([&] { runtime::Model::open(file); },
                                       {"student.rpm", "a next-item model", "recpress next"});
  expect_error_of<runtime::ModelError>([&] { runtime::CtrModel::open(file); },
                                       {"student.rpm", "a next-item model"});
  std::string bytes = runtime::encode_next_item_model(
      seq_export_content(*model, data.items.raw_ids()), runtime::DType::kF32);
  expect_error_of<runtime::ModelError>(
      [&] { runtime::NextItemModel::from_bytes(bytes.substr(0, bytes.size() - 9), "cut.rpm"); },
      {"cut.rpm", "truncated"});
  bytes[bytes.size() / 3] ^= 0x11;
  expect_error_of<runtime::ModelError>([&] { runtime::NextItemModel::from_bytes(bytes, "x.rpm"); },
                                       {"x.rpm", "checksum"});
}

// AdaRec's derived students: the runtime's cells (its own im2col convolutions, pooling, skip and
// zero edges over the real positions only) score as LibTorch's padded, masked tensors do.
TEST(SeqExport, AdaRecStudentsScoreAsLibTorch) {
  const std::int64_t items = 30;
  std::mt19937 gen(7);
  for (const std::string spec : {"adarec:max_len=6,hidden=8,layers=2,ops=c3-d5-max3/avg3-skip-c5",
                                 "adarec:max_len=5,hidden=4,layers=1,nodes=1,ops=d3",
                                 "adarec:max_len=7,hidden=6,layers=1,nodes=3,ops=zero-c5-skip-"
                                 "max3-d3-avg3"}) {
    const auto model = random_model(spec, items);
    const auto content = seq_export_content(*model, ids_of(items));
    const auto m = runtime::NextItemModel::from_bytes(
        runtime::encode_next_item_model(content, runtime::DType::kF32), spec);
    EXPECT_EQ(m.arch(), runtime::SeqArch::kAdaRec);
    EXPECT_EQ(m.parameter_count(),
              static_cast<std::uint64_t>(model->parameter_count()) - 2 * m.hidden())
        << spec;  // LibTorch also counts the padding token and the unused [mask]
    for (const std::size_t length : {1, 2, 4, 7, 10}) {
      std::vector<std::uint32_t> history;
      expect_fp32_scores_equal(*model, m, length, gen, spec, history);
      const auto q = runtime::NextItemModel::from_bytes(
          runtime::encode_next_item_model(content, runtime::DType::kI8));
      EXPECT_LT(q.file_bytes(), m.file_bytes());
    }
  }
  // The search space is not a student: export says to derive it first.
  const auto search = random_model("adarec:max_len=5,hidden=4,layers=1", items);
  testing::expect_error([&] { seq_export_content(*search, ids_of(items)); },
                        {"search space", "ops="});
}

}  // namespace
}  // namespace recpress
