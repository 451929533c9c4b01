// A model's name and hyper-parameters as written in a recipe or on the command line:
// "neumf:dim=32,layers=3". Parsing, typed access with defaults, and validation in one place.
#pragma once

#include <cstdint>
#include <limits>
#include <map>

#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>
#include "core/params.h"

namespace recpress {

struct ModelSpec {
  std::string name;
  std::map<std::string, std::string> params;

  // "name" or "name:key=value,key=value". Throws Error on malformed text.
  static ModelSpec parse(const std::string& text);
  std::string to_string() const;

  // Typed getters; throw Error naming the model and key when the value is malformed or out of
  // range.
  std::int64_t get_int(const std::string& key, std::int64_t fallback, std::int64_t min = 1) const;
  // A finite number; with bounds, inside them ("[0, 1)": min_open / max_open exclude the ends).
  double get_double(const std::string& key, double fallback) const;
  double get_double(const std::string& key, double fallback, double min, double max,
                    bool min_open = false, bool max_open = false) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  // Throws Error if a parameter is not in `known` (catches typos such as "dimm=32").
  void allow_only(const std::set<std::string>& known) const;

  // Checks every given parameter against `decls` (unknown names, types, bounds, choices) and
  // returns this spec bound to them, so the getters below read declared defaults. Throws Error
  // naming the model and key.
  ModelSpec checked(const ParamDecls& decls) const;
  bool has(const std::string& key) const { return params.count(key) > 0; }
  // Declared parameters (after checked()): the given value or the declared default.
  std::int64_t get_int(const std::string& key) const;
  double get_double(const std::string& key) const;
  std::string get_string(const std::string& key) const;

  // The declaration of `key` (after checked()); Error when it is not declared.
  const ParamDecl& declaration(const std::string& key) const;

  const ParamDecls* declared = nullptr;  // set by checked(); not part of the spec's text
};

// `spec` checked against its registry entry's declared parameters (unchanged when the entry
// declares none and checks its own). Throws Error for an unknown name or a bad parameter.
template <typename Registry>
ModelSpec checked_spec(const Registry& registry, const ModelSpec& spec) {
  const ParamDecls* declared = registry.params(spec.name);
  return declared != nullptr ? spec.checked(*declared) : spec;
}

// Declared parameters of every entry of a registry: (name, help, parameters).
using DeclaredSpecs = std::vector<std::tuple<std::string, std::string, ParamDecls>>;

// `text` ("kd", "neumf:dim=32") with every declared parameter written out in declaration order:
// the given value, else the declared default (for a default derived from other keys or the data,
// "derived-" and a fingerprint of its documented rule, so a changed rule changes the text). Two
// texts that configure the same thing resolve alike ("kd" and "kd:temperature=2"), and a changed
// default changes the result: what a run's identity needs. A name without declarations, or a
// given key they lack, is kept as written. Terms joined by '+' and '@weight' resolve one by one.
std::string resolved_spec_text(const std::string& text, const DeclaredSpecs& declared);

// Weighted terms from "name[:params][@weight]" strings ("kd", "de@0.1", "derrd:de=0.1"); a string
// may join several with '+' ("hint+kd"). Throws Error naming the bad one.
std::vector<std::pair<ModelSpec, double>> parse_weighted_specs(
    const std::vector<std::string>& terms);

}  // namespace recpress
