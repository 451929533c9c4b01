// The HTTP server, started for real on an ephemeral 127.0.0.1 port and spoken to over HTTP.
#include "serve/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

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
    ServerOptions o;
    o.model_path = path_;
    o.port = 0;
    o.max_body_bytes = 4096;
    server_ = std::make_unique<RecommendationServer>(o);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
  }
  std::string path_;
  std::unique_ptr<RecommendationServer> server_;
  int port_ = 0;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

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
  EXPECT_NE(m.find("recpress_request_microseconds_bucket{le=\"+Inf\"}"), std::string::npos);
}

TEST_F(Server, ReloadSwapsTheModelAndKeepsTheOldOneOnFailure) {
  write_model(path_, 8, false);  // a new catalog of 8 items
  auto r = client_->Post("/reload", "", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(client_->Get("/healthz")->body)["items"], 8);
  // No seen table now: unknown users have no fallback.
  EXPECT_EQ(client_->Get("/recommend?user=stranger")->status, 404);
  std::ofstream(path_, std::ios::binary) << "garbage";
  r = client_->Post("/reload", "", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(json::parse(client_->Get("/healthz")->body)["items"], 8);  // the old model serves
}

}  // namespace
}  // namespace recpress::serve
