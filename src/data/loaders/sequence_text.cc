// SASRec-style sequence text (Kang & McAuley, ICDM 2018): one "user item" pair per line,
// space-separated, in time order; also accepted: "user item1 item2 ..." (a whole sequence per
// line). There are no timestamps, so the line order (then the position in the line) is the time.
#include "data/loaders/csv_util.h"

namespace recpress {

using loaders::LineParser;
using loaders::LineProblem;

Dataset load_sequence_text(const std::string& path, const LoadOptions& options,
                           LoadReport& report) {
  Dataset data;
  data.name = "sequence";
  data.source = path;
  data.has_ratings = false;
  data.has_timestamps = false;
  TextReader reader(path);
  LineParser parse(reader);
  std::vector<std::string_view> f;
  std::int64_t order = 0;
  loaders::for_each_line(reader, options, report, [&](std::string_view line) {
    std::string_view t = trim(line);
    split_fields(t, t.find('\t') != std::string_view::npos ? '\t' : ' ', f);
    std::vector<std::string_view> tokens;
    for (auto x : f) {
      if (!trim(x).empty()) tokens.push_back(trim(x));
    }
    if (tokens.size() < 2) parse.fail("item", "expected 'user item' (at least 2 columns)");
    for (std::size_t k = 1; k < tokens.size(); ++k) {
      loaders::add_interaction(data, tokens[0], tokens[k], 1.0f, order++);
    }
  });
  loaders::require_non_empty(data, path);
  return data;
}

}  // namespace recpress
