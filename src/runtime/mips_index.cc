#include "runtime/mips_index.h"

#include <algorithm>
#include <chrono>
#include <span>
#include <sstream>
#include <unordered_set>

#ifdef RECPRESS_HAVE_HNSWLIB
#include <hnswlib/hnswlib.h>
#endif

namespace recpress::runtime {

MipsOptions MipsOptions::parse(const std::string& spec) {
  MipsOptions o;
  const auto colon = spec.find(':');
  if (spec.substr(0, colon) != "hnsw")
    throw ModelError("unknown index '" + spec + "' (hnsw[:m=16,ef=64,ef_construction=200])");
  if (colon == std::string::npos) return o;
  std::stringstream params(spec.substr(colon + 1));
  std::string item;
  while (std::getline(params, item, ',')) {
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq);
    std::size_t value = 0;
    try {
      std::size_t used = 0;
      if (eq == std::string::npos) throw std::invalid_argument(key);
      const long long v = std::stoll(item.substr(eq + 1), &used);
      if (used != item.size() - eq - 1 || v < 1 || v > 100000) throw std::out_of_range(key);
      value = static_cast<std::size_t>(v);
    } catch (const std::exception&) {
      throw ModelError("index parameter '" + item + "': expected key=integer in [1, 100000]");
    }
    if (key == "m")
      o.m = value;
    else if (key == "ef")
      o.ef = value;
    else if (key == "ef_construction")
      o.ef_construction = value;
    else if (key == "seed")
      o.seed = value;
    else
      throw ModelError("unknown index parameter '" + key + "' (m, ef, ef_construction, seed)");
  }
  return o;
}

#ifdef RECPRESS_HAVE_HNSWLIB

bool mips_available() {
  return true;
}

struct MipsIndex::Graph {
  explicit Graph(std::size_t dim) : space(dim) {}
  hnswlib::InnerProductSpace space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;
};

MipsIndex::MipsIndex(const Model& model, MipsOptions options) : model_(&model), options_(options) {
  if (model.has_tower())
    throw ModelError("an inner-product index needs a dot-product model (mf, gmf); " +
                     model.source_model() + " has an MLP tower");
  const auto t0 = std::chrono::steady_clock::now();
  graph_ = std::make_unique<Graph>(model.dim());
  graph_->index = std::make_unique<hnswlib::HierarchicalNSW<float>>(
      &graph_->space, std::max<std::size_t>(1, model.num_items()), options_.m,
      options_.ef_construction, options_.seed);
  std::vector<float> v(model.dim());
  for (std::uint32_t i = 0; i < model.num_items(); ++i) {
    model.item_vector(i, v.data());
    graph_->index->addPoint(v.data(), i);
  }
  graph_->index->setEf(options_.ef);
  build_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<std::pair<std::uint32_t, float>> MipsIndex::recommend(std::uint32_t user, std::size_t k,
                                                                  bool exclude_seen) const {
  if (user >= model_->num_users())
    throw ModelError("user index " + std::to_string(user) + " out of range");
  const auto seen = exclude_seen ? model_->seen(user) : std::span<const std::uint32_t>{};
  if (exclude_seen && !model_->has_seen())
    throw ModelError("this model file has no seen-items table (export it with --data)");
  thread_local std::vector<float> q;
  q.resize(model_->dim());
  model_->user_vector(user, q.data());
  // Ask for the user's seen items on top and drop them afterwards.
  const std::size_t want = std::min<std::size_t>(k + seen.size(), model_->num_items());
  auto found = graph_->index->searchKnn(q.data(), want);  // worst on top; distance = 1 - <q, x>
  const std::unordered_set<std::uint32_t> skip(seen.begin(), seen.end());
  std::vector<std::pair<std::uint32_t, float>> out;
  out.reserve(found.size());
  while (!found.empty()) {
    const auto [distance, label] = found.top();
    found.pop();
    const auto item = static_cast<std::uint32_t>(label);
    if (!skip.count(item)) out.emplace_back(item, model_->bias() + (1.0f - distance));
  }
  std::reverse(out.begin(), out.end());
  if (out.size() > k) out.resize(k);
  return out;
}

#else  // built without hnswlib

bool mips_available() {
  return false;
}
struct MipsIndex::Graph {};
MipsIndex::MipsIndex(const Model& model, MipsOptions options) : model_(&model), options_(options) {
  throw ModelError("this runtime was built without hnswlib (install libhnswlib-dev and rebuild)");
}
std::vector<std::pair<std::uint32_t, float>> MipsIndex::recommend(std::uint32_t, std::size_t,
                                                                  bool) const {
  return {};
}

#endif

MipsIndex::~MipsIndex() = default;
MipsIndex::MipsIndex(MipsIndex&&) noexcept = default;
MipsIndex& MipsIndex::operator=(MipsIndex&&) noexcept = default;

}  // namespace recpress::runtime
