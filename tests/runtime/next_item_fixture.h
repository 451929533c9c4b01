// A tiny next-item model with random weights (12 items "100".."111", hidden 4, 2 heads, one
// block, max_len 5), for the runtime and server tests.
#pragma once

#include <random>

#include "runtime/next_item_model.h"

namespace recpress::runtime {

inline DenseMatrix random_matrix(std::uint32_t rows, std::uint32_t cols, std::mt19937& gen) {
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  DenseMatrix m;
  m.rows = rows;
  m.cols = cols;
  for (std::size_t k = 0; k < std::size_t{rows} * cols; ++k) m.values.push_back(u(gen));
  return m;
}

inline LinearWeights random_linear(std::uint32_t in, std::uint32_t out, std::mt19937& gen) {
  return {random_matrix(out, in, gen), random_matrix(1, out, gen).values};
}

inline NormWeights random_norm(std::uint32_t h, std::mt19937& gen) {
  return {random_matrix(1, h, gen).values, random_matrix(1, h, gen).values};
}

// 12 items, hidden 4, 2 heads, one block, max_len 5.
inline NextItemContent tiny(SeqArch arch) {
  std::mt19937 gen(9);
  const std::uint32_t h = 4;
  NextItemContent c;
  c.source_model = arch == SeqArch::kSASRec ? "sasrec" : "bert4rec";
  c.arch = arch;
  c.max_len = 5;
  c.heads = 2;
  c.items = random_matrix(12, h, gen);
  c.positions = random_matrix(5, h, gen);
  c.blocks.push_back({random_linear(h, h, gen), random_linear(h, h, gen), random_linear(h, h, gen),
                      random_linear(h, h, gen), random_norm(h, gen), random_norm(h, gen),
                      random_linear(h, 4 * h, gen), random_linear(4 * h, h, gen)});
  c.final_norm = random_norm(h, gen);
  c.mask_token = random_matrix(1, h, gen).values;
  c.embedding_norm = random_norm(h, gen);
  c.projection = random_linear(h, h, gen);
  c.output_bias = random_matrix(1, 12, gen).values;
  for (int i = 0; i < 12; ++i) c.item_ids.push_back(std::to_string(100 + i));
  return c;
}

// The same model with OD-Rec's tensor-train items: a 14-row token table (padding, 12 items,
// [mask]) of width 4 from cores with row factors 3 x 3 x 2, dims 2 x 1 x 2, rank 4, stp 2.
inline NextItemContent tiny_tt(SeqArch arch) {
  std::mt19937 gen(11);
  NextItemContent c = tiny(arch);
  c.items = {};
  c.mask_token.clear();
  TTCores t;
  t.rows = {3, 3, 2};
  t.dims = {2, 1, 2};
  t.rank = 4;
  t.stp = 2;
  const auto sizes = t.core_sizes();
  t.core1 = random_matrix(1, static_cast<std::uint32_t>(sizes[0]), gen).values;
  t.core2 = random_matrix(1, static_cast<std::uint32_t>(sizes[1]), gen).values;
  t.core3 = random_matrix(1, static_cast<std::uint32_t>(sizes[2]), gen).values;
  c.tt_items = t;
  return c;
}

// An AdaRec model of the same items and width: cell 1 of 2 nodes (edges c3, d5, max3), cell 2
// of 3 nodes (zero, skip, avg3, c5, d3, skip).
inline NextItemContent tiny_adarec() {
  std::mt19937 gen(13);
  NextItemContent c = tiny(SeqArch::kSASRec);
  c.source_model = "adarec";
  c.arch = SeqArch::kAdaRec;
  c.heads = 1;
  c.blocks.clear();
  c.final_norm = {};
  const std::uint32_t h = 4;
  const std::vector<std::vector<CellOp>> ops = {
      {CellOp::kConv3, CellOp::kDilConv5, CellOp::kMaxPool3},
      {CellOp::kZero, CellOp::kSkip, CellOp::kAvgPool3, CellOp::kConv5, CellOp::kDilConv3,
       CellOp::kSkip}};
  for (const auto& cell_ops : ops) {
    CellWeights cell;
    cell.nodes = cell_ops.size() == 3 ? 2 : 3;
    const auto edges = cell_edges(cell.nodes);
    for (std::size_t e = 0; e < edges.size(); ++e) {
      CellEdgeWeights edge{edges[e].first, edges[e].second, cell_ops[e], {}};
      const auto& info = cell_op_info(cell_ops[e]);
      if (info.conv) edge.conv = random_linear(info.kernel * h, h, gen);
      cell.edges.push_back(edge);
    }
    cell.norm = random_norm(h, gen);
    c.cells.push_back(cell);
  }
  return c;
}

}  // namespace recpress::runtime
