#include "serve/server.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include <sys/resource.h>

namespace recpress::serve {
namespace {

using nlohmann::json;

void reply_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", message}}.dump(), "application/json");
}

// A 4xx for the client, carried out of a handler.
struct BadRequest {
  int status;
  std::string message;
};

}  // namespace

RecommendationServer::RecommendationServer(ServerOptions options)
    : options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {
  state_ = load(options_.model_path, options_.index);
  routes();
}

RecommendationServer::~RecommendationServer() = default;

std::shared_ptr<const RecommendationServer::State> RecommendationServer::load(
    const std::string& path, const std::string& index) {
  auto s = std::make_shared<State>();
  s->model = runtime::Model::open(path);
  // Built over the model inside this (never moved) State; rebuilt on every reload.
  if (!index.empty())
    s->index = std::make_unique<runtime::MipsIndex>(s->model, runtime::MipsOptions::parse(index));
  if (s->model.has_seen()) {
    // The cold-start fallback: items by how many users have them (ties: lower index first).
    const auto counts = s->model.item_popularity();
    s->popular.resize(s->model.num_items());
    for (std::uint32_t i = 0; i < s->model.num_items(); ++i) s->popular[i] = i;
    std::stable_sort(s->popular.begin(), s->popular.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return counts[a] > counts[b]; });
  }
  return s;
}

std::shared_ptr<const RecommendationServer::State> RecommendationServer::state() const {
  std::lock_guard lock(state_mutex_);
  return state_;
}

void RecommendationServer::reload() {
  auto fresh = load(options_.model_path, options_.index);  // throws: the old model stays
  std::lock_guard lock(state_mutex_);
  state_ = std::move(fresh);
  ++reloads_;
}

void RecommendationServer::observe(double us, bool error) {
  ++requests_;
  if (error) ++errors_;
  int b = 0;
  for (double bound = 10; b < kBuckets && us > bound; bound *= 2) ++b;
  ++latency_[b];
  latency_sum_us_.fetch_add(us);
}

