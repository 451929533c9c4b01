#include "data/ctr_encoder.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/errors.h"
#include "core/hash.h"
#include "core/text_reader.h"

namespace recpress {

// ---------------------------------------------------------------- configuration

std::vector<std::pair<std::string, std::string>> CtrEncoderConfig::parse_crosses(
    const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  std::string entry;
  while (std::getline(in, entry, ',')) {
    const std::string e(trim(entry));
    if (e.empty()) continue;
    const auto star = e.find('*');
    if (star == std::string::npos || star == 0 || star + 1 == e.size() ||
        e.find('*', star + 1) != std::string::npos)
      throw Error("cross '" + e + "': expected FIELD*FIELD (e.g. user_gender*item_genre)");
    out.emplace_back(std::string(trim(e.substr(0, star))), std::string(trim(e.substr(star + 1))));
  }
  return out;
}

namespace {

// "bucket:N" -> N, else 0.
int bucket_count(const std::string& numeric) {
  if (numeric.rfind("bucket:", 0) != 0) return 0;
  long long n = 0;
  if (!parse_int64(numeric.substr(7), n) || n < 2 || n > 1000000) return -1;
  return static_cast<int>(n);
}

}  // namespace

void CtrEncoderConfig::validate() const {
  if (min_count < 1) throw Error("ctr features: min_count must be >= 1");
  if (hash_buckets < 0) throw Error("ctr features: hash_buckets must be >= 0");
  if (max_tokens < 1) throw Error("ctr features: max_tokens must be >= 1");
  if (numeric != "log" && numeric != "criteo" && bucket_count(numeric) <= 0)
    throw Error("ctr features: unknown numeric transform '" + numeric +
                "' (log, bucket:N with N >= 2, criteo)");
}

nlohmann::json CtrEncoderConfig::to_json() const {
  nlohmann::json c = nlohmann::json::array();
  for (const auto& [a, b] : crosses) c.push_back(a + "*" + b);
  return {{"min_count", min_count},
          {"hash_buckets", hash_buckets},
          {"numeric", numeric},
          {"max_tokens", max_tokens},
          {"crosses", c}};
}

CtrEncoderConfig CtrEncoderConfig::from_json(const nlohmann::json& j) {
  CtrEncoderConfig c;
  c.min_count = j.at("min_count");
  c.hash_buckets = j.at("hash_buckets");
  c.numeric = j.at("numeric");
  c.max_tokens = j.at("max_tokens");
  for (const auto& x : j.at("crosses")) {
    for (auto& p : parse_crosses(x.get<std::string>())) c.crosses.push_back(std::move(p));
  }
  return c;
}

// ---------------------------------------------------------------- layout

int CtrLayout::deep_sparse_fields() const {
  return static_cast<int>(
      std::count_if(sparse.begin(), sparse.end(), [](const CtrField& f) { return !f.wide_only; }));
}

namespace {

nlohmann::json field_json(const CtrField& f) {
  return {{"name", f.name},
          {"kind", f.kind},
          {"offset", f.offset},
          {"vocab", f.vocab},
          {"first_slot", f.first_slot},
          {"slots", f.slots},
          {"hashed", f.hashed},
          {"wide_only", f.wide_only}};
}

CtrField field_from_json(const nlohmann::json& j) {
  CtrField f;
  f.name = j.at("name");
  f.kind = j.at("kind");
  f.offset = j.at("offset");
  f.vocab = j.at("vocab");
  f.first_slot = j.at("first_slot");
  f.slots = j.at("slots");
  f.hashed = j.at("hashed");
  f.wide_only = j.at("wide_only");
  return f;
}

}  // namespace

nlohmann::json CtrLayout::to_json() const {
  nlohmann::json s = nlohmann::json::array(), d = nlohmann::json::array();
  for (const auto& f : sparse) s.push_back(field_json(f));
  for (const auto& f : dense) d.push_back(field_json(f));
  return {{"sparse", s}, {"dense", d}, {"vocab_size", vocab_size}, {"slots", slots}};
}

CtrLayout CtrLayout::from_json(const nlohmann::json& j) {
  CtrLayout l;
  for (const auto& f : j.at("sparse")) l.sparse.push_back(field_from_json(f));
  for (const auto& f : j.at("dense")) l.dense.push_back(field_from_json(f));
  l.vocab_size = j.at("vocab_size");
  l.slots = j.at("slots");
  return l;
}

double CtrRows::positive_rate() const {
  double s = 0;
  for (float y : labels) s += y;
  return labels.empty() ? 0 : s / static_cast<double>(labels.size());
}

// ---------------------------------------------------------------- fitting

namespace {

const CtrRawField& require_field(const CtrTable& table, const std::string& name,
                                 const std::string& context) {
  if (const auto* f = table.find(name)) return *f;
  std::string names;
  for (const auto& f : table.fields) names += (names.empty() ? "" : ", ") + f.name;
  throw Error(context + ": no field '" + name + "' in '" + table.name + "' (fields: " + names +
              ")");
}

double log_transform(double x) {
  if (std::isnan(x)) return 0;
  return x >= 0 ? std::log1p(x) : -std::log1p(-x);
}

std::string number_token(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

}  // namespace

void CtrEncoder::tokens_of(const FieldState& f, const CtrTable& table, std::size_t row,
                           std::vector<std::string>& out) const {
  out.clear();
  if (f.kind == "cross") {
    std::vector<std::string> a, b;
    tokens_of(fields_[static_cast<std::size_t>(f.left)], table, row, a);
    tokens_of(fields_[static_cast<std::size_t>(f.right)], table, row, b);
    for (const auto& x : a) {
      for (const auto& y : b) {
        if (static_cast<int>(out.size()) >= config_.max_tokens) return;
        out.push_back(x + "\x1f" + y);
      }
    }
    return;
  }
  const CtrRawField& raw = *table.find(f.source);
  if (raw.kind == CtrFieldKind::kNumeric) {
    const double x = raw.numbers[row];
    if (std::isnan(x)) {
      out.emplace_back(kMissingToken);
    } else if (!f.edges.empty() || config_.numeric != "criteo") {
      const auto b = std::upper_bound(f.edges.begin(), f.edges.end(), x) - f.edges.begin();
      out.push_back("b" + std::to_string(b));
    } else {
      out.push_back(x > 2 ? "L" + std::to_string(
                                      static_cast<long long>(std::floor(std::log(x) * std::log(x))))
                          : number_token(x));
    }
    return;
  }
  for (auto k = raw.offsets[row]; k < raw.offsets[row + 1]; ++k) {
    if (static_cast<int>(out.size()) >= config_.max_tokens) break;
    out.push_back(raw.tokens.raw(raw.codes[static_cast<std::size_t>(k)]));
  }
}

CtrEncoder CtrEncoder::fit(const CtrTable& table, const std::vector<std::int64_t>& train_rows,
                           const CtrEncoderConfig& config) {
  config.validate();
  if (train_rows.empty()) throw Error("ctr features: no training rows to build vocabularies from");
  CtrEncoder e;
  e.config_ = config;
  const int buckets = bucket_count(config.numeric);
  // 1. Fields: sparse table fields, crosses, then dense numerics.
  std::vector<FieldState> dense;
  for (const auto& raw : table.fields) {
    FieldState f;
    f.name = f.source = raw.name;
    if (raw.kind == CtrFieldKind::kCategorical) {
      f.kind = "categorical";
    } else if (raw.kind == CtrFieldKind::kMulti) {
      f.kind = "multi";
    } else if (config.numeric == "log") {
      f.kind = "dense";
      dense.push_back(std::move(f));
      continue;
    } else {
      f.kind = "bucketized";
      if (buckets > 0) {
        std::vector<double> values;
        for (auto r : train_rows) {
          const double x = raw.numbers[static_cast<std::size_t>(r)];
          if (!std::isnan(x)) values.push_back(x);
        }
        std::sort(values.begin(), values.end());
        for (int q = 1; q < buckets && !values.empty(); ++q) {
          const double edge = values[values.size() * static_cast<std::size_t>(q) /
                                     static_cast<std::size_t>(buckets)];
          if (f.edges.empty() || edge > f.edges.back()) f.edges.push_back(edge);
        }
        if (f.edges.empty()) f.edges.push_back(0);  // constant field: still one bucket token
      }
    }
    e.fields_.push_back(std::move(f));
  }
  for (const auto& [a, b] : config.crosses) {
    const std::string context = "cross '" + a + "*" + b + "'";
    for (const auto* side : {&a, &b}) {
      const auto& raw = require_field(table, *side, context);
      if (raw.kind == CtrFieldKind::kNumeric && config.numeric == "log")
        throw Error(
            context + ": field '" + *side +
            "' is a dense numeric feature; cross it after bucketising (--numeric bucket:N)");
    }
    FieldState f;
    f.name = a + "*" + b;
    f.kind = "cross";
    f.source = a;
    f.other = b;
    e.fields_.push_back(std::move(f));
  }
  e.resolve_crosses();
  for (const auto& f : e.fields_) {
    if (f.kind == "cross" && (f.left < 0 || f.right < 0))
      throw Error("cross '" + f.name + "': a cross of crosses is not supported");
  }
  // 2. Vocabularies from the training rows.
  std::vector<std::string> tokens;
  for (auto& f : e.fields_) {
    std::unordered_map<std::string, std::int64_t> counts;
    for (auto r : train_rows) {
      e.tokens_of(f, table, static_cast<std::size_t>(r), tokens);
      for (auto& t : tokens) ++counts[t];
    }
    if (config.hash_buckets > 0 && static_cast<std::int64_t>(counts.size()) > config.hash_buckets) {
      f.hashed = true;
      f.buckets = config.hash_buckets;
      continue;
    }
    std::vector<std::pair<std::string, std::int64_t>> kept;
    for (auto& [t, c] : counts) {
      if (c >= config.min_count) kept.emplace_back(t, c);
    }
    // Most frequent first, ties by token: the ids do not depend on hash-map order.
    std::sort(kept.begin(), kept.end(), [](const auto& x, const auto& y) {
      return x.second != y.second ? x.second > y.second : x.first < y.first;
    });
    for (auto& [t, c] : kept) {
      f.tokens.push_back(t);
      f.index.emplace(t, static_cast<std::int32_t>(f.tokens.size()));
    }
  }
  // 3. Slots per field: multi-hot fields get as many as their longest training row needs.
  e.fields_.insert(e.fields_.end(), std::make_move_iterator(dense.begin()),
                   std::make_move_iterator(dense.end()));
  e.build_layout();
  for (std::size_t i = 0; i < e.layout_.sparse.size(); ++i) {
    auto& field = e.layout_.sparse[i];
    if (field.kind == "categorical" || field.kind == "bucketized") continue;
    int longest = 1;
    for (auto r : train_rows) {
      e.tokens_of(e.fields_[i], table, static_cast<std::size_t>(r), tokens);
      longest = std::max(longest, static_cast<int>(tokens.size()));
    }
    field.slots = longest;
  }
  e.build_layout();  // again, now with the slot counts
  return e;
}

void CtrEncoder::build_layout() {
  std::vector<int> slots;
  for (const auto& f : layout_.sparse) slots.push_back(f.slots);
  CtrLayout l;
  std::int64_t offset = 0;
  int slot = 0;
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const auto& f = fields_[i];
    CtrField out;
    out.name = f.name;
    out.kind = f.kind;
    if (f.kind == "dense") {
      out.first_slot = static_cast<int>(l.dense.size());
      l.dense.push_back(out);
      continue;
    }
    out.offset = offset;
    out.vocab = 1 + (f.hashed ? f.buckets : static_cast<std::int64_t>(f.tokens.size()));
    out.hashed = f.hashed;
    out.wide_only = f.kind == "cross";
    out.slots = i < slots.size() ? slots[i] : 1;
    out.first_slot = slot;
    offset += out.vocab;
    slot += out.slots;
    l.sparse.push_back(out);
  }
  l.vocab_size = offset;
  l.slots = slot;
  layout_ = std::move(l);
}

void CtrEncoder::resolve_crosses() {
  for (auto& f : fields_) {
    if (f.kind != "cross") continue;
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      if (fields_[i].kind == "cross") continue;
      if (fields_[i].name == f.source) f.left = static_cast<int>(i);
      if (fields_[i].name == f.other) f.right = static_cast<int>(i);
    }
  }
}

