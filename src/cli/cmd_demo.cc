// recpress demo: the main job on the embedded default data, for the three tasks. Runs the
// compiled-in recipes/demo.yaml (top-N: a NeuMF teacher, an MF student alone and distilled with KD
// and DE-RRD, exported to the runtime in fp32 / fp16 / int8 and timed against the teacher),
// recipes/demo-ctr.yaml (CTR: DeepFM -> FM and LR students) and recipes/demo-seq.yaml (next item:
// SASRec -> a small SASRec), each into results/<name>/, then one report over the three
// (results/demo/report.html).
#include <iostream>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "demo_recipe.h"  // generated from recipes/demo*.yaml: kDemoRecipe, kDemoCtrRecipe, ...
#include "pipeline/report.h"

namespace recpress::cli {
namespace {

struct DemoArgs {
  std::string data;  // "": the recipes' synthetic data
  std::string output = "results";
};

int run_demo(const DemoArgs& a, const GlobalOptions& g) {
  const std::pair<const char*, const char*> recipes[] = {{kDemoRecipe, "recipes/demo.yaml"},
                                                         {kDemoCtrRecipe, "recipes/demo-ctr.yaml"},
                                                         {kDemoSeqRecipe, "recipes/demo-seq.yaml"}};
  const std::string folder = a.output + "/demo";
  prepare_output_dir(folder);
  nlohmann::ordered_json all = {{"studies", nlohmann::ordered_json::array()}};
  std::vector<std::pair<nlohmann::ordered_json, std::string>> studies;
  for (const auto& [text, path] : recipes) {
    pipeline::Recipe recipe = pipeline::Recipe::parse_text(text, path);
    if (!a.data.empty()) recipe.data = a.data;
    auto results = run_recipe(recipe, a.output, g);
    std::cout << "\n";
    all["studies"].push_back(results);
    studies.emplace_back(std::move(results), a.output + "/" + recipe.name);
  }
  write_file_atomic(folder + "/results.json", all.dump(2) + "\n");
  pipeline::write_combined_report(
      "RecPress demo: teacher -> student for top-N, CTR and next-item",
      "Each task on embedded synthetic data: a large teacher, small students alone and distilled, "
      "what they keep and what they save. The three studies are in results/demo-topn, "
      "results/demo-ctr and results/demo-seq (their recipes: recipes/demo*.yaml).",
      studies, folder);
  std::cout << "wrote " << folder << "/{results.json,report.md,report.html}\n";
  return 0;
}

}  // namespace

void add_demo_command(CLI::App& app, GlobalOptions& global, Action& action) {
  static DemoArgs args;
  auto* cmd = app.add_subcommand(
      "demo", "run the main job on the embedded data: top-N, CTR and next-item distillation");
  cmd->add_option("--data", args.data, "dataset instead of the recipes' synthetic data");
  cmd->add_option("-o,--output", args.output,
                  "results root (studies go to ROOT/demo-*/, the report to ROOT/demo/)");
  cmd->callback([&action, &global] { action = [&global] { return run_demo(args, global); }; });
}

}  // namespace recpress::cli
