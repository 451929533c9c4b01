// `lightgcn`: LightGCN (He, Deng, Wang, Li, Zhang & Wang, "LightGCN: Simplifying and Powering
// Graph Convolution Network for Recommendation", SIGIR 2020, Sec. 3.1).
//
// The only trainable parameters are the layer-0 embeddings E^(0) = [P; Q] of users and items.
// They are propagated over the user-item graph of the training interactions without feature
// transforms or non-linearities, E^(k+1) = D^-1/2 A D^-1/2 E^(k) (eq. 3 / 7), and an entity's
// final representation is the layer mean e = sum_{k=0..K} E^(k) / (K + 1) (eq. 4, alpha_k =
// 1 / (K + 1) as the paper uses). score(u, i) = <e_u, e_i> (eq. 5), trained with BPR (eq. 15; its
// L2 term on E^(0) is the trainer's weight decay). Parameters: dim (64), layers (K, 3).
//
// Ours: the graph is part of the model, a buffer of the training pairs saved with the
// checkpoint, so a loaded teacher scores and is distilled without the data; the trainer attaches
// it (set_training_interactions) before training. A training step propagates over the whole
// graph (exact: every final embedding depends on all of E^(0)); in eval mode without autograd the
// final embeddings are computed once and reused until a parameter changes (its version counter),
// which is what a frozen teacher costs a distillation: one propagation per run.
#include "models/topn/lightgcn.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/errors.h"
#include "models/topn/history.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace recpress {
namespace {

// out = A x for A in CSR form (row_ptr [n + 1], col [nnz], val [nnz]); x and out [n, d].
template <typename T>
void csr_rows(std::int64_t n, std::int64_t d, const std::int64_t* __restrict rp,
              const std::int32_t* __restrict c, const T* __restrict v, const T* __restrict x,
              T* __restrict out) {
  for (std::int64_t r = 0; r < n; ++r) {
    T* __restrict o = out + r * d;
    for (auto k = rp[r]; k < rp[r + 1]; ++k) {
      const T w = v[k];
      const T* __restrict xi = x + static_cast<std::int64_t>(c[k]) * d;
      for (std::int64_t j = 0; j < d; ++j) o[j] += w * xi[j];
    }
  }
}

#if defined(__x86_64__)
// The float product (training), AVX2 + FMA where the CPU has them (the build targets generic
// x86-64, and this product is most of a LightGCN step): each row's sums stay in eight
// registers, 64 dimensions at a time, across all its neighbours, and are stored once.
__attribute__((target("avx2,fma"))) void csr_rows_avx2(std::int64_t n, std::int64_t d,
                                                       const std::int64_t* rp,
                                                       const std::int32_t* c, const float* v,
                                                       const float* x, float* out) {
  const std::int64_t wide = d / 8 * 8;
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::int64_t j0 = 0; j0 < wide; j0 += 64) {
      const std::int64_t lanes = std::min<std::int64_t>(8, (wide - j0) / 8);
      __m256 acc[8];
      for (std::int64_t l = 0; l < 8; ++l) acc[l] = _mm256_setzero_ps();
      for (auto k = rp[r]; k < rp[r + 1]; ++k) {
        const __m256 w = _mm256_set1_ps(v[k]);
        const float* xi = x + static_cast<std::int64_t>(c[k]) * d + j0;
        for (std::int64_t l = 0; l < lanes; ++l)
          acc[l] = _mm256_fmadd_ps(w, _mm256_loadu_ps(xi + 8 * l), acc[l]);
      }
      for (std::int64_t l = 0; l < lanes; ++l) _mm256_storeu_ps(out + r * d + j0 + 8 * l, acc[l]);
    }
    for (std::int64_t j = wide; j < d; ++j) {
      float sum = 0;
      for (auto k = rp[r]; k < rp[r + 1]; ++k)
        sum += v[k] * x[static_cast<std::int64_t>(c[k]) * d + j];
      out[r * d + j] = sum;
    }
  }
}
#endif

