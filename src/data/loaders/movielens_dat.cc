// MovieLens-1M / 10M "::" files: ratings.dat "UserID::MovieID::Rating::Timestamp", users.dat
// "UserID::Gender::Age::Occupation::Zip-code", movies.dat "MovieID::Title::Genres" (ISO-8859-1,
// genres '|'-separated). 10M has no users.dat; that is fine.
#include <algorithm>
#include <filesystem>

#include "data/loaders/csv_util.h"

namespace recpress {
namespace {

using loaders::LineParser;
using loaders::LineProblem;

// ratings.dat, ratings.dat.gz, or else the first ratings*.dat* in the folder (e.g. a partial copy).
std::string find_ratings_file(const std::string& dir) {
  if (auto p = loaders::find_with_gz(dir, "ratings.dat"); !p.empty()) return p;
  std::vector<std::string> candidates;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.rfind("ratings", 0) == 0 &&
        name.find(".dat") != std::string::npos) {
      candidates.push_back(entry.path().string());
    }
  }
  std::sort(candidates.begin(), candidates.end());
  return candidates.empty() ? "" : candidates.front();
}

void read_users(Dataset& data, const std::string& path, const LoadOptions& options,
                LoadReport& report) {
  TextReader reader(path);
  LineParser parse(reader);
  FeatureBuilder gender("gender"), age("age"), occupation("occupation");
  std::vector<std::string_view> f;
  loaders::for_each_line(reader, options, report, [&](std::string_view line) {
    split_fields(line, std::string_view("::"), f);
    parse.expect_columns(f, 5, "UserID::Gender::Age::Occupation::Zip-code");
    const auto id = data.users.find(parse.token(f[0], "UserID"));
    parse.integer(f[2], "Age");
    parse.integer(f[3], "Occupation");
    if (!id) return;
    gender.set(*id, {std::string(trim(f[1]))});
    age.set(*id, {std::string(trim(f[2]))});
    occupation.set(*id, {std::string(trim(f[3]))});
  });
  data.user_features.fields.push_back(gender.finish(data.num_users()));
  data.user_features.fields.push_back(age.finish(data.num_users()));
  data.user_features.fields.push_back(occupation.finish(data.num_users()));
}

void read_movies(Dataset& data, const std::string& path, const LoadOptions& options,
                 LoadReport& report) {
  TextReader reader(path);
  LineParser parse(reader);
  FeatureBuilder genres("genre");
  data.item_titles.assign(static_cast<std::size_t>(data.num_items()), "");
  std::vector<std::string_view> f, g;
  loaders::for_each_line(reader, options, report, [&](std::string_view line) {
    split_fields(line, std::string_view("::"), f);
    parse.expect_columns(f, 3, "MovieID::Title::Genres");
    const auto id = data.items.find(parse.token(f[0], "MovieID"));
    if (!id) return;
    data.item_titles[static_cast<std::size_t>(*id)] = latin1_to_utf8(f[1]);
    split_fields(f[2], '|', g);
    std::vector<std::string> tokens;
    for (auto t : g) {
      if (!trim(t).empty()) tokens.emplace_back(trim(t));
    }
    genres.set(*id, tokens);
  });
  data.item_features.fields.push_back(genres.finish(data.num_items()));
}

}  // namespace

Dataset load_movielens_dat(const std::string& path, const LoadOptions& options,
                           LoadReport& report) {
  const bool is_dir = directory_exists(path);
  const std::string dir = is_dir ? path : std::filesystem::path(path).parent_path().string();
  const std::string ratings = is_dir ? find_ratings_file(path) : path;
  if (ratings.empty())
    throw DataError(loaders::join_path(dir, "ratings.dat"), 0, "", "file not found");
  Dataset data;
  data.name = std::filesystem::path(is_dir ? path : dir).filename().string();
  data.source = ratings;
  data.has_ratings = true;
  data.has_timestamps = true;
  TextReader reader(ratings);
  loaders::read_rating_lines(
      reader,
      "::", {"UserID", "MovieID", "Rating", "Timestamp", "UserID::MovieID::Rating::Timestamp"},
      data, options, report);
  loaders::require_non_empty(data, ratings);
  if (auto users = loaders::find_with_gz(dir, "users.dat"); !users.empty()) {
    read_users(data, users, options, report);
  }
  if (auto movies = loaders::find_with_gz(dir, "movies.dat"); !movies.empty()) {
    read_movies(data, movies, options, report);
  }
  return data;
}

}  // namespace recpress
