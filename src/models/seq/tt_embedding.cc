#include "models/seq/tt_embedding.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/errors.h"

namespace recpress {

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return (a + b - 1) / b;
}

}  // namespace

TTShape TTShape::choose(std::int64_t rows, std::int64_t hidden, std::int64_t rank,
                        std::int64_t stp) {
  if (rows < 1 || hidden < 1 || rank < 1 || stp < 1)
    throw Error("tt embedding: rows, hidden, rank and stp must be >= 1");
  if (rank % stp != 0)
    throw Error("tt embedding: tt_rank (" + std::to_string(rank) + ") must be a multiple of stp (" +
                std::to_string(stp) + ")");
  TTShape s;
  s.rank = rank;
  s.stp = stp;
  // Rows: the smallest cube-ish grid that holds them (n1 >= n2 >= n3, product >= rows).
  auto n1 = static_cast<std::int64_t>(std::ceil(std::cbrt(static_cast<double>(rows)) - 1e-9));
  while (n1 * n1 * n1 < rows) ++n1;
  auto n2 =
      static_cast<std::int64_t>(std::ceil(std::sqrt(static_cast<double>(ceil_div(rows, n1)))));
  while (n1 * n2 * n2 < rows) ++n2;
  const auto n3 = ceil_div(rows, n1 * n2);
  s.rows = {n1, n2, n3};
  // Columns: the most even h1 h2 h3 = H (smallest largest factor, then smallest spread) with
  // stp | h3.
  std::int64_t best = -1;
  for (std::int64_t h1 = 1; h1 <= hidden; ++h1) {
    if (hidden % h1 != 0) continue;
    for (std::int64_t h2 = 1; h2 <= hidden / h1; ++h2) {
      if ((hidden / h1) % h2 != 0) continue;
      const auto h3 = hidden / h1 / h2;
      if (h3 % stp != 0) continue;
      const auto worst = std::max({h1, h2, h3});
      const auto score = worst * (hidden + 1) + (worst - std::min({h1, h2, h3}));
      if (best < 0 || score < best) {
        best = score;
        s.dims = {h1, h2, h3};
      }
    }
  }
  if (best < 0)
    throw Error("tt embedding: hidden (" + std::to_string(hidden) +
                ") has no factor divisible by stp (" + std::to_string(stp) + ")");
  return s;
}

std::int64_t TTShape::parameters() const {
  const auto q = rank / stp;
  return rows[0] * dims[0] * rank + rows[1] * q * dims[1] * q + rows[2] * q * (dims[2] / stp);
}

TTEmbeddingImpl::TTEmbeddingImpl(std::int64_t rows, std::int64_t hidden, std::int64_t rank,
                                 std::int64_t stp)
    : rows_(rows), shape_(TTShape::choose(rows, hidden, rank, stp)) {
  const auto& s = shape_;
  const auto q = s.rank / s.stp;
  core1 = register_parameter("core1", torch::empty({s.rows[0], s.dims[0], s.rank}));
  core2 = register_parameter("core2", torch::empty({s.rows[1], q, s.dims[1], q}));
  core3 = register_parameter("core3", torch::empty({s.rows[2], q, s.dims[2] / s.stp}));
  // An entry of the table sums (r/t)^2 products of three N(0, s) numbers (the identity blocks
  // keep one of t^2 terms): std s^3 (r/t). Aim at the plain table's 0.02.
  const double sd = std::cbrt(0.02 / static_cast<double>(q));
  torch::NoGradGuard g;
  core1.normal_(0, sd);
  core2.normal_(0, sd);
  core3.normal_(0, sd);
}

torch::Tensor TTEmbeddingImpl::table() const {
  const auto& s = shape_;
  const auto t = s.stp;
  const auto eye = torch::eye(t, core1.options());
  // B ⊗ I_t for cores 2 and 3: rank index (b', s) = b' t + s, column index (j', s') likewise.
  const auto g2 = t == 1 ? core2
                         : torch::einsum("iajb,st->iasjbt", {core2, eye})
                               .reshape({s.rows[1], s.rank, s.dims[1], s.rank});
  const auto g3 =
      t == 1 ? core3
             : torch::einsum("ibj,st->ibsjt", {core3, eye}).reshape({s.rows[2], s.rank, s.dims[2]});
  const auto p12 = torch::einsum("xpa,yaqb->xypqb", {core1, g2});   // [n1, n2, h1, h2, r]
  const auto full = torch::einsum("xypqb,zbr->xyzpqr", {p12, g3});  // [n1, n2, n3, h1, h2, h3]
  return full.reshape({s.rows[0] * s.rows[1] * s.rows[2], s.dims[0] * s.dims[1] * s.dims[2]})
      .narrow(0, 0, rows_);
}

}  // namespace recpress
