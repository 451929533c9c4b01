// Atomic writes: data goes to a temporary file in the same directory, is flushed to disk, then
// renamed over the target, so a crash never leaves a half-written model, cache or result.
#pragma once

#include <string>
#include <string_view>

namespace recpress {

// Write `content` to `path` atomically. Creates missing parent directories. Throws Error.
void write_file_atomic(const std::string& path, std::string_view content);

// Read a whole file into memory. Throws DataError if missing.
std::string read_file(const std::string& path);

// mkdir -p. Throws Error on failure.
void make_directories(const std::string& path);

}  // namespace recpress
