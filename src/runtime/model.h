// The RecPress model file (.rpm) and its scorer: the LibTorch-free half of RecPress, what an edge
// device links. schema/recpress_model.fbs defines the format; this file reads it (into private
// memory, then zero-copy views), validates it completely before use (magic, version, checksum,
// FlatBuffers verifier, shapes), scores a user against the whole catalog in fp32, fp16 or int8, and
// returns the top-K with raw ids. encode_model() writes it (an exporter supplies float matrices).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace recpress::runtime {

enum class DType : std::uint8_t { kF32 = 0, kF16 = 1, kI8 = 2 };
std::string dtype_name(DType d);        // "fp32", "fp16", "int8"
DType parse_dtype(std::string_view s);  // throws ModelError for anything else

struct FileBytes;  // a model file's bytes (internal.h)

// The task a model file holds ("topn", "ctr"), after the header and structure checks. Throws
// ModelError naming the file.
std::string model_file_task(const std::string& path);

// Every problem with a model file: names the file and what is wrong with it.
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The newest format version this runtime reads (it reads every version from 1).
inline constexpr std::uint32_t kFormatVersion = 2;
inline constexpr std::size_t kHeaderBytes = 32;

struct DenseMatrix {
  std::uint32_t rows = 0, cols = 0;
  std::vector<float> values;  // row-major
};

// One layer after the first of an NCF tower: relu(weight x + bias), weight out x in.
struct DenseLayer {
  DenseMatrix weight;
  std::vector<float> bias;
};

// What an exporter hands to encode_model(): bias + <user, item> (kind DOT), plus an MLP tower when
// `mlp_users` has columns (kind NCF): + head . f(relu(mlp_users[u] + mlp_items[i])).
struct ModelContent {
  std::string task = "topn";
  std::string source_model;  // e.g. "mf:dim=20"
  DenseMatrix users, items;  // may have 0 columns for an MLP
  float bias = 0.0f;
  DenseMatrix mlp_users, mlp_items;  // the tower's first layer split per user (with its bias)
  std::vector<DenseLayer> layers;    // and per item
  std::vector<float> head;
  std::vector<std::string> user_ids, item_ids;          // raw ids by row
  std::vector<std::uint32_t> seen_offsets, seen_items;  // optional CSR of known interactions
  std::string metadata = "{}";                          // JSON
};

// The file's bytes: header + FlatBuffer. int8 uses symmetric per-row scales (max |x| / 127).
std::string encode_model(const ModelContent& content, DType dtype);

// half <-> float (IEEE 754 binary16, round to nearest even).
std::uint16_t float_to_half(float f);
float half_to_float(std::uint16_t h);

// Scoring kernels (exposed for tests and benchmarks): one user row against a column-major item
// matrix of n items and d dimensions.
void score_f32(const float* user, const float* items, std::size_t d, std::size_t n, float bias,
               float* out);
// fp16 x fp16 in fp32: F16C conversions when the CPU has them, else a lookup table.
void score_f16(const std::uint16_t* user, const std::uint16_t* items, std::size_t d, std::size_t n,
               float bias, float* out);
void score_i8(const std::int8_t* user, const std::int8_t* items, std::size_t d, std::size_t n,
              float bias, float user_scale, const float* item_scales, float* out);

// An int8 item matrix repacked once at load for the CPU's 16-bit integer multiply-add
// (vpmaddwd): blocks of 16 items, each dimension pair of an item two adjacent int16 values. The
// sums are the same integers as score_i8's, so are the scores; 2 bytes per value, 16 products per
// AVX2 instruction where score_i8 widens every value to a float first. (An AVX-512 version was
// measured no faster on the Xeon: docs/results.md, "Serving".)
class PackedI8Items {
 public:
  // Null when this CPU has no AVX2, or the matrix is empty: use score_i8.
  static std::shared_ptr<const PackedI8Items> pack(const std::int8_t* items, std::size_t d,
                                                   std::size_t n);
  // score_i8's result for this matrix.
  void score(const std::int8_t* user, float bias, float user_scale, const float* item_scales,
             float* out) const;
  std::size_t bytes() const { return values_.size() * sizeof(std::int16_t); }

