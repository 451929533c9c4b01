// Held-out items and the candidate lists the sampled protocols score.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/split.h"
#include "eval/protocol.h"

namespace recpress {

// Per evaluated user, the held-out (relevant) items. CSR over `users`.
struct HoldOut {
  std::vector<std::int32_t> users;
  std::vector<std::int64_t> offsets{0};
  std::vector<std::int32_t> items;

  std::span<const std::int32_t> of(std::size_t k) const {
    return {items.data() + offsets[k], static_cast<std::size_t>(offsets[k + 1] - offsets[k])};
  }
  std::size_t size() const { return users.size(); }
};
HoldOut make_holdout(const Split& split, EvalTarget target, std::int32_t num_users);

// Per evaluated user, a candidate list (relevant items first, then negatives).
struct CandidateSet {
  std::string protocol;
  std::uint64_t seed = 0;
  std::string data_checksum;
  std::string target;
  std::vector<std::int32_t> users;
  std::vector<std::int64_t> offsets{0};
  std::vector<std::int32_t> items;
  std::vector<std::uint8_t> relevant;

  std::size_t size() const { return users.size(); }
  std::span<const std::int32_t> items_of(std::size_t k) const {
    return {items.data() + offsets[k], static_cast<std::size_t>(offsets[k + 1] - offsets[k])};
  }
  std::span<const std::uint8_t> relevant_of(std::size_t k) const {
    return {relevant.data() + offsets[k], static_cast<std::size_t>(offsets[k + 1] - offsets[k])};
  }
};

// Draw negatives for a sampled protocol. Deterministic in (data, split, target, protocol, seed).
// Throws Error if a user has fewer non-interacted items than the protocol asks for.
CandidateSet draw_candidates(const Dataset& data, const Split& split, EvalTarget target,
                             const Protocol& protocol, std::uint64_t seed);

// Published negatives (NCF's "(user,item)\tneg..." file) mapped through the dataset's id maps.
// Each row's positive must be that user's held-out item; unknown ids and negatives the user has
// interacted with are errors naming the file and line.
CandidateSet load_published_candidates(const std::string& path, const Dataset& data,
                                       const Split& split, EvalTarget target);

// Save / reload drawn candidates (raw ids, with protocol, seed and data checksum in the header),
// so exactly the same candidates can be reused by later runs and other tools.
void save_candidates(const CandidateSet& set, const Dataset& data, const std::string& path);
// Throws DataError if the file is malformed or was drawn for different data.
CandidateSet load_candidates(const std::string& path, const Dataset& data);

}  // namespace recpress
