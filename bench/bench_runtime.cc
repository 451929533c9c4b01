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

#include "runtime/ctr_model.h"
#include "runtime/mips_index.h"
#include "runtime/model.h"
#include "runtime/next_item_model.h"
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

// ---------------------------------------------------------------- CTR

// An ml-1m-as-CTR-shaped DeepFM student (the ctr-ml1m recipe's deepfm:dim=6,hidden=64-32): user,
// item, age, gender, occupation, genres (multi-hot, 6 slots), year, three wide-only crosses of
// the demographics with the genres; random weights. Rows: random ids of each field.
struct CtrBench {
  CtrModel model;
  std::vector<std::int32_t> ids;
  std::vector<float> values;
  std::size_t rows = 0;
};

CtrBench ctr_bench(DType dtype, std::size_t rows) {
  std::mt19937 gen(3);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  CtrContent c;
  c.source_model = "deepfm:dim=6,hidden=64-32";
  const auto field = [&](const std::string& name, FeatureKind kind, int tokens,
                         std::uint32_t slots) {
    FeatureField f;
    f.name = name;
    f.kind = kind;
    for (int t = 0; t < tokens; ++t) f.tokens.push_back(name + std::to_string(t));
    f.slots = slots;
    return f;
  };
  c.features = {field("user", FeatureKind::kCategorical, 6040, 1),
                field("item", FeatureKind::kCategorical, 3706, 1),
                field("age", FeatureKind::kCategorical, 7, 1),
                field("gender", FeatureKind::kCategorical, 2, 1),
                field("occupation", FeatureKind::kCategorical, 21, 1),
                field("genre", FeatureKind::kMulti, 18, 6),
                field("year", FeatureKind::kCategorical, 81, 1)};
  for (const char* side : {"gender", "age", "occupation"}) {
    FeatureField x = field(std::string(side) + "*genre", FeatureKind::kCross, 300, 6);
    x.left = side;
    x.right = "genre";
    c.features.push_back(x);
  }
  const FeatureEncoder enc(c.features, false, 8);
  const auto vocab = static_cast<std::uint32_t>(enc.vocab_size());
  const std::uint32_t dim = 6, fields = enc.deep_sparse_fields();
  c.has_linear = true;
  for (std::uint32_t i = 0; i < vocab; ++i) c.linear.push_back(normal(gen));
  c.embedding.rows = vocab;
  c.embedding.cols = dim;
  for (std::size_t k = 0; k < std::size_t{vocab} * dim; ++k)
    c.embedding.values.push_back(normal(gen));
  c.dense_vectors.cols = dim;
  c.fm = c.has_deep = true;
  std::uint32_t width = fields * dim;
  for (const std::uint32_t out : {64u, 32u}) {
    DenseLayer l;
    l.weight.rows = out;
    l.weight.cols = width;
    for (std::size_t k = 0; k < std::size_t{out} * width; ++k)
      l.weight.values.push_back(normal(gen));
    l.bias.assign(out, 0.01f);
    c.deep.push_back(l);
    width = out;
  }
  c.deep_head.assign(width, 0.1f);
  CtrBench b{CtrModel::from_bytes(encode_ctr_model(c, dtype)), {}, {}, rows};
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t f = 0; f < enc.fields().size(); ++f) {
      const auto& at = enc.placements()[f];
      for (std::uint32_t s = 0; s < enc.fields()[f].slots; ++s)
        b.ids.push_back(s > 0 && gen() % 2
                            ? static_cast<std::int32_t>(vocab)
                            : static_cast<std::int32_t>(at.offset + gen() % at.vocab));
    }
  }
  return b;
}

// args: dtype. Rows per second in batches of 8,192 (the study's "rows/s").
void BM_CtrPredictBatch(benchmark::State& state) {
  const auto b = ctr_bench(static_cast<DType>(state.range(0)), 8192);
  std::vector<float> p(b.rows);
  for (auto _ : state) {
    b.model.predict(b.ids.data(), b.values.data(), b.rows, p.data());
    benchmark::DoNotOptimize(p.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * b.rows));
  state.SetLabel(dtype_name(b.model.dtype()) + ", " + std::to_string(b.model.flops_per_row()) +
                 " FLOPs/row, " + std::to_string(b.model.file_bytes() / 1024) + " KiB");
}
BENCHMARK(BM_CtrPredictBatch)->Arg(0)->Arg(2)->Unit(benchmark::kMillisecond);

// One row per call (a single request's latency, encoded).
void BM_CtrPredictOne(benchmark::State& state) {
  const auto b = ctr_bench(static_cast<DType>(state.range(0)), 1024);
  const std::size_t slots = b.model.features().slots();
  float p = 0;
  std::size_t r = 0;
  for (auto _ : state) {
    b.model.predict(b.ids.data() + r * slots, b.values.data(), 1, &p);
    benchmark::DoNotOptimize(p);
    r = (r + 1) % b.rows;
  }
  state.SetLabel(dtype_name(b.model.dtype()));
}
BENCHMARK(BM_CtrPredictOne)->Arg(0)->Arg(2)->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------- next item

