// Criteo Display Advertising Challenge rows: label, 13 integer features I1..I13 and 26 hashed
// categorical features C1..C26, any of them possibly empty (missing). Published as TSV without a
// header (train.txt); DeepCTR's sample is CSV with a header row "label,I1,...,C26". The integer
// columns are kept as numbers (the encoder applies the transform); the sample writes some of them
// as "260.0", so any number is accepted.
#include <cmath>
#include <limits>

#include "data/ctr_table.h"
#include "data/loaders/csv_util.h"

namespace recpress {

namespace {
constexpr int kIntegerColumns = 13;
constexpr int kCategoricalColumns = 26;
constexpr std::size_t kColumns = 1 + kIntegerColumns + kCategoricalColumns;
}  // namespace

CtrTable load_criteo(const std::string& path) {
  TextReader reader(path);
  loaders::LineParser parse(reader);
  CtrTable t;
  t.name = "criteo";
  t.source = path;
  for (int i = 1; i <= kIntegerColumns; ++i)
    t.fields.push_back({"I" + std::to_string(i), CtrFieldKind::kNumeric, {}, {}, {}, {}});
  for (int i = 1; i <= kCategoricalColumns; ++i)
    t.fields.push_back({"C" + std::to_string(i), CtrFieldKind::kCategorical, {}, {}, {}, {}});

  std::string_view line;
  std::vector<std::string_view> cols;
  char delimiter = '\t';
  bool first = true;
  while (reader.next_line(line)) {
    if (first) {
      first = false;
      if (line.rfind("label,", 0) == 0) {  // the DeepCTR sample's header
        delimiter = ',';
        continue;
      }
      if (line.find('\t') == std::string_view::npos) delimiter = ',';
    }
    if (trim(line).empty()) continue;
    split_fields(line, delimiter, cols);
    parse.expect_columns(cols, kColumns, "label, I1..I13, C1..C26");
    t.labels.push_back(parse.binary_label(cols[0], "label"));
    for (int i = 0; i < kIntegerColumns; ++i) {
      const auto text = trim(cols[static_cast<std::size_t>(1 + i)]);
      t.fields[static_cast<std::size_t>(i)].add_number(
          text.empty() ? std::numeric_limits<double>::quiet_NaN()
                       : parse.number(text, t.fields[static_cast<std::size_t>(i)].name));
    }
    for (int i = 0; i < kCategoricalColumns; ++i)
      t.fields[static_cast<std::size_t>(kIntegerColumns + i)].add_token(
          trim(cols[static_cast<std::size_t>(1 + kIntegerColumns + i)]));
  }
  if (t.rows() == 0) throw DataError(path, 0, "", "no Criteo rows");
  t.check_consistent();
  return t;
}

}  // namespace recpress
