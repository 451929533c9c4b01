// Internal to the runtime (not installed): the .rpm header's constants and readers shared by the
// encoder (encode.cc), the loader (load.cc) and the scorer (model.cc, kernels.cc).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/hash.h"
#include "runtime/model.h"

namespace recpress::runtime {

inline constexpr char kMagic[8] = {'R', 'E', 'C', 'P', 'R', 'E', 'S', 'S'};
// Items per block through an NCF tower (activations of a block stay in L1/L2), and the widest
// layer a file may declare.
inline constexpr std::size_t kTowerBlock = 64;
inline constexpr std::uint32_t kMaxTowerWidth = 1u << 16;

inline std::size_t bytes_of(DType d) {
  return d == DType::kF32 ? 4 : d == DType::kF16 ? 2 : 1;
}

inline std::uint64_t checksum(const std::uint8_t* p, std::size_t n) {
  Fnv1a h;
  h.add(p, n);
  return h.value();
}

template <typename T>
T read_le(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // the format is little endian, as every target we build for
  return v;
}

// half -> float for all 65,536 halves (kernels.cc).
const std::array<float, 65536>& half_table();

}  // namespace recpress::runtime
