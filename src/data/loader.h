// Loading datasets: one file per format under loaders/, all reading plain or .gz text.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace recpress {

// Generic CSV/TSV column mapping. Columns are header names, or 0-based indices when the file has
// no header (or when given as digits).
struct ColumnMapping {
  std::string user = "user";
  std::string item = "item";
  std::string rating;     // empty: implicit (every row is a positive)
  std::string timestamp;  // empty: file order
  char delimiter = ',';
  bool header = true;
};

struct LoadOptions {
  // Skip malformed lines instead of failing; the report then says how many and the first ones.
  bool lenient = false;
  // Force a format instead of detecting it: ml-100k, ml-dat, ml-csv, ncf, atomic, sequence, csv.
  std::string format;
  ColumnMapping columns;  // for format "csv"
};

struct LoadReport {
  std::size_t skipped_lines = 0;
  std::vector<std::string> problems;  // the first few skipped-line messages (lenient mode)
  std::vector<std::string> notes;     // e.g. "u.user not found, no user features"
};

// Formats known to load_path(), with a one-line description each (for --help and errors).
std::vector<std::pair<std::string, std::string>> known_formats();

// Load a file or directory in the given (or detected) format. Throws DataError / Error.
Dataset load_path(const std::string& path, const LoadOptions& options, LoadReport& report);

// Detect the format of a path (file or directory); throws Error naming what was looked for.
std::string detect_format(const std::string& path);

// Per-format loaders (loaders/*.cc).
Dataset load_movielens_100k(const std::string& dir, const LoadOptions& options, LoadReport& report);
Dataset load_movielens_dat(const std::string& path, const LoadOptions& options, LoadReport& report);
Dataset load_movielens_csv(const std::string& path, const LoadOptions& options, LoadReport& report);
Dataset load_ncf_rating(const std::string& path, const LoadOptions& options, LoadReport& report);
Dataset load_atomic(const std::string& path, const LoadOptions& options, LoadReport& report);
Dataset load_sequence_text(const std::string& path, const LoadOptions& options, LoadReport& report);
Dataset load_generic_csv(const std::string& path, const LoadOptions& options, LoadReport& report);

}  // namespace recpress

namespace recpress {

// One row of a published negative-candidates file (raw ids, mapped later by the evaluator).
struct RawNegativeRow {
  std::size_t line = 0;
  std::string user;
  std::string positive;
  std::vector<std::string> negatives;
};
std::vector<RawNegativeRow> read_ncf_negatives(const std::string& path);

}  // namespace recpress
