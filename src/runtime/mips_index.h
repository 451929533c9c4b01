// An approximate maximum-inner-product index over a dot-product student's items, for catalogs where
// scoring every item per query is too slow: HNSW (Malkov & Yashunin, TPAMI 2020) through Debian's
// header-only hnswlib, in its inner-product space. Exact search stays the default; the index trades
// recall for latency, and bench/bench_runtime.cc reports recall@10 against exact search.
//   MipsIndex index(model, MipsOptions::parse("hnsw:m=16,ef=64"));
//   auto top = index.recommend(user, 10, /*exclude_seen=*/true);
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/model.h"

namespace recpress::runtime {

struct MipsOptions {
  std::size_t m = 16;                 // graph degree (links per node per layer)
  std::size_t ef_construction = 200;  // candidate list while building
  std::size_t ef = 64;                // candidate list while searching (>= k; more: better recall)
  std::size_t seed = 100;             // level assignment: the same seed builds the same graph
  // "hnsw" or "hnsw:m=16,ef=64,ef_construction=200,seed=100"; throws ModelError otherwise.
  static MipsOptions parse(const std::string& spec);
};

// True when this runtime was built with hnswlib.
bool mips_available();

class MipsIndex {
 public:
  // Builds the graph over the model's item vectors (dequantised). Throws ModelError for a model
  // with an MLP tower (not an inner product) or when built without hnswlib.
  MipsIndex(const Model& model, MipsOptions options);
  ~MipsIndex();
  MipsIndex(MipsIndex&&) noexcept;
  MipsIndex& operator=(MipsIndex&&) noexcept;

  // Approximately the k best items for `user` (best first, scores as Model::score_all gives them up
  // to quantisation), optionally without the items the user already has. Thread-safe.
  std::vector<std::pair<std::uint32_t, float>> recommend(std::uint32_t user, std::size_t k,
                                                         bool exclude_seen) const;
  double build_seconds() const { return build_seconds_; }
  const MipsOptions& options() const { return options_; }

 private:
  struct Graph;
  const Model* model_;
  MipsOptions options_;
  std::unique_ptr<Graph> graph_;
  double build_seconds_ = 0;
};

}  // namespace recpress::runtime
