// Checkpoints: a JSON header (what model, for which data, training state and history, id maps) and
// LibTorch's archive of the parameters (and optimiser state), in one file with a checksum.
//   "RPCK" v1 | u64 header length | header JSON | u64 archive length | archive | u64 FNV-1a
// Written atomically. A truncated or corrupt file, or one for other data, is refused with a clear
// error instead of loading garbage.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace recpress {

struct Checkpoint {
  nlohmann::json header;
  std::string archive;  // torch::serialize::OutputArchive bytes
};

void write_checkpoint(const std::string& path, const Checkpoint& checkpoint);
// Throws DataError naming the file on any problem.
Checkpoint read_checkpoint(const std::string& path);

}  // namespace recpress
