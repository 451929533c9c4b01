// CTR studies: the recipe's table (rated data joined with side features, Criteo, Avazu, CSV) split
// per seed and encoded once per seed with an encoder fitted on that seed's training rows, so the
// teacher, baselines and students of a seed see identical features. Every test row is scored
// (AUC, LogLoss, GAUC). The teacher is measured in LibTorch; a student is exported to the
// runtime's CTR kind in each of the recipe's dtypes and measured as it ships: its test metrics
// from the runtime's scores, one row per query, and rows/s scoring the whole test split.
#include <filesystem>
#include <map>

#include "core/errors.h"
#include "distill/ctr/distiller.h"
#include "export/ctr_export.h"
#include "pipeline/study_task.h"
#include "sys/latency.h"
#include "train/ctr_trainer.h"

namespace recpress::pipeline {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

json ctr_metrics(const CtrEvalResult& e) {
  json m = {{"AUC", e.auc}, {"LogLoss", e.logloss}};
  if (e.gauc >= 0) m["GAUC"] = e.gauc;
  return m;
}

// The first `n` rows of `rows`, each as its own one-row batch (the latency of one request).
std::vector<CtrRows> single_rows(const CtrRows& rows, std::size_t n) {
  std::vector<CtrRows> out;
  for (std::int64_t r = 0; r < rows.rows && out.size() < n; ++r) out.push_back(rows.slice(r, 1));
  return out;
}

class CtrStudy : public StudyTask {
 public:
  CtrStudy(const Recipe& recipe, std::string data_root)
      : recipe_(recipe), data_root_(std::move(data_root)) {
    const FeatureSection& f = recipe.features;
    spec_.data = recipe.data;
    spec_.threshold = f.threshold;
    spec_.format = f.format;
    spec_.schema = f.schema;
    spec_.split = recipe.split;
    spec_.features.min_count = f.min_count;
    spec_.features.hash_buckets = f.hash_buckets;
    spec_.features.numeric = f.numeric;
    spec_.features.max_tokens = f.max_tokens;
    spec_.features.crosses = CtrEncoderConfig::parse_crosses(f.crosses);
    spec_.features.validate();
  }

  json data_summary() const override {
    if (!data_) return json::object();
    const auto& l = data_->encoder.layout();
    return {{"name", data_->name},
            {"checksum", data_->checksum},
            {"rows", data_->train.rows + data_->valid.rows + data_->test.rows},
            {"train_rows", data_->train.rows},
            {"positive_rate", data_->train.positive_rate()},
            {"sparse_fields", l.sparse.size()},
            {"dense_fields", l.dense.size()},
            {"ids", l.vocab_size}};
  }
  bool higher_is_better() const override { return recipe_.monitor == "AUC"; }

  void begin_seed(std::int64_t seed) override {
    spec_.split_seed = static_cast<std::uint64_t>(seed);
    data_ = std::make_unique<CtrData>(prepare_ctr_data(spec_, nullptr, data_root_));
    loaded_.clear();
  }
  std::string split_key() const override {
    return spec_.split + "@" + std::to_string(spec_.split_seed) + "/" + data_->checksum;
  }

  DeclaredSpecs model_declarations() const override { return ctr_model_params(); }
  DeclaredSpecs method_declarations() const override { return ctr_distiller_params(); }
  json config_json(const RunRequest& r) const override {
    json j = hashed_config(config_of(r));
    j["features"] = spec_.to_json();
    return j;
  }

  std::int64_t parameters_of(const std::string& model) override {
    return create_ctr_model(ModelSpec::parse(model), data_->encoder.layout())->parameter_count();
  }

  RunOutcome train(const RunRequest& r, const std::string& dir, bool resume) override {
    torch::manual_seed(static_cast<std::uint64_t>(r.seed));
    auto model = create_ctr_model(ModelSpec::parse(r.model), data_->encoder.layout());
    CtrTrainer trainer(*data_, model, config_of(r));
    if (!r.teachers.empty())
      trainer.distill_from({teacher_of(r.teachers), parse_ctr_distillation_terms({r.method})});
    const CtrTrainResult t = trainer.fit(dir, resume ? (fs::path(dir) / "last.pt").string() : "");
    RunOutcome o = outcome_of(t, model->parameter_count(), model->byte_size(), recipe_.monitor);
    o.test[recipe_.protocol] = ctr_metrics(t.test);
    o.valid_score = recipe_.monitor == "AUC" ? t.best_valid.auc : t.best_valid.logloss;
    return o;
  }

