// recpress serve: the shipped student over HTTP (see src/serve/server.h for the endpoints).
//   recpress serve student.rpm --port 8080
// SIGHUP reloads the model file (atomically; a broken file keeps the old model serving);
// SIGINT / SIGTERM stop the server.
#include <csignal>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "core/errors.h"
#include "serve/server.h"

namespace recpress::cli {
namespace {

volatile std::sig_atomic_t g_signal = 0;
void on_signal(int sig) {
  g_signal = sig;
}

int run_serve(const serve::ServerOptions& options) {
  std::unique_ptr<serve::RecommendationServer> server;
  try {
    server = std::make_unique<serve::RecommendationServer>(options);
  } catch (const runtime::ModelError& e) {
    throw Error(e.what());
  }
  int port = 0;
  try {
    port = server->bind();
  } catch (const std::exception& e) {
    throw Error(e.what());
  }
  std::signal(SIGHUP, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::thread watcher([&] {
    while (true) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const int sig = g_signal;
      if (sig == 0) continue;
      g_signal = 0;
      if (sig == SIGHUP) {
        try {
          server->reload();
          std::cerr << "reloaded " << options.model_path << "\n";
        } catch (const std::exception& e) {
          std::cerr << "reload failed, still serving the previous model: " << e.what() << "\n";
        }
      } else {
        server->stop();
        return;
      }
    }
  });
  std::cerr << "serving " << options.model_path << " on http://" << options.host << ":" << port
            << " (GET /recommend?user=ID&k=10, POST /recommend, /healthz, /metrics, "
               "POST /reload)\n";
  server->run();
  if (g_signal == 0) g_signal = SIGTERM;  // the server stopped by itself: end the watcher
  watcher.join();
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
  cmd->add_option("--workers", o.workers,
                  "worker threads (each open keep-alive connection holds one; default 64)");
  cmd->callback([&action] { action = [] { return run_serve(o); }; });
}

}  // namespace recpress::cli
