// recpress demo: the main job on the embedded default data. Generate the synthetic dataset (a
// setting with a real gap between a large and a small model: many taste clusters in a 32-dim latent
// space), split it, print its statistics, train a NeuMF teacher, a small MF student alone and the
// same student distilled with DE-RRD, and compare them (accuracy and size) with the popularity
// baseline under the NCF protocol and full ranking. Later issues add the shipped model.
#include <cctype>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/format.h"
#include "data/split.h"
#include "data/stats.h"
#include "data/synthetic.h"
#include "data/transforms.h"
#include "distill/distiller.h"
#include "eval/evaluator.h"
#include "eval/popularity.h"
#include "eval/result.h"
#include "models/topn/scorer.h"
#include "train/trainer.h"

namespace recpress::cli {
namespace {

// The demo's synthetic setting: 32 taste clusters a 4-dim MF cannot separate but NeuMF-32 can.
constexpr const char* kDemoData =
    "synthetic:users=1000,items=600,mean=25,min=10,clusters=32,dim=32,sharpness=4";

struct DemoArgs {
  std::string data = "synthetic";
  std::string output = "results/demo";
};

int run_demo(const DemoArgs& a, const GlobalOptions& g) {
  const auto t0 = std::chrono::steady_clock::now();
  DataArgs data_args;
  data_args.spec = a.data;
  if (a.data == "synthetic") {
    auto c = SyntheticConfig::parse(kDemoData);
    c.seed = g.seed;
    data_args.spec = c.to_string();
  }
  const Dataset data = load_data(data_args, g);
  std::cout << "== data\n" << format_stats(compute_stats(data), data);

  const Split split = make_split(data, SplitConfig::parse("loo", g.seed));
  std::cout << "\n== split: leave-one-out by time (train "
            << with_commas(static_cast<std::int64_t>(split.train.size())) << ", validation "
            << with_commas(static_cast<std::int64_t>(split.valid.size())) << ", test "
            << with_commas(static_cast<std::int64_t>(split.test.size())) << ")\n";

  // A large teacher, a small student trained alone, and the same student distilled from the
  // teacher with DE-RRD (Kang et al., CIKM 2020): the gap distillation closes.
  struct Run {
    std::string name, spec, method;
  };
  const std::vector<Run> runs = {{"teacher", "neumf:dim=32,layers=3", ""},
                                 {"student alone", "mf:dim=4", ""},
                                 {"student + DE-RRD", "mf:dim=4", "derrd"}};
  std::vector<std::pair<std::string, TopNModelPtr>> models;
  for (const auto& run : runs) {
    TrainConfig c;
    c.epochs = 12;
    c.patience = 3;
    c.lr = run.method.empty() && run.name == "teacher" ? 0.002 : 0.005;
    c.seed = g.seed;
    c.show_progress = !g.quiet;
    if (run.spec.rfind("mf", 0) == 0) c.loss = "bpr";
    torch::manual_seed(static_cast<std::uint64_t>(g.seed));
    auto model = create_topn_model(ModelSpec::parse(run.spec), data.num_users(), data.num_items());
    std::cout << "\n== train " << run.name << ": " << run.spec
              << (run.method.empty() ? "" : " distilled with " + run.method) << " ("
              << with_commas(model->parameter_count()) << " parameters, "
              << human_bytes(static_cast<double>(model->byte_size())) << ", loss " << c.loss
              << ")\n"
              << std::flush;
    Trainer trainer(data, split, model, c);
    if (!run.method.empty())
      trainer.distill_from(
          {models.front().second, {{create_distiller(ModelSpec::parse(run.method)), 1.0}}});
    std::string folder = run.name;
    for (auto& ch : folder) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '-';
    trainer.fit(a.output + "/" + folder);
    models.emplace_back(run.name + " " + run.spec, model);
  }

  const PopularityScorer popularity(split.train, data.num_items());
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (const std::string protocol : {"sampled:uniform:99", "full"}) {
    const Evaluator evaluator(data, split, EvalTarget::kTest, Protocol::parse(protocol),
                              parse_metrics("hr@5,10 ndcg@5,10 mrr@10 map@10 recall@20"), g.seed);
    std::vector<EvalResult> rows;
    for (const auto& [spec, model] : models)
      rows.push_back(evaluator.evaluate(TopNScorer(model, spec)));
    rows.push_back(evaluator.evaluate(popularity));
    std::cout << "\n== test, protocol " << protocol << " (" << rows.back().users << " users)\n"
              << results_table(rows);
    const auto ndcg = [&](std::size_t r) { return rows[r].metrics.at("NDCG@10"); };
    const double ratio = static_cast<double>(models[0].second->parameter_count()) /
                         static_cast<double>(models[2].second->parameter_count());
    std::cout << "the distilled student keeps " << fixed(100 * ndcg(2) / ndcg(0), 1)
              << "% of the teacher's NDCG@10 (alone: " << fixed(100 * ndcg(1) / ndcg(0), 1)
              << "%) at 1/" << fixed(ratio, 0) << " of its parameters\n";
    for (const auto& r : rows) results.push_back(nlohmann::ordered_json::parse(result_to_json(r)));
  }
  nlohmann::ordered_json out;
  out["dataset"] = data.name;
  out["source"] = data.source;
  out["data_checksum"] = data.checksum();
  out["split"] = split.config.to_string();
  out["seed"] = g.seed;
  out["results"] = results;
  write_file_atomic(a.output + "/results.json", out.dump(2) + "\n");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "\nwrote " << a.output << "/results.json (" << fixed(seconds, 2) << " s)\n";
  return 0;
}

}  // namespace

void add_demo_command(CLI::App& app, GlobalOptions& global, Action& action) {
  static DemoArgs args;
  auto* cmd = app.add_subcommand("demo", "run the main job on the embedded synthetic data");
  cmd->add_option("--data", args.data, "dataset (default: the synthetic generator)");
  cmd->add_option("-o,--output", args.output, "results folder");
  cmd->callback([&action, &global] { action = [&global] { return run_demo(args, global); }; });
}

}  // namespace recpress::cli
