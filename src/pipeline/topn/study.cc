// Top-N studies: (user, item) interactions, a split per seed, evaluation under the recipe's
// protocols, students exported to the runtime (.rpm, per dtype) and timed there against the
// teacher in LibTorch (full-catalog top-10 for one user).
#include <algorithm>
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
#include "pipeline/interaction_study.h"
#include "runtime/model.h"
#include "runtime/topk.h"
#include "sys/latency.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace recpress::pipeline {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

class TopNStudy : public InteractionStudy {
 public:
  using InteractionStudy::InteractionStudy;

  DeclaredSpecs model_declarations() const override { return topn_model_params(); }
  DeclaredSpecs method_declarations() const override { return distiller_params(); }
  json config_json(const RunRequest& r) const override {
    return hashed_config(config_of<TrainConfig>(r));
  }

  RunOutcome train(const RunRequest& r, const std::string& dir, bool resume) override {
    const TrainConfig config = config_of<TrainConfig>(r);
    torch::manual_seed(static_cast<std::uint64_t>(r.seed));
    auto model = create_topn_model(ModelSpec::parse(r.model), data_.num_users(), data_.num_items());
    Trainer trainer(data_, *split_, model, config);
    TopNModelPtr trained_teacher;  // a method that trains the teacher too (bd) gets its own copy
    if (!r.teachers.empty()) {
      auto terms = parse_distillation_terms({r.method});
      const bool trains_teacher = std::any_of(
          terms.begin(), terms.end(), [](const auto& t) { return t.first->trains_teacher(); });
      if (trains_teacher) {
        if (r.teachers.size() != 1)
          throw Error("method '" + r.method + "' trains its teacher: give it one teacher");
        trained_teacher =
            load_topn_checkpoint((fs::path(r.teachers.front()) / "best.pt").string(), &data_);
      }
      trainer.distill_from(
          {trained_teacher ? trained_teacher : teacher_of(r.teachers), std::move(terms), false});
    }
    const TrainResult t = trainer.fit(dir, resume ? (fs::path(dir) / "last.pt").string() : "");
    RunOutcome o = outcome_of(t, model->parameter_count(), model->byte_size(), recipe_.monitor);
    o.test[recipe_.protocol] = metrics_json(t.test);
    for (const auto& p : recipe_.extra_protocols) {
      const Evaluator e = test_evaluator(p);
      o.test[p] = metrics_json(e.evaluate(TopNScorer(model)));
    }
    if (trained_teacher) {  // the teacher after training beside the student: "teacher NDCG@10"
      trained_teacher->eval();
      std::vector<std::string> protocols;
      for (const auto& p : o.test.items()) protocols.push_back(p.key());
      for (const auto& p : protocols) {
        const Evaluator e = test_evaluator(p);
        for (const auto& [name, value] : e.evaluate(TopNScorer(trained_teacher)).metrics)
          o.test[p]["teacher " + name] = value;
      }
    }
    o.valid_score = monitored(t.best_valid);
    return o;
  }

  std::int64_t parameters_of(const std::string& model) override {
    return create_topn_model(ModelSpec::parse(model), data_.num_users(), data_.num_items())
        ->parameter_count();
  }

  json teacher_efficiency(const std::string& dir) override {
    const auto best = (fs::path(dir) / "best.pt").string();
    const auto model = load(dir);
    model->eval();  // as served: a graph model propagates once, not per query
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
      const Evaluator e = test_evaluator(recipe_.protocol);
      const EvalResult acc = e.evaluate(RuntimeScorer(m, dtype));
      const auto p = time_queries(latency_users(), 10, [&](std::size_t u) {
        m.recommend(static_cast<std::uint32_t>(u), 10, false);
      });
      out.push_back({{"engine", "runtime"},
                     {"dtype", dtype},
                     {"file", file.string()},
                     {"file_bytes", m.file_bytes()},
                     {"seen_bytes", m.seen_bytes()},
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

 private:
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

  std::map<std::string, TopNModelPtr> loaded_;
};

}  // namespace

std::unique_ptr<StudyTask> make_topn_study(const Recipe& recipe, const StudyData& data) {
  if (data.interactions == nullptr) throw Error("a top-N study needs its dataset loaded");
  return std::make_unique<TopNStudy>(recipe, *data.interactions);
}

}  // namespace recpress::pipeline
