#include "core/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/errors.h"
#include "test_util.h"

namespace recpress {
namespace {

TEST(AtomicFile, WritesReplacesAndLeavesNoTemporaries) {
  const auto dir = testing::scratch_dir("atomic");
  const std::string path = dir + "/sub/dir/result.json";
  write_file_atomic(path, "first");
  EXPECT_EQ(read_file(path), "first");
  write_file_atomic(path, "second, longer content");
  EXPECT_EQ(read_file(path), "second, longer content");
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/sub/dir")) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(AtomicFile, UnwritableTargetThrowsAndKeepsOldContent) {
  const auto dir = testing::scratch_dir("atomic_fail");
  const std::string path = dir + "/keep.txt";
  write_file_atomic(path, "precious");
  // A directory where the file should be renamed to makes the rename fail.
  std::filesystem::create_directories(dir + "/blocked");
  testing::write_text(dir + "/blocked", "x", "x");
  EXPECT_THROW(write_file_atomic(dir + "/blocked", "new"), Error);
  EXPECT_EQ(read_file(path), "precious");
}

TEST(AtomicFile, ReadMissingFileThrows) {
  EXPECT_THROW(read_file("/nonexistent/file"), DataError);
}

}  // namespace
}  // namespace recpress
