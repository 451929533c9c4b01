#include "serve/server.h"

#include <httplib.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "serve/ctr_rows.h"

namespace recpress::serve {
namespace {

using nlohmann::json;

// How many connections the kernel queues before accept(). httplib's own is 5: under load, with
// connections re-opened as keep-alive ends, a full queue drops SYNs and the client retransmits
// after 1 s (the occasional 1-2 s requests seen under wrk). Linux caps it at net.core.somaxconn.
constexpr int kListenBacklog = 1024;
// Requests one keep-alive connection may carry before the server closes it. A connection holds
// its worker while open, so with more connections than workers the others wait until one
// closes: httplib's 5 made busy clients reconnect every fifth request (into the 5-deep queue
// above); 10,000 starved a new connection for 9 s under wrk -c200 with 64 workers; 100 bounds
// that wait to ~0.5 s at the same throughput (docs/results.md, "HTTP server under load").
constexpr std::size_t kKeepAliveRequests = 100;

void reply_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", message}}.dump(), "application/json");
}

// A 4xx for the client, carried out of a handler.
struct BadRequest {
  int status;
  std::string message;
};

// Query-string booleans: exactly these words, anything else is the client's mistake.
bool parse_bool(const std::string& name, const std::string& text) {
  if (text == "1" || text == "true" || text == "yes") return true;
  if (text == "0" || text == "false" || text == "no") return false;
  throw BadRequest{400, name + " must be one of 1, 0, true, false, yes, no; got '" + text + "'"};
}

// "users, k, exclude_seen"
std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// A query-string integer ("k=10"): the whole text, else a 400 naming the parameter.
long long integer_param(const std::string& name, const std::string& text) {
  try {
    std::size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  throw BadRequest{400, name + " must be a positive integer, got '" + text + "'"};
}

// A GET request's parameters must be among `names`.
void check_params(const httplib::Request& req, const std::vector<std::string>& names) {
  for (const auto& [name, value] : req.params)
    if (std::find(names.begin(), names.end(), name) == names.end())
      throw BadRequest{400, "unknown parameter '" + name + "' (expected " + joined(names) + ")"};
}

// A POST body: a JSON object with fields among `fields`, the first of them required and an
// array of at most `max_items` (`noun`: what 413 counts). `shape` shows the expected object.
nlohmann::json request_body(const std::string& text, const std::vector<std::string>& fields,
                            const std::string& shape, std::size_t max_items,
                            const std::string& noun) {
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw BadRequest{400, std::string("malformed JSON: ") + e.what()};
  }
  if (!body.is_object()) throw BadRequest{400, "expected a JSON object " + shape};
  for (const auto& [key, value] : body.items())
    if (std::find(fields.begin(), fields.end(), key) == fields.end())
      throw BadRequest{400, "unknown field '" + key + "' (expected " + joined(fields) + ")"};
  const std::string& list = fields.front();
  if (!body.contains(list)) throw BadRequest{400, "missing field '" + list + "'"};
  if (!body[list].is_array())
    throw BadRequest{400, "field '" + list + "' must be an array, got " + body[list].type_name()};
  if (body[list].size() > max_items)
    throw BadRequest{413, "at most " + std::to_string(max_items) + " " + noun + " per request"};
  return body;
}

// body[name] as a boolean / integer when present, else `fallback`; another type is a 400.
bool body_bool(const nlohmann::json& body, const std::string& name, bool fallback) {
  if (!body.contains(name)) return fallback;
  if (!body[name].is_boolean())
    throw BadRequest{400,
                     "field '" + name + "' must be true or false, got " + body[name].type_name()};
  return body[name].get<bool>();
}
long long body_int(const nlohmann::json& body, const std::string& name, long long fallback) {
  if (!body.contains(name)) return fallback;
  if (!body[name].is_number_integer())
    throw BadRequest{400, "field '" + name + "' must be an integer, got " + body[name].type_name()};
  return body[name].get<long long>();
}

// body[list][i] as ids: strings, or integers read as their decimal text.
std::vector<std::string> body_ids(const nlohmann::json& list, const std::string& name) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& v = list[i];
    if (!v.is_string() && !v.is_number_integer())
      throw BadRequest{400, "field '" + name + "[" + std::to_string(i) +
                                "]' must be a string or an integer, got " + v.type_name()};
    ids.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  }
  return ids;
}

