// Top-N studies: (user, item) interactions, a split per seed, evaluation under the recipe's
// protocols, students exported to the runtime (.rpm, per dtype) and timed there against the
// teacher in LibTorch (full-catalog top-10 for one user).
#include <filesystem>
#include <map>

#include "core/errors.h"
#include "data/dataset.h"
#include "data/split.h"
#include "distill/topn/distiller.h"
#include "distill/topn/ensemble.h"
#include "eval/evaluator.h"
#include "eval/runtime_scorer.h"
#include "export/rpm_export.h"
#include "models/topn/scorer.h"
#include "pipeline/study_task.h"
#include "runtime/model.h"
#include "runtime/topk.h"
#include "sys/latency.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace recpress::pipeline {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

json metrics_json(const EvalResult& e) {
  json m = json::object();
  for (const auto& [k, v] : e.metrics) m[k] = v;
  return m;
}

class TopNStudy : public StudyTask {
 public:
  TopNStudy(const Recipe& recipe, const Dataset& data) : recipe_(recipe), data_(data) {}

  json data_summary() const override {
    return {{"name", data_.name},
            {"checksum", data_.checksum()},
            {"users", data_.num_users()},
            {"items", data_.num_items()},
            {"interactions", data_.interactions.size()}};
  }
  void begin_seed(std::int64_t seed) override {
    split_ = std::make_unique<Split>(
        make_split(data_, SplitConfig::parse(recipe_.split, static_cast<std::uint64_t>(seed))));
    seed_ = seed;
  }
  std::string split_key() const override { return split_->config.to_string(); }

  json config_json(const RunRequest& r) const override {
    json j = config_of(r).to_json();
    j.erase("show_progress");
    return j;
  }

  RunOutcome train(const RunRequest& r, const std::string& dir, bool resume) override {
    const TrainConfig config = config_of(r);
    torch::manual_seed(static_cast<std::uint64_t>(r.seed));
    auto model = create_topn_model(ModelSpec::parse(r.model), data_.num_users(), data_.num_items());
    Trainer trainer(data_, *split_, model, config);
    if (!r.teachers.empty())
      trainer.distill_from({teacher_of(r.teachers), parse_distillation_terms({r.method}), false});
    const TrainResult t = trainer.fit(dir, resume ? (fs::path(dir) / "last.pt").string() : "");
    RunOutcome o;
    o.test[recipe_.protocol] = metrics_json(t.test);
    for (const auto& p : recipe_.extra_protocols) {
      const Evaluator e(data_, *split_, EvalTarget::kTest, Protocol::parse(p),
                        parse_metrics(recipe_.metrics), static_cast<std::uint64_t>(r.seed));
      o.test[p] = metrics_json(e.evaluate(TopNScorer(model)));
    }
    o.valid_score = t.best_valid.metrics.count(recipe_.monitor)
                        ? t.best_valid.metrics.at(recipe_.monitor)
                        : 0.0;
    o.best_epoch = t.best_epoch;
    o.epochs_run = t.epochs_run;
    o.seconds_per_epoch = t.seconds_per_epoch;
    o.samples_per_second = t.samples_per_second;
    o.parameters = model->parameter_count();
    o.bytes = model->byte_size();
    for (const auto& h : t.history)
      o.history.push_back(
          {{"epoch", h.value("epoch", 0)},
           {"valid", h.contains("valid") ? h["valid"].value(recipe_.monitor, 0.0) : 0.0}});
    return o;
  }

  json teacher_efficiency(const std::string& dir) override {
    const auto best = (fs::path(dir) / "best.pt").string();
    const auto model = load(dir);
    torch::NoGradGuard guard;
    const auto p = time_queries(latency_users(), 10, [&](std::size_t u) {
      const auto row = model->score_all(torch::tensor({static_cast<std::int64_t>(u)}, torch::kLong))
                           .contiguous();
      runtime::top_k({row.data_ptr<float>(), static_cast<std::size_t>(row.size(1))}, 10);
    });
    return {{"engine", "libtorch"},
            {"dtype", "fp32"},
            {"file_bytes", fs::file_size(best)},
            {"flops_per_item", checkpoint_flops_per_item(best)},
            {"p50_us", p.p50_us},
            {"p99_us", p.p99_us}};
  }

