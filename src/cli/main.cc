// recpress: train, distill, evaluate and ship recommender models. See README.md.
#include <iostream>

#include "cli/commands.h"
#include "core/errors.h"
#include "sys/launch.h"

int main(int argc, char** argv) {
  const int threads = recpress::requested_threads(argc, argv);
  recpress::prepare_environment(argc, argv, threads);
  recpress::reuse_freed_memory();

  CLI::App app{"RecPress: knowledge distillation for recommender systems"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  recpress::cli::GlobalOptions global;
  app.add_option("--threads", global.threads, "compute threads (default 1; >1 waits passively)")
      ->check(CLI::Range(1, 256));
  app.add_option("--seed", global.seed, "random seed for splits, sampling and training");
  app.add_option("--data-root", global.data_root,
                 "folder holding named datasets (default $RECPRESS_DATA or ../shared/data)");
  app.add_flag("--no-cache", global.no_cache, "parse data files even if a binary cache exists");
  app.add_flag("-q,--quiet", global.quiet, "less output");

  recpress::cli::Action action;
  recpress::cli::add_demo_command(app, global, action);
  recpress::cli::add_doctor_command(app, global, action);
  recpress::cli::add_data_command(app, global, action);
  recpress::cli::add_evaluate_command(app, global, action);
  recpress::cli::add_train_command(app, global, action);
  recpress::cli::add_export_commands(app, global, action);
  recpress::cli::add_compare_command(app, global, action);
  recpress::cli::add_serve_command(app, global, action);
  recpress::cli::add_run_command(app, global, action);
  recpress::cli::add_ctr_command(app, global, action);
  recpress::cli::add_seq_command(app, global, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    recpress::apply_threads(global.threads);
    return action ? action() : 0;
  } catch (const recpress::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
}
