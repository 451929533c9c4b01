#include "data/dataset.h"

#include "core/hash.h"

namespace recpress {

const FeatureField* FeatureTable::find(const std::string& name) const {
  for (const auto& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string Dataset::checksum() const {
  Fnv1a h;
  for (const auto& x : interactions) {
    h.add(users.raw(x.user));
    h.add(items.raw(x.item));
    h.add_value(x.rating);
    h.add_value(x.timestamp);
  }
  return h.hex();
}

void FeatureBuilder::set(std::int32_t index, const std::vector<std::string>& tokens) {
  if (index < 0) return;
  if (static_cast<std::size_t>(index) >= per_entity_.size()) per_entity_.resize(index + 1);
  auto& vals = per_entity_[static_cast<std::size_t>(index)];
  vals.clear();
  for (const auto& t : tokens) vals.push_back(field_.vocabulary.intern(t));
}

FeatureField FeatureBuilder::finish(std::int32_t entity_count) {
  per_entity_.resize(static_cast<std::size_t>(entity_count));
  field_.offsets.assign(1, 0);
  for (const auto& vals : per_entity_) {
    field_.values.insert(field_.values.end(), vals.begin(), vals.end());
    field_.offsets.push_back(static_cast<std::int64_t>(field_.values.size()));
  }
  return std::move(field_);
}

}  // namespace recpress
