// Knowledge distillation for next-item models: one method per file (seq_kd.cc, seq_hint.cc,
// seq_attention.cc), a loss term over (teacher, student, batch), registered by name.
//
// Teacher and student encode the same training input (same masks for BERT4Rec), so they must be of
// one family (both BERT4Rec or both SASRec); the trainer encodes the batch with the frozen teacher
// once and every term reads that output.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "models/model_spec.h"
#include "models/seq/seq_model.h"

namespace recpress {

struct SeqDistillBatch {
  const SeqTrainingInput* input = nullptr;
  const SeqOutput* teacher = nullptr;  // computed without gradient
  const SeqOutput* student = nullptr;
};

class SeqDistiller {
 public:
  virtual ~SeqDistiller() = default;
  virtual std::string name() const = 0;
  // Once before training: projections and layer/head mappings from both models' shapes (throwing
  // Error for what cannot be matched).
  virtual void prepare(SeqModel& teacher, SeqModel& student) {}
  virtual torch::Tensor loss(SeqModel& teacher, SeqModel& student,
                             const SeqDistillBatch& batch) = 0;
  virtual std::vector<torch::Tensor> parameters() { return {}; }
};

using SeqDistillerPtr = std::shared_ptr<SeqDistiller>;
using SeqDistillerFactory = std::function<SeqDistillerPtr(const ModelSpec& spec)>;

void register_seq_distiller(const std::string& name, const std::string& help,
                            std::optional<ParamDecls> params, SeqDistillerFactory factory);
SeqDistillerPtr create_seq_distiller(const ModelSpec& spec);
std::vector<std::pair<std::string, std::string>> seq_distillers();
std::vector<std::tuple<std::string, std::string, ParamDecls>> seq_distiller_params();
std::vector<std::pair<SeqDistillerPtr, double>> parse_seq_distillation_terms(
    const std::vector<std::string>& methods);

struct SeqDistillerRegistrar {
  SeqDistillerRegistrar(const std::string& name, const std::string& help,
                        std::optional<ParamDecls> params, SeqDistillerFactory factory) {
    register_seq_distiller(name, help, std::move(params), std::move(factory));
  }
};
#define RECPRESS_REGISTER_SEQ_DISTILLER(name, help, params, factory)                          \
  static const ::recpress::SeqDistillerRegistrar recpress_seq_distiller_##factory(name, help, \
                                                                                  params, factory)

}  // namespace recpress
