// MovieLens-100K (GroupLens 1998): u.data "user\titem\trating\ttimestamp", u.user
// "id|age|gender|occupation|zip", u.item "id|title|release|video release|url|19 genre flags"
// (ISO-8859-1), u.genre "name|index".
#include "data/loaders/csv_util.h"

namespace recpress {
namespace {

using loaders::LineParser;
using loaders::LineProblem;

// Buckets of MovieLens-1M's users.dat, so both datasets give comparable "age" features.
std::string age_bucket(std::int64_t age) {
  if (age < 18) return "1";
  if (age < 25) return "18";
  if (age < 35) return "25";
  if (age < 45) return "35";
  if (age < 50) return "45";
  if (age < 56) return "50";
  return "56";
}

void read_users(Dataset& data, const std::string& path, const LoadOptions& options,
                LoadReport& report) {
  TextReader reader(path);
  LineParser parse(reader);
  FeatureBuilder age("age"), gender("gender"), occupation("occupation");
  std::vector<std::string_view> f;
  loaders::for_each_line(reader, options, report, [&](std::string_view line) {
    split_fields(line, '|', f);
    parse.expect_columns(f, 5, "id|age|gender|occupation|zip");
    const auto id = data.users.find(parse.token(f[0], "user_id"));
    const std::int64_t years = parse.integer(f[1], "age");
    if (!id) return;  // a user without ratings is not part of the interaction data
    age.set(*id, {age_bucket(years)});
    gender.set(*id, {std::string(trim(f[2]))});
    occupation.set(*id, {std::string(trim(f[3]))});
  });
  data.user_features.fields.push_back(age.finish(data.num_users()));
  data.user_features.fields.push_back(gender.finish(data.num_users()));
  data.user_features.fields.push_back(occupation.finish(data.num_users()));
}

std::vector<std::string> read_genre_names(const std::string& dir) {
  std::vector<std::string> names;
  const std::string path = loaders::find_with_gz(dir, "u.genre");
  if (path.empty()) return names;
  TextReader reader(path);
  std::string_view line;
  std::vector<std::string_view> f;
  while (reader.next_line(line)) {
    if (trim(line).empty()) continue;
    split_fields(line, '|', f);
    if (!f.empty()) names.emplace_back(trim(f[0]));
  }
  return names;
}

void read_items(Dataset& data, const std::string& dir, const std::string& path,
                const LoadOptions& options, LoadReport& report) {
  const std::vector<std::string> genre_names = read_genre_names(dir);
  TextReader reader(path);
  LineParser parse(reader);
  FeatureBuilder genres("genre");
  data.item_titles.assign(static_cast<std::size_t>(data.num_items()), "");
  std::vector<std::string_view> f;
  loaders::for_each_line(reader, options, report, [&](std::string_view line) {
    split_fields(line, '|', f);
    parse.expect_columns(f, 24, "id|title|release|video|url + 19 genre flags");
    const auto id = data.items.find(parse.token(f[0], "item_id"));
    if (!id) return;
    data.item_titles[static_cast<std::size_t>(*id)] = latin1_to_utf8(f[1]);
    std::vector<std::string> tokens;
    for (std::size_t g = 0; g < 19; ++g) {
      const std::int64_t flag = parse.integer(f[5 + g], "genre flag " + std::to_string(g));
      if (flag != 0 && flag != 1) parse.fail("genre flag " + std::to_string(g), "expected 0 or 1");
      if (flag == 1) {
        tokens.push_back(g < genre_names.size() ? genre_names[g] : "genre" + std::to_string(g));
      }
    }
    genres.set(*id, tokens);
  });
  data.item_features.fields.push_back(genres.finish(data.num_items()));
}

}  // namespace

Dataset load_movielens_100k(const std::string& dir, const LoadOptions& options,
                            LoadReport& report) {
  const std::string ratings = loaders::find_with_gz(dir, "u.data");
  if (ratings.empty()) throw DataError(loaders::join_path(dir, "u.data"), 0, "", "file not found");
  Dataset data;
  data.name = "ml-100k";
  data.source = ratings;
  data.has_ratings = true;
  data.has_timestamps = true;
  TextReader reader(ratings);
  loaders::read_rating_lines(reader, "\t",
                             {"user_id", "item_id", "rating", "timestamp",
                              "user, item, rating, timestamp separated by tabs"},
                             data, options, report);
  loaders::require_non_empty(data, ratings);
  if (const auto users = loaders::find_with_gz(dir, "u.user"); !users.empty()) {
    read_users(data, users, options, report);
  } else {
    report.notes.push_back("u.user not found: no user features");
  }
  if (const auto items = loaders::find_with_gz(dir, "u.item"); !items.empty()) {
    read_items(data, dir, items, options, report);
  } else {
    report.notes.push_back("u.item not found: no item titles or genres");
  }
  return data;
}

}  // namespace recpress
