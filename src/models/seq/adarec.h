// `adarec`: the searchable next-item student of AdaRec (Chen et al. 2021, "Scene-adaptive
// Knowledge Distillation for Sequential Recommendation via Differentiable Architecture Search",
// arXiv 2107.07173). Only the abstract and the summary of the paper were available to us;
// what is published and what is ours:
//   published: a student of stacked cells whose edges choose among convolutions, dilated
//     convolutions, pooling, skip and zero; a differentiable search relaxed with Gumbel-softmax;
//     a cost-sensitive loss on the expected model size; derive the most likely architecture, then
//     train it; the teacher is a large sequential recommender.
//   ours: the cell is DARTS's (Liu et al. ICLR 2019, Sec. 2.1): `nodes` intermediate nodes, node j
//     the sum of one edge from each earlier node (0 = the cell's input), the cell's output
//     LayerNorm(input + last node) (NextItNet-style residual, Yuan et al. WSDM 2019); every op
//     is causal (runtime/cell_ops.h) so the model trains like SASRec, position t predicting item
//     t + 1 with the shared item embeddings and a full-softmax cross-entropy; one architecture
//     shared by no two cells (each cell has its own edges' parameters); architecture weights are
//     trained jointly with the model's by the same optimiser (single-level, as SNAS/GDAS, not
//     DARTS's bilevel validation step); the straight-through Gumbel-softmax (Jang et al. ICLR
//     2017; hard one-hot forward, soft gradient) with temperature tau * 0.8^floor((epoch-1)/5);
//     in evaluation the argmax architecture runs (what would be derived); the expected cost is
//     the mean over edges of sum_op softmax(alpha)_op * cost_op, cost_op = the op's parameters
//     (= its multiply-adds per position) over those of the largest op (a 5-tap convolution).
// `ops` empty: the search space (every candidate on every edge, architecture weights `arch`);
// `ops` given ("c3-skip-d5/max3-c5-zero": per cell, per edge in cell_edges' order): one derived
// architecture, which the runtime serves.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/seq/seq_model.h"
#include "runtime/cell_ops.h"

namespace recpress {

using runtime::CellOp;

class AdaRecCellImpl : public torch::nn::Module {
 public:
  // `fixed`: per edge, its op (a derived cell) or nullopt (every candidate: the search space).
  AdaRecCellImpl(std::int64_t hidden, std::int64_t nodes,
                 const std::vector<std::optional<CellOp>>& fixed);
  // x [B, L, H] (zero at padding), real [B, L, 1] (1 at real positions); weights [edges, ops]
  // mixes the candidates of each edge (search), or undefined to run `ops` (one per edge).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& real,
                        const torch::Tensor& weights, const std::vector<CellOp>& ops,
                        double dropout);
  torch::nn::Conv1d conv(std::size_t edge, CellOp op) const;
  torch::nn::LayerNorm norm{nullptr};

 private:
  torch::Tensor apply(std::size_t edge, CellOp op, const torch::Tensor& x);
  std::int64_t nodes_;
  std::vector<std::vector<torch::nn::Conv1d>> convs_;  // [edge][op], null where not an option
};
TORCH_MODULE(AdaRecCell);

class AdaRecImpl : public SeqModel {
 public:
  AdaRecImpl(const ModelSpec& spec, std::int64_t num_items);

  std::string family() const override { return "sasrec"; }  // SASRec's shifted causal input
  SeqTrainingInput training_input(const torch::Tensor& sequences, Rng& rng) const override;
  SeqOutput encode(const torch::Tensor& input) override;
  torch::Tensor item_logits(const torch::Tensor& hidden) override;
  // Cross-entropy over every item, plus `cost` x the expected cost while searching.
  torch::Tensor loss(const SeqOutput& out, const SeqTrainingInput& batch) override;
  torch::Tensor inference_input(const torch::Tensor& histories) const override { return histories; }
  void start_epoch(int epoch) override;

  bool searching() const { return arch.defined(); }
  std::int64_t nodes() const { return nodes_; }
  // Per cell, per edge: the derived op (searching: the argmax of the architecture weights).
  std::vector<std::vector<CellOp>> architecture() const;
  // The spec of the derived student: this one with `ops` written out and without the search's
  // own settings (tau, cost, gumbel).
  std::string derived_spec() const;
  // Mean over edges of the expected op cost under softmax(arch) (0 for a derived model).
  torch::Tensor expected_cost() const;
  double temperature() const { return temperature_; }

  torch::nn::ModuleList cells;
  torch::Tensor arch;  // [cells x edges, ops] while searching

 private:
  torch::Tensor edge_weights();  // [cells x edges, ops]: straight-through Gumbel-softmax
  std::int64_t nodes_;
  std::vector<std::vector<CellOp>> fixed_;  // derived: per cell, per edge
  double tau0_, cost_weight_, temperature_;
  bool hard_;
};
TORCH_MODULE(AdaRec);

// Parses `ops` ("c3-skip/avg3-d5": cells by '/', edges by '-') for `cells` cells of `nodes`
// nodes; Error naming the bad part.
std::vector<std::vector<CellOp>> parse_cell_ops(const std::string& text, std::int64_t cells,
                                                std::int64_t nodes);
std::string cell_ops_text(const std::vector<std::vector<CellOp>>& ops);
// An op's cost relative to a 5-tap convolution, at `hidden` (see the header).
double cell_op_cost(CellOp op, std::int64_t hidden);

}  // namespace recpress
