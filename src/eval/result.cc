#include "eval/result.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/format.h"

namespace recpress {

std::string result_to_json(const EvalResult& r, int indent) {
  nlohmann::ordered_json j;
  j["model"] = r.scorer;
  j["protocol"] = r.protocol;
  j["split"] = r.split;
  j["target"] = r.target;
  j["seed"] = r.seed;
  j["data_checksum"] = r.data_checksum;
  j["users"] = r.users;
  j["metrics"] = r.metrics;
  if (!r.by_popularity.empty()) j["popularity"] = r.by_popularity;
  j["nan_scores"] = r.nan_scores;
  j["seconds"] = r.seconds;
  return j.dump(indent);
}

namespace {

// Metric names in reading order: by metric, then by cut-off as a number (HR@5 before HR@10).
std::vector<std::string> in_cutoff_order(const std::map<std::string, double>& metrics) {
  std::vector<std::string> names;
  for (const auto& [name, _] : metrics) names.push_back(name);
  auto split = [](const std::string& n) {
    const auto at = n.find('@');
    long long k = 0;
    if (at != std::string::npos) k = std::atoll(n.c_str() + at + 1);
    return std::pair<std::string, long long>(n.substr(0, at), k);
  };
  std::stable_sort(names.begin(), names.end(),
                   [&](const std::string& a, const std::string& b) { return split(a) < split(b); });
  return names;
}

}  // namespace

std::string results_table(const std::vector<EvalResult>& results) {
  if (results.empty()) return "";
  const auto names = in_cutoff_order(results.front().metrics);
  std::ostringstream o;
  std::size_t width = 5;
  for (const auto& r : results) width = std::max(width, r.scorer.size());
  auto pad = [](std::string s, std::size_t w) {
    if (s.size() < w) s += std::string(w - s.size(), ' ');
    return s;
  };
  o << pad("model", width);
  for (const auto& name : names) o << "  " << pad(name, std::max<std::size_t>(name.size(), 7));
  o << "\n";
  for (const auto& r : results) {
    o << pad(r.scorer, width);
    for (const auto& name : names) {
      const auto it = r.metrics.find(name);
      o << "  "
        << pad(it == r.metrics.end() ? "-" : fixed(it->second, 4),
               std::max<std::size_t>(name.size(), 7));
    }
    o << "\n";
  }
  return o.str();
}

}  // namespace recpress
