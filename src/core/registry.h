// A registry of factories by name ("deepfm", "kd", ...), with a help line each. Lookup of an
// unknown name throws Error listing the known ones, so a typo in a recipe is one clear line.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"

namespace recpress {

template <typename Factory>
class NamedRegistry {
 public:
  explicit NamedRegistry(std::string what) : what_(std::move(what)) {}
  void add(const std::string& name, const std::string& help, Factory factory) {
    entries_[name] = {help, std::move(factory)};
  }
  const Factory& get(const std::string& name) const {
    const auto it = entries_.find(name);
    if (it == entries_.end()) {
      std::string known;
      for (const auto& [n, _] : entries_) known += (known.empty() ? "" : ", ") + n;
      throw Error("unknown " + what_ + " '" + name + "' (known: " + known + ")");
    }
    return it->second.second;
  }
  std::vector<std::pair<std::string, std::string>> list() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [n, e] : entries_) out.emplace_back(n, e.first);
    return out;
  }

 private:
  std::string what_;
  std::map<std::string, std::pair<std::string, Factory>> entries_;
};

}  // namespace recpress