// ---------------------------------------------------------------- encoding

std::int64_t CtrEncoder::lookup(const FieldState& f, const std::string& token) const {
  if (f.hashed) {
    Fnv1a h;
    h.add(token);
    return 1 + static_cast<std::int64_t>(h.value() % static_cast<std::uint64_t>(f.buckets));
  }
  const auto it = f.index.find(token);
  return it == f.index.end() ? 0 : it->second;
}

std::int64_t CtrEncoder::local_id(const std::string& field, const std::string& token) const {
  for (const auto& f : fields_) {
    if (f.name == field && f.kind != "dense") return lookup(f, token);
  }
  throw Error("ctr features: no sparse field '" + field + "'");
}

CtrRows CtrEncoder::encode(const CtrTable& table, const std::vector<std::int64_t>& rows) const {
  for (const auto& f : fields_) {
    for (const auto* name : {&f.source, &f.other}) {
      if (!name->empty()) require_field(table, *name, "ctr features");
    }
  }
  CtrRows out;
  out.rows = static_cast<std::int64_t>(rows.size());
  out.slots = layout_.slots;
  out.dense = static_cast<int>(layout_.dense.size());
  const auto pad = static_cast<std::int32_t>(layout_.vocab_size);
  out.ids.assign(rows.size() * static_cast<std::size_t>(out.slots), pad);
  out.values.assign(rows.size() * static_cast<std::size_t>(out.dense), 0.0f);
  out.labels.reserve(rows.size());
  if (!table.groups.empty()) out.groups.reserve(rows.size());
  std::vector<std::string> tokens;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const auto r = static_cast<std::size_t>(rows[k]);
    out.labels.push_back(table.labels[r]);
    if (!table.groups.empty()) out.groups.push_back(table.groups[r]);
    std::int32_t* ids = out.ids.data() + k * static_cast<std::size_t>(out.slots);
    for (std::size_t i = 0; i < layout_.sparse.size(); ++i) {
      const auto& field = layout_.sparse[i];
      tokens_of(fields_[i], table, r, tokens);
      const auto n = std::min<std::size_t>(tokens.size(), static_cast<std::size_t>(field.slots));
      for (std::size_t s = 0; s < n; ++s)
        ids[field.first_slot + static_cast<int>(s)] =
            static_cast<std::int32_t>(field.offset + lookup(fields_[i], tokens[s]));
    }
    for (std::size_t d = 0; d < layout_.dense.size(); ++d) {
      const auto& raw = *table.find(fields_[layout_.sparse.size() + d].source);
      out.values[k * static_cast<std::size_t>(out.dense) + d] =
          static_cast<float>(log_transform(raw.numbers[r]));
    }
  }
  return out;
}

