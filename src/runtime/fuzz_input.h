// One fuzz input for the .rpm loader: every input must load into a well-formed model (a top-N
// one then scores and recommends, a CTR one encodes a row of missing values and scores it and
// the lowest ids of every slot, a next-item one answers a long and a one-item history, without
// fault) or be refused with ModelError; nothing else.
// The first byte picks the mode: odd = the rest is a whole file as is; even = the rest is a
// payload that gets a valid header (magic, version, size, checksum), so the fuzzer reaches the
// FlatBuffers verifier and the shape checks instead of stopping at the checksum.
// Used by the libFuzzer target (fuzz/model_fuzzer.cc) and by the unit test that replays the
// regression corpus (tests/runtime/corpus).
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/hash.h"
#include "runtime/ctr_model.h"
#include "runtime/model.h"
#include "runtime/next_item_model.h"

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
  try {
    const auto m = recpress::runtime::CtrModel::from_bytes(bytes, "fuzz");
    const auto& f = m.features();
    std::vector<recpress::runtime::RawValue> row(f.inputs().size());
    (void)m.predict(row);
    std::vector<std::int32_t> ids(f.slots());
    for (std::size_t i = 0, s = 0; i < f.fields().size(); ++i)
      for (std::uint32_t k = 0;
           f.fields()[i].kind != recpress::runtime::FeatureKind::kDense && k < f.fields()[i].slots;
           ++k)
        ids[s++] = static_cast<std::int32_t>(f.placements()[i].offset);
    std::vector<float> values(f.dense() + 1, 1.0f);
    float p = 0;
    m.predict(ids.data(), values.data(), 1, &p);
  } catch (const recpress::runtime::ModelError&) {
  }
  try {
    const auto m = recpress::runtime::NextItemModel::from_bytes(bytes, "fuzz");
    std::vector<std::uint32_t> history;
    for (std::uint32_t i = 0; i < m.max_len() + 2; ++i) history.push_back(i % m.num_items());
    (void)m.next(history, 3, true);
    (void)m.next({history.data(), 1}, 1, false);
  } catch (const recpress::runtime::ModelError&) {
  }
}

// `bytes` with its header's checksum recomputed (what a fuzzer's mutation that got past the
// checksum looks like), and the fuzz checks run on it. Returns the forged bytes.
inline std::string forge_checksum_and_fuzz(std::string bytes) {
  const std::size_t header = recpress::runtime::kHeaderBytes;
  if (bytes.size() >= header) {
    recpress::Fnv1a h;
    h.add(bytes.data() + header, bytes.size() - header);
    const std::uint64_t sum = h.value();
    std::memcpy(bytes.data() + 16, &sum, 8);
  }
  const std::string input = "\x01" + bytes;
  fuzz_model_input(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
  return bytes;
}

// `trials` copies of `good` with 1-4 random payload bytes changed and the checksum forged, each
// through the fuzz checks and then `loads` (which returns whether its loader accepted the copy).
// Returns how many were accepted.
template <typename Loads>
int fuzz_random_edits(const std::string& good, std::uint32_t seed, int trials, Loads loads) {
  std::mt19937 gen(seed);
  const std::size_t header = recpress::runtime::kHeaderBytes;
  int accepted = 0;
  for (int trial = 0; trial < trials; ++trial) {
    std::string bad = good;
    const int edits = 1 + static_cast<int>(gen() % 4);
    for (int e = 0; e < edits; ++e)
      bad[header + gen() % (good.size() - header)] = static_cast<char>(gen());
    if (loads(forge_checksum_and_fuzz(bad))) ++accepted;
  }
  return accepted;
}

// Every `step`-th payload byte set to a negative value (enums are signed bytes), checksum
// forged, through the fuzz checks.
inline void fuzz_every_byte(const std::string& good, std::size_t step = 1) {
  for (std::size_t k = recpress::runtime::kHeaderBytes; k < good.size(); k += step) {
    std::string bad = good;
    bad[k] = static_cast<char>(0xCC);
    forge_checksum_and_fuzz(bad);
  }
}