void RecommendationServer::routes() {
  http_->set_payload_max_length(options_.max_body_bytes);
  // Small JSON replies on keep-alive connections: without TCP_NODELAY, Nagle's algorithm and the
  // client's delayed ACK hold each reply ~40 ms (measured: 297 req/s, p50 44 ms).
  http_->set_tcp_nodelay(true);
  // One worker per connection: a keep-alive connection occupies its worker between requests,
  // so the pool must cover the expected concurrent connections.
  const std::size_t workers = options_.workers;
  http_->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };

  // One user's recommendations as JSON, from a consistent snapshot of the model.
  auto recommend_one = [this](const State& s, const std::string& user, std::size_t k,
                              bool exclude_seen) {
    json out = {{"user", user}};
    json items = json::array();
    const auto u = s.model.user_index(user);
    if (u) {
      if (exclude_seen && !s.model.has_seen())
        throw BadRequest{400, "exclude_seen: this model file has no seen-items table"};
      for (const auto& [i, score] : s.index ? s.index->recommend(*u, k, exclude_seen)
                                            : s.model.recommend(*u, k, exclude_seen))
        items.push_back({{"item", s.model.item_id(i)}, {"score", score}});
      out["fallback"] = nullptr;
    } else {
      if (s.popular.empty())
        throw BadRequest{
            404, "unknown user '" + user + "' and no popularity fallback in this model file"};
      for (std::size_t r = 0; r < std::min(k, s.popular.size()); ++r)
        items.push_back({{"item", s.model.item_id(s.popular[r])}, {"score", nullptr}});
      out["fallback"] = "popularity";
    }
    out["items"] = std::move(items);
    return out;
  };
  auto parse_k = [this](const std::string& text, const State& s) {
    std::size_t k = 0;
    try {
      std::size_t used = 0;
      const long v = std::stol(text, &used);
      if (used != text.size() || v < 1) throw BadRequest{400, ""};
      k = static_cast<std::size_t>(v);
    } catch (...) {
      throw BadRequest{400, "k must be a positive integer, got '" + text + "'"};
    }
    const std::size_t limit = std::min<std::size_t>(options_.max_k, s.model.num_items());
    if (k > limit) throw BadRequest{400, "k must be at most " + std::to_string(limit)};
    return k;
  };
  // Wrap a handler: timing, metrics, and 4xx for BadRequest; 500 for anything else.
  auto handler = [this](auto body) {
    return [this, body](const httplib::Request& req, httplib::Response& res) {
      const auto t0 = std::chrono::steady_clock::now();
      bool error = false;
      try {
        body(req, res);
      } catch (const BadRequest& e) {
        reply_error(res, e.status, e.message);
        error = true;
      } catch (const std::exception& e) {
        reply_error(res, 500, e.what());
        error = true;
      }
      observe(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count(),
          error);
    };
  };

  http_->Get("/healthz", handler([this](const httplib::Request&, httplib::Response& res) {
               const auto s = state();
               res.set_content(json{{"status", "ok"},
                                    {"model", s->model.source_model()},
                                    {"dtype", runtime::dtype_name(s->model.dtype())},
                                    {"users", s->model.num_users()},
                                    {"items", s->model.num_items()}}
                                   .dump(),
                               "application/json");
             }));
  http_->Get("/recommend", handler([=, this](const httplib::Request& req, httplib::Response& res) {
               const auto s = state();
               if (!req.has_param("user")) throw BadRequest{400, "missing parameter 'user'"};
               const std::size_t k =
                   req.has_param("k") ? parse_k(req.get_param_value("k"), *s) : 10;
               const bool exclude =
                   req.has_param("exclude_seen") && req.get_param_value("exclude_seen") != "0";
               res.set_content(recommend_one(*s, req.get_param_value("user"), k, exclude).dump(),
                               "application/json");
             }));
  http_->Post("/recommend", handler([=, this](const httplib::Request& req, httplib::Response& res) {
                const auto s = state();
                json body;
                try {
                  body = json::parse(req.body);
                } catch (const json::exception& e) {
                  throw BadRequest{400, std::string("malformed JSON: ") + e.what()};
                }
                if (!body.is_object() || !body.contains("users") || !body["users"].is_array())
                  throw BadRequest{400, "expected {\"users\": [...], \"k\": N}"};
                if (body["users"].size() > options_.max_batch)
                  throw BadRequest{
                      413, "at most " + std::to_string(options_.max_batch) + " users per request"};
                std::size_t k = 10;
                if (body.contains("k")) {
                  if (!body["k"].is_number_integer()) throw BadRequest{400, "k must be an integer"};
                  k = parse_k(std::to_string(body["k"].get<long long>()), *s);
                }
                const bool exclude = body.value("exclude_seen", false);
                json results = json::array();
                for (const auto& u : body["users"]) {
                  if (!u.is_string() && !u.is_number_integer())
                    throw BadRequest{400, "user ids are strings or integers"};
                  results.push_back(recommend_one(
                      *s, u.is_string() ? u.get<std::string>() : u.dump(), k, exclude));
                }
                res.set_content(json{{"results", results}}.dump(), "application/json");
              }));
  http_->Post("/reload", handler([this](const httplib::Request&, httplib::Response& res) {
                try {
                  reload();
                } catch (const runtime::ModelError& e) {
                  throw BadRequest{409, std::string("reload failed, still serving the previous "
                                                    "model: ") +
                                            e.what()};
                }
                res.set_content(json{{"status", "reloaded"}}.dump(), "application/json");
              }));
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::string out = "# TYPE recpress_requests_total counter\nrecpress_requests_total " +
                      std::to_string(requests_.load()) +
                      "\n# TYPE recpress_errors_total counter\nrecpress_errors_total " +
                      std::to_string(errors_.load()) +
                      "\n# TYPE recpress_reloads_total counter\nrecpress_reloads_total " +
                      std::to_string(reloads_.load()) +
                      "\n# TYPE recpress_request_microseconds histogram\n";
    std::uint64_t cumulative = 0;
    double bound = 10;
    for (int b = 0; b <= kBuckets; ++b, bound *= 2) {
      cumulative += latency_[b].load();
      out += "recpress_request_microseconds_bucket{le=\"" +
             (b == kBuckets ? std::string("+Inf") : std::to_string(static_cast<long>(bound))) +
             "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "recpress_request_microseconds_sum " + std::to_string(latency_sum_us_.load()) +
           "\nrecpress_request_microseconds_count " + std::to_string(cumulative) + "\n";
    res.set_content(out, "text/plain; version=0.0.4");
  });
  http_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 413)
      reply_error(res, 413, "request body too large");
    else if (res.status == 404 && res.body.empty())
      reply_error(res, 404, "no such endpoint");
  });
}

int RecommendationServer::bind() {
  const int port = options_.port == 0
                       ? http_->bind_to_any_port(options_.host)
                       : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port < 0)
    throw std::runtime_error("cannot listen on " + options_.host + ":" +
                             std::to_string(options_.port));
  return port;
}

void RecommendationServer::run() {
  http_->listen_after_bind();
}

void RecommendationServer::stop() {
  http_->stop();
}

namespace {
volatile std::sig_atomic_t g_signal = 0;
void on_signal(int sig) {
  g_signal = sig;
}

}  // namespace

void serve_until_signalled(const ServerOptions& options) {
  auto server = std::make_unique<RecommendationServer>(options);
  const int port = server->bind();
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
}

std::string probe(const std::function<std::size_t()>& load,
                  const std::function<void(std::uint32_t)>& query, std::size_t users) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const std::size_t n = std::min(users, load());
  const auto t1 = clock::now();
  for (std::size_t u = 0; u < n; ++u) query(static_cast<std::uint32_t>(u));
  const auto t2 = clock::now();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return nlohmann::json{
      {"load_ms", std::chrono::duration<double, std::milli>(t1 - t0).count()},
      {"queries", n},
      {"query_us",
       n ? std::chrono::duration<double, std::micro>(t2 - t1).count() / static_cast<double>(n)
         : 0.0},
      {"peak_rss_kib", usage.ru_maxrss}}
      .dump();
}

std::string probe(const std::string& path, std::size_t users, std::size_t k) {
  std::optional<runtime::Model> model;
  return probe(
      [&] {
        model = runtime::Model::open(path);
        return static_cast<std::size_t>(model->num_users());
      },
      [&](std::uint32_t u) { model->recommend(u, k, false); }, users);
}

}  // namespace recpress::serve
