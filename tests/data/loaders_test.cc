// Every loader on a tiny file of its format, and every kind of malformed input it must reject with
// a message naming the file, the line and the field.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "core/errors.h"
#include "data/loader.h"
#include "data/registry.h"
#include "test_util.h"

namespace recpress {
namespace {

Dataset load(const std::string& path, LoadOptions o = {}) {
  LoadReport r;
  return load_path(path, o, r);
}

using testing::expect_error;

TEST(MovieLens100K, RatingsUsersItemsAndLatin1Titles) {
  const auto dir = testing::scratch_dir("ml100k");
  testing::write_text(dir, "u.data",
                      "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t5\t881250950\n");
  testing::write_text(dir, "u.user",
                      "196|49|M|writer|55105\n186|39|F|executive|00000\n999|20|M|none|0\n");
  testing::write_text(
      dir, "u.genre",
      "unknown|0\nAction|1\nAdventure|2\nAnimation|3\nChildren's|4\nComedy|5\nCrime|6\n"
      "Documentary|7\nDrama|8\nFantasy|9\nFilm-Noir|10\nHorror|11\nMusical|12\n"
      "Mystery|13\nRomance|14\nSci-Fi|15\nThriller|16\nWar|17\nWestern|18\n");
  testing::write_text(
      dir, "u.item",
      "242|Kolya (1996)|24-Jan-1997||http://x|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
      "302|L.A. Confidential (1997)|01-Jan-1997||http://x|0|0|0|0|0|0|1|0|0|0|1|0|0|1|0|0|1|0|0\n"
      "1|Bient\xf4t|01-Jan-1995||http://x|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n");
  const Dataset d = load(dir);
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d.num_users(), 2);
  EXPECT_EQ(d.num_items(), 2);
  EXPECT_EQ(d.users.raw(d.interactions[0].user), "196");
  EXPECT_FLOAT_EQ(d.interactions[2].rating, 5.0f);
  EXPECT_EQ(d.interactions[1].timestamp, 891717742);
  ASSERT_EQ(d.item_titles.size(), 2u);
  EXPECT_EQ(d.item_titles[static_cast<std::size_t>(*d.items.find("242"))], "Kolya (1996)");
  const FeatureField* genre = d.item_features.find("genre");
  ASSERT_NE(genre, nullptr);
  const auto lac = static_cast<std::size_t>(*d.items.find("302"));
  EXPECT_EQ(genre->offsets[lac + 1] - genre->offsets[lac],
            4);  // Crime, Film-Noir, Mystery, Thriller
  EXPECT_NE(d.user_features.find("occupation"), nullptr);
}

TEST(MovieLens100K, MalformedLines) {
  const auto dir = testing::scratch_dir("ml100k_bad");
  testing::write_text(dir, "u.data", "196\t242\t3\t881250949\n186\t302\t3\n");
  expect_error([&] { load(dir); }, {"u.data:2", "expected 4 columns"});
  testing::write_text(dir, "u.data", "196\t242\tthree\t881250949\n");
  expect_error([&] { load(dir); }, {"u.data:1", "field 'rating'", "'three'"});
  testing::write_text(dir, "u.data", "196\t242\t3\tyesterday\n");
  expect_error([&] { load(dir); }, {"u.data:1", "field 'timestamp'"});
  testing::write_text(dir, "u.data", "");
  expect_error([&] { load(dir); }, {"u.data", "no interactions"});
  // Regression: MovieLens and NCF number their ids; 'x' was taken as a new item.
  testing::write_text(dir, "u.data", "196\t242\t3\t881250949\n196\tx\t3\t881250950\n");
  expect_error([&] { load(dir); }, {"u.data:2", "field 'item_id'", "'x'"});
}

TEST(MovieLens100K, LenientModeSkipsAndCounts) {
  const auto dir = testing::scratch_dir("ml100k_lenient");
  testing::write_text(dir, "u.data", "1\t2\t3\t4\nbad line\n5\t6\tx\t8\n9\t10\t1\t11\n");
  LoadOptions o;
  o.lenient = true;
  LoadReport r;
  const Dataset d = load_path(dir, o, r);
  EXPECT_EQ(d.size(), 2u);
  EXPECT_EQ(r.skipped_lines, 2u);
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_NE(r.problems[1].find(":3:"), std::string::npos);
}

TEST(MovieLensDat, RatingsGzUsersMovies) {
  const auto dir = testing::scratch_dir("ml1m");
  testing::write_gz(dir, "ratings.dat.gz",
                    "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n");
  testing::write_text(dir, "users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n");
  testing::write_text(
      dir, "movies.dat",
      "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::James and the Giant Peach "
      "(1996)::Animation|Children's|Musical\n3::Caf\xe9 (1999)::Drama\n");
  const Dataset d = load(dir);
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d.num_users(), 2);
  EXPECT_EQ(d.num_items(), 2);
  EXPECT_EQ(d.item_titles[static_cast<std::size_t>(*d.items.find("661"))],
            "James and the Giant Peach (1996)");
  const auto* g = d.item_features.find("genre");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->vocabulary.size(), 4);
  const auto* gender = d.user_features.find("gender");
  ASSERT_NE(gender, nullptr);
  EXPECT_EQ(gender->vocabulary.raw(gender->values[0]), "F");
}

