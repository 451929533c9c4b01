#include "data/download.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <zip.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>

#include "core/errors.h"
#include "data/cache.h"

namespace recpress {
namespace fs = std::filesystem;

namespace {

// Removes a path on scope exit unless released: a failed download leaves nothing behind.
class Cleanup {
 public:
  explicit Cleanup(fs::path p) : path_(std::move(p)) {}
  ~Cleanup() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  void release() { path_.clear(); }

 private:
  fs::path path_;
};

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};

struct Transfer {
  std::FILE* file = nullptr;    // writing to a file, or
  std::string* text = nullptr;  // to memory
  const DownloadOptions* options = nullptr;
};

std::size_t on_data(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  if (t->text != nullptr) {
    if (t->text->size() + bytes > (1u << 20)) return 0;  // a checksum file is tiny
    t->text->append(data, bytes);
    return bytes;
  }
  return std::fwrite(data, 1, bytes, t->file);
}

int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  const auto* t = static_cast<Transfer*>(user);
  if (t->options->progress && t->file != nullptr)
    t->options->progress(static_cast<std::uint64_t>(now), static_cast<std::uint64_t>(total));
  return 0;
}

// GET url into a file or a string; throws Error naming the URL on any failure (HTTP >= 400 too).
void fetch(const std::string& url, Transfer& t) {
  static CurlGlobal global;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw Error("cannot start libcurl");
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);  // abort a stalled transfer
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &t);
  const CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK)
    throw Error(url + ": download failed: " + (error[0] ? error : curl_easy_strerror(rc)));
}

// The 32-hex-digit checksum in a published .md5 file ("<md5>  file" or "MD5 (file) = <md5>").
std::string parse_md5(const std::string& text, const std::string& url) {
  std::smatch m;
  static const std::regex hex("[0-9a-fA-F]{32}");
  if (!std::regex_search(text, m, hex)) throw Error(url + ": no MD5 checksum in this file");
  std::string s = m.str();
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Unpacks `archive` into `dir`, refusing entries that would land outside it.
void unzip(const fs::path& archive, const fs::path& dir) {
  int err = 0;
  std::unique_ptr<zip_t, decltype(&zip_discard)> z(zip_open(archive.c_str(), ZIP_RDONLY, &err),
                                                   zip_discard);
  if (!z) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    const std::string why = zip_error_strerror(&e);
    zip_error_fini(&e);
    throw Error(archive.string() + ": not a valid zip archive (" + why + ")");
  }
  const zip_int64_t n = zip_get_num_entries(z.get(), 0);
  std::vector<char> buffer(1 << 16);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* raw = zip_get_name(z.get(), static_cast<zip_uint64_t>(i), 0);
    if (raw == nullptr) throw Error(archive.string() + ": unreadable entry " + std::to_string(i));
    const std::string name = raw;
    const fs::path rel = fs::path(name).lexically_normal();
    if (rel.is_absolute() || name.find("..") != std::string::npos)
      throw Error(archive.string() + ": entry '" + name + "' points outside the archive's folder");
    const fs::path out = dir / rel;
    if (!name.empty() && name.back() == '/') {
      fs::create_directories(out);
      continue;
    }
    fs::create_directories(out.parent_path());
    std::unique_ptr<zip_file_t, decltype(&zip_fclose)> f(
        zip_fopen_index(z.get(), static_cast<zip_uint64_t>(i), 0), zip_fclose);
    if (!f) throw Error(archive.string() + ": cannot read entry '" + name + "'");
    std::ofstream o(out, std::ios::binary);
    zip_int64_t got;
    while ((got = zip_fread(f.get(), buffer.data(), buffer.size())) > 0)
      o.write(buffer.data(), static_cast<std::streamsize>(got));
    if (got < 0) throw Error(archive.string() + ": entry '" + name + "' is corrupted");
    if (!o) throw Error(out.string() + ": cannot write");
  }
}

}  // namespace

