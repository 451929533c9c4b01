// CTR tables and features: every loader on a tiny file of its format and its malformed inputs,
// the shared Criteo/Avazu/MovieLens samples end to end, splits, and the encoder's vocabulary, OOV,
// hashing, numeric transforms and crosses.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/errors.h"
#include "data/ctr_encoder.h"
#include "data/ctr_table.h"
#include "data/synthetic.h"
#include "test_util.h"

namespace recpress {
namespace {

using testing::expect_error;

std::string criteo_row(const std::string& label, const std::string& i1, const std::string& c1) {
  std::string row = label + "\t" + i1;
  for (int i = 2; i <= 13; ++i) row += "\t" + std::to_string(i);
  row += "\t" + c1;
  for (int i = 2; i <= 26; ++i) row += "\tc" + std::to_string(i);
  return row + "\n";
}

std::vector<std::int64_t> all_rows(const CtrTable& t) {
  std::vector<std::int64_t> r(t.rows());
  for (std::size_t i = 0; i < r.size(); ++i) r[i] = static_cast<std::int64_t>(i);
  return r;
}

TEST(CtrCriteo, PublishedTsvWithMissingValues) {
  const auto dir = testing::scratch_dir("ctr-criteo");
  const auto path = testing::write_text(
      dir, "train.txt", criteo_row("1", "5", "68fd1e64") + criteo_row("0", "", "") + "\n");
  const auto t = load_criteo(path);
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.fields.size(), 39u);
  EXPECT_EQ(t.labels, (std::vector<float>{1, 0}));
  EXPECT_EQ(t.fields[0].numbers[0], 5.0);
  EXPECT_TRUE(std::isnan(t.fields[0].numbers[1]));
  const auto& c1 = *t.find("C1");
  EXPECT_EQ(c1.tokens.raw(c1.codes[0]), "68fd1e64");
  EXPECT_EQ(c1.tokens.raw(c1.codes[1]), kMissingToken);
}

TEST(CtrCriteo, MalformedRowsNameLineAndColumn) {
  const auto dir = testing::scratch_dir("ctr-criteo-bad");
  auto path = testing::write_text(dir, "a.txt", criteo_row("1", "5", "x") + "1\t2\t3\n");
  expect_error([&] { load_criteo(path); }, {"a.txt", ":2:", "expected 40 columns", "found 3"});
  path = testing::write_text(dir, "b.txt", criteo_row("2", "5", "x"));
  expect_error([&] { load_criteo(path); }, {"b.txt", ":1:", "label", "0/1"});
  path = testing::write_text(dir, "c.txt", criteo_row("1", "five", "x"));
  expect_error([&] { load_criteo(path); }, {"c.txt", ":1:", "I1", "number"});
}

TEST(CtrAvazu, HourBecomesHourOfDayAndWeekday) {
  const auto dir = testing::scratch_dir("ctr-avazu");
  const auto path = testing::write_text(dir, "avazu.csv",
                                        "id,click,hour,C1,site_id\n"
                                        "7,0,14102100,1005,1fbe01fe\n"
                                        "8,1,14102623,1002,abc\n");
  const auto t = load_avazu(path);
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.labels, (std::vector<float>{0, 1}));
  ASSERT_EQ(t.find("id"), nullptr);  // a row identifier, not a feature
  const auto& hour = *t.find("hour_of_day");
  const auto& day = *t.find("weekday");
  EXPECT_EQ(hour.tokens.raw(hour.codes[1]), "23");
  EXPECT_EQ(day.tokens.raw(day.codes[0]), "2");  // 2014-10-21 was a Tuesday
  EXPECT_EQ(day.tokens.raw(day.codes[1]), "0");  // 2014-10-26 a Sunday

  const auto bad = testing::write_text(dir, "bad.csv", "id,click,hour,C1\n1,yes,14102100,5\n");
  expect_error([&] { load_avazu(bad); }, {"bad.csv", ":2:", "click", "0/1"});
  const auto short_row = testing::write_text(dir, "short.csv", "id,click,hour,C1\n1,0,14102100\n");
  expect_error([&] { load_avazu(short_row); }, {"short.csv", ":2:", "expected 4 columns"});
}