TEST(MovieLensDat, MalformedLines) {
  const auto dir = testing::scratch_dir("ml1m_bad");
  const auto path = testing::write_text(dir, "ratings.dat", "1::1193::5::978300760\n1::661::3\n");
  expect_error([&] { load(path); }, {"ratings.dat:2", "expected 4 columns"});
  testing::write_text(dir, "ratings.dat", "1::1193::5::978300760\n1::::3::978300760\n");
  expect_error([&] { load(path); }, {"ratings.dat:2", "MovieID", "empty id"});
}

TEST(MovieLensCsv, HeaderQuotedTitlesHalfStars) {
  const auto dir = testing::scratch_dir("mlcsv");
  testing::write_text(dir, "ratings.csv",
                      "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,3.5,964981247\n");
  testing::write_text(dir, "movies.csv",
                      "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n"
                      "3,\"Grumpier Old Men, The (1995)\",Comedy|Romance\n");
  const Dataset d = load(dir);
  EXPECT_EQ(d.size(), 2u);
  EXPECT_FLOAT_EQ(d.interactions[1].rating, 3.5f);
  EXPECT_EQ(d.item_titles[static_cast<std::size_t>(*d.items.find("3"))],
            "Grumpier Old Men, The (1995)");
}

TEST(MovieLensCsv, WrongHeaderIsAnError) {
  const auto dir = testing::scratch_dir("mlcsv_bad");
  const auto path = testing::write_text(dir, "ratings.csv", "user,item\n1,2\n");
  expect_error([&] { load(path); }, {"ratings.csv:1", "expected header"});
}

TEST(Ncf, RatingFileAndNegatives) {
  const auto dir = testing::scratch_dir("ncf");
  const auto path =
      testing::write_text(dir, "x.test.rating", "0\t25\t5\t978824351\n1\t133\t3\t978300174\n");
  const Dataset d = load(path);
  EXPECT_EQ(d.size(), 2u);
  const auto neg =
      testing::write_text(dir, "x.test.negative", "(0,25)\t1064\t174\n(1,133)\t1\t2\n");
  const auto rows = read_ncf_negatives(neg);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].positive, "25");
  EXPECT_EQ(rows[1].negatives, (std::vector<std::string>{"1", "2"}));
  testing::write_text(dir, "bad.negative", "(0,25)\t1\n0,25\t1\n");
  expect_error([&] { read_ncf_negatives(dir + "/bad.negative"); },
               {"bad.negative:2", "(user,item)"});
}

TEST(Atomic, TypedHeaderAndSideFiles) {
  const auto dir = testing::scratch_dir("atomic") + "/shop";
  std::filesystem::create_directories(dir);
  testing::write_text(dir, "shop.inter",
                      "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
                      "u1\ti1\t4\t100.0\nu2\ti1\t2\t101\nu1\ti2\t5\t99\n");
  testing::write_text(
      dir, "shop.item",
      "item_id:token\tcategories:token_seq\tprice:float\ni1\tshoes sport\t9.5\ni2\tbags\t20\n");
  const Dataset d = load(dir);
  EXPECT_EQ(d.name, "shop");
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d.interactions[2].timestamp, 99);
  const auto* cats = d.item_features.find("categories");
  ASSERT_NE(cats, nullptr);
  EXPECT_EQ(cats->vocabulary.size(), 3);
  EXPECT_EQ(d.item_features.find("price"),
            nullptr);  // numeric columns are not categorical features
}

