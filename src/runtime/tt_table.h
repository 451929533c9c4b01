// The tensor-train item table of a compressed next-item student (OD-Rec, Xia et al. SIGIR 2022;
// the format in schema/recpress_model.fbs, table TTItems; the training side in
// src/models/seq/tt_embedding.h), computed without LibTorch: what the runtime materialises once at
// load and what the exporter writes.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "runtime/model.h"

namespace recpress::runtime {

struct TTCores {
  std::array<std::uint32_t, 3> rows{}, dims{};  // n1 n2 n3, h1 h2 h3
  std::uint32_t rank = 0, stp = 1;
  // Row-major, as the file stores them: core1 [n1][h1][r], core2 [n2][r/t][h2][r/t],
  // core3 [n3][r/t][h3/t].
  std::vector<float> core1, core2, core3;

  std::uint32_t hidden() const { return dims[0] * dims[1] * dims[2]; }
  // Expected sizes of the three cores; 0 for impossible factors.
  std::array<std::uint64_t, 3> core_sizes() const;
  // Throws ModelError unless the factors and cores make a table of `table_rows` x hidden:
  // n1 n2 n3 >= table_rows (and no more than twice it, plus a row per core factor), stp divides
  // rank and h3, hidden in 1..4096, rank in 1..1024, every core of its size.
  void check(std::uint64_t table_rows) const;
  std::uint64_t parameter_count() const;
};

// The first `table_rows` rows of the table, row-major [table_rows x hidden]. Exploits the
// identity blocks of the semi-tensor product (only matching residues mod t are summed), so it
// costs n1 n2 h1 h2 r (r/t) + rows H (r/t) multiply-adds. Call check() first.
DenseMatrix tt_table(const TTCores& cores, std::uint32_t table_rows);

}  // namespace recpress::runtime
