// Opening a dataset by name or path: "synthetic[:k=v,...]", a known public dataset name resolved
// under the data root (ml-100k, ml-1m, ml-latest-small, ncf-ml-1m), or any file/folder in a
// supported format (detected, or forced with LoadOptions::format).
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/loader.h"

namespace recpress {

struct OpenOptions {
  LoadOptions load;
  bool use_cache = true;
  std::string cache_dir;  // empty: default_cache_dir()
  std::string data_root;  // empty: default_data_root()
};

// $RECPRESS_DATA, else ../shared/data relative to the working directory or to the executable's
// grand-parent folder (the repository when run from build/). Empty if none exists.
std::string default_data_root();

// Names that resolve under the data root, with the folder each maps to.
std::vector<std::pair<std::string, std::string>> known_dataset_names();

Dataset open_dataset(const std::string& spec, const OpenOptions& options, LoadReport& report);

}  // namespace recpress
