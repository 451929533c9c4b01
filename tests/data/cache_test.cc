#include "data/cache.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "data/synthetic.h"
#include "test_util.h"

namespace recpress {
namespace {

TEST(Cache, RoundTripIsExact) {
  const Dataset d =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=50,items=40,mean=10,min=5"));
  LoadReport report;
  report.skipped_lines = 3;
  report.notes = {"n"};
  const std::string bytes = serialize_dataset(d, report, "k");
  LoadReport back_report;
  const auto back = deserialize_dataset(bytes, "k", back_report);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->checksum(), d.checksum());
  EXPECT_EQ(back->users, d.users);
  EXPECT_EQ(back->items, d.items);
  EXPECT_EQ(back->item_features.fields.size(), d.item_features.fields.size());
  EXPECT_EQ(back->item_features.fields[0].values, d.item_features.fields[0].values);
  EXPECT_EQ(back_report.skipped_lines, 3u);
}

TEST(Cache, CorruptTruncatedOrForeignEntriesAreRejected) {
  const Dataset d =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=20,items=30,mean=8,min=5"));
  const std::string bytes = serialize_dataset(d, {}, "k");
  LoadReport r;
  EXPECT_FALSE(deserialize_dataset(bytes, "other-key", r).has_value());
  EXPECT_FALSE(deserialize_dataset(bytes.substr(0, bytes.size() / 2), "k", r).has_value());
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x40;
  EXPECT_FALSE(deserialize_dataset(flipped, "k", r).has_value());
  EXPECT_FALSE(deserialize_dataset("", "k", r).has_value());
}

TEST(Cache, HitMissAndInvalidationOnChange) {
  const auto dir = testing::scratch_dir("cache_src");
  const auto cache = testing::scratch_dir("cache_dir");
  const auto path = testing::write_text(dir, "x.rating", "1\t2\t5\t100\n3\t4\t1\t200\n");
  LoadReport r;
  bool hit = true;
  Dataset a = load_cached(path, {}, r, cache, &hit);
  EXPECT_FALSE(hit);
  Dataset b = load_cached(path, {}, r, cache, &hit);
  EXPECT_TRUE(hit);
  EXPECT_EQ(a.checksum(), b.checksum());
  // Change the source: the cache must notice (size and mtime are in the key).
  testing::write_text(dir, "x.rating", "1\t2\t5\t100\n3\t4\t1\t200\n5\t6\t2\t300\n");
  Dataset c = load_cached(path, {}, r, cache, &hit);
  EXPECT_FALSE(hit);
  EXPECT_EQ(c.size(), 3u);
  // A corrupted cache file is ignored and rebuilt.
  for (const auto& e : std::filesystem::directory_iterator(cache))
    write_file_atomic(e.path().string(), "garbage");
  Dataset e = load_cached(path, {}, r, cache, &hit);
  EXPECT_FALSE(hit);
  EXPECT_EQ(e.size(), 3u);
}

}  // namespace
}  // namespace recpress
