// `recpress serve`: recommendations over HTTP from a .rpm file, through the LibTorch-free runtime.
//   GET  /recommend?user=ID&k=10[&exclude_seen=1]   one user
//   POST /recommend {"users": ["1", "2"], "k": 10}   a batch
//   GET  /healthz, GET /metrics (Prometheus text: requests, errors, latency histogram)
//   POST /reload (or SIGHUP in `recpress serve`): load the file again and swap atomically; a
//   failed load keeps serving the old model.
// Bad requests get a 4xx with {"error": "..."}; users the model does not know get the most popular
// items (counted from the file's seen-items table), flagged "fallback": "popularity".
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/mips_index.h"
#include "runtime/model.h"

namespace httplib {
class Server;
}

namespace recpress::serve {

struct ServerOptions {
  std::string model_path;
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  std::size_t max_k = 1000;
  std::size_t max_batch = 1000;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t workers = 64;  // threads; each keep-alive connection holds one while open
  std::string index;         // "" = exact search; "hnsw[:...]" = approximate (runtime/mips_index.h)
};

class RecommendationServer {
 public:
  explicit RecommendationServer(ServerOptions options);  // loads the model; throws ModelError
  ~RecommendationServer();
  // Binds the socket; returns the port (useful with port 0). Throws std::runtime_error.
  int bind();
  // Serves until stop(); call after bind().
  void run();
  void stop();
  // Loads the model file again and swaps it in; on failure throws and keeps the old one.
  void reload();

 private:
  struct State {
    runtime::Model model;
    std::vector<std::uint32_t> popular;         // items by how many users have them, most first
    std::unique_ptr<runtime::MipsIndex> index;  // over `model`; null for exact search
  };
  static std::shared_ptr<const State> load(const std::string& path, const std::string& index);
  std::shared_ptr<const State> state() const;
  void routes();
  void observe(double microseconds, bool error);

  ServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  mutable std::mutex state_mutex_;
  std::shared_ptr<const State> state_;
  // Metrics.
  std::atomic<std::uint64_t> requests_{0}, errors_{0}, reloads_{0};
  static constexpr int kBuckets = 12;  // latency upper bounds 10us * 2^b
  std::atomic<std::uint64_t> latency_[kBuckets + 1] = {};
  std::atomic<double> latency_sum_us_{0};
};

// Load, bind, print where it listens, and serve until SIGINT/SIGTERM; SIGHUP reloads the model
// (a failed reload keeps the old one). Throws ModelError / std::runtime_error on start-up
// failures. Used by `recpress serve` and by the LibTorch-free `recpress-serve` binary.
void serve_until_signalled(const ServerOptions& options);

// What one process costs to serve `path`: the model's load time, the mean time of a full-catalog
// top-k query over users 0..n-1, and the process's peak resident memory (everything it mapped and
// touched). JSON: {"load_ms", "queries", "query_us", "peak_rss_kib"}. `recpress compare` runs it
// in a fresh `recpress-serve --probe` process.
std::string probe(const std::string& path, std::size_t users, std::size_t k);
// The same measurement for any engine (`recpress probe` times a LibTorch teacher with it): `load`
// loads the model and returns its number of users, `query` answers one user.
std::string probe(const std::function<std::size_t()>& load,
                  const std::function<void(std::uint32_t)>& query, std::size_t users);

}  // namespace recpress::serve
