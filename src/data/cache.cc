#include "data/cache.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/hash.h"
#include "core/text_reader.h"

namespace recpress {
namespace {

constexpr char kMagic[8] = {'R', 'P', 'D', 'S', 'v', '1', '\0', '\0'};

class Writer {
 public:
  template <typename T>
  void pod(const T& v) {
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void str(const std::string& s) {
    pod(static_cast<std::uint64_t>(s.size()));
    out_ += s;
  }
  template <typename T>
  void vec(const std::vector<T>& v) {
    pod(static_cast<std::uint64_t>(v.size()));
    out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  void strings(const std::vector<std::string>& v) {
    pod(static_cast<std::uint64_t>(v.size()));
    for (const auto& s : v) str(s);
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

// Bounds-checked reader: any overrun marks the entry invalid instead of reading past the end.
class Reader {
 public:
  Reader(const char* data, std::size_t size) : p_(data), end_(data + size) {}
  template <typename T>
  bool pod(T& v) {
    if (static_cast<std::size_t>(end_ - p_) < sizeof v) return false;
    std::memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
    return true;
  }
  bool str(std::string& s) {
    std::uint64_t n = 0;
    if (!pod(n) || n > static_cast<std::uint64_t>(end_ - p_)) return false;
    s.assign(p_, n);
    p_ += n;
    return true;
  }
  template <typename T>
  bool vec(std::vector<T>& v) {
    std::uint64_t n = 0;
    if (!pod(n) || n > static_cast<std::uint64_t>(end_ - p_) / sizeof(T)) return false;
    v.resize(n);
    std::memcpy(v.data(), p_, n * sizeof(T));
    p_ += n * sizeof(T);
    return true;
  }
  bool strings(std::vector<std::string>& v) {
    std::uint64_t n = 0;
    if (!pod(n) || n > static_cast<std::uint64_t>(end_ - p_)) return false;
    v.resize(n);
    for (auto& s : v) {
      if (!str(s)) return false;
    }
    return true;
  }
  bool done() const { return p_ == end_; }

 private:
  const char* p_;
  const char* end_;
};

void write_table(Writer& w, const FeatureTable& table) {
  w.pod(static_cast<std::uint64_t>(table.fields.size()));
  for (const auto& f : table.fields) {
    w.str(f.name);
    w.strings(f.vocabulary.raw_ids());
    w.vec(f.offsets);
    w.vec(f.values);
  }
}

bool read_table(Reader& r, FeatureTable& table) {
  std::uint64_t n = 0;
  if (!r.pod(n) || n > 10000) return false;
  table.fields.resize(n);
  for (auto& f : table.fields) {
    std::vector<std::string> vocab;
    if (!r.str(f.name) || !r.strings(vocab) || !r.vec(f.offsets) || !r.vec(f.values)) return false;
    for (const auto& v : vocab) f.vocabulary.intern(v);
  }
  return true;
}

bool build_map(const std::vector<std::string>& raw, IdMap& map) {
  for (const auto& s : raw) map.intern(s);
  return map.size() == static_cast<std::int32_t>(raw.size());  // duplicates mean corruption
}

}  // namespace

std::string default_cache_dir() {
  if (const char* d = std::getenv("RECPRESS_CACHE_DIR"); d != nullptr && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x)
    return std::string(x) + "/recpress";
  if (const char* h = std::getenv("HOME"); h != nullptr && *h)
    return std::string(h) + "/.cache/recpress";
  return ".recpress-cache";
}

std::string serialize_dataset(const Dataset& data, const LoadReport& report,
                              const std::string& key) {
  Writer w;
  w.bytes().append(kMagic, sizeof kMagic);
  w.str(key);
  w.str(data.name);
  w.str(data.source);
  w.pod(static_cast<std::uint8_t>(data.has_ratings));
  w.pod(static_cast<std::uint8_t>(data.has_timestamps));
  w.strings(data.users.raw_ids());
  w.strings(data.items.raw_ids());
  w.vec(data.interactions);
  write_table(w, data.user_features);
  write_table(w, data.item_features);
  w.strings(data.item_titles);
  w.pod(static_cast<std::uint64_t>(report.skipped_lines));
  w.strings(report.problems);
  w.strings(report.notes);
  Fnv1a h;
  h.add(w.bytes().data(), w.bytes().size());
  w.pod(h.value());
  return std::move(w.bytes());
}

std::optional<Dataset> deserialize_dataset(const std::string& bytes, const std::string& key,
                                           LoadReport& report) {
  if (bytes.size() < sizeof kMagic + sizeof(std::uint64_t)) return std::nullopt;
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return std::nullopt;
  const std::size_t body = bytes.size() - sizeof(std::uint64_t);
  std::uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + body, sizeof stored);
  Fnv1a h;
  h.add(bytes.data(), body);
  if (h.value() != stored) return std::nullopt;
  Reader r(bytes.data() + sizeof kMagic, body - sizeof kMagic);
  std::string stored_key;
  if (!r.str(stored_key) || stored_key != key) return std::nullopt;
  Dataset data;
  std::uint8_t has_ratings = 0, has_times = 0;
  std::vector<std::string> users, items;
  LoadReport cached;
  std::uint64_t skipped = 0;
  if (!r.str(data.name) || !r.str(data.source) || !r.pod(has_ratings) || !r.pod(has_times) ||
      !r.strings(users) || !r.strings(items) || !r.vec(data.interactions) ||
      !read_table(r, data.user_features) || !read_table(r, data.item_features) ||
      !r.strings(data.item_titles) || !r.pod(skipped) || !r.strings(cached.problems) ||
      !r.strings(cached.notes) || !r.done()) {
    return std::nullopt;
  }
  if (!build_map(users, data.users) || !build_map(items, data.items)) return std::nullopt;
  for (const auto& x : data.interactions) {
    if (x.user < 0 || x.user >= data.num_users() || x.item < 0 || x.item >= data.num_items()) {
      return std::nullopt;
    }
  }
  data.has_ratings = has_ratings != 0;
  data.has_timestamps = has_times != 0;
  cached.skipped_lines = skipped;
  report = std::move(cached);
  return data;
}

std::string cache_key(const std::string& path, const LoadOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p = fs::absolute(path, ec);
  const fs::path dir = fs::is_directory(p, ec) ? p : p.parent_path();
  std::vector<std::string> parts;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) != 0) continue;
    parts.push_back(entry.path().filename().string() + ":" + std::to_string(st.st_size) + ":" +
                    std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec));
  }
  std::sort(parts.begin(), parts.end());
  std::string key = "path=" + p.string() + ";format=" + options.format +
                    ";lenient=" + (options.lenient ? "1" : "0") +
                    ";columns=" + options.columns.user + "," + options.columns.item + "," +
                    options.columns.rating + "," + options.columns.timestamp + "," +
                    options.columns.delimiter + (options.columns.header ? ",h" : ",n");
  for (const auto& s : parts) key += ";" + s;
  return key;
}

Dataset load_cached(const std::string& path, const LoadOptions& options, LoadReport& report,
                    const std::string& cache_dir, bool* hit) {
  const std::string key = cache_key(path, options);
  Fnv1a h;
  h.add(key);
  const std::string file = cache_dir + "/" + h.hex() + ".rpds";
  if (file_exists(file)) {
    try {
      if (auto data = deserialize_dataset(read_file(file), key, report)) {
        if (hit != nullptr) *hit = true;
        return std::move(*data);
      }
    } catch (const std::exception&) {
      // unreadable cache: fall through and rebuild
    }
  }
  if (hit != nullptr) *hit = false;
  Dataset data = load_path(path, options, report);
  try {
    write_file_atomic(file, serialize_dataset(data, report, key));
  } catch (const std::exception& e) {
    report.notes.push_back(std::string("could not write cache: ") + e.what());
  }
  return data;
}

}  // namespace recpress