TEST(CtrCsv, SchemaNamesEveryColumn) {
  const auto dir = testing::scratch_dir("ctr-csv");
  const auto path = testing::write_text(dir, "ml.csv",
                                        "user_id,movie_id,rating,genres,age,title\n"
                                        "1,10,5,Comedy|Drama,25,\"Toy Story, The (1995)\"\n"
                                        "2,10,3,,35,X\n");
  const auto schema = CtrCsvSchema::parse(
      "user_id=cat+group, movie_id=cat, rating=label>=4, genres=multi/|, age=num, title=skip");
  const auto t = load_ctr_csv(path, schema);
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.labels, (std::vector<float>{1, 0}));
  EXPECT_EQ(t.groups, (std::vector<std::int64_t>{0, 1}));
  const auto& genres = *t.find("genres");
  EXPECT_EQ(genres.offsets, (std::vector<std::int64_t>{0, 2, 2}));
  EXPECT_EQ(t.find("age")->numbers[1], 35.0);
  EXPECT_EQ(t.find("title"), nullptr);

  expect_error([&] { load_ctr_csv(path, CtrCsvSchema::parse("user_id=cat,rating=label")); },
               {"ml.csv", "column 'movie_id' is not in the schema", "movie_id=skip"});
  expect_error(
      [&] {
        load_ctr_csv(path, CtrCsvSchema::parse("user_id=cat,movie_id=cat,rating=label>=4,"
                                               "genres=multi,age=num,title=skip,price=num"));
      },
      {"ml.csv", "price", "header does not have"});
  expect_error(
      [&] {
        load_ctr_csv(path,
                     CtrCsvSchema::parse(
                         "user_id=cat,movie_id=cat,rating=label,genres=multi,age=num,title=skip"));
      },
      {"ml.csv", ":2:", "rating", "0/1"});
  expect_error([&] { CtrCsvSchema::parse("a=cat,b=color,c=label"); }, {"b=color", "unknown kind"});
  expect_error([&] { CtrCsvSchema::parse("a=cat"); }, {"exactly one column must be the label"});
  const auto ragged = testing::write_text(dir, "ragged.csv", "a,y\n1,0\n2\n");
  expect_error([&] { load_ctr_csv(ragged, CtrCsvSchema::parse("a=cat,y=label")); },
               {"ragged.csv", ":3:", "expected 2 columns"});
}

TEST(CtrTable, RatedDataJoinsSideFeatures) {
  SyntheticConfig c;
  c.users = 60;
  c.items = 40;
  const auto data = generate_synthetic(c);
  const auto t = ctr_from_dataset(data, 4.0);
  ASSERT_EQ(t.rows(), data.size());
  for (const char* f : {"user", "item", "user_segment", "user_age", "item_category"})
    EXPECT_NE(t.find(f), nullptr) << f;
  std::size_t positives = 0;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    EXPECT_EQ(t.labels[r], data.interactions[r].rating >= 4 ? 1.0f : 0.0f);
    positives += t.labels[r] > 0;
  }
  EXPECT_GT(positives, 0u);
  EXPECT_LT(positives, t.rows());
}

TEST(CtrSplit, RandomIsSeededAndTemporalIsOrdered) {
  CtrTable t;
  t.name = "t";
  for (int r = 0; r < 100; ++r) {
    t.labels.push_back(static_cast<float>(r % 2));
    t.timestamps.push_back(100 - r);
  }
  const auto a = split_ctr(t, "random:0.8,0.1,0.1", 7), b = split_ctr(t, "random:0.8,0.1,0.1", 7);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.train.size(), 80u);
  EXPECT_EQ(a.valid.size(), 10u);
  EXPECT_EQ(a.test.size(), 10u);
  EXPECT_NE(a.train, split_ctr(t, "random:0.8,0.1,0.1", 8).train);
  std::set<std::int64_t> all(a.train.begin(), a.train.end());
  all.insert(a.valid.begin(), a.valid.end());
  all.insert(a.test.begin(), a.test.end());
  EXPECT_EQ(all.size(), 100u);
  const auto tmp = split_ctr(t, "temporal:0.8,0.1,0.1", 1);
  EXPECT_EQ(tmp.test.back(), 0);     // the latest row (time 100) is tested
  EXPECT_EQ(tmp.train.front(), 99);  // the earliest trains
  expect_error([&] { split_ctr(t, "random:0.8,0.3,0.1", 1); }, {"sum to 1"});
  expect_error([&] { split_ctr(t, "shuffle", 1); }, {"unknown CTR split"});
  t.timestamps.clear();
  expect_error([&] { split_ctr(t, "temporal", 1); }, {"no timestamps"});
}

