// recpress serve: the shipped student over HTTP (see src/serve/server.h for the endpoints).
//   recpress serve student.rpm --port 8080
// SIGHUP reloads the model file (atomically; a broken file keeps the old model serving);
// SIGINT / SIGTERM stop the server.
#include <iostream>

#include "cli/commands.h"
#include "core/errors.h"
#include "serve/server.h"

namespace recpress::cli {
namespace {

int run_serve(const serve::ServerOptions& options) {
  try {
    serve::serve_until_signalled(options);
  } catch (const std::exception& e) {
    throw Error(e.what());
  }
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, GlobalOptions& global, Action& action) {
  static serve::ServerOptions o;
  auto* cmd = app.add_subcommand("serve", "serve recommendations from a .rpm file over HTTP");
  serve::add_server_options(*cmd, o);
  cmd->callback([&action] { action = [] { return run_serve(o); }; });
}

}  // namespace recpress::cli
