// Shared pieces of the text loaders: strict field parsing with file/line/field errors, lenient
// mode bookkeeping, RFC 4180 quoted CSV splitting.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.h"
#include "core/text_reader.h"
#include "data/dataset.h"
#include "data/loader.h"

namespace recpress::loaders {

// Thrown inside a line's parsing; the caller decides (strict: rethrow, lenient: count and skip).
class LineProblem : public DataError {
 public:
  using DataError::DataError;
};

class LineParser {
 public:
  LineParser(const TextReader& reader) : reader_(reader) {}
  [[noreturn]] void fail(const std::string& field, const std::string& message) const;
  std::int64_t integer(std::string_view text, const std::string& field) const;
  double number(std::string_view text, const std::string& field) const;
  // Non-empty identifier token (trimmed).
  std::string_view token(std::string_view text, const std::string& field) const;
  void expect_columns(const std::vector<std::string_view>& fields, std::size_t n,
                      const std::string& what) const;
  void expect_min_columns(const std::vector<std::string_view>& fields, std::size_t n,
                          const std::string& what) const;
  // A click label: exactly "0" or "1" (spaces allowed).
  float binary_label(std::string_view text, const std::string& field) const;

 private:
  const TextReader& reader_;
};

// Strict mode rethrows; lenient mode records the problem and returns so the line is skipped.
void handle_problem(const LineProblem& problem, const LoadOptions& options, LoadReport& report);

// Calls `parse_line` for every non-blank line; a LineProblem it throws fails the load (strict) or
// skips the line and is counted (lenient).
void for_each_line(TextReader& reader, const LoadOptions& options, LoadReport& report,
                   const std::function<void(std::string_view line)>& parse_line);

// The four columns most rating files have, in this order, with their names as the format's
// documentation spells them (they appear in error messages).
struct RatingColumns {
  const char* user;
  const char* item;
  const char* rating;
  const char* timestamp;
  const char* layout;  // e.g. "UserID::MovieID::Rating::Timestamp"
};
// Reads "user SEP item SEP rating SEP timestamp" lines into `data`; user and item ids must be
// integers (the formats that use this number them).
void read_rating_lines(TextReader& reader, std::string_view separator, const RatingColumns& columns,
                       Dataset& data, const LoadOptions& options, LoadReport& report);

// Appends one interaction, interning raw ids.
void add_interaction(Dataset& data, std::string_view user, std::string_view item, float rating,
                     std::int64_t timestamp);

// Fails if the file had no usable line.
void require_non_empty(const Dataset& data, const std::string& path);

// Split one CSV line honouring double quotes ("a, b" stays one field; "" is a literal quote).
// Returns false if a quote is left open.
bool split_csv(std::string_view line, char delimiter, std::vector<std::string>& out);

// Path helpers.
std::string join_path(const std::string& dir, const std::string& name);
// First existing of dir/name, dir/name.gz.
std::string find_with_gz(const std::string& dir, const std::string& name);

}  // namespace recpress::loaders
