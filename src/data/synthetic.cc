#include "data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "core/errors.h"
#include "core/rng.h"
#include "core/text_reader.h"

namespace recpress {
namespace {}  // namespace

SyntheticConfig SyntheticConfig::parse(const std::string& spec) {
  SyntheticConfig c;
  if (spec == "synthetic") return c;
  if (spec.rfind("synthetic:", 0) != 0) throw Error("not a synthetic spec: '" + spec + "'");
  std::vector<std::string_view> pairs;
  const std::string body = spec.substr(10);
  split_fields(body, ',', pairs);
  for (auto pair : pairs) {
    if (trim(pair).empty()) continue;
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos)
      throw Error("synthetic: expected key=value, got '" + std::string(pair) + "'");
    const std::string key(trim(pair.substr(0, eq)));
    const std::string_view value = trim(pair.substr(eq + 1));
    double v = 0;
    if (!parse_double(value, v))
      throw Error("synthetic: " + key + " must be a number, got '" + std::string(value) + "'");
    auto as_int = [&]() {
      if (v != std::floor(v) || std::abs(v) > 2e9)
        throw Error("synthetic: " + key + " must be an integer");
      return static_cast<std::int32_t>(v);
    };
    if (key == "users")
      c.users = as_int();
    else if (key == "items")
      c.items = as_int();
    else if (key == "mean")
      c.mean_interactions = v;
    else if (key == "min")
      c.min_interactions = as_int();
    else if (key == "zipf")
      c.zipf = v;
    else if (key == "activity_sigma")
      c.activity_sigma = v;
    else if (key == "clusters")
      c.clusters = as_int();
    else if (key == "dim")
      c.dim = as_int();
    else if (key == "sharpness")
      c.sharpness = v;
    else if (key == "markov")
      c.markov = v;
    else if (key == "successors")
      c.successors = as_int();
    else if (key == "seed")
      c.seed = static_cast<std::uint64_t>(as_int());
    else {
      throw Error("synthetic: unknown key '" + key +
                  "' (known: users, items, mean, min, zipf, activity_sigma, clusters, dim, "
                  "sharpness, markov, successors, seed)");
    }
  }
  c.validate();
  return c;
}

void SyntheticConfig::validate() const {
  if (users < 1) throw Error("synthetic: users must be >= 1");
  if (items < 2) throw Error("synthetic: items must be >= 2");
  if (min_interactions < 1) throw Error("synthetic: min must be >= 1");
  if (min_interactions > items / 2) throw Error("synthetic: min must be <= items/2");
  if (mean_interactions < min_interactions) throw Error("synthetic: mean must be >= min");
  if (zipf < 0 || activity_sigma < 0 || sharpness < 0)
    throw Error("synthetic: zipf, activity_sigma, sharpness must be >= 0");
  if (clusters < 1 || dim < 1) throw Error("synthetic: clusters and dim must be >= 1");
  if (markov < 0 || markov > 1) throw Error("synthetic: markov must be in [0, 1]");
  if (successors < 1) throw Error("synthetic: successors must be >= 1");
}

std::string SyntheticConfig::to_string() const {
  std::ostringstream s;
  s << "synthetic:users=" << users << ",items=" << items << ",mean=" << mean_interactions
    << ",min=" << min_interactions << ",zipf=" << zipf << ",activity_sigma=" << activity_sigma
    << ",clusters=" << clusters << ",dim=" << dim << ",sharpness=" << sharpness
    << ",markov=" << markov << ",successors=" << successors << ",seed=" << seed;
  return s.str();
}

namespace {

// Weighted draw from a cumulative table.
std::int32_t draw_cumulative(const std::vector<double>& cumulative, Rng& rng) {
  const double r = rng.uniform() * cumulative.back();
  const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), r);
  return static_cast<std::int32_t>(std::min<std::ptrdiff_t>(
      it - cumulative.begin(), static_cast<std::ptrdiff_t>(cumulative.size()) - 1));
}

}  // namespace

