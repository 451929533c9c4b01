// Raw id <-> contiguous index. Kept with the data and with every model so users always see their
// own ids ("1193", "tt0114709", ...) while models use dense 0..n-1 indices.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace recpress {

class IdMap {
 public:
  // Index of `raw`, adding it if new.
  std::int32_t intern(std::string_view raw);
  // Index of `raw` if known.
  std::optional<std::int32_t> find(std::string_view raw) const;
  const std::string& raw(std::int32_t index) const { return raw_[static_cast<std::size_t>(index)]; }
  std::int32_t size() const { return static_cast<std::int32_t>(raw_.size()); }
  const std::vector<std::string>& raw_ids() const { return raw_; }

  // Keep only indices with keep[i] != 0, renumbered in order. Returns old -> new (-1 if dropped).
  std::vector<std::int32_t> compact(const std::vector<char>& keep);
  bool operator==(const IdMap& other) const { return raw_ == other.raw_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::string> raw_;
  std::unordered_map<std::string, std::int32_t, Hash, std::equal_to<>> index_;
};

}  // namespace recpress
