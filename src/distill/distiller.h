// Knowledge distillation for top-N models: one method per file, each a loss term over
// (teacher, student, batch), registered by name so a recipe can say `distill: rd:k=10`.
//
// The Trainer adds sum_k weight_k * distiller_k.loss(...) to the student's own loss. Whatever a
// method needs from a frozen teacher (top-K lists, ...) is computed once in prepare(), not per
// batch.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "data/interaction_matrix.h"
#include "models/model_spec.h"
#include "models/topn/model.h"

namespace recpress {

struct DistillBatch {
  torch::Tensor users;  // int64 [B], the users of the student's mini-batch
  Rng* rng = nullptr;   // the epoch's generator: candidates drawn here keep runs reproducible
};

class Distiller {
 public:
  virtual ~Distiller() = default;
  virtual std::string name() const = 0;
  // Called once before training with the frozen teacher and the training interactions.
  virtual void prepare(TopNModel& teacher, const InteractionMatrix& train) {}
  // The distillation loss for this batch (a scalar that backpropagates into the student).
  virtual torch::Tensor loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch) = 0;
  // Trainable parts of the method itself (e.g. projections, experts), optimised with the student.
  virtual std::vector<torch::Tensor> parameters() { return {}; }
};

using DistillerPtr = std::shared_ptr<Distiller>;
using DistillerFactory = std::function<DistillerPtr(const ModelSpec& spec)>;

void register_distiller(const std::string& name, const std::string& help, DistillerFactory factory);
// "kd:temperature=2,candidates=50". Throws Error for an unknown name (listing the known ones) or
// bad parameters.
DistillerPtr create_distiller(const ModelSpec& spec);
std::vector<std::pair<std::string, std::string>> distillers();

struct DistillerRegistrar {
  DistillerRegistrar(const std::string& name, const std::string& help, DistillerFactory factory) {
    register_distiller(name, help, std::move(factory));
  }
};
#define RECPRESS_REGISTER_DISTILLER(name, help, factory)                                         \
  static const ::recpress::DistillerRegistrar recpress_distiller_registrar_##factory(name, help, \
                                                                                     factory)

// Uniformly drawn item candidates for each user of a batch: int64 [B, n] (may include positives;
// for response-based KD the teacher's opinion of every item is informative).
torch::Tensor sample_candidates(std::int64_t batch, std::int64_t n, std::int64_t num_items,
                                Rng& rng);

}  // namespace recpress
