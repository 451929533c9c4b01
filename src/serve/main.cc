// recpress-serve: the HTTP server alone, without LibTorch (a fraction of `recpress serve`'s memory
// and start-up time), for the machine that only serves a shipped student.
//   recpress-serve student.rpm --port 8080
#include <CLI/CLI.hpp>
#include <iostream>

#include "serve/server.h"

int main(int argc, char** argv) {
  CLI::App app{"recpress-serve: recommendations over HTTP from a .rpm file (no LibTorch)"};
  recpress::serve::ServerOptions o;
  app.add_option("model", o.model_path, "the .rpm file")->required();
  app.add_option("--host", o.host, "address to listen on (default 127.0.0.1)");
  app.add_option("--port", o.port, "port (0: any free port)");
  app.add_option("--max-k", o.max_k, "largest k a request may ask for");
  app.add_option("--workers", o.workers, "worker threads (one per open keep-alive connection)");
  app.add_option("--index", o.index,
                 "approximate search (mf/gmf): hnsw[:m=16,ef=64,ef_construction=200]");
  std::size_t probe_users = 0;
  app.add_option("--probe", probe_users,
                 "measure instead of serving: load, answer top-10 for this many users, print JSON "
                 "(load time, query time, peak RSS) and exit");
  CLI11_PARSE(app, argc, argv);
  try {
    if (probe_users > 0) {
      std::cout << recpress::serve::probe(o.model_path, probe_users, 10) << "\n";
      return 0;
    }
    recpress::serve::serve_until_signalled(o);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
