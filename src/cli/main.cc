// recpress: train, distill, evaluate and ship recommender models. See README.md.
#include <c10/util/Exception.h>

#include <iostream>

#include "cli/commands.h"
#include "core/errors.h"
#include "sys/doctor.h"
#include "sys/launch.h"
#include "train/loop.h"

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
  auto* seed =
      app.add_option("--seed", global.seed, "random seed for splits, sampling and training");
  app.set_version_flag("--version", [] { return recpress::version_line(); });
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
  } catch (const recpress::Error& e) {  // a declared option's value, checked while parsing
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  global.seed_given = seed->count() > 0;
  try {
    recpress::apply_threads(global.threads);
    recpress::stop_training_on_interrupt();
    return action ? action() : 0;
  } catch (const recpress::TrainingInterrupted& e) {
    std::cerr << "interrupted: " << e.what() << "\n";
    return 130;
  } catch (const recpress::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const c10::Error& e) {
    // LibTorch's message without its C++ backtrace: one line for the user.
    std::string what = e.what_without_backtrace();
    if (const auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    std::cerr << "error: " << what << "\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
}
