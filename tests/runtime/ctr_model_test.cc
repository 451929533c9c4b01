// The runtime's CTR kind: a tiny model's logits computed by hand (linear + FM + deep, multi-hot
// pooling, OOV, padding, a dense field), the feature checks, and hostile files: every truncation
// and every forged change loads a well-formed model or is refused, never a crash.
#include "runtime/ctr_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "core/hash.h"
#include "runtime/ctr_fixture.h"
#include "runtime/fuzz_input.h"

namespace recpress::runtime {
namespace {

TEST(CtrModelFile, LogitsByHand) {
  const CtrModel m = CtrModel::from_bytes(encode_ctr_model(tiny_content(), DType::kF32));
  ASSERT_EQ(m.features().slots(), 3u);
  ASSERT_EQ(m.features().vocab_size(), 6);
  const std::vector<std::string_view> ab = {"a", "b"};
  // red, [a, b], price e - 1 (log1p -> 1):
  //   linear 0.1 + 0.5 + (0.2 + 0.4) / 2 + 2 * 1 = 2.9
  //   e = [1, (2 + 4) / 2, 0.5 * 1] = [1, 3, 0.5]; FM 0.5 ((1 + 3 + 0.5)^2 - (1 + 9 + 0.25)) = 5
  //   deep relu([1, 3 - 1 - 1]) = [1, 1]; 0.5 - 1 + 0.25 = -0.25          -> 7.65
  std::vector<RawValue> row = {RawValue::of_text("red"), RawValue::of_texts(ab),
                               RawValue::of_number(std::exp(1.0) - 1)};
  EXPECT_NEAR(m.predict(row), 1 / (1 + std::exp(-7.65)), 1e-6);
  std::int32_t ids[3];
  float x[1];
  m.features().encode(row, ids, x);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], 4);
  EXPECT_EQ(ids[2], 5);
  float logit = 0;
  m.logits(ids, x, 1, &logit);
  EXPECT_NEAR(logit, 7.65, 1e-5);
  // green (OOV), no tags (padding), price missing (0):
  //   linear 0.1 - 0.3 = -0.2; e = [0.5, 0, 0]; FM 0; deep relu([0.5, -1]) = [0.5, 0]:
  //   0.25 + 0.25 = 0.5                                                     -> 0.3
  row = {RawValue::of_text("green"), RawValue::missing(), RawValue::missing()};
  m.features().encode(row, ids, x);
  EXPECT_EQ(ids[0], 0);
  EXPECT_EQ(ids[1], 6);  // padding
  EXPECT_EQ(ids[2], 6);
  m.logits(ids, x, 1, &logit);
  EXPECT_NEAR(logit, 0.3, 1e-6);
  // Batches of more than one block give the same numbers as one row at a time.
  std::vector<std::int32_t> many;
  std::vector<float> values;
  for (int r = 0; r < 150; ++r) {
    many.insert(many.end(), {r % 3, 3 + (r % 3), r % 2 ? 6 : 5});
    values.push_back(static_cast<float>(r % 5) - 2);
  }
  std::vector<float> batch(150), single(150);
  m.logits(many.data(), values.data(), 150, batch.data());
  for (int r = 0; r < 150; ++r) m.logits(many.data() + 3 * r, values.data() + r, 1, &single[r]);
  EXPECT_EQ(batch, single);
  EXPECT_EQ(m.parameter_count(), 6u + 1 + 1 + 6 + 1 + 8 + 2 + 1);
}

// Tokens that are all canonical integers are stored as numbers (a third of the bytes) and read
// back as the same text; one non-canonical token ("042") keeps the field's tokens as text.
TEST(CtrModelFile, NumericTokensAreStoredAsNumbers) {
  auto c = tiny_content();
  c.features[0].tokens = {"1995", "-3"};
  const auto numeric = CtrModel::from_bytes(encode_ctr_model(c, DType::kF32));
  EXPECT_EQ(numeric.features().fields()[0].tokens, (std::vector<std::string>{"1995", "-3"}));
  EXPECT_EQ(numeric.features().lookup(0, "-3"), 2);
  EXPECT_EQ(numeric.features().lookup(0, "042"), 0);
  c.features[0].tokens = {"1995", "042"};
  const auto text = CtrModel::from_bytes(encode_ctr_model(c, DType::kF32));
  EXPECT_EQ(text.features().lookup(0, "042"), 2);
  EXPECT_EQ(text.features().lookup(0, "42"), 0);
}

TEST(CtrModelFile, InconsistentContentIsRefused) {
  auto c = tiny_content();
  c.deep_head = {1.0f};
  EXPECT_THROW(encode_ctr_model(c, DType::kF32), ModelError);
  c = tiny_content();
  c.features[2].kind = FeatureKind::kCategorical;  // a sparse field after a dense one is fine,
  c.features[2].tokens = {"x"};                    // but now the linear weights do not fit
  EXPECT_THROW(encode_ctr_model(c, DType::kF32), ModelError);
  c = tiny_content();
  c.features[1].tokens = {"a", "a"};
  try {
    encode_ctr_model(c, DType::kF32);
    ADD_FAILURE() << "a duplicate token was accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("feature 'tags'"), std::string::npos) << e.what();
  }
  c = tiny_content();
  c.features.push_back({"color*tags", FeatureKind::kCross, "color", "nope", false, 0, {}, {}, 1});
  EXPECT_THROW(encode_ctr_model(c, DType::kF32), ModelError);
}

TEST(CtrModelFile, SurvivesTruncationAndForgedCorruption) {
  const std::string good = encode_ctr_model(tiny_content(), DType::kI8);
  for (std::size_t n = 0; n < good.size(); n += 5)
    EXPECT_THROW(CtrModel::from_bytes(good.substr(0, n)), ModelError) << n;
  // The fuzzer's own checks: load, encode missing values, score padding and the lowest ids.
  const int loaded = fuzz_random_edits(good, 11, 3000, [](const std::string& bad) {
    try {
      (void)CtrModel::from_bytes(bad);
      return true;
    } catch (const ModelError&) {
      return false;
    }
  });
  EXPECT_GT(loaded, 0);
  fuzz_every_byte(good);
}

}  // namespace
}  // namespace recpress::runtime
