// Binary cache of parsed datasets: a parsed file reloads in a fraction of the parse time
// (bench/bench_data.cc measures the ratio). The cache is keyed by the source files' paths, sizes
// and modification times plus the load options, checksummed, and written atomically; a stale,
// truncated or corrupt cache file is ignored and rebuilt, never trusted.
#pragma once

#include <optional>
#include <string>

#include "data/dataset.h"
#include "data/loader.h"

namespace recpress {

// $RECPRESS_CACHE_DIR, else $XDG_CACHE_HOME/recpress, else $HOME/.cache/recpress.
std::string default_cache_dir();

// Serialise / parse the binary form (used by the cache, exposed for tests).
std::string serialize_dataset(const Dataset& data, const LoadReport& report,
                              const std::string& key);
// Returns nullopt if the bytes are not a valid cache entry for `key`.
std::optional<Dataset> deserialize_dataset(const std::string& bytes, const std::string& key,
                                           LoadReport& report);

// Key describing the source files of `path` (the file and its siblings, or the folder's files)
// and the options that change parsing.
std::string cache_key(const std::string& path, const LoadOptions& options);

// Load through the cache in `cache_dir`: a hit returns the cached data; a miss parses with
// load_path() and stores the result. `hit` (optional) tells which happened.
Dataset load_cached(const std::string& path, const LoadOptions& options, LoadReport& report,
                    const std::string& cache_dir, bool* hit = nullptr);

}  // namespace recpress
