#include "core/text_reader.h"

#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/errors.h"

namespace recpress {
namespace {
constexpr std::size_t kBufferSize = 1 << 20;
// No data file this reads has lines anywhere near this long; a longer one is a binary or a
// mistaken file, refused before it is held in memory whole.
constexpr std::size_t kMaxLineBytes = 16u << 20;
}  // namespace

TextReader::TextReader(const std::string& path) : path_(path), buffer_(kBufferSize) {
  if (directory_exists(path)) throw DataError(path, 0, "", "is a directory, expected a file");
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    throw DataError(path, 0, "", std::string("cannot open: ") + std::strerror(errno));
  }
  gzbuffer(file, 1 << 18);
  gz_ = file;
}

TextReader::~TextReader() {
  if (gz_ != nullptr) gzclose(static_cast<gzFile>(gz_));
}

bool TextReader::refill() {
  if (eof_) return false;
  const int n =
      gzread(static_cast<gzFile>(gz_), buffer_.data(), static_cast<unsigned>(kBufferSize));
  if (n < 0) {
    int code = 0;
    const char* msg = gzerror(static_cast<gzFile>(gz_), &code);
    throw DataError(path_, line_number_ + 1, "", std::string("read error: ") + msg);
  }
  if (n == 0) {
    int code = 0;
    gzerror(static_cast<gzFile>(gz_), &code);
    // A truncated gzip stream ends with Z_BUF_ERROR rather than a clean end of file.
    if (code == Z_BUF_ERROR) {
      throw DataError(path_, line_number_ + 1, "",
                      "unexpected end of compressed data (truncated .gz?)");
    }
    eof_ = true;
    return false;
  }
  begin_ = 0;
  end_ = static_cast<std::size_t>(n);
  return true;
}

bool TextReader::next_line(std::string_view& line) {
  if (!read_line(line)) return false;
  // A UTF-8 byte-order mark (Excel and Notepad write one) is not part of the first field.
  if (line_number_ == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
  return true;
}

bool TextReader::read_line(std::string_view& line) {
  carry_.clear();
  bool have_carry = false;
  for (;;) {
    if (begin_ == end_ && !refill()) {
      if (!have_carry) return false;
      ++line_number_;
      line = carry_;
      return true;
    }
    const char* start = buffer_.data() + begin_;
    const void* nl = std::memchr(start, '\n', end_ - begin_);
    if (nl != nullptr) {
      const std::size_t len = static_cast<const char*>(nl) - start;
      begin_ += len + 1;
      ++line_number_;
      if (have_carry) {
        carry_.append(start, len);
        line = carry_;
      } else {
        line = std::string_view(start, len);
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      return true;
    }
    if (carry_.size() + (end_ - begin_) > kMaxLineBytes)
      throw DataError(path_, line_number_ + 1, "",
                      "line longer than " + std::to_string(kMaxLineBytes >> 20) +
                          " MiB: not a text data file?");
    carry_.append(start, end_ - begin_);
    have_carry = true;
    begin_ = end_;
  }
}

void split_fields(std::string_view line, char delimiter, std::vector<std::string_view>& out) {
  split_fields(line, std::string_view(&delimiter, 1), out);
}

void split_fields(std::string_view line, std::string_view delimiter,
                  std::vector<std::string_view>& out) {
  out.clear();
  std::size_t pos = 0;
  for (;;) {
    const std::size_t next = line.find(delimiter, pos);
    if (next == std::string_view::npos) {
      out.push_back(line.substr(pos));
      return;
    }
    out.push_back(line.substr(pos, next - pos));
    pos = next + delimiter.size();
  }
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

bool parse_int64(std::string_view text, long long& out) {
  text = trim(text);
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  const auto result = std::from_chars(text.data(), text.data() + text.size(), out);
  return result.ec == std::errc() && result.ptr == text.data() + text.size();
}

bool parse_double(std::string_view text, double& out) {
  text = trim(text);
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  const auto result = std::from_chars(text.data(), text.data() + text.size(), out);
  if (result.ec != std::errc() || result.ptr != text.data() + text.size()) return false;
  return out == out;  // reject NaN spelled as "nan"
}

std::string latin1_to_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool directory_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace recpress
