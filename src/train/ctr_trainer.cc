#include "train/ctr_trainer.h"

#include <chrono>
#include <cmath>
#include <numeric>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/format.h"
#include "core/rng.h"
#include "eval/ctr_metrics.h"
#include "models/module_util.h"
#include "train/checkpoint.h"
#include "train/loop.h"
#include "train/progress.h"

namespace recpress {

// ---------------------------------------------------------------- data

nlohmann::json CtrDataSpec::to_json() const {
  return {{"data", data},
          {"threshold", threshold},
          {"format", format},
          {"schema", schema},
          {"split", split},
          {"split_seed", split_seed},
          {"features", features.to_json()}};
}

CtrDataSpec CtrDataSpec::from_json(const nlohmann::json& j) {
  CtrDataSpec s;
  s.data = j.at("data");
  s.threshold = j.at("threshold");
  s.format = j.at("format");
  s.schema = j.at("schema");
  s.split = j.at("split");
  s.split_seed = j.at("split_seed");
  s.features = CtrEncoderConfig::from_json(j.at("features"));
  return s;
}

CtrData prepare_ctr_data(const CtrDataSpec& spec, const CtrEncoder* encoder,
                         const std::string& data_root) {
  CtrOpenOptions open;
  open.data_root = data_root;
  open.threshold = spec.threshold;
  open.format = spec.format;
  open.schema = spec.schema;
  const CtrTable table = open_ctr_table(spec.data, open);
  const CtrSplit split = split_ctr(table, spec.split, spec.split_seed);
  CtrData d{spec,
            table.name,
            table.checksum(),
            encoder != nullptr ? *encoder : CtrEncoder::fit(table, split.train, spec.features),
            {},
            {},
            {}};
  d.spec.split = split.spec;
  d.train = d.encoder.encode(table, split.train);
  d.valid = d.encoder.encode(table, split.valid);
  d.test = d.encoder.encode(table, split.test);
  return d;
}

// ---------------------------------------------------------------- evaluation

nlohmann::json CtrEvalResult::to_json() const {
  nlohmann::json j = {
      {"AUC", auc}, {"LogLoss", logloss}, {"rows", rows}, {"rows_per_second", rows_per_second}};
  if (gauc >= 0) j["GAUC"] = gauc;
  return j;
}

std::string CtrEvalResult::summary() const {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(4);
  s << "AUC " << auc << "  LogLoss " << logloss;
  if (gauc >= 0) s << "  GAUC " << gauc;
  return s.str();
}

CtrEvalResult ctr_eval_of(const CtrRows& rows, std::span<const float> probs) {
  if (probs.size() != static_cast<std::size_t>(rows.rows))
    throw Error("ctr evaluate: " + std::to_string(probs.size()) + " probabilities for " +
                std::to_string(rows.rows) + " rows");
  CtrEvalResult r;
  r.rows = rows.rows;
  r.logloss = log_loss(rows.labels, probs);
  const double rate = rows.positive_rate();
  r.auc = rate > 0 && rate < 1 ? auc(rows.labels, probs) : std::nan("");
  if (!rows.groups.empty()) {
    try {
      r.gauc = gauc(rows.groups, rows.labels, probs);
    } catch (const Error&) {
      r.gauc = -1;  // no group has both classes
    }
  }
  return r;
}

CtrEvalResult evaluate_ctr(CtrModel& model, const CtrRows& rows, std::int64_t batch) {
  if (rows.rows == 0) throw Error("ctr evaluate: no rows");
  const auto t0 = std::chrono::steady_clock::now();
  const auto logits = ctr_predict_logits(model, rows, batch);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto p = torch::sigmoid(logits).contiguous();
  CtrEvalResult r = ctr_eval_of(rows, {p.data_ptr<float>(), static_cast<std::size_t>(rows.rows)});
  r.rows_per_second = seconds > 0 ? static_cast<double>(rows.rows) / seconds : 0;
  return r;
}

nlohmann::json CtrTrainResult::to_json() const {
  return {{"best_epoch", best_epoch},
          {"epochs_run", epochs_run},
          {"valid", best_valid.to_json()},
          {"test", test.to_json()},
          {"seconds_per_epoch", seconds_per_epoch},
          {"samples_per_second", samples_per_second},
          {"history", history}};
}

// ---------------------------------------------------------------- checkpoints

void save_ctr_checkpoint(const std::string& path, CtrModel& model, const CtrData& data,
                         const nlohmann::json& extra) {
  Checkpoint c;
  c.header = ctr_identity(model, data);
  for (const auto& [k, v] : extra.items()) c.header[k] = v;
  c.archive = module_archive(model);
  write_checkpoint(path, c);
}

CtrCheckpoint load_ctr_checkpoint(const std::string& path, bool with_model) {
  const Checkpoint c = read_checkpoint(path);
  if (c.header.value("task", "") != "ctr")
    throw DataError(
        path, 0, "task",
        "not a CTR model checkpoint (task '" + c.header.value("task", std::string("?")) + "')");
  CtrCheckpoint out;
  out.header = c.header;
  try {
    out.encoder = CtrEncoder::from_json(c.header.at("encoder"));
    out.data = CtrDataSpec::from_json(c.header.at("data"));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path, 0, "encoder", std::string("malformed CTR header: ") + e.what());
  }
  if (!with_model) return out;
  out.model = create_ctr_model(ModelSpec::parse(c.header.at("model").get<std::string>()),
                               out.encoder.layout());
  load_module_archive(*out.model, c.archive, path);
  return out;
}

