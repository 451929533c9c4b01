#include "data/negative_sampler.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "core/text_reader.h"

namespace recpress {

AliasTable::AliasTable(const std::vector<double>& weights) {
  const std::size_t n = weights.size();
  if (n == 0) throw Error("alias table needs at least one weight");
  double total = 0;
  for (double w : weights) {
    if (!(w >= 0)) throw Error("alias table weights must be non-negative");
    total += w;
  }
  if (total <= 0) throw Error("alias table weights sum to zero");
  prob_.assign(n, 0.0);
  alias_.assign(n, 0);
  std::vector<double> scaled(n);
  std::vector<std::int32_t> small, large;
  for (std::size_t i = 0; i < n; ++i) {
    scaled[i] = weights[i] * static_cast<double>(n) / total;
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<std::int32_t>(i));
  }
  while (!small.empty() && !large.empty()) {
    const auto s = small.back();
    small.pop_back();
    const auto l = large.back();
    prob_[static_cast<std::size_t>(s)] = scaled[static_cast<std::size_t>(s)];
    alias_[static_cast<std::size_t>(s)] = l;
    scaled[static_cast<std::size_t>(l)] += scaled[static_cast<std::size_t>(s)] - 1.0;
    if (scaled[static_cast<std::size_t>(l)] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  for (auto i : large) prob_[static_cast<std::size_t>(i)] = 1.0;
  for (auto i : small) prob_[static_cast<std::size_t>(i)] = 1.0;  // rounding leftovers
}

NegativeSampler::NegativeSampler(const InteractionMatrix& positives, Kind kind, double alpha,
                                 const std::vector<std::int64_t>& popularity)
    : positives_(&positives),
      kind_(kind),
      num_items_(static_cast<std::uint32_t>(positives.num_items())) {
  if (num_items_ == 0) throw Error("negative sampler: no items");
  if (kind_ == Kind::kPopularity) {
    const auto counts = popularity.empty() ? positives.item_counts() : popularity;
    if (counts.size() != num_items_) throw Error("negative sampler: popularity size != item count");
    std::vector<double> w(counts.size());
    // +1 smoothing: an item never seen in training can still be drawn as a negative.
    for (std::size_t i = 0; i < counts.size(); ++i)
      w[i] = std::pow(static_cast<double>(counts[i]) + 1.0, alpha);
    alias_ = AliasTable(w);
  }
}

NegativeSampler::Spec NegativeSampler::parse_spec(const std::string& spec) {
  if (spec == "uniform") return {Kind::kUniform, 1.0};
  if (spec.rfind("popularity", 0) == 0) {
    double alpha = 1.0;
    if (spec.size() > 10) {
      if (spec[10] != ':' || !parse_double(spec.substr(11), alpha)) {
        throw Error("bad sampler '" + spec + "' (expected popularity or popularity:ALPHA)");
      }
    }
    return {Kind::kPopularity, alpha};
  }
  throw Error("unknown sampler '" + spec + "' (expected uniform, popularity or popularity:ALPHA)");
}

NegativeSampler NegativeSampler::from_spec(const InteractionMatrix& positives,
                                           const std::string& spec) {
  const Spec s = parse_spec(spec);
  return NegativeSampler(positives, s.kind, s.alpha);
}

std::int32_t NegativeSampler::sample(std::int32_t user, Rng& rng) const {
  const auto row = positives_->row(user);
  // Rejection is fast while the user holds a small share of the catalog; after many misses we
  // fall back to drawing from the explicit complement so dense users cannot stall training.
  for (int attempt = 0; attempt < 64; ++attempt) {
    const std::int32_t item = draw(rng);
    if (!std::binary_search(row.begin(), row.end(), item)) return item;
  }
  return sample_slow(user, rng);
}

std::int32_t NegativeSampler::sample_slow(std::int32_t user, Rng& rng) const {
  const auto row = positives_->row(user);
  if (row.size() >= num_items_) {
    throw Error("user index " + std::to_string(user) +
                " has interacted with every item; no negative can be sampled");
  }
  std::vector<std::int32_t> complement;
  std::vector<double> weights;
  complement.reserve(num_items_ - row.size());
  std::size_t k = 0;
  for (std::int32_t i = 0; i < static_cast<std::int32_t>(num_items_); ++i) {
    while (k < row.size() && row[k] < i) ++k;
    if (k < row.size() && row[k] == i) continue;
    complement.push_back(i);
  }
  if (kind_ == Kind::kUniform)
    return complement[rng.below(static_cast<std::uint32_t>(complement.size()))];
  // Popularity: rejection on the alias table already failed 64 times; keep drawing from it,
  // accepting only complement members (their relative weights are preserved).
  for (;;) {
    const std::int32_t item = alias_.sample(rng);
    if (!std::binary_search(row.begin(), row.end(), item)) return item;
  }
}

void NegativeSampler::sample_many(const std::int32_t* users, std::size_t n, int per_user,
                                  std::int32_t* out, Rng& rng) const {
  for (std::size_t i = 0; i < n; ++i) {
    for (int j = 0; j < per_user; ++j)
      out[i * static_cast<std::size_t>(per_user) + static_cast<std::size_t>(j)] =
          sample(users[i], rng);
  }
}

}  // namespace recpress
