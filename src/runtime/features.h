// CTR feature encoding: raw field values (a request's {"user": "42", "genres": ["Comedy"], "year":
// 1995}, or a training table's row) -> the model's sparse ids and dense values. It is the one
// implementation both sides use: training (data/ctr_encoder.h fits the vocabularies and encodes
// its tables through it) and the runtime (a CTR .rpm stores the fitted fields; a request is
// encoded exactly as training encoded its rows). No LibTorch, no JSON: what an edge device links.
//
// Fields, in order: sparse fields read from one input each (categorical, multi-hot, bucketized
// numeric), then crosses of two of them (wide-only), then dense numeric fields. A sparse field f
// owns the global ids [offset_f, offset_f + vocab_f), local id 0 being its OOV bucket; its row
// slots [first_slot_f, first_slot_f + slots_f) hold ids, unused slots the padding id vocab_size.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace recpress::runtime {

// What a raw input field carries: one token, zero or more tokens, or a number.
enum class InputKind : std::uint8_t { kCategorical = 0, kMulti = 1, kNumeric = 2 };
const char* input_kind_name(InputKind k);  // "categorical", "multi", "numeric"

enum class FeatureKind : std::uint8_t {
  kCategorical = 0,
  kMulti = 1,
  kBucketized = 2,  // a numeric input as a token: quantile bucket, or Criteo's log^2 transform
  kDense = 3,       // a numeric input as a value: sign(x) log(1 + |x|), missing -> 0
  kCross = 4,       // the cross product of two sparse fields' tokens (Cheng et al. 2016, eq. 1)
};
const char* feature_kind_name(FeatureKind k);  // "categorical", "multi", ...
// Throws ModelError for an unknown name.
FeatureKind parse_feature_kind(std::string_view name);

inline constexpr std::string_view kMissingToken = "<missing>";

// One raw value of an input, as a request or a table row carries it (views: the caller owns the
// text). A categorical input takes text (a number is printed as its token: 42 -> "42"); a
// multi-hot one texts or one text; a numeric one a number or a text that parses as one. Missing:
// the token "<missing>", no tokens, NaN.
struct RawValue {
  enum class Type : std::uint8_t { kMissing, kText, kTexts, kNumber };
  Type type = Type::kMissing;
  std::string_view text;
  std::span<const std::string_view> texts;
  double number = 0;

  static RawValue missing() { return {}; }
  static RawValue of_text(std::string_view t) { return {Type::kText, t, {}, 0}; }
  static RawValue of_texts(std::span<const std::string_view> t) { return {Type::kTexts, {}, t, 0}; }
  static RawValue of_number(double x) { return {Type::kNumber, {}, {}, x}; }
};

// A value that does not fit its input (a list for a categorical field, text for a numeric one).
class FeatureError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FeatureField {
  std::string name;  // a non-cross field reads the input of the same name
  FeatureKind kind = FeatureKind::kCategorical;
  std::string left, right;  // crosses: the two fields crossed
  bool hashed = false;      // ids from FNV-1a of the token mod buckets, no vocabulary
  std::int64_t buckets = 0;
  std::vector<std::string> tokens;  // local id - 1 -> token (most frequent first)
  std::vector<double> edges;        // bucketized: quantile edges (empty: Criteo's transform)
  std::uint32_t slots = 1;          // multi-hot and crosses: tokens kept per row
};

class FeatureEncoder {
 public:
  struct Input {
    std::string name;
    InputKind kind;
  };
  // Where a field's ids and slots are (derived from the fields' order, vocabularies and slots).
  struct Placement {
    std::int64_t offset = 0, vocab = 0;  // sparse only
    std::uint32_t first_slot = 0;        // sparse: first slot; dense: index among dense values
  };

  FeatureEncoder() = default;
  // Checks the fields fit together (order sparse < crosses < dense, crosses of two non-cross
  // sparse fields, vocabularies, edges sorted, slots) and lays them out. Throws ModelError naming
  // the field. `criteo_numeric`: bucketized fields without edges use Criteo's transform.
  FeatureEncoder(std::vector<FeatureField> fields, bool criteo_numeric, std::uint32_t max_tokens);

  const std::vector<FeatureField>& fields() const { return fields_; }
  const std::vector<Placement>& placements() const { return placements_; }
  const std::vector<Input>& inputs() const { return inputs_; }
  // Index of the input named `name`, or -1.
  int input_index(std::string_view name) const;
  bool criteo_numeric() const { return criteo_; }
  std::uint32_t max_tokens() const { return max_tokens_; }
  std::uint32_t slots() const { return slots_; }
  std::uint32_t dense() const { return dense_; }
  std::uint32_t sparse_fields() const { return sparse_; }  // crosses included
  std::uint32_t deep_sparse_fields() const { return deep_sparse_; }
  std::int64_t vocab_size() const { return vocab_size_; }  // = the padding id

  // The tokens of field `f` for a row (one RawValue per input, in inputs() order). Throws
  // FeatureError naming the input for a value of the wrong type.
  void tokens(std::size_t f, std::span<const RawValue> row, std::vector<std::string>& out) const;
  // Local id of a token of sparse field `f` (0: OOV).
  std::int64_t lookup(std::size_t f, std::string_view token) const;
  // One row into ids[0..slots) and values[0..dense).
  void encode(std::span<const RawValue> row, std::int32_t* ids, float* values) const;

 private:
  struct TokenHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<FeatureField> fields_;
  std::vector<Placement> placements_;
  std::vector<Input> inputs_;
  std::vector<int> input_of_;            // field -> input (-1 for crosses)
  std::vector<int> left_of_, right_of_;  // crosses: field indices
  std::vector<std::unordered_map<std::string, std::int32_t, TokenHash, std::equal_to<>>> index_;
  bool criteo_ = false;
  std::uint32_t max_tokens_ = 8, slots_ = 0, dense_ = 0, sparse_ = 0, deep_sparse_ = 0;
  std::int64_t vocab_size_ = 0;
};

}  // namespace recpress::runtime
