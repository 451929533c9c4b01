#include "core/errors.h"

namespace recpress {
namespace {

std::string compose(const std::string& file, std::size_t line, const std::string& field,
                    const std::string& message) {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!field.empty()) out += "field '" + field + "': ";
  out += message;
  return out;
}

}  // namespace

DataError::DataError(std::string file, std::size_t line, std::string field,
                     const std::string& message)
    : Error(compose(file, line, field, message)),
      file_(std::move(file)),
      line_(line),
      field_(std::move(field)) {}

std::string quote_excerpt(std::string_view text, std::size_t max_len) {
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < max_len; ++i) {
    const char c = text[i];
    if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      // Control bytes would garble the terminal: shown as \xHH.
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[(static_cast<unsigned char>(c) >> 4) & 0xf];
      out += hex[static_cast<unsigned char>(c) & 0xf];
    } else {
      out += c;
    }
  }
  if (text.size() > max_len) out += "...";
  out += "'";
  return out;
}

}  // namespace recpress
