#include "models/model_spec.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "core/errors.h"
#include "core/hash.h"
#include "core/text_reader.h"

namespace recpress {

ModelSpec ModelSpec::parse(const std::string& text) {
  ModelSpec s;
  const auto colon = text.find(':');
  s.name = std::string(trim(std::string_view(text).substr(0, colon)));
  if (s.name.empty()) throw Error("model spec '" + text + "': missing model name");
  if (colon == std::string::npos) return s;
  std::vector<std::string_view> pairs;
  split_fields(std::string_view(text).substr(colon + 1), ',', pairs);
  for (auto p : pairs) {
    if (trim(p).empty()) continue;
    const auto eq = p.find('=');
    if (eq == std::string_view::npos) {
      throw Error("model spec '" + text + "': expected key=value, got '" + std::string(p) + "'");
    }
    s.params[std::string(trim(p.substr(0, eq)))] = std::string(trim(p.substr(eq + 1)));
  }
  return s;
}

std::string ModelSpec::to_string() const {
  std::string out = name;
  char sep = ':';
  for (const auto& [k, v] : params) {
    out += sep + k + "=" + v;
    sep = ',';
  }
  return out;
}

std::int64_t ModelSpec::get_int(const std::string& key, std::int64_t fallback,
                                std::int64_t min) const {
  const auto it = params.find(key);
  if (it == params.end()) return fallback;
  long long v = 0;
  if (!parse_int64(it->second, v))
    throw Error("model '" + name + "': " + key + " must be an integer, got '" + it->second + "'");
  if (v < min)
    throw Error("model '" + name + "': " + key + " must be >= " + std::to_string(min) + ", got " +
                it->second);
  return v;
}

double ModelSpec::get_double(const std::string& key, double fallback) const {
  const auto it = params.find(key);
  if (it == params.end()) return fallback;
  double v = 0;
  if (!parse_double(it->second, v) || !std::isfinite(v))
    throw Error("model '" + name + "': " + key + " must be a number, got '" + it->second + "'");
  return v;
}

double ModelSpec::get_double(const std::string& key, double fallback, double min, double max,
                             bool min_open, bool max_open) const {
  const double v = get_double(key, fallback);
  const bool low = min_open ? v <= min : v < min;
  const bool high = max_open ? v >= max : v > max;
  if (low || high) {
    std::ostringstream range;
    range << (min_open ? "(" : "[") << min << ", " << max << (max_open ? ")" : "]");
    throw Error("model '" + name + "': " + key + " must be in " + range.str() + ", got " +
                params.at(key));
  }
  return v;
}

std::string ModelSpec::get_string(const std::string& key, const std::string& fallback) const {
  const auto it = params.find(key);
  return it == params.end() ? fallback : it->second;
}

void ModelSpec::allow_only(const std::set<std::string>& known) const {
  for (const auto& [k, _] : params) {
    if (known.count(k) == 0) {
      std::string list;
      for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
      throw Error("model '" + name + "': unknown parameter '" + k + "' (known: " + list + ")");
    }
  }
}

ModelSpec ModelSpec::checked(const ParamDecls& decls) const {
  ModelSpec s = *this;
  s.declared = &decls;
  for (const auto& [key, value] : params) {
    const ParamDecl* d = nullptr;
    for (const auto& candidate : decls)
      if (candidate.name == key) d = &candidate;
    if (d == nullptr) {
      std::string list;
      for (const auto& c : decls) list += (list.empty() ? "" : ", ") + c.name;
      throw Error("model '" + name + "': unknown parameter '" + key +
                  "' (known: " + (list.empty() ? "none" : list) + ")");
    }
    // Reading each value once validates its type and bounds.
    if (d->kind == ParamDecl::Kind::kInt)
      s.get_int(key);
    else if (d->kind == ParamDecl::Kind::kReal)
      s.get_double(key);
    else
      s.get_string(key);
  }
  return s;
}

const ParamDecl& ModelSpec::declaration(const std::string& key) const {
  if (declared != nullptr)
    for (const auto& d : *declared)
      if (d.name == key) return d;
  throw Error("model '" + name + "': parameter '" + key + "' is not declared");
}

// The declared value of `key` (given or default), checked; errors name the model.
template <typename Read>
auto declared_value(const ModelSpec& s, const std::string& key, Read read) {
  const ParamDecl& d = s.declaration(key);
  try {
    return read(d, s.has(key) ? s.params.at(key) : d.default_value);
  } catch (const Error& e) {
    throw Error("model '" + s.name + "': " + e.what());
  }
}

std::int64_t ModelSpec::get_int(const std::string& key) const {
  return declared_value(*this, key,
                        [](const ParamDecl& d, const std::string& t) { return d.int_value(t); });
}

double ModelSpec::get_double(const std::string& key) const {
  return declared_value(*this, key,
                        [](const ParamDecl& d, const std::string& t) { return d.real_value(t); });
}

std::string ModelSpec::get_string(const std::string& key) const {
  return declared_value(*this, key, [](const ParamDecl& d, const std::string& t) {
    return std::string(d.text_value(t));
  });
}

std::vector<std::pair<ModelSpec, double>> parse_weighted_specs(
    const std::vector<std::string>& terms) {
  std::vector<std::pair<ModelSpec, double>> out;
  for (const auto& joined : terms) {
    std::size_t start = 0;
    while (start <= joined.size()) {
      const auto plus = joined.find('+', start);
      const std::string m =
          joined.substr(start, plus == std::string::npos ? std::string::npos : plus - start);
      start = plus == std::string::npos ? joined.size() + 1 : plus + 1;
      if (m.empty()) throw Error("method '" + joined + "': empty term");
      const auto at = m.rfind('@');
      double weight = 1.0;
      if (at != std::string::npos) {
        const std::string w = m.substr(at + 1);
        char* end = nullptr;
        weight = std::strtod(w.c_str(), &end);
        if (w.empty() || end != w.c_str() + w.size() || !(weight >= 0))
          throw Error("method '" + m + "': the weight after '@' must be a number >= 0");
      }
      out.emplace_back(ModelSpec::parse(m.substr(0, at)), weight);
    }
  }
  return out;
}

namespace {

// A declared default as it enters a run's identity: the value, or for a default derived from the
// data ("" in the declaration) a fingerprint of its rule as documented, so that a changed rule is
// a different run.
std::string default_text(const ParamDecl& d) {
  if (!d.default_value.empty()) return d.default_value;
  Fnv1a h;
  h.add(d.doc);
  return "derived-" + h.hex().substr(0, 8);
}

std::string resolved_term(const std::string& term, const DeclaredSpecs& declared) {
  const auto at = term.rfind('@');
  const ModelSpec spec = ModelSpec::parse(term.substr(0, at));
  const ParamDecls* decls = nullptr;
  for (const auto& [name, help, params] : declared)
    if (name == spec.name) decls = &params;
  if (decls == nullptr || decls->empty()) return term;
  std::string out = spec.name;
  char sep = ':';
  std::set<std::string> written;
  for (const auto& d : *decls) {
    const auto given = spec.params.find(d.name);
    out += sep + d.name + "=" + (given != spec.params.end() ? given->second : default_text(d));
    written.insert(d.name);
    sep = ',';
  }
  for (const auto& [k, v] : spec.params) {
    if (written.count(k) > 0) continue;
    out += sep + k + "=" + v;
    sep = ',';
  }
  return out + (at == std::string::npos ? "" : term.substr(at));
}

}  // namespace

std::string resolved_spec_text(const std::string& text, const DeclaredSpecs& declared) {
  std::string out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto plus = text.find('+', start);
    const std::string term =
        text.substr(start, plus == std::string::npos ? std::string::npos : plus - start);
    out += (out.empty() ? "" : "+") + (term.empty() ? term : resolved_term(term, declared));
    start = plus == std::string::npos ? text.size() + 1 : plus + 1;
  }
  return out;
}

}  // namespace recpress