// issue 16's next-item target shape: a SASRec student (1 block, 1 head, hidden 16, max_len 50)
// over ml-1m's 3,706 items (args: dtype, layers, hidden); random weights.
NextItemContent next_item_content(std::uint32_t layers, std::uint32_t hidden) {
  std::mt19937 gen(5);
  std::normal_distribution<float> normal(0.0f, 0.2f);
  const auto matrix = [&](std::uint32_t rows, std::uint32_t cols) {
    DenseMatrix m;
    m.rows = rows;
    m.cols = cols;
    for (std::size_t k = 0; k < std::size_t{rows} * cols; ++k) m.values.push_back(normal(gen));
    return m;
  };
  const auto linear = [&](std::uint32_t in, std::uint32_t out) {
    return LinearWeights{matrix(out, in), matrix(1, out).values};
  };
  const auto norm = [&] {
    return NormWeights{std::vector<float>(hidden, 1.0f), matrix(1, hidden).values};
  };
  NextItemContent c;
  c.source_model = "sasrec";
  c.max_len = 50;
  c.heads = 1;
  c.items = matrix(kItems, hidden);
  c.positions = matrix(50, hidden);
  for (std::uint32_t l = 0; l < layers; ++l)
    c.blocks.push_back({linear(hidden, hidden), linear(hidden, hidden), linear(hidden, hidden),
                        linear(hidden, hidden), norm(), norm(), linear(hidden, 4 * hidden),
                        linear(4 * hidden, hidden)});
  c.final_norm = norm();
  for (std::uint32_t i = 0; i < kItems; ++i) c.item_ids.push_back(std::to_string(i + 1));
  return c;
}

NextItemModel next_item_model(DType dtype, std::uint32_t layers, std::uint32_t hidden) {
  return NextItemModel::from_bytes(
      encode_next_item_model(next_item_content(layers, hidden), dtype));
}

// OD-Rec's tensor-train items for that catalog at hidden 32 (recipes/odrec-ml1m.yaml's student:
// 3,708 token rows as 16 x 16 x 15, 32 = 2 x 4 x 4, rank 32, stp 2): 17,888 numbers for a table
// of 118,656.
TTCores tt_items() {
  std::mt19937 gen(6);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  TTCores t;
  t.rows = {16, 16, 15};
  t.dims = {2, 4, 4};
  t.rank = 32;
  t.stp = 2;
  const auto sizes = t.core_sizes();
  for (auto [core, n] : {std::pair{&t.core1, sizes[0]}, {&t.core2, sizes[1]}, {&t.core3, sizes[2]}})
    for (std::uint64_t k = 0; k < n; ++k) core->push_back(normal(gen));
  return t;
}

// Opening a next-item file (arg: 0 plain items, 1 tensor-train items computed at load): what a
// compressed table costs once, at load.
void BM_NextItemOpen(benchmark::State& state) {
  auto c = next_item_content(1, 32);
  if (state.range(0) == 1) {
    c.items = {};
    c.tt_items = tt_items();
  }
  const std::string bytes = encode_next_item_model(c, DType::kF32);
  for (auto _ : state) {
    auto m = NextItemModel::from_bytes(bytes);
    benchmark::DoNotOptimize(m.num_items());
  }
  state.SetLabel(std::to_string(bytes.size() / 1024) + " KiB");
}
BENCHMARK(BM_NextItemOpen)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// The table alone: what every query would pay if the rows were computed per query (a next-item
// query scores every item, so it needs every row).
void BM_TTTable(benchmark::State& state) {
  const auto t = tt_items();
  for (auto _ : state) {
    auto table = tt_table(t, kItems + 2);
    benchmark::DoNotOptimize(table.values.data());
  }
}
BENCHMARK(BM_TTTable)->Unit(benchmark::kMicrosecond);

// Top-10 next items after a 50-item history, excluding the history (one request).
void BM_NextItemTop10(benchmark::State& state) {
  const auto m = next_item_model(static_cast<DType>(state.range(0)),
                                 static_cast<std::uint32_t>(state.range(1)),
                                 static_cast<std::uint32_t>(state.range(2)));
  std::mt19937 gen(1);
  std::vector<std::vector<std::uint32_t>> histories(64);
  for (auto& h : histories)
    for (int k = 0; k < 50; ++k) h.push_back(gen() % kItems);
  std::size_t r = 0;
  for (auto _ : state) {
    auto top = m.next(histories[r], 10, true);
    benchmark::DoNotOptimize(top.data());
    r = (r + 1) % histories.size();
  }
  state.SetLabel(dtype_name(m.dtype()) + ", " + std::to_string(m.file_bytes() / 1024) + " KiB");
}
BENCHMARK(BM_NextItemTop10)
    ->Args({0, 1, 16})
    ->Args({2, 1, 16})
    ->Args({0, 2, 64})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace recpress::runtime

BENCHMARK_MAIN();
