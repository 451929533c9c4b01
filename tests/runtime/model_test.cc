// The .rpm model file: round trips in each dtype, the half-precision conversion, recommendations
// with raw ids, and the loader's refusal of every kind of broken file (never a crash).
#include "runtime/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/hash.h"
#include "runtime/fuzz_input.h"

namespace recpress::runtime {
namespace {

ModelContent small_model(std::uint32_t users, std::uint32_t items, std::uint32_t dim,
                         unsigned seed = 1) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  ModelContent c;
  c.source_model = "mf:dim=" + std::to_string(dim);
  c.users = {users, dim, {}};
  c.items = {items, dim, {}};
  for (std::uint32_t k = 0; k < users * dim; ++k) c.users.values.push_back(normal(gen));
  for (std::uint32_t k = 0; k < items * dim; ++k) c.items.values.push_back(normal(gen));
  for (std::uint32_t u = 0; u < users; ++u) c.user_ids.push_back("u" + std::to_string(u * 7));
  for (std::uint32_t i = 0; i < items; ++i) c.item_ids.push_back("item-" + std::to_string(i));
  c.bias = 0.25f;
  // user u has seen items u and u+1
  c.seen_offsets.push_back(0);
  for (std::uint32_t u = 0; u < users; ++u) {
    c.seen_items.push_back(u % items);
    c.seen_items.push_back((u + 1) % items);
    c.seen_offsets.push_back(static_cast<std::uint32_t>(c.seen_items.size()));
  }
  return c;
}

float exact_score(const ModelContent& c, std::uint32_t u, std::uint32_t i) {
  float s = 0;
  for (std::uint32_t k = 0; k < c.users.cols; ++k)
    s += c.users.values[u * c.users.cols + k] * c.items.values[i * c.items.cols + k];
  return c.bias + s;
}

TEST(ModelFile, Fp32RoundTripIsExact) {
  const auto c = small_model(5, 40, 8);
  const Model m = Model::from_bytes(encode_model(c, DType::kF32));
  EXPECT_EQ(m.num_users(), 5u);
  EXPECT_EQ(m.num_items(), 40u);
  EXPECT_EQ(m.dim(), 8u);
  EXPECT_EQ(m.source_model(), "mf:dim=8");
  std::vector<float> s(40);
  for (std::uint32_t u = 0; u < 5; ++u) {
    m.score_all(u, s.data());
    for (std::uint32_t i = 0; i < 40; ++i) EXPECT_FLOAT_EQ(s[i], exact_score(c, u, i));
  }
}

TEST(ModelFile, Fp16AndInt8StayCloseAndKeepTheRanking) {
  const auto c = small_model(20, 300, 20, 3);
  for (const DType d : {DType::kF16, DType::kI8}) {
    const Model m = Model::from_bytes(encode_model(c, d));
    EXPECT_EQ(m.dtype(), d);
    std::vector<float> s(300);
    std::size_t agree = 0;
    for (std::uint32_t u = 0; u < 20; ++u) {
      m.score_all(u, s.data());
      float worst = 0;
      for (std::uint32_t i = 0; i < 300; ++i)
        worst = std::max(worst, std::fabs(s[i] - exact_score(c, u, i)));
      // fp16: relative 2^-11 per value; int8: half a quantisation step per value, |x| <= ~2.
      EXPECT_LT(worst, d == DType::kF16 ? 5e-3f : 0.12f) << dtype_name(d);
      const auto top = m.recommend(u, 1, false);
      std::uint32_t best = 0;
      for (std::uint32_t i = 1; i < 300; ++i)
        if (exact_score(c, u, i) > exact_score(c, u, best)) best = i;
      agree += top[0].first == best;
    }
    EXPECT_GE(agree, 17u) << dtype_name(d);  // the top item survives quantisation for most users
  }
  // int8 vectors are a quarter of fp32's (the file also holds the raw ids).
  EXPECT_LT(encode_model(c, DType::kI8).size() * 2, encode_model(c, DType::kF32).size());
}

// An NCF file worked by hand: 1 user, 2 items (the second one past a 64-item block would need
// more items; 70 items cover two blocks), dot width 1, tower 2 -> 1, head 1.
// The int8 kernels (the widening one and the packed integer multiply-add one, when this CPU has
// it) give exactly the scalar integer sums scaled as score_i8 documents, for odd and even
// dimensions and catalogs around the 16- and 32-item blocks.
TEST(ModelFile, Int8KernelsGiveTheScalarIntegerSums) {
  std::mt19937 gen(3);
  for (const std::size_t d : {1, 2, 3, 20, 64, 129}) {
    for (const std::size_t n : {1, 15, 16, 17, 31, 32, 33, 100, 3706}) {
      std::vector<std::int8_t> u(d), q(d * n);
      std::vector<float> scales(n);
      for (auto& v : u) v = static_cast<std::int8_t>(static_cast<int>(gen() % 255) - 127);
      for (auto& v : q) v = static_cast<std::int8_t>(static_cast<int>(gen() % 255) - 127);
      for (auto& v : scales) v = 0.001f + static_cast<float>(gen() % 1000) * 1e-5f;
      const float bias = 0.25f, user_scale = 0.0123f;
      std::vector<float> expected(n), widened(n), packed(n, NAN);
      for (std::size_t i = 0; i < n; ++i) {
        std::int32_t sum = 0;
        for (std::size_t k = 0; k < d; ++k) sum += u[k] * q[k * n + i];
        const float s = user_scale * scales[i];
        const float product = s * static_cast<float>(sum);
        expected[i] = bias + product;
      }
      score_i8(u.data(), q.data(), d, n, bias, user_scale, scales.data(), widened.data());
      EXPECT_EQ(widened, expected) << "d " << d << " n " << n;
      if (const auto p = PackedI8Items::pack(q.data(), d, n)) {
        p->score(u.data(), bias, user_scale, scales.data(), packed.data());
        EXPECT_EQ(packed, expected) << "d " << d << " n " << n;
        EXPECT_EQ(p->bytes(), ((n + 15) / 16) * 16 * ((d + 1) / 2) * 2 * sizeof(std::int16_t));
      }
    }
  }
}

TEST(ModelFile, NcfTowerScoresAsComputedByHand) {
  ModelContent c;
  c.source_model = "neumf:hand";
  const std::uint32_t items = 70;
  c.users = {1, 1, {2.0f}};
  c.items = {items, 1, {}};
  c.mlp_users = {1, 2, {1.0f, -1.0f}};  // W_u p + b
  c.mlp_items = {items, 2, {}};         // W_i q
  for (std::uint32_t i = 0; i < items; ++i) {
    c.items.values.push_back(0.5f);
    c.mlp_items.values.push_back(static_cast<float>(i) - 3.0f);  // unit 1: relu(i - 2)
    c.mlp_items.values.push_back(3.0f);                          // unit 2: relu(2) = 2
    c.item_ids.push_back(std::to_string(i));
  }
  DenseLayer layer;  // relu(h1 - 0.5 h2 + 0.25)
  layer.weight.rows = 1;
  layer.weight.cols = 2;
  layer.weight.values = {1.0f, -0.5f};
  layer.bias = {0.25f};
  c.layers.push_back(layer);
  c.head = {2.0f};
  c.bias = 0.1f;
  c.user_ids = {"only"};
  const Model m = Model::from_bytes(encode_model(c, DType::kF32));
  ASSERT_TRUE(m.has_tower());
  std::vector<float> s(items);
  m.score_all(0, s.data());
  for (std::uint32_t i = 0; i < items; ++i) {
    // dot 2 * 0.5 = 1; h1 = max(0, i - 2); layer = max(0, h1 - 1 + 0.25); head x2; bias 0.1
    const float h1 = std::max(0.0f, static_cast<float>(i) - 2.0f);
    const float expected = 0.1f + 1.0f + 2.0f * std::max(0.0f, h1 - 0.75f);
    ASSERT_FLOAT_EQ(s[i], expected) << "item " << i;
  }
  // parameters: (1 + 70) x (1 + 2) embeddings + 1 bias + (2 + 1) x 1 layer + 1 head = 218
  EXPECT_EQ(m.parameter_count(), 218u);
  // flops: dot 2 + bias 1, first layer 2 x 2, layer 2*2*1 + 2, head 2 x 1 = 15
  EXPECT_EQ(m.flops_per_item(), 15u);
  // Widths that do not chain are refused when writing.
  ModelContent bad = c;
  bad.head = {1.0f, 2.0f};
  EXPECT_THROW(encode_model(bad, DType::kF32), ModelError);
  bad = c;
  bad.layers[0].weight.cols = 3;
  bad.layers[0].weight.values = {1, 2, 3};
  EXPECT_THROW(encode_model(bad, DType::kF32), ModelError);
  // int8 keeps the ranking of these well separated scores.
  const Model q = Model::from_bytes(encode_model(c, DType::kI8));
  std::vector<float> sq(items);
  q.score_all(0, sq.data());
  for (std::uint32_t i = 0; i < items; ++i) EXPECT_NEAR(sq[i], s[i], 0.02 * (1 + s[i]));
}

// Integer raw ids (MovieLens) are stored as numbers, which makes the file smaller; anything that
// would not print back identically ("007", "-0", "1e3") keeps the strings.
TEST(ModelFile, NumericIdsAreStoredAsNumbersAndReadBackAsText) {
  auto c = small_model(30, 40, 4);
  for (std::uint32_t u = 0; u < 30; ++u) c.user_ids[u] = std::to_string(1000 + u);
  for (std::uint32_t i = 0; i < 40; ++i) c.item_ids[i] = std::to_string(i + 1);
  const std::string numeric = encode_model(c, DType::kI8);
  const Model m = Model::from_bytes(numeric);
  EXPECT_EQ(m.user_id(3), "1003");
  EXPECT_EQ(m.item_id(39), "40");
  EXPECT_EQ(m.user_index("1029"), std::optional<std::uint32_t>(29));
  const Model copy = m;  // the decoded ids live as long as any copy
  EXPECT_EQ(copy.item_id(0), "1");
  auto strings = c;
  strings.item_ids[5] = "007";
  const std::string text = encode_model(strings, DType::kI8);
  EXPECT_LT(numeric.size(), text.size());
  EXPECT_EQ(Model::from_bytes(text).item_id(5), "007");
}

TEST(ModelFile, HalfConversion) {
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_half(1e6f), 0x7c00);                   // overflow -> inf
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_half(1e-9f), 0x0000);
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie -> even
  EXPECT_EQ(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(NAN))));
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float f = half_to_float(static_cast<std::uint16_t>(h));
    if (!std::isnan(f)) {
      EXPECT_EQ(float_to_half(f), h) << h;
    }
  }
}

