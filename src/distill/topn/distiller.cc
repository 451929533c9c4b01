#include "distill/topn/distiller.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <numeric>

#include "core/errors.h"
#include "core/registry.h"
#include "distill/topn/experts.h"

namespace recpress {
namespace {

NamedRegistry<DistillerFactory>& registry() {
  static NamedRegistry<DistillerFactory> r("distillation method");
  return r;
}

}  // namespace

void register_distiller(const std::string& name, const std::string& help,
                        std::optional<ParamDecls> params, DistillerFactory factory) {
  registry().add(name, help, std::move(params), std::move(factory));
}

DistillerPtr create_distiller(const ModelSpec& spec) {
  return registry().get(spec.name)(checked_spec(registry(), spec));
}

std::vector<std::pair<std::string, std::string>> distillers() {
  return registry().list();
}

std::vector<std::tuple<std::string, std::string, ParamDecls>> distiller_params() {
  return registry().declared();
}

void TeacherScores::compute(TopNModel& teacher, std::int64_t max_bytes) {
  teacher_ = nullptr;
  scores_ = torch::Tensor();
  const std::int64_t users = teacher.num_users(), items = teacher.num_items();
  if (teacher.is_training() || users * items * 4 > max_bytes) return;  // online: the peer moves
  scores_ = torch::empty({users, items});
  for_each_user_block(teacher, [&](std::int64_t u0, std::int64_t n, const torch::Tensor& scores) {
    scores_.narrow(0, u0, n).copy_(scores);
  });
  teacher_ = &teacher;
}

torch::Tensor TeacherScores::lookup(TopNModel& teacher, const torch::Tensor& users,
                                    const torch::Tensor& items) {
  torch::NoGradGuard guard;
  if (&teacher != teacher_ || !scores_.defined()) return teacher.forward(users, items);
  return scores_.view({-1}).index_select(0, users * scores_.size(1) + items);
}

torch::Tensor teacher_top_items(TopNModel& teacher, const InteractionMatrix& train,
                                std::int64_t k) {
  const std::int64_t users = teacher.num_users(), items = teacher.num_items();
  if (k <= 0 || k > items)
    throw Error("teacher ranking: k must be in [1, " + std::to_string(items) + "], got " +
                std::to_string(k));
  auto out = torch::empty({users, k}, torch::kLong);
  for_each_user_block(teacher, [&](std::int64_t u0, std::int64_t n, torch::Tensor scores) {
    auto* s = scores.data_ptr<float>();
    for (std::int64_t r = 0; r < n; ++r)
      for (const auto i : train.row(static_cast<std::int32_t>(u0 + r)))
        s[r * items + i] = -std::numeric_limits<float>::infinity();
    out.narrow(0, u0, n).copy_(std::get<1>(scores.topk(k, 1, /*largest=*/true, /*sorted=*/true)));
  });
  return out;
}

void for_each_user_block(
    TopNModel& model, const std::function<void(std::int64_t, std::int64_t, torch::Tensor)>& visit) {
  torch::NoGradGuard guard;
  constexpr std::int64_t kChunk = 256;
  const std::int64_t users = model.num_users();
  for (std::int64_t u0 = 0; u0 < users; u0 += kChunk) {
    const auto n = std::min(kChunk, users - u0);
    visit(u0, n, model.score_all(torch::arange(u0, u0 + n, torch::kLong)).contiguous());
  }
}

torch::Tensor entity_representation(TopNModel& model, const std::string& kind,
                                    const torch::Tensor& index) {
  // representations() works on pairs; the other side of the pair is any valid index (0).
  const auto other = torch::zeros_like(index);
  const bool user = kind == "user";
  for (auto& [name, t] :
       user ? model.representations(index, other) : model.representations(other, index)) {
    if (name == kind) return t;
  }
  throw Error("model " + model.spec().to_string() + " exposes no '" + kind + "' representation");
}

void add_gradient(torch::Tensor& parameter, const torch::Tensor& grad) {
  if (parameter.grad().defined())
    parameter.mutable_grad().add_(grad);
  else
    parameter.mutable_grad() = grad;
}

std::int64_t StudentRows::entity_width(const std::string& kind) {
  throw Error("this view of the student has no '" + kind + "' representation");
}
void StudentRows::entity(const std::string& kind, const std::int64_t*, std::int64_t, float*) {
  entity_width(kind);
}
void StudentRows::add_entity_gradient(const std::string& kind, const std::int64_t*, std::int64_t,
                                      const float*) {
  entity_width(kind);
}

torch::Tensor DistillBatch::entity(TopNModel& student, const std::string& kind,
                                   const torch::Tensor& index) const {
  return student_entities ? student_entities(kind, index)
                          : entity_representation(student, kind, index);
}

RepresentationPair representation_pair(TopNModel& teacher, TopNModel& student,
                                       const std::string& kind, const torch::Tensor& index,
                                       const DistillBatch& batch) {
  RepresentationPair out;
  {
    torch::NoGradGuard guard;
    out.teacher = entity_representation(teacher, kind, index);
  }
  out.student = batch.entity(student, kind, index);
  return out;
}

torch::Tensor sample_without_replacement(const torch::Tensor& weights, std::int64_t m, Rng& rng) {
  // Successive sampling proportional to the weights among the items not yet drawn -- the
  // distribution of Gumbel top-m (Kool, van Hoof & Welling, ICML 2019) -- by an inverse-CDF draw
  // per item with rejection of repeats; a row whose draws keep repeating (or with fewer than m
  // positive weights) finishes by Gumbel top-k over the items it lacks.
  const auto w = weights.to(torch::kFloat).contiguous();
  const auto rows = w.size(0), n = w.size(1);
  if (m > n)
    throw Error("cannot draw " + std::to_string(m) + " of " + std::to_string(n) +
                " without replacement");
  auto out = torch::empty({rows, m}, torch::kLong);
  auto* o = out.data_ptr<std::int64_t>();
  const auto* wp = w.data_ptr<float>();
  std::vector<double> cdf(static_cast<std::size_t>(n));
  std::vector<std::uint8_t> taken(static_cast<std::size_t>(n), 0);
  std::vector<std::pair<double, std::int64_t>> keyed;
  const std::int64_t patience = 16 * m + 64;
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = wp + r * n;
    double total = 0;
    for (std::int64_t j = 0; j < n; ++j) cdf[static_cast<std::size_t>(j)] = total += row[j];
    auto* picked = o + r * m;
    std::int64_t got = 0, rejected = 0;
    while (got < m && rejected < patience && total > 0) {
      const double u = rng.uniform() * total;
      const auto j =
          std::min<std::int64_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin(), n - 1);
      if (taken[static_cast<std::size_t>(j)] || !(row[j] > 0)) {
        ++rejected;
        continue;
      }
      taken[static_cast<std::size_t>(j)] = 1;
      picked[got++] = j;
    }
    if (got < m) {
      keyed.clear();
      for (std::int64_t j = 0; j < n; ++j) {
        if (taken[static_cast<std::size_t>(j)]) continue;
        const double g = -std::log(-std::log(std::max(rng.uniform(), 1e-300)));
        keyed.emplace_back(std::log(static_cast<double>(row[j])) + g, j);
      }
      const auto need = m - got;
      std::partial_sort(keyed.begin(), keyed.begin() + need, keyed.end(),
                        [](const auto& a, const auto& b) { return a.first > b.first; });
      for (std::int64_t k = 0; k < need; ++k) picked[got++] = keyed[k].second;
    }
    for (std::int64_t k = 0; k < m; ++k) taken[static_cast<std::size_t>(picked[k])] = 0;
  }
  return out;
}

