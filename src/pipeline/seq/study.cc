// Next-item studies: per-user time-ordered sequences, leave-one-out by time (the last item tests,
// the one before validates), evaluation under the recipe's protocols. The teacher is measured in
// LibTorch (all-item scores from one user's history per query); a student is exported to the
// runtime's next-item kind in each of the recipe's dtypes and measured as it ships: its
// headline-protocol metrics from the runtime's scores and the latency of one top-10 query.
#include <filesystem>
#include <map>

#include "core/errors.h"
#include "data/dataset.h"
#include "data/split.h"
#include "distill/seq/distiller.h"
#include "eval/evaluator.h"
#include "eval/runtime_scorer.h"
#include "export/seq_export.h"
#include "models/seq/adarec.h"
#include "pipeline/interaction_study.h"
#include "sys/latency.h"
#include "train/seq_trainer.h"

namespace recpress::pipeline {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

class SeqStudy : public InteractionStudy {
 public:
  using InteractionStudy::InteractionStudy;

  DeclaredSpecs model_declarations() const override { return seq_model_params(); }
  DeclaredSpecs method_declarations() const override { return seq_distiller_params(); }
  json config_json(const RunRequest& r) const override {
    return hashed_config(config_of<SeqTrainConfig>(r));
  }

  std::int64_t parameters_of(const std::string& model) override {
    return create_seq_model(ModelSpec::parse(model), data_.num_items())->parameter_count();
  }

  RunOutcome train(const RunRequest& r, const std::string& dir, bool resume) override {
    torch::manual_seed(static_cast<std::uint64_t>(r.seed));
    auto model = create_seq_model(ModelSpec::parse(r.model), data_.num_items());
    SeqTrainer trainer(data_, *split_, model, config_of<SeqTrainConfig>(r));
    if (!r.teachers.empty()) {
      if (r.teachers.size() > 1) throw Error("next-item distillation takes one teacher");
      trainer.distill_from({load(r.teachers.front()), parse_seq_distillation_terms({r.method})});
    }
    const SeqTrainResult t = trainer.fit(dir, resume ? (fs::path(dir) / "last.pt").string() : "");
    RunOutcome o = outcome_of(t, model->parameter_count(), model->byte_size(), recipe_.monitor);
    o.test[recipe_.protocol] = metrics_json(t.test);
    const auto histories = evaluation_histories(data_, *split_, EvalTarget::kTest);
    for (const auto& p : recipe_.extra_protocols) {
      const Evaluator e = test_evaluator(p);
      o.test[p] = metrics_json(e.evaluate(SeqScorer(model, histories)));
    }
    o.valid_score = monitored(t.best_valid);
    return o;
  }

  std::string derived_model(const std::string& model, const std::string& dir) override {
    if (ModelSpec::parse(model).name != "adarec") return "";
    const auto trained = load_seq_checkpoint((fs::path(dir) / "best.pt").string(), &data_);
    const auto* adarec = dynamic_cast<const AdaRecImpl*>(trained.get());
    return adarec != nullptr && adarec->searching() ? adarec->derived_spec() : "";
  }

  json teacher_efficiency(const std::string& dir) override { return measure(dir); }
  std::string efficiency_variant(bool as_teacher) const override {
    return as_teacher ? "" : "runtime";  // before next-item files existed students were LibTorch's
  }
  json student_efficiency(const std::string& dir) override {
    json out = json::array();
    const auto histories = evaluation_histories(data_, *split_, EvalTarget::kTest);
    for (const auto& dtype : recipe_.exports) {
      const fs::path file = fs::path(dir) / ("student-" + dtype + ".rpm");
      try {
        export_seq_model((fs::path(dir) / "best.pt").string(), file.string(),
                         runtime::parse_dtype(dtype));
      } catch (const Error& e) {
        out.push_back({{"dtype", dtype}, {"error", e.what()}});
        continue;
      }
      const auto m = runtime::NextItemModel::open(file.string());
      const Evaluator e = test_evaluator(recipe_.protocol);
      const EvalResult acc = e.evaluate(NextItemRuntimeScorer(m, histories, dtype));
      std::vector<std::uint32_t> history;
      const auto p = time_queries(latency_users(), 10, [&](std::size_t u) {
        const auto& h = histories[u];
        if (h.empty()) return;
        history.assign(h.begin(), h.end());
        m.next(history, 10, false);
      });
      out.push_back({{"engine", "runtime"},
                     {"dtype", dtype},
                     {"file", file.string()},
                     {"file_bytes", m.file_bytes()},
                     {"test", metrics_json(acc)},
                     {"p50_us", p.p50_us},
                     {"p99_us", p.p99_us}});
    }
    return out;
  }

  std::string query_description() const override {
    return "one thread, one user's history per query: the teacher's all-item scores in LibTorch, "
           "a student's top-10 in the runtime";
  }

 private:
  SeqModelPtr load(const std::string& dir) {
    auto& m = loaded_[dir];
    if (!m) m = load_seq_checkpoint((fs::path(dir) / "best.pt").string(), &data_);
    return m;
  }
  json measure(const std::string& dir) {
    const SeqScorer scorer(load(dir), evaluation_histories(data_, *split_, EvalTarget::kTest));
    std::vector<float> out(static_cast<std::size_t>(data_.num_items()));
    const auto p = time_queries(latency_users(), 10, [&](std::size_t u) {
      const std::int32_t user = static_cast<std::int32_t>(u);
      scorer.score_all({&user, 1}, out);
    });
    return {{"engine", "libtorch"},
            {"dtype", "fp32"},
            {"file_bytes", fs::file_size(fs::path(dir) / "best.pt")},
            {"p50_us", p.p50_us},
            {"p99_us", p.p99_us}};
  }

  std::map<std::string, SeqModelPtr> loaded_;
};

}  // namespace

std::unique_ptr<StudyTask> make_seq_study(const Recipe& recipe, const StudyData& data) {
  if (data.interactions == nullptr) throw Error("a next-item study needs its dataset loaded");
  return std::make_unique<SeqStudy>(recipe, *data.interactions);
}

}  // namespace recpress::pipeline
