// `data download` against a local HTTP server (this machine has no internet): a synthetic archive
// in GroupLens' layout is fetched, verified against its published MD5 and unpacked where dataset
// names resolve; a corrupted download, a checksum mismatch, a broken archive and a missing file
// are clear errors that leave nothing behind.
#include "data/download.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <zip.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "core/errors.h"
#include "data/registry.h"
#include "test_util.h"

namespace recpress {
namespace {
namespace fs = std::filesystem;

// A zip with ml-100k/u.data (5 users x 4 items) made with libzip.
std::string make_archive(const fs::path& dir) {
  const fs::path path = dir / "made.zip";
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  EXPECT_NE(z, nullptr);
  static const std::string data = [] {
    std::string s;
    for (int u = 1; u <= 5; ++u)
      for (int i = 1; i <= 4; ++i)
        s += std::to_string(u) + "\t" + std::to_string(i) + "\t4\t" +
             std::to_string(1000 + u * 10 + i) + "\n";
    return s;
  }();
  zip_dir_add(z, "ml-100k/", ZIP_FL_ENC_UTF_8);
  zip_source_t* src = zip_source_buffer(z, data.data(), data.size(), 0);
  zip_file_add(z, "ml-100k/u.data", src, ZIP_FL_ENC_UTF_8);
  EXPECT_EQ(zip_close(z), 0);
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Serves /ml-100k.zip and /ml-100k.zip.md5 with whatever the test sets.
struct Archive {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::string zip, md5;
  Archive() {
    server.Get("/ml-100k.zip", [this](const httplib::Request&, httplib::Response& r) {
      r.set_content(zip, "application/zip");
    });
    server.Get("/ml-100k.zip.md5", [this](const httplib::Request&, httplib::Response& r) {
      if (md5.empty()) {
        r.status = 404;
        return;
      }
      r.set_content("MD5 (ml-100k.zip) = " + md5 + "\n", "text/plain");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
  }
  ~Archive() {
    server.stop();
    thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/"; }
};

std::string md5_of(const std::string& bytes, const fs::path& scratch) {
  const fs::path p = scratch / "md5-input";
  std::ofstream(p, std::ios::binary) << bytes;
  return md5_of_file(p.string());
}

// Only the finished dataset folder may exist in the cache: no .part file, no unpack folder.
std::vector<std::string> leftovers(const std::string& cache) {
  std::vector<std::string> out;
  const fs::path dir = downloaded_datasets_dir(cache);
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

TEST(Download, Md5OfAKnownString) {
  const std::string dir = testing::scratch_dir("md5");
  EXPECT_EQ(md5_of("", dir), "d41d8cd98f00b204e9800998ecf8427e");  // RFC 1321 test suite
  EXPECT_EQ(md5_of("abc", dir), "900150983cd24fb0d6963f7d28e17f72");
}

TEST(Download, FetchesVerifiesUnpacksAndTheNameResolves) {
  const std::string dir = testing::scratch_dir("download-ok");
  Archive a;
  a.zip = make_archive(dir);
  a.md5 = md5_of(a.zip, dir);
  DownloadOptions o;
  o.base_url = a.url();
  o.cache_dir = dir + "/cache";
  std::uint64_t last = 0;
  o.progress = [&last](std::uint64_t now, std::uint64_t) { last = now; };
  const std::string folder = download_dataset("ml-100k", o);
  EXPECT_TRUE(fs::exists(folder + "/u.data"));
  EXPECT_EQ(last, a.zip.size());
  EXPECT_EQ(leftovers(o.cache_dir), std::vector<std::string>{"ml-100k"});
  // The loaders find it by name when the data root lacks it.
  OpenOptions open;
  open.data_root = dir + "/no-data-root";
  open.cache_dir = o.cache_dir;
  open.use_cache = false;
  LoadReport report;
  const Dataset d = open_dataset("ml-100k", open, report);
  EXPECT_EQ(d.num_users(), 5);
  EXPECT_EQ(d.interactions.size(), 20u);
  // Present: not downloaded again (the server could be gone).
  a.zip = "garbage";
  EXPECT_EQ(download_dataset("ml-100k", o), folder);
}

TEST(Download, BadDownloadsAreClearErrorsAndLeaveNothing) {
  const std::string dir = testing::scratch_dir("download-bad");
  Archive a;
  const std::string good = make_archive(dir);
  DownloadOptions o;
  o.base_url = a.url();
  o.cache_dir = dir + "/cache";
  auto error_of = [&o](const std::string& name = "ml-100k") {
    try {
      download_dataset(name, o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  // Corrupted in transit: the bytes do not match the published checksum.
  a.zip = good.substr(0, good.size() / 2);
  a.md5 = md5_of(good, dir);
  EXPECT_NE(error_of().find("checksum mismatch"), std::string::npos) << error_of();
  EXPECT_TRUE(leftovers(o.cache_dir).empty());
  // A checksum that matches a broken archive: the unzip fails, nothing is kept.
  a.zip = "PK\x03\x04 this is not really a zip file";
  a.md5 = md5_of(a.zip, dir);
  EXPECT_NE(error_of().find("not a valid zip"), std::string::npos) << error_of();
  EXPECT_TRUE(leftovers(o.cache_dir).empty());
  // No published checksum: refuse rather than trust.
  a.zip = good;
  a.md5.clear();
  EXPECT_NE(error_of().find("ml-100k.zip.md5"), std::string::npos) << error_of();
  EXPECT_TRUE(leftovers(o.cache_dir).empty());
  EXPECT_NE(error_of("ml-5m").find("unknown dataset 'ml-5m'"), std::string::npos);
  // Nobody listening.
  o.base_url = "http://127.0.0.1:1/";
  EXPECT_NE(error_of().find("download failed"), std::string::npos) << error_of();
}

}  // namespace
}  // namespace recpress
