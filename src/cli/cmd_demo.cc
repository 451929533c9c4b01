// recpress demo: the main job on the embedded default data. Runs recipes/demo.yaml (compiled into
// the binary, so the demo works from anywhere): synthetic data with a real gap between a large and
// a small model, a NeuMF teacher, an MF student alone and distilled with DE-RRD, the students
// exported to the runtime (fp32 / fp16 / int8) and timed against the teacher, and the report
// (results/demo/report.html).
#include "cli/commands.h"
#include "demo_recipe.h"  // generated from recipes/demo.yaml: kDemoRecipe

namespace recpress::cli {
namespace {

struct DemoArgs {
  std::string data;  // "": the recipe's synthetic data
  std::string output = "results";
};

int run_demo(const DemoArgs& a, const GlobalOptions& g) {
  pipeline::Recipe recipe = pipeline::Recipe::parse_text(kDemoRecipe, "recipes/demo.yaml");
  if (!a.data.empty()) recipe.data = a.data;
  return run_recipe(recipe, a.output, g);
}

}  // namespace

void add_demo_command(CLI::App& app, GlobalOptions& global, Action& action) {
  static DemoArgs args;
  auto* cmd =
      app.add_subcommand("demo", "run the main job (recipes/demo.yaml) on the embedded data");
  cmd->add_option("--data", args.data, "dataset instead of the recipe's synthetic data");
  cmd->add_option("-o,--output", args.output, "results root (the study goes to ROOT/demo/)");
  cmd->callback([&action, &global] { action = [&global] { return run_demo(args, global); }; });
}

}  // namespace recpress::cli