TEST(ModelFile, RecommendsWithRawIdsAndExcludesSeenItems) {
  const auto c = small_model(4, 10, 4);
  const Model m = Model::from_bytes(encode_model(c, DType::kF32));
  ASSERT_TRUE(m.user_index("u14").has_value());
  EXPECT_EQ(*m.user_index("u14"), 2u);
  EXPECT_FALSE(m.user_index("nobody").has_value());
  const auto all = m.recommend(2, 10, false);
  ASSERT_EQ(all.size(), 10u);
  for (std::size_t r = 1; r < all.size(); ++r) EXPECT_GE(all[r - 1].second, all[r].second);
  const auto unseen = m.recommend(2, 10, true);
  EXPECT_EQ(unseen.size(), 8u);
  for (const auto& [i, s] : unseen) EXPECT_TRUE(i != 2 && i != 3);
  EXPECT_EQ(m.item_id(unseen[0].first).substr(0, 5), "item-");

  auto no_seen = c;
  no_seen.seen_offsets.clear();
  no_seen.seen_items.clear();
  const Model plain = Model::from_bytes(encode_model(no_seen, DType::kF32));
  EXPECT_FALSE(plain.has_seen());
  EXPECT_THROW(plain.recommend(0, 3, true), ModelError);
  EXPECT_THROW(plain.score_all(4, nullptr), ModelError);
}

