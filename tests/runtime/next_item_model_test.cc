// The runtime's next-item kind without LibTorch (the exactness against LibTorch is in
// tests/export/seq_export_test.cc): what the loader checks, histories longer than max_len, and
// hostile files: every truncation and every forged change loads a well-formed model or is
// refused, never a crash.
#include "runtime/next_item_model.h"

#include <gtest/gtest.h>

#include <random>

#include "runtime/fuzz_input.h"
#include "runtime/next_item_fixture.h"

namespace recpress::runtime {
namespace {

TEST(NextItemModelFile, LongHistoriesKeepTheLatestItems) {
  for (const auto arch : {SeqArch::kSASRec, SeqArch::kBERT4Rec}) {
    const auto m = NextItemModel::from_bytes(encode_next_item_model(tiny(arch), DType::kF32));
    EXPECT_EQ(m.history_length(), arch == SeqArch::kSASRec ? 5u : 4u);
    EXPECT_EQ(m.item_id(2), "102");
    EXPECT_EQ(m.item_index("111"), 11u);
    const std::vector<std::uint32_t> long_history = {7, 7, 7, 1, 2, 3, 4, 5, 6};
    const std::vector<std::uint32_t> latest(long_history.end() - m.history_length(),
                                            long_history.end());
    std::vector<float> a(12), b(12);
    m.score_all(long_history, a.data());
    m.score_all(latest, b.data());
    EXPECT_EQ(a, b);
    std::vector<std::uint32_t> other = latest;  // differs inside the window
    other[other.size() - 2] = 9;
    m.score_all(other, b.data());
    EXPECT_NE(a, b);
  }
}

TEST(NextItemModelFile, InconsistentContentIsRefused) {
  auto c = tiny(SeqArch::kSASRec);
  c.heads = 3;  // does not divide hidden 4
  EXPECT_THROW(encode_next_item_model(c, DType::kF32), ModelError);
  c = tiny(SeqArch::kSASRec);
  c.item_ids.pop_back();
  EXPECT_THROW(encode_next_item_model(c, DType::kF32), ModelError);
  c = tiny(SeqArch::kSASRec);
  c.blocks[0].ff1.bias.pop_back();
  try {
    encode_next_item_model(c, DType::kF32);
    ADD_FAILURE() << "a short bias was accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("block 1 ff1 bias"), std::string::npos) << e.what();
  }
  c = tiny(SeqArch::kBERT4Rec);
  c.item_ids[3] = c.item_ids[4];
  EXPECT_THROW(encode_next_item_model(c, DType::kF32), ModelError);
}

TEST(NextItemModelFile, AdaRecCellsAreCheckedAndKeepTheLatestItems) {
  const auto m = NextItemModel::from_bytes(encode_next_item_model(tiny_adarec(), DType::kF32));
  EXPECT_EQ(m.arch(), SeqArch::kAdaRec);
  EXPECT_EQ(m.layers(), 2u);
  // items + positions + 2 norms + convs c3, d5 (cell 1), c5, d3 (cell 2), each k h^2 + h.
  EXPECT_EQ(m.parameter_count(), 12u * 4 + 5 * 4 + 2 * 8 + (3 + 5 + 5 + 3) * 16 + 4 * 4);
  const std::vector<std::uint32_t> long_history = {7, 7, 7, 1, 2, 3, 4, 5, 6};
  const std::vector<std::uint32_t> latest(long_history.end() - 5, long_history.end());
  std::vector<float> a(12), b(12);
  m.score_all(long_history, a.data());
  m.score_all(latest, b.data());
  EXPECT_EQ(a, b);
  const auto refused = [](NextItemContent c, const std::string& fragment) {
    try {
      encode_next_item_model(c, DType::kF32);
      ADD_FAILURE() << "accepted; expected " << fragment;
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  auto c = tiny_adarec();
  c.blocks = tiny(SeqArch::kSASRec).blocks;
  refused(c, "AdaRec model with transformer blocks");
  c = tiny_adarec();
  c.cells.clear();
  refused(c, "1 to 64 AdaRec cells");
  c = tiny_adarec();
  c.cells[0].edges[1].conv = c.cells[0].edges[0].conv;  // a 3-tap weight on a 5-tap edge
  refused(c, "cell 1 edge 2 d5");
  c = tiny_adarec();
  std::swap(c.cells[1].edges[0], c.cells[1].edges[1]);
  refused(c, "cell 2 edge 1: not the edge 0 -> 1");
  c = tiny_adarec();
  c.cells[1].edges[1].conv = c.cells[0].edges[0].conv;
  refused(c, "cell 2 edge 2: weights on a skip edge");
  c = tiny_adarec();
  c.cells[0].nodes = 3;
  refused(c, "cell 1: 6 edges expected");
}

// The table by the definition (schema/recpress_model.fbs, TTItems), one entry at a time.
double tt_entry_by_hand(const TTCores& c, std::uint32_t i, std::uint32_t j) {
  const std::uint32_t t = c.stp, q = c.rank / t, h2 = c.dims[1], h3 = c.dims[2];
  const std::uint32_t i3 = i % c.rows[2], i2 = (i / c.rows[2]) % c.rows[1],
                      i1 = i / c.rows[2] / c.rows[1];
  const std::uint32_t j3 = j % h3, j2 = (j / h3) % h2, j1 = j / h3 / h2;
  double sum = 0;
  for (std::uint32_t a = 0; a < c.rank; ++a)
    for (std::uint32_t b = 0; b < c.rank; ++b) {
      if (a % t != b % t || b % t != j3 % t) continue;
      const double g1 = c.core1[(i1 * c.dims[0] + j1) * c.rank + a];
      const double g2 = c.core2[((i2 * q + a / t) * h2 + j2) * q + b / t];
      const double g3 = c.core3[(i3 * q + b / t) * (h3 / t) + j3 / t];
      sum += g1 * g2 * g3;
    }
  return sum;
}

TEST(NextItemModelFile, TensorTrainItemsAreTheirCoresProductScoredInTheFileDtype) {
  for (const auto arch : {SeqArch::kSASRec, SeqArch::kBERT4Rec}) {
    auto c = tiny_tt(arch);
    const auto table = tt_table(*c.tt_items, 14);
    ASSERT_EQ(table.rows, 14u);
    ASSERT_EQ(table.cols, 4u);
    for (std::uint32_t i = 0; i < 14; ++i)
      for (std::uint32_t j = 0; j < 4; ++j)
        ASSERT_NEAR(table.values[i * 4 + j], tt_entry_by_hand(*c.tt_items, i, j), 1e-6);
    // The same model with the materialised table stored whole scores identically.
    auto plain = c;
    plain.tt_items.reset();
    plain.items.rows = 12;
    plain.items.cols = 4;
    plain.items.values.assign(table.values.begin() + 4, table.values.begin() + 13 * 4);
    plain.mask_token.assign(table.values.begin() + 13 * 4, table.values.end());
    const auto m = NextItemModel::from_bytes(encode_next_item_model(c, DType::kF32));
    const auto p = NextItemModel::from_bytes(encode_next_item_model(plain, DType::kF32));
    EXPECT_TRUE(m.compressed_items());
    EXPECT_FALSE(p.compressed_items());
    EXPECT_EQ(m.parameter_count() + 12 * 4 + (arch == SeqArch::kBERT4Rec ? 4 : 0),
              p.parameter_count() + c.tt_items->parameter_count());
    const std::vector<std::uint32_t> history = {3, 1, 4, 1, 5};
    std::vector<float> a(12), b(12);
    m.score_all(history, a.data());
    p.score_all(history, b.data());
    EXPECT_EQ(a, b);
    // int8: the table is quantised at load, as a plain int8 file's items are at export.
    const auto mq = NextItemModel::from_bytes(encode_next_item_model(c, DType::kI8));
    const auto pq = NextItemModel::from_bytes(encode_next_item_model(plain, DType::kI8));
    EXPECT_EQ(mq.dtype(), DType::kI8);
    mq.score_all(history, a.data());
    pq.score_all(history, b.data());
    EXPECT_EQ(a, b);
  }
  // Inconsistent cores are refused when written.
  auto c = tiny_tt(SeqArch::kSASRec);
  c.tt_items->core2.pop_back();
  EXPECT_THROW(encode_next_item_model(c, DType::kF32), ModelError);
  c = tiny_tt(SeqArch::kSASRec);
  c.tt_items->rows = {2, 2, 2};  // 8 rows for a 14-row table
  EXPECT_THROW(encode_next_item_model(c, DType::kF32), ModelError);
  c = tiny_tt(SeqArch::kSASRec);
  c.tt_items->stp = 3;  // divides neither the rank nor h3
  EXPECT_THROW(encode_next_item_model(c, DType::kF32), ModelError);
  c = tiny_tt(SeqArch::kSASRec);
  c.tt_items->dims = {2, 2, 2};  // width 8, hidden of the blocks 4
  EXPECT_THROW(encode_next_item_model(c, DType::kF32), ModelError);
}

TEST(NextItemModelFile, SurvivesTruncationAndForgedCorruption) {
  for (const auto& good : {encode_next_item_model(tiny(SeqArch::kSASRec), DType::kI8),
                           encode_next_item_model(tiny(SeqArch::kBERT4Rec), DType::kI8),
                           encode_next_item_model(tiny_tt(SeqArch::kBERT4Rec), DType::kI8),
                           encode_next_item_model(tiny_adarec(), DType::kI8)}) {
    for (std::size_t n = 0; n < good.size(); n += 7)
      EXPECT_THROW(NextItemModel::from_bytes(good.substr(0, n)), ModelError) << n;
    const int loaded = fuzz_random_edits(good, 13, 2000, [](const std::string& bad) {
      try {
        (void)NextItemModel::from_bytes(bad);
        return true;
      } catch (const ModelError&) {
        return false;
      }
    });
    EXPECT_GT(loaded, 0);
    fuzz_every_byte(good, 2);
  }
}

}  // namespace
}  // namespace recpress::runtime
