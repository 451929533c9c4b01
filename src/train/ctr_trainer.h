// Training and evaluating CTR models: the data bundle (table -> split -> encoder -> rows), the
// training loop (BCE, Adam, early stopping on validation AUC or LogLoss, best model kept), the
// evaluation (AUC, LogLoss, GAUC, rows/s), and CTR checkpoints.
//
// Reproducible: the split depends on (split_seed), the batch order of epoch e on (seed, e), and
// the initialisation on the seed; one thread gives the same numbers run after run.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "data/ctr_encoder.h"
#include "data/ctr_table.h"
#include "distill/ctr/distiller.h"
#include "models/ctr/ctr_model.h"
#include "train/optimizer.h"
#include "train/options.h"

namespace recpress {

// Where the rows come from and how they become features: everything needed to rebuild exactly
// the same encoded train/valid/test rows later (a student distilled from a teacher, evaluation).
struct CtrDataSpec {
  std::string data;        // dataset name or path
  double threshold = 4.0;  // rated data: label = rating >= threshold
  std::string format;      // "" (detect), ratings, criteo, avazu, csv
  std::string schema;      // csv
  std::string split = "random:0.8,0.1,0.1";
  std::uint64_t split_seed = 42;
  CtrEncoderConfig features;

  nlohmann::json to_json() const;
  static CtrDataSpec from_json(const nlohmann::json& j);
};

struct CtrData {
  CtrDataSpec spec;
  std::string name;
  std::string checksum;  // of the table
  CtrEncoder encoder;
  CtrRows train, valid, test;
};

// Opens, splits and encodes. With `encoder` (a teacher's), rows are encoded with it instead of a
// newly fitted one, so teacher and student see identical features. `data_root`: where dataset
// names resolve (empty: the default); not part of the spec, as it differs between machines.
CtrData prepare_ctr_data(const CtrDataSpec& spec, const CtrEncoder* encoder = nullptr,
                         const std::string& data_root = "");

// CTR training: the declared options (train/options.h) with CTR's defaults.
struct CtrTrainConfig : TaskTrainOptions<CtrTrainConfig, TrainTask::kCtr> {};

struct CtrEvalResult {
  double auc = 0, logloss = 0;
  double gauc = -1;  // -1: no groups (or no group with both classes)
  std::int64_t rows = 0;
  double rows_per_second = 0;  // inference throughput of this evaluation
  nlohmann::json to_json() const;
  std::string summary() const;  // "AUC 0.8012  LogLoss 0.5311  GAUC 0.7421"
};

// Predictions for all rows in batches (eval mode, no gradient) and their metrics.
CtrEvalResult evaluate_ctr(CtrModel& model, const CtrRows& rows, std::int64_t batch = 8192);
// The metrics of click probabilities `p` of `rows` (one per row; from any engine: the runtime's
// scores are measured with the same code). rows_per_second is left 0.
CtrEvalResult ctr_eval_of(const CtrRows& rows, std::span<const float> p);

struct CtrTrainResult {
  nlohmann::json history = nlohmann::json::array();
  int best_epoch = 0;
  int epochs_run = 0;
  CtrEvalResult best_valid, test;
  double seconds_per_epoch = 0;
  double samples_per_second = 0;
  nlohmann::json to_json() const;
};

struct CtrDistillation {
  CtrModelPtr teacher;  // a model or a CtrEnsemble
  std::vector<std::pair<CtrDistillerPtr, double>> terms;
};

class CtrTrainer {
 public:
  CtrTrainer(const CtrData& data, CtrModelPtr model, CtrTrainConfig config);
  void distill_from(CtrDistillation distillation);  // checked: same feature layout
  // Trains into `output_dir` (may be empty: nothing written) through the shared loop
  // (train/loop.h): best.pt, last.pt, history.json, results.json; `resume_from`: a last.pt.
  CtrTrainResult fit(const std::string& output_dir, const std::string& resume_from = "");

 private:
  const CtrData& data_;
  CtrModelPtr model_;
  CtrTrainConfig config_;
  CtrDistillation distillation_;
};

// ---------------------------------------------------------------- checkpoints

struct CtrCheckpoint {
  CtrModelPtr model;
  CtrEncoder encoder;
  CtrDataSpec data;
  nlohmann::json header;
};
// The header fields naming a CTR model and its data (the encoder included).
nlohmann::json ctr_identity(const CtrModel& model, const CtrData& data);
void save_ctr_checkpoint(const std::string& path, CtrModel& model, const CtrData& data,
                         const nlohmann::json& extra);
// Throws DataError naming the file for a missing, corrupt or non-CTR checkpoint. Without
// `with_model`, only the header's data spec and encoder (a last.pt to resume).
CtrCheckpoint load_ctr_checkpoint(const std::string& path, bool with_model = true);

}  // namespace recpress
