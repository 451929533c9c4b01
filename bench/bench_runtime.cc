// Runtime benchmarks (Google Benchmark): full-catalog top-10 for one user with the LibTorch-free
// runtime, for an ML-1M-sized catalog (2,999 users x 3,706 items), per dtype and dimension, and
// model loading (mmap + validation). Issue 5's target: dim-20 int8 MF <= 5 us per query.
// Run through bench/run.sh, which writes JSON next to the console table.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <set>

#include "runtime/mips_index.h"
#include "runtime/model.h"
#include "runtime/topk.h"

namespace recpress::runtime {
namespace {

constexpr std::uint32_t kUsers = 2999, kItems = 3706;

std::string model_bytes(std::uint32_t dim, DType dtype, std::uint32_t items = kItems) {
  std::mt19937 gen(1);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  ModelContent c;
  c.users = {kUsers, dim, {}};
  c.items = {items, dim, {}};
  for (std::size_t k = 0; k < std::size_t{kUsers} * dim; ++k) c.users.values.push_back(normal(gen));
  for (std::size_t k = 0; k < std::size_t{items} * dim; ++k) c.items.values.push_back(normal(gen));
  for (std::uint32_t u = 0; u < kUsers; ++u) c.user_ids.push_back(std::to_string(u + 1));
  for (std::uint32_t i = 0; i < items; ++i) c.item_ids.push_back(std::to_string(i + 1));
  return encode_model(c, dtype);
}

// args: dim, dtype
void BM_RecommendTop10(benchmark::State& state) {
  const auto dtype = static_cast<DType>(state.range(1));
  const Model m = Model::from_bytes(model_bytes(static_cast<std::uint32_t>(state.range(0)), dtype));
  std::uint32_t user = 0;
  for (auto _ : state) {
    auto top = m.recommend(user, 10, false);
    benchmark::DoNotOptimize(top.data());
    user = (user + 1) % kUsers;
  }
  state.SetLabel(dtype_name(dtype) + ", " + std::to_string(m.file_bytes() / 1024) + " KiB");
}
BENCHMARK(BM_RecommendTop10)->ArgsProduct({{8, 20, 64}, {0, 1, 2}})->Unit(benchmark::kMicrosecond);

// Scoring alone (no top-K), int8 and fp32 at dim 20.
void BM_ScoreAll(benchmark::State& state) {
  const auto dtype = static_cast<DType>(state.range(1));
  const Model m = Model::from_bytes(model_bytes(static_cast<std::uint32_t>(state.range(0)), dtype));
  std::vector<float> out(m.num_items());
  std::uint32_t user = 0;
  for (auto _ : state) {
    m.score_all(user, out.data());
    benchmark::DoNotOptimize(out.data());
    user = (user + 1) % kUsers;
  }
  state.SetLabel(dtype_name(dtype));
}
BENCHMARK(BM_ScoreAll)->ArgsProduct({{20}, {0, 2}})->Unit(benchmark::kMicrosecond);

// top-10 alone over an ML-1M-sized score vector (i.i.d. normal scores, a fresh vector per query
// from a pool so that the branch predictor cannot learn one).
void BM_Top10Only(benchmark::State& state) {
  std::mt19937 gen(2);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::vector<float>> pool(64, std::vector<float>(kItems));
  for (auto& v : pool)
    for (auto& x : v) x = normal(gen);
  std::size_t r = 0;
  for (auto _ : state) {
    auto top = top_k(pool[r++ % pool.size()], 10);
    benchmark::DoNotOptimize(top.data());
  }
}
BENCHMARK(BM_Top10Only)->Unit(benchmark::kMicrosecond);

// Exact search vs the HNSW inner-product index (hnsw:m=16,ef=64), int8 dim 20, by catalog size.
// args: items, 0 = exact / 1 = index. Counters: recall@10 of the index against exact search over
// 300 users, and its build time.
void BM_ExactVsIndex(benchmark::State& state) {
  const auto items = static_cast<std::uint32_t>(state.range(0));
  const Model m = Model::from_bytes(model_bytes(20, DType::kI8, items));
  std::unique_ptr<MipsIndex> index;
  if (state.range(1) == 1) {
    index = std::make_unique<MipsIndex>(m, MipsOptions::parse("hnsw:m=16,ef=64"));
    double hits = 0;
    constexpr std::uint32_t kProbe = 300;
    for (std::uint32_t u = 0; u < kProbe; ++u) {
      std::set<std::uint32_t> truth;
      for (const auto& [i, s] : m.recommend(u, 10, false)) truth.insert(i);
      for (const auto& [i, s] : index->recommend(u, 10, false)) hits += truth.count(i);
    }
    state.counters["recall@10"] = hits / (10.0 * kProbe);
    state.counters["build_s"] = index->build_seconds();
  }
  std::uint32_t user = 0;
  for (auto _ : state) {
    auto top = index ? index->recommend(user, 10, false) : m.recommend(user, 10, false);
    benchmark::DoNotOptimize(top.data());
    user = (user + 1) % kUsers;
  }
  state.SetLabel(index ? "hnsw" : "exact");
}
BENCHMARK(BM_ExactVsIndex)->ArgsProduct({{kItems, 100000}, {0, 1}})->Unit(benchmark::kMicrosecond);

void BM_OpenModel(benchmark::State& state) {
  const std::string path = "/tmp/recpress-bench-model.rpm";
  std::ofstream(path, std::ios::binary) << model_bytes(20, DType::kI8);
  for (auto _ : state) {
    const Model m = Model::open(path);
    benchmark::DoNotOptimize(m.num_items());
  }
  std::remove(path.c_str());
}
BENCHMARK(BM_OpenModel)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace recpress::runtime

BENCHMARK_MAIN();