 private:
  std::size_t d_ = 0, n_ = 0, pairs_ = 0;
  std::vector<std::int16_t> values_;  // [block][pair][16 items][2]
};

class Model {
 public:
  // Memory-maps and validates `path`. Throws ModelError naming the file for a missing, truncated,
  // corrupted, wrong-version or inconsistent file.
  static Model open(const std::string& path);
  // The same from bytes in memory (copied into an aligned buffer); `name` is used in errors.
  static Model from_bytes(std::string_view bytes, const std::string& name = "<memory>");

  std::uint32_t num_users() const { return num_users_; }
  std::uint32_t num_items() const { return num_items_; }
  std::uint32_t dim() const { return dim_; }  // width of the dot-product part
  DType dtype() const { return dtype_; }
  bool has_tower() const { return tower_input_ > 0; }
  // Numbers stored (embeddings, tower, head, bias): what the file's bytes hold.
  std::uint64_t parameter_count() const;
  // Floating-point operations to score one (user, item) pair: 2 per multiply-add, 1 per addition
  // and per ReLU.
  std::uint64_t flops_per_item() const;
  std::size_t file_bytes() const;
  const std::string& source_model() const { return source_model_; }
  const std::string& metadata() const { return metadata_; }
  bool has_seen() const { return seen_offsets_ != nullptr; }
  // Bytes of the seen-items table (offsets + items): often most of a small model's file.
  std::size_t seen_bytes() const {
    return has_seen() ? (std::size_t{num_users_} + 1 + seen_offsets_[num_users_]) * 4 : 0;
  }
  // How many users have each item, from the seen-items table (empty without one).
  std::vector<std::uint32_t> item_popularity() const;

  std::optional<std::uint32_t> user_index(std::string_view raw_id) const;
  std::string_view user_id(std::uint32_t index) const;
  std::string_view item_id(std::uint32_t index) const;

  float bias() const { return bias_; }
  // The dot-product vectors, dequantised to floats: out[0..dim).
  void user_vector(std::uint32_t user, float* out) const;
  void item_vector(std::uint32_t item, float* out) const;
  // The items `user` already has (empty without a seen-items table).
  std::span<const std::uint32_t> seen(std::uint32_t user) const;

  // Scores of every item for `user` into out[0..num_items).
  void score_all(std::uint32_t user, float* out) const;
  // The k best items for `user`, best first, optionally without the items the user already has.
  std::vector<std::pair<std::uint32_t, float>> recommend(std::uint32_t user, std::size_t k,
                                                         bool exclude_seen) const;

 private:
  static Model parse(std::shared_ptr<FileBytes> storage, const std::string& name);

  std::shared_ptr<FileBytes> storage_;
  std::uint32_t num_users_ = 0, num_items_ = 0, dim_ = 0;
  DType dtype_ = DType::kF32;
  float bias_ = 0.0f;
  const std::uint8_t* users_ = nullptr;  // rows x dim values of dtype_
  const std::uint8_t* items_ = nullptr;
  const float* user_scales_ = nullptr;  // int8 only
  const float* item_scales_ = nullptr;
  std::shared_ptr<const PackedI8Items> packed_items_;  // int8 items for the integer kernel
  // NCF tower: first layer per user / item (dtype_), then fp32 layers and the head.
  struct LayerView {
    std::uint32_t in = 0, out = 0;
    const float* weight = nullptr;  // out x in, row-major
    const float* bias = nullptr;
  };
  std::uint32_t tower_input_ = 0;
  const std::uint8_t* mlp_users_ = nullptr;
  const std::uint8_t* mlp_items_ = nullptr;
  const float* mlp_user_scales_ = nullptr;
  const float* mlp_item_scales_ = nullptr;
  std::vector<LayerView> layers_;
  const float* head_ = nullptr;
  void add_tower(std::uint32_t user, float* out) const;
  const std::uint32_t* seen_offsets_ = nullptr;
  const std::uint32_t* seen_items_ = nullptr;
  std::vector<std::string_view> user_ids_, item_ids_;
  std::unordered_map<std::string_view, std::uint32_t> user_index_;
  std::string source_model_, metadata_;
};

}  // namespace recpress::runtime
