// The experiment runner: a recipe in, `results/<name>/` out, for any task (topn, ctr, seq; the
// task-specific parts are in pipeline/study_task.h). For every seed it trains the teacher and the
// baselines, then every student of the grid (model x dim x method, and the ensemble's methods),
// evaluates each under the recipe's protocols, measures the students as they ship against the
// teacher, and writes results.json (every number with protocol, split, seed, data checksum, git
// commit and library versions) plus the report (report.md, report.html, plots).
//
// Finished runs are cached by a hash of their inputs (data checksum, split, seed, model, training
// configuration, method and the teacher's own hash): re-running a recipe after adding one method
// trains only that method. A run interrupted mid-training resumes from its last.pt.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "data/dataset.h"
#include "pipeline/recipe.h"
#include "pipeline/study_task.h"

namespace recpress::pipeline {

struct RunOptions {
  std::string output_root = "results";  // results/<recipe name>/
  bool quiet = false;                   // no per-epoch progress bars
};

// Runs the study and returns results.json's content. Throws Error on bad inputs (unknown model or
// method, protocol, ...) before training anything.
nlohmann::ordered_json run_study(const Recipe& recipe, const StudyData& data,
                                 const RunOptions& options);
// A top-N or next-item study on a loaded dataset.
nlohmann::ordered_json run_study(const Recipe& recipe, const Dataset& data,
                                 const RunOptions& options);

// What `recpress run` and the Python API's run() do: open the recipe's data (top-N, next-item;
// CTR opens its own table) with the data root and cache given, then run the study.
struct RecipeRunOptions {
  std::string output_root = "results";
  std::string data_root;  // "": the default (data/registry.h)
  bool use_cache = true;
  bool quiet = false;
};
nlohmann::ordered_json run_recipe(const Recipe& recipe, const RecipeRunOptions& options);

// The comparison table printed at the end of a study (and by `recpress demo`).
std::string summary_table(const nlohmann::ordered_json& results);

}  // namespace recpress::pipeline
