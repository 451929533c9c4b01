// Top-K selection over a score vector: the core of serving recommendations. Part of the
// LibTorch-free runtime. Ties go to the lower index so results are deterministic.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace recpress::runtime {

// Indices of the k highest scores, best first. Entries with exclude[i] != 0 are skipped; NaN
// scores are never returned. k larger than the eligible count returns all eligible.
std::vector<std::int32_t> top_k(std::span<const float> scores, std::size_t k,
                                std::span<const std::uint8_t> exclude = {});

}  // namespace recpress::runtime
