// Turning CTR table rows into model inputs: vocabularies built on the training split only, an OOV
// bucket per field for unseen and rare values, optional feature hashing for huge vocabularies,
// numeric transforms, and Wide & Deep's cross-product features.
//
// Every sparse feature gets a global id: field f owns ids [offset_f, offset_f + vocab_f), local id
// 0 being its OOV bucket. A row is a fixed-width vector of ids, one slot per categorical field and
// up to `max_tokens` slots per multi-hot field (unused slots hold the padding id,
// layout.vocab_size), plus one float per dense numeric field. Models embed all ids with one table
// and pool multi-hot slots per field (mean), so the layout is all they need to know.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "data/ctr_table.h"
#include "runtime/features.h"

namespace recpress {

struct CtrEncoderConfig {
  // Values seen fewer than min_count times in the training rows go to the field's OOV bucket.
  int min_count = 2;
  // > 0: a field with more distinct training values than this is hashed into this many buckets
  // (no vocabulary kept). 0: never hash.
  std::int64_t hash_buckets = 0;
  // Numeric fields: "log" (dense value sign(x) log(1 + |x|), missing -> 0), "bucket:N" (N quantile
  // buckets of the training values, a categorical field), or "criteo" (x > 2 -> floor(ln(x)^2),
  // else x itself, as a categorical token: the Criteo competition winners' transform).
  std::string numeric = "log";
  int max_tokens = 8;  // multi-hot fields keep their first max_tokens values
  // Cross-product features for the wide part (Cheng et al. 2016, eq. 1): pairs of field names.
  // A cross of two categorical fields is categorical; with a multi-hot side it is multi-hot.
  std::vector<std::pair<std::string, std::string>> crosses;

  // "user_gender*item_genre,a*b" -> crosses. Throws Error on malformed text.
  static std::vector<std::pair<std::string, std::string>> parse_crosses(const std::string& text);
  void validate() const;  // throws Error naming the bad field
  nlohmann::json to_json() const;
  static CtrEncoderConfig from_json(const nlohmann::json& j);
};

struct CtrField {
  std::string name;
  std::string kind;         // categorical, multi, bucketized, dense, cross
  std::int64_t offset = 0;  // sparse: first global id (the OOV bucket)
  std::int64_t vocab = 0;   // sparse: ids offset .. offset + vocab - 1
  int first_slot = 0;       // sparse: first slot in a row; dense: index among dense values
  int slots = 1;
  bool hashed = false;
  bool wide_only = false;  // crosses: used by linear (wide) parts only
};

struct CtrLayout {
  std::vector<CtrField> sparse;  // deep fields first, then the wide-only crosses
  std::vector<CtrField> dense;
  std::int64_t vocab_size = 0;  // global ids are 0 .. vocab_size - 1; vocab_size = padding
  int slots = 0;

  int deep_sparse_fields() const;  // sparse fields that are not wide-only
  // Fields an embedding model sees: deep sparse fields + dense fields.
  int embedded_fields() const { return deep_sparse_fields() + static_cast<int>(dense.size()); }
  nlohmann::json to_json() const;
  static CtrLayout from_json(const nlohmann::json& j);
  bool operator==(const CtrLayout& other) const { return to_json() == other.to_json(); }
};

// Encoded rows, ready to be batched.
struct CtrRows {
  std::int64_t rows = 0;
  int slots = 0;
  int dense = 0;
  std::vector<std::int32_t> ids;     // rows x slots
  std::vector<float> values;         // rows x dense
  std::vector<float> labels;         // rows
  std::vector<std::int64_t> groups;  // rows, or empty
  double positive_rate() const;
  // Rows first .. first + count - 1 as their own CtrRows (one request's rows, a batch).
  CtrRows slice(std::int64_t first, std::int64_t count) const;
};

class CtrEncoder {
 public:
  // Vocabularies, buckets and hashing decisions from `train_rows` of `table` only. Throws Error for
  // a cross naming an unknown or numeric-dense field.
  static CtrEncoder fit(const CtrTable& table, const std::vector<std::int64_t>& train_rows,
                        const CtrEncoderConfig& config);
  // Throws Error if the table lacks a field the encoder was fitted on.
  CtrRows encode(const CtrTable& table, const std::vector<std::int64_t>& rows) const;

  const CtrLayout& layout() const { return layout_; }
  const CtrEncoderConfig& config() const { return config_; }
  // The fitted fields, as a CTR model file stores them.
  const runtime::FeatureEncoder& features() const { return features_; }
  // Local id of a value of a sparse field (0 = OOV); for tests and diagnostics.
  std::int64_t local_id(const std::string& field, const std::string& token) const;

  nlohmann::json to_json() const;
  static CtrEncoder from_json(const nlohmann::json& j);

 private:
  // The raw values of table row `row` in features_.inputs() order (views into the table; multi-hot
  // tokens into `lists`, one list per input).
  void raw_row(const std::vector<const CtrRawField*>& inputs, std::size_t row,
               std::vector<std::vector<std::string_view>>& lists,
               std::vector<runtime::RawValue>& out) const;
  // The table's field behind each input; throws Error naming a missing one.
  std::vector<const CtrRawField*> input_fields(const CtrTable& table) const;
  void set_features(runtime::FeatureEncoder features);

  CtrEncoderConfig config_;
  runtime::FeatureEncoder features_;  // the one encoding implementation (also the runtime's)
  CtrLayout layout_;                  // derived from features_
};

}  // namespace recpress