// ---------------------------------------------------------------- training

namespace {

// Higher is better; AUC is undefined on a one-class validation set, then LogLoss decides.
double monitored(const CtrEvalResult& r, const std::string& monitor) {
  if (monitor == "logloss" || std::isnan(r.auc)) return -r.logloss;
  return r.auc;
}

// Both classes, or AUC means nothing and every "best epoch" is noise.
void require_both_classes(const CtrRows& rows, const std::string& part, double threshold_hint) {
  const double rate = rows.positive_rate();
  if (rate > 0 && rate < 1) return;
  throw Error("ctr train: the " + part + " rows are all " + (rate == 0 ? "negative" : "positive") +
              " (" + std::to_string(rows.rows) + " rows); AUC is undefined. Check --threshold (" +
              fixed(threshold_hint, 1) + " for rated data) or the label column");
}

nlohmann::json distillation_json(const CtrDistillation& d) {
  nlohmann::json methods = nlohmann::json::array();
  for (const auto& [term, w] : d.terms) methods.push_back({{term->name(), w}});
  return {{"teacher", d.teacher->spec().to_string()}, {"methods", methods}};
}

// CTR's part of the training loop: an epoch is the training rows in a shuffled order, BCE on the
// logits plus the distillation terms; validation is AUC (or LogLoss) on the validation rows.
class CtrTrainingTask final : public TrainingTask {
 public:
  CtrTrainingTask(const CtrData& data, CtrModelPtr model, const CtrTrainConfig& c,
                  CtrDistillation& d)
      : data_(data), model_(std::move(model)), c_(c), d_(d) {
    if (d_.teacher) {
      d_.teacher->eval();
      for (auto& [term, w] : d_.terms) term->prepare(*d_.teacher, *model_, data_.train);
    }
    const std::int64_t B = c.batch_size, S = data_.train.slots, K = data_.train.dense;
    t_ids_ = torch::empty({B, S}, torch::kLong);
    t_values_ = torch::empty({B, K});
    t_labels_ = torch::empty({B});
    t_rows_ = torch::empty({B}, torch::kLong);
    order_.resize(static_cast<std::size_t>(data_.train.rows));
  }
  torch::nn::Module& model() override { return *model_; }
  std::vector<torch::Tensor> trainable() override {
    return model_and_term_parameters(*model_, d_.terms);
  }
  nlohmann::json identity() const override { return ctr_identity(*model_, data_); }
  Validation validate() override {
    last_ = evaluate_ctr(*model_, data_.valid);
    return {monitored(last_, c_.monitor), last_.to_json(), last_.summary()};
  }
  void on_best() override { best_ = last_; }
  void write_best(const std::string& path, const nlohmann::json& state) override {
    nlohmann::json extra = {{"train", c_.to_json()},
                            {"best_epoch", state.at("best_epoch")},
                            {"state", state},
                            {"valid", best_.to_json()}};
    if (d_.teacher) extra["distillation"] = distillation_json(d_);
    save_ctr_checkpoint(path, *model_, data_, extra);
  }
  void train_epoch(Rng& rng, BatchStep& step) override {
    const CtrRows& train = data_.train;
    const std::int64_t B = c_.batch_size, S = train.slots, K = train.dense;
    std::iota(order_.begin(), order_.end(), 0);
    shuffle(order_.data(), order_.size(), rng);
    for (std::int64_t start = 0; start < train.rows; start += B) {
      const auto n = std::min(B, train.rows - start);
      auto* ids = t_ids_.data_ptr<std::int64_t>();
      auto* values = t_values_.data_ptr<float>();
      auto* labels = t_labels_.data_ptr<float>();
      auto* rows = t_rows_.data_ptr<std::int64_t>();
      for (std::int64_t k = 0; k < n; ++k) {
        const auto r = order_[static_cast<std::size_t>(start + k)];
        rows[k] = r;
        labels[k] = train.labels[static_cast<std::size_t>(r)];
        const auto* src = train.ids.data() + r * S;
        for (std::int64_t s = 0; s < S; ++s) ids[k * S + s] = src[s];
        std::copy_n(train.values.data() + r * K, K, values + k * K);
      }
      CtrBatch batch{t_ids_.narrow(0, 0, n), t_values_.narrow(0, 0, n)};
      const auto y = t_labels_.narrow(0, 0, n);
      const CtrOutput out = model_->run(batch);
      auto loss = torch::binary_cross_entropy_with_logits(out.logits, y);
      if (d_.teacher) {
        const CtrDistillBatch db{&batch, t_rows_.narrow(0, 0, n), y, &out};
        for (auto& [term, w] : d_.terms) loss = loss + w * term->loss(*d_.teacher, *model_, db);
      }
      step(loss, static_cast<std::size_t>(n), static_cast<std::size_t>(start + n),
           static_cast<std::size_t>(train.rows));
    }
  }
  const CtrEvalResult& best_valid() const { return best_; }

