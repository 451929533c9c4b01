#include "core/params.h"

#include <sstream>

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