Dataset generate_synthetic(const SyntheticConfig& c) {
  c.validate();
  Rng rng(c.seed);
  const auto d = static_cast<std::size_t>(c.dim);
  const auto n_items = static_cast<std::size_t>(c.items);
  const auto n_clusters = static_cast<std::size_t>(c.clusters);

  std::vector<double> centres(n_clusters * d);
  for (auto& x : centres) x = rng.normal();

  // Items: cluster, latent vector, Zipf popularity over a random rank permutation.
  std::vector<std::int32_t> item_cluster(n_items);
  std::vector<double> item_vec(n_items * d), popularity(n_items);
  std::vector<std::size_t> rank(n_items);
  std::iota(rank.begin(), rank.end(), 0);
  shuffle(rank.data(), rank.size(), rng);
  for (std::size_t i = 0; i < n_items; ++i) {
    item_cluster[i] = static_cast<std::int32_t>(rng.below(static_cast<std::uint32_t>(n_clusters)));
    for (std::size_t k = 0; k < d; ++k) {
      item_vec[i * d + k] =
          centres[static_cast<std::size_t>(item_cluster[i]) * d + k] + 0.6 * rng.normal();
    }
    popularity[i] = 1.0 / std::pow(static_cast<double>(rank[i]) + 1.0, c.zipf);
  }
  // Successors: a few same-cluster items per item (popularity-weighted), for Markov structure.
  std::vector<std::vector<std::int32_t>> members(n_clusters);
  for (std::size_t i = 0; i < n_items; ++i)
    members[static_cast<std::size_t>(item_cluster[i])].push_back(static_cast<std::int32_t>(i));
  std::vector<std::vector<std::int32_t>> successors(n_items);
  for (std::size_t i = 0; i < n_items; ++i) {
    const auto& pool = members[static_cast<std::size_t>(item_cluster[i])];
    for (std::int32_t k = 0; k < c.successors && pool.size() > 1; ++k) {
      std::int32_t j = pool[rng.below(static_cast<std::uint32_t>(pool.size()))];
      if (static_cast<std::size_t>(j) != i) successors[i].push_back(j);
    }
  }

  Dataset data;
  data.name = "synthetic";
  data.source = c.to_string();
  data.has_ratings = true;
  data.has_timestamps = true;
  FeatureBuilder segment("segment"), age("age"), category("category"), pop_band("popularity_band");
  std::vector<double> user_vec(d), weights(n_items), cumulative(n_items), affinity(n_items);
  std::vector<char> seen(n_items, 0);
  std::vector<std::int32_t> sequence;
  const double scale = c.sharpness / std::sqrt(static_cast<double>(d));
  for (std::int32_t u = 0; u < c.users; ++u) {
    // A user's taste mixes a main and a secondary cluster: the data is not one-hot by cluster.
    const std::size_t main = rng.below(static_cast<std::uint32_t>(n_clusters));
    const std::size_t second = rng.below(static_cast<std::uint32_t>(n_clusters));
    for (std::size_t k = 0; k < d; ++k) {
      user_vec[k] =
          0.75 * centres[main * d + k] + 0.35 * centres[second * d + k] + 0.5 * rng.normal();
    }
    double total = 0, mean_aff = 0, sq_aff = 0;
    for (std::size_t i = 0; i < n_items; ++i) {
      double dot = 0;
      for (std::size_t k = 0; k < d; ++k) dot += user_vec[k] * item_vec[i * d + k];
      affinity[i] = dot * scale;
      mean_aff += affinity[i];
      sq_aff += affinity[i] * affinity[i];
      weights[i] = popularity[i] * std::exp(std::min(affinity[i], 50.0));
      total += weights[i];
      cumulative[i] = total;
    }
    mean_aff /= static_cast<double>(n_items);
    const double sd_aff =
        std::sqrt(std::max(1e-12, sq_aff / static_cast<double>(n_items) - mean_aff * mean_aff));
    const double activity =
        c.mean_interactions *
        std::exp(c.activity_sigma * rng.normal() - 0.5 * c.activity_sigma * c.activity_sigma);
    const auto count = static_cast<std::int32_t>(std::clamp<double>(
        std::round(activity), c.min_interactions, static_cast<double>(c.items) / 2));
    sequence.clear();
    bool stale = false;
    while (static_cast<std::int32_t>(sequence.size()) < count) {
      std::int32_t next = -1;
      if (!sequence.empty() && rng.uniform() < c.markov) {
        const auto& succ = successors[static_cast<std::size_t>(sequence.back())];
        if (!succ.empty()) {
          const std::int32_t cand = succ[rng.below(static_cast<std::uint32_t>(succ.size()))];
          if (!seen[static_cast<std::size_t>(cand)]) next = cand;
        }
      }
      while (next < 0) {
        const std::int32_t cand = draw_cumulative(cumulative, rng);
        if (!seen[static_cast<std::size_t>(cand)]) {
          next = cand;
        } else if (stale) {
          // Drew an item already taken: rebuild the table without taken items, so a user whose
          // taste is concentrated on a few items cannot stall the generator.
          double running = 0;
          for (std::size_t i = 0; i < n_items; ++i) {
            running += seen[i] ? 0.0 : weights[i];
            cumulative[i] = running;
          }
          stale = false;
          if (running <= 0) {  // every weighted item taken: any unseen item will do
            for (std::size_t i = 0; i < n_items && next < 0; ++i) {
              if (!seen[i]) next = static_cast<std::int32_t>(i);
            }
          }
        }
      }
      seen[static_cast<std::size_t>(next)] = 1;
      stale = true;
      sequence.push_back(next);
    }
    const std::string uid = "u" + std::to_string(u + 1);
    std::int64_t t = 1'000'000'000LL + static_cast<std::int64_t>(rng.below(86'400 * 365));
    for (const auto i : sequence) {
      seen[static_cast<std::size_t>(i)] = 0;
      const double z = (affinity[static_cast<std::size_t>(i)] - mean_aff) / sd_aff;
      const double rating = std::clamp(std::round(3.0 + 0.9 * z + 0.7 * rng.normal()), 1.0, 5.0);
      t += 60 + static_cast<std::int64_t>(rng.below(7200));
      Interaction x;
      x.user = data.users.intern(uid);
      x.item = data.items.intern("i" + std::to_string(i + 1));
      x.rating = static_cast<float>(rating);
      x.timestamp = t;
      data.interactions.push_back(x);
    }
    const std::int32_t uidx = data.users.intern(uid);
    // Features agree with the latent taste most of the time, so they carry real signal.
    const std::size_t shown =
        rng.uniform() < 0.8 ? main : rng.below(static_cast<std::uint32_t>(n_clusters));
    segment.set(uidx, {"s" + std::to_string(shown)});
    age.set(uidx, {"a" + std::to_string((main + rng.below(2)) % 5)});
  }
  for (std::int32_t idx = 0; idx < data.num_items(); ++idx) {
    const std::size_t i = static_cast<std::size_t>(std::stoi(data.items.raw(idx).substr(1)) - 1);
    const std::int32_t shown =
        rng.uniform() < 0.9
            ? item_cluster[i]
            : static_cast<std::int32_t>(rng.below(static_cast<std::uint32_t>(n_clusters)));
    category.set(idx, {"c" + std::to_string(shown)});
    pop_band.set(
        idx,
        {"p" + std::to_string(static_cast<int>(std::log2(static_cast<double>(rank[i]) + 1.0)))});
  }
  data.user_features.fields.push_back(segment.finish(data.num_users()));
  data.user_features.fields.push_back(age.finish(data.num_users()));
  data.item_features.fields.push_back(category.finish(data.num_items()));
  data.item_features.fields.push_back(pop_band.finish(data.num_items()));
  return data;
}

}  // namespace recpress
