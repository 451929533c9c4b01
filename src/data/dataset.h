// The in-memory dataset every loader produces and every later stage consumes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/id_map.h"

namespace recpress {

struct Interaction {
  std::int32_t user = 0;
  std::int32_t item = 0;
  float rating = 1.0f;         // 1 for implicit data
  std::int64_t timestamp = 0;  // seconds, or the line order when the file has no time
};

// A categorical side-feature field of users or items (e.g. gender, genre). Multi-valued fields
// (genres) are stored CSR-style: entity e has values[offsets[e] .. offsets[e+1]).
struct FeatureField {
  std::string name;
  IdMap vocabulary;
  std::vector<std::int64_t> offsets;  // size = number of entities + 1
  std::vector<std::int32_t> values;   // indices into vocabulary

  std::int32_t entity_count() const {
    return offsets.empty() ? 0 : static_cast<std::int32_t>(offsets.size() - 1);
  }
};

struct FeatureTable {
  std::vector<FeatureField> fields;
  const FeatureField* find(const std::string& name) const;
};

struct Dataset {
  std::string name;    // e.g. "ml-100k", "synthetic"
  std::string source;  // path(s) it was read from, or generator parameters
  // How the command line opened and cleaned it (JSON, set by the CLI; "" otherwise): checkpoints
  // keep it so `evaluate` can reopen the same data when --data is omitted.
  std::string open_arguments;
  IdMap users;
  IdMap items;
  std::vector<Interaction> interactions;  // in file order
  bool has_ratings = false;
  bool has_timestamps = false;
  FeatureTable user_features;
  FeatureTable item_features;
  std::vector<std::string> item_titles;  // empty or one per item (UTF-8)

  std::int32_t num_users() const { return users.size(); }
  std::int32_t num_items() const { return items.size(); }
  std::size_t size() const { return interactions.size(); }

  // Checksum of the content (raw ids, ratings, times, in order): recorded with every result so a
  // number can be traced to the exact data it was computed on.
  std::string checksum() const;
};

// Builder helpers used by loaders to attach side features keyed by raw entity id.
class FeatureBuilder {
 public:
  explicit FeatureBuilder(std::string name) { field_.name = std::move(name); }
  // Values for entity `index`; entities may be given in any order, missing ones get no value.
  void set(std::int32_t index, const std::vector<std::string>& tokens);
  FeatureField finish(std::int32_t entity_count);

 private:
  FeatureField field_;
  std::vector<std::vector<std::int32_t>> per_entity_;
};

}  // namespace recpress
