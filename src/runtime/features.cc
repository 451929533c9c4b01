// FeatureEncoder: the one implementation of CTR feature encoding (features.h), shared by training
// and the runtime.
#include "runtime/features.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/hash.h"
#include "runtime/model.h"

namespace recpress::runtime {

const char* input_kind_name(InputKind k) {
  switch (k) {
    case InputKind::kCategorical:
      return "categorical";
    case InputKind::kMulti:
      return "multi";
    case InputKind::kNumeric:
      return "numeric";
  }
  return "?";
}

namespace {
constexpr const char* kFeatureKindNames[] = {"categorical", "multi", "bucketized", "dense",
                                             "cross"};
}

const char* feature_kind_name(FeatureKind k) {
  const auto i = static_cast<std::size_t>(k);
  return i < std::size(kFeatureKindNames) ? kFeatureKindNames[i] : "?";
}

FeatureKind parse_feature_kind(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kFeatureKindNames); ++i)
    if (name == kFeatureKindNames[i]) return static_cast<FeatureKind>(i);
  throw ModelError("unknown feature kind '" + std::string(name) +
                   "' (categorical, multi, bucketized, dense, cross)");
}

namespace {

bool is_sparse(FeatureKind k) {
  return k != FeatureKind::kDense;
}

InputKind input_kind_of(FeatureKind k) {
  return k == FeatureKind::kCategorical ? InputKind::kCategorical
         : k == FeatureKind::kMulti     ? InputKind::kMulti
                                        : InputKind::kNumeric;
}

// The token a number stands for in a categorical or multi-hot input: 42 -> "42", 0.5 -> "0.5".
std::string number_as_token(double x) {
  char buf[32];
  if (std::nearbyint(x) == x && std::fabs(x) < 9.0e15) {
    const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(x));
    return std::string(buf, r.ptr);
  }
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

// Criteo's and the bucket transforms name numbers as iostream's default formatting does ("%g").
std::string number_token(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

// The number a numeric input carries (NaN: missing); text must parse as a whole.
double number_of(const FeatureField& field, const RawValue& v) {
  double x = std::nan("");
  if (v.type == RawValue::Type::kNumber) return v.number;
  if (v.type == RawValue::Type::kTexts)
    throw FeatureError("field '" + field.name + "': expected a number, got a list");
  if (v.type == RawValue::Type::kText) {
    const auto r = std::from_chars(v.text.data(), v.text.data() + v.text.size(), x);
    if (r.ec != std::errc() || r.ptr != v.text.data() + v.text.size())
      throw FeatureError("field '" + field.name + "': expected a number, got '" +
                         std::string(v.text) + "'");
  }
  return x;
}

double log_transform(double x) {
  if (std::isnan(x)) return 0;
  return x >= 0 ? std::log1p(x) : -std::log1p(-x);
}

}  // namespace

FeatureEncoder::FeatureEncoder(std::vector<FeatureField> fields, bool criteo_numeric,
                               std::uint32_t max_tokens)
    : fields_(std::move(fields)), criteo_(criteo_numeric), max_tokens_(max_tokens) {
  if (max_tokens_ == 0) throw ModelError("features: max_tokens must be >= 1");
  // Order: non-cross sparse fields, crosses, dense fields (the models rely on it: the deep
  // fields' slots come first, and layout index = field index for sparse fields).
  int stage = 0;
  for (const auto& f : fields_) {
    const int s = f.kind == FeatureKind::kCross ? 1 : f.kind == FeatureKind::kDense ? 2 : 0;
    if (s < stage)
      throw ModelError("feature '" + f.name + "': fields must be sparse, then crosses, then dense");
    stage = s;
    if (f.name.empty()) throw ModelError("a feature without a name");
  }
  placements_.resize(fields_.size());
  input_of_.assign(fields_.size(), -1);
  left_of_.assign(fields_.size(), -1);
  right_of_.assign(fields_.size(), -1);
  index_.resize(fields_.size());
  std::int64_t offset = 0;
  std::uint32_t slot = 0;
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    auto& f = fields_[i];
    const std::string which = "feature '" + f.name + "'";
    if (f.kind != FeatureKind::kCross) {
      if (input_index(f.name) >= 0) throw ModelError(which + " appears twice");
      input_of_[i] = static_cast<int>(inputs_.size());
      inputs_.push_back({f.name, input_kind_of(f.kind)});
    } else {
      for (std::size_t j = 0; j < i; ++j) {
        if (fields_[j].kind == FeatureKind::kCross || !is_sparse(fields_[j].kind)) continue;
        if (fields_[j].name == f.left) left_of_[i] = static_cast<int>(j);
        if (fields_[j].name == f.right) right_of_[i] = static_cast<int>(j);
      }
      if (left_of_[i] < 0 || right_of_[i] < 0)
        throw ModelError(which + ": crosses two sparse fields before it, '" + f.left + "' and '" +
                         f.right + "' are not both");
    }
    if (!is_sparse(f.kind)) {
      if (f.hashed || !f.tokens.empty() || f.slots != 1)
        throw ModelError(which + ": a dense field has no vocabulary and one value");
      placements_[i].first_slot = dense_++;
      continue;
    }
    if (!std::is_sorted(f.edges.begin(), f.edges.end()) ||
        (f.kind != FeatureKind::kBucketized && !f.edges.empty()) ||
        std::any_of(f.edges.begin(), f.edges.end(), [](double e) { return std::isnan(e); }))
      throw ModelError(which + ": bucket edges must be sorted numbers of a bucketized field");
    if (f.slots == 0 || f.slots > max_tokens_ ||
        ((f.kind == FeatureKind::kCategorical || f.kind == FeatureKind::kBucketized) &&
         f.slots != 1))
      throw ModelError(which + ": " + std::to_string(f.slots) + " slots (1 for a single-valued " +
                       "field, 1.." + std::to_string(max_tokens_) + " for multi-hot and crosses)");
    if (f.hashed && (f.buckets < 1 || f.buckets > (std::int64_t{1} << 30) || !f.tokens.empty()))
      throw ModelError(which + ": hashed into " + std::to_string(f.buckets) +
                       " buckets (1 .. 2^30, no vocabulary)");
    if (!f.hashed && f.buckets != 0) throw ModelError(which + ": buckets without hashing");
    auto& index = index_[i];
    for (std::size_t t = 0; t < f.tokens.size(); ++t)
      if (!index.emplace(f.tokens[t], static_cast<std::int32_t>(t + 1)).second)
        throw ModelError(which + ": token '" + f.tokens[t] + "' appears twice");
    placements_[i].offset = offset;
    placements_[i].vocab = 1 + (f.hashed ? f.buckets : static_cast<std::int64_t>(f.tokens.size()));
    placements_[i].first_slot = slot;
    offset += placements_[i].vocab;
    if (offset >= (std::int64_t{1} << 31) - 1)
      throw ModelError(which + ": more than 2^31 ids in all");
    slot += f.slots;
    ++sparse_;
    if (f.kind != FeatureKind::kCross) ++deep_sparse_;
  }
  vocab_size_ = offset;
  slots_ = slot;
}

