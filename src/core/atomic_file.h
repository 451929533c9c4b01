// Atomic writes: data goes to a temporary file in the same directory, is flushed to disk, then
// renamed over the target, so a crash never leaves a half-written model, cache or result.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace recpress {

// Write `content` to `path` atomically. Creates missing parent directories. Throws Error.
void write_file_atomic(const std::string& path, std::string_view content);

// Read a whole file into memory. Throws DataError if missing.
std::string read_file(const std::string& path);

// mkdir -p. Throws Error on failure.
void make_directories(const std::string& path);

// Before a command does any work: checks that the output folder `dir` can be written (or created,
// by writing in its nearest existing ancestor; nothing is left behind), and refuses it when it is
// the folder of one of `inputs` (a teacher's checkpoint, a data file), so no run overwrites what
// it reads. Empty `dir`: nothing to check. Throws Error.
void prepare_output_dir(const std::string& dir, const std::vector<std::string>& inputs = {});

}  // namespace recpress