// A table with one categorical, one multi-hot and one numeric field.
CtrTable small_table() {
  CtrTable t;
  t.name = "small";
  CtrRawField color{"color", CtrFieldKind::kCategorical, {}, {}, {}, {}};
  CtrRawField tags{"tags", CtrFieldKind::kMulti, {}, {}, {}, {}};
  CtrRawField price{"price", CtrFieldKind::kNumeric, {}, {}, {}, {}};
  const char* colors[] = {"red", "red", "blue", "blue", "green", "pink"};
  const std::vector<std::vector<std::string_view>> tag_rows = {{"a", "b"},      {"a"}, {},
                                                               {"b", "c", "a"}, {"c"}, {"z"}};
  const double prices[] = {1, 10, 100, NAN, 3, 1000};
  for (int r = 0; r < 6; ++r) {
    color.add_token(colors[r]);
    tags.add_tokens(tag_rows[static_cast<std::size_t>(r)]);
    price.add_number(prices[r]);
    t.labels.push_back(static_cast<float>(r % 2));
  }
  t.fields = {color, tags, price};
  return t;
}

TEST(CtrEncoder, VocabularyFromTrainingRowsOnlyWithOovBucket) {
  const auto t = small_table();
  CtrEncoderConfig c;
  c.min_count = 2;
  const auto e = CtrEncoder::fit(t, {0, 1, 2, 3, 4}, c);  // row 5 is not training data
  EXPECT_GT(e.local_id("color", "red"), 0);
  EXPECT_GT(e.local_id("color", "blue"), 0);
  EXPECT_EQ(e.local_id("color", "green"), 0);  // seen once < min_count: OOV
  EXPECT_EQ(e.local_id("color", "pink"), 0);   // only in a held-out row: OOV
  const auto& l = e.layout();
  ASSERT_EQ(l.sparse.size(), 2u);
  EXPECT_EQ(l.sparse[0].vocab, 3);  // OOV + red + blue
  EXPECT_EQ(l.sparse[1].slots, 3);  // the longest training tag list
  EXPECT_EQ(l.sparse[1].offset, 3);
  ASSERT_EQ(l.dense.size(), 1u);
  const auto rows = e.encode(t, {0, 5});
  ASSERT_EQ(rows.slots, 4);
  const auto pad = static_cast<std::int32_t>(l.vocab_size);
  EXPECT_EQ(rows.ids[0], e.local_id("color", "red"));
  EXPECT_EQ(rows.ids[4], 0);  // pink -> color's OOV id
  EXPECT_EQ(rows.ids[5], 3);  // z -> tags' OOV id (offset 3)
  EXPECT_EQ(rows.ids[6], pad);
  EXPECT_EQ(rows.ids[7], pad);
  EXPECT_NEAR(rows.values[0], std::log1p(1.0), 1e-6);  // log transform
  EXPECT_NEAR(rows.values[1], std::log1p(1000.0), 1e-4);
}