// The methods each endpoint answers; a known path with another method is a 405, not a 404.
const std::vector<std::pair<std::string, std::string>>& endpoints() {
  static const std::vector<std::pair<std::string, std::string>> e = {
      {"/recommend", "GET, POST"}, {"/predict", "POST"}, {"/next", "GET, POST"},
      {"/healthz", "GET"},         {"/metrics", "GET"},  {"/reload", "POST"}};
  return e;
}

std::string default_message(int status) {
  switch (status) {
    case 400:
      return "malformed HTTP request";
    case 404:
      return "no such endpoint (GET /recommend, POST /recommend, POST /predict, GET /next, "
             "POST /next, GET /healthz, GET /metrics, POST /reload)";
    case 414:
      return "request URI longer than " + std::to_string(CPPHTTPLIB_REQUEST_URI_MAX_LENGTH) +
             " bytes";
    default:
      return "HTTP error " + std::to_string(status);
  }
}

bool same_secret(const std::string& a, const std::string& b) {
  // Compares every byte whatever the first difference, so timing does not reveal a prefix.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string read_token_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("--reload-token-file: cannot read '" + path + "'");
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  if (token.empty()) throw std::invalid_argument("--reload-token-file: '" + path + "' is empty");
  return token;
}

// When the request started, for the access log (the logger runs on the request's worker thread).
thread_local std::chrono::steady_clock::time_point t_request_start;

}  // namespace

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void ServerOptions::validate() const {
  auto bad = [](const std::string& what) { throw std::invalid_argument(what); };
  if (model_path.empty()) bad("model: no .rpm file given");
  if (host.empty()) bad("--host: empty address");
  if (port < 0 || port > 65535)
    bad("--port: " + std::to_string(port) + " is not a TCP port (0-65535; 0 picks a free one)");
  if (workers < 1 || workers > 4096)
    bad("--workers: " + std::to_string(workers) + " is out of range (1-4096)");
  if (max_k < 1) bad("--max-k: must be at least 1");
  if (max_batch < 1) bad("--max-batch: must be at least 1");
  if (max_body_bytes < 64) bad("--max-body: must be at least 64 bytes");
  if (!reload_token.empty() && !reload_token_file.empty())
    bad("--reload-token and --reload-token-file: give one of them");
}

void add_server_options(CLI::App& app, ServerOptions& o) {
  app.add_option("model", o.model_path, "the .rpm file")->required();
  app.add_option("--host", o.host, "address to listen on (default 127.0.0.1)");
  app.add_option("--port", o.port, "port (0: any free port; default 8080)");
  app.add_option("--max-k", o.max_k, "largest k a request may ask for (default 1000)");
  app.add_option("--max-batch", o.max_batch, "most users in one POST /recommend (default 1000)");
  app.add_option("--max-body", o.max_body_bytes, "largest request body in bytes (default 1 MiB)");
  app.add_option("--workers", o.workers,
                 "worker threads (each open keep-alive connection holds one; default 64)");
  app.add_option("--index", o.index,
                 "approximate search (mf/gmf): hnsw[:m=16,ef=64,ef_construction=200]");
  app.add_option("--reload-token", o.reload_token,
                 "POST /reload requires 'Authorization: Bearer TOKEN' (visible in ps: prefer "
                 "--reload-token-file)");
  app.add_option("--reload-token-file", o.reload_token_file,
                 "the reload token, read from this file");
  app.add_option("--access-log", o.access_log,
                 "one line per request to this file ('-': standard error)");
}

RecommendationServer::RecommendationServer(ServerOptions options, std::ostream& log)
    : options_(std::move(options)), log_(log), http_(std::make_unique<httplib::Server>()) {
  options_.validate();
  token_ = options_.reload_token_file.empty() ? options_.reload_token
                                              : read_token_file(options_.reload_token_file);
  if (options_.access_log == "-") {
    access_ = &log_;
  } else if (!options_.access_log.empty()) {
    access_file_.open(options_.access_log, std::ios::app);
    if (!access_file_)
      throw std::invalid_argument("--access-log: cannot write to '" + options_.access_log + "'");
    access_ = &access_file_;
  }
  state_ = load(options_.model_path, options_.index);
  routes();
}

