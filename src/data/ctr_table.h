// CTR prediction data before encoding: rows of named fields and a 0/1 label.
//
// A field is categorical (one token per row; a missing value is the token "<missing>"), multi-hot
// (zero or more tokens per row, e.g. a movie's genres) or numeric (a double per row, NaN when
// missing). Tokens are interned per field, so a table of millions of rows stores int32 codes, not
// strings. Vocabularies, OOV buckets and numeric transforms are decided later by the encoder
// (ctr_encoder.h), on the training split only.
//
// Sources (one function each, in loaders/ctr_*.cc):
//   - any rated Dataset (MovieLens, synthetic) as CTR: its interactions joined with user and item
//     side features, label = rating >= threshold;
//   - Criteo (label, I1..I13 integers, C1..C26 hashed categoricals; TSV without header as
//     published, or CSV with a header as the DeepCTR sample);
//   - Avazu (CSV with header: id, click, hour YYMMDDHH, 21 categorical columns);
//   - any delimited file with a schema naming each column's role.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/id_map.h"

namespace recpress {

enum class CtrFieldKind { kCategorical, kMulti, kNumeric };
const char* to_string(CtrFieldKind kind);

inline constexpr const char* kMissingToken = "<missing>";

struct CtrRawField {
  std::string name;
  CtrFieldKind kind = CtrFieldKind::kCategorical;
  IdMap tokens;                       // categorical / multi: raw token <-> code
  std::vector<std::int64_t> offsets;  // categorical / multi: row r has codes[offsets[r]..[r+1])
  std::vector<std::int32_t> codes;
  std::vector<double> numbers;  // numeric: one per row, NaN = missing

  // Appenders used by the loaders (rows must be appended to every field in step).
  void add_tokens(const std::vector<std::string_view>& row_tokens);
  void add_token(std::string_view token);
  void add_number(double value) { numbers.push_back(value); }
};

struct CtrTable {
  std::string name;    // e.g. "ml-1m (CTR, rating >= 4)"
  std::string source;  // path(s) read
  std::vector<CtrRawField> fields;
  std::vector<float> labels;             // 0 or 1
  std::vector<std::int64_t> groups;      // per row, e.g. the user (for GAUC); empty if none
  std::vector<std::int64_t> timestamps;  // per row; empty if the data has no time

  std::size_t rows() const { return labels.size(); }
  const CtrRawField* find(const std::string& field) const;
  // Checksum of the content, recorded with every result (as Dataset::checksum).
  std::string checksum() const;
  // Throws Error if the fields do not all have one entry per row (a loader bug, not user input).
  void check_consistent() const;
};

// ---------------------------------------------------------------- sources

// Interactions joined with side features: fields "user", "item", every user and item feature
// field (multi-hot when some entity has several values), and "year" parsed from "Title (1995)"
// titles when the data has titles. Label = rating >= threshold. Groups = users. Throws Error if
// the data has no ratings.
CtrTable ctr_from_dataset(const Dataset& data, double threshold);

// Criteo display-advertising rows. Throws DataError naming file, line and column for a wrong
// column count, a label that is not 0/1, or a non-integer I-column.
CtrTable load_criteo(const std::string& path);
// Avazu rows (header required). The hour becomes two fields, hour of day and weekday.
CtrTable load_avazu(const std::string& path);

// A delimited file with a header and a schema saying what each column is:
//   "click=label, user_id=cat+group, genres=multi/|, age=num, ts=time, title=skip"
// Kinds: label (0/1 values) or label>=T (numeric, positive when >= T), cat, multi[/SEP] (default
// separator '|'), num, time (integer timestamp, for temporal splits), skip; "+group" marks the
// column whose values group rows for GAUC. Every column of the file must be named (a column the
// schema does not mention is an error, so a typo cannot silently drop a feature) and every schema
// column must exist in the file.
struct CtrCsvSchema {
  struct Column {
    std::string name;
    std::string kind;  // label, cat, multi, num, time, skip
    char separator = '|';
    bool group = false;
    bool threshold_label = false;
    double threshold = 0;
  };
  std::vector<Column> columns;
  char delimiter = ',';

  static CtrCsvSchema parse(const std::string& text);  // throws Error naming the bad entry
};
CtrTable load_ctr_csv(const std::string& path, const CtrCsvSchema& schema);

// Formats understood by open_ctr_table, with a description.
std::vector<std::pair<std::string, std::string>> ctr_formats();

struct CtrOpenOptions {
  double threshold = 4.0;  // rated data: label = rating >= threshold
  std::string format;      // "", criteo, avazu, csv (needs schema), ratings
  std::string schema;      // for csv
  std::string data_root;   // empty: default_data_root()
};
// "ml-1m", "synthetic[:...]" or any rated dataset path (-> ctr_from_dataset); a Criteo or Avazu
// file (detected by its header or column count, or forced with options.format); a CSV with
// options.schema.
CtrTable open_ctr_table(const std::string& spec, const CtrOpenOptions& options);

// ---------------------------------------------------------------- splits

// Row indices of train / validation / test. "random:0.8,0.1,0.1" (seeded shuffle) or
// "temporal:0.8,0.1,0.1" (by timestamp, ties in file order; needs timestamps).
struct CtrSplit {
  std::string spec;
  std::vector<std::int64_t> train, valid, test;
};
CtrSplit split_ctr(const CtrTable& table, const std::string& spec, std::uint64_t seed);

}  // namespace recpress