namespace {

// default_rank_region's pool for temperature t and its draws for a pool (distiller.h).
std::int64_t pool_for(double t, std::int64_t num_items) {
  return std::max<std::int64_t>(
      1, std::min(static_cast<std::int64_t>(std::lround(5 * t)), num_items / 2));
}
std::int64_t draws_for(std::int64_t pool) {
  return std::min(pool, std::clamp<std::int64_t>(pool / 12, 10, 40));
}

}  // namespace

RankRegion default_rank_region(std::int64_t num_items) {
  RankRegion r;
  r.temperature = std::clamp(static_cast<double>(num_items) / 32.0, 10.0, 100.0);
  r.pool = pool_for(r.temperature, num_items);
  r.draws = draws_for(r.pool);
  return r;
}

ParamDecls rank_region_params(const std::string& count_key, const std::string& count_doc) {
  return {derived_default(int_param(
              count_key, 40, 0,
              count_doc + " (default: clamp(pool / 12, 10, 40), 40 on catalogs >= 3,200 items)")),
          derived_default(int_param("pool", 500, 1,
                                    "the teacher's top items sampled from (default: 5 t, at most "
                                    "half the catalog)")),
          derived_default(real_param(
              "t", 100.0, 0, kUnbounded, true, false,
              "rank temperature: weights exp(-rank / t) (default: clamp(items / 32, 10, 100))"))};
}

RankRegion rank_region_of(const ModelSpec& spec, const std::string& count_key,
                          std::int64_t num_items) {
  auto r = default_rank_region(num_items);
  if (spec.has("t")) {
    r.temperature = spec.get_double("t");
    r.pool = pool_for(r.temperature, num_items);
  }
  if (spec.has("pool")) r.pool = spec.get_int("pool");
  r.draws = spec.has(count_key) ? spec.get_int(count_key) : draws_for(r.pool);
  return r;
}

