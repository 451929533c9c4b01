// Small formatting helpers for tables and summaries.
#pragma once

#include <cstdint>
#include <string>

namespace recpress {

// 1234567 -> "1,234,567"
std::string with_commas(std::int64_t value);
// "+12.3%" / "-4.0%": a relative change given in percent, signed, one decimal.
std::string signed_percent(double value);
// 93.14 -> "93.1%" (the value is already in percent).
std::string percent(double value);
// printf-style fixed point: fixed(0.12345, 4) -> "0.1235"
std::string fixed(double value, int digits);
// The shortest-safe text of a double that parses back to the same value (17 significant digits).
std::string exact_text(double value);
// 1536 -> "1.5 KiB"
std::string human_bytes(double bytes);
// A ratio stated one way, always >= 1: comparing `value` with `reference`, "7.9x smaller" when
// value < reference, "1.3x larger" otherwise (`less` / `more` name the two directions: "smaller" /
// "larger", "faster" / "slower"). Digits: one below 10, none above.
std::string times(double reference, double value, const std::string& less, const std::string& more);

}  // namespace recpress