RecommendationServer::~RecommendationServer() = default;

std::shared_ptr<const RecommendationServer::State> RecommendationServer::load(
    const std::string& path, const std::string& index) {
  auto s = std::make_shared<State>();
  const std::string task = runtime::model_file_task(path);
  if (task == "ctr" || task == "seq") {
    if (!index.empty())
      throw std::invalid_argument("--index: " + path + " is a " +
                                  (task == "ctr" ? "CTR" : "next-item") +
                                  " model; an inner-product index is for top-N models");
    if (task == "ctr")
      s->ctr = runtime::CtrModel::open(path);
    else
      s->next = runtime::NextItemModel::open(path);
    return s;
  }
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

void RecommendationServer::log_line(const std::string& line) {
  std::lock_guard lock(log_mutex_);
  log_ << line << std::endl;
}

void RecommendationServer::reload(const std::string& source) {
  std::shared_ptr<const State> fresh;
  try {
    fresh = load(options_.model_path, options_.index);
  } catch (const std::exception& e) {
    ++reload_failures_;
    log_line(utc_now() + " reload (" + source +
             "): failed, still serving the previous model: " + e.what());
    throw;
  }
  {
    std::lock_guard lock(state_mutex_);
    state_ = fresh;
  }
  ++reloads_;
  log_line(utc_now() + " reload (" + source + "): ok, " + options_.model_path + " (" +
           describe(*fresh) + ")");
}

std::string RecommendationServer::task_of(const State& s) {
  return s.ctr ? "ctr" : s.next ? "seq" : "topn";
}

std::string RecommendationServer::describe(const State& s) {
  if (s.next)
    return "next item, " + s.next->source_model() + ", " + runtime::dtype_name(s.next->dtype()) +
           ", " + std::to_string(s.next->num_items()) + " items";
  if (s.ctr)
    return "CTR, " + s.ctr->source_model() + ", " + runtime::dtype_name(s.ctr->dtype()) + ", " +
           std::to_string(s.ctr->features().inputs().size()) + " fields";
  return s.model.source_model() + ", " + runtime::dtype_name(s.model.dtype()) + ", " +
         std::to_string(s.model.num_users()) + " users, " + std::to_string(s.model.num_items()) +
         " items";
}

void RecommendationServer::observe(double us, bool error) {
  ++requests_;
  if (error) ++errors_;
  int b = 0;
  for (double bound = 10; b < kBuckets && us > bound; bound *= 2) ++b;
  ++latency_[b];
  latency_sum_us_.fetch_add(us);
}

std::string RecommendationServer::metrics_text() const {
  // Prometheus text format 0.0.4: HELP and TYPE for every family, base units (seconds).
  std::string out;
  auto family = [&](const std::string& name, const char* type, const char* help) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto number = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return std::string(buf);
  };
  family("recpress_requests_total", "counter",
         "Requests answered by /recommend, /predict, /next, /healthz, /reload.");
  out += "recpress_requests_total " + std::to_string(requests_.load()) + "\n";
  family("recpress_errors_total", "counter", "Those requests answered with an error status.");
  out += "recpress_errors_total " + std::to_string(errors_.load()) + "\n";
  family("recpress_reloads_total", "counter", "Successful model reloads (HTTP or SIGHUP).");
  out += "recpress_reloads_total " + std::to_string(reloads_.load()) + "\n";
  family("recpress_reload_failures_total", "counter",
         "Reloads refused; the previous model kept serving.");
  out += "recpress_reload_failures_total " + std::to_string(reload_failures_.load()) + "\n";
  const auto s = state();
  if (s->ctr) {
    family("recpress_model_fields", "gauge", "Input fields of the CTR model being served.");
    out += "recpress_model_fields " + std::to_string(s->ctr->features().inputs().size()) + "\n";
  } else {
    family("recpress_model_items", "gauge", "Items in the model being served.");
    out += "recpress_model_items " +
           std::to_string(s->next ? s->next->num_items() : s->model.num_items()) + "\n";
  }
  family("recpress_request_duration_seconds", "histogram",
         "Time from routing a request to its reply being ready.");
  std::uint64_t cumulative = 0;
  double bound_us = 10;
  for (int b = 0; b <= kBuckets; ++b, bound_us *= 2) {
    cumulative += latency_[b].load();
    out += "recpress_request_duration_seconds_bucket{le=\"" +
           (b == kBuckets ? std::string("+Inf") : number(bound_us * 1e-6)) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += "recpress_request_duration_seconds_sum " + number(latency_sum_us_.load() * 1e-6) +
         "\nrecpress_request_duration_seconds_count " + std::to_string(cumulative) + "\n";
  return out;
}

namespace {

// What each kind of file answers, for the 404 of an endpoint another kind answers.
const char* endpoints_of(const std::string& task) {
  return task == "ctr"   ? "POST /predict with {\"rows\": [{field: value, ...}]}"
         : task == "seq" ? "GET /next?history=a,b,c or POST /next with {\"history\": [...]}"
                         : "GET or POST /recommend";
}

}  // namespace

void RecommendationServer::require_task(const State& s, const std::string& task) {
  const std::string served = task_of(s);
  if (served == task) return;
  const std::string what = served == "ctr"   ? "a CTR model (" + s.ctr->source_model() + ")"
                           : served == "seq" ? "a next-item model (" + s.next->source_model() + ")"
                                             : "a top-N model (" + s.model.source_model() + ")";
  throw BadRequest{404, "this server serves " + what + ": use " + endpoints_of(served)};
}

// The next items after raw ids `history`: unknown ids are skipped and listed; none known, an
// empty history or k out of range are 400s.
json RecommendationServer::next_items(const runtime::NextItemModel& model,
                                      const std::vector<std::string>& history, long long k,
                                      bool exclude_history) const {
  if (history.empty()) throw BadRequest{400, "the history is empty: give one or more item ids"};
  const long long limit = std::min<long long>(static_cast<long long>(options_.max_k),
                                              static_cast<long long>(model.num_items()));
  if (k < 1 || k > limit)
    throw BadRequest{400,
                     "k must be in [1, " + std::to_string(limit) + "], got " + std::to_string(k)};
  std::vector<std::string_view> raw(history.begin(), history.end());
  thread_local std::vector<std::uint32_t> indices;
  std::vector<std::string> unknown;
  model.resolve_history(raw, indices, unknown);
  if (indices.empty())
    throw BadRequest{400, "none of the history's " + std::to_string(history.size()) +
                              " items is known to the model (first: '" + unknown.front() + "')"};
  json items = json::array();
  for (const auto& [i, score] : model.next(indices, static_cast<std::size_t>(k), exclude_history))
    items.push_back({{"item", model.item_id(i)}, {"score", score}});
  return json{{"items", std::move(items)}, {"unknown", unknown}};
}

// {"rows": [...]} -> {"probabilities": [...], "oov": [[...], ...]}; every problem a 4xx naming
// the row and the field.
json RecommendationServer::predict(const runtime::CtrModel& model, const std::string& body) const {
  const json request = request_body(body, {"rows"}, "{\"rows\": [{field: value, ...}, ...]}",
                                    options_.max_batch, "rows");
  const json& rows = request["rows"];
  if (rows.empty()) throw BadRequest{400, "field 'rows' is empty"};
  EncodedRows encoded;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    try {
      append_json_row(model.features(), rows[r], encoded);
    } catch (const RowError& e) {
      throw BadRequest{400, "rows[" + std::to_string(r) + "]: " + e.what()};
    }
  }
  std::vector<float> p(encoded.rows);
  model.predict(encoded.ids.data(), encoded.values.data(), encoded.rows, p.data());
  return json{{"probabilities", p}, {"oov", encoded.oov}};
}