  // Exported per dtype and measured in the runtime: file size, accuracy after export (headline
  // protocol), latency.
  json student_efficiency(const std::string& dir) override {
    json out = json::array();
    for (const auto& dtype : recipe_.exports) {
      const fs::path file = fs::path(dir) / ("student-" + dtype + ".rpm");
      ExportOptions o;
      o.dtype = runtime::parse_dtype(dtype);
      o.seen_from = &data_;
      try {
        export_model((fs::path(dir) / "best.pt").string(), file.string(), o);
      } catch (const Error& e) {
        out.push_back({{"dtype", dtype}, {"error", e.what()}});
        continue;
      }
      const runtime::Model m = runtime::Model::open(file.string());
      const Evaluator e(data_, *split_, EvalTarget::kTest, Protocol::parse(recipe_.protocol),
                        parse_metrics(recipe_.metrics), static_cast<std::uint64_t>(seed_));
      const EvalResult acc = e.evaluate(RuntimeScorer(m, dtype));
      const auto p = time_queries(latency_users(), 10, [&](std::size_t u) {
        m.recommend(static_cast<std::uint32_t>(u), 10, false);
      });
      out.push_back({{"engine", "runtime"},
                     {"dtype", dtype},
                     {"file", file.string()},
                     {"file_bytes", m.file_bytes()},
                     {"flops_per_item", m.flops_per_item()},
                     {"test", metrics_json(acc)},
                     {"p50_us", p.p50_us},
                     {"p99_us", p.p99_us}});
    }
    return out;
  }

  std::string query_description() const override {
    return "runtime, one thread, full-catalog top-10 for one user";
  }
  std::vector<std::string> report_metrics() const override {
    std::vector<std::string> out = {recipe_.monitor};
    if (recipe_.monitor != "HR@10") out.push_back("HR@10");
    return out;
  }

 private:
  TrainConfig config_of(const RunRequest& r) const {
    const TrainSection& t = *r.section;
    TrainConfig c;
    c.loss = t.loss;
    c.negatives = t.negatives;
    c.batch_size = t.batch_size;
    c.epochs = t.epochs;
    c.optimizer = t.optimizer;
    c.lr = r.lr;
    c.weight_decay = t.weight_decay;
    c.schedule = t.schedule;
    c.patience = t.patience;
    c.protocol = recipe_.protocol;
    c.metrics = recipe_.metrics;
    c.monitor = recipe_.monitor;
    c.seed = static_cast<std::uint64_t>(r.seed);
    c.show_progress = !r.quiet;
    c.validate();
    return c;
  }
  std::size_t latency_users() const {
    return static_cast<std::size_t>(
        std::min<std::int64_t>(recipe_.latency_users, data_.num_users()));
  }
  TopNModelPtr load(const std::string& dir) {
    auto& m = loaded_[dir];
    if (!m) m = load_topn_checkpoint((fs::path(dir) / "best.pt").string(), &data_);
    return m;
  }
  TopNModelPtr teacher_of(const std::vector<std::string>& dirs) {
    if (dirs.size() == 1) return load(dirs.front());
    std::vector<TopNModelPtr> members;
    for (const auto& d : dirs) members.push_back(load(d));
    return EnsembleTeacher(members, std::vector<double>{}).ptr();  // the members' mean
  }

  const Recipe& recipe_;
  const Dataset& data_;
  std::unique_ptr<Split> split_;
  std::int64_t seed_ = 1;
  std::map<std::string, TopNModelPtr> loaded_;
};

}  // namespace

std::unique_ptr<StudyTask> make_topn_study(const Recipe& recipe, const StudyData& data) {
  if (data.interactions == nullptr) throw Error("a top-N study needs its dataset loaded");
  return std::make_unique<TopNStudy>(recipe, *data.interactions);
}

}  // namespace recpress::pipeline