TEST(CtrEncoder, HashingNumericTransformsAndCrosses) {
  const auto t = small_table();
  CtrEncoderConfig c;
  c.min_count = 1;
  c.hash_buckets = 2;  // color has 4 distinct training values > 2: hashed
  c.numeric = "bucket:2";
  c.crosses = CtrEncoderConfig::parse_crosses("color*tags");
  const auto e = CtrEncoder::fit(t, {0, 1, 2, 3, 4, 5}, c);
  const auto& l = e.layout();
  ASSERT_EQ(l.sparse.size(), 4u);  // color, tags, price (bucketized), cross
  EXPECT_TRUE(l.sparse[0].hashed);
  EXPECT_EQ(l.sparse[0].vocab, 3);
  for (const char* v : {"red", "unseen"}) {
    const auto id = e.local_id("color", v);
    EXPECT_GE(id, 1);
    EXPECT_LE(id, 2);
  }
  EXPECT_EQ(l.sparse[2].kind, "bucketized");
  EXPECT_TRUE(l.dense.empty());
  EXPECT_TRUE(l.sparse[3].wide_only);
  EXPECT_EQ(l.sparse[3].name, "color*tags");
  EXPECT_GT(e.local_id("color*tags",
                       "red\x1f"
                       "a"),
            0);
  EXPECT_EQ(l.deep_sparse_fields(), 3);
  // Round trip through JSON (as stored in checkpoints): same encoding.
  const auto again = CtrEncoder::from_json(e.to_json());
  const auto a = e.encode(t, all_rows(t)), b = again.encode(t, all_rows(t));
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(a.values, b.values);

  CtrEncoderConfig criteo;
  criteo.numeric = "criteo";
  criteo.min_count = 1;
  const auto ec = CtrEncoder::fit(t, all_rows(t), criteo);
  EXPECT_GT(ec.local_id("price", "L21"), 0);  // floor(ln(100)^2) = 21
  EXPECT_GT(ec.local_id("price", "1"), 0);    // x <= 2 stays itself
  EXPECT_GT(ec.local_id("price", kMissingToken), 0);

  CtrEncoderConfig bad;
  bad.crosses = CtrEncoderConfig::parse_crosses("color*weight");
  expect_error([&] { CtrEncoder::fit(t, all_rows(t), bad); },
               {"color*weight", "no field 'weight'"});
  bad.crosses = CtrEncoderConfig::parse_crosses("color*price");
  expect_error([&] { CtrEncoder::fit(t, all_rows(t), bad); }, {"dense numeric", "bucket"});
  expect_error([] { CtrEncoderConfig::parse_crosses("color"); }, {"FIELD*FIELD"});
  bad.crosses.clear();
  bad.numeric = "quantile";
  expect_error([&] { CtrEncoder::fit(t, all_rows(t), bad); }, {"unknown numeric transform"});
}

// The samples in ../shared/data/ctr-samples, read end to end (format smoke tests, not accuracy).
class CtrSamples : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto root = testing::shared_data_root();
    if (root.empty()) GTEST_SKIP() << "../shared/data not found: CTR sample tests skipped";
    dir_ = root + "/ctr-samples";
  }
  std::string dir_;
};

TEST_F(CtrSamples, CriteoAvazuAndMovieLensReadEndToEnd) {
  const auto criteo = open_ctr_table(dir_ + "/criteo_sample.txt", {});
  EXPECT_EQ(criteo.name, "criteo");
  EXPECT_EQ(criteo.rows(), 200u);
  float clicks = 0;
  for (float y : criteo.labels) clicks += y;
  EXPECT_EQ(clicks, 49);
  const auto avazu = open_ctr_table(dir_ + "/avazu_sample.txt", {});
  EXPECT_EQ(avazu.name, "avazu");
  EXPECT_EQ(avazu.rows(), 100u);
  clicks = 0;
  for (float y : avazu.labels) clicks += y;
  EXPECT_EQ(clicks, 20);
  CtrOpenOptions o;
  o.schema =
      "user_id=cat+group,movie_id=cat,rating=label>=4,timestamp=time,title=skip,"
      "genres=multi/|,gender=cat,age=cat,occupation=cat,zip=cat";
  const auto ml = open_ctr_table(dir_ + "/movielens_sample.txt", o);
  EXPECT_EQ(ml.rows(), 200u);
  EXPECT_EQ(ml.timestamps.size(), 200u);
  // Recognised without a schema by its header (it was taken for a sequence file), with the same
  // rows and labels as the hand-written schema at threshold 4.
  CtrOpenOptions detected;
  detected.threshold = 4;
  const auto auto_ml = open_ctr_table(dir_ + "/movielens_sample.txt", detected);
  EXPECT_EQ(auto_ml.rows(), ml.rows());
  EXPECT_EQ(auto_ml.labels, ml.labels);
  for (const auto* t : {&criteo, &avazu, &ml}) {
    const auto split = split_ctr(*t, "random:0.8,0.1,0.1", 1);
    const auto e = CtrEncoder::fit(*t, split.train, {});
    const auto rows = e.encode(*t, split.test);
    EXPECT_EQ(rows.rows, static_cast<std::int64_t>(split.test.size()));
    for (auto id : rows.ids) ASSERT_LE(id, e.layout().vocab_size);
  }
}

}  // namespace
}  // namespace recpress
