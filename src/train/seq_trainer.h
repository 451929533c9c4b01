// Training and evaluating next-item models: per-user time-ordered sequences from a leave-one-out
// split (the last item tests, the one before validates), the training loop (one right-aligned
// window of each user's training sequence per epoch, Adam, early stopping on a validation metric,
// best model kept), the Scorer adapter the evaluator uses, and checkpoints.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/split.h"
#include "distill/seq/distiller.h"
#include "eval/evaluator.h"
#include "eval/scorer.h"
#include "models/seq/seq_model.h"
#include "train/optimizer.h"
#include "train/options.h"

namespace recpress {

// Each user's training items in time order (ties in file order), 0-based item indices.
std::vector<std::vector<std::int32_t>> training_sequences(const Dataset& data, const Split& split);
// The history a model sees when predicting `target`'s held-out item: the training sequence, plus
// the validation item(s) when predicting the test item.
std::vector<std::vector<std::int32_t>> evaluation_histories(const Dataset& data, const Split& split,
                                                            EvalTarget target);

// A next-item model as a Scorer: user u is scored from histories[u].
class SeqScorer : public Scorer {
 public:
  SeqScorer(SeqModelPtr model, std::vector<std::vector<std::int32_t>> histories,
            std::string name = "");
  std::string name() const override { return name_; }
  std::int32_t num_items() const override { return static_cast<std::int32_t>(model_->num_items()); }
  void score(std::int32_t user, std::span<const std::int32_t> items,
             std::span<float> out) const override;
  void score_all(std::span<const std::int32_t> users, std::span<float> out) const override;
  void score_lists(std::span<const std::int32_t> users, std::span<const std::int64_t> offsets,
                   std::span<const std::int32_t> items, std::span<float> out) const override;

 private:
  torch::Tensor scores(std::span<const std::int32_t> users) const;  // [n, items]
  SeqModelPtr model_;
  std::vector<std::vector<std::int32_t>> histories_;
  std::string name_;
};

// Next-item training: the declared options (train/options.h) with next-item's defaults.
struct SeqTrainConfig : TaskTrainOptions<SeqTrainConfig, TrainTask::kSeq> {};

struct SeqTrainResult {
  nlohmann::json history = nlohmann::json::array();  // per epoch: loss, seconds, wall, valid
  int best_epoch = 0;
  int epochs_run = 0;
  EvalResult best_valid, test;
  double seconds_per_epoch = 0;   // training only
  double samples_per_second = 0;  // predicted positions per second
  double wall_seconds = 0;        // training + validation
  double peak_rss_mib = 0;
  double latency_ms_p50 = 0;  // scoring all items for one user (batch of one), one thread
};

struct SeqDistillation {
  SeqModelPtr teacher;
  std::vector<std::pair<SeqDistillerPtr, double>> terms;
};

class SeqTrainer {
 public:
  SeqTrainer(const Dataset& data, const Split& split, SeqModelPtr model, SeqTrainConfig config);
  // Checked: same catalog and model family (one training input must serve both).
  void distill_from(SeqDistillation distillation);
  // Trains into `output_dir` (may be empty) through the shared loop (train/loop.h): best.pt,
  // last.pt, history.json, results.json; `resume_from`: a last.pt to continue.
  SeqTrainResult fit(const std::string& output_dir, const std::string& resume_from = "");

 private:
  const Dataset& data_;
  const Split& split_;
  SeqModelPtr model_;
  SeqTrainConfig config_;
  SeqDistillation distillation_;
};

// A model rebuilt from a checkpoint; with `data`, it must be the data it was trained on.
SeqModelPtr load_seq_checkpoint(const std::string& path, const Dataset* data = nullptr);

}  // namespace recpress
