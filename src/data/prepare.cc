#include "data/prepare.h"

#include <iostream>

#include "core/errors.h"
#include "core/format.h"
#include "core/text_reader.h"
#include "data/registry.h"
#include "data/transforms.h"

namespace recpress {

nlohmann::json data_request_to_json(const DataRequest& a) {
  return {{"data", a.spec},           {"format", a.format},       {"columns", a.columns},
          {"delimiter", a.delimiter}, {"no_header", a.no_header}, {"lenient", a.lenient},
          {"implicit", a.implicit},   {"threshold", a.threshold}, {"dedup", a.dedup},
          {"min_user", a.min_user},   {"min_item", a.min_item}};
}

DataRequest data_request_from_json(const nlohmann::json& j) {
  DataRequest a;
  a.spec = j.at("data");
  a.format = j.at("format");
  a.columns = j.at("columns");
  a.delimiter = j.at("delimiter");
  a.no_header = j.at("no_header");
  a.lenient = j.at("lenient");
  a.implicit = j.at("implicit");
  a.threshold = j.at("threshold");
  a.dedup = j.at("dedup");
  a.min_user = j.at("min_user");
  a.min_item = j.at("min_item");
  return a;
}

ColumnMapping column_mapping(const DataRequest& a) {
  ColumnMapping m;
  if (a.delimiter == "tab" || a.delimiter == "\\t") {
    m.delimiter = '\t';
  } else if (a.delimiter.size() == 1) {
    m.delimiter = a.delimiter[0];
  } else {
    throw Error("--delimiter must be one character or 'tab'");
  }
  m.header = !a.no_header;
  if (a.columns.empty()) return m;
  std::vector<std::string_view> pairs;
  split_fields(a.columns, ',', pairs);
  for (auto p : pairs) {
    const auto eq = p.find('=');
    if (eq == std::string_view::npos)
      throw Error("--columns: expected role=column, got '" + std::string(p) + "'");
    const std::string role(trim(p.substr(0, eq)));
    const std::string col(trim(p.substr(eq + 1)));
    if (role == "user")
      m.user = col;
    else if (role == "item")
      m.item = col;
    else if (role == "rating")
      m.rating = col;
    else if (role == "time" || role == "timestamp")
      m.timestamp = col;
    else
      throw Error("--columns: unknown role '" + role + "' (user, item, rating, time)");
  }
  return m;
}

Dataset prepare_dataset(const DataRequest& a, const PrepareOptions& p, bool clean) {
  OpenOptions o;
  o.load.format = a.format;
  o.load.lenient = a.lenient;
  o.load.columns = column_mapping(a);
  o.use_cache = p.use_cache;
  o.data_root = p.data_root;
  LoadReport report;
  Dataset data = open_dataset(a.spec, o, report);
  data.open_arguments = data_request_to_json(a).dump();
  if (report.skipped_lines > 0) {
    std::cerr << "lenient: skipped " << with_commas(static_cast<std::int64_t>(report.skipped_lines))
              << " malformed line(s); first:\n";
    for (const auto& problem : report.problems) std::cerr << "  " << problem << "\n";
  }
  if (!p.quiet) {
    for (const auto& n : report.notes) std::cerr << "note: " << n << "\n";
  }
  if (!clean) return data;
  if (a.implicit) {
    const auto removed =
        to_implicit(data, a.threshold > 0 ? std::optional<double>(a.threshold) : std::nullopt);
    if (removed > 0 && !p.quiet) {
      std::cerr << "implicit: dropped " << with_commas(static_cast<std::int64_t>(removed))
                << " ratings below " << a.threshold << "\n";
    }
  }
  const auto dups = deduplicate(data, parse_dedup_policy(a.dedup));
  if (dups > 0 && !p.quiet) {
    std::cerr << "dedup (" << a.dedup << "): removed "
              << with_commas(static_cast<std::int64_t>(dups))
              << " repeated (user, item) interactions\n";
  }
  if (a.min_user > 1 || a.min_item > 1) {
    const auto removed = kcore_filter(data, a.min_user, a.min_item);
    if (!p.quiet) {
      std::cerr << "k-core (users >= " << a.min_user << ", items >= " << a.min_item << "): removed "
                << with_commas(static_cast<std::int64_t>(removed)) << " interactions\n";
    }
  }
  compact(data);
  if (data.interactions.empty()) throw Error("no interactions left after filtering");
  return data;
}

}  // namespace recpress
