#include "data/registry.h"

#include "data/download.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "core/errors.h"
#include "core/text_reader.h"
#include "data/cache.h"
#include "data/synthetic.h"

namespace recpress {

std::vector<std::pair<std::string, std::string>> known_formats() {
  return {{"ml-100k", "MovieLens-100K folder (u.data, u.user, u.item)"},
          {"ml-dat", "MovieLens-1M/10M '::' files (ratings.dat, users.dat, movies.dat)"},
          {"ml-csv", "MovieLens latest/20M/25M CSV (ratings.csv, movies.csv)"},
          {"ncf", "NCF paper .rating file (user\\titem\\trating\\ttimestamp)"},
          {"atomic", "RecBole atomic files (.inter with typed header, .user, .item)"},
          {"sequence", "SASRec-style 'user item' lines in time order"},
          {"csv", "generic CSV/TSV with --columns mapping"}};
}

std::string detect_format(const std::string& path) {
  namespace fs = std::filesystem;
  if (!fs::exists(path)) throw DataError(path, 0, "", "no such file or folder");
  if (directory_exists(path)) {
    auto has = [&](const std::string& name) {
      return file_exists(path + "/" + name) || file_exists(path + "/" + name + ".gz");
    };
    if (has("u.data")) return "ml-100k";
    if (has("ratings.csv")) return "ml-csv";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(path, ec)) {
      const auto name = e.path().filename().string();
      if (name.rfind("ratings", 0) == 0 && name.find(".dat") != std::string::npos) return "ml-dat";
      if (name.find(".inter") != std::string::npos) return "atomic";
    }
    throw Error(
        "cannot tell the format of folder '" + path +
        "': expected u.data, ratings.dat, ratings.csv or a RecBole .inter file (or pass --format)");
  }
  std::string name = fs::path(path).filename().string();
  if (name.size() > 3 && name.substr(name.size() - 3) == ".gz") name.resize(name.size() - 3);
  const auto ends = [&](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (name == "u.data") return "ml-100k";
  if (ends(".dat") && name.rfind("ratings", 0) == 0) return "ml-dat";
  if (name == "ratings.csv") return "ml-csv";
  if (ends(".rating")) return "ncf";
  if (ends(".inter")) return "atomic";
  if (ends(".txt")) return "sequence";
  if (ends(".csv") || ends(".tsv")) return "csv";
  throw Error("cannot tell the format of '" + path +
              "' from its name; pass --format (one of: ml-100k, "
              "ml-dat, ml-csv, ncf, atomic, sequence, csv)");
}

Dataset load_path(const std::string& path, const LoadOptions& options, LoadReport& report) {
  const std::string format = options.format.empty() ? detect_format(path) : options.format;
  if (!std::filesystem::exists(path)) throw DataError(path, 0, "", "no such file or folder");
  if (format == "ml-100k") {
    const std::string dir =
        directory_exists(path) ? path : std::filesystem::path(path).parent_path().string();
    return load_movielens_100k(dir.empty() ? "." : dir, options, report);
  }
  if (format == "ml-dat") return load_movielens_dat(path, options, report);
  if (format == "ml-csv") return load_movielens_csv(path, options, report);
  if (format == "ncf") return load_ncf_rating(path, options, report);
  if (format == "atomic") return load_atomic(path, options, report);
  if (format == "sequence") return load_sequence_text(path, options, report);
  if (format == "csv") {
    LoadOptions o = options;
    const std::string name = std::filesystem::path(path).filename().string();
    if (name.find(".tsv") != std::string::npos && o.columns.delimiter == ',')
      o.columns.delimiter = '\t';
    return load_generic_csv(path, o, report);
  }
  std::string known;
  for (const auto& [f, _] : known_formats()) known += (known.empty() ? "" : ", ") + f;
  throw Error("unknown format '" + format + "' (known: " + known + ")");
}

std::vector<std::pair<std::string, std::string>> known_dataset_names() {
  return {{"ml-100k", "ml-100k"},
          {"ml-1m", "ml-1m"},
          {"ml-latest-small", "ml-latest-small"},
          {"ml-20m", "ml-20m/ratings.csv"},
          {"ncf-ml-1m", "ncf-neumf/ml-1m.test.rating"}};
}

std::string default_data_root() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("RECPRESS_DATA"); env != nullptr && *env) return env;
  std::error_code ec;
  if (fs::is_directory("../shared/data", ec)) return fs::canonical("../shared/data", ec).string();
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
      const fs::path candidate = p / ".." / "shared" / "data";
      if (fs::is_directory(candidate, ec)) return fs::canonical(candidate, ec).string();
    }
  }
  return "";
}

namespace {
bool is_downloadable(const std::string& name) {
  for (const auto& d : downloadable_datasets())
    if (d.name == name) return true;
  return false;
}
}  // namespace

Dataset open_dataset(const std::string& spec, const OpenOptions& options, LoadReport& report) {
  if (spec == "synthetic" || spec.rfind("synthetic:", 0) == 0) {
    return generate_synthetic(SyntheticConfig::parse(spec));
  }
  std::string path = spec;
  std::string name;
  for (const auto& [known, folder] : known_dataset_names()) {
    if (spec != known) continue;
    // Under the data root first, then where `recpress data download` unpacks.
    const std::string root = options.data_root.empty() ? default_data_root() : options.data_root;
    const std::string downloaded = downloaded_datasets_dir(options.cache_dir) + "/" + folder;
    if (!root.empty() && std::filesystem::exists(root + "/" + folder)) {
      path = root + "/" + folder;
    } else if (std::filesystem::exists(downloaded)) {
      path = downloaded;
    } else {
      throw Error(
          "dataset '" + spec + "' not found: looked in " +
          (root.empty() ? std::string("(no data root: set RECPRESS_DATA or --data-root)")
                        : root + "/" + folder) +
          " and " + downloaded +
          (is_downloadable(spec) ? "; `recpress data download " + spec + "` fetches it" : ""));
    }
    name = known;
  }
  if (!std::filesystem::exists(path)) {
    throw DataError(path, 0, "",
                    "no such file or folder (and not a known dataset name or 'synthetic')");
  }
  Dataset data = options.use_cache ? load_cached(path, options.load, report,
                                                 options.cache_dir.empty() ? default_cache_dir()
                                                                           : options.cache_dir)
                                   : load_path(path, options.load, report);
  if (!name.empty()) data.name = name;
  return data;
}

}  // namespace recpress
