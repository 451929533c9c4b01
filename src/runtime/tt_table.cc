#include "runtime/tt_table.h"

#include <string>

namespace recpress::runtime {

std::array<std::uint64_t, 3> TTCores::core_sizes() const {
  if (stp == 0 || rank % stp != 0 || dims[2] % stp != 0) return {0, 0, 0};
  const std::uint64_t q = rank / stp;
  return {std::uint64_t{rows[0]} * dims[0] * rank, std::uint64_t{rows[1]} * q * dims[1] * q,
          std::uint64_t{rows[2]} * q * (dims[2] / stp)};
}

void TTCores::check(std::uint64_t table_rows) const {
  const auto fail = [](const std::string& why) { return ModelError("tensor-train items: " + why); };
  for (int k = 0; k < 3; ++k)
    if (rows[k] == 0 || rows[k] > 65536 || dims[k] == 0 || dims[k] > 4096)
      throw fail("factors must be in 1..65536 (rows) and 1..4096 (dims)");
  const std::uint64_t grid = std::uint64_t{rows[0]} * rows[1] * rows[2];
  if (grid < table_rows || grid > 2 * table_rows + rows[0] + rows[1] + rows[2])
    throw fail("row factors make " + std::to_string(grid) + " rows for a table of " +
               std::to_string(table_rows));
  const std::uint64_t h = std::uint64_t{dims[0]} * dims[1] * dims[2];
  if (h > 4096) throw fail("hidden " + std::to_string(h) + " > 4096");
  if (rank == 0 || rank > 1024 || stp == 0 || rank % stp != 0 || dims[2] % stp != 0)
    throw fail("rank " + std::to_string(rank) + " and stp " + std::to_string(stp) +
               " (rank in 1..1024, stp dividing rank and the last dim factor)");
  const auto sizes = core_sizes();
  const std::array<const std::vector<float>*, 3> cores{&core1, &core2, &core3};
  for (int k = 0; k < 3; ++k)
    if (cores[k]->size() != sizes[k])
      throw fail("core " + std::to_string(k + 1) + " holds " + std::to_string(cores[k]->size()) +
                 " numbers, expected " + std::to_string(sizes[k]));
}

std::uint64_t TTCores::parameter_count() const {
  const auto s = core_sizes();
  return s[0] + s[1] + s[2];
}

DenseMatrix tt_table(const TTCores& c, std::uint32_t table_rows) {
  const std::uint32_t n1 = c.rows[0], n2 = c.rows[1], n3 = c.rows[2];
  const std::uint32_t h1 = c.dims[0], h2 = c.dims[1], h3 = c.dims[2];
  const std::uint32_t r = c.rank, t = c.stp, q = r / t, w3 = h3 / t;
  // P[i1][i2][j1][j2][b] = sum_a core1[i1][j1][a] core2'[i2][a][j2][b]; with a = a' t + s and
  // b = b' t + s (matching residues only): core2[i2][a'][j2][b'].
  std::vector<float> p(std::size_t{n1} * n2 * h1 * h2 * r, 0.0f);
  for (std::uint32_t i1 = 0; i1 < n1; ++i1)
    for (std::uint32_t i2 = 0; i2 < n2; ++i2)
      for (std::uint32_t j1 = 0; j1 < h1; ++j1) {
        const float* g1 = c.core1.data() + (std::size_t{i1} * h1 + j1) * r;
        for (std::uint32_t j2 = 0; j2 < h2; ++j2) {
          float* out = p.data() + (((std::size_t{i1} * n2 + i2) * h1 + j1) * h2 + j2) * r;
          for (std::uint32_t a1 = 0; a1 < q; ++a1) {
            const float* g2 = c.core2.data() + ((std::size_t{i2} * q + a1) * h2 + j2) * q;
            for (std::uint32_t s = 0; s < t; ++s) {
              const float x = g1[a1 * t + s];
              for (std::uint32_t b1 = 0; b1 < q; ++b1) out[b1 * t + s] += x * g2[b1];
            }
          }
        }
      }
  // E[i][(j1 h2 + j2) h3 + j3] = sum_b P[i1][i2][j1][j2][b] core3'[i3][b][j3], j3 = j' t + s
  // and b = b' t + s: core3[i3][b'][j'].
  DenseMatrix e;
  e.rows = table_rows;
  e.cols = h1 * h2 * h3;
  e.values.assign(std::size_t{table_rows} * e.cols, 0.0f);
  for (std::uint32_t i = 0; i < table_rows; ++i) {
    const std::uint32_t i3 = i % n3, i2 = (i / n3) % n2, i1 = i / n3 / n2;
    const float* g3 = c.core3.data() + std::size_t{i3} * q * w3;
    for (std::uint32_t j12 = 0; j12 < h1 * h2; ++j12) {
      const float* pr = p.data() + ((std::size_t{i1} * n2 + i2) * h1 * h2 + j12) * r;
      float* out = e.values.data() + std::size_t{i} * e.cols + std::size_t{j12} * h3;
      for (std::uint32_t j1 = 0; j1 < w3; ++j1)
        for (std::uint32_t s = 0; s < t; ++s) {
          float sum = 0;
          for (std::uint32_t b1 = 0; b1 < q; ++b1) sum += pr[b1 * t + s] * g3[b1 * w3 + j1];
          out[j1 * t + s] = sum;
        }
    }
  }
  return e;
}

}  // namespace recpress::runtime
