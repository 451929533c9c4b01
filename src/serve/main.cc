// recpress-serve: the HTTP server alone, without LibTorch (a fraction of `recpress serve`'s memory
// and start-up time), for the machine that only serves a shipped student.
//   recpress-serve student.rpm --port 8080
#include <CLI/CLI.hpp>
#include <iostream>

#include "serve/server.h"

int main(int argc, char** argv) {
  CLI::App app{"recpress-serve: recommendations over HTTP from a .rpm file (no LibTorch)"};
  recpress::serve::ServerOptions o;
  recpress::serve::add_server_options(app, o);
  std::size_t probe_users = 0;
  auto* probe = app.add_option(
      "--probe", probe_users,
      "measure instead of serving: load, answer this many queries (top-10 per user; CTR: one "
      "row; next item: a history), print JSON (load time, query time, peak RSS) and exit");
  CLI11_PARSE(app, argc, argv);
  try {
    if (probe->count() > 0) {
      if (probe_users == 0) throw std::invalid_argument("--probe: needs at least 1 user");
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