const std::vector<DownloadableDataset>& downloadable_datasets() {
  static const std::vector<DownloadableDataset> d = {
      {"ml-100k", "ml-100k.zip", "ml-100k", "5 MB"},
      {"ml-1m", "ml-1m.zip", "ml-1m", "6 MB"},
      {"ml-latest-small", "ml-latest-small.zip", "ml-latest-small", "1 MB"},
      {"ml-20m", "ml-20m.zip", "ml-20m", "190 MB"},
  };
  return d;
}

std::string movielens_licence() {
  return "MovieLens data is provided by GroupLens Research (University of Minnesota) under its "
         "own terms: use for research, with no warranty; do not redistribute it, or data derived "
         "from it, without permission; do not use it commercially without permission; cite F. "
         "Maxwell Harper and Joseph A. Konstan, 'The MovieLens Datasets: History and Context', "
         "ACM TiiS 5(4), 2015, in any publication. The full terms are in the archive's README. "
         "RecPress therefore never ships this data; it downloads it for you.";
}

std::string downloaded_datasets_dir(const std::string& cache_dir) {
  return (fs::path(cache_dir.empty() ? default_cache_dir() : cache_dir) / "datasets").string();
}

std::string md5_of_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr);
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

std::string download_dataset(const std::string& name, const DownloadOptions& options) {
  const DownloadableDataset* spec = nullptr;
  std::string known;
  for (const auto& d : downloadable_datasets()) {
    if (d.name == name) spec = &d;
    known += (known.empty() ? "" : ", ") + d.name;
  }
  if (spec == nullptr) throw Error("unknown dataset '" + name + "' (known: " + known + ")");
  std::string base = options.base_url;
  if (const char* env = std::getenv("RECPRESS_DOWNLOAD_URL"); env != nullptr && *env) base = env;
  if (!base.empty() && base.back() != '/') base += '/';

  const fs::path root = downloaded_datasets_dir(options.cache_dir);
  const fs::path dest = root / spec->folder;
  if (fs::exists(dest / ".complete") && !options.force) return dest.string();
  fs::create_directories(root);

  // 1. The published checksum.
  std::string md5_text;
  Transfer t1;
  t1.text = &md5_text;
  t1.options = &options;
  fetch(base + spec->archive + ".md5", t1);
  const std::string expected = parse_md5(md5_text, base + spec->archive + ".md5");

  // 2. The archive, to a .part file that only a verified download outlives.
  const std::string tag = std::to_string(::getpid());
  const fs::path part = root / (spec->archive + ".part-" + tag);
  Cleanup remove_part(part);
  {
    std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(part.c_str(), "wb"),
                                                         std::fclose);
    if (!f) throw Error(part.string() + ": cannot write");
    Transfer t2;
    t2.file = f.get();
    t2.options = &options;
    fetch(base + spec->archive, t2);
    if (std::fflush(f.get()) != 0) throw Error(part.string() + ": cannot write (disk full?)");
  }
  const std::string got = md5_of_file(part.string());
  if (got != expected)
    throw Error(base + spec->archive + ": checksum mismatch (published MD5 " + expected +
                ", downloaded " + got + "): the download is corrupted; nothing was kept");

  // 3. Unpack into a temporary folder, then move the dataset's folder into place.
  const fs::path staging = root / ("." + spec->folder + ".unpack-" + tag);
  Cleanup remove_staging(staging);
  fs::remove_all(staging);
  fs::create_directories(staging);
  unzip(part, staging);
  const fs::path unpacked = staging / spec->folder;
  if (!fs::is_directory(unpacked))
    throw Error(base + spec->archive + ": the archive has no '" + spec->folder + "/' folder");
  std::ofstream(unpacked / ".complete") << expected << "\n";
  fs::remove_all(dest);
  fs::rename(unpacked, dest);
  return dest.string();
}

}  // namespace recpress
