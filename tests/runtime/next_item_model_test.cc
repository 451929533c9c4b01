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

TEST(NextItemModelFile, SurvivesTruncationAndForgedCorruption) {
  for (const auto arch : {SeqArch::kSASRec, SeqArch::kBERT4Rec}) {
    const std::string good = encode_next_item_model(tiny(arch), DType::kI8);
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
