// MovieLens "latest" / 20M / 25M CSV: ratings.csv "userId,movieId,rating,timestamp" with a
// header, movies.csv "movieId,title,genres" (titles may be quoted and contain commas), UTF-8.
#include <filesystem>

#include "data/loaders/csv_util.h"

namespace recpress {
namespace {

using loaders::LineParser;
using loaders::LineProblem;

void read_movies(Dataset& data, const std::string& path, const LoadOptions& options,
                 LoadReport& report) {
  TextReader reader(path);
  LineParser parse(reader);
  FeatureBuilder genres("genre");
  data.item_titles.assign(static_cast<std::size_t>(data.num_items()), "");
  std::vector<std::string> f;
  std::vector<std::string_view> g;
  std::string_view line;
  bool first = true;
  while (reader.next_line(line)) {
    if (first) {  // header
      first = false;
      continue;
    }
    if (trim(line).empty()) continue;
    try {
      if (!loaders::split_csv(line, ',', f)) parse.fail("title", "unterminated quote");
      if (f.size() != 3) {
        parse.fail("",
                   "expected 3 columns (movieId,title,genres), found " + std::to_string(f.size()));
      }
      const auto id = data.items.find(parse.token(f[0], "movieId"));
      if (!id) continue;
      data.item_titles[static_cast<std::size_t>(*id)] = f[1];
      split_fields(f[2], '|', g);
      std::vector<std::string> tokens;
      for (auto t : g) {
        if (!trim(t).empty() && t != "(no genres listed)") tokens.emplace_back(trim(t));
      }
      genres.set(*id, tokens);
    } catch (const LineProblem& p) {
      loaders::handle_problem(p, options, report);
    }
  }
  data.item_features.fields.push_back(genres.finish(data.num_items()));
}

}  // namespace

Dataset load_movielens_csv(const std::string& path, const LoadOptions& options,
                           LoadReport& report) {
  const bool is_dir = directory_exists(path);
  const std::string dir = is_dir ? path : std::filesystem::path(path).parent_path().string();
  const std::string ratings = is_dir ? loaders::find_with_gz(path, "ratings.csv") : path;
  if (ratings.empty())
    throw DataError(loaders::join_path(dir, "ratings.csv"), 0, "", "file not found");
  Dataset data;
  data.name = std::filesystem::path(is_dir ? path : dir).filename().string();
  data.source = ratings;
  data.has_ratings = true;
  data.has_timestamps = true;
  TextReader reader(ratings);
  std::vector<std::string_view> f;
  std::string_view line;
  if (!reader.next_line(line)) throw DataError(ratings, 0, "", "empty file");
  split_fields(line, ',', f);
  if (f.size() != 4 || trim(f[0]) != "userId" || trim(f[1]) != "movieId") {
    throw DataError(
        ratings, 1, "",
        "expected header 'userId,movieId,rating,timestamp', got " + quote_excerpt(line));
  }
  loaders::read_rating_lines(
      reader, ",", {"userId", "movieId", "rating", "timestamp", "userId,movieId,rating,timestamp"},
      data, options, report);
  loaders::require_non_empty(data, ratings);
  if (auto movies = loaders::find_with_gz(dir, "movies.csv"); !movies.empty()) {
    read_movies(data, movies, options, report);
  }
  return data;
}

}  // namespace recpress
