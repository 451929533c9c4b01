#include "data/ctr_encoder.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "core/hash.h"
#include "core/text_reader.h"
#include "runtime/model.h"

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

CtrRows CtrRows::slice(std::int64_t first, std::int64_t count) const {
  CtrRows out;
  out.rows = count;
  out.slots = slots;
  out.dense = dense;
  out.ids.assign(ids.begin() + first * slots, ids.begin() + (first + count) * slots);
  out.values.assign(values.begin() + first * dense, values.begin() + (first + count) * dense);
  out.labels.assign(labels.begin() + first, labels.begin() + first + count);
  if (!groups.empty()) out.groups.assign(groups.begin() + first, groups.begin() + first + count);
  return out;
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

}  // namespace

std::vector<const CtrRawField*> CtrEncoder::input_fields(const CtrTable& table) const {
  std::vector<const CtrRawField*> out;
  for (const auto& input : features_.inputs())
    out.push_back(&require_field(table, input.name, "ctr features"));
  return out;
}

void CtrEncoder::raw_row(const std::vector<const CtrRawField*>& inputs, std::size_t row,
                         std::vector<std::vector<std::string_view>>& lists,
                         std::vector<runtime::RawValue>& out) const {
  out.resize(inputs.size());
  lists.resize(inputs.size());
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const CtrRawField& raw = *inputs[k];
    if (raw.kind == CtrFieldKind::kNumeric) {
      out[k] = runtime::RawValue::of_number(raw.numbers[row]);
      continue;
    }
    auto& list = lists[k];
    list.clear();
    for (auto c = raw.offsets[row]; c < raw.offsets[row + 1]; ++c)
      list.emplace_back(raw.tokens.raw(raw.codes[static_cast<std::size_t>(c)]));
    out[k] = raw.kind == CtrFieldKind::kCategorical && list.size() == 1
                 ? runtime::RawValue::of_text(list[0])
                 : runtime::RawValue::of_texts(list);
  }
}

void CtrEncoder::set_features(runtime::FeatureEncoder features) {
  features_ = std::move(features);
  CtrLayout l;
  const auto& fields = features_.fields();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto& f = fields[i];
    const auto& at = features_.placements()[i];
    CtrField out;
    out.name = f.name;
    out.kind = runtime::feature_kind_name(f.kind);
    out.first_slot = static_cast<int>(at.first_slot);
    if (f.kind == runtime::FeatureKind::kDense) {
      l.dense.push_back(out);
      continue;
    }
    out.offset = at.offset;
    out.vocab = at.vocab;
    out.hashed = f.hashed;
    out.wide_only = f.kind == runtime::FeatureKind::kCross;
    out.slots = static_cast<int>(f.slots);
    l.sparse.push_back(out);
  }
  l.vocab_size = features_.vocab_size();
  l.slots = static_cast<int>(features_.slots());
  layout_ = std::move(l);
}

namespace {

runtime::FeatureEncoder make_features(std::vector<runtime::FeatureField> fields,
                                      const CtrEncoderConfig& config) {
  try {
    return runtime::FeatureEncoder(std::move(fields), config.numeric == "criteo",
                                   static_cast<std::uint32_t>(config.max_tokens));
  } catch (const runtime::ModelError& e) {
    throw Error(std::string("ctr features: ") + e.what());
  }
}

}  // namespace

