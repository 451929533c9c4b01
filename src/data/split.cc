#include "data/split.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "core/errors.h"
#include "core/rng.h"
#include "core/text_reader.h"

namespace recpress {
namespace {

void parse_ratios(const std::string& text, SplitConfig& c, const std::string& spec) {
  std::vector<std::string_view> parts;
  split_fields(text, ',', parts);
  if (parts.empty() || parts.size() > 2 || !parse_double(parts[0], c.train_ratio) ||
      (parts.size() == 2 && !parse_double(parts[1], c.valid_ratio))) {
    throw Error("bad split '" + spec + "': expected e.g. temporal:0.8,0.1");
  }
  if (parts.size() == 1) c.valid_ratio = c.validation ? (1.0 - c.train_ratio) / 2.0 : 0.0;
  const double test = 1.0 - c.train_ratio - (c.validation ? c.valid_ratio : 0.0);
  if (c.train_ratio <= 0 || c.valid_ratio < 0 || test <= 1e-9) {
    throw Error("bad split '" + spec +
                "': train and validation ratios must leave room for a test part");
  }
}

// Per-user interaction indices ordered by (time, file position).
std::vector<std::vector<std::size_t>> by_user_in_time_order(const Dataset& data) {
  std::vector<std::vector<std::size_t>> per(static_cast<std::size_t>(data.num_users()));
  for (std::size_t i = 0; i < data.interactions.size(); ++i) {
    per[static_cast<std::size_t>(data.interactions[i].user)].push_back(i);
  }
  for (auto& v : per) {
    std::stable_sort(v.begin(), v.end(), [&](std::size_t a, std::size_t b) {
      return data.interactions[a].timestamp < data.interactions[b].timestamp;
    });
  }
  return per;
}

Split leave_one_out(const Dataset& data, const SplitConfig& c, bool random_holdout) {
  Split s;
  s.config = c;
  const std::size_t held = c.validation ? 2 : 1;
  const auto per = by_user_in_time_order(data);
  for (std::size_t u = 0; u < per.size(); ++u) {
    auto rows = per[u];
    if (rows.empty()) continue;
    if (rows.size() < held + 1) {
      throw DataError(data.source, 0, "user",
                      "user '" + data.users.raw(static_cast<std::int32_t>(u)) + "' has " +
                          std::to_string(rows.size()) + " interaction(s); leave-one-out" +
                          (c.validation ? " with validation" : "") + " needs at least " +
                          std::to_string(held + 1) +
                          " (filter with --min-user-interactions, or split without validation)");
    }
    if (random_holdout) {
      // Move `held` randomly chosen interactions to the end, keeping time order among the rest.
      Rng rng = Rng::derive(c.seed, u);
      for (std::size_t k = 0; k < held; ++k) {
        const std::size_t n = rows.size() - k;
        const std::size_t pick = rng.below(static_cast<std::uint32_t>(n));
        const std::size_t chosen = rows[pick];
        rows.erase(rows.begin() + static_cast<std::ptrdiff_t>(pick));
        rows.push_back(chosen);
      }
    }
    const std::size_t n = rows.size();
    for (std::size_t k = 0; k + held < n; ++k) s.train.push_back(data.interactions[rows[k]]);
    s.test.push_back(data.interactions[rows[n - 1]]);
    if (c.validation) s.valid.push_back(data.interactions[rows[n - 2]]);
  }
  return s;
}

Split ratio_split(const Dataset& data, const SplitConfig& c, bool by_time) {
  Split s;
  s.config = c;
  std::vector<std::size_t> order(data.interactions.size());
  std::iota(order.begin(), order.end(), 0);
  if (by_time) {
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return data.interactions[a].timestamp < data.interactions[b].timestamp;
    });
  } else {
    Rng rng(c.seed);
    shuffle(order.data(), order.size(), rng);
  }
  const auto n = static_cast<double>(order.size());
  const auto n_train = static_cast<std::size_t>(n * c.train_ratio + 0.5);
  const auto n_valid = c.validation ? static_cast<std::size_t>(n * c.valid_ratio + 0.5) : 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto& x = data.interactions[order[k]];
    if (k < n_train) {
      s.train.push_back(x);
    } else if (k < n_train + n_valid) {
      s.valid.push_back(x);
    } else {
      s.test.push_back(x);
    }
  }
  if (s.train.empty() || s.test.empty()) {
    throw Error("split '" + c.to_string() + "' leaves an empty train or test part (" +
                std::to_string(order.size()) + " interactions)");
  }
  return s;
}

}  // namespace

SplitConfig SplitConfig::parse(const std::string& spec_in, std::uint64_t seed) {
  SplitConfig c;
  c.seed = seed;
  std::string spec = spec_in;
  const std::string novalid = "+novalid";
  if (spec.size() > novalid.size() && spec.substr(spec.size() - novalid.size()) == novalid) {
    c.validation = false;
    spec.resize(spec.size() - novalid.size());
  }
  const auto colon = spec.find(':');
  c.method = spec.substr(0, colon);
  if (c.method == "loo" || c.method == "loo_random") {
    if (colon != std::string::npos) throw Error("bad split '" + spec_in + "': loo takes no ratios");
  } else if (c.method == "temporal" || c.method == "random") {
    if (colon == std::string::npos) {
      if (!c.validation) c.valid_ratio = 0.0;
    } else {
      parse_ratios(spec.substr(colon + 1), c, spec_in);
    }
  } else {
    throw Error("unknown split '" + spec_in +
                "' (expected loo, loo_random, temporal[:train,valid] or random[:train,valid], "
                "optionally with +novalid)");
  }
  return c;
}

std::string SplitConfig::to_string() const {
  std::string s = method;
  if (method == "temporal" || method == "random") {
    char buf[64];
    std::snprintf(buf, sizeof buf, ":%g,%g", train_ratio, validation ? valid_ratio : 0.0);
    s += buf;
  }
  if (!validation) s += "+novalid";
  return s;
}

Split make_split(const Dataset& data, const SplitConfig& config) {
  if (data.interactions.empty()) throw Error("cannot split an empty dataset");
  if (config.method == "loo") return leave_one_out(data, config, false);
  if (config.method == "loo_random") return leave_one_out(data, config, true);
  if (config.method == "temporal") return ratio_split(data, config, true);
  if (config.method == "random") return ratio_split(data, config, false);
  throw Error("unknown split method '" + config.method + "'");
}

}  // namespace recpress