int FeatureEncoder::input_index(std::string_view name) const {
  for (std::size_t i = 0; i < inputs_.size(); ++i)
    if (inputs_[i].name == name) return static_cast<int>(i);
  return -1;
}

void FeatureEncoder::tokens(std::size_t f, std::span<const RawValue> row,
                            std::vector<std::string>& out) const {
  out.clear();
  const FeatureField& field = fields_[f];
  if (field.kind == FeatureKind::kCross) {
    std::vector<std::string> left, right;
    tokens(static_cast<std::size_t>(left_of_[f]), row, left);
    tokens(static_cast<std::size_t>(right_of_[f]), row, right);
    for (const auto& x : left) {
      for (const auto& y : right) {
        if (out.size() >= max_tokens_) return;
        out.push_back(x + "\x1f" + y);
      }
    }
    return;
  }
  const RawValue& v = row[static_cast<std::size_t>(input_of_[f])];
  if (field.kind == FeatureKind::kCategorical || field.kind == FeatureKind::kMulti) {
    switch (v.type) {
      case RawValue::Type::kMissing:
        if (field.kind == FeatureKind::kCategorical) out.emplace_back(kMissingToken);
        return;
      case RawValue::Type::kText:
        out.emplace_back(v.text);
        return;
      case RawValue::Type::kNumber:
        if (std::isnan(v.number)) {
          if (field.kind == FeatureKind::kCategorical) out.emplace_back(kMissingToken);
        } else {
          out.push_back(number_as_token(v.number));
        }
        return;
      case RawValue::Type::kTexts:
        if (field.kind == FeatureKind::kCategorical) {
          if (v.texts.size() != 1)
            throw FeatureError("field '" + field.name + "': expected one token, got a list of " +
                               std::to_string(v.texts.size()));
          out.emplace_back(v.texts[0]);
          return;
        }
        for (const auto t : v.texts) {
          if (out.size() >= max_tokens_) break;
          out.emplace_back(t);
        }
        return;
    }
  }
  // A numeric input as a token.
  const double x = number_of(field, v);
  if (std::isnan(x)) {
    out.emplace_back(kMissingToken);
  } else if (!field.edges.empty() || !criteo_) {
    const auto b =
        std::upper_bound(field.edges.begin(), field.edges.end(), x) - field.edges.begin();
    out.push_back("b" + std::to_string(b));
  } else {
    // Criteo competition winners' transform: x > 2 -> floor(ln(x)^2), else x itself.
    out.push_back(
        x > 2 ? "L" + std::to_string(static_cast<long long>(std::floor(std::log(x) * std::log(x))))
              : number_token(x));
  }
}

std::int64_t FeatureEncoder::lookup(std::size_t f, std::string_view token) const {
  const FeatureField& field = fields_[f];
  if (field.hashed) {
    Fnv1a h;
    h.add(token);
    return 1 + static_cast<std::int64_t>(h.value() % static_cast<std::uint64_t>(field.buckets));
  }
  const auto& index = index_[f];
  const auto it = index.find(token);
  return it == index.end() ? 0 : it->second;
}

void FeatureEncoder::encode(std::span<const RawValue> row, std::int32_t* ids, float* values) const {
  if (row.size() != inputs_.size())
    throw FeatureError("a row of " + std::to_string(row.size()) + " values, the model reads " +
                       std::to_string(inputs_.size()) + " fields");
  const auto pad = static_cast<std::int32_t>(vocab_size_);
  std::fill(ids, ids + slots_, pad);
  thread_local std::vector<std::string> tokens_of_field;
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const FeatureField& field = fields_[i];
    const Placement& at = placements_[i];
    if (field.kind == FeatureKind::kDense) {
      const double x = number_of(field, row[static_cast<std::size_t>(input_of_[i])]);
      values[at.first_slot] = static_cast<float>(log_transform(x));
      continue;
    }
    tokens(i, row, tokens_of_field);
    const auto n = std::min<std::size_t>(tokens_of_field.size(), field.slots);
    for (std::size_t s = 0; s < n; ++s)
      ids[at.first_slot + s] = static_cast<std::int32_t>(at.offset + lookup(i, tokens_of_field[s]));
  }
}

}  // namespace recpress::runtime
