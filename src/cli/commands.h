// The `recpress` command line: one file per subcommand, each adding itself to the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "data/prepare.h"
#include "data/registry.h"
#include "pipeline/recipe.h"
#include "train/options.h"

namespace recpress::cli {

struct GlobalOptions {
  int threads = 1;
  std::uint64_t seed = 42;
  bool seed_given = false;  // --seed on the command line (a resume keeps the checkpoint's)
  std::string data_root;
  bool no_cache = false;
  bool quiet = false;
};

using Action = std::function<int()>;

// "\n  name: help" for each entry of a registry, for --help texts.
std::string list_entries(const std::vector<std::pair<std::string, std::string>>& entries);

// Options that say which data to read and how to clean it, shared by several subcommands.
using DataArgs = DataRequest;  // the data options (data/prepare.h)
void add_data_options(CLI::App* cmd, DataArgs& args, bool positional);
nlohmann::json data_args_to_json(const DataArgs& args);
DataArgs data_args_from_json(const nlohmann::json& j);
// For commands that read a checkpoint: when no data option was given on `cmd`, the data the
// checkpoint was trained on (its header's "data_args"), else `args` as given.
DataArgs data_args_for_checkpoint(const DataArgs& args, const std::string& checkpoint,
                                  const CLI::App& cmd);
// Load + clean as the options say; prints lenient-mode and clean-up reports to stderr.
Dataset load_data(const DataArgs& args, const GlobalOptions& global, bool clean = true);

void add_demo_command(CLI::App& app, GlobalOptions& global, Action& action);
void add_doctor_command(CLI::App& app, GlobalOptions& global, Action& action);
void add_data_command(CLI::App& app, GlobalOptions& global, Action& action);
void add_evaluate_command(CLI::App& app, GlobalOptions& global, Action& action);
void add_train_command(CLI::App& app, GlobalOptions& global, Action& action);
void add_export_commands(CLI::App& app, GlobalOptions& global, Action& action);
void add_compare_command(CLI::App& app, GlobalOptions& global, Action& action);
void add_serve_command(CLI::App& app, GlobalOptions& global, Action& action);
void add_run_command(CLI::App& app, GlobalOptions& global, Action& action);
void add_ctr_command(CLI::App& app, GlobalOptions& global, Action& action);
void add_seq_command(CLI::App& app, GlobalOptions& global, Action& action);
// A resumed run's options: the checkpoint's `saved` ones, with those given on `cmd`'s command line
// (from `current`) on top; the training loop refuses any that differ, except epochs and patience.
nlohmann::json resumed_options(const nlohmann::json& saved, const nlohmann::json& current,
                               const CLI::App& cmd, const GlobalOptions& global);
// The checkpoint's model; Error naming `path` when --model/--student asks another one.
std::string resumed_model(const nlohmann::json& header, const std::string& asked,
                          const CLI::App& cmd, const std::string& path);
// One flag per declared training option of `options`' task (train/options.h), or of those named
// in `only`: `--batch-size`, `--lr`, ... with the table's doc and the task's default.
void add_train_option_flags(CLI::App* cmd, TrainOptions& options,
                            const std::vector<std::string>& only = {});
// `--options FILE` (alias `--recipe`): a YAML file of the command's long options.
void add_options_file_flag(CLI::App* cmd, std::string& path);
// Feeds the file's keys to `cmd`'s options as if given on the command line, except those that
// were; DataError naming the file, line and key for an unknown key or a bad value.
void apply_options_file(const std::string& path, const CLI::App& cmd);
// Runs a study as `recpress run` does (the demo runs its compiled-in recipe through this).
nlohmann::ordered_json run_recipe(const pipeline::Recipe& recipe, const std::string& output_root,
                                  const GlobalOptions& g);

}  // namespace recpress::cli
