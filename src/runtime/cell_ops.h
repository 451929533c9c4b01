// The candidate operations on an edge of an AdaRec cell, declared once for the LibTorch model
// (src/models/seq/adarec.h), the exporter and the runtime (next_item_model.cc), and the order of
// a cell's edges.
//
// AdaRec (Chen et al. 2021, "Scene-adaptive Knowledge Distillation for Sequential Recommendation
// via Differentiable Architecture Search", arXiv 2107.07173) searches a student made of cells
// whose edges mix convolutions, dilated convolutions, pooling, skip and zero (the candidates the
// paper lists, after AdaBERT). Ours are all *causal* over the sequence: position t reads t and
// earlier positions only, so no position sees the item it is trained to predict (t + 1). Every
// op maps a [positions, hidden] sequence to one of the same shape:
//   conv k, dilation d: y_t = ReLU(b + sum_{j<k} W_j x_{t - (k-1-j) d}), W_j hidden x hidden;
//   max / avg pool 3:   the max / mean of x_t, x_{t-1}, x_{t-2};
//   skip: x; zero: 0.
// Positions before the sequence's first (padding, or before the window) read as zeros.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace recpress::runtime {

enum class CellOp : std::uint8_t {
  kZero = 0,
  kSkip = 1,
  kConv3 = 2,
  kConv5 = 3,
  kDilConv3 = 4,
  kDilConv5 = 5,
  kMaxPool3 = 6,
  kAvgPool3 = 7,
};
inline constexpr std::size_t kCellOps = 8;

struct CellOpInfo {
  std::string_view name;  // as written in a model spec's `ops`
  std::uint32_t kernel = 0, dilation = 1;
  bool conv = false;
};

inline constexpr std::array<CellOpInfo, kCellOps> kCellOpTable = {{
    {"zero", 0, 1, false},
    {"skip", 0, 1, false},
    {"c3", 3, 1, true},
    {"c5", 5, 1, true},
    {"d3", 3, 2, true},
    {"d5", 5, 2, true},
    {"max3", 3, 1, false},
    {"avg3", 3, 1, false},
}};

inline const CellOpInfo& cell_op_info(CellOp op) {
  return kCellOpTable[static_cast<std::size_t>(op)];
}

inline std::optional<CellOp> cell_op_named(std::string_view name) {
  for (std::size_t k = 0; k < kCellOps; ++k)
    if (kCellOpTable[k].name == name) return static_cast<CellOp>(k);
  return std::nullopt;
}

// The edges of a cell with `nodes` intermediate nodes, as (from, to): node j (1..nodes) is the
// sum of one edge from every earlier node i (0 is the cell's input), DARTS-style (Liu et al.,
// ICLR 2019, Sec. 2.1). Ordered by `to`, then `from`: (0,1), (0,2), (1,2), (0,3), ...
inline std::vector<std::pair<std::uint32_t, std::uint32_t>> cell_edges(std::uint32_t nodes) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> edges;
  for (std::uint32_t to = 1; to <= nodes; ++to)
    for (std::uint32_t from = 0; from < to; ++from) edges.emplace_back(from, to);
  return edges;
}

}  // namespace recpress::runtime
