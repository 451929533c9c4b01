#include "test_util.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "core/errors.h"

namespace recpress::testing {

std::string scratch_dir(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(RECPRESS_BINARY_DIR) / "test-scratch" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string write_text(const std::string& dir, const std::string& name,
                       const std::string& content) {
  const std::string path = dir + "/" + name;
  std::ofstream out(path, std::ios::binary);
  out << content;
  return path;
}

std::string write_gz(const std::string& dir, const std::string& name, const std::string& content) {
  const std::string path = dir + "/" + name;
  gzFile f = gzopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
  gzclose(f);
  return path;
}

std::string shared_data_root() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("RECPRESS_DATA"); env != nullptr && *env) return env;
  const fs::path p = fs::path(RECPRESS_SOURCE_DIR) / ".." / "shared" / "data";
  return fs::is_directory(p) ? fs::canonical(p).string() : "";
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

void expect_error(const std::function<void()>& f, const std::vector<std::string>& fragments) {
  expect_error_of<Error>(f, fragments);
}

}  // namespace recpress::testing
