// Next-item studies: per-user time-ordered sequences, leave-one-out by time (the last item tests,
// the one before validates), evaluation under the recipe's protocols. Next-item students have no
// runtime kind yet (the every-student-ships issue), so teacher and students are measured in
// LibTorch: all-item scores from one user's history per query.
#include <filesystem>
#include <map>

#include "core/errors.h"
#include "data/dataset.h"
#include "data/split.h"
#include "distill/seq/distiller.h"
#include "eval/evaluator.h"
#include "pipeline/study_task.h"
#include "sys/latency.h"
#include "train/seq_trainer.h"

namespace recpress::pipeline {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

json metrics_json(const EvalResult& e) {
  json m = json::object();
  for (const auto& [k, v] : e.metrics) m[k] = v;
  return m;
}

class SeqStudy : public StudyTask {
 public:
  SeqStudy(const Recipe& recipe, const Dataset& data) : recipe_(recipe), data_(data) {}

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
  }
  std::string split_key() const override { return split_->config.to_string(); }

  json config_json(const RunRequest& r) const override {
    json j = config_of(r).to_json();
    j.erase("show_progress");
    return j;
  }

  RunOutcome train(const RunRequest& r, const std::string& dir, bool resume) override {
    torch::manual_seed(static_cast<std::uint64_t>(r.seed));
    auto model = create_seq_model(ModelSpec::parse(r.model), data_.num_items());
    SeqTrainer trainer(data_, *split_, model, config_of(r));
    if (!r.teachers.empty()) {
      if (r.teachers.size() > 1) throw Error("next-item distillation takes one teacher");
      trainer.distill_from({load(r.teachers.front()), parse_seq_distillation_terms({r.method})});
    }
    const SeqTrainResult t = trainer.fit(dir, resume ? (fs::path(dir) / "last.pt").string() : "");
    RunOutcome o;
    o.test[recipe_.protocol] = metrics_json(t.test);
    const auto histories = evaluation_histories(data_, *split_, EvalTarget::kTest);
    for (const auto& p : recipe_.extra_protocols) {
      const Evaluator e(data_, *split_, EvalTarget::kTest, Protocol::parse(p),
                        parse_metrics(recipe_.metrics), static_cast<std::uint64_t>(r.seed));
      o.test[p] = metrics_json(e.evaluate(SeqScorer(model, histories)));
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

  json teacher_efficiency(const std::string& dir) override { return measure(dir); }
  json student_efficiency(const std::string& dir) override { return json::array({measure(dir)}); }

  std::string query_description() const override {
    return "LibTorch, one thread: all-item scores from one user's history";
  }
  std::vector<std::string> report_metrics() const override {
    std::vector<std::string> out = {recipe_.monitor};
    if (recipe_.monitor != "HR@10") out.push_back("HR@10");
    return out;
  }

 private:
  SeqTrainConfig config_of(const RunRequest& r) const {
    const TrainSection& t = *r.section;
    SeqTrainConfig c;
    c.batch_size = t.batch_size;
    c.epochs = t.epochs;
    c.optimizer = t.optimizer;
    c.lr = r.lr;
    c.weight_decay = t.weight_decay;
    c.schedule = t.schedule;
    c.patience = t.patience;
    c.monitor = recipe_.monitor;
    c.protocol = recipe_.protocol;
    c.metrics = recipe_.metrics;
    c.seed = static_cast<std::uint64_t>(r.seed);
    c.show_progress = !r.quiet;
    c.validate();
    return c;
  }
  SeqModelPtr load(const std::string& dir) {
    auto& m = loaded_[dir];
    if (!m) m = load_seq_checkpoint((fs::path(dir) / "best.pt").string(), &data_);
    return m;
  }
  json measure(const std::string& dir) {
    const SeqScorer scorer(load(dir), evaluation_histories(data_, *split_, EvalTarget::kTest));
    std::vector<float> out(static_cast<std::size_t>(data_.num_items()));
    const auto users =
        static_cast<std::size_t>(std::min<std::int64_t>(recipe_.latency_users, data_.num_users()));
    const auto p = time_queries(users, 10, [&](std::size_t u) {
      const std::int32_t user = static_cast<std::int32_t>(u);
      scorer.score_all({&user, 1}, out);
    });
    return {{"engine", "libtorch"},
            {"dtype", "fp32"},
            {"file_bytes", fs::file_size(fs::path(dir) / "best.pt")},
            {"p50_us", p.p50_us},
            {"p99_us", p.p99_us}};
  }

  const Recipe& recipe_;
  const Dataset& data_;
  std::unique_ptr<Split> split_;
  std::map<std::string, SeqModelPtr> loaded_;
};

}  // namespace

std::unique_ptr<StudyTask> make_seq_study(const Recipe& recipe, const StudyData& data) {
  if (data.interactions == nullptr) throw Error("a next-item study needs its dataset loaded");
  return std::make_unique<SeqStudy>(recipe, *data.interactions);
}

}  // namespace recpress::pipeline
