#include "eval/result.h"

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
  j["nan_scores"] = r.nan_scores;
  j["seconds"] = r.seconds;
  return j.dump(indent);
}

std::string results_table(const std::vector<EvalResult>& results) {
  if (results.empty()) return "";
  std::ostringstream o;
  std::size_t width = 5;
  for (const auto& r : results) width = std::max(width, r.scorer.size());
  auto pad = [](std::string s, std::size_t w) {
    if (s.size() < w) s += std::string(w - s.size(), ' ');
    return s;
  };
  o << pad("model", width);
  for (const auto& [name, _] : results.front().metrics)
    o << "  " << pad(name, std::max<std::size_t>(name.size(), 7));
  o << "\n";
  for (const auto& r : results) {
    o << pad(r.scorer, width);
    for (const auto& [name, _] : results.front().metrics) {
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
