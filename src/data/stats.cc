#include "data/stats.h"

#include <algorithm>
#include <ctime>
#include <sstream>

#include "core/format.h"
#include "data/interaction_matrix.h"

namespace recpress {
namespace {

Distribution describe(std::vector<std::int64_t> v) {
  Distribution d;
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return static_cast<double>(
        v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)]);
  };
  d.min = static_cast<double>(v.front());
  d.max = static_cast<double>(v.back());
  d.p25 = at(0.25);
  d.median = at(0.5);
  d.p75 = at(0.75);
  d.p90 = at(0.9);
  double sum = 0;
  for (auto x : v) sum += static_cast<double>(x);
  d.mean = sum / static_cast<double>(v.size());
  return d;
}

std::string row(const char* label, const Distribution& d) {
  std::ostringstream s;
  s << "  " << label << ": min " << d.min << "  p25 " << d.p25 << "  median " << d.median
    << "  mean " << fixed(d.mean, 1) << "  p75 " << d.p75 << "  p90 " << d.p90 << "  max " << d.max
    << "\n";
  return s.str();
}

std::string date(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace

DatasetStats compute_stats(const Dataset& data) {
  DatasetStats s;
  s.name = data.name;
  s.interactions = static_cast<std::int64_t>(data.size());
  s.users = data.num_users();
  s.items = data.num_items();
  InteractionMatrix m(data.interactions, data.num_users(), data.num_items());
  s.duplicate_pairs = s.interactions - static_cast<std::int64_t>(m.nnz());
  s.density = s.users > 0 && s.items > 0
                  ? static_cast<double>(m.nnz()) /
                        (static_cast<double>(s.users) * static_cast<double>(s.items))
                  : 0.0;
  std::vector<std::int64_t> per_user(static_cast<std::size_t>(s.users), 0),
      per_item(static_cast<std::size_t>(s.items), 0);
  s.first_time = data.interactions.empty() ? 0 : data.interactions.front().timestamp;
  s.last_time = s.first_time;
  for (const auto& x : data.interactions) {
    ++per_user[static_cast<std::size_t>(x.user)];
    ++per_item[static_cast<std::size_t>(x.item)];
    if (data.has_ratings) ++s.ratings[x.rating];
    s.first_time = std::min(s.first_time, x.timestamp);
    s.last_time = std::max(s.last_time, x.timestamp);
  }
  s.per_user = describe(std::move(per_user));
  s.per_item = describe(std::move(per_item));
  s.checksum = data.checksum();
  return s;
}

std::string format_stats(const DatasetStats& s, const Dataset& data) {
  std::ostringstream o;
  o << s.name << ": " << with_commas(s.interactions) << " interactions / " << with_commas(s.users)
    << " users / " << with_commas(s.items) << " items\n";
  o << "  source: " << data.source << "\n";
  o << "  density: " << fixed(100.0 * s.density, 3) << "% (sparsity "
    << fixed(100.0 * (1 - s.density), 3) << "%)";
  if (s.duplicate_pairs > 0)
    o << ", repeated (user, item) pairs: " << with_commas(s.duplicate_pairs);
  o << "\n";
  o << row("interactions per user", s.per_user);
  o << row("interactions per item", s.per_item);
  if (!s.ratings.empty()) {
    o << "  ratings:";
    for (const auto& [r, n] : s.ratings) o << "  " << r << ": " << with_commas(n);
    o << "\n";
  }
  if (data.has_timestamps)
    o << "  time: " << date(s.first_time) << " .. " << date(s.last_time) << "\n";
  auto list_fields = [&](const char* who, const FeatureTable& t) {
    if (t.fields.empty()) return;
    o << "  " << who << " features:";
    for (const auto& f : t.fields) o << " " << f.name << " (" << f.vocabulary.size() << " values)";
    o << "\n";
  };
  list_fields("user", data.user_features);
  list_fields("item", data.item_features);
  o << "  checksum: " << s.checksum << "\n";
  return o.str();
}

}  // namespace recpress
