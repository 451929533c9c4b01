#include "data/ctr_table.h"

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <sstream>

#include "core/errors.h"
#include "core/hash.h"
#include "core/rng.h"
#include "core/text_reader.h"
#include "data/registry.h"

namespace recpress {

const char* to_string(CtrFieldKind kind) {
  switch (kind) {
    case CtrFieldKind::kCategorical:
      return "categorical";
    case CtrFieldKind::kMulti:
      return "multi";
    case CtrFieldKind::kNumeric:
      return "numeric";
  }
  return "?";
}

void CtrRawField::add_tokens(const std::vector<std::string_view>& row_tokens) {
  if (offsets.empty()) offsets.push_back(0);
  for (auto t : row_tokens) codes.push_back(tokens.intern(t));
  offsets.push_back(static_cast<std::int64_t>(codes.size()));
}

void CtrRawField::add_token(std::string_view token) {
  if (offsets.empty()) offsets.push_back(0);
  codes.push_back(tokens.intern(token.empty() ? std::string_view(kMissingToken) : token));
  offsets.push_back(static_cast<std::int64_t>(codes.size()));
}

const CtrRawField* CtrTable::find(const std::string& field) const {
  for (const auto& f : fields) {
    if (f.name == field) return &f;
  }
  return nullptr;
}

std::string CtrTable::checksum() const {
  Fnv1a h;
  for (const auto& f : fields) {
    h.add(f.name);
    if (f.kind == CtrFieldKind::kNumeric) {
      for (double v : f.numbers) h.add_value(v);
    } else {
      for (auto c : f.codes) h.add(f.tokens.raw(c));
      for (auto o : f.offsets) h.add_value(o);
    }
  }
  for (float y : labels) h.add_value(y);
  for (auto g : groups) h.add_value(g);
  for (auto t : timestamps) h.add_value(t);
  return h.hex();
}

void CtrTable::check_consistent() const {
  const std::size_t n = rows();
  auto bad = [&](const std::string& what) {
    throw Error("CTR table '" + name + "': " + what + " does not have one entry per row (" +
                std::to_string(n) + ")");
  };
  for (const auto& f : fields) {
    if (f.kind == CtrFieldKind::kNumeric ? f.numbers.size() != n : f.offsets.size() != n + 1)
      bad("field '" + f.name + "'");
  }
  if (!groups.empty() && groups.size() != n) bad("groups");
  if (!timestamps.empty() && timestamps.size() != n) bad("timestamps");
}

// ---------------------------------------------------------------- rated data as CTR

namespace {

// "Toy Story (1995)" -> "1995"; "" when the title has no trailing year.
std::string title_year(const std::string& title) {
  const auto close = title.find_last_of(')');
  if (close == std::string::npos || close < 5) return "";
  const std::string year = title.substr(close - 4, 4);
  if (title[close - 5] != '(' ||
      !std::all_of(year.begin(), year.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return "";
  return year;
}

bool any_multi_valued(const FeatureField& f) {
  for (std::size_t e = 0; e + 1 < f.offsets.size(); ++e) {
    if (f.offsets[e + 1] - f.offsets[e] > 1) return true;
  }
  return false;
}

// Adds a side-feature field: row r gets the values of entity entity_of(r).
template <typename EntityOf>
void add_side_field(CtrTable& table, const FeatureField& feature, const std::string& prefix,
                    std::size_t rows, EntityOf entity_of) {
  CtrRawField out;
  out.name = prefix + feature.name;
  out.kind = any_multi_valued(feature) ? CtrFieldKind::kMulti : CtrFieldKind::kCategorical;
  std::vector<std::string_view> tokens;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::int32_t e = entity_of(r);
    tokens.clear();
    if (e < feature.entity_count()) {
      for (auto k = feature.offsets[e]; k < feature.offsets[e + 1]; ++k)
        tokens.push_back(feature.vocabulary.raw(feature.values[static_cast<std::size_t>(k)]));
    }
    if (out.kind == CtrFieldKind::kCategorical) {
      out.add_token(tokens.empty() ? std::string_view() : tokens[0]);
    } else {
      out.add_tokens(tokens);
    }
  }
  table.fields.push_back(std::move(out));
}

}  // namespace

CtrTable ctr_from_dataset(const Dataset& data, double threshold) {
  if (!data.has_ratings) {
    throw Error("dataset '" + data.name +
                "' has no ratings: CTR needs a label (rating >= threshold) for every row");
  }
  CtrTable t;
  t.name = data.name;
  t.source = data.source;
  const std::size_t n = data.size();
  CtrRawField user{"user", CtrFieldKind::kCategorical, {}, {}, {}, {}};
  CtrRawField item{"item", CtrFieldKind::kCategorical, {}, {}, {}, {}};
  t.labels.reserve(n);
  t.groups.reserve(n);
  for (const auto& x : data.interactions) {
    user.add_token(data.users.raw(x.user));
    item.add_token(data.items.raw(x.item));
    t.labels.push_back(x.rating >= threshold ? 1.0f : 0.0f);
    t.groups.push_back(x.user);
    if (data.has_timestamps) t.timestamps.push_back(x.timestamp);
  }
  t.fields.push_back(std::move(user));
  t.fields.push_back(std::move(item));
  const auto& xs = data.interactions;
  for (const auto& f : data.user_features.fields)
    add_side_field(t, f, "user_", n, [&](std::size_t r) { return xs[r].user; });
  for (const auto& f : data.item_features.fields)
    add_side_field(t, f, "item_", n, [&](std::size_t r) { return xs[r].item; });
  if (!data.item_titles.empty()) {
    CtrRawField year{"item_year", CtrFieldKind::kCategorical, {}, {}, {}, {}};
    for (const auto& x : xs) year.add_token(title_year(data.item_titles[x.item]));
    t.fields.push_back(std::move(year));
  }
  t.check_consistent();
  return t;
}

// ---------------------------------------------------------------- opening by name

std::vector<std::pair<std::string, std::string>> ctr_formats() {
  return {{"ratings", "any rated dataset (MovieLens, synthetic, ...): label = rating >= threshold"},
          {"criteo", "Criteo: label, I1..I13, C1..C26 (TSV without header, or CSV with header)"},
          {"avazu", "Avazu: CSV with header id,click,hour,C1,banner_pos,..."},
          {"movielens-sample",
           "DeepCTR's movielens_sample.txt: user_id,movie_id,rating,...,zip; label = rating >= "
           "threshold"},
          {"csv", "any delimited file with a header, described by --schema"}};
}

namespace {

std::string first_line(const std::string& path) {
  TextReader reader(path);
  std::string_view line;
  if (!reader.next_line(line)) throw DataError(path, 0, "", "empty file");
  return std::string(line);
}

std::string detect_ctr_format(const std::string& path) {
  if (std::filesystem::is_directory(path)) return "ratings";
  const std::string head = first_line(path);
  if (head.rfind("label,I1,", 0) == 0) return "criteo";
  if (head.find("click") != std::string::npos && head.find("hour") != std::string::npos)
    return "avazu";
  if (std::count(head.begin(), head.end(), '\t') == 39) return "criteo";
  // DeepCTR's MovieLens sample (movielens_sample.txt): a CSV of ratings joined with features.
  if (head.rfind("user_id,movie_id,rating,timestamp,title,genres", 0) == 0)
    return "movielens-sample";
  return "ratings";
}

// The columns of DeepCTR's MovieLens sample as a schema; label = rating >= threshold.
std::string movielens_sample_schema(double threshold) {
  std::ostringstream t;
  t << threshold;
  return "user_id=cat+group,movie_id=cat,rating=label>=" + t.str() +
         ",timestamp=time,title=skip,genres=multi/|,gender=cat,age=cat,occupation=cat,zip=cat";
}

}  // namespace

CtrTable open_ctr_table(const std::string& spec, const CtrOpenOptions& options) {
  std::string format = options.format;
  if (!options.schema.empty() && format.empty()) format = "csv";
  const bool is_name =
      spec == "synthetic" || spec.rfind("synthetic:", 0) == 0 || !std::filesystem::exists(spec);
  if (format.empty()) format = is_name ? "ratings" : detect_ctr_format(spec);
  if (format == "criteo") return load_criteo(spec);
  if (format == "avazu") return load_avazu(spec);
  if (format == "movielens-sample")
    return load_ctr_csv(spec, CtrCsvSchema::parse(movielens_sample_schema(options.threshold)));
  if (format == "csv") {
    if (options.schema.empty())
      throw Error("--format csv needs --schema (e.g. \"click=label,user=cat+group,price=num\")");
    return load_ctr_csv(spec, CtrCsvSchema::parse(options.schema));
  }
  if (format != "ratings") {
    std::string known;
    for (const auto& [name, help] : ctr_formats()) known += (known.empty() ? "" : ", ") + name;
    throw Error("unknown CTR format '" + format + "' (" + known + ")");
  }
  OpenOptions open;
  open.data_root = options.data_root;
  LoadReport report;
  const Dataset data = open_dataset(spec, open, report);
  return ctr_from_dataset(data, options.threshold);
}

// ---------------------------------------------------------------- splits

namespace {

std::vector<double> parse_fractions(const std::string& text, const std::string& spec) {
  std::vector<double> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string part =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    double v = 0;
    if (!parse_double(part, v) || v < 0)
      throw Error("split '" + spec + "': bad fraction '" + part + "'");
    out.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.size() != 3)
    throw Error("split '" + spec + "': expected three fractions train,valid,test");
  const double sum = out[0] + out[1] + out[2];
  if (std::abs(sum - 1.0) > 1e-6 || out[0] <= 0 || out[1] <= 0 || out[2] <= 0)
    throw Error("split '" + spec + "': fractions must be > 0 and sum to 1");
  return out;
}

}  // namespace

CtrSplit split_ctr(const CtrTable& table, const std::string& spec, std::uint64_t seed) {
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const auto fractions =
      parse_fractions(colon == std::string::npos ? "0.8,0.1,0.1" : spec.substr(colon + 1), spec);
  const std::size_t n = table.rows();
  if (n < 3) throw Error("CTR data '" + table.name + "' has fewer than 3 rows: nothing to split");
  std::vector<std::int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (kind == "random") {
    Rng rng = Rng::derive(seed, 0xC7A);
    shuffle(order.data(), order.size(), rng);
  } else if (kind == "temporal") {
    if (table.timestamps.empty())
      throw Error("split '" + spec + "': data '" + table.name + "' has no timestamps");
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
      return table.timestamps[static_cast<std::size_t>(a)] <
             table.timestamps[static_cast<std::size_t>(b)];
    });
  } else {
    throw Error("unknown CTR split '" + spec + "' (random:TRAIN,VALID,TEST or temporal:...)");
  }
  const auto n_train = std::max<std::size_t>(1, static_cast<std::size_t>(fractions[0] * n));
  const auto n_valid = std::max<std::size_t>(1, static_cast<std::size_t>(fractions[1] * n));
  if (n_train + n_valid >= n) throw Error("split '" + spec + "': no rows left for the test set");
  CtrSplit s;
  s.spec = kind + ":" + spec.substr(colon == std::string::npos ? spec.size() : colon + 1);
  if (colon == std::string::npos) s.spec = kind + ":0.8,0.1,0.1";
  s.train.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_train));
  s.valid.assign(order.begin() + static_cast<std::ptrdiff_t>(n_train),
                 order.begin() + static_cast<std::ptrdiff_t>(n_train + n_valid));
  s.test.assign(order.begin() + static_cast<std::ptrdiff_t>(n_train + n_valid), order.end());
  return s;
}

}  // namespace recpress
