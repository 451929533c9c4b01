// The HTTP server, started for real on an ephemeral 127.0.0.1 port and spoken to over HTTP.
#include "serve/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "runtime/ctr_fixture.h"
#include "runtime/next_item_fixture.h"

namespace recpress::serve {
namespace {

using nlohmann::json;

std::string write_model(const std::string& path, std::uint32_t items, bool with_seen) {
  runtime::ModelContent c;
  c.source_model = "mf:dim=2";
  c.users = {3, 2, {1, 0, 0, 1, 1, 1}};
  c.items = {items, 2, {}};
  for (std::uint32_t i = 0; i < items; ++i) {
    c.items.values.push_back(static_cast<float>(i));  // item i: (i, items - i)
    c.items.values.push_back(static_cast<float>(items - i));
    c.item_ids.push_back("i" + std::to_string(i));
  }
  c.user_ids = {"alice", "bob", "carol"};
  if (with_seen) {  // everyone has item 1; alice also item 4
    c.seen_offsets = {0, 2, 3, 4};
    c.seen_items = {1, 4, 1, 1};
  }
  std::ofstream(path, std::ios::binary) << runtime::encode_model(c, runtime::DType::kF32);
  return path;
}

class Server : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/serve-test.rpm";
    write_model(path_, 6, true);
    start(options());
  }
  void TearDown() override { stop(); }
  ServerOptions options() const {
    ServerOptions o;
    o.model_path = path_;
    o.port = 0;
    o.max_body_bytes = 4096;
    return o;
  }
  void start(const ServerOptions& o) {
    server_ = std::make_unique<RecommendationServer>(o, log_);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
  }
  void stop() {
    if (!server_) return;
    server_->stop();
    thread_.join();
    server_.reset();
  }
  void restart(const ServerOptions& o) {
    stop();
    start(o);
  }
  // Sends `request` as it is over a fresh connection and returns the whole reply, for what the
  // HTTP client cannot send (a POST without Content-Length, a malformed request line).
  std::string raw(const std::string& request) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return "";
    }
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)!::write(fd, request.data(), request.size());
    std::string reply;
    char buf[4096];
    ssize_t n = 0;
    // Read until the reply's JSON body is complete (the connection may stay open).
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
      reply.append(buf, static_cast<std::size_t>(n));
      const auto body = reply.find("\r\n\r\n");
      if (body != std::string::npos && reply.back() == '}') break;
    }
    ::close(fd);
    return reply;
  }
  std::ostringstream log_;
  std::string path_;
  std::unique_ptr<RecommendationServer> server_;
  int port_ = 0;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

