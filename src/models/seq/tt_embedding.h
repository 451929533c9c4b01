// A tensor-train item embedding with semi-tensor-product cores, the compressed item table of
// OD-Rec (Xia et al., SIGIR 2022, "On-Device Next-Item Recommendation with Self-Supervised
// Knowledge Distillation"). The table [rows, H] is never a parameter: row i, read as
// (i1, i2, i3) with i = (i1 n2 + i2) n3 + i3, and column j as (j1, j2, j3) over H = h1 h2 h3, is
//   E[i][j] = G1[i1][j1, :] ⋉ G2[i2][:, j2, :] ⋉ G3[i3][:, j3],
// the tensor-train product (Oseledets 2011; TT embeddings: Hrinchuk et al. 2020, TT-Rec: Yin et al.
// 2021) in which each product is Cheng's left semi-tensor product A ⋉ B = A (B ⊗ I_t) (A m x tp,
// B p x q). With t = `stp` > 1 the ranks between cores need not agree: G2 and G3 have left rank
// r / t, so the middle core holds t^2 fewer numbers and the last t^2 fewer too (its columns are
// h3 / t wide, widened by the Kronecker product with I_t).
//
// What is published: the abstract says that OD-Rec "loosens the constraint of dimensionality
// consistency in tensor decomposition" with the semi-tensor product between TT cores and reaches
// ~30x smaller models; the released code (github.com/xiaxin1998/OD-Rec, student.py, read for
// this header) keeps 2 or 3 cores, the first [n1 h1, r], every later one [r/t, n_k h_k r_next/t]
// (r_next = 1 for the last), merged by Cheng's left semi-tensor product. Ours has the same core
// shapes (three cores; G3 is [r/t, h3/t] per row factor). What is ours: the automatic row and
// column factorisations below and the initialisation (each core N(0, s) with the product's
// entries at std 0.02, the plain table's BERT initialisation: s^3 (r / t) = 0.02; the code draws
// every weight from U(-0.1, 0.1)).
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>

namespace recpress {

// The shape of a TT table: rows n1 n2 n3 >= the table's rows, columns h1 h2 h3 = H.
struct TTShape {
  std::array<std::int64_t, 3> rows{}, dims{};
  std::int64_t rank = 0, stp = 1;
  // n_k ~ rows^(1/3) rounded up; H split into three factors as even as possible with stp | h3.
  // Throws Error when rank is not a multiple of stp or no split of H has stp | h3.
  static TTShape choose(std::int64_t rows, std::int64_t hidden, std::int64_t rank,
                        std::int64_t stp);
  // Numbers in the cores: n1 h1 r + n2 (r/t) h2 (r/t) + n3 (r/t) (h3/t).
  std::int64_t parameters() const;
};

class TTEmbeddingImpl : public torch::nn::Module {
 public:
  TTEmbeddingImpl(std::int64_t rows, std::int64_t hidden, std::int64_t rank, std::int64_t stp);
  // The whole table [rows, H] (differentiable in the cores).
  torch::Tensor table() const;
  const TTShape& shape() const { return shape_; }
  std::int64_t rows() const { return rows_; }

  // Cores, as stored: G1 [n1, h1, r], G2 [n2, r/t, h2, r/t], G3 [n3, r/t, h3/t].
  torch::Tensor core1, core2, core3;

 private:
  std::int64_t rows_;
  TTShape shape_;
};
TORCH_MODULE(TTEmbedding);

}  // namespace recpress
