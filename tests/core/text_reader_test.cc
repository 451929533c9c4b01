#include "core/text_reader.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/errors.h"
#include "test_util.h"

namespace recpress {
namespace {

std::vector<std::string> all_lines(const std::string& path) {
  TextReader r(path);
  std::vector<std::string> out;
  std::string_view line;
  while (r.next_line(line)) out.emplace_back(line);
  return out;
}

TEST(TextReader, PlainAndGzipGiveTheSameLines) {
  const auto dir = testing::scratch_dir("text_reader");
  const std::string content = "a\tb\r\nsecond line\n\nlast without newline";
  const auto plain = all_lines(testing::write_text(dir, "x.txt", content));
  const auto gz = all_lines(testing::write_gz(dir, "x.txt.gz", content));
  const std::vector<std::string> expected = {"a\tb", "second line", "", "last without newline"};
  EXPECT_EQ(plain, expected);
  EXPECT_EQ(gz, expected);
}

TEST(TextReader, LinesLongerThanTheBufferAndLineNumbers) {
  const auto dir = testing::scratch_dir("text_reader_long");
  const std::string big(3 * 1024 * 1024 + 17, 'x');
  const auto path = testing::write_text(dir, "big.txt", "one\n" + big + "\nthree\n");
  TextReader r(path);
  std::string_view line;
  ASSERT_TRUE(r.next_line(line));
  ASSERT_TRUE(r.next_line(line));
  EXPECT_EQ(line.size(), big.size());
  EXPECT_EQ(r.line_number(), 2u);
  ASSERT_TRUE(r.next_line(line));
  EXPECT_EQ(line, "three");
  EXPECT_FALSE(r.next_line(line));
}

// Regression: a UTF-8 byte-order mark broke CSV headers, RecBole .inter headers and Criteo's label,
// and shifted Avazu's columns silently.
TEST(TextReader, ByteOrderMarkIsDroppedFromTheFirstLineOnly) {
  const auto dir = testing::scratch_dir("text_reader_bom");
  const std::string bom = "\xEF\xBB\xBF";
  const auto lines =
      all_lines(testing::write_text(dir, "b.csv", bom + "user,item\n" + bom + "x\n"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "user,item");
  EXPECT_EQ(lines[1], bom + "x");  // not a mark there: data, kept
  EXPECT_EQ(all_lines(testing::write_gz(dir, "b.csv.gz", bom + "user,item\n"))[0], "user,item");
}

// Regression: a 200 MB line was read whole (622 MB resident) before the parser failed.
TEST(TextReader, AnAbsurdlyLongLineIsRefusedNamingTheLine) {
  const auto dir = testing::scratch_dir("text_reader_huge");
  const auto path = testing::write_text(dir, "huge.txt", "ok\n" + std::string(17u << 20, 'x'));
  TextReader r(path);
  std::string_view line;
  ASSERT_TRUE(r.next_line(line));
  testing::expect_error([&] { r.next_line(line); }, {"huge.txt:2", "longer than 16 MiB"});
}

TEST(Errors, ExcerptsEscapeControlBytes) {
  EXPECT_EQ(quote_excerpt("a\tb\x01"
                          "c\x7f"),
            "'a\\tb\\x01c\\x7f'");
  EXPECT_EQ(quote_excerpt("caf\xC3\xA9"), "'caf\xC3\xA9'");  // UTF-8 stays readable
}

TEST(TextReader, MissingFileNamesThePath) {
  try {
    TextReader r("/nonexistent/dir/ratings.dat");
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/ratings.dat"), std::string::npos);
  }
}

TEST(TextReader, TruncatedGzipIsAnError) {
  const auto dir = testing::scratch_dir("text_reader_trunc");
  std::string content;
  for (int i = 0; i < 20000; ++i)
    content += std::to_string(i * 7919 % 100003) + "::" + std::to_string(i) + "\n";
  const auto path = testing::write_gz(dir, "t.gz", content);
  const std::string bytes = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  testing::write_text(dir, "t.gz", bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(all_lines(path), DataError);
}

TEST(Parse, NumbersAreStrict) {
  long long i = 0;
  double d = 0;
  EXPECT_TRUE(parse_int64(" 42 ", i));
  EXPECT_EQ(i, 42);
  EXPECT_TRUE(parse_int64("-7", i));
  EXPECT_EQ(i, -7);
  EXPECT_FALSE(parse_int64("4x", i));
  EXPECT_FALSE(parse_int64("", i));
  EXPECT_FALSE(parse_int64("3.5", i));
  EXPECT_TRUE(parse_double("3.5", d));
  EXPECT_DOUBLE_EQ(d, 3.5);
  EXPECT_TRUE(parse_double("1e3", d));
  EXPECT_DOUBLE_EQ(d, 1000.0);
  EXPECT_FALSE(parse_double("nan", d));
  EXPECT_FALSE(parse_double("five", d));
}

TEST(Encoding, Latin1ToUtf8) {
  // "Bient\xf4t" (Latin-1 o-circumflex) -> UTF-8 C3 B4
  EXPECT_EQ(latin1_to_utf8("Bient\xf4t"), "Bient\xc3\xb4t");
  EXPECT_EQ(latin1_to_utf8("plain"), "plain");
}

TEST(Split, FieldsOnCharAndString) {
  std::vector<std::string_view> f;
  split_fields("1::2::::4", std::string_view("::"), f);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[2], "");
  split_fields("a,b,", ',', f);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[2], "");
}

}  // namespace
}  // namespace recpress