TEST(Atomic, BadHeaders) {
  const auto dir = testing::scratch_dir("atomic_bad");
  const auto p1 = testing::write_text(dir, "a.inter", "user_id\titem_id:token\nu\ti\n");
  expect_error([&] { load(p1); }, {"a.inter:1", "user_id", "lacks a type"});
  const auto p2 = testing::write_text(dir, "b.inter", "user_id:token\titem_id:int\nu\ti\n");
  expect_error([&] { load(p2); }, {"b.inter:1", "unknown type 'int'"});
  const auto p3 = testing::write_text(dir, "c.inter", "user_id:token\tscore:float\nu\t1\n");
  expect_error([&] { load(p3); }, {"c.inter:1", "item_id"});
  const auto p4 =
      testing::write_text(dir, "d.inter", "user_id:token\titem_id:token\nu\ti\textra\n");
  expect_error([&] { load(p4); }, {"d.inter:2", "columns"});
}

TEST(SequenceText, PairsAndWholeLines) {
  const auto dir = testing::scratch_dir("seq");
  const Dataset a = load(testing::write_text(dir, "a.txt", "1 10\n1 11\n2 10\n"));
  EXPECT_EQ(a.size(), 3u);
  EXPECT_LT(a.interactions[0].timestamp, a.interactions[1].timestamp);
  const Dataset b = load(testing::write_text(dir, "b.txt", "1 10 11 12\n2 10\n"));
  EXPECT_EQ(b.size(), 4u);
  EXPECT_EQ(b.items.raw(b.interactions[2].item), "12");
  expect_error([&] { load(testing::write_text(dir, "c.txt", "1 10\n7\n")); },
               {"c.txt:2", "user item"});
}

TEST(GenericCsv, MappingByNameAndIndex) {
  const auto dir = testing::scratch_dir("csv");
  LoadOptions o;
  o.columns.user = "customer";
  o.columns.item = "sku";
  o.columns.rating = "stars";
  o.columns.delimiter = ';';
  const Dataset d =
      load(testing::write_text(dir, "orders.csv", "sku;customer;stars\nA;c1;5\nB;c1;3\n"), o);
  EXPECT_EQ(d.size(), 2u);
  EXPECT_EQ(d.users.raw(0), "c1");
  EXPECT_EQ(d.items.raw(1), "B");
  LoadOptions idx;
  idx.columns.user = "1";
  idx.columns.item = "0";
  idx.columns.header = false;
  const Dataset e = load(testing::write_text(dir, "plain.csv", "A,c1\nB,c2\n"), idx);
  EXPECT_EQ(e.num_users(), 2);
  LoadOptions missing = o;
  missing.columns.user = "client";
  expect_error([&] { load(dir + "/orders.csv", missing); },
               {"orders.csv:1", "'client' not in header"});
  expect_error(
      [&] { load(testing::write_text(dir, "short.csv", "sku;customer;stars\nA;c1\n"), o); },
      {"short.csv:2", "columns"});
  // Regression: a row with more fields than the header was accepted silently.
  expect_error(
      [&] { load(testing::write_text(dir, "long.csv", "sku;customer;stars\nA;c1;5;9\n"), o); },
      {"long.csv:2", "expected 3 columns (as the header), found 4"});
  // A UTF-8 byte-order mark before the header no longer hides the first column's name.
  const Dataset bom =
      load(testing::write_text(dir, "bom.csv", "\xEF\xBB\xBFsku;customer;stars\nA;c1;5\n"), o);
  EXPECT_EQ(bom.items.raw(0), "A");
}

TEST(Detect, UnknownFormatAndMissingPath) {
  const auto dir = testing::scratch_dir("detect");
  expect_error([&] { load(testing::write_text(dir, "data.bin", "x")); }, {"data.bin", "--format"});
  expect_error([&] { load(dir + "/nope.csv"); }, {"nope.csv", "no such file"});
  LoadOptions o;
  o.format = "parquet";
  expect_error([&] { load(testing::write_text(dir, "x.csv", "user,item\n1,2\n"), o); },
               {"unknown format 'parquet'"});
  expect_error([&] { load(dir); }, {"cannot tell the format"});
}

TEST(Registry, UnknownDatasetNameIsAPathError) {
  OpenOptions o;
  o.use_cache = false;
  LoadReport r;
  expect_error([&] { open_dataset("no-such-dataset", o, r); }, {"no-such-dataset", "no such file"});
  o.data_root = testing::scratch_dir("empty_root");
  expect_error([&] { open_dataset("ml-100k", o, r); }, {"ml-100k", "not found"});
}

}  // namespace
}  // namespace recpress
