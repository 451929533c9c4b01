// RecBole atomic files (Zhao et al., CIKM 2021): tab-separated with a typed header such as
// "user_id:token\titem_id:token\trating:float\ttimestamp:float". Types: token, token_seq
// (space-separated tokens), float, float_seq. `<name>.user` / `<name>.item` beside the `.inter`
// file give side features; their token/token_seq columns become categorical fields.
#include <filesystem>

#include "data/loaders/csv_util.h"

namespace recpress {
namespace {

using loaders::LineParser;
using loaders::LineProblem;

struct Column {
  std::string name;
  std::string type;
};

std::vector<Column> parse_header(TextReader& reader) {
  std::string_view line;
  if (!reader.next_line(line)) throw DataError(reader.path(), 0, "", "empty file");
  std::vector<std::string_view> f;
  split_fields(line, '\t', f);
  std::vector<Column> cols;
  for (auto raw : f) {
    const auto colon = raw.rfind(':');
    if (colon == std::string_view::npos) {
      throw DataError(reader.path(), 1, std::string(raw),
                      "header column lacks a type (expected name:token|token_seq|float|float_seq)");
    }
    Column c{std::string(trim(raw.substr(0, colon))), std::string(trim(raw.substr(colon + 1)))};
    if (c.type != "token" && c.type != "token_seq" && c.type != "float" && c.type != "float_seq") {
      throw DataError(reader.path(), 1, c.name, "unknown type '" + c.type + "'");
    }
    cols.push_back(std::move(c));
  }
  return cols;
}

int column_index(const std::vector<Column>& cols, const std::string& name) {
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (cols[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

void read_side_file(const std::string& path, const std::string& id_field, const IdMap& ids,
                    FeatureTable& table, const LoadOptions& options, LoadReport& report) {
  TextReader reader(path);
  const auto cols = parse_header(reader);
  const int id_col = column_index(cols, id_field);
  if (id_col < 0) throw DataError(path, 1, id_field, "missing id column");
  std::vector<int> feature_cols;
  std::vector<FeatureBuilder> builders;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (static_cast<int>(i) == id_col) continue;
    if (cols[i].type == "token" || cols[i].type == "token_seq") {
      feature_cols.push_back(static_cast<int>(i));
      builders.emplace_back(cols[i].name);
    }
  }
  LineParser parse(reader);
  std::vector<std::string_view> f, seq;
  loaders::for_each_line(reader, options, report, [&](std::string_view line) {
    split_fields(line, '\t', f);
    parse.expect_columns(f, cols.size(), "as many as the header");
    const auto id = ids.find(parse.token(f[static_cast<std::size_t>(id_col)], id_field));
    if (!id) return;
    for (std::size_t k = 0; k < feature_cols.size(); ++k) {
      const auto& col = cols[static_cast<std::size_t>(feature_cols[k])];
      const std::string_view value = f[static_cast<std::size_t>(feature_cols[k])];
      std::vector<std::string> tokens;
      if (col.type == "token_seq") {
        split_fields(value, ' ', seq);
        for (auto t : seq) {
          if (!trim(t).empty()) tokens.emplace_back(trim(t));
        }
      } else if (!trim(value).empty()) {
        tokens.emplace_back(trim(value));
      }
      builders[k].set(*id, tokens);
    }
  });
  for (auto& b : builders) table.fields.push_back(b.finish(ids.size()));
}

}  // namespace

Dataset load_atomic(const std::string& path, const LoadOptions& options, LoadReport& report) {
  std::string inter = path;
  if (directory_exists(path)) {
    const std::string stem = std::filesystem::path(path).filename().string();
    inter = loaders::find_with_gz(path, stem + ".inter");
    if (inter.empty()) {
      throw DataError(loaders::join_path(path, stem + ".inter"), 0, "", "file not found");
    }
  }
  TextReader reader(inter);
  const auto cols = parse_header(reader);
  const int user_col = column_index(cols, "user_id");
  const int item_col = column_index(cols, "item_id");
  const int rating_col = column_index(cols, "rating");
  const int time_col = column_index(cols, "timestamp");
  if (user_col < 0) throw DataError(inter, 1, "user_id", "missing column user_id:token");
  if (item_col < 0) throw DataError(inter, 1, "item_id", "missing column item_id:token");
  Dataset data;
  std::string stem = std::filesystem::path(inter).filename().string();
  if (stem.size() > 3 && stem.substr(stem.size() - 3) == ".gz") stem.resize(stem.size() - 3);
  stem = stem.substr(0, stem.rfind('.'));
  data.name = stem;
  data.source = inter;
  data.has_ratings = rating_col >= 0;
  data.has_timestamps = time_col >= 0;
  LineParser parse(reader);
  std::vector<std::string_view> f;
  loaders::for_each_line(reader, options, report, [&](std::string_view line) {
    split_fields(line, '\t', f);
    parse.expect_columns(f, cols.size(), "as many as the header");
    const auto user = parse.token(f[static_cast<std::size_t>(user_col)], "user_id");
    const auto item = parse.token(f[static_cast<std::size_t>(item_col)], "item_id");
    const double rating =
        rating_col >= 0 ? parse.number(f[static_cast<std::size_t>(rating_col)], "rating") : 1.0;
    const double ts = time_col >= 0
                          ? parse.number(f[static_cast<std::size_t>(time_col)], "timestamp")
                          : static_cast<double>(reader.line_number());
    loaders::add_interaction(data, user, item, static_cast<float>(rating),
                             static_cast<std::int64_t>(ts));
  });
  loaders::require_non_empty(data, inter);
  const std::string dir = std::filesystem::path(inter).parent_path().string();
  if (auto u = loaders::find_with_gz(dir, stem + ".user"); !u.empty()) {
    read_side_file(u, "user_id", data.users, data.user_features, options, report);
  }
  if (auto i = loaders::find_with_gz(dir, stem + ".item"); !i.empty()) {
    read_side_file(i, "item_id", data.items, data.item_features, options, report);
  }
  return data;
}

}  // namespace recpress
