// A registry of factories by name ("deepfm", "kd", ...), with a help line each and, for entries
// that declare them, their parameters (core/params.h). Lookup of an unknown name throws Error
// listing the known ones, so a typo in a recipe is one clear line.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "core/params.h"

namespace recpress {

template <typename Factory>
class NamedRegistry {
 public:
  explicit NamedRegistry(std::string what) : what_(std::move(what)) {}
  void add(const std::string& name, const std::string& help, Factory factory) {
    entries_[name] = {help, std::move(factory), std::nullopt};
  }
  void add(const std::string& name, const std::string& help, ParamDecls params, Factory factory) {
    entries_[name] = {help, std::move(factory), std::move(params)};
  }
  // `params` empty (std::nullopt): the entry checks its own parameters.
  void add(const std::string& name, const std::string& help, std::optional<ParamDecls> params,
           Factory factory) {
    entries_[name] = {help, std::move(factory), std::move(params)};
  }
  const Factory& get(const std::string& name) const { return entry(name).factory; }
  // The entry's declared parameters; nullptr when it declares none (it checks its own).
  const ParamDecls* params(const std::string& name) const {
    const auto& p = entry(name).params;
    return p ? &*p : nullptr;
  }
  // name, help (with the declared defaults: "DeepFM (dim=16, hidden=400-400-400, dropout=0.5)").
  std::vector<std::pair<std::string, std::string>> list() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [n, e] : entries_) {
      std::string help = e.help;
      if (e.params && !e.params->empty()) help += " (" + params_summary(*e.params) + ")";
      out.emplace_back(n, help);
    }
    return out;
  }
  // name, help, declared parameters of every entry (empty when it declares none or checks its
  // own), for the generated references (docs/recipes.md, docs/catalogue.md).
  std::vector<std::tuple<std::string, std::string, ParamDecls>> declared() const {
    std::vector<std::tuple<std::string, std::string, ParamDecls>> out;
    for (const auto& [n, e] : entries_)
      out.emplace_back(n, e.help, e.params ? *e.params : ParamDecls{});
    return out;
  }

 private:
  struct Entry {
    std::string help;
    Factory factory;
    std::optional<ParamDecls> params;
  };
  const Entry& entry(const std::string& name) const {
    const auto it = entries_.find(name);
    if (it == entries_.end()) {
      std::string known;
      for (const auto& [n, _] : entries_) known += (known.empty() ? "" : ", ") + n;
      throw Error("unknown " + what_ + " '" + name + "' (known: " + known + ")");
    }
    return it->second;
  }
  std::string what_;
  std::map<std::string, Entry> entries_;
};

}  // namespace recpress