void RecommendationServer::routes() {
  http_->set_payload_max_length(options_.max_body_bytes);
  // Small JSON replies on keep-alive connections: without TCP_NODELAY, Nagle's algorithm and the
  // client's delayed ACK hold each reply ~40 ms (measured: 297 req/s, p50 44 ms).
  http_->set_tcp_nodelay(true);
  http_->set_keep_alive_max_count(kKeepAliveRequests);
  // SO_REUSEADDR (restart while old connections sit in TIME_WAIT) but not httplib's SO_REUSEPORT,
  // which lets a second server bind the same port and silently take half the requests. The
  // socket is kept to widen the listen queue after bind.
  http_->set_socket_options([this](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd_ = sock;
  });
  // One worker per connection: a keep-alive connection occupies its worker between requests,
  // so the pool must cover the expected concurrent connections.
  const std::size_t workers = options_.workers;
  http_->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };

  // One user's recommendations as JSON, from a consistent snapshot of the model.
  auto recommend_one = [](const State& s, const std::string& user, std::size_t k,
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
  auto k_limit = [this](const State& s) {
    return std::min<std::size_t>(options_.max_k, s.model.num_items());
  };
  auto check_k = [k_limit](long long k, const State& s) {
    if (k < 1) throw BadRequest{400, "k must be a positive integer, got " + std::to_string(k)};
    const std::size_t limit = k_limit(s);
    if (static_cast<unsigned long long>(k) > limit)
      throw BadRequest{400, "k must be at most " + std::to_string(limit)};
    return static_cast<std::size_t>(k);
  };
  auto parse_k = [check_k](const std::string& text, const State& s) {
    return check_k(integer_param("k", text), s);
  };
  // The default k: 10, or less when the catalog or --max-k is smaller.
  auto default_k = [k_limit](const State& s) { return std::min<std::size_t>(10, k_limit(s)); };
  auto default_next_k = [this](const State& s) {
    return static_cast<long long>(
        std::min<std::size_t>(10, std::min<std::size_t>(options_.max_k, s.next->num_items())));
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
               if (s->next) {
                 res.set_content(json{{"status", "ok"},
                                      {"task", "seq"},
                                      {"model", s->next->source_model()},
                                      {"dtype", runtime::dtype_name(s->next->dtype())},
                                      {"items", s->next->num_items()},
                                      {"max_len", s->next->max_len()}}
                                     .dump(),
                                 "application/json");
                 return;
               }
               if (s->ctr) {
                 json fields = json::array();
                 for (const auto& input : s->ctr->features().inputs())
                   fields.push_back(
                       {{"name", input.name}, {"kind", runtime::input_kind_name(input.kind)}});
                 res.set_content(json{{"status", "ok"},
                                      {"task", "ctr"},
                                      {"model", s->ctr->source_model()},
                                      {"dtype", runtime::dtype_name(s->ctr->dtype())},
                                      {"fields", fields}}
                                     .dump(),
                                 "application/json");
                 return;
               }
               res.set_content(json{{"status", "ok"},
                                    {"task", "topn"},
                                    {"model", s->model.source_model()},
                                    {"dtype", runtime::dtype_name(s->model.dtype())},
                                    {"users", s->model.num_users()},
                                    {"items", s->model.num_items()}}
                                   .dump(),
                               "application/json");
             }));
  http_->Get("/recommend", handler([=, this](const httplib::Request& req, httplib::Response& res) {
               const auto s = state();
               require_task(*s, "topn");
               check_params(req, {"user", "k", "exclude_seen"});
               if (!req.has_param("user")) throw BadRequest{400, "missing parameter 'user'"};
               const std::size_t k =
                   req.has_param("k") ? parse_k(req.get_param_value("k"), *s) : default_k(*s);
               const bool exclude = req.has_param("exclude_seen") &&
                                    parse_bool("exclude_seen", req.get_param_value("exclude_seen"));
               res.set_content(recommend_one(*s, req.get_param_value("user"), k, exclude).dump(),
                               "application/json");
             }));
  http_->Post("/recommend", handler([=, this](const httplib::Request& req, httplib::Response& res) {
                const auto s = state();
                require_task(*s, "topn");
                const json body =
                    request_body(req.body, {"users", "k", "exclude_seen"},
                                 "{\"users\": [...], \"k\": N}", options_.max_batch, "users");
                const std::vector<std::string> users = body_ids(body["users"], "users");
                const std::size_t k =
                    body.contains("k") ? check_k(body_int(body, "k", 0), *s) : default_k(*s);
                const bool exclude = body_bool(body, "exclude_seen", false);
                json results = json::array();
                for (const auto& user : users)
                  results.push_back(recommend_one(*s, user, k, exclude));
                res.set_content(json{{"results", results}}.dump(), "application/json");
              }));
  http_->Post("/predict", handler([this](const httplib::Request& req, httplib::Response& res) {
                const auto s = state();
                require_task(*s, "ctr");
                res.set_content(predict(*s->ctr, req.body).dump(), "application/json");
              }));
  http_->Get(
      "/next", handler([=, this](const httplib::Request& req, httplib::Response& res) {
        const auto s = state();
        require_task(*s, "seq");
        check_params(req, {"history", "k", "exclude_history"});
        if (!req.has_param("history")) throw BadRequest{400, "missing parameter 'history'"};
        std::vector<std::string> history;
        std::string item;
        std::istringstream in(req.get_param_value("history"));
        while (std::getline(in, item, ','))
          if (!item.empty()) history.push_back(item);
        const long long k =
            req.has_param("k") ? integer_param("k", req.get_param_value("k")) : default_next_k(*s);
        const bool exclude = req.has_param("exclude_history") &&
                             parse_bool("exclude_history", req.get_param_value("exclude_history"));
        res.set_content(next_items(*s->next, history, k, exclude).dump(), "application/json");
      }));
  http_->Post(
      "/next", handler([=, this](const httplib::Request& req, httplib::Response& res) {
        const auto s = state();
        require_task(*s, "seq");
        const json body =
            request_body(req.body, {"history", "k", "exclude_history"},
                         "{\"history\": [...], \"k\": N}", options_.max_batch, "history items");
        const std::vector<std::string> history = body_ids(body["history"], "history");
        const long long k = body_int(body, "k", default_next_k(*s));
        const bool exclude = body_bool(body, "exclude_history", false);
        res.set_content(next_items(*s->next, history, k, exclude).dump(), "application/json");
      }));
  const auto reload_handler = handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!http_reload_enabled())
      throw BadRequest{403, "POST /reload is off: the server listens on " + options_.host +
                                " (beyond loopback) without --reload-token; send SIGHUP "
                                "or restart with --reload-token-file"};
    if (!token_.empty()) {
      const std::string auth = req.get_header_value("Authorization");
      const std::string prefix = "Bearer ";
      if (auth.rfind(prefix, 0) != 0 || !same_secret(auth.substr(prefix.size()), token_)) {
        res.set_header("WWW-Authenticate", "Bearer");
        throw BadRequest{401, "POST /reload needs 'Authorization: Bearer <reload token>'"};
      }
    }
    try {
      reload("HTTP from " + req.remote_addr);
    } catch (const std::exception& e) {
      throw BadRequest{409,
                       std::string("reload failed, still serving the previous model: ") + e.what()};
    }
    res.set_content(json{{"status", "reloaded"}}.dump(), "application/json");
  });
  http_->Post("/reload", reload_handler);
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text(), "text/plain; version=0.0.4");
  });
  // Before httplib reads a body: unknown endpoints and wrong methods are answered at once, and a
  // POST with neither Content-Length nor chunked encoding, which httplib would read until the
  // client closes (a 5 s stall, then an empty 400), too: /reload needs no body, others get 411.
  http_->set_pre_routing_handler([this, reload_handler](const httplib::Request& req,
                                                        httplib::Response& res) {
    t_request_start = std::chrono::steady_clock::now();
    const std::string* methods = nullptr;
    for (const auto& [path, allowed] : endpoints())
      if (req.path == path) methods = &allowed;
    if (methods == nullptr) {
      reply_error(res, 404, default_message(404));
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string method = req.method == "HEAD" ? "GET" : req.method;
    if ((", " + *methods + ",").find(", " + method + ",") == std::string::npos) {
      res.set_header("Allow", *methods);
      reply_error(res, 405,
                  req.method + " " + req.path + ": method not allowed (use " + *methods + ")");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "POST" || req.has_header("Content-Length") ||
        req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos)
      return httplib::Server::HandlerResponse::Unhandled;
    if (req.path == "/reload")
      reload_handler(req, res);
    else
      reply_error(res, 411, "POST needs a Content-Length header (or chunked transfer encoding)");
    return httplib::Server::HandlerResponse::Handled;
  });
  // Every error httplib produces itself (413, 414, malformed requests) gets a JSON body.
  http_->set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours
        if (res.status == 413)
          reply_error(res, 413,
                      "request body larger than the limit of " +
                          std::to_string(options_.max_body_bytes) + " bytes (--max-body)");
        else
          reply_error(res, res.status, default_message(res.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  if (access_ != nullptr)
    http_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                                  t_request_start)
                            .count();
      char took[32];
      std::snprintf(took, sizeof took, "%.3f", ms);
      std::string target = req.path;
      for (const auto& [name, value] : req.params)
        target += (target.size() == req.path.size() ? "?" : "&") + name + "=" + value;
      const std::string line = utc_now() + " " + req.remote_addr + " " + req.method + " " + target +
                               " " + std::to_string(res.status) + " " +
                               std::to_string(res.body.size()) + " " + took + "ms";
      std::lock_guard lock(log_mutex_);
      *access_ << line << "\n";
      access_->flush();
    });
}