CtrEncoder CtrEncoder::fit(const CtrTable& table, const std::vector<std::int64_t>& train_rows,
                           const CtrEncoderConfig& config) {
  config.validate();
  if (train_rows.empty()) throw Error("ctr features: no training rows to build vocabularies from");
  using runtime::FeatureKind;
  const int buckets = bucket_count(config.numeric);
  // 1. Fields: sparse table fields, crosses, then dense numerics.
  std::vector<runtime::FeatureField> fields, dense;
  for (const auto& raw : table.fields) {
    runtime::FeatureField f;
    f.name = raw.name;
    if (raw.kind == CtrFieldKind::kCategorical) {
      f.kind = FeatureKind::kCategorical;
    } else if (raw.kind == CtrFieldKind::kMulti) {
      f.kind = FeatureKind::kMulti;
    } else if (config.numeric == "log") {
      f.kind = FeatureKind::kDense;
      dense.push_back(std::move(f));
      continue;
    } else {
      f.kind = FeatureKind::kBucketized;
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
    fields.push_back(std::move(f));
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
    if (a.find('*') != std::string::npos || b.find('*') != std::string::npos)
      throw Error(context + ": a cross of crosses is not supported");
    runtime::FeatureField f;
    f.name = a + "*" + b;
    f.kind = FeatureKind::kCross;
    f.left = a;
    f.right = b;
    fields.push_back(std::move(f));
  }
  const std::size_t sparse = fields.size();
  fields.insert(fields.end(), std::make_move_iterator(dense.begin()),
                std::make_move_iterator(dense.end()));
  // 2. Token counts and the longest multi-hot row of each sparse field, on the training rows.
  CtrEncoder e;
  e.config_ = config;
  e.set_features(make_features(fields, config));
  const auto inputs = e.input_fields(table);
  std::vector<std::unordered_map<std::string, std::int64_t>> counts(sparse);
  std::vector<std::uint32_t> longest(sparse, 1);
  std::vector<std::vector<std::string_view>> lists;
  std::vector<runtime::RawValue> row;
  std::vector<std::string> tokens;
  for (auto r : train_rows) {
    e.raw_row(inputs, static_cast<std::size_t>(r), lists, row);
    for (std::size_t i = 0; i < sparse; ++i) {
      e.features_.tokens(i, row, tokens);
      for (auto& t : tokens) ++counts[i][t];
      longest[i] = std::max(longest[i], static_cast<std::uint32_t>(tokens.size()));
    }
  }
  // 3. Vocabularies: hashed when too many distinct values, else the values seen min_count times.
  for (std::size_t i = 0; i < sparse; ++i) {
    auto& f = fields[i];
    if (f.kind == FeatureKind::kMulti || f.kind == FeatureKind::kCross) f.slots = longest[i];
    if (config.hash_buckets > 0 &&
        static_cast<std::int64_t>(counts[i].size()) > config.hash_buckets) {
      f.hashed = true;
      f.buckets = config.hash_buckets;
      continue;
    }
    std::vector<std::pair<std::string, std::int64_t>> kept;
    for (auto& [t, c] : counts[i]) {
      if (c >= config.min_count) kept.emplace_back(t, c);
    }
    // Most frequent first, ties by token: the ids do not depend on hash-map order.
    std::sort(kept.begin(), kept.end(), [](const auto& x, const auto& y) {
      return x.second != y.second ? x.second > y.second : x.first < y.first;
    });
    for (auto& [t, c] : kept) f.tokens.push_back(t);
  }
  e.set_features(make_features(std::move(fields), config));
  return e;
}

std::int64_t CtrEncoder::local_id(const std::string& field, const std::string& token) const {
  const auto& fields = features_.fields();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == field && fields[i].kind != runtime::FeatureKind::kDense)
      return features_.lookup(i, token);
  }
  throw Error("ctr features: no sparse field '" + field + "'");
}

CtrRows CtrEncoder::encode(const CtrTable& table, const std::vector<std::int64_t>& rows) const {
  const auto inputs = input_fields(table);
  CtrRows out;
  out.rows = static_cast<std::int64_t>(rows.size());
  out.slots = layout_.slots;
  out.dense = static_cast<int>(layout_.dense.size());
  out.ids.resize(rows.size() * static_cast<std::size_t>(out.slots));
  out.values.resize(rows.size() * static_cast<std::size_t>(out.dense));
  out.labels.reserve(rows.size());
  if (!table.groups.empty()) out.groups.reserve(rows.size());
  std::vector<std::vector<std::string_view>> lists;
  std::vector<runtime::RawValue> row;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const auto r = static_cast<std::size_t>(rows[k]);
    out.labels.push_back(table.labels[r]);
    if (!table.groups.empty()) out.groups.push_back(table.groups[r]);
    raw_row(inputs, r, lists, row);
    features_.encode(row, out.ids.data() + k * static_cast<std::size_t>(out.slots),
                     out.values.data() + k * static_cast<std::size_t>(out.dense));
  }
  return out;
}

// ---------------------------------------------------------------- persistence

nlohmann::json CtrEncoder::to_json() const {
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& f : features_.fields()) {
    const bool cross = f.kind == runtime::FeatureKind::kCross;
    fields.push_back({{"name", f.name},
                      {"kind", runtime::feature_kind_name(f.kind)},
                      {"source", cross ? f.left : f.name},
                      {"other", cross ? f.right : std::string()},
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
  const CtrLayout stored = CtrLayout::from_json(j.at("layout"));
  std::vector<runtime::FeatureField> fields;
  std::size_t sparse = 0;
  for (const auto& x : j.at("fields")) {
    runtime::FeatureField f;
    f.name = x.at("name");
    try {
      f.kind = runtime::parse_feature_kind(x.at("kind").get<std::string>());
    } catch (const runtime::ModelError& err) {
      throw Error(std::string("ctr features: ") + err.what());
    }
    if (f.kind == runtime::FeatureKind::kCross) {
      f.left = x.at("source");
      f.right = x.at("other");
    }
    f.hashed = x.at("hashed");
    f.buckets = x.at("buckets");
    f.tokens = x.at("tokens").get<std::vector<std::string>>();
    f.edges = x.at("edges").get<std::vector<double>>();
    if (f.kind != runtime::FeatureKind::kDense) {
      if (sparse >= stored.sparse.size()) throw Error("ctr features: layout and fields disagree");
      f.slots = static_cast<std::uint32_t>(stored.sparse[sparse++].slots);
    }
    fields.push_back(std::move(f));
  }
  e.set_features(make_features(std::move(fields), e.config_));
  if (!(e.layout_ == stored))
    throw Error("ctr features: the stored layout does not follow from the stored fields");
  return e;
}

}  // namespace recpress
