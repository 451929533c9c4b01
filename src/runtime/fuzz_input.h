// One fuzz input for the .rpm loader: every input must load into a well-formed model (which then
// scores and recommends without fault) or be refused with ModelError; nothing else.
// The first byte picks the mode: odd = the rest is a whole file as is; even = the rest is a
// payload that gets a valid header (magic, version, size, checksum), so the fuzzer reaches the
// FlatBuffers verifier and the shape checks instead of stopping at the checksum.
// Used by the libFuzzer target (fuzz/model_fuzzer.cc) and by the unit test that replays the
// regression corpus (tests/runtime/corpus).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/hash.h"
#include "runtime/model.h"

inline void fuzz_model_input(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  std::string bytes;
  if (data[0] & 1) {
    bytes.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  } else {
    const std::uint64_t n = size - 1;
    bytes.assign(recpress::runtime::kHeaderBytes, '\0');
    std::memcpy(bytes.data(), "RECPRESS", 8);
    const std::uint32_t version = recpress::runtime::kFormatVersion;
    std::memcpy(bytes.data() + 8, &version, 4);
    recpress::Fnv1a h;
    h.add(data + 1, n);
    const std::uint64_t sum = h.value();
    std::memcpy(bytes.data() + 16, &sum, 8);
    std::memcpy(bytes.data() + 24, &n, 8);
    bytes.append(reinterpret_cast<const char*>(data + 1), n);
  }
  try {
    const auto m = recpress::runtime::Model::from_bytes(bytes, "fuzz");
    std::vector<float> scores(m.num_items());
    for (std::uint32_t u = 0; u < m.num_users() && u < 4; ++u) {
      m.score_all(u, scores.data());
      m.recommend(u, 3, m.has_seen());
    }
    (void)m.item_popularity();
  } catch (const recpress::runtime::ModelError&) {
  }
}