RankSampler::RankSampler(std::int64_t pool, double temperature) {
  if (pool < 1) throw Error("rank sampler: the pool must hold at least one item");
  if (!(temperature > 0)) throw Error("rank sampler: the temperature must be > 0");
  const auto n = static_cast<std::size_t>(pool);
  log_weights_.resize(n);
  std::vector<double> scaled(n);  // weights scaled to mean 1
  double total = 0;
  for (std::size_t r = 0; r < n; ++r) {
    log_weights_[r] = -static_cast<double>(r + 1) / temperature;
    total += std::exp(log_weights_[r]);
  }
  for (std::size_t r = 0; r < n; ++r)
    scaled[r] = std::exp(log_weights_[r]) * static_cast<double>(n) / total;
  // Walker's alias table (Vose's construction): column r keeps rank r with probability
  // accept_[r] and gives the rest to alias_[r], so one uniform draw picks a rank in O(1).
  accept_.assign(n, 1.0);
  alias_.resize(n);
  std::iota(alias_.begin(), alias_.end(), std::int64_t{0});
  std::vector<std::int64_t> small, large;
  for (std::size_t r = 0; r < n; ++r)
    (scaled[r] < 1.0 ? small : large).push_back(static_cast<std::int64_t>(r));
  while (!small.empty() && !large.empty()) {
    const auto lo = small.back(), hi = large.back();
    small.pop_back();
    accept_[static_cast<std::size_t>(lo)] = scaled[static_cast<std::size_t>(lo)];
    alias_[static_cast<std::size_t>(lo)] = hi;
    auto& rest = scaled[static_cast<std::size_t>(hi)];
    rest -= 1.0 - scaled[static_cast<std::size_t>(lo)];
    if (rest < 1.0) {
      large.pop_back();
      small.push_back(hi);
    }
  }
  // What remains in either list is 1 up to rounding: kept whole (accept_ 1).
}

torch::Tensor RankSampler::draw(std::int64_t rows, std::int64_t k, Rng& rng) const {
  const auto pool = this->pool();
  if (k > pool)
    throw Error("cannot draw " + std::to_string(k) + " of " + std::to_string(pool) +
                " without replacement");
  auto out = torch::empty({rows, k}, torch::kLong);
  auto* o = out.data_ptr<std::int64_t>();
  std::vector<std::uint8_t> taken(static_cast<std::size_t>(pool), 0);
  std::vector<std::pair<double, std::int64_t>> keyed;
  const std::int64_t patience = 16 * k + 64;  // rejections before the exact fallback
  const auto columns = static_cast<double>(pool);
  for (std::int64_t row = 0; row < rows; ++row) {
    auto* picked = o + row * k;
    std::int64_t got = 0, rejected = 0;
    while (got < k && rejected < patience) {
      // One uniform: its integer part picks the column, its fraction accepts or aliases.
      const double u = rng.uniform() * columns;
      const auto column = std::min(static_cast<std::int64_t>(u), pool - 1);
      const auto c = static_cast<std::size_t>(column);
      const auto r = u - static_cast<double>(column) < accept_[c] ? column : alias_[c];
      if (taken[r]) {
        ++rejected;
        continue;
      }
      taken[r] = 1;
      picked[got++] = r;
    }
    if (got < k) {  // Gumbel top-(k - got) over the ranks not yet drawn
      keyed.clear();
      for (std::int64_t r = 0; r < pool; ++r) {
        if (taken[r]) continue;
        const double g = -std::log(-std::log(std::max(rng.uniform(), 1e-300)));
        keyed.emplace_back(log_weights_[r] + g, r);
      }
      const auto need = k - got;
      std::partial_sort(keyed.begin(), keyed.begin() + need, keyed.end(),
                        [](const auto& a, const auto& b) { return a.first > b.first; });
      for (std::int64_t j = 0; j < need; ++j) {
        taken[keyed[j].second] = 1;
        picked[got++] = keyed[j].second;
      }
    }
    std::sort(picked, picked + k);
    for (std::int64_t j = 0; j < k; ++j) taken[picked[j]] = 0;
  }
  return out;
}

torch::Tensor sample_candidates(std::int64_t batch, std::int64_t n, std::int64_t num_items,
                                Rng& rng) {
  auto out = torch::empty({batch, n}, torch::kLong);
  auto* p = out.data_ptr<std::int64_t>();
  for (std::int64_t k = 0; k < batch * n; ++k)
    p[k] = rng.below(static_cast<std::uint32_t>(num_items));
  return out;
}

std::vector<std::pair<DistillerPtr, double>> parse_distillation_terms(
    const std::vector<std::string>& methods) {
  std::vector<std::pair<DistillerPtr, double>> terms;
  for (const auto& [spec, weight] : parse_weighted_specs(methods))
    terms.emplace_back(create_distiller(spec), weight);
  return terms;
}

}  // namespace recpress
