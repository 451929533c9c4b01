// Line reader for plain and gzip-compressed text. zlib's gzread passes non-gzip files through
// unchanged, so one code path serves `ratings.dat` and `ratings.dat.gz` alike.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace recpress {

class TextReader {
 public:
  // Throws DataError (line 0) if the file is missing or unreadable.
  explicit TextReader(const std::string& path);
  ~TextReader();
  TextReader(const TextReader&) = delete;
  TextReader& operator=(const TextReader&) = delete;

  // Next line without its '\n' / "\r\n" (and without a UTF-8 byte-order mark on line 1). Returns
  // false at end of file. The view stays valid until the next call. Throws DataError on a read
  // error (e.g. a truncated .gz) and for a line over 16 MiB.
  bool next_line(std::string_view& line);
  // 1-based number of the line last returned.
  std::size_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }

 private:
  bool refill();
  bool read_line(std::string_view& line);

  std::string path_;
  void* gz_ = nullptr;  // gzFile, kept opaque so zlib stays out of this header
  std::vector<char> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  std::size_t line_number_ = 0;
  std::string carry_;
};

// Split `line` on a single-character delimiter into `out` (views into `line`).
void split_fields(std::string_view line, char delimiter, std::vector<std::string_view>& out);
// Split on a multi-character delimiter such as MovieLens' "::".
void split_fields(std::string_view line, std::string_view delimiter,
                  std::vector<std::string_view>& out);

// Strict number parsing: the whole field must be a number (surrounding spaces allowed).
bool parse_int64(std::string_view text, long long& out);
bool parse_double(std::string_view text, double& out);
std::string_view trim(std::string_view text);

// Convert ISO-8859-1 bytes to UTF-8 (MovieLens-1M/100K titles are Latin-1).
std::string latin1_to_utf8(std::string_view text);

// True if a file exists and is a regular file.
bool file_exists(const std::string& path);
bool directory_exists(const std::string& path);

}  // namespace recpress
