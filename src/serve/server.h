// `recpress serve`: a .rpm file over HTTP, through the LibTorch-free runtime.
//   top-N files:
//   GET  /recommend?user=ID&k=10[&exclude_seen=1]   one user
//   POST /recommend {"users": ["1", "2"], "k": 10}   a batch
//   CTR files:
//   POST /predict {"rows": [{"user": "42", "genres": ["Comedy"], "year": 1995}, ...]}
//        -> {"probabilities": [...], "oov": [[fields with unseen values], ...]}
//   next-item files:
//   GET  /next?history=12,7,99&k=10[&exclude_history=1]
//   POST /next {"history": ["12", 7, "99"], "k": 10, "exclude_history": true}
//        -> {"items": [{"item": "1193", "score": 4.2}, ...], "unknown": [ids skipped]}
//   GET  /healthz, GET /metrics (Prometheus text: requests, errors, reloads, latency histogram)
//   POST /reload (or SIGHUP): read the file again and swap atomically; a failed load keeps serving
//   the old model. Over HTTP it needs the reload token when one is set, and is off when the server
//   listens beyond loopback without one.
// Bad requests get a 4xx with {"error": "..."}; users the model does not know get the most popular
// items (counted from the file's seen-items table), flagged "fallback": "popularity".
// The model file is read into memory at load and never touched again, so rewriting it in place
// cannot hurt a running server; the safe deploy is still write + rename + reload (docs/http.md).
#pragma once

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "runtime/ctr_model.h"
#include "runtime/mips_index.h"
#include "runtime/model.h"
#include "runtime/next_item_model.h"

namespace httplib {
class Server;
}
namespace CLI {
class App;
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
  std::string reload_token;  // required by POST /reload when set (Authorization: Bearer ...)
  std::string reload_token_file;  // the same, read from a file (kept out of `ps`)
  std::string access_log;         // "" = none, "-" = standard error, else a file appended to

  // Throws std::invalid_argument naming the option for a value no server can use.
  void validate() const;
};

// The command-line flags of both servers (`recpress serve`, `recpress-serve`), declared once.
void add_server_options(CLI::App& app, ServerOptions& options);

// True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost).
bool is_loopback(const std::string& host);

class RecommendationServer {
 public:
  // Validates the options, loads the model; throws std::invalid_argument / ModelError.
  // `log` receives one line per reload and the access log when it is "-".
  explicit RecommendationServer(ServerOptions options, std::ostream& log = std::cerr);
  ~RecommendationServer();
  // Binds the socket; returns the port (useful with port 0). Throws std::runtime_error.
  int bind();
  // Serves until stop(); call after bind().
  void run();
  void stop();
  // Reads the model file again and swaps it in; on failure throws and keeps the old one. Either
  // way one line naming `source` ("SIGHUP", "HTTP from 10.0.0.7") and the outcome is logged.
  void reload(const std::string& source);
  // Whether POST /reload is accepted at all (a token is set, or the server is loopback-only).
  bool http_reload_enabled() const { return !token_.empty() || is_loopback(options_.host); }
  // The task of the file being served: "topn" (/recommend), "ctr" (/predict), "seq" (/next).
  std::string task() const { return task_of(*state()); }

 private:
  struct State {
    std::optional<runtime::CtrModel> ctr;        // a CTR file, or
    std::optional<runtime::NextItemModel> next;  // a next-item file; else `model` (top-N)
    runtime::Model model;
    std::vector<std::uint32_t> popular;         // items by how many users have them, most first
    std::unique_ptr<runtime::MipsIndex> index;  // over `model`; null for exact search
  };
  static std::shared_ptr<const State> load(const std::string& path, const std::string& index);
  std::shared_ptr<const State> state() const;
  static std::string describe(const State& s);  // for the reload log line
  static std::string task_of(const State& s);
  // A 404 naming the endpoints of the file served unless it is of `task`.
  static void require_task(const State& s, const std::string& task);
  nlohmann::json next_items(const runtime::NextItemModel& model,
                            const std::vector<std::string>& history, long long k,
                            bool exclude_history) const;
  nlohmann::json predict(const runtime::CtrModel& model, const std::string& body) const;
  void routes();
  void observe(double microseconds, bool error);
  void log_line(const std::string& line);
  std::string metrics_text() const;

  ServerOptions options_;
  std::string token_;
  std::ostream& log_;
  std::ofstream access_file_;
  std::ostream* access_ = nullptr;  // null: no access log
  std::mutex log_mutex_;
  std::unique_ptr<httplib::Server> http_;
  int listen_fd_ = -1;
  std::atomic<bool> running_{false}, finished_{false}, stop_requested_{false};
  mutable std::mutex state_mutex_;
  std::shared_ptr<const State> state_;
  // Metrics.
  std::atomic<std::uint64_t> requests_{0}, errors_{0}, reloads_{0}, reload_failures_{0};
  static constexpr int kBuckets = 12;  // latency upper bounds 10us * 2^b
  std::atomic<std::uint64_t> latency_[kBuckets + 1] = {};
  std::atomic<double> latency_sum_us_{0};
};

// Load, bind, print where it listens, and serve until SIGINT/SIGTERM; SIGHUP reloads the model
// (a failed reload keeps the old one). Throws std::invalid_argument / ModelError /
// std::runtime_error on start-up failures. Used by `recpress serve` and by the LibTorch-free
// `recpress-serve` binary.
void serve_until_signalled(const ServerOptions& options);

// What one process costs to serve `path`: the model's load time, the mean time of a query over
// n queries (top-N: a full-catalog top-k for users 0..n-1; CTR: one row, every field missing;
// next item: the top-k after a max_len-item history), and the process's peak resident memory
// (everything it mapped and touched). JSON: {"load_ms", "queries", "query_us", "peak_rss_kib"}.
// `recpress compare` runs it in a fresh `recpress-serve --probe` process.
std::string probe(const std::string& path, std::size_t users, std::size_t k);
// The same measurement for any engine (`recpress probe` times a LibTorch teacher with it): `load`
// loads the model and returns its number of users, `query` answers one user.
std::string probe(const std::function<std::size_t()>& load,
                  const std::function<void(std::uint32_t)>& query, std::size_t users);

}  // namespace recpress::serve
