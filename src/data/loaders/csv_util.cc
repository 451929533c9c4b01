#include "data/loaders/csv_util.h"

namespace recpress::loaders {
namespace {
constexpr std::size_t kMaxRecordedProblems = 5;
}

void LineParser::fail(const std::string& field, const std::string& message) const {
  throw LineProblem(reader_.path(), reader_.line_number(), field, message);
}

std::int64_t LineParser::integer(std::string_view text, const std::string& field) const {
  long long v = 0;
  if (!parse_int64(text, v)) fail(field, "expected an integer, got " + quote_excerpt(text));
  return v;
}

double LineParser::number(std::string_view text, const std::string& field) const {
  double v = 0;
  if (!parse_double(text, v)) fail(field, "expected a number, got " + quote_excerpt(text));
  return v;
}

float LineParser::binary_label(std::string_view text, const std::string& field) const {
  text = trim(text);
  if (text == "0") return 0.0f;
  if (text == "1") return 1.0f;
  fail(field, "expected a 0/1 label, got " + quote_excerpt(text));
}

std::string_view LineParser::token(std::string_view text, const std::string& field) const {
  text = trim(text);
  if (text.empty()) fail(field, "empty id");
  return text;
}

void LineParser::expect_columns(const std::vector<std::string_view>& fields, std::size_t n,
                                const std::string& what) const {
  if (fields.size() != n) {
    fail("", "expected " + std::to_string(n) + " columns (" + what + "), found " +
                 std::to_string(fields.size()));
  }
}

void LineParser::expect_min_columns(const std::vector<std::string_view>& fields, std::size_t n,
                                    const std::string& what) const {
  if (fields.size() < n) {
    fail("", "expected at least " + std::to_string(n) + " columns (" + what + "), found " +
                 std::to_string(fields.size()));
  }
}

void handle_problem(const LineProblem& problem, const LoadOptions& options, LoadReport& report) {
  if (!options.lenient) throw;
  ++report.skipped_lines;
  if (report.problems.size() < kMaxRecordedProblems) report.problems.push_back(problem.what());
}

void for_each_line(TextReader& reader, const LoadOptions& options, LoadReport& report,
                   const std::function<void(std::string_view line)>& parse_line) {
  std::string_view line;
  while (reader.next_line(line)) {
    if (trim(line).empty()) continue;
    try {
      parse_line(line);
    } catch (const LineProblem& p) {
      handle_problem(p, options, report);
    }
  }
}

void read_rating_lines(TextReader& reader, std::string_view separator, const RatingColumns& c,
                       Dataset& data, const LoadOptions& options, LoadReport& report) {
  LineParser parse(reader);
  std::vector<std::string_view> f;
  for_each_line(reader, options, report, [&](std::string_view line) {
    if (separator.size() == 1) {
      split_fields(line, separator[0], f);
    } else {
      split_fields(line, separator, f);
    }
    parse.expect_columns(f, 4, c.layout);
    const auto user = parse.token(f[0], c.user);
    const auto item = parse.token(f[1], c.item);
    // Every format read here (MovieLens, NCF) numbers its users and items: 'x' is a broken line,
    // not a new id.
    parse.integer(user, c.user);
    parse.integer(item, c.item);
    const double rating = parse.number(f[2], c.rating);
    const std::int64_t ts = parse.integer(f[3], c.timestamp);
    add_interaction(data, user, item, static_cast<float>(rating), ts);
  });
}

void add_interaction(Dataset& data, std::string_view user, std::string_view item, float rating,
                     std::int64_t timestamp) {
  Interaction x;
  x.user = data.users.intern(user);
  x.item = data.items.intern(item);
  x.rating = rating;
  x.timestamp = timestamp;
  data.interactions.push_back(x);
}

void require_non_empty(const Dataset& data, const std::string& path) {
  if (data.interactions.empty())
    throw DataError(path, 0, "", "no interactions found (empty file?)");
}

bool split_csv(std::string_view line, char delimiter, std::vector<std::string>& out) {
  out.clear();
  std::string field;
  bool in_quotes = false;
  bool quoted_field = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        field += c;
      }
    } else if (c == '"' && (field.empty() && !quoted_field)) {
      in_quotes = true;
      quoted_field = true;
    } else if (c == delimiter) {
      out.push_back(std::move(field));
      field.clear();
      quoted_field = false;
    } else {
      field += c;
    }
  }
  out.push_back(std::move(field));
  return !in_quotes;
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string find_with_gz(const std::string& dir, const std::string& name) {
  const std::string plain = join_path(dir, name);
  if (file_exists(plain)) return plain;
  if (file_exists(plain + ".gz")) return plain + ".gz";
  return "";
}

}  // namespace recpress::loaders
