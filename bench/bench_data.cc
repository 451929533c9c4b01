// Foundation benchmarks (Google Benchmark): data loading from text vs the binary cache, training
// negative-sampling throughput, full-ranking evaluation of a given score matrix.
// Run through bench/run.sh, which writes JSON next to the console table.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/rng.h"
#include "data/cache.h"
#include "data/interaction_matrix.h"
#include "data/negative_sampler.h"
#include "data/registry.h"
#include "data/split.h"
#include "data/synthetic.h"
#include "eval/evaluator.h"

namespace recpress {
namespace {

std::string ml1m_dir() {
  const std::string root = default_data_root();
  const std::string dir = root + "/ml-1m";
  return !root.empty() && std::filesystem::is_directory(dir) ? dir : "";
}

// ML-1M ratings of users 1-2999 (487,650 lines, gzip) parsed from text.
void BM_LoadMl1mText(benchmark::State& state) {
  const std::string dir = ml1m_dir();
  if (dir.empty()) {
    state.SkipWithError("../shared/data/ml-1m not found");
    return;
  }
  std::size_t n = 0;
  for (auto _ : state) {
    LoadReport r;
    const Dataset d = load_path(dir, {}, r);
    n = d.size();
    benchmark::DoNotOptimize(n);
  }
  state.counters["interactions"] = static_cast<double>(n);
}
BENCHMARK(BM_LoadMl1mText)->Unit(benchmark::kMillisecond)->Iterations(3);

// The same data reloaded from the binary cache (read + checksum + rebuild of the id maps).
void BM_LoadMl1mCache(benchmark::State& state) {
  const std::string dir = ml1m_dir();
  if (dir.empty()) {
    state.SkipWithError("../shared/data/ml-1m not found");
    return;
  }
  const std::string cache =
      std::filesystem::temp_directory_path().string() + "/recpress-bench-cache";
  LoadReport r;
  bool hit = false;
  load_cached(dir, {}, r, cache, &hit);  // populate
  std::size_t n = 0;
  for (auto _ : state) {
    const Dataset d = load_cached(dir, {}, r, cache, &hit);
    if (!hit) state.SkipWithError("cache miss");
    n = d.size();
    benchmark::DoNotOptimize(n);
  }
  state.counters["interactions"] = static_cast<double>(n);
}
BENCHMARK(BM_LoadMl1mCache)->Unit(benchmark::kMillisecond)->Iterations(10);

// An ML-1M-shaped synthetic dataset (3,000 users x 3,700 items, ~160 interactions per user).
const Dataset& ml1m_shaped() {
  static const Dataset d =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=3000,items=3700,mean=160,min=20"));
  return d;
}

void BM_NegativeSampling(benchmark::State& state) {
  const Dataset& d = ml1m_shaped();
  const InteractionMatrix m(d.interactions, d.num_users(), d.num_items());
  const NegativeSampler sampler =
      NegativeSampler::from_spec(m, state.range(0) == 0 ? "uniform" : "popularity:0.75");
  std::vector<std::int32_t> users(4096), out(4096 * 4);
  Rng rng(1);
  for (auto& u : users)
    u = static_cast<std::int32_t>(rng.below(static_cast<std::uint32_t>(d.num_users())));
  for (auto _ : state) {
    sampler.sample_many(users.data(), users.size(), 4, out.data(), rng);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
  state.SetLabel(state.range(0) == 0 ? "uniform" : "popularity^0.75");
}
BENCHMARK(BM_NegativeSampling)->Arg(0)->Arg(1);

// Full-catalog evaluation of 3,000 users x 3,700 items from a given score matrix: masking the
// training items, pessimistic ranks of the held-out item, 7 metrics.
void BM_FullEvaluation(benchmark::State& state) {
  const Dataset& d = ml1m_shaped();
  const Split split = make_split(d, SplitConfig::parse("loo", 1));
  const Evaluator evaluator(d, split, EvalTarget::kTest, Protocol::parse("full"),
                            parse_metrics("hr@5,10 ndcg@5,10 mrr@10 map@10 recall@20"), 1);
  std::vector<float> scores(static_cast<std::size_t>(d.num_users()) *
                            static_cast<std::size_t>(d.num_items()));
  Rng rng(2);
  for (auto& s : scores) s = static_cast<float>(rng.uniform());
  const MatrixScorer scorer(scores.data(), d.num_users(), d.num_items());
  for (auto _ : state) {
    const auto r = evaluator.evaluate(scorer);
    benchmark::DoNotOptimize(r.metrics);
  }
  state.counters["users"] = static_cast<double>(evaluator.num_users());
  state.counters["items"] = d.num_items();
}
BENCHMARK(BM_FullEvaluation)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace recpress

BENCHMARK_MAIN();