void csr_rows_f32(std::int64_t n, std::int64_t d, const std::int64_t* rp, const std::int32_t* c,
                  const float* v, const float* x, float* out) {
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2) return csr_rows_avx2(n, d, rp, c, v, x, out);
#endif
  csr_rows<float>(n, d, rp, c, v, x, out);
}

template <typename T>
void csr_times(const torch::Tensor& row_ptr, const torch::Tensor& col, const torch::Tensor& val,
               const torch::Tensor& x, torch::Tensor& out) {
  const auto n = row_ptr.numel() - 1, d = x.size(1);
  const auto* rp = row_ptr.data_ptr<std::int64_t>();
  const auto* c = col.data_ptr<std::int32_t>();
  if constexpr (std::is_same_v<T, float>)
    csr_rows_f32(n, d, rp, c, val.data_ptr<float>(), x.data_ptr<float>(), out.data_ptr<float>());
  else
    csr_rows<T>(n, d, rp, c, val.data_ptr<T>(), x.data_ptr<T>(), out.data_ptr<T>());
}

torch::Tensor csr_times(const torch::Tensor& row_ptr, const torch::Tensor& col,
                        const torch::Tensor& val, const torch::Tensor& x) {
  const auto xc = x.contiguous();
  auto out = torch::zeros_like(xc);
  if (xc.scalar_type() == torch::kDouble)
    csr_times<double>(row_ptr, col, val, xc, out);
  else
    csr_times<float>(row_ptr, col, val, xc, out);
  return out;
}

