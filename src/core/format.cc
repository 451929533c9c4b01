#include "core/format.h"

#include <cstdio>
#include <iomanip>
#include <sstream>

namespace recpress {

std::string with_commas(std::int64_t value) {
  const bool negative = value < 0;
  std::string digits = std::to_string(negative ? -value : value);
  std::string out;
  const int n = static_cast<int>(digits.size());
  for (int i = 0; i < n; ++i) {
    out += digits[i];
    const int left = n - 1 - i;
    if (left > 0 && left % 3 == 0) out += ',';
  }
  return negative ? "-" + out : out;
}

std::string fixed(double value, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  return buf;
}

std::string exact_text(double value) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  return buf;
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

std::string times(double reference, double value, const std::string& less,
                  const std::string& more) {
  if (!(reference > 0) || !(value > 0)) return "-";
  const bool smaller = value < reference;
  const double r = smaller ? reference / value : value / reference;
  return fixed(r, r < 10 ? 1 : 0) + "x " + (smaller ? less : more);
}

std::string signed_percent(double value) {
  std::ostringstream o;
  o << (value >= 0 ? "+" : "") << std::fixed << std::setprecision(1) << value << "%";
  return o.str();
}

std::string percent(double value) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(1) << value << "%";
  return o.str();
}

}  // namespace recpress
