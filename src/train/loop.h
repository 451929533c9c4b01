// The one training loop of every task (top-N, CTR, next-item). A task supplies what differs (its
// batches, its loss, its validation metric, its checkpoint identity and best.pt format: a
// TrainingTask); the loop owns what is shared:
//   - epochs whose randomness depends only on (seed, epoch): the task's Rng and LibTorch's
//     generator (dropout, masks) are both re-derived at the start of every epoch, so a run resumed
//     from last.pt ends with exactly the numbers of an uninterrupted one;
//   - the optimiser (train/optimizer.h) and the learning-rate schedule;
//   - early stopping with patience on the task's monitored score, the best epoch's parameters
//     put back at the end;
//   - best.pt at every improvement and last.pt + history.json after every epoch, all atomic, so a
//     killed run loses at most the epoch in progress;
//   - resume from last.pt, refused when the model, the data or an option differs (named);
//   - a progress line and one line per epoch;
//   - divergence: a non-finite batch loss, or one ten thousand times the run's first, stops the
//     run with TrainingDiverged, keeping the checkpoints of the last good epoch.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/errors.h"
#include "core/rng.h"
#include "train/optimizer.h"
#include "train/progress.h"

namespace recpress {

// The loss went non-finite or exploded; the message says where and what to do.
class TrainingDiverged : public Error {
 public:
  using Error::Error;
};

// SIGINT during training (stop_training_on_interrupt); the message says how to resume.
class TrainingInterrupted : public Error {
 public:
  using Error::Error;
};

// Installs a SIGINT handler: a running TrainingLoop then stops at its next batch by throwing
// TrainingInterrupted (its checkpoints hold the last finished epoch); a second SIGINT ends the
// process at once. The CLI calls it; a library user may not want it.
void stop_training_on_interrupt();

struct LoopConfig {
  int epochs = 20;
  int patience = 5;  // epochs without improvement before stopping (0: never)
  std::uint64_t seed = 42;
  bool show_progress = true;
  OptimizerConfig optimizer;
  // The run's options as stored in checkpoints. A resume must ask the same ones; only `epochs` and
  // `patience` may change (they decide when the run stops).
  nlohmann::json options = nlohmann::json::object();
  std::string tag;    // shown after "epoch N/M", e.g. " (student)"
  bool bf16 = false;  // forward passes under LibTorch's CPU autocast to bfloat16 (`precision`)
};

// One validation pass: a score where higher is better, and what goes into the history.
struct Validation {
  double score = 0;
  nlohmann::json metrics = nlohmann::json::object();
  std::string summary;  // "NDCG@10 0.4012"
};

class TrainingLoop;

// Autocast off for a backward pass and an update (`precision: bf16` runs the forward passes
// under LibTorch's CPU autocast; the gradients follow the dtypes the forward pass chose), and its
// cache of bf16 weight copies dropped on the way out: the update changed the weights, so the next
// forward pass must cast them afresh. A no-op when autocast is off.
class AutocastPause {
 public:
  AutocastPause();
  ~AutocastPause();
  AutocastPause(const AutocastPause&) = delete;
  AutocastPause& operator=(const AutocastPause&) = delete;

 private:
  bool was_enabled_;
};

// What a task's epoch sees of the loop.
class BatchStep {
 public:
  // Backpropagates `loss`, steps the optimiser, checks the loss, counts `samples` trained samples
  // and updates the progress line (`done` of `total` units of this epoch). Returns the loss.
  double operator()(const torch::Tensor& loss, std::size_t samples, std::size_t done,
                    std::size_t total);
  // The same for a step that computes its own gradients and update (train/ncf_step.h): `loss` is
  // its forward pass's value, checked before `apply(lr)` runs.
  template <typename Apply>
  double native(double loss, Apply&& apply, std::size_t samples, std::size_t done,
                std::size_t total) {
    before_step(loss);
    apply(lr_);
    after_step(loss, samples, done, total);
    return loss;
  }
  double lr() const { return lr_; }
  int epoch() const { return epoch_; }
  // The loop's optimiser (a native step updates its state).
  torch::optim::Optimizer& optimizer();