  json teacher_efficiency(const std::string& dir) override { return measure(dir); }
  std::string efficiency_variant(bool as_teacher) const override {
    return as_teacher ? "" : "runtime";  // before CTR files existed students were LibTorch's
  }
  json student_efficiency(const std::string& dir) override {
    json out = json::array();
    for (const auto& dtype : recipe_.exports) {
      const fs::path file = fs::path(dir) / ("student-" + dtype + ".rpm");
      try {
        export_ctr_model((fs::path(dir) / "best.pt").string(), file.string(),
                         runtime::parse_dtype(dtype));
      } catch (const Error& e) {
        out.push_back({{"dtype", dtype}, {"error", e.what()}});
        continue;
      }
      out.push_back(measure_runtime(runtime::CtrModel::open(file.string()), dtype, file));
    }
    return out;
  }

  std::string query_description() const override {
    return "one thread: one row per query (teacher: LibTorch; students: the runtime); rows/s "
           "scoring the whole test split (LibTorch in batches of 8,192)";
  }
  std::vector<std::string> report_metrics() const override { return {"AUC", "LogLoss", "GAUC"}; }

 private:
  CtrTrainConfig config_of(const RunRequest& r) const {
    CtrTrainConfig c;
    apply_section(c, r);
    c.monitor = recipe_.monitor == "AUC" ? "auc" : "logloss";
    c.validate();
    return c;
  }
  CtrModelPtr load(const std::string& dir) {
    auto& m = loaded_[dir];
    if (!m) {
      CtrCheckpoint c = load_ctr_checkpoint((fs::path(dir) / "best.pt").string());
      if (c.header.at("data_checksum").get<std::string>() != data_->checksum ||
          !(c.encoder.layout() == data_->encoder.layout()))
        throw Error(dir + "/best.pt was trained on other rows or features than this seed's");
      m = c.model;
    }
    return m;
  }
  CtrModelPtr teacher_of(const std::vector<std::string>& dirs) {
    if (dirs.size() == 1) return load(dirs.front());
    std::vector<CtrModelPtr> members;
    for (const auto& d : dirs) members.push_back(load(d));
    return CtrEnsemble(members).ptr();
  }
  json measure(const std::string& dir) {
    const auto model = load(dir);
    model->eval();
    torch::NoGradGuard guard;
    const auto rows = single_rows(data_->test, static_cast<std::size_t>(recipe_.latency_users));
    const auto p = time_queries(rows.size(), 10,
                                [&](std::size_t i) { ctr_predict_logits(*model, rows[i], 1); });
    const CtrEvalResult batched = evaluate_ctr(*model, data_->test);
    return {{"engine", "libtorch"},
            {"dtype", "fp32"},
            {"file_bytes", fs::file_size(fs::path(dir) / "best.pt")},
            {"test", ctr_metrics(batched)},
            {"rows_per_second", batched.rows_per_second},
            {"p50_us", p.p50_us},
            {"p99_us", p.p99_us}};
  }

  json measure_runtime(const runtime::CtrModel& m, const std::string& dtype, const fs::path& file) {
    const CtrRows& test = data_->test;
    const auto n = static_cast<std::size_t>(test.rows);
    std::vector<float> p(n);
    // Whole-split passes until 0.3 s have passed: rows/s from the total.
    std::size_t passes = 0;
    double seconds = 0;
    while (seconds < 0.3 || passes == 0) {
      seconds +=
          microseconds_of([&] { m.predict(test.ids.data(), test.values.data(), n, p.data()); }) *
          1e-6;
      ++passes;
    }
    const CtrEvalResult acc = ctr_eval_of(test, p);
    const std::size_t singles = std::min(n, static_cast<std::size_t>(recipe_.latency_users));
    const auto slots = static_cast<std::size_t>(test.slots);
    const auto dense = static_cast<std::size_t>(test.dense);
    float one = 0;
    const auto lat = time_queries(singles, 10, [&](std::size_t i) {
      m.predict(test.ids.data() + i * slots, test.values.data() + i * dense, 1, &one);
    });
    return {{"engine", "runtime"},
            {"dtype", dtype},
            {"file", file.string()},
            {"file_bytes", m.file_bytes()},
            {"flops_per_row", m.flops_per_row()},
            {"test", ctr_metrics(acc)},
            {"rows_per_second", static_cast<double>(n * passes) / seconds},
            {"p50_us", lat.p50_us},
            {"p99_us", lat.p99_us}};
  }

  const Recipe& recipe_;
  std::string data_root_;
  CtrDataSpec spec_;
  std::unique_ptr<CtrData> data_;
  std::map<std::string, CtrModelPtr> loaded_;
};

}  // namespace

std::unique_ptr<StudyTask> make_ctr_study(const Recipe& recipe, const StudyData& data) {
  return std::make_unique<CtrStudy>(recipe, data.data_root);
}

}  // namespace recpress::pipeline
