// The training options of every task, declared once: name, type, default per task, bounds and a
// one-line doc, in one table (options.cc), the way XGBoost's DMLC_DECLARE_PARAMETER and LightGBM's
// config declare theirs. Everything else reads that table:
//   - a task's defaults (TrainOptions(task)) and validation with errors naming the option;
//   - the JSON stored in checkpoints and hashed into a study's run folders (to_json / read_json);
//   - the keys of a recipe's `teacher:` / `student:` sections (pipeline/recipe.cc);
//   - the CLI flags of `train`/`distill`, `ctr train`/`ctr distill`, `seq train`/`seq distill`
//     with their --help (cli/options.h), and options files (`--options FILE`);
//   - the "Training options" table of docs/recipes.md (train_options_reference()).
// TrainConfig (top-N), CtrTrainConfig and SeqTrainConfig are TrainOptions with their task's
// defaults; adding an option is adding one row to the table (and reading it where it acts).
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "core/params.h"

namespace recpress {

struct OptimizerConfig;  // train/optimizer.h (LibTorch-free users need not include it)

enum class TrainTask { kTopN = 0, kCtr = 1, kSeq = 2 };
const char* task_name(TrainTask task);  // "topn", "ctr", "seq"

struct TrainOptions {
  TrainTask task = TrainTask::kTopN;
  // top-N
  std::string loss;          // bce | bpr
  int negatives = 0;         // per positive
  std::string sampler;       // uniform | popularity[:alpha]
  double distill_share = 1;  // of a batch's distinct users / items the distillation terms see
  int anneal_epochs = 0;     // the distillation schedules' horizon (0: the epoch cap)
  // every task
  std::int64_t batch_size = 0;
  int epochs = 0;
  std::string optimizer;
  double lr = 0;
  double weight_decay = 0;
  std::string schedule;
  int patience = 0;     // epochs without improvement before stopping (0: never)
  std::string monitor;  // the validation metric that picks the best epoch
  // top-N and next-item
  std::string protocol;
  std::string metrics;
  std::uint64_t seed = 42;
  std::string engine;         // top-N: auto | native | torch (train/ncf_step.h)
  std::string precision;      // fp32 | bf16 (matrix products under LibTorch's CPU autocast)
  bool show_progress = true;  // a display switch, not an option of the run

  explicit TrainOptions(TrainTask t);  // the task's declared defaults

  bool uses(const std::string& name) const;  // is `name` an option of this task?
  // Parses `value` as option `name` (type, bounds, syntax); Error "lr must be > 0, got 0",
  // "negatives: not an option of CTR training".
  void set(const std::string& name, const std::string& value);
  std::string get(const std::string& name) const;  // as text
  // Every option's bounds and syntax, then what depends on several (the monitored metric is
  // among the metrics, ...). Throws Error prefixed "train: " / "ctr train: " / "seq train: ".
  void validate() const;
  // The task's options that make a run's identity (not show_progress, not engine): checkpoints
  // and run hashes.
  nlohmann::json to_json() const;
  // Reads the task's options from `j`; those absent keep their values.
  void read_json(const nlohmann::json& j);
  OptimizerConfig optimizer_config() const;
};

// A task's configuration type: TrainOptions with the task's defaults, read back from checkpoint
// JSON by from_json (keys absent keep their defaults).
template <typename Self, TrainTask kTask>
struct TaskTrainOptions : TrainOptions {
  TaskTrainOptions() : TrainOptions(kTask) {}
  static Self from_json(const nlohmann::json& j) {
    Self c;
    c.read_json(j);
    return c;
  }
};

// One row of the table.
struct TrainOptionDecl {
  using Field =
      std::variant<int TrainOptions::*, std::int64_t TrainOptions::*, std::uint64_t TrainOptions::*,
                   double TrainOptions::*, std::string TrainOptions::*>;
  ParamDecl param;  // name, type, bounds, choices, doc (its default_value is unused)
  std::array<const char*, 3> defaults;  // per TrainTask; nullptr: not an option of that task
  bool section;  // a key of a recipe's teacher/student sections (else set by the study)
  bool flag;     // a CLI flag of the task's train/distill commands
  Field field;
  // Syntax beyond ParamDecl's type and choices; throws Error.
  void (*check)(const std::string& value) = nullptr;
  // Part of a run's identity (checkpoints, resume checks, study run hashes); false for how a run
  // is computed rather than what it computes.
  bool identity = true;
  // Left out of the identity while it has the task's default: an option added later does not
  // change the identity of the runs made before it existed (they resume, studies reuse them).
  bool identity_unless_default = false;

  bool used_by(TrainTask t) const { return defaults[static_cast<std::size_t>(t)] != nullptr; }
  // "`5`" when every task that has it shares the default, else "topn `256` / ctr `2048` / ...".
  std::string defaults_text() const;
  void check_value(const std::string& value) const;
};

const std::vector<TrainOptionDecl>& train_option_decls();
const TrainOptionDecl* find_train_option(const std::string& name);  // nullptr: none
// Markdown table: option, tasks, type, default per task, bounds, meaning (docs/recipes.md).
std::string train_options_reference();

}  // namespace recpress