int status_of(const httplib::Result& r) {
  return r ? r->status : -1;
}
std::string error_of(const httplib::Result& r) {
  if (!r) return "<no reply>";
  const auto j = json::parse(r->body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : "<not JSON>";
}

TEST_F(Server, RecommendsForAKnownUser) {
  // alice = (1, 0): score of item i is i, best are i5, i4, i3.
  auto r = client_->Get("/recommend?user=alice&k=3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const auto j = json::parse(r->body);
  EXPECT_EQ(j["user"], "alice");
  EXPECT_TRUE(j["fallback"].is_null());
  ASSERT_EQ(j["items"].size(), 3u);
  EXPECT_EQ(j["items"][0]["item"], "i5");
  EXPECT_EQ(j["items"][1]["item"], "i4");
  EXPECT_FLOAT_EQ(j["items"][0]["score"].get<float>(), 5.0f);
  // Without what alice has (i1, i4).
  const auto unseen = json::parse(client_->Get("/recommend?user=alice&k=3&exclude_seen=1")->body);
  EXPECT_EQ(unseen["items"][1]["item"], "i3");
}

TEST_F(Server, BatchesColdStartAndHealth) {
  auto r =
      client_->Post("/recommend", R"({"users": ["bob", "stranger"], "k": 2})", "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const auto j = json::parse(r->body);
  ASSERT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][0]["items"][0]["item"], "i0");  // bob = (0, 1): item i scores 6 - i
  EXPECT_EQ(j["results"][1]["fallback"], "popularity");
  EXPECT_EQ(j["results"][1]["items"][0]["item"], "i1");  // everyone has i1
  const auto h = json::parse(client_->Get("/healthz")->body);
  EXPECT_EQ(h["status"], "ok");
  EXPECT_EQ(h["items"], 6);
}

TEST_F(Server, BadRequestsGet4xxWithAJsonError) {
  auto status = [&](const httplib::Result& r) { return r ? r->status : -1; };
  EXPECT_EQ(status(client_->Get("/recommend")), 400);
  EXPECT_EQ(status(client_->Get("/recommend?user=alice&k=0")), 400);
  EXPECT_EQ(status(client_->Get("/recommend?user=alice&k=7")), 400);  // more than the catalog
  EXPECT_EQ(status(client_->Get("/recommend?user=alice&k=x2")), 400);
  EXPECT_EQ(status(client_->Post("/recommend", "{not json", "application/json")), 400);
  EXPECT_EQ(status(client_->Post("/recommend", R"({"users": "alice"})", "application/json")), 400);
  EXPECT_EQ(status(client_->Post("/recommend", R"({"users": [{}]})", "application/json")), 400);
  EXPECT_EQ(status(client_->Post("/recommend", std::string(10000, ' '), "application/json")), 413);
  EXPECT_EQ(status(client_->Get("/nowhere")), 404);
  const auto r = client_->Get("/recommend?user=alice&k=0");
  EXPECT_NE(json::parse(r->body)["error"].get<std::string>().find("k must be"), std::string::npos);
  // Still serving, and the metrics counted the errors.
  EXPECT_EQ(status(client_->Get("/recommend?user=alice")), 200);
  const auto m = client_->Get("/metrics")->body;
  EXPECT_NE(m.find("recpress_errors_total 8"), std::string::npos) << m;
  EXPECT_NE(m.find("recpress_request_duration_seconds_bucket{le=\"+Inf\"}"), std::string::npos);
}

TEST_F(Server, ReloadSwapsTheModelAndKeepsTheOldOneOnFailure) {
  write_model(path_, 8, false);  // a new catalog of 8 items
  auto r = client_->Post("/reload", "", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(client_->Get("/healthz")->body)["items"], 8);
  EXPECT_NE(log_.str().find("reload (HTTP from 127.0.0.1): ok"), std::string::npos) << log_.str();
  // No seen table now: unknown users have no fallback.
  EXPECT_EQ(client_->Get("/recommend?user=stranger")->status, 404);
  std::ofstream(path_, std::ios::binary) << "garbage";
  r = client_->Post("/reload", "", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(json::parse(client_->Get("/healthz")->body)["items"], 8);  // the old model serves
  EXPECT_NE(log_.str().find("failed, still serving the previous model"), std::string::npos);
  const auto m = client_->Get("/metrics")->body;
  EXPECT_NE(m.find("recpress_reloads_total 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("recpress_reload_failures_total 1\n"), std::string::npos) << m;
}

// Regression: the server mapped the file, so `cp new.rpm live.rpm` (a shorter file written in
// place) turned the next request into SIGBUS. The file is now read into memory at load.
TEST_F(Server, RewritingTheServedFileInPlaceDoesNotDisturbIt) {
  const auto before = client_->Get("/recommend?user=alice&k=3")->body;
  { std::ofstream(path_, std::ios::binary | std::ios::trunc) << "x"; }
  auto r = client_->Get("/recommend?user=alice&k=3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, before);
  // A reload of the broken file is refused and the model keeps serving.
  EXPECT_EQ(status_of(client_->Post("/reload", "", "application/json")), 409);
  EXPECT_EQ(client_->Get("/recommend?user=alice&k=3")->body, before);
}

TEST_F(Server, BooleansAndJsonFieldsAreParsedStrictly) {
  const auto all = client_->Get("/recommend?user=alice&k=3")->body;
  const auto unseen = client_->Get("/recommend?user=alice&k=3&exclude_seen=1")->body;
  ASSERT_NE(all, unseen);
  for (const char* word : {"false", "no", "0"})
    EXPECT_EQ(client_->Get(std::string("/recommend?user=alice&k=3&exclude_seen=") + word)->body,
              all)
        << word;
  for (const char* word : {"true", "yes"})
    EXPECT_EQ(client_->Get(std::string("/recommend?user=alice&k=3&exclude_seen=") + word)->body,
              unseen)
        << word;
  for (const char* word : {"maybe", "", "TRUE2"}) {
    auto r = client_->Get(std::string("/recommend?user=alice&exclude_seen=") + word);
    EXPECT_EQ(status_of(r), 400) << word;
    EXPECT_NE(error_of(r).find("exclude_seen"), std::string::npos) << error_of(r);
  }
  auto r = client_->Get("/recommend?user=alice&kk=3");
  EXPECT_EQ(status_of(r), 400);
  EXPECT_NE(error_of(r).find("'kk'"), std::string::npos) << error_of(r);
  // Wrong JSON types: a 400 naming the field, never a 500 with a library message.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"users": ["alice"], "exclude_seen": "yes"})", "exclude_seen"},
      {R"({"users": ["alice"], "k": "3"})", "'k'"},
      {R"({"users": ["alice"], "k": 2.5})", "'k'"},
      {R"({"users": ["alice", [1]]})", "users[1]"},
      {R"({"users": {"a": 1}})", "'users'"},
      {R"({"k": 3})", "'users'"},
      {R"({"users": ["alice"], "kk": 3})", "'kk'"},
      {R"(["alice"])", "JSON object"}};
  for (const auto& [body, field] : cases) {
    auto p = client_->Post("/recommend", body, "application/json");
    EXPECT_EQ(status_of(p), 400) << body;
    EXPECT_NE(error_of(p).find(field), std::string::npos) << body << " -> " << error_of(p);
  }
  const auto ok = client_->Post(
      "/recommend", R"({"users": ["alice"], "k": 3, "exclude_seen": true})", "application/json");
  ASSERT_EQ(status_of(ok), 200);
  EXPECT_EQ(json::parse(ok->body)["results"][0], json::parse(unseen));
}

TEST_F(Server, EveryErrorCarriesAJsonBody) {
  auto r = client_->Get("/nowhere");
  EXPECT_EQ(status_of(r), 404);
  EXPECT_NE(error_of(r).find("no such endpoint"), std::string::npos);
  r = client_->Get("/reload");
  EXPECT_EQ(status_of(r), 405);
  EXPECT_EQ(r->get_header_value("Allow"), "POST");
  EXPECT_NE(error_of(r).find("method not allowed"), std::string::npos);
  r = client_->Delete("/recommend");
  EXPECT_EQ(status_of(r), 405);
  EXPECT_EQ(r->get_header_value("Allow"), "GET, POST");
  r = client_->Post("/recommend", std::string(10000, ' '), "application/json");
  EXPECT_EQ(status_of(r), 413);
  EXPECT_NE(error_of(r).find("4096 bytes"), std::string::npos) << error_of(r);
  r = client_->Get("/recommend?user=" + std::string(20000, 'a'));
  EXPECT_EQ(status_of(r), 414);
  EXPECT_NE(error_of(r), "<not JSON>");
  // Malformed request line: 400 with a JSON body.
  const auto bad = raw("NONSENSE\r\n\r\n");
  EXPECT_NE(bad.find(" 400 "), std::string::npos) << bad;
  EXPECT_NE(bad.find("{\"error\""), std::string::npos) << bad;
}

// Regression: a POST without Content-Length was read until the client closed (5 s), then an
// empty 400. /reload needs no body and answers at once; other endpoints say what is missing.
TEST_F(Server, BodilessPostsAnswerAtOnce) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto reload = raw("POST /reload HTTP/1.1\r\nHost: localhost\r\n\r\n");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(reload.find(" 200 "), std::string::npos) << reload;
  EXPECT_NE(reload.find("reloaded"), std::string::npos) << reload;
  EXPECT_LT(seconds, 2.0);
  const auto post = raw("POST /recommend HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_NE(post.find(" 411 "), std::string::npos) << post;
  EXPECT_NE(post.find("Content-Length"), std::string::npos) << post;
}

TEST_F(Server, ReloadNeedsTheTokenWhenOneIsSet) {
  auto o = options();
  o.reload_token = "s3cret";
  restart(o);
  auto r = client_->Post("/reload", "", "application/json");
  EXPECT_EQ(status_of(r), 401);
  EXPECT_NE(error_of(r).find("Authorization"), std::string::npos);
  httplib::Headers wrong = {{"Authorization", "Bearer s3cre"}};
  EXPECT_EQ(status_of(client_->Post("/reload", wrong, "", "application/json")), 401);
  httplib::Headers right = {{"Authorization", "Bearer s3cret"}};
  EXPECT_EQ(status_of(client_->Post("/reload", right, "", "application/json")), 200);
  // From a file, trailing newline ignored.
  const std::string file = ::testing::TempDir() + "/reload-token";
  std::ofstream(file) << "from-file\n";
  o.reload_token.clear();
  o.reload_token_file = file;
  restart(o);
  httplib::Headers from_file = {{"Authorization", "Bearer from-file"}};
  EXPECT_EQ(status_of(client_->Post("/reload", from_file, "", "application/json")), 200);
  EXPECT_EQ(status_of(client_->Post("/reload", right, "", "application/json")), 401);
}

TEST_F(Server, HttpReloadIsOffBeyondLoopbackWithoutAToken) {
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("localhost"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_FALSE(is_loopback("0.0.0.0"));
  EXPECT_FALSE(is_loopback("10.1.2.3"));
  auto o = options();
  o.host = "0.0.0.0";
  restart(o);
  EXPECT_FALSE(server_->http_reload_enabled());
  auto r = client_->Post("/reload", "", "application/json");
  EXPECT_EQ(status_of(r), 403);
  EXPECT_NE(error_of(r).find("SIGHUP"), std::string::npos);
  EXPECT_EQ(status_of(client_->Get("/recommend?user=alice")), 200);  // still serving
  o.reload_token = "t";
  restart(o);
  EXPECT_TRUE(server_->http_reload_enabled());
}

TEST_F(Server, AbsurdOptionsAreRefusedNamingTheFlag) {
  auto refused = [&](auto change, const std::string& flag) {
    auto o = options();
    change(o);
    try {
      RecommendationServer s(o, log_);
      ADD_FAILURE() << flag << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(flag), std::string::npos) << e.what();
    }
  };
  refused([](ServerOptions& o) { o.port = 70000; }, "--port");
  refused([](ServerOptions& o) { o.port = -1; }, "--port");
  refused([](ServerOptions& o) { o.workers = 0; }, "--workers");
  refused([](ServerOptions& o) { o.max_k = 0; }, "--max-k");
  refused([](ServerOptions& o) { o.max_batch = 0; }, "--max-batch");
  refused([](ServerOptions& o) { o.reload_token_file = "/nonexistent/token"; },
          "--reload-token-file");
  refused([](ServerOptions& o) { o.access_log = "/nonexistent/dir/access.log"; }, "--access-log");
}

TEST_F(Server, DefaultKFollowsASmallerMaxK) {
  auto o = options();
  o.max_k = 4;
  restart(o);
  auto r = client_->Get("/recommend?user=alice");
  ASSERT_EQ(status_of(r), 200);
  EXPECT_EQ(json::parse(r->body)["items"].size(), 4u);
  EXPECT_EQ(status_of(client_->Get("/recommend?user=alice&k=5")), 400);
}

TEST_F(Server, MetricsFollowPrometheusConventions) {
  client_->Get("/recommend?user=alice");
  client_->Get("/recommend");
  const auto m = client_->Get("/metrics")->body;
  for (const char* family : {"recpress_requests_total", "recpress_errors_total",
                             "recpress_reloads_total", "recpress_request_duration_seconds"}) {
    EXPECT_NE(m.find(std::string("# HELP ") + family + " "), std::string::npos) << family;
    EXPECT_NE(m.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
  }
  EXPECT_NE(m.find("# TYPE recpress_request_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(m.find("recpress_request_duration_seconds_bucket{le=\"1e-05\"}"), std::string::npos)
      << m;
  EXPECT_NE(m.find("recpress_request_duration_seconds_count 2\n"), std::string::npos) << m;
  EXPECT_NE(m.find("recpress_request_duration_seconds_sum "), std::string::npos);
  EXPECT_EQ(m.find("microseconds"), std::string::npos);
}

TEST_F(Server, AccessLogHasALinePerRequest) {
  auto o = options();
  o.access_log = "-";
  restart(o);
  client_->Get("/healthz");
  client_->Get("/recommend?user=alice&k=2");
  client_->Get("/nowhere");
  stop();  // the log line is written after the reply; stop so every line is in
  const auto log = log_.str();
  EXPECT_NE(log.find("127.0.0.1 GET /healthz 200 "), std::string::npos) << log;
  EXPECT_NE(log.find("GET /recommend?"), std::string::npos) << log;
  EXPECT_NE(log.find("GET /nowhere 404 "), std::string::npos) << log;
}

// A CTR file: POST /predict scores rows of raw field values as the runtime does; every bad row is
// a 400 naming the row and the field; the top-N endpoints point to /predict; reload can swap
// between the two kinds.
TEST_F(Server, PredictsClickProbabilitiesFromACtrFile) {
  std::ofstream(path_, std::ios::binary | std::ios::trunc)
      << runtime::encode_ctr_model(runtime::tiny_content(), runtime::DType::kF32);
  ASSERT_EQ(status_of(client_->Post("/reload", "", "application/json")), 200);
  const auto h = json::parse(client_->Get("/healthz")->body);
  EXPECT_EQ(h["task"], "ctr");
  ASSERT_EQ(h["fields"].size(), 3u);
  EXPECT_EQ(h["fields"][1]["kind"], "multi");
  // The rows of ctr_model_test's hand computation: logits 7.65 and 0.3.
  auto r =
      client_->Post("/predict",
                    R"({"rows": [{"color": "red", "tags": ["a", "b"], "price": 1.718281828459045},
                   {"color": "green", "price": null}]})",
                    "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto j = json::parse(r->body);
  ASSERT_EQ(j["probabilities"].size(), 2u);
  EXPECT_NEAR(j["probabilities"][0].get<double>(), 1 / (1 + std::exp(-7.65)), 1e-6);
  EXPECT_NEAR(j["probabilities"][1].get<double>(), 1 / (1 + std::exp(-0.3)), 1e-6);
  EXPECT_TRUE(j["oov"][0].empty());
  EXPECT_EQ(j["oov"][1], json::array({"color"}));  // green was never seen
  const auto bad = [&](const std::string& body) {
    return client_->Post("/predict", body, "application/json");
  };
  EXPECT_EQ(status_of(bad("{not json")), 400);
  EXPECT_EQ(status_of(bad(R"({"rows": {}})")), 400);
  EXPECT_EQ(status_of(bad(R"({"rows": []})")), 400);
  EXPECT_EQ(status_of(bad(R"({"rows": [], "k": 3})")), 400);
  auto e = bad(R"({"rows": [{"color": "red"}, {"colour": "red"}]})");
  EXPECT_EQ(status_of(e), 400);
  EXPECT_NE(error_of(e).find("rows[1]: unknown field 'colour'"), std::string::npos) << error_of(e);
  e = bad(R"({"rows": [{"price": "cheap"}]})");
  EXPECT_NE(error_of(e).find("field 'price': expected a number"), std::string::npos) << error_of(e);
  e = bad(R"({"rows": [{"color": ["red", "blue"]}]})");
  EXPECT_NE(error_of(e).find("field 'color'"), std::string::npos) << error_of(e);
  e = bad(R"({"rows": [{"tags": [true]}]})");
  EXPECT_EQ(status_of(e), 400);
  e = bad(R"({"rows": [{"color": {"r": 1}}]})");
  EXPECT_EQ(status_of(e), 400);
  std::string many = R"({"rows": [)";
  for (int i = 0; i < 1001; ++i) many += std::string(i ? "," : "") + "{}";
  EXPECT_EQ(status_of(client_->Post("/predict", many + "]}", "application/json")), 413);
  // The top-N endpoints say where to go; the server keeps serving.
  e = client_->Get("/recommend?user=alice");
  EXPECT_EQ(status_of(e), 404);
  EXPECT_NE(error_of(e).find("POST /predict"), std::string::npos) << error_of(e);
  EXPECT_EQ(status_of(client_->Post("/predict", R"({"rows": [{}]})", "application/json")), 200);
  EXPECT_NE(client_->Get("/metrics")->body.find("recpress_model_fields 3"), std::string::npos);
  // Back to a top-N file: /predict points to /recommend.
  write_model(path_, 6, true);
  ASSERT_EQ(status_of(client_->Post("/reload", "", "application/json")), 200);
  e = bad(R"({"rows": [{}]})");
  EXPECT_EQ(status_of(e), 404);
  EXPECT_NE(error_of(e).find("/recommend"), std::string::npos) << error_of(e);
  EXPECT_EQ(status_of(client_->Get("/recommend?user=alice")), 200);
}

// A next-item file: GET and POST /next give the runtime's top-K after a history of raw ids,
// unknown ids skipped and listed; bad histories and k are 400s naming the field; the other
// endpoints point to /next.
TEST_F(Server, NextItemsFromANextItemFile) {
  const auto content = runtime::tiny(runtime::SeqArch::kSASRec);
  std::ofstream(path_, std::ios::binary | std::ios::trunc)
      << runtime::encode_next_item_model(content, runtime::DType::kF32);
  ASSERT_EQ(status_of(client_->Post("/reload", "", "application/json")), 200);
  EXPECT_EQ(json::parse(client_->Get("/healthz")->body)["task"], "seq");
  const auto model = runtime::NextItemModel::open(path_);
  const std::vector<std::uint32_t> history = {3, 1, 4};  // ids "103", "101", "104"
  const auto expected = model.next(history, 3, true);
  auto r = client_->Get("/next?history=103,101,nope,104&k=3&exclude_history=1");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  ASSERT_EQ(j["items"].size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(j["items"][i]["item"], std::string(model.item_id(expected[i].first)));
    EXPECT_FLOAT_EQ(j["items"][i]["score"].get<float>(), expected[i].second);
  }
  EXPECT_EQ(j["unknown"], json::array({"nope"}));
  r = client_->Post("/next", R"({"history": ["103", 101, "104"], "k": 3, "exclude_history": true})",
                    "application/json");
  ASSERT_EQ(status_of(r), 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["items"], j["items"]);
  EXPECT_EQ(json::parse(client_->Get("/next?history=103")->body)["items"].size(), 10u);  // k 10
  const auto error = [&](const httplib::Result& res) { return error_of(res); };
  EXPECT_EQ(status_of(client_->Get("/next")), 400);
  EXPECT_EQ(status_of(client_->Get("/next?history=")), 400);
  EXPECT_NE(error(client_->Get("/next?history=x,y")).find("none of the history's 2 items"),
            std::string::npos);
  EXPECT_NE(error(client_->Get("/next?history=103&k=13")).find("k must be in [1, 12]"),
            std::string::npos);
  EXPECT_EQ(status_of(client_->Get("/next?history=103&k=two")), 400);
  EXPECT_EQ(status_of(client_->Get("/next?history=103&exclude_history=maybe")), 400);
  EXPECT_NE(error(client_->Get("/next?history=103&user=1")).find("unknown parameter 'user'"),
            std::string::npos);
  const auto post = [&](const std::string& body) {
    return client_->Post("/next", body, "application/json");
  };
  EXPECT_EQ(status_of(post("{not json")), 400);
  EXPECT_EQ(status_of(post(R"({"history": "103"})")), 400);
  EXPECT_EQ(status_of(post(R"({"history": []})")), 400);
  EXPECT_NE(error(post(R"({"history": ["103", [1]]})")).find("field 'history[1]'"),
            std::string::npos);
  EXPECT_EQ(status_of(post(R"({"history": ["103"], "k": "3"})")), 400);
  EXPECT_EQ(status_of(post(R"({"history": ["103"], "exclude_history": 1})")), 400);
  EXPECT_EQ(status_of(post(R"({"history": ["103"], "users": []})")), 400);
  const auto other = client_->Get("/recommend?user=alice");
  EXPECT_EQ(status_of(other), 404);
  EXPECT_NE(error(other).find("GET /next"), std::string::npos) << error(other);
  EXPECT_EQ(status_of(client_->Post("/predict", R"({"rows": [{}]})", "application/json")), 404);
  EXPECT_NE(client_->Get("/metrics")->body.find("recpress_model_items 12"), std::string::npos);
  // Back to top-N: /next points to /recommend.
  write_model(path_, 6, true);
  ASSERT_EQ(status_of(client_->Post("/reload", "", "application/json")), 200);
  EXPECT_NE(error(client_->Get("/next?history=1")).find("/recommend"), std::string::npos);
}

}  // namespace
}  // namespace recpress::serve
