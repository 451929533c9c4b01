// CTR export: for every CTR model kind, the runtime's fp32 logits equal LibTorch's on rows of
// every field kind (categorical, multi-hot with padding, a cross, bucketized and dense numerics);
// raw request values encode as the training table's rows do; fp16 / int8 files stay close; bad
// files and bad ids are refused with clear errors.
#include "export/ctr_export.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/errors.h"
#include "distill/ctr/distiller.h"
#include "test_util.h"
#include "train/ctr_trainer.h"

namespace recpress {
namespace {

using testing::expect_error;
using testing::expect_error_of;

// color (categorical), tags (multi-hot, 0-3 tokens), price (numeric, sometimes missing), size
// (numeric), 300 random rows.
CtrTable tiny_table() {
  CtrTable t;
  t.name = "tiny";
  t.fields.resize(4);
  t.fields[0].name = "color";
  t.fields[1].name = "tags";
  t.fields[1].kind = CtrFieldKind::kMulti;
  t.fields[2].name = "price";
  t.fields[2].kind = CtrFieldKind::kNumeric;
  t.fields[3].name = "size";
  t.fields[3].kind = CtrFieldKind::kNumeric;
  const std::vector<std::string> colors = {"red", "green", "blue", "black", "white"};
  const std::vector<std::string> tags = {"a", "b", "c", "d"};
  std::mt19937 rng(7);
  for (int r = 0; r < 300; ++r) {
    t.fields[0].add_token(colors[rng() % colors.size()]);
    std::vector<std::string_view> row;
    for (std::size_t k = rng() % 4; k > 0; --k) row.push_back(tags[rng() % tags.size()]);
    t.fields[1].add_tokens(row);
    t.fields[2].add_number(rng() % 7 == 0 ? std::nan("") : static_cast<double>(rng() % 100) / 3);
    t.fields[3].add_number(static_cast<double>(rng() % 50));
    t.labels.push_back(static_cast<float>(rng() % 2));
  }
  return t;
}

std::vector<std::int64_t> all_rows(const CtrTable& t) {
  std::vector<std::int64_t> r(t.rows());
  for (std::size_t i = 0; i < r.size(); ++i) r[i] = static_cast<std::int64_t>(i);
  return r;
}

CtrModelPtr random_model(const std::string& spec, const CtrLayout& layout) {
  torch::manual_seed(3);
  auto m = create_ctr_model(ModelSpec::parse(spec), layout);
  m->eval();
  torch::NoGradGuard g;
  for (auto& p : m->named_parameters()) {
    p.value().uniform_(-0.5, 0.5);
    if (p.key().find("table") != std::string::npos ||
        p.key().find("weights.weight") != std::string::npos)
      p.value()[p.value().size(0) - 1].zero_();  // the padding row, as training keeps it
  }
  return m;
}

const std::vector<std::string> kModels = {"lr", "fm:dim=3", "wide_deep:dim=3,hidden=6-4",
                                          "deepfm:dim=4,hidden=8-5,dropout=0",
                                          "dnn:dim=3,hidden=7"};

TEST(CtrExport, RuntimeLogitsEqualLibTorchForEveryModelAndFeatureKind) {
  const CtrTable table = tiny_table();
  for (const std::string numeric : {"log", "bucket:5"}) {
    CtrEncoderConfig config;
    config.min_count = 3;  // some values go to OOV
    config.numeric = numeric;
    config.crosses = {{"color", "tags"}};
    const CtrEncoder encoder = CtrEncoder::fit(table, all_rows(table), config);
    const CtrRows rows = encoder.encode(table, all_rows(table));
    for (const auto& spec : kModels) {
      const auto model = random_model(spec, encoder.layout());
      const auto expected = ctr_predict_logits(*model, rows);
      const auto content = ctr_export_content(*model, encoder);
      const auto m = runtime::CtrModel::from_bytes(
          runtime::encode_ctr_model(content, runtime::DType::kF32), spec);
      ASSERT_EQ(m.features().slots(), static_cast<std::uint32_t>(rows.slots));
      std::vector<float> got(static_cast<std::size_t>(rows.rows));
      m.logits(rows.ids.data(), rows.values.data(), got.size(), got.data());
      double max_abs = 0;
      for (std::size_t r = 0; r < got.size(); ++r) {
        const double want = expected[static_cast<std::int64_t>(r)].item<double>();
        // 1e-5 relative to the logit (and absolute near 0, where relative error is meaningless).
        ASSERT_NEAR(got[r], want, 1e-5 * std::max(1.0, std::fabs(want)))
            << spec << " " << numeric << " row " << r;
        max_abs = std::max(max_abs, std::fabs(want));
      }
      EXPECT_GT(max_abs, 0.1) << spec;  // the comparison is not of zeros
      EXPECT_EQ(m.has_fm(), spec.starts_with("fm") || spec.starts_with("deepfm")) << spec;
      EXPECT_EQ(m.has_deep(), spec.find("hidden") != std::string::npos) << spec;
      EXPECT_EQ(m.has_linear(), !spec.starts_with("dnn")) << spec;
      EXPECT_EQ(m.parameter_count(), static_cast<std::uint64_t>(model->parameter_count()) -
                                         (m.has_linear() ? 1 : 0) - m.dim() * (m.dim() > 0))
          << spec;  // LibTorch also counts the padding rows
      // Quantised files: close, not equal.
      for (const auto dtype : {runtime::DType::kF16, runtime::DType::kI8}) {
        const auto q = runtime::CtrModel::from_bytes(runtime::encode_ctr_model(content, dtype));
        EXPECT_EQ(q.dtype(), spec == "lr" ? runtime::DType::kF16 : dtype) << spec;
        std::vector<float> approx(got.size());
        q.logits(rows.ids.data(), rows.values.data(), got.size(), approx.data());
        for (std::size_t r = 0; r < got.size(); ++r)
          ASSERT_NEAR(approx[r], got[r],
                      (dtype == runtime::DType::kF16 ? 5e-3 : 4e-2) *
                          std::max(1.0, std::fabs(double{got[r]})))
              << spec << " " << runtime::dtype_name(dtype) << " row " << r;
        EXPECT_LT(q.file_bytes(), m.file_bytes()) << spec;
      }
    }
  }
}

TEST(CtrExport, RawRequestValuesEncodeAsTheTrainingRows) {
  const CtrTable table = tiny_table();
  CtrEncoderConfig config;
  config.min_count = 1;
  config.numeric = "bucket:4";
  config.crosses = {{"color", "tags"}};
  const CtrEncoder encoder = CtrEncoder::fit(table, all_rows(table), config);
  const auto model = random_model("deepfm:dim=3,hidden=4,dropout=0", encoder.layout());
  const auto m = runtime::CtrModel::from_bytes(
      runtime::encode_ctr_model(ctr_export_content(*model, encoder), runtime::DType::kF32));
  const auto& inputs = m.features().inputs();
  ASSERT_EQ(inputs.size(), 4u);
  // Row 0 of the table, rebuilt as a request would carry it: price and size as text and numbers.
  const CtrRows rows = encoder.encode(table, {0});
  std::vector<std::string_view> tags;
  const auto& t = table.fields[1];
  for (auto k = t.offsets[0]; k < t.offsets[1]; ++k) tags.push_back(t.tokens.raw(t.codes[k]));
  std::vector<runtime::RawValue> row(4);
  const std::string price = std::isnan(table.fields[2].numbers[0])
                                ? std::string()
                                : std::to_string(table.fields[2].numbers[0]);
  row[m.features().input_index("color")] =
      runtime::RawValue::of_text(table.fields[0].tokens.raw(table.fields[0].codes[0]));
  row[m.features().input_index("tags")] = runtime::RawValue::of_texts(tags);
  row[m.features().input_index("price")] =
      price.empty() ? runtime::RawValue::missing() : runtime::RawValue::of_text(price);
  row[m.features().input_index("size")] = runtime::RawValue::of_number(table.fields[3].numbers[0]);
  std::vector<std::int32_t> ids(m.features().slots());
  std::vector<float> values(1);
  m.features().encode(row, ids.data(), values.data());
  EXPECT_EQ(ids, rows.ids);
  float p = 0;
  m.predict(rows.ids.data(), rows.values.data(), 1, &p);
  EXPECT_FLOAT_EQ(m.predict(row), p);
  // An unseen value is OOV (local id 0), a number for a categorical field is its token.
  row[m.features().input_index("color")] = runtime::RawValue::of_text("purple");
  m.features().encode(row, ids.data(), values.data());
  EXPECT_EQ(ids[0], 0);
  row[m.features().input_index("color")] = runtime::RawValue::of_number(42);
  m.features().encode(row, ids.data(), values.data());
  EXPECT_EQ(ids[0], 0);  // "42" is no color either, but it is no error
  // Wrong types name the field.
  row[m.features().input_index("size")] = runtime::RawValue::of_text("large");
  try {
    m.predict(row);
    ADD_FAILURE() << "text for a numeric field was accepted";
  } catch (const runtime::FeatureError& e) {
    EXPECT_NE(std::string(e.what()).find("field 'size'"), std::string::npos) << e.what();
  }
  row[m.features().input_index("size")] = runtime::RawValue::of_number(3);
  const std::vector<std::string_view> two = {"red", "blue"};
  row[m.features().input_index("color")] = runtime::RawValue::of_texts(two);
  EXPECT_THROW(m.predict(row), runtime::FeatureError);
}

TEST(CtrExport, TrainedCheckpointExportsAndBadFilesAreRefused) {
  CtrDataSpec spec;
  spec.data = "synthetic:users=200,items=60";
  const CtrData data = prepare_ctr_data(spec);
  torch::manual_seed(1);
  auto model =
      create_ctr_model(ModelSpec::parse("deepfm:dim=4,hidden=8,dropout=0"), data.encoder.layout());
  CtrTrainConfig c;
  c.epochs = 1;
  c.show_progress = false;
  const std::string dir = testing::scratch_dir("ctr-export");
  CtrTrainer(data, model, c).fit(dir);
  const std::string file = dir + "/student.rpm";
  const std::size_t bytes = export_ctr_model(dir + "/best.pt", file, runtime::DType::kF32);
  const auto m = runtime::CtrModel::open(file);
  EXPECT_EQ(m.file_bytes(), bytes);
  EXPECT_EQ(m.source_model(), "deepfm:dim=4,dropout=0,hidden=8");
  EXPECT_NE(m.metadata().find("data_checksum"), std::string::npos);
  EXPECT_EQ(runtime::model_file_task(file), "ctr");
  const auto loaded = load_ctr_checkpoint(dir + "/best.pt");
  const auto expected = ctr_predict_logits(*loaded.model, data.test);
  std::vector<float> got(static_cast<std::size_t>(data.test.rows));
  m.logits(data.test.ids.data(), data.test.values.data(), got.size(), got.data());
  for (std::size_t r = 0; r < got.size(); r += 7)
    ASSERT_NEAR(got[r], expected[static_cast<std::int64_t>(r)].item<double>(),
                1e-5 * std::max(1.0, std::fabs(double{got[r]})));

  // A CTR file is no top-N model and the other way round; ids out of range are refused.
  expect_error_of<runtime::ModelError>([&] { runtime::Model::open(file); },
                                       {"student.rpm", "CTR model", "predict"});
  std::vector<std::int32_t> ids(data.test.ids.begin(), data.test.ids.begin() + data.test.slots);
  ids[0] = static_cast<std::int32_t>(m.features().vocab_size()) + 5;
  float out = 0;
  expect_error_of<runtime::ModelError>(
      [&] { m.logits(ids.data(), data.test.values.data(), 1, &out); }, {"row 0", "field 'user'"});
  // Truncated and bit-flipped files name the file.
  std::string raw =
      runtime::encode_ctr_model(ctr_export_content(*model, data.encoder), runtime::DType::kI8);
  expect_error_of<runtime::ModelError>(
      [&] { runtime::CtrModel::from_bytes(raw.substr(0, raw.size() / 2), "cut.rpm"); },
      {"cut.rpm", "truncated"});
  raw[raw.size() / 2] ^= 0x20;
  expect_error_of<runtime::ModelError>([&] { runtime::CtrModel::from_bytes(raw, "flip.rpm"); },
                                       {"flip.rpm", "checksum"});
  // A checkpoint of another task is refused by name.
  expect_error([&] { export_ctr_model(dir + "/missing.pt", dir + "/x.rpm", runtime::DType::kF32); },
               {"missing.pt"});
}

}  // namespace
}  // namespace recpress
