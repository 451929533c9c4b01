// recpress doctor: LibTorch version, the BLAS in use and its measured speed, threads, CPU.
#include <iostream>

#include "cli/commands.h"
#include "sys/doctor.h"

namespace recpress::cli {

void add_doctor_command(CLI::App& app, GlobalOptions& global, Action& action) {
  auto* cmd =
      app.add_subcommand("doctor", "check the numeric stack: LibTorch, BLAS speed, threads, CPU");
  cmd->callback([&action] {
    action = [] {
      const auto report = run_doctor();
      std::cout << format_doctor(report);
      return 0;
    };
  });
}

}  // namespace recpress::cli
