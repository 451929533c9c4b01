// What a study needs from a task. The runner (runner.h) owns everything the three tasks share:
// the grid of runs, seeds, run folders hashed by their inputs (cache + resume), learning-rate
// tuning, records, mean +- std, kept / vs-alone / gap-closed, results.json and the report. A task
// (pipeline/topn, pipeline/ctr, pipeline/seq) owns what differs: its data and split, how a run is
// configured and trained (through the shared training loop), and how its models are measured.
//
//   runner ── for each seed: task.begin_seed ── teacher, baselines, students x methods
//                └─ train_or_reuse: hash(task.config_json, split, teachers) ─ task.train(dir)
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/model_spec.h"
#include "pipeline/recipe.h"

namespace recpress {
class Dataset;
}

namespace recpress::pipeline {

// One training run of a study.
struct RunRequest {
  std::string role;    // teacher | baseline | student
  std::string model;   // model spec
  std::string method;  // "none" or distillation terms ("kd", "hint+kd", "de@0.1")
  // Folders of finished runs whose best.pt teach this one; two or more make an ensemble.
  std::vector<std::string> teachers;
  const TrainSection* section = nullptr;
  double lr = 1e-3;
  std::int64_t seed = 1;
  bool quiet = false;
};

// What a finished run reports (its record.json is made of this).
struct RunOutcome {
  nlohmann::ordered_json test = nlohmann::ordered_json::object();  // protocol -> metric -> value
  double valid_score = 0;  // the monitored metric at the best epoch (tunes the learning rate)
  int best_epoch = 0, epochs_run = 0;
  double seconds_per_epoch = 0, samples_per_second = 0;
  std::int64_t parameters = 0, bytes = 0;
  nlohmann::ordered_json history = nlohmann::ordered_json::array();  // [{epoch, valid}]
};

class StudyTask {
 public:
  virtual ~StudyTask() = default;
  virtual nlohmann::ordered_json data_summary() const = 0;  // name, checksum, sizes
  virtual bool higher_is_better() const { return true; }    // of the monitored metric
  // Prepares a seed's split (CTR: and its encoded rows); called before the seed's runs.
  virtual void begin_seed(std::int64_t seed) = 0;
  virtual std::string split_key() const = 0;  // the current split, part of every run's hash
  // Everything that determines a run's training besides model, method, teachers and split.
  virtual nlohmann::ordered_json config_json(const RunRequest& r) const = 0;
  // The task's model and distillation-method declarations: a run's identity holds its model and
  // method with every parameter resolved (resolved_spec_text), so a changed default is a new run.
  virtual DeclaredSpecs model_declarations() const = 0;
  virtual DeclaredSpecs method_declarations() const = 0;
  // Trains into `dir` (best.pt, last.pt, history.json, results.json), continuing from
  // `dir`/last.pt when `resume`.
  virtual RunOutcome train(const RunRequest& r, const std::string& dir, bool resume) = 0;
  // The parameters of `model` built for this data, untrained (a student search's budget);
  // called after begin_seed().
  virtual std::int64_t parameters_of(const std::string& model) = 0;
  // For a student that searched its own architecture (next-item `adarec` with no `ops`): the
  // spec of the architecture it derived, trained next as a student of its own; "" otherwise.
  virtual std::string derived_model(const std::string& /*model*/, const std::string& /*dir*/) {
    return "";
  }
  // The teacher measured as it is (LibTorch), a student as it ships (the runtime where the task
  // has a runtime kind, LibTorch until then): {engine, dtype, file_bytes, p50_us, p99_us, ...}.
  virtual nlohmann::ordered_json teacher_efficiency(const std::string& dir) = 0;
  virtual nlohmann::ordered_json student_efficiency(const std::string& dir) = 0;  // an array
  // Names what a run's cached measurement holds ("" = the first kind), so a run measured before a
  // task changed how it measures (CTR students: LibTorch, then the runtime) is measured again.
  virtual std::string efficiency_variant(bool /*as_teacher*/) const { return ""; }
  virtual std::string query_description() const = 0;            // what one timed query is
  virtual std::vector<std::string> report_metrics() const = 0;  // the report's metric columns
};

// A run's training options: the recipe section's (its task's defaults and the keys written), with
// the run's learning rate and seed.
template <typename Config>
void apply_section(Config& c, const RunRequest& r) {
  static_cast<TrainOptions&>(c) = r.section->options;
  c.lr = r.lr;
  c.seed = static_cast<std::uint64_t>(r.seed);
  c.show_progress = !r.quiet;
}

// A task configuration as part of a run's hash: everything but the display switch.
template <typename Config>
nlohmann::ordered_json hashed_config(const Config& c) {
  nlohmann::ordered_json j = c.to_json();
  j.erase("show_progress");
  return j;
}

// The parts of an outcome every task's training result reports alike (the test metrics and the
// validation score are the task's).
template <typename Result>
RunOutcome outcome_of(const Result& t, std::int64_t parameters, std::int64_t bytes,
                      const std::string& monitor) {
  RunOutcome o;
  o.best_epoch = t.best_epoch;
  o.epochs_run = t.epochs_run;
  o.seconds_per_epoch = t.seconds_per_epoch;
  o.samples_per_second = t.samples_per_second;
  o.parameters = parameters;
  o.bytes = bytes;
  for (const auto& h : t.history)
    o.history.push_back({{"epoch", h.value("epoch", 0)},
                         {"valid", h.contains("valid") ? h["valid"].value(monitor, 0.0) : 0.0}});
  return o;
}

// The data a study runs on: a loaded dataset for top-N and next-item; CTR opens its own table
// (joined with side features) from the recipe's `data` and `features`.
struct StudyData {
  const Dataset* interactions = nullptr;
  std::string data_root;  // where CTR dataset names resolve ("": the default)
};

std::unique_ptr<StudyTask> make_topn_study(const Recipe& recipe, const StudyData& data);
std::unique_ptr<StudyTask> make_ctr_study(const Recipe& recipe, const StudyData& data);
std::unique_ptr<StudyTask> make_seq_study(const Recipe& recipe, const StudyData& data);

}  // namespace recpress::pipeline
