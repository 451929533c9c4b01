// A delimited CTR file with a header and a schema (ctr_table.h): every column's role is named, so
// nothing is guessed and a misspelt column is an error rather than a silently missing feature.
#include <algorithm>
#include <limits>
#include <sstream>

#include "data/ctr_table.h"
#include "data/loaders/csv_util.h"

namespace recpress {

namespace {

std::vector<std::string> split_list(const std::string& text, char delimiter) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, delimiter)) {
    const auto t = trim(part);
    if (!t.empty()) out.emplace_back(t);
  }
  return out;
}

CtrCsvSchema::Column parse_column(const std::string& entry) {
  const auto eq = entry.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error("schema entry '" + entry +
                "': expected COLUMN=KIND (kinds: label, label>=T, cat, " +
                "multi[/SEP], num, time, skip; add +group to one column)");
  CtrCsvSchema::Column c;
  c.name = std::string(trim(entry.substr(0, eq)));
  std::string kind(trim(entry.substr(eq + 1)));
  if (kind.size() > 6 && kind.substr(kind.size() - 6) == "+group") {
    c.group = true;
    kind = kind.substr(0, kind.size() - 6);
  }
  if (kind.rfind("label>=", 0) == 0) {
    c.kind = "label";
    c.threshold_label = true;
    if (!parse_double(kind.substr(7), c.threshold))
      throw Error("schema entry '" + entry + "': bad threshold '" + kind.substr(7) + "'");
  } else if (kind.rfind("multi", 0) == 0) {
    c.kind = "multi";
    if (kind.size() > 5) {
      if (kind[5] != '/' || kind.size() != 7)
        throw Error("schema entry '" + entry + "': expected multi or multi/SEP (one character)");
      c.separator = kind[6];
    }
  } else if (kind == "label" || kind == "cat" || kind == "num" || kind == "time" ||
             kind == "skip") {
    c.kind = kind;
  } else {
    throw Error("schema entry '" + entry + "': unknown kind '" + kind +
                "' (label, label>=T, cat, multi[/SEP], num, time, skip)");
  }
  return c;
}

}  // namespace

CtrCsvSchema CtrCsvSchema::parse(const std::string& text) {
  CtrCsvSchema s;
  for (const auto& entry : split_list(text, ',')) s.columns.push_back(parse_column(entry));
  const auto count = [&](auto pred) {
    return std::count_if(s.columns.begin(), s.columns.end(), pred);
  };
  if (count([](const Column& c) { return c.kind == "label"; }) != 1)
    throw Error("schema '" + text + "': exactly one column must be the label");
  if (count([](const Column& c) { return c.group; }) > 1)
    throw Error("schema '" + text + "': at most one column can be +group");
  if (count([](const Column& c) { return c.kind == "time"; }) > 1)
    throw Error("schema '" + text + "': at most one column can be the time");
  for (std::size_t i = 0; i < s.columns.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (s.columns[i].name == s.columns[j].name)
        throw Error("schema '" + text + "': column '" + s.columns[i].name + "' named twice");
    }
  }
  return s;
}

CtrTable load_ctr_csv(const std::string& path, const CtrCsvSchema& schema) {
  TextReader reader(path);
  loaders::LineParser parse(reader);
  std::string_view line;
  if (!reader.next_line(line)) throw DataError(path, 0, "", "empty file");
  std::vector<std::string> header, cols;
  loaders::split_csv(line, schema.delimiter, header);
  for (auto& h : header) h = std::string(trim(h));

  // Column index -> schema entry, both ways complete.
  std::vector<const CtrCsvSchema::Column*> role(header.size(), nullptr);
  for (const auto& c : schema.columns) {
    const auto it = std::find(header.begin(), header.end(), c.name);
    if (it == header.end()) {
      std::string names;
      for (const auto& h : header) names += (names.empty() ? "" : ", ") + h;
      throw DataError(path, 1, c.name,
                      "the schema names column '" + c.name + "', which the header does not have (" +
                          names + ")");
    }
    role[static_cast<std::size_t>(it - header.begin())] = &c;
  }
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (role[i] == nullptr)
      throw DataError(path, 1, header[i],
                      "column '" + header[i] + "' is not in the schema (add " + header[i] +
                          "=skip to ignore it)");
  }

  CtrTable t;
  t.name = path.substr(path.find_last_of('/') + 1);
  t.source = path;
  std::vector<int> field_of(header.size(), -1);
  for (std::size_t i = 0; i < header.size(); ++i) {
    const auto& k = role[i]->kind;
    if (k != "cat" && k != "multi" && k != "num") continue;
    field_of[i] = static_cast<int>(t.fields.size());
    t.fields.push_back({header[i],
                        k == "cat"     ? CtrFieldKind::kCategorical
                        : k == "multi" ? CtrFieldKind::kMulti
                                       : CtrFieldKind::kNumeric,
                        {},
                        {},
                        {},
                        {}});
  }
  IdMap group_ids;
  std::vector<std::string_view> tokens;
  while (reader.next_line(line)) {
    if (trim(line).empty()) continue;
    if (!loaders::split_csv(line, schema.delimiter, cols)) parse.fail("", "unclosed quote");
    if (cols.size() != header.size()) {
      parse.fail("", "expected " + std::to_string(header.size()) +
                         " columns (as the header), found " + std::to_string(cols.size()));
    }
    for (std::size_t i = 0; i < cols.size(); ++i) {
      const auto& c = *role[i];
      const std::string_view v = trim(cols[i]);
      if (c.kind == "label") {
        t.labels.push_back(c.threshold_label
                               ? (parse.number(v, c.name) >= c.threshold ? 1.0f : 0.0f)
                               : parse.binary_label(v, c.name));
      } else if (c.kind == "time") {
        t.timestamps.push_back(parse.integer(v, c.name));
      }
      if (c.group) t.groups.push_back(group_ids.intern(v));
      if (field_of[i] < 0) continue;
      auto& f = t.fields[static_cast<std::size_t>(field_of[i])];
      if (f.kind == CtrFieldKind::kNumeric) {
        f.add_number(v.empty() ? std::numeric_limits<double>::quiet_NaN()
                               : parse.number(v, c.name));
      } else if (f.kind == CtrFieldKind::kCategorical) {
        f.add_token(v);
      } else {
        split_fields(v, c.separator, tokens);
        tokens.erase(std::remove_if(tokens.begin(), tokens.end(),
                                    [](std::string_view s) { return trim(s).empty(); }),
                     tokens.end());
        for (auto& s : tokens) s = trim(s);
        f.add_tokens(tokens);
      }
    }
  }
  if (t.rows() == 0) throw DataError(path, 0, "", "no rows after the header");
  t.check_consistent();
  return t;
}

}  // namespace recpress
