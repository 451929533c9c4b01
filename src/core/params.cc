#include "core/params.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/errors.h"
#include "core/text_reader.h"

namespace recpress {

std::string ParamDecl::type_text() const {
  if (kind == Kind::kInt) return "integer";
  if (kind == Kind::kReal) return "number";
  if (choices.empty()) return "text";
  // "bce or ce", "a, b or c"
  std::string out;
  for (std::size_t i = 0; i < choices.size(); ++i)
    out += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  return out;
}

std::string ParamDecl::range_text() const {
  std::ostringstream o;
  if (kind == Kind::kText || (min == -kUnbounded && max == kUnbounded)) return "";
  if (max == kUnbounded) {
    o << (min_open ? "> " : ">= ") << min;
  } else {
    o << "in " << (min_open ? "(" : "[") << min << ", " << max << (max_open ? ")" : "]");
  }
  return o.str();
}

std::int64_t ParamDecl::int_value(const std::string& text) const {
  long long v = 0;
  if (!parse_int64(text, v)) throw Error(name + " must be an integer, got '" + text + "'");
  if (static_cast<double>(v) < min || static_cast<double>(v) > max)
    throw Error(name + " must be " + range_text() + ", got " + text);
  return v;
}

double ParamDecl::real_value(const std::string& text) const {
  double v = 0;
  if (!parse_double(text, v) || !std::isfinite(v))
    throw Error(name + " must be a number, got '" + text + "'");
  const bool low = min_open ? v <= min : v < min;
  const bool high = max_open ? v >= max : v > max;
  if (low || high) throw Error(name + " must be " + range_text() + ", got " + text);
  return v;
}

const std::string& ParamDecl::text_value(const std::string& text) const {
  if (!choices.empty() && std::find(choices.begin(), choices.end(), text) == choices.end())
    throw Error(name + " must be " + type_text() + ", got '" + text + "'");
  return text;
}

void ParamDecl::check(const std::string& text) const {
  if (kind == Kind::kInt)
    int_value(text);
  else if (kind == Kind::kReal)
    real_value(text);
  else
    text_value(text);
}

ParamDecl int_param(std::string name, std::int64_t fallback, std::int64_t min, std::string doc) {
  ParamDecl d;
  d.name = std::move(name);
  d.kind = ParamDecl::Kind::kInt;
  d.default_value = std::to_string(fallback);
  d.min = static_cast<double>(min);
  d.doc = std::move(doc);
  return d;
}

ParamDecl real_param(std::string name, double fallback, double min, double max, bool min_open,
                     bool max_open, std::string doc) {
  ParamDecl d;
  d.name = std::move(name);
  d.kind = ParamDecl::Kind::kReal;
  std::ostringstream v;
  v << fallback;
  d.default_value = v.str();
  d.min = min;
  d.max = max;
  d.min_open = min_open;
  d.max_open = max_open;
  d.doc = std::move(doc);
  return d;
}

ParamDecl text_param(std::string name, std::string fallback, std::vector<std::string> choices,
                     std::string doc) {
  ParamDecl d;
  d.name = std::move(name);
  d.kind = ParamDecl::Kind::kText;
  d.default_value = std::move(fallback);
  d.choices = std::move(choices);
  d.doc = std::move(doc);
  return d;
}

std::string params_summary(const ParamDecls& decls) {
  std::string out;
  for (const auto& d : decls)
    out += (out.empty() ? "" : ", ") + d.name +
           (d.default_value.empty() ? std::string() : "=" + d.default_value);
  return out;
}

}  // namespace recpress
