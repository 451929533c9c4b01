// `recpress data download NAME`: fetch a public dataset from its official archive (GroupLens for
// MovieLens), verify the checksum its publisher lists next to it (ARCHIVE.md5), unpack it into the
// cache (<cache>/datasets/NAME), where dataset names resolve when the data root lacks them.
// Nothing half-written is ever left: the archive downloads to a .part file and unpacks into a
// temporary folder that is renamed into place only when complete; any failure removes both.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace recpress {

struct DownloadableDataset {
  std::string name;     // "ml-1m"
  std::string archive;  // "ml-1m.zip"
  std::string folder;   // the folder the archive unpacks to: "ml-1m"
  std::string size;     // approximate download size, for the user
};
const std::vector<DownloadableDataset>& downloadable_datasets();

// The licence terms shown before a download (GroupLens' MovieLens terms, summarised).
std::string movielens_licence();

struct DownloadOptions {
  // Where the archives live; $RECPRESS_DOWNLOAD_URL overrides the default (tests point it at a
  // local server).
  std::string base_url = "https://files.grouplens.org/datasets/movielens/";
  std::string cache_dir;  // empty: default_cache_dir()
  bool force = false;     // download again even if present
  // Called with (bytes received, bytes expected or 0) while downloading.
  std::function<void(std::uint64_t, std::uint64_t)> progress;
};

// Downloads, verifies and unpacks `name`; returns the dataset's folder. Throws Error with what went
// wrong (unknown name, HTTP error, checksum mismatch, corrupt archive) and leaves nothing behind.
std::string download_dataset(const std::string& name, const DownloadOptions& options);

// <cache>/datasets: where downloaded datasets are unpacked.
std::string downloaded_datasets_dir(const std::string& cache_dir = "");

// MD5 of a file as 32 lowercase hex digits (the checksum GroupLens publishes).
std::string md5_of_file(const std::string& path);

}  // namespace recpress
