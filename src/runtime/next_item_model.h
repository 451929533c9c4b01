// A next-item model file (.rpm, task "seq", format version 2) and its scorer, LibTorch-free:
// SASRec and BERT4Rec students (item and position embeddings, transformer blocks with our own
// attention, layer norm, ReLU / GELU feed-forward, the output layer over every item). A request
// is a history of raw item ids; the answer the top-K next items.
//
// Exactly as the LibTorch models at inference (src/models/seq): the history right-aligned to
// max_len (BERT4Rec: max_len - 1 items and [mask]), the latest items kept. Padded positions
// never reach a real one (keys are masked to real tokens), so only the n real positions are
// computed; the last block computes only the last position's query and feed-forward, the one
// the prediction reads. Per-request work is allocation-free after the first request of a thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/cell_ops.h"
#include "runtime/model.h"
#include "runtime/tt_table.h"

namespace recpress::rpm {  // the file's FlatBuffers tables (generated from schema/)
struct Matrix;
struct Model;
struct TTItems;
}  // namespace recpress::rpm

namespace recpress::runtime {

enum class SeqArch : std::uint8_t { kSASRec = 0, kBERT4Rec = 1, kAdaRec = 2 };

struct NormWeights {
  std::vector<float> weight, bias;
};
struct LinearWeights {
  DenseMatrix weight;  // out x in
  std::vector<float> bias;
};
struct BlockWeights {
  LinearWeights query, key, value, output;
  NormWeights norm1, norm2;
  LinearWeights ff1, ff2;
};

// An AdaRec cell (schema: Cell): edges in cell_edges(nodes)'s order, a conv edge's weight
// H x (k H) (tap-major), the cell's closing LayerNorm.
struct CellEdgeWeights {
  std::uint32_t from = 0, to = 1;
  CellOp op = CellOp::kZero;
  LinearWeights conv;  // conv ops only
};
struct CellWeights {
  std::uint32_t nodes = 1;
  std::vector<CellEdgeWeights> edges;
  NormWeights norm;
};

// What an exporter hands to encode_next_item_model().
struct NextItemContent {
  std::string source_model;  // e.g. "sasrec:hidden=16,layers=1,heads=1"
  SeqArch arch = SeqArch::kSASRec;
  std::uint32_t max_len = 50, heads = 1;
  DenseMatrix items;              // num_items x hidden (item i = token i + 1)
  std::vector<float> mask_token;  // BERT4Rec
  // A compressed item table (OD-Rec) instead of `items` and `mask_token`: cores of the token
  // table [num_items + 2, hidden], written in fp32 and materialised by the reader.
  std::optional<TTCores> tt_items;
  DenseMatrix positions;             // max_len x hidden
  NormWeights embedding_norm;        // BERT4Rec
  std::vector<BlockWeights> blocks;  // SASRec, BERT4Rec
  std::vector<CellWeights> cells;    // AdaRec
  NormWeights final_norm;            // SASRec
  LinearWeights projection;          // BERT4Rec
  std::vector<float> output_bias;
  std::vector<std::string> item_ids;
  std::string metadata = "{}";
};

// The file's bytes: the item matrix in `dtype` (int8: per-row scales), everything else fp32 (a
// tensor-train table's cores too: the reader scores their product in `dtype`).
std::string encode_next_item_model(const NextItemContent& content, DType dtype);

class NextItemModel {
 public:
  // Reads and validates `path` completely (header, structure, every shape, head divisibility).
  // Throws ModelError naming the file.
  static NextItemModel open(const std::string& path);
  static NextItemModel from_bytes(std::string_view bytes, const std::string& name = "<memory>");

  SeqArch arch() const { return arch_; }
  std::uint32_t num_items() const { return num_items_; }
  std::uint32_t max_len() const { return max_len_; }
  std::uint32_t hidden() const { return hidden_; }
  std::uint32_t heads() const { return heads_; }
  std::size_t layers() const { return arch_ == SeqArch::kAdaRec ? cells_.size() : blocks_.size(); }
  DType dtype() const { return dtype_; }
  // True when the items come from a tensor-train table, computed at load.
  bool compressed_items() const { return tt_parameters_ > 0; }
  std::uint64_t parameter_count() const;
  std::size_t file_bytes() const;
  const std::string& source_model() const { return source_model_; }
  const std::string& metadata() const { return metadata_; }
  // How many history items a query reads (SASRec: max_len; BERT4Rec: max_len - 1).
  std::uint32_t history_length() const;

