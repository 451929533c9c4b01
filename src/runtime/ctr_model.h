// A CTR model file (.rpm, task "ctr", format version 2) and its scorer, LibTorch-free: the fitted
// feature encoder (features.h) and the parts of LR, FM, Wide & Deep, DeepFM and a plain DNN
// (schema/recpress_model.fbs, CtrPart). A request's raw field values are encoded exactly as
// training encoded its rows, then scored in blocks of rows: pooled embeddings (fp32, fp16 or int8
// with per-row scales), the FM term, the deep part's layers in fp32.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/features.h"
#include "runtime/model.h"

namespace recpress::runtime {

// What an exporter hands to encode_ctr_model(). logit = linear + fm + deep (ctr_model.h's file
// comment, the schema's CtrPart).
struct CtrContent {
  std::string source_model;  // e.g. "deepfm:dim=4,hidden=64-32"
  std::vector<FeatureField> features;
  bool criteo_numeric = false;
  std::uint32_t max_tokens = 8;
  bool has_linear = false;
  std::vector<float> linear;        // one weight per id (vocab_size)
  std::vector<float> dense_linear;  // one per dense field
  float bias = 0;
  DenseMatrix embedding;      // vocab_size x dim (dim 0: no embeddings)
  DenseMatrix dense_vectors;  // dense fields x dim
  bool fm = false;
  bool has_deep = false;
  std::vector<DenseLayer> deep;  // hidden layers, ReLU
  std::vector<float> deep_head;
  float deep_bias = 0;
  std::string metadata = "{}";  // JSON
};

// The file's bytes. Embeddings in `dtype`; linear weights in fp32, or fp16 in fp16 and int8 files
// (one number per id: a per-row int8 scale would cost more than it saves); layers in fp32.
std::string encode_ctr_model(const CtrContent& content, DType dtype);

class CtrModel {
 public:
  // Reads and validates `path` completely (header, structure, features, every shape). Throws
  // ModelError naming the file.
  static CtrModel open(const std::string& path);
  static CtrModel from_bytes(std::string_view bytes, const std::string& name = "<memory>");

  const FeatureEncoder& features() const { return features_; }
  DType dtype() const { return dtype_; }
  std::uint32_t dim() const { return dim_; }
  bool has_linear() const { return linear_ != nullptr; }
  bool has_fm() const { return fm_; }
  bool has_deep() const { return deep_head_ != nullptr; }
  std::uint64_t parameter_count() const;
  std::uint64_t flops_per_row() const;  // 2 per multiply-add, 1 per addition and ReLU
  std::size_t file_bytes() const;
  const std::string& source_model() const { return source_model_; }
  const std::string& metadata() const { return metadata_; }

  // Logits of n encoded rows: ids n x slots (each slot's id in its field's range or the padding
  // id), values n x dense. Throws ModelError for an id out of range.
  void logits(const std::int32_t* ids, const float* values, std::size_t n, float* out) const;
  // Click probabilities (the logits' sigmoid) of n encoded rows.
  void predict(const std::int32_t* ids, const float* values, std::size_t n, float* out) const;
  // One row of raw values (one per features().inputs(), in that order). Throws FeatureError for a
  // value of the wrong type.
  float predict(std::span<const RawValue> row) const;

 private:
  static CtrModel parse(std::shared_ptr<FileBytes> storage, const std::string& name);
  void block_logits(const std::int32_t* ids, const float* values, std::size_t m, float* out) const;
  float deep_row(const float* embedded) const;  // the deep part's logit for one row
  template <DType E, DType L>
  float embed_row(const std::int32_t* row, const float* values, float* embedded) const;

  std::shared_ptr<FileBytes> storage_;
  FeatureEncoder features_;
  DType dtype_ = DType::kF32;
  std::uint32_t dim_ = 0, embedded_fields_ = 0;
  // Linear part: one weight per id (fp32 or fp16), dense weights, bias.
  const std::uint8_t* linear_ = nullptr;
  DType linear_dtype_ = DType::kF32;
  const float* dense_linear_ = nullptr;
  float bias_ = 0;
  // Embeddings: vocab x dim of dtype_ (int8: per-row scales), dense vectors dense x dim (fp32).
  const std::uint8_t* embedding_ = nullptr;
  const float* embedding_scales_ = nullptr;
  const float* dense_vectors_ = nullptr;
  bool fm_ = false;
  struct LayerView {
    std::uint32_t in = 0, out = 0;
    const float* weight = nullptr;  // out x in
    const float* bias = nullptr;
  };
  std::vector<LayerView> deep_;
  std::vector<std::vector<float>> deep_transposed_;  // in x out, for one row at a time
  const float* deep_head_ = nullptr;
  float deep_bias_ = 0;
  std::uint32_t widest_ = 0;
  std::vector<std::int32_t> slot_lo_, slot_hi_;  // valid ids of each slot: [lo, hi) or padding
  std::vector<std::uint32_t> slot_span_;         // hi - lo
  std::vector<std::uint32_t> slot_field_;        // slot -> sparse field
  std::string source_model_, metadata_;
};

}  // namespace recpress::runtime