int RecommendationServer::bind() {
  const int port = options_.port == 0
                       ? http_->bind_to_any_port(options_.host)
                       : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port < 0)
    throw std::runtime_error("cannot listen on " + options_.host + ":" +
                             std::to_string(options_.port) +
                             " (address in use, or not an address of this machine)");
  // Listening again on a listening socket only changes its queue length (Linux, BSD).
  if (listen_fd_ >= 0) ::listen(listen_fd_, kListenBacklog);
  return port;
}

void RecommendationServer::run() {
  running_ = true;
  if (!stop_requested_) http_->listen_after_bind();
  finished_ = true;
}

void RecommendationServer::stop() {
  // httplib's stop() does nothing before its accept loop runs: wait for the loop when run() has
  // been called, so a stop right after start cannot be lost (and join forever). A run() that
  // starts after this sees stop_requested_ and returns.
  stop_requested_ = true;
  if (running_)
    while (!http_->is_running() && !finished_)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
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
          server->reload("SIGHUP");
        } catch (const std::exception&) {  // logged by reload(); the old model keeps serving
        }
      } else {
        server->stop();
        return;
      }
    }
  });
  if (!is_loopback(options.host))
    std::cerr << "warning: listening on " << options.host
              << " makes this server reachable from other machines"
              << (server->http_reload_enabled() ? ""
                                                : "; POST /reload is off (no --reload-token), "
                                                  "SIGHUP still reloads")
              << "\n";
  std::cerr << "serving " << options.model_path << " on http://" << options.host << ":" << port
            << " (" << endpoints_of(server->task()) << "; /healthz, /metrics, POST /reload)\n";
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
  const std::string task = runtime::model_file_task(path);
  if (task == "ctr") {  // one row per query: every slot padded (all fields missing)
    std::optional<runtime::CtrModel> model;
    std::vector<std::int32_t> ids;
    std::vector<float> values;
    return probe(
        [&] {
          model = runtime::CtrModel::open(path);
          ids.assign(model->features().slots(),
                     static_cast<std::int32_t>(model->features().vocab_size()));
          values.assign(model->features().dense() + 1, 0.0f);
          return users;
        },
        [&](std::uint32_t) {
          float p = 0;
          model->predict(ids.data(), values.data(), 1, &p);
        },
        users);
  }
  if (task == "seq") {  // a history of max_len items per query
    std::optional<runtime::NextItemModel> model;
    std::vector<std::uint32_t> history;
    return probe(
        [&] {
          model = runtime::NextItemModel::open(path);
          return users;
        },
        [&](std::uint32_t u) {
          history.clear();
          for (std::uint32_t t = 0; t < model->max_len(); ++t)
            history.push_back((u + t) % model->num_items());
          model->next(history, k, false);
        },
        users);
  }
  std::optional<runtime::Model> model;
  return probe(
      [&] {
        model = runtime::Model::open(path);
        return static_cast<std::size_t>(model->num_users());
      },
      [&](std::uint32_t u) { model->recommend(u, k, false); }, users);
}

}  // namespace recpress::serve
