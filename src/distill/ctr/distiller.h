// Knowledge distillation for CTR models: one method per file (ctr_kd.cc, ctr_hint.cc), a loss term
// over (teacher, student, batch), registered by name as the top-N distillers are.
//
// The CTR trainer adds sum_k weight_k * term_k to the student's BCE. What a method needs from a
// frozen teacher over the whole training set (its logits) is computed once in prepare(), not per
// batch. A teacher may be an ensemble (CtrEnsemble): that is multi-teacher distillation.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "data/ctr_encoder.h"
#include "models/ctr/ctr_model.h"
#include "models/model_spec.h"

namespace recpress {

struct CtrDistillBatch {
  const CtrBatch* batch = nullptr;     // the student's mini-batch
  torch::Tensor rows;                  // int64 [B]: the batch's indices into the training rows
  torch::Tensor labels;                // float [B]
  const CtrOutput* student = nullptr;  // the student's forward pass on the batch
};

class CtrDistiller {
 public:
  virtual ~CtrDistiller() = default;
  virtual std::string name() const = 0;
  // Once before training: cache what the frozen teacher knows about the training rows, create
  // projections sized by both models (throwing Error for incompatible shapes).
  virtual void prepare(CtrModel& teacher, CtrModel& student, const CtrRows& train) {}
  virtual torch::Tensor loss(CtrModel& teacher, CtrModel& student,
                             const CtrDistillBatch& batch) = 0;
  virtual std::vector<torch::Tensor> parameters() { return {}; }
};

using CtrDistillerPtr = std::shared_ptr<CtrDistiller>;
using CtrDistillerFactory = std::function<CtrDistillerPtr(const ModelSpec& spec)>;

void register_ctr_distiller(const std::string& name, const std::string& help,
                            std::optional<ParamDecls> params, CtrDistillerFactory factory);
CtrDistillerPtr create_ctr_distiller(const ModelSpec& spec);  // throws Error for unknown / bad
std::vector<std::pair<std::string, std::string>> ctr_distillers();
std::vector<std::tuple<std::string, std::string, ParamDecls>> ctr_distiller_params();
// "kd", "kd:temperature=2@0.5", "hint+kd" -> weighted terms (as parse_distillation_terms).
std::vector<std::pair<CtrDistillerPtr, double>> parse_ctr_distillation_terms(
    const std::vector<std::string>& methods);

struct CtrDistillerRegistrar {
  CtrDistillerRegistrar(const std::string& name, const std::string& help,
                        std::optional<ParamDecls> params, CtrDistillerFactory factory) {
    register_ctr_distiller(name, help, std::move(params), std::move(factory));
  }
};
#define RECPRESS_REGISTER_CTR_DISTILLER(name, help, params, factory)                          \
  static const ::recpress::CtrDistillerRegistrar recpress_ctr_distiller_##factory(name, help, \
                                                                                  params, factory)

// The teacher's logits for every row (eval mode, no gradient, in batches): float [rows].
torch::Tensor ctr_predict_logits(CtrModel& model, const CtrRows& rows, std::int64_t batch = 8192);

// Several teachers as one (multi-teacher distillation): the mean of their logits. All members must
// share one feature layout (trained on the same encoded data). Exposes no representations.
class CtrEnsembleImpl : public CtrModel {
 public:
  explicit CtrEnsembleImpl(std::vector<CtrModelPtr> members);
  CtrOutput run(const CtrBatch& batch) override;
  const std::vector<CtrModelPtr>& members() const { return members_; }

 private:
  std::vector<CtrModelPtr> members_;
};
TORCH_MODULE(CtrEnsemble);

}  // namespace recpress