std::string error_of(const std::string& bytes) {
  try {
    Model::from_bytes(bytes, "bad.rpm");
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

TEST(ModelFile, RejectsBrokenFilesWithClearErrors) {
  const std::string good = encode_model(small_model(3, 12, 4), DType::kI8);
  EXPECT_NE(error_of(good.substr(0, 10)).find("bad.rpm: truncated"), std::string::npos);
  EXPECT_NE(error_of(good.substr(0, good.size() - 1)).find("truncated or extended"),
            std::string::npos);
  std::string magic = good;
  magic[0] = 'X';
  EXPECT_NE(error_of(magic).find("not a RecPress model file"), std::string::npos);
  std::string version = good;
  version[8] = 3;
  EXPECT_NE(error_of(version).find("format version 3, this runtime reads versions 1 to 2"),
            std::string::npos);
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x10;
  EXPECT_NE(error_of(flipped).find("checksum mismatch"), std::string::npos);
  EXPECT_THROW(Model::open("/nonexistent/student.rpm"), ModelError);
}

// Every prefix and every single-byte change is refused; and changes whose checksum was forged
// (what a fuzzer would find) either load a well-formed model or are refused: never a crash.
TEST(ModelFile, SurvivesTruncationAndForgedCorruption) {
  const std::string good = encode_model(small_model(3, 9, 4), DType::kF16);
  for (std::size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(error_of(good.substr(0, n)).empty());
  for (std::size_t k = 0; k < good.size(); k += 3) {
    std::string bad = good;
    bad[k] = static_cast<char>(bad[k] ^ 0x41);
    EXPECT_FALSE(error_of(bad).empty()) << k;
  }
  const int loaded = fuzz_random_edits(good, 7, 3000, [](const std::string& bad) {
    try {
      const Model m = Model::from_bytes(bad);
      std::vector<float> s(m.num_items());
      for (std::uint32_t u = 0; u < m.num_users(); ++u) m.score_all(u, s.data());
      return true;
    } catch (const ModelError&) {
      return false;
    }
  });
  EXPECT_GT(loaded, 0);  // some edits only touch values: those models load and score
  // Every byte set to a negative value, checksum forged (enums are signed bytes: in a CTR file
  // such a sweep found a dtype of -52 passing a `> I8` check and crashing the scorer).
  fuzz_every_byte(good);
}

// The fuzzer's regression corpus (bench/fuzz_model.sh): each input loads or is refused.
TEST(ModelFile, ReplaysTheFuzzCorpus) {
  const std::string dir = std::string(RECPRESS_SOURCE_DIR) + "/tests/runtime/corpus";
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    fuzz_model_input(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ++n;
  }
  EXPECT_GE(n, 6u);
}

TEST(ModelFile, OpensAMappedFile) {
  const std::string path = ::testing::TempDir() + "/student.rpm";
  const std::string bytes = encode_model(small_model(2, 5, 3), DType::kF32);
  std::ofstream(path, std::ios::binary) << bytes;
  const Model m = Model::open(path);
  EXPECT_EQ(m.file_bytes(), bytes.size());
  EXPECT_EQ(m.recommend(1, 2, false).size(), 2u);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace recpress::runtime
