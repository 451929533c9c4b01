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
  cmd->add_option("model", o.model_path, "the .rpm file")->required();
  cmd->add_option("--host", o.host, "address to listen on (default 127.0.0.1)");
  cmd->add_option("--port", o.port, "port (0: any free port)");
  cmd->add_option("--max-k", o.max_k, "largest k a request may ask for");
  cmd->add_option("--index", o.index,
                  "approximate search (mf/gmf): hnsw[:m=16,ef=64,ef_construction=200]");
  cmd->add_option("--workers", o.workers,
                  "worker threads (each open keep-alive connection holds one; default 64)");
  cmd->callback([&action] { action = [] { return run_serve(o); }; });
}

}  // namespace recpress::cli