// One propagation layer E -> A E as an autograd function. An ml-100k epoch (K = 3, d = 64, batch
// 2048) took 16 s with LibTorch's sparse COO product, 10 s with the plain CSR loop and 3.1 s with
// the AVX2 kernel, identical losses and metrics (docs/design.md). A is symmetric
// (D^-1/2 A D^-1/2 of an undirected graph), so the backward is the same product: d E = A d out.
class Propagate : public torch::autograd::Function<Propagate> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& row_ptr, const torch::Tensor& col,
                               const torch::Tensor& val) {
    ctx->saved_data["row_ptr"] = row_ptr;
    ctx->saved_data["col"] = col;
    ctx->saved_data["val"] = val;
    return csr_times(row_ptr, col, val, x);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grad) {
    const auto d_x =
        csr_times(ctx->saved_data["row_ptr"].toTensor(), ctx->saved_data["col"].toTensor(),
                  ctx->saved_data["val"].toTensor(), grad[0]);
    return {d_x, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

LightGCNImpl::LightGCNImpl(const ModelSpec& spec, std::int64_t num_users, std::int64_t num_items)
    : TopNModel(spec, num_users, num_items), layers_(spec.get_int("layers")) {
  const auto dim = spec.get_int("dim");
  // The paper initialises E^(0) with Xavier; N(0, 0.01) as our other embeddings keeps one rule.
  user_embedding = make_embedding("user_embedding", num_users, dim);
  item_embedding = make_embedding("item_embedding", num_items, dim);
  edges_ = register_buffer("edges", torch::zeros({2, 0}, torch::kInt));
}

void LightGCNImpl::set_training_interactions(std::span<const Interaction> train) {
  const auto edges = interaction_buffer(train, num_users(), num_items(), "lightgcn");
  torch::NoGradGuard guard;
  edges_.set_(edges);
  row_ptr_ = torch::Tensor();  // a new graph: its adjacency is built again
  cached_ = {};
}

void LightGCNImpl::build_adjacency() {
  const auto dtype = user_embedding->weight.scalar_type();
  // Built for these edges (set_training_interactions resets it; a checkpoint load replaces the
  // buffer's storage) and this dtype.
  if (row_ptr_.defined() && adjacency_of_ == edges_.data_ptr() &&
      col_.numel() == 2 * edges_.size(1) && val_.scalar_type() == dtype)
    return;
  if (edges_.size(1) == 0)
    throw Error("lightgcn: no training graph (the model needs its training interactions)");
  const auto users = edges_[0].to(torch::kLong), items = edges_[1].to(torch::kLong) + num_users();
  const auto nodes = num_users() + num_items();
  const auto degree = torch::bincount(torch::cat({users, items}), {}, nodes).to(torch::kDouble);
  // A pair listed twice is two parallel edges: A's entry is their sum, as a sparse sum gives.
  const auto weight = (degree.index_select(0, users) * degree.index_select(0, items)).rsqrt();
  const auto rows = torch::cat({users, items}), cols = torch::cat({items, users});
  const auto order = torch::argsort(rows);  // CSR: the entries row by row
  col_ = cols.index_select(0, order).to(torch::kInt).contiguous();
  val_ = torch::cat({weight, weight}).index_select(0, order).to(dtype).contiguous();
  row_ptr_ = torch::zeros({nodes + 1}, torch::kLong);
  row_ptr_.narrow(0, 1, nodes).copy_(torch::bincount(rows, {}, nodes).cumsum(0));
  adjacency_of_ = edges_.data_ptr();
}

std::pair<torch::Tensor, torch::Tensor> LightGCNImpl::propagated() {
  const auto& p = user_embedding->weight;
  const auto& q = item_embedding->weight;
  const bool reusable = !is_training() && !torch::GradMode::is_enabled();
  const std::vector<std::int64_t> key = {p._version(),
                                         q._version(),
                                         reinterpret_cast<std::int64_t>(p.data_ptr()),
                                         reinterpret_cast<std::int64_t>(q.data_ptr()),
                                         reinterpret_cast<std::int64_t>(edges_.data_ptr()),
                                         static_cast<std::int64_t>(p.scalar_type())};
  if (reusable && cached_.first.defined() && cached_key_ == key) return cached_;
  build_adjacency();
  auto layer = torch::cat({p, q});
  auto sum = layer;
  for (std::int64_t k = 0; k < layers_; ++k) {
    layer = Propagate::apply(layer, row_ptr_, col_, val_);
    sum = sum + layer;
  }
  const auto mean = sum / static_cast<double>(layers_ + 1);
  std::pair<torch::Tensor, torch::Tensor> out = {mean.narrow(0, 0, num_users()),
                                                 mean.narrow(0, num_users(), num_items())};
  if (reusable) cached_ = out, cached_key_ = key;
  return out;
}

torch::Tensor LightGCNImpl::forward(const torch::Tensor& users, const torch::Tensor& items) {
  const auto [e_users, e_items] = propagated();
  return (e_users.index_select(0, users) * e_items.index_select(0, items)).sum(1);
}

torch::Tensor LightGCNImpl::score_all(const torch::Tensor& users) {
  const auto [e_users, e_items] = propagated();
  return torch::mm(e_users.index_select(0, users), e_items.t());
}

std::vector<std::pair<std::string, torch::Tensor>> LightGCNImpl::representations(
    const torch::Tensor& users, const torch::Tensor& items) {
  const auto [e_users, e_items] = propagated();
  return {{"user", e_users.index_select(0, users)}, {"item", e_items.index_select(0, items)}};
}

namespace {
TopNModelPtr make_lightgcn(const ModelSpec& s, std::int64_t u, std::int64_t i) {
  return LightGCN(s, u, i).ptr();
}
}  // namespace
RECPRESS_REGISTER_TOPN_MODEL(
    "lightgcn",
    "LightGCN (He et al., SIGIR 2020): embeddings smoothed over the training graph, layer mean, "
    "<e_u, e_i>",
    (ParamDecls{int_param("dim", 64, 1, "embedding size"),
                int_param("layers", 3, 0, "propagation layers (K)")}),
    make_lightgcn);

}  // namespace recpress
