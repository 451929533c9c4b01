// The native training step of the NCF family (MF, GMF, MLP, NeuMF; models/topn/model.h NcfParts):
// forward pass, loss, backward pass and the optimiser's update in one pass over preallocated
// buffers, with the tower's products as direct BLAS calls (train/blas.h). LibTorch's autograd
// path does the same arithmetic with ~60 dispatched ops, a graph and allocations per batch; at
// NCF's batch of 256 those cost more than the arithmetic (docs/results.md, "Where the time goes").
//
// Semantics are the autograd path's, step for step (tests/train/ncf_step_test.cc checks the
// parameters after several steps against it to 1e-5):
//   - losses: pointwise BCE with logits, mean over the rows; BPR softplus(s_j - s_i), mean over
//     the triples (train/losses.h);
//   - `sgd`: p -= lr (g + wd p) on every parameter (embedding rows not in the batch decay by wd);
//   - `adam`: LibTorch's Adam (Kingma & Ba 2015, Algorithm 1, L2 added to the gradient) on every
//     element, its moments kept in the optimiser's own state (checkpoints and resume unchanged);
//   - `lazyadam`: train/lazy_adam.h, embedding rows of the batch only, in LazyAdam's state.
// Rows repeated in a batch have their gradients summed before the update, as a coalesced sparse
// gradient is.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "models/topn/model.h"
#include "train/losses.h"
#include "train/optimizer.h"

namespace recpress {

// Why the native step cannot train `model` with `optimizer` ("" when it can): a model outside the
// NCF family, an optimiser other than sgd/adam/lazyadam, or a model tensor the optimiser does not
// train. The optimiser may train more tensors (a distiller's projections): those are the caller's
// to step through LibTorch (their gradients come from autograd).
std::string ncf_step_unsupported(TopNModel& model, const torch::optim::Optimizer& optimizer,
                                 const std::string& optimizer_name);

class NcfStep {
 public:
  // Binds the model's parameters and `optimizer`'s state (rebind after the optimiser's state was
  // loaded: construct anew). Throws Error when ncf_step_unsupported() says why.
  NcfStep(TopNModel& model, torch::optim::Optimizer& optimizer, const OptimizerConfig& config,
          LossKind loss, std::int64_t max_batch);
  ~NcfStep();
  NcfStep(const NcfStep&) = delete;
  NcfStep& operator=(const NcfStep&) = delete;

  // The forward pass of a batch of n: BCE rows (users, items, labels) or BPR triples (users,
  // items, negatives); returns the mean loss. Ids must be in range (the trainer's own samples).
  double forward(const std::int64_t* users, const std::int64_t* items,
                 const std::int64_t* negatives, const float* labels, std::int64_t n);
  // After forward(): the logits of n more (user, item) rows into `scores`, for a distillation term
  // (distill/topn/distiller.h, DistillBatch::score). With `keep`, the rows join this step's
  // backward pass (their loss gradient given by set_row_gradient) and the returned index names
  // the first; without, they are scored only (a term's no-gradient look at the student).
  std::int64_t add_rows(const std::int64_t* users, const std::int64_t* items, std::int64_t n,
                        float* scores, bool keep);
  // Adds d loss / d logit of kept rows [first, first + n).
  void set_row_gradient(std::int64_t first, const float* grad, std::int64_t n);
  // The model's "user" or "item" representation of n ids, as TopNModel::representations gives it
  // ([n, entity_width(kind)] into `out`), and, after forward(), a term's gradient for it.
  std::int64_t entity_width(const std::string& kind);
  void entity(const std::string& kind, const std::int64_t* index, std::int64_t n, float* out);
  void add_entity_gradient(const std::string& kind, const std::int64_t* index, std::int64_t n,
                           const float* grad);
  // The backward pass of the last forward() and its kept rows, and the optimiser's update at
  // learning rate `lr`. `step_counted`: the optimiser's shared step count (LazyAdam's) was already
  // advanced for this step by a LibTorch step of the other tensors it trains.
  void update(double lr, bool step_counted = false);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace recpress
