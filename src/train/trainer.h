// The training loop shared by every top-N model (and, later, every distiller).
//
// Per epoch: sample negatives for every training positive (BCE: N per positive, labels 0; BPR: N
// triples per positive) with a generator seeded by (seed, epoch), shuffle, run mini-batches through
// preallocated tensors, step the optimiser, evaluate the validation hold-out on candidates drawn
// once, keep the best model (early stopping with patience on a chosen metric), and write
// last.pt / best.pt / history.json atomically. Because the data order depends only on
// (seed, epoch), a run resumed from last.pt ends with exactly the numbers of an uninterrupted run.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "data/dataset.h"
#include "data/split.h"
#include "distill/topn/distiller.h"
#include "eval/evaluator.h"
#include "models/topn/model.h"
#include "train/checkpoint.h"
#include "train/loop.h"
#include "train/optimizer.h"
#include "train/options.h"

namespace recpress {

// Top-N training: the declared options (train/options.h) with top-N's defaults.
struct TrainConfig : TaskTrainOptions<TrainConfig, TrainTask::kTopN> {};

struct TrainResult {
  nlohmann::json history = nlohmann::json::array();
  int best_epoch = 0;
  int epochs_run = 0;
  EvalResult best_valid;
  EvalResult test;
  double seconds_per_epoch = 0;   // training only, without evaluation
  double samples_per_second = 0;  // training samples (positives + negatives) per second
  std::string engine;             // "native" or "torch": how the steps were computed
};

// Distillation: a teacher and weighted distillation terms added to the student's loss.
// Offline (default): the teacher is frozen and methods may cache what it knows.
// Online: deep mutual learning (Zhang et al., CVPR 2018): the teacher trains too, on its own loss
// plus the same terms with the roles swapped, so each model learns from the other.
struct Distillation {
  TopNModelPtr teacher;
  std::vector<std::pair<DistillerPtr, double>> terms;  // method, weight
  bool online = false;
};

class Trainer {
 public:
  Trainer(const Dataset& data, const Split& split, TopNModelPtr model, TrainConfig config);
  // Train the model as a student of `teacher` (checked: same users and items).
  void distill_from(Distillation distillation);
  // Train into `output_dir` (may be empty: nothing written). `resume_from`: a last.pt to continue.
  TrainResult fit(const std::string& output_dir, const std::string& resume_from = "");

 private:
  const Dataset& data_;
  const Split& split_;
  TopNModelPtr model_;
  TrainConfig config_;
  Distillation distillation_;
};

// Header fields identifying a model and its data, shared by checkpoints of every kind.
nlohmann::json model_identity(const TopNModel& model, const Dataset& data);
// Serialise / restore just the model parameters.
std::string save_model_archive(TopNModel& model);
// A model rebuilt from a checkpoint; if `data` is given, it must be the data the model was trained
// on (same checksum), else Error says which file was trained on what.
TopNModelPtr load_topn_checkpoint(const std::string& path, const Dataset* data = nullptr);

}  // namespace recpress