// ---------------------------------------------------------------- persistence

nlohmann::json CtrEncoder::to_json() const {
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& f : fields_) {
    fields.push_back({{"name", f.name},
                      {"kind", f.kind},
                      {"source", f.source},
                      {"other", f.other},
                      {"hashed", f.hashed},
                      {"buckets", f.buckets},
                      {"tokens", f.tokens},
                      {"edges", f.edges}});
  }
  return {{"config", config_.to_json()}, {"fields", fields}, {"layout", layout_.to_json()}};
}

CtrEncoder CtrEncoder::from_json(const nlohmann::json& j) {
  CtrEncoder e;
  e.config_ = CtrEncoderConfig::from_json(j.at("config"));
  for (const auto& x : j.at("fields")) {
    FieldState f;
    f.name = x.at("name");
    f.kind = x.at("kind");
    f.source = x.at("source");
    f.other = x.at("other");
    f.hashed = x.at("hashed");
    f.buckets = x.at("buckets");
    f.tokens = x.at("tokens").get<std::vector<std::string>>();
    f.edges = x.at("edges").get<std::vector<double>>();
    for (std::size_t i = 0; i < f.tokens.size(); ++i)
      f.index.emplace(f.tokens[i], static_cast<std::int32_t>(i + 1));
    e.fields_.push_back(std::move(f));
  }
  e.layout_ = CtrLayout::from_json(j.at("layout"));
  e.resolve_crosses();
  return e;
}

}  // namespace recpress
