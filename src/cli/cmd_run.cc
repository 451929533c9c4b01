// recpress run RECIPE: a whole study from one YAML file (src/pipeline/recipe.h lists the keys;
// `recpress run --reference` prints them, docs/recipes.md is that output).
//   recpress run recipes/demo.yaml            -> results/demo/{results.json,report.md,report.html}
#include <algorithm>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "core/errors.h"
#include "pipeline/catalogue.h"
#include "pipeline/recipe.h"
#include "pipeline/runner.h"

namespace recpress::cli {
namespace {

struct RunArgs {
  std::string recipe;
  std::string output = "results";
  bool reference = false;
  bool catalogue = false;
  std::vector<std::int64_t> seeds;  // a subset of the recipe's
};

// The recipe with only `seeds` (each one of its own): a first pass over a long study, whose runs
// the full study later reuses (run folders are named by their inputs).
pipeline::Recipe with_seeds(pipeline::Recipe r, const std::vector<std::int64_t>& seeds) {
  if (seeds.empty()) return r;
  for (const auto s : seeds)
    if (std::find(r.seeds.begin(), r.seeds.end(), s) == r.seeds.end())
      throw Error("run --seeds: " + std::to_string(s) + " is not one of the recipe's seeds");
  r.seeds = seeds;
  return r;
}

}  // namespace

nlohmann::ordered_json run_recipe(const pipeline::Recipe& recipe, const std::string& output,
                                  const GlobalOptions& g) {
  std::cout << "== study " << recipe.name << " (" << recipe.task
            << (recipe.path.empty() ? "" : ", " + recipe.path) << ")\n"
            << std::flush;
  pipeline::RecipeRunOptions options;
  options.output_root = output;
  options.data_root = g.data_root;
  options.use_cache = !g.no_cache;
  options.quiet = g.quiet;
  const auto results = pipeline::run_recipe(recipe, options);
  const std::string folder = output + "/" + recipe.name;
  std::cout << "\n== results (" << (recipe.task == "ctr" ? "every test row" : recipe.protocol)
            << ", test)\n"
            << pipeline::summary_table(results) << "\nwrote " << folder
            << "/{results.json,report.md,report.html,plots/} in "
            << static_cast<int>(results["seconds"].get<double>()) << " s\n";
  return results;
}

void add_run_command(CLI::App& app, GlobalOptions& global, Action& action) {
  static RunArgs a;
  auto* cmd = app.add_subcommand(
      "run", "run a study from a recipe: teacher, students x methods, exports, report");
  cmd->add_option("recipe", a.recipe, "the recipe (YAML)");
  cmd->add_option("-o,--output", a.output, "results root (the study goes to ROOT/<name>/)");
  cmd->add_flag("--reference", a.reference, "print the recipe reference (Markdown) and exit");
  cmd->add_option("--seeds", a.seeds,
                  "run only these of the recipe's seeds (the full study later reuses their runs)")
      ->delimiter(',');
  cmd->add_flag("--catalogue", a.catalogue,
                "print the catalogue of models and methods (Markdown) and exit");
  cmd->callback([&action, &global] {
    action = [&global] {
      if (a.catalogue) {
        std::cout << pipeline::catalogue_reference();
        return 0;
      }
      if (a.reference) {
        std::cout << pipeline::recipe_reference();
        return 0;
      }
      if (a.recipe.empty()) throw Error("run: give a recipe file (or --reference)");
      run_recipe(with_seeds(pipeline::Recipe::parse_file(a.recipe), a.seeds), a.output, global);
      return 0;
    };
  });
}

}  // namespace recpress::cli
