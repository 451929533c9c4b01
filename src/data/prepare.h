// Opening and cleaning a dataset as every front end asks for it (the CLI's data options, a
// recipe's `data`, the Python API's Dataset.load): open by name or path, then implicit
// conversion, de-duplication, k-core filtering and compaction, each reported on stderr.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "data/dataset.h"
#include "data/loader.h"

namespace recpress {

struct DataRequest {
  std::string spec = "synthetic";
  std::string format;
  std::string columns;  // "user=COL,item=COL,rating=COL,time=COL"
  std::string delimiter = ",";
  bool no_header = false;
  bool lenient = false;
  bool implicit = true;
  double threshold = 0;  // 0: keep all ratings as positives
  std::string dedup = "last";
  int min_user = 0;
  int min_item = 0;
};

// Checkpoints keep the request, so a command can reopen the data a model was trained on.
nlohmann::json data_request_to_json(const DataRequest& r);
DataRequest data_request_from_json(const nlohmann::json& j);

// The CSV column mapping of `r` (delimiter, header, roles); Error naming the bad part.
ColumnMapping column_mapping(const DataRequest& r);

struct PrepareOptions {
  std::string data_root;  // "": default_data_root()
  bool use_cache = true;
  bool quiet = false;  // no notes on stderr (problems of lenient reading are always shown)
};

// Opens and (with `clean`) cleans the data; Error / DataError naming the file, line and field.
Dataset prepare_dataset(const DataRequest& r, const PrepareOptions& o, bool clean = true);

}  // namespace recpress
