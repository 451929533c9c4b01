// The NCF paper's files (He et al., WWW 2017,
// github.com/hexiangnan/neural_collaborative_filtering):
// "*.rating": "user\titem\trating\ttimestamp" (0-based ids); "*.negative":
// "(user,item)\tneg1\t...".
#include "data/loaders/csv_util.h"

namespace recpress {

using loaders::LineParser;
using loaders::LineProblem;

Dataset load_ncf_rating(const std::string& path, const LoadOptions& options, LoadReport& report) {
  Dataset data;
  data.name = "ncf";
  data.source = path;
  data.has_ratings = true;
  data.has_timestamps = true;
  TextReader reader(path);
  loaders::read_rating_lines(
      reader, "\t",
      {"user", "item", "rating", "timestamp", "user, item, rating, timestamp separated by tabs"},
      data, options, report);
  loaders::require_non_empty(data, path);
  return data;
}

std::vector<RawNegativeRow> read_ncf_negatives(const std::string& path) {
  TextReader reader(path);
  LineParser parse(reader);
  std::vector<RawNegativeRow> rows;
  std::vector<std::string_view> f, pair;
  std::string_view line;
  while (reader.next_line(line)) {
    if (trim(line).empty()) continue;
    split_fields(line, '\t', f);
    parse.expect_min_columns(f, 2, "(user,item) followed by negative items");
    const std::string_view head = trim(f[0]);
    if (head.size() < 5 || head.front() != '(' || head.back() != ')') {
      parse.fail("(user,item)", "expected '(user,item)', got " + quote_excerpt(head));
    }
    split_fields(head.substr(1, head.size() - 2), ',', pair);
    if (pair.size() != 2)
      parse.fail("(user,item)", "expected '(user,item)', got " + quote_excerpt(head));
    RawNegativeRow row;
    row.line = reader.line_number();
    row.user = std::string(parse.token(pair[0], "user"));
    row.positive = std::string(parse.token(pair[1], "item"));
    for (std::size_t i = 1; i < f.size(); ++i) {
      if (trim(f[i]).empty()) continue;
      row.negatives.emplace_back(parse.token(f[i], "negative " + std::to_string(i)));
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty()) throw DataError(path, 0, "", "no rows found (empty file?)");
  return rows;
}

}  // namespace recpress
