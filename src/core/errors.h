// Error types shared by every layer. Every error a user can cause names what was wrong and where
// (file, line, field), so the CLI can print one line and exit non-zero instead of crashing.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace recpress {

// Any error caused by user input or configuration (bad file, bad option, bad id).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A problem in an input file. `line` is 1-based; 0 means "the file as a whole".
class DataError : public Error {
 public:
  DataError(std::string file, std::size_t line, std::string field, const std::string& message);
  const std::string& file() const { return file_; }
  std::size_t line() const { return line_; }
  const std::string& field() const { return field_; }

 private:
  std::string file_;
  std::size_t line_;
  std::string field_;
};

// Short quoted excerpt of offending input, safe to print on one line.
std::string quote_excerpt(std::string_view text, std::size_t max_len = 40);

}  // namespace recpress