 private:
  const CtrData& data_;
  CtrModelPtr model_;
  const CtrTrainConfig& c_;
  CtrDistillation& d_;
  CtrEvalResult last_, best_;
  torch::Tensor t_ids_, t_values_, t_labels_, t_rows_;
  std::vector<std::int64_t> order_;
};

}  // namespace

nlohmann::json ctr_identity(const CtrModel& model, const CtrData& data) {
  return {{"format", "recpress-checkpoint"},
          {"version", 1},
          {"task", "ctr"},
          {"model", model.spec().to_string()},
          {"parameters", model.parameter_count()},
          {"dataset", data.name},
          {"data_checksum", data.checksum},
          {"data", data.spec.to_json()},
          {"encoder", data.encoder.to_json()}};
}

CtrTrainer::CtrTrainer(const CtrData& data, CtrModelPtr model, CtrTrainConfig config)
    : data_(data), model_(std::move(model)), config_(std::move(config)) {
  config_.validate();
  if (!(model_->layout() == data_.encoder.layout()))
    throw Error("ctr train: the model was built for a different feature layout than the data");
  if (data_.train.rows == 0 || data_.valid.rows == 0)
    throw Error("ctr train: empty training or validation rows");
  require_both_classes(data_.train, "training", data_.spec.threshold);
  require_both_classes(data_.valid, "validation", data_.spec.threshold);
}

void CtrTrainer::distill_from(CtrDistillation distillation) {
  if (!distillation.teacher) throw Error("ctr distill: no teacher");
  if (!(distillation.teacher->layout() == model_->layout()))
    throw Error(
        "ctr distill: the teacher was trained on differently encoded data (feature "
        "layouts differ); distill with the teacher's data and features");
  if (distillation.terms.empty()) throw Error("ctr distill: no distillation method");
  distillation_ = std::move(distillation);
}

CtrTrainResult CtrTrainer::fit(const std::string& output_dir, const std::string& resume_from) {
  const auto& c = config_;
  CtrTrainingTask task(data_, model_, c, distillation_);
  TrainingLoop loop(task, loop_config_of(c, distillation_.teacher ? " (student)" : ""));
  const LoopResult run = loop.run(output_dir, resume_from);

  CtrTrainResult result;
  result.history = run.history;
  result.best_epoch = run.best_epoch;
  result.epochs_run = run.epochs_run;
  result.seconds_per_epoch = run.seconds_per_epoch();
  result.samples_per_second = run.samples_per_second();
  result.best_valid = task.best_valid();
  if (result.best_valid.rows == 0) result.best_valid = evaluate_ctr(*model_, data_.valid);
  result.test = evaluate_ctr(*model_, data_.test);
  if (!output_dir.empty()) {
    // best.pt again, now with the test result next to the validation one.
    nlohmann::json extra = {{"train", c.to_json()},
                            {"best_epoch", result.best_epoch},
                            {"valid", result.best_valid.to_json()},
                            {"test", result.test.to_json()}};
    if (distillation_.teacher) extra["distillation"] = distillation_json(distillation_);
    save_ctr_checkpoint(output_dir + "/best.pt", *model_, data_, extra);
    nlohmann::json summary = result.to_json();
    summary["task"] = "ctr";
    summary["model"] = model_->spec().to_string();
    summary["parameters"] = model_->parameter_count();
    summary["bytes"] = model_->byte_size();
    summary["data"] = data_.spec.to_json();
    summary["dataset"] = data_.name;
    summary["data_checksum"] = data_.checksum;
    summary["train"] = c.to_json();
    if (extra.contains("distillation")) summary["distillation"] = extra["distillation"];
    write_file_atomic(output_dir + "/results.json", summary.dump(2) + "\n");
  }
  return result;
}

}  // namespace recpress