 private:
  friend class TrainingLoop;
  BatchStep(TrainingLoop& loop, int epoch, double lr) : loop_(loop), epoch_(epoch), lr_(lr) {}
  void before_step(double loss);
  void after_step(double loss, std::size_t samples, std::size_t done, std::size_t total);
  TrainingLoop& loop_;
  int epoch_;
  double lr_;
  double loss_sum_ = 0;
  std::size_t batches_ = 0, samples_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

class TrainingTask {
 public:
  virtual ~TrainingTask() = default;
  // The model being trained: its parameters are kept for the best epoch and checkpointed.
  virtual torch::nn::Module& model() = 0;
  // Everything the optimiser updates: the model's parameters first, then a distiller's own parts
  // (last.pt stores the latter beside the model).
  virtual std::vector<torch::Tensor> trainable() = 0;
  // One epoch of batches drawn with `rng`; calls step(loss, ...) once per batch.
  virtual void train_epoch(Rng& rng, BatchStep& step) = 0;
  virtual Validation validate() = 0;
  // Called when the last validation is the best so far.
  virtual void on_best() {}
  // The checkpoint header fields naming the task, the model and the data ("task", "model",
  // "data_checksum", ...): a resume must match them.
  virtual nlohmann::json identity() const = 0;
  // Writes the best model to `path` (atomically) in the task's checkpoint format, with `state`
  // (epoch, best score, history) in its header.
  virtual void write_best(const std::string& path, const nlohmann::json& state) = 0;
  // State beyond the model, trainable() and the optimiser that a resumed run needs (an online
  // teacher, a method's discriminator): written into last.pt, read back on resume.
  virtual void save_extra(torch::serialize::OutputArchive&) {}
  virtual void load_extra(torch::serialize::InputArchive&) {}
};

struct LoopResult {
  nlohmann::json history = nlohmann::json::array();
  int best_epoch = 0;
  int epochs_run = 0;  // in this process (a resumed run counts from where it started)
  double train_seconds = 0;
  std::size_t trained_samples = 0;
  double wall_seconds = 0;  // training + validation
  double seconds_per_epoch() const { return epochs_run > 0 ? train_seconds / epochs_run : 0; }
  double samples_per_second() const {
    return train_seconds > 0 ? static_cast<double>(trained_samples) / train_seconds : 0;
  }
};

// The loop's settings from any task's training configuration (the fields every one has).
template <typename TaskConfig>
LoopConfig loop_config_of(const TaskConfig& c, std::string tag = "") {
  LoopConfig l;
  l.epochs = c.epochs;
  l.patience = c.patience;
  l.seed = c.seed;
  l.show_progress = c.show_progress;
  l.optimizer = c.optimizer_config();
  l.options = c.to_json();
  l.tag = std::move(tag);
  l.bf16 = c.precision == "bf16";
  return l;
}

// A model's parameters and those of every (term, weight) pair's own parts (a distiller's
// projections), what TrainingTask::trainable() returns.
template <typename Terms>
std::vector<torch::Tensor> model_and_term_parameters(torch::nn::Module& model, Terms& terms) {
  std::vector<torch::Tensor> params = model.parameters();
  for (auto& [term, weight] : terms)
    for (auto& p : term->parameters()) params.push_back(p);
  return params;
}

class TrainingLoop {
 public:
  TrainingLoop(TrainingTask& task, LoopConfig config);
  // Trains into `output_dir` (empty: nothing written), from `resume_from` (a last.pt) when given.
  // On return the model holds the best epoch's parameters.
  LoopResult run(const std::string& output_dir, const std::string& resume_from = "");

 private:
  friend class BatchStep;
  void resume(const std::string& path, LoopResult& result);
  void write_last(const std::string& path, const nlohmann::json& state);
  void check_loss(double loss, int epoch, std::size_t batch);
  void check_interrupt(int epoch) const;

  TrainingTask& task_;
  LoopConfig config_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  Progress progress_;
  std::string last_valid_;
  std::string output_dir_;
  std::vector<torch::Tensor> best_params_;
  double best_ = -INFINITY;
  double reference_loss_ = -1;  // the run's first batch loss (divergence check)
  int bad_epochs_ = 0;
  int last_good_epoch_ = 0;
};

}  // namespace recpress
