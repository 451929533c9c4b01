#include "data/id_map.h"

namespace recpress {

std::int32_t IdMap::intern(std::string_view raw) {
  const auto it = index_.find(raw);
  if (it != index_.end()) return it->second;
  const auto id = static_cast<std::int32_t>(raw_.size());
  raw_.emplace_back(raw);
  index_.emplace(raw_.back(), id);
  return id;
}

std::optional<std::int32_t> IdMap::find(std::string_view raw) const {
  const auto it = index_.find(raw);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::int32_t> IdMap::compact(const std::vector<char>& keep) {
  std::vector<std::int32_t> remap(raw_.size(), -1);
  std::vector<std::string> kept;
  for (std::size_t i = 0; i < raw_.size(); ++i) {
    if (i < keep.size() && keep[i]) {
      remap[i] = static_cast<std::int32_t>(kept.size());
      kept.push_back(std::move(raw_[i]));
    }
  }
  raw_ = std::move(kept);
  index_.clear();
  index_.reserve(raw_.size());
  for (std::size_t i = 0; i < raw_.size(); ++i)
    index_.emplace(raw_[i], static_cast<std::int32_t>(i));
  return remap;
}

}  // namespace recpress
