// Generic delimited text with a user-given column mapping (by header name or 0-based index),
// e.g. `--columns user=customer,item=sku,rating=stars,time=ts --delimiter ';'`.
#include <algorithm>

#include "data/loaders/csv_util.h"

namespace recpress {
namespace {

using loaders::LineParser;
using loaders::LineProblem;

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int resolve_column(const std::string& spec, const std::vector<std::string>& header,
                   const std::string& role, const std::string& path) {
  if (spec.empty()) return -1;
  if (all_digits(spec)) return std::stoi(spec);
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (trim(header[i]) == spec) return static_cast<int>(i);
  }
  std::string names;
  for (const auto& h : header) names += (names.empty() ? "" : ", ") + h;
  throw DataError(
      path, 1, role,
      "column '" + spec + "' not in header" + (names.empty() ? "" : " (" + names + ")"));
}

}  // namespace

Dataset load_generic_csv(const std::string& path, const LoadOptions& options, LoadReport& report) {
  const ColumnMapping& m = options.columns;
  TextReader reader(path);
  LineParser parse(reader);
  std::vector<std::string> header, f;
  if (m.header) {
    std::string_view header_line;
    if (!reader.next_line(header_line)) throw DataError(path, 0, "", "empty file");
    loaders::split_csv(header_line, m.delimiter, header);
  } else {
    for (const auto* spec : {&m.user, &m.item, &m.rating, &m.timestamp}) {
      if (!spec->empty() && !all_digits(*spec)) {
        throw Error("--columns: '" + *spec +
                    "' must be a 0-based column index when the file has no header");
      }
    }
  }
  const int user_col = resolve_column(m.user, header, "user", path);
  const int item_col = resolve_column(m.item, header, "item", path);
  const int rating_col = resolve_column(m.rating, header, "rating", path);
  const int time_col = resolve_column(m.timestamp, header, "timestamp", path);
  if (user_col < 0 || item_col < 0) throw Error("--columns: user and item columns are required");
  const int needed = std::max({user_col, item_col, rating_col, time_col}) + 1;
  Dataset data;
  data.name = "csv";
  data.source = path;
  data.has_ratings = rating_col >= 0;
  data.has_timestamps = time_col >= 0;
  loaders::for_each_line(reader, options, report, [&](std::string_view line) {
    if (!loaders::split_csv(line, m.delimiter, f)) parse.fail("", "unterminated quote");
    if (m.header && f.size() > header.size())
      parse.fail("", "expected " + std::to_string(header.size()) +
                         " columns (as the header), found " + std::to_string(f.size()));
    if (static_cast<int>(f.size()) < needed) {
      parse.fail("", "expected at least " + std::to_string(needed) + " columns, found " +
                         std::to_string(f.size()));
    }
    const auto user = parse.token(f[static_cast<std::size_t>(user_col)], "user");
    const auto item = parse.token(f[static_cast<std::size_t>(item_col)], "item");
    const double rating =
        rating_col >= 0 ? parse.number(f[static_cast<std::size_t>(rating_col)], "rating") : 1.0;
    const std::int64_t ts = time_col >= 0 ? static_cast<std::int64_t>(parse.number(
                                                f[static_cast<std::size_t>(time_col)], "timestamp"))
                                          : static_cast<std::int64_t>(reader.line_number());
    loaders::add_interaction(data, user, item, static_cast<float>(rating), ts);
  });
  loaders::require_non_empty(data, path);
  return data;
}

}  // namespace recpress
