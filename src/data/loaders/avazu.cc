// Avazu click logs (Kaggle 2014): CSV with a header "id,click,hour,C1,banner_pos,site_id,...".
// `id` is a row identifier and is dropped; `hour` (YYMMDDHH) becomes two categorical fields, the
// hour of day and the weekday, as is usual for this data; every other column is categorical.
#include <array>

#include "data/ctr_table.h"
#include "data/loaders/csv_util.h"

namespace recpress {

namespace {

// Day of week (0 = Sunday) of a Gregorian date (Sakamoto's method).
int weekday(int year, int month, int day) {
  static constexpr std::array<int, 12> offsets = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
  if (month < 3) year -= 1;
  return (year + year / 4 - year / 100 + year / 400 + offsets[static_cast<std::size_t>(month - 1)] +
          day) %
         7;
}

}  // namespace

CtrTable load_avazu(const std::string& path) {
  TextReader reader(path);
  loaders::LineParser parse(reader);
  std::string_view line;
  if (!reader.next_line(line)) throw DataError(path, 0, "", "empty file");
  std::vector<std::string_view> header;
  split_fields(line, ',', header);
  int click = -1, hour = -1, id = -1;
  CtrTable t;
  t.name = "avazu";
  t.source = path;
  std::vector<int> field_of(header.size(), -1);
  for (std::size_t c = 0; c < header.size(); ++c) {
    const auto name = trim(header[c]);
    if (name == "click") {
      click = static_cast<int>(c);
    } else if (name == "hour") {
      hour = static_cast<int>(c);
    } else if (name == "id") {
      id = static_cast<int>(c);
    } else {
      field_of[c] = static_cast<int>(t.fields.size());
      t.fields.push_back({std::string(name), CtrFieldKind::kCategorical, {}, {}, {}, {}});
    }
  }
  if (click < 0) throw DataError(path, 1, "click", "Avazu header has no 'click' column");
  if (hour < 0) throw DataError(path, 1, "hour", "Avazu header has no 'hour' column");
  (void)id;
  const std::size_t hour_field = t.fields.size();
  t.fields.push_back({"hour_of_day", CtrFieldKind::kCategorical, {}, {}, {}, {}});
  t.fields.push_back({"weekday", CtrFieldKind::kCategorical, {}, {}, {}, {}});

  std::vector<std::string_view> cols;
  while (reader.next_line(line)) {
    if (trim(line).empty()) continue;
    split_fields(line, ',', cols);
    parse.expect_columns(cols, header.size(), "as many as the header");
    t.labels.push_back(parse.binary_label(cols[static_cast<std::size_t>(click)], "click"));
    const auto yymmddhh = parse.integer(cols[static_cast<std::size_t>(hour)], "hour");
    const int hh = static_cast<int>(yymmddhh % 100), dd = static_cast<int>(yymmddhh / 100 % 100),
              mm = static_cast<int>(yymmddhh / 10000 % 100);
    if (yymmddhh < 0 || hh > 23 || dd < 1 || dd > 31 || mm < 1 || mm > 12)
      parse.fail("hour",
                 "expected YYMMDDHH, got " + quote_excerpt(cols[static_cast<std::size_t>(hour)]));
    const int yy = static_cast<int>(yymmddhh / 1000000);
    t.timestamps.push_back(yymmddhh);
    for (std::size_t c = 0; c < cols.size(); ++c) {
      if (field_of[c] >= 0)
        t.fields[static_cast<std::size_t>(field_of[c])].add_token(trim(cols[c]));
    }
    t.fields[hour_field].add_token(std::to_string(hh));
    t.fields[hour_field + 1].add_token(std::to_string(weekday(2000 + yy, mm, dd)));
  }
  if (t.rows() == 0) throw DataError(path, 0, "", "no Avazu rows");
  t.check_consistent();
  return t;
}

}  // namespace recpress
