// 64-bit FNV-1a, used for data checksums recorded with every result.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace recpress {

class Fnv1a {
 public:
  void add(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
      h_ ^= p[i];
      h_ *= 0x100000001B3ULL;
    }
  }
  void add(std::string_view s) {
    add(s.data(), s.size());
    const char sep = '\0';
    add(&sep, 1);
  }
  template <typename T>
  void add_value(const T& v) {
    add(&v, sizeof v);
  }
  std::uint64_t value() const { return h_; }
  std::string hex() const {
    char buf[17];
    static const char* digits = "0123456789abcdef";
    for (int i = 0; i < 16; ++i) buf[i] = digits[(h_ >> (60 - 4 * i)) & 0xF];
    buf[16] = '\0';
    return buf;
  }

 private:
  std::uint64_t h_ = 0xCBF29CE484222325ULL;
};

}  // namespace recpress