  std::optional<std::uint32_t> item_index(std::string_view raw_id) const;
  // A history of raw item ids as indices into `out`; ids the model does not know are skipped
  // and listed in `unknown` (the CLI and the server report them).
  void resolve_history(std::span<const std::string_view> raw, std::vector<std::uint32_t>& out,
                       std::vector<std::string>& unknown) const;
  std::string_view item_id(std::uint32_t index) const { return item_ids_[index]; }

  // Scores of every item after `history` (0-based item indices, oldest first; longer than
  // history_length(): the latest kept) into out[0..num_items). Throws ModelError for an empty
  // history or an index out of range.
  void score_all(std::span<const std::uint32_t> history, float* out) const;
  // The k best next items, best first, optionally without the history's items.
  std::vector<std::pair<std::uint32_t, float>> next(std::span<const std::uint32_t> history,
                                                    std::size_t k, bool exclude_history) const;

 private:
  struct Linear {
    std::uint32_t in = 0, out = 0;
    const float* weight = nullptr;  // out x in (the file's), transposed into weight_t at load
    const float* bias = nullptr;
    const float* weight_t = nullptr;  // in x out
  };
  struct Norm {
    const float* weight = nullptr;
    const float* bias = nullptr;
  };
  struct Block {
    Linear query, key, value, output, ff1, ff2;
    Norm norm1, norm2;
  };
  struct CellEdge {
    std::uint32_t from = 0, to = 0;
    CellOp op = CellOp::kZero;
    Linear conv;
  };
  struct Cell {
    std::uint32_t nodes = 0;
    std::vector<CellEdge> edges;
    Norm norm;
  };
  static NextItemModel parse(std::shared_ptr<FileBytes> storage, const std::string& name);
  // The item matrix in place (dtype, items_, scales, the int8 packing), or a tensor-train
  // table's product computed once (rpm types are the generated FlatBuffers tables).
  void view_item_matrix(const rpm::Matrix* items, const std::string& name);
  void materialize_tt_items(const rpm::Model& m, const rpm::TTItems& tt, const std::string& name);
  void use_items(const std::uint8_t* items, const float* scales);
  void last_hidden(std::span<const std::uint32_t> history, float* h) const;
  void run_block(const Block& b, std::size_t n, bool last_only, float* x) const;
  void run_cell(const Cell& c, std::size_t n, float* x) const;

  std::shared_ptr<FileBytes> storage_;
  SeqArch arch_ = SeqArch::kSASRec;
  std::uint32_t num_items_ = 0, max_len_ = 0, hidden_ = 0, heads_ = 1;
  DType dtype_ = DType::kF32;
  const std::uint8_t* items_ = nullptr;                // hidden x num_items (column-major), dtype_
  const float* item_scales_ = nullptr;                 // int8
  std::shared_ptr<const PackedI8Items> packed_items_;  // int8 items for the integer kernel
  // A tensor-train table's items and [mask], computed at load (items_ and mask_token_ view it).
  struct Materialized;
  std::shared_ptr<const Materialized> materialized_;
  std::uint64_t tt_parameters_ = 0;
  const float* mask_token_ = nullptr;
  const float* positions_ = nullptr;  // max_len x hidden
  Norm embedding_norm_, final_norm_;
  std::vector<Block> blocks_;
  std::vector<Cell> cells_;
  // The layers' in x out copies (the inner buffers never move: the views above stay valid).
  std::shared_ptr<std::vector<std::vector<float>>> transposed_;
  Linear projection_;
  const float* output_bias_ = nullptr;
  std::vector<std::string_view> item_ids_;
  std::unordered_map<std::string_view, std::uint32_t> item_index_;
  std::string source_model_, metadata_;
};

}  // namespace recpress::runtime
