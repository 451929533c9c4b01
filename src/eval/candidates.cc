#include "eval/candidates.h"

#include <algorithm>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/rng.h"
#include "core/text_reader.h"
#include "data/interaction_matrix.h"
#include "data/loader.h"
#include "data/negative_sampler.h"

namespace recpress {

HoldOut make_holdout(const Split& split, EvalTarget target, std::int32_t num_users) {
  const auto& part = target == EvalTarget::kValid ? split.valid : split.test;
  InteractionMatrix m(part, num_users, 0);
  HoldOut h;
  for (std::int32_t u = 0; u < num_users; ++u) {
    const auto row = m.row(u);
    if (row.empty()) continue;
    h.users.push_back(u);
    h.items.insert(h.items.end(), row.begin(), row.end());
    h.offsets.push_back(static_cast<std::int64_t>(h.items.size()));
  }
  return h;
}

namespace {

// Draw `n` distinct items not in `excluded` (sorted) from `draw`, falling back to an explicit
// complement when rejection stalls (users who hold much of the catalog).
template <typename Draw>
void draw_distinct(std::span<const std::int32_t> excluded, std::int32_t num_items, std::int32_t n,
                   Rng& rng, Draw draw, std::vector<std::uint8_t>& taken,
                   std::vector<std::int32_t>& out) {
  const std::size_t start = out.size();
  std::int64_t budget = 64LL * n + 1000;
  while (static_cast<std::int32_t>(out.size() - start) < n && budget-- > 0) {
    const std::int32_t item = draw(rng);
    if (taken[static_cast<std::size_t>(item)]) continue;
    if (std::binary_search(excluded.begin(), excluded.end(), item)) continue;
    taken[static_cast<std::size_t>(item)] = 1;
    out.push_back(item);
  }
  if (static_cast<std::int32_t>(out.size() - start) < n) {
    std::vector<std::int32_t> rest;
    for (std::int32_t i = 0; i < num_items; ++i) {
      if (!taken[static_cast<std::size_t>(i)] &&
          !std::binary_search(excluded.begin(), excluded.end(), i)) {
        rest.push_back(i);
      }
    }
    shuffle(rest.data(), rest.size(), rng);
    for (std::size_t k = 0; k < rest.size() && static_cast<std::int32_t>(out.size() - start) < n;
         ++k) {
      taken[static_cast<std::size_t>(rest[k])] = 1;
      out.push_back(rest[k]);
    }
  }
  for (std::size_t k = start; k < out.size(); ++k) taken[static_cast<std::size_t>(out[k])] = 0;
}

}  // namespace

CandidateSet draw_candidates(const Dataset& data, const Split& split, EvalTarget target,
                             const Protocol& protocol, std::uint64_t seed) {
  if (protocol.kind != Protocol::Kind::kSampled)
    throw Error("draw_candidates: protocol is not sampled");
  const HoldOut holdout = make_holdout(split, target, data.num_users());
  // Everything the user ever interacted with is excluded, not just the training items.
  const InteractionMatrix all(data.interactions, data.num_users(), data.num_items());
  AliasTable popularity;
  if (protocol.sampler == "popularity") {
    const InteractionMatrix train(split.train, data.num_users(), data.num_items());
    const auto counts = train.item_counts();
    std::vector<double> w(counts.begin(), counts.end());
    popularity = AliasTable(w);
  }
  CandidateSet set;
  set.protocol = protocol.to_string();
  set.seed = seed;
  set.data_checksum = data.checksum();
  set.target = to_string(target);
  std::vector<std::uint8_t> taken(static_cast<std::size_t>(data.num_items()), 0);
  const auto num_items = static_cast<std::uint32_t>(data.num_items());
  for (std::size_t k = 0; k < holdout.size(); ++k) {
    const std::int32_t u = holdout.users[k];
    const auto excluded = all.row(u);
    const auto available =
        static_cast<std::int64_t>(data.num_items()) - static_cast<std::int64_t>(excluded.size());
    if (available < protocol.negatives) {
      throw Error("user '" + data.users.raw(u) + "' has only " + std::to_string(available) +
                  " items they never interacted with; protocol " + set.protocol + " needs " +
                  std::to_string(protocol.negatives));
    }
    set.users.push_back(u);
    for (auto i : holdout.of(k)) {
      set.items.push_back(i);
      set.relevant.push_back(1);
    }
    // One independent stream per user: the candidates of a user do not depend on other users.
    Rng rng = Rng::derive(seed, static_cast<std::uint64_t>(u) + 0x5eed);
    const std::size_t before = set.items.size();
    if (protocol.sampler == "uniform") {
      draw_distinct(
          excluded, data.num_items(), protocol.negatives, rng,
          [&](Rng& r) { return static_cast<std::int32_t>(r.below(num_items)); }, taken, set.items);
    } else {
      draw_distinct(
          excluded, data.num_items(), protocol.negatives, rng,
          [&](Rng& r) { return popularity.sample(r); }, taken, set.items);
    }
    set.relevant.insert(set.relevant.end(), set.items.size() - before, 0);
    set.offsets.push_back(static_cast<std::int64_t>(set.items.size()));
  }
  return set;
}

CandidateSet load_published_candidates(const std::string& path, const Dataset& data,
                                       const Split& split, EvalTarget target) {
  const auto rows = read_ncf_negatives(path);
  const HoldOut holdout = make_holdout(split, target, data.num_users());
  std::vector<std::int64_t> slot(static_cast<std::size_t>(data.num_users()), -1);
  for (std::size_t k = 0; k < holdout.size(); ++k)
    slot[static_cast<std::size_t>(holdout.users[k])] = static_cast<std::int64_t>(k);
  const InteractionMatrix all(data.interactions, data.num_users(), data.num_items());
  CandidateSet set;
  set.protocol = "file:" + path;
  set.data_checksum = data.checksum();
  set.target = to_string(target);
  std::vector<std::uint8_t> seen(static_cast<std::size_t>(data.num_users()), 0);
  for (const auto& row : rows) {
    const auto u = data.users.find(row.user);
    if (!u)
      throw DataError(path, row.line, "user",
                      "unknown user '" + row.user + "' (not in the dataset)");
    const auto pos = data.items.find(row.positive);
    if (!pos) throw DataError(path, row.line, "item", "unknown item '" + row.positive + "'");
    const auto k = slot[static_cast<std::size_t>(*u)];
    if (k < 0)
      throw DataError(path, row.line, "user",
                      "user '" + row.user + "' has no held-out item in this split");
    const auto held = holdout.of(static_cast<std::size_t>(k));
    if (!std::binary_search(held.begin(), held.end(), *pos)) {
      throw DataError(path, row.line, "item",
                      "item '" + row.positive + "' is not user '" + row.user +
                          "''s held-out item in this split");
    }
    if (seen[static_cast<std::size_t>(*u)]++)
      throw DataError(path, row.line, "user", "user '" + row.user + "' appears twice");
    set.users.push_back(*u);
    set.items.push_back(*pos);
    set.relevant.push_back(1);
    for (std::size_t j = 0; j < row.negatives.size(); ++j) {
      const auto neg = data.items.find(row.negatives[j]);
      if (!neg) {
        throw DataError(path, row.line, "negative " + std::to_string(j + 1),
                        "unknown item '" + row.negatives[j] + "'");
      }
      if (all.contains(*u, *neg)) {
        throw DataError(
            path, row.line, "negative " + std::to_string(j + 1),
            "item '" + row.negatives[j] + "' is one user '" + row.user + "' interacted with");
      }
      set.items.push_back(*neg);
      set.relevant.push_back(0);
    }
    set.offsets.push_back(static_cast<std::int64_t>(set.items.size()));
  }
  return set;
}

void save_candidates(const CandidateSet& set, const Dataset& data, const std::string& path) {
  std::string out = "# recpress candidates v1\n# protocol=" + set.protocol +
                    "\tseed=" + std::to_string(set.seed) + "\ttarget=" + set.target +
                    "\tchecksum=" + set.data_checksum + "\n";
  for (std::size_t k = 0; k < set.size(); ++k) {
    const auto items = set.items_of(k);
    const auto rel = set.relevant_of(k);
    std::size_t n_rel = 0;
    for (auto r : rel) n_rel += r;
    out += data.users.raw(set.users[k]) + "\t" + std::to_string(n_rel);
    for (std::size_t j = 0; j < items.size(); ++j) {
      if ((j < n_rel) != (rel[j] != 0))
        throw Error("save_candidates: relevant items must come first");
      out += "\t" + data.items.raw(items[j]);
    }
    out += "\n";
  }
  write_file_atomic(path, out);
}

CandidateSet load_candidates(const std::string& path, const Dataset& data) {
  TextReader reader(path);
  std::string_view line;
  if (!reader.next_line(line) || line != "# recpress candidates v1") {
    throw DataError(path, 1, "", "not a recpress candidates file");
  }
  CandidateSet set;
  if (!reader.next_line(line) || line.rfind("# ", 0) != 0)
    throw DataError(path, 2, "", "missing header line");
  std::vector<std::string_view> f;
  split_fields(line.substr(2), '\t', f);
  for (auto kv : f) {
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos)
      throw DataError(path, 2, std::string(kv), "expected key=value");
    const auto key = kv.substr(0, eq);
    const std::string value(kv.substr(eq + 1));
    long long seed = 0;
    if (key == "protocol")
      set.protocol = value;
    else if (key == "target")
      set.target = value;
    else if (key == "checksum")
      set.data_checksum = value;
    else if (key == "seed" && parse_int64(value, seed))
      set.seed = static_cast<std::uint64_t>(seed);
    else
      throw DataError(path, 2, std::string(key), "unexpected header field");
  }
  if (set.data_checksum != data.checksum()) {
    throw DataError(path, 2, "checksum",
                    "candidates were drawn for other data (checksum " + set.data_checksum +
                        ", this data " + data.checksum() + ")");
  }
  while (reader.next_line(line)) {
    if (line.empty()) continue;
    split_fields(line, '\t', f);
    long long n_rel = 0;
    if (f.size() < 3 || !parse_int64(f[1], n_rel) || n_rel < 1 ||
        static_cast<std::size_t>(n_rel) > f.size() - 2) {
      throw DataError(path, reader.line_number(), "",
                      "expected user, count of relevant items, items");
    }
    const auto u = data.users.find(f[0]);
    if (!u)
      throw DataError(path, reader.line_number(), "user", "unknown user " + quote_excerpt(f[0]));
    set.users.push_back(*u);
    for (std::size_t j = 2; j < f.size(); ++j) {
      const auto i = data.items.find(f[j]);
      if (!i)
        throw DataError(path, reader.line_number(), "item", "unknown item " + quote_excerpt(f[j]));
      set.items.push_back(*i);
      set.relevant.push_back(j - 2 < static_cast<std::size_t>(n_rel) ? 1 : 0);
    }
    set.offsets.push_back(static_cast<std::int64_t>(set.items.size()));
  }
  if (set.users.empty()) throw DataError(path, 0, "", "no candidate rows");
  return set;
}

}  // namespace recpress
