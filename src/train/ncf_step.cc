#include "train/ncf_step.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/errors.h"
#include "train/blas.h"
#include "train/lazy_adam.h"

namespace recpress {
namespace {

enum class Rule { kSgd, kAdam, kLazyAdam };

// The model's parameter tensors in the order NcfStep binds them.
std::vector<torch::Tensor> part_tensors(const NcfParts& p) {
  std::vector<torch::Tensor> out;
  for (const auto* t : {&p.gmf_user, &p.gmf_item, &p.mlp_user, &p.mlp_item})
    if (t->defined()) out.push_back(*t);
  for (const auto& layer : p.tower) {
    out.push_back(layer->weight);
    out.push_back(layer->bias);
  }
  for (const auto* t : {&p.head_weight, &p.head_bias})
    if (t->defined()) out.push_back(*t);
  return out;
}

// Position of `t` among the optimiser's parameters; -1 when absent.
std::int64_t index_in(const torch::optim::Optimizer& optimizer, const torch::Tensor& t) {
  const auto& params = optimizer.param_groups().at(0).params();
  for (std::size_t k = 0; k < params.size(); ++k)
    if (params[k].is_same(t)) return static_cast<std::int64_t>(k);
  return -1;
}

// softplus(x) = log(1 + e^x), stable for large |x|.
double softplus(double x) {
  return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x)));
}
double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

// One trainable tensor, with its optimiser state.
struct Param {
  float* w = nullptr;
  std::int64_t rows = 1, dim = 0;  // an embedding table is rows x dim; a dense one 1 x size
  float* m = nullptr;              // Adam's moments (nullptr for SGD)
  float* v = nullptr;
  torch::optim::AdamParamState* adam = nullptr;  // LibTorch's Adam: its per-parameter step count
  std::int64_t size() const { return rows * dim; }
};

// The element-wise loops, compiled for AVX2+FMA too (picked at load time) and with
// -fno-math-errno (CMakeLists.txt) so that sqrt vectorises: on NeuMF they are a third of a step.
#define RECPRESS_VECTOR_KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))

struct AdamCoefficients {
  float beta1, beta2, eps, weight_decay, step_size, inv_sqrt_bias2;
};

// n elements; g == nullptr is a zero gradient.
RECPRESS_VECTOR_KERNEL void adam_apply(float* __restrict w, const float* __restrict g,
                                       float* __restrict m, float* __restrict v, std::int64_t n,
                                       AdamCoefficients c) {
  const float b1c = 1.0f - c.beta1, b2c = 1.0f - c.beta2;
  if (g == nullptr) {
    for (std::int64_t i = 0; i < n; ++i) {
      const float gi = c.weight_decay * w[i];
      m[i] = c.beta1 * m[i] + b1c * gi;
      v[i] = c.beta2 * v[i] + b2c * gi * gi;
      w[i] -= c.step_size * m[i] / (std::sqrt(v[i]) * c.inv_sqrt_bias2 + c.eps);
    }
    return;
  }
  for (std::int64_t i = 0; i < n; ++i) {
    const float gi = g[i] + c.weight_decay * w[i];
    m[i] = c.beta1 * m[i] + b1c * gi;
    v[i] = c.beta2 * v[i] + b2c * gi * gi;
    w[i] -= c.step_size * m[i] / (std::sqrt(v[i]) * c.inv_sqrt_bias2 + c.eps);
  }
}

RECPRESS_VECTOR_KERNEL void sgd_apply(float* __restrict w, const float* __restrict g,
                                      std::int64_t n, float lr, float wd) {
  if (g == nullptr) {
    for (std::int64_t i = 0; i < n; ++i) w[i] -= lr * (wd * w[i]);
    return;
  }
  for (std::int64_t i = 0; i < n; ++i) w[i] -= lr * (g[i] + wd * w[i]);
}

// h[r, j] = max(h[r, j] + b[j], 0).
RECPRESS_VECTOR_KERNEL void add_bias_relu(float* __restrict h, const float* __restrict b,
                                          std::int64_t rows, std::int64_t out) {
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < out; ++j) h[r * out + j] = std::max(h[r * out + j] + b[j], 0.0f);
}

// dx[k] = 0 where the ReLU output x[k] is not positive.
RECPRESS_VECTOR_KERNEL void relu_mask(float* __restrict dx, const float* __restrict x,
                                      std::int64_t n) {
  for (std::int64_t k = 0; k < n; ++k) dx[k] = x[k] > 0.0f ? dx[k] : 0.0f;
}

// out[j] = sum of rows [begin, end) of x[., cols], column by column.
RECPRESS_VECTOR_KERNEL void column_sums(float* __restrict out, const float* __restrict x,
                                        std::int64_t begin, std::int64_t end, std::int64_t cols) {
  for (std::int64_t j = 0; j < cols; ++j) out[j] = 0.0f;
  for (std::int64_t r = begin; r < end; ++r)
    for (std::int64_t j = 0; j < cols; ++j) out[j] += x[r * cols + j];
}

// dst[k] += a * src[k].
RECPRESS_VECTOR_KERNEL void add_scaled(float* __restrict dst, const float* __restrict src, float a,
                                       std::int64_t n) {
  for (std::int64_t k = 0; k < n; ++k) dst[k] += a * src[k];
}

// Adam's per-step constants (LibTorch's adam.cpp arithmetic: denom = sqrt(v) / sqrt(1 - b2^t) +
// eps, step = lr / (1 - b1^t)).
struct AdamStep {
  float beta1, beta2, eps, weight_decay, step_size, inv_sqrt_bias2;
  AdamStep(double lr, double wd, std::int64_t t)
      : beta1(0.9f), beta2(0.999f), eps(1e-8f), weight_decay(static_cast<float>(wd)) {
    const double bias1 = 1.0 - std::pow(0.9, static_cast<double>(t));
    const double bias2 = 1.0 - std::pow(0.999, static_cast<double>(t));
    step_size = static_cast<float>(lr / bias1);
    inv_sqrt_bias2 = static_cast<float>(1.0 / std::sqrt(bias2));
  }
  void apply(float* w, const float* g, float* m, float* v, std::int64_t n) const {
    adam_apply(w, g, m, v, n, {beta1, beta2, eps, weight_decay, step_size, inv_sqrt_bias2});
  }
};

// An embedding table with the gradient rows of the current batch: each row once, summed.
struct Table {
  Param param;
  std::vector<std::int32_t> slot;  // row -> position in `touched`, -1 when not in the batch
  std::vector<std::int64_t> touched;
  std::vector<float> grad;  // touched.size() x dim

  void bind(Param p) {
    param = p;
    slot.assign(static_cast<std::size_t>(p.rows), -1);
  }
  bool bound() const { return param.w != nullptr; }
  const float* row(std::int64_t r) const { return param.w + r * param.dim; }
  float* grad_row(std::int64_t r) {
    auto& s = slot[static_cast<std::size_t>(r)];
    if (s < 0) {
      s = static_cast<std::int32_t>(touched.size());
      touched.push_back(r);
      // A term's representation gradient may name ids beyond the batch's rows.
      const auto need = touched.size() * static_cast<std::size_t>(param.dim);
      if (need > grad.size()) grad.resize(std::max(need, 2 * grad.size()));
      std::fill_n(grad.data() + s * param.dim, param.dim, 0.0f);
    }
    return grad.data() + s * param.dim;
  }
  void check_ids(const std::int64_t* ids, std::int64_t n) const {
    for (std::int64_t k = 0; k < n; ++k)
      if (ids[k] < 0 || ids[k] >= param.rows)
        throw Error("native step: id " + std::to_string(ids[k]) + " outside 0.." +
                    std::to_string(param.rows - 1));
  }
  void clear() {
    for (auto r : touched) slot[static_cast<std::size_t>(r)] = -1;
    touched.clear();
  }
};

}  // namespace

std::string ncf_step_unsupported(TopNModel& model, const torch::optim::Optimizer& optimizer,
                                 const std::string& optimizer_name) {
  const auto parts = model.ncf_parts();
  if (!parts) return "model '" + model.spec().name + "' is not of the NCF family";
  if (optimizer_name != "sgd" && optimizer_name != "adam" && optimizer_name != "lazyadam")
    return "optimizer '" + optimizer_name + "' (native: sgd, adam, lazyadam)";
  const auto tensors = part_tensors(*parts);
  if (optimizer.param_groups().size() != 1) return "the optimiser has several parameter groups";
  for (const auto& t : tensors) {
    if (index_in(optimizer, t) < 0) return "the optimiser does not train every model parameter";
    if (t.scalar_type() != torch::kFloat || !t.is_contiguous() || !t.device().is_cpu())
      return "a parameter is not a contiguous fp32 CPU tensor";
  }
  return "";
}

struct NcfStep::Impl {
  Rule rule = Rule::kSgd;
  double weight_decay = 0;
  LossKind loss = LossKind::kBce;
  LazyAdam* lazy = nullptr;
  torch::optim::Optimizer* optimizer = nullptr;

  // The parts. gmf: d columns (0: none); mlp: e columns per side; tower widths.
  Table p, q, mu, mi;  // gmf_user, gmf_item, mlp_user, mlp_item
  std::int64_t d = 0, e = 0;
  std::vector<Param> weights, biases;  // tower layers
  std::vector<std::int64_t> width;     // width[0] = 2e, width[l + 1] = layer l's output
  Param head_w, head_b;                // absent for MF
  bool has_head = false;

  // Row buffers. The batch's rows come first (n for BCE, 2n for BPR: positives then negatives),
  // then the rows distillation terms score (add_rows): one backward pass covers them all.
  std::int64_t n = 0, main_rows = 0, rows = 0, max_batch_rows = 0;
  std::vector<std::int64_t> row_user, row_item;
  std::vector<float> gmf;               // rows x d: p_u * q_i (MF, without a head: its sum)
  std::vector<std::vector<float>> act;  // act[0] rows x 2e input, act[l + 1] rows x width[l + 1]
  std::vector<float> delta;             // rows: d loss / d score
  std::vector<float> back_a, back_b;    // rows x the widest layer
  std::vector<std::vector<float>> grad_w, grad_b;
  std::vector<float> grad_head;  // d + h, then the bias

  // Grows the row buffers to `count` rows (kept: the capacity of the largest step so far).
  void reserve_rows(std::int64_t count) {
    const auto R = static_cast<std::size_t>(count);
    if (R <= row_user.size()) return;
    row_user.resize(R);
    row_item.resize(R);
    gmf.resize(R * static_cast<std::size_t>(d));
    delta.resize(R);
    std::int64_t widest = 0;
    for (std::size_t l = 0; l < width.size(); ++l) {
      act[l].resize(R * static_cast<std::size_t>(width[l]));
      widest = std::max(widest, width[l]);
    }
    back_a.resize(R * static_cast<std::size_t>(widest));
    back_b.resize(R * static_cast<std::size_t>(widest));
    for (auto* t : {&p, &q, &mu, &mi})
      if (t->bound()) t->grad.resize(R * static_cast<std::size_t>(t->param.dim));
  }

  Param bind(const torch::Tensor& t, std::int64_t rows_of) {
    Param out;
    out.w = t.data_ptr<float>();
    out.rows = rows_of;
    out.dim = t.numel() / rows_of;
    const auto k = static_cast<std::size_t>(index_in(*optimizer, t));
    if (rule == Rule::kLazyAdam) {
      out.m = lazy->first_moment(k).data_ptr<float>();
      out.v = lazy->second_moment(k).data_ptr<float>();
    } else if (rule == Rule::kAdam) {
      // LibTorch's Adam keys its state by the tensor's implementation (adam.cpp) and creates it
      // at the parameter's first step, as here.
      auto& state = optimizer->state();
      const auto key = c10::guts::to_string(t.unsafeGetTensorImpl());
      auto it = state.find(key);
      if (it == state.end()) {
        auto s = std::make_unique<torch::optim::AdamParamState>();
        s->step(0);
        s->exp_avg(torch::zeros_like(t, torch::MemoryFormat::Preserve));
        s->exp_avg_sq(torch::zeros_like(t, torch::MemoryFormat::Preserve));
        it = state.emplace(key, std::move(s)).first;
      }
      out.adam = static_cast<torch::optim::AdamParamState*>(it->second.get());
      out.m = out.adam->exp_avg().data_ptr<float>();
      out.v = out.adam->exp_avg_sq().data_ptr<float>();
    }
    return out;
  }

  void bind_table(Table& table, const torch::Tensor& t) {
    if (t.defined()) table.bind(bind(t, t.size(0)));
  }

  // ------------------------------------------------------------------ forward

  // The forward pass of rows [begin, end), whose ids are in row_user / row_item.
  void forward_rows(std::int64_t begin, std::int64_t end) {
    if (d > 0 && !has_head) {
      // MF: the logit is the dot product; the products themselves are not needed again.
      for (std::int64_t r = begin; r < end; ++r) {
        const float* pu = p.row(row_user[r]);
        const float* qi = q.row(row_item[r]);
        float s = 0.0f;
        for (std::int64_t k = 0; k < d; ++k) s += pu[k] * qi[k];
        gmf[static_cast<std::size_t>(r)] = s;
      }
    } else if (d > 0) {
      for (std::int64_t r = begin; r < end; ++r) {
        const float* pu = p.row(row_user[r]);
        const float* qi = q.row(row_item[r]);
        float* out = gmf.data() + r * d;
        for (std::int64_t k = 0; k < d; ++k) out[k] = pu[k] * qi[k];
      }
    }
    if (weights.empty()) return;
    float* x = act[0].data();
    for (std::int64_t r = begin; r < end; ++r) {
      std::copy_n(mu.row(row_user[r]), e, x + r * 2 * e);
      std::copy_n(mi.row(row_item[r]), e, x + r * 2 * e + e);
    }
    const auto count = end - begin;
    for (std::size_t l = 0; l < weights.size(); ++l) {
      const auto in = width[l], out = width[l + 1];
      float* h = act[l + 1].data() + begin * out;
      gemm_rows(false, true, static_cast<int>(count), static_cast<int>(out), static_cast<int>(in),
                1.0f, act[l].data() + begin * in, static_cast<int>(in), weights[l].w,
                static_cast<int>(in), 0.0f, h, static_cast<int>(out));
      add_bias_relu(h, biases[l].w, count, out);
    }
  }

  // Rows scored for a distillation term: their logits into `scores`. Kept rows (a term's loss
  // backpropagates into them: set_row_gradient) join this step's backward pass; the others only
  // borrow the buffers past the kept rows.
  std::int64_t add_rows(const std::int64_t* users, const std::int64_t* items, std::int64_t count,
                        float* scores, bool keep) {
    if (main_rows == 0) throw Error("native step: add_rows() before forward()");
    for (auto* t : {&p, &mu})
      if (t->bound()) t->check_ids(users, count);
    for (auto* t : {&q, &mi})
      if (t->bound()) t->check_ids(items, count);
    const auto begin = rows;
    reserve_rows(begin + count);
    std::copy_n(users, count, row_user.data() + begin);
    std::copy_n(items, count, row_item.data() + begin);
    forward_rows(begin, begin + count);
    for (std::int64_t r = 0; r < count; ++r) scores[r] = score(begin + r);
    if (keep) {
      std::fill_n(delta.data() + begin, count, 0.0f);
      rows += count;
    }
    return begin;
  }

  void set_row_gradient(std::int64_t first, const float* grad, std::int64_t count) {
    if (first < main_rows || first + count > rows)
      throw Error("native step: gradient for rows outside the kept ones");
    for (std::int64_t r = 0; r < count; ++r) delta[first + r] += grad[r];
  }

  float score(std::int64_t r) const {
    if (d > 0 && !has_head) return gmf[static_cast<std::size_t>(r)];  // MF: the dot product
    float s = has_head ? head_b.w[0] : 0.0f;
    if (d > 0) {
      const float* g = gmf.data() + r * d;
      if (has_head)
        for (std::int64_t k = 0; k < d; ++k) s += head_w.w[k] * g[k];
      else
        for (std::int64_t k = 0; k < d; ++k) s += g[k];
    }
    if (!weights.empty()) {
      const auto h = width.back();
      const float* top = act.back().data() + r * h;
      const float* w = head_w.w + d;
      for (std::int64_t j = 0; j < h; ++j) s += w[j] * top[j];
    }
    return s;
  }

  double forward(const std::int64_t* users, const std::int64_t* items,
                 const std::int64_t* negatives, const float* labels, std::int64_t batch) {
    const std::int64_t per = loss == LossKind::kBpr ? 2 : 1;
    if (batch < 1 || batch * per > max_batch_rows)
      throw Error("native step: batch of " + std::to_string(batch) + " outside 1.." +
                  std::to_string(max_batch_rows / per));
    n = batch;
    rows = main_rows = per * n;
    reserve_rows(rows);
    for (std::int64_t r = 0; r < rows; ++r) {
      row_user[r] = users[r % n];
      row_item[r] = r < n ? items[r] : negatives[r - n];
    }
    forward_rows(0, rows);
    double total = 0;
    if (loss == LossKind::kBce) {
      for (std::int64_t r = 0; r < rows; ++r) {
        const double s = score(r), y = labels[r];
        total += softplus(s) - y * s;
        delta[r] = static_cast<float>((sigmoid(s) - y) / static_cast<double>(rows));
      }
      return total / static_cast<double>(rows);
    }
    for (std::int64_t b = 0; b < n; ++b) {
      const double x = static_cast<double>(score(b + n)) - score(b);  // s_j - s_i
      total += softplus(x);
      const auto g = static_cast<float>(sigmoid(x) / static_cast<double>(n));
      delta[b] = -g;
      delta[b + n] = g;
    }
    return total / static_cast<double>(n);
  }

  // ------------------------------------------------------------------ backward

  // BPR's rows are the positives then the negatives: a bias's gradient is summed over each half
  // then added, as autograd's two branches do, so that it cancels exactly where it must (a bias
  // shared by s_i and s_j has a zero gradient; Adam would turn a rounding residue into a step).
  void bias_gradient(float* out, const float* x, std::int64_t cols) {
    const std::int64_t half = loss == LossKind::kBpr ? n : main_rows;
    column_sums(out, x, 0, half, cols);
    sums_.resize(static_cast<std::size_t>(cols));
    for (const auto& [begin, end] : {std::pair{half, main_rows}, std::pair{main_rows, rows}}) {
      if (begin == end) continue;
      column_sums(sums_.data(), x, begin, end, cols);
      for (std::int64_t j = 0; j < cols; ++j) out[j] += sums_[static_cast<std::size_t>(j)];
    }
  }
  std::vector<float> sums_;

  void backward_head() {
    std::fill(grad_head.begin(), grad_head.end(), 0.0f);
    const auto h = weights.empty() ? 0 : width.back();
    float* gw = grad_head.data();
    for (std::int64_t r = 0; r < rows; ++r) {
      add_scaled(gw, gmf.data() + r * d, delta[r], d);
      if (h > 0) add_scaled(gw + d, act.back().data() + r * h, delta[r], h);
    }
    bias_gradient(&grad_head[static_cast<std::size_t>(d + h)], delta.data(), 1);
  }

  void backward_gmf() {
    for (std::int64_t r = 0; r < rows; ++r) {
      const auto u = row_user[r], i = row_item[r];
      const float* pu = p.row(u);
      const float* qi = q.row(i);
      float* gp = p.grad_row(u);
      float* gq = q.grad_row(i);
      for (std::int64_t k = 0; k < d; ++k) {
        const float dg = delta[r] * (has_head ? head_w.w[k] : 1.0f);
        gp[k] += dg * qi[k];
        gq[k] += dg * pu[k];
      }
    }
  }

  void backward_tower() {
    const auto L = weights.size();
    // dZ of the last layer: delta x h_m through the ReLU.
    float* dz = back_a.data();
    float* dx = back_b.data();
    {
      const auto h = width.back();
      const float* top = act.back().data();
      const float* w = head_w.w + d;
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t j = 0; j < h; ++j)
          dz[r * h + j] = top[r * h + j] > 0.0f ? delta[r] * w[j] : 0.0f;
    }
    for (std::size_t l = L; l-- > 0;) {
      const auto in = width[l], out = width[l + 1];
      // dW = dZ^T X [out, in]; db = column sums of dZ; dX = dZ W [R, in].
      gemm_rows(true, false, static_cast<int>(out), static_cast<int>(in), static_cast<int>(rows),
                1.0f, dz, static_cast<int>(out), act[l].data(), static_cast<int>(in), 0.0f,
                grad_w[l].data(), static_cast<int>(in));
      float* gb = grad_b[l].data();
      bias_gradient(gb, dz, out);
      gemm_rows(false, false, static_cast<int>(rows), static_cast<int>(in), static_cast<int>(out),
                1.0f, dz, static_cast<int>(out), weights[l].w, static_cast<int>(in), 0.0f, dx,
                static_cast<int>(in));
      if (l > 0) relu_mask(dx, act[l].data(), rows * in);  // the previous layer's ReLU output
      std::swap(dz, dx);
    }
    // dz now holds d loss / d [m_u; n_i].
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* g = dz + r * 2 * e;
      float* gu = mu.grad_row(row_user[r]);
      float* gi = mi.grad_row(row_item[r]);
      add_scaled(gu, g, 1.0f, e);
      add_scaled(gi, g + e, 1.0f, e);
    }
  }

  // ------------------------------------------------------------------ representations

  // The user-side (or item-side) tables in the order the models' "user" / "item"
  // representations concatenate them: the GMF (or MF) embedding, then the MLP's.
  std::vector<Table*> entity_tables(const std::string& kind) {
    if (kind != "user" && kind != "item")
      throw Error("native step: no '" + kind + "' representation (user, item)");
    std::vector<Table*> out;
    for (auto* t : kind == "user" ? std::vector<Table*>{&p, &mu} : std::vector<Table*>{&q, &mi})
      if (t->bound()) out.push_back(t);
    return out;
  }

  std::int64_t entity_width(const std::string& kind) {
    std::int64_t w = 0;
    for (auto* t : entity_tables(kind)) w += t->param.dim;
    return w;
  }

  // Calls visit(table, row r, its column block of the representation) for each table of
  // `kind` and each of the n ids, after checking the ids.
  template <typename Visit>
  void for_entity_blocks(const std::string& kind, const std::int64_t* index, std::int64_t n,
                         Visit&& visit) {
    const auto tables = entity_tables(kind);
    for (auto* t : tables) t->check_ids(index, n);
    const auto width = entity_width(kind);
    for (std::int64_t r = 0; r < n; ++r) {
      std::int64_t col = 0;
      for (auto* t : tables) {
        visit(*t, r, r * width + col);
        col += t->param.dim;
      }
    }
  }

  void entity(const std::string& kind, const std::int64_t* index, std::int64_t n, float* out) {
    for_entity_blocks(kind, index, n, [&](Table& t, std::int64_t r, std::int64_t at) {
      std::copy_n(t.row(index[r]), t.param.dim, out + at);
    });
  }

  void add_entity_gradient(const std::string& kind, const std::int64_t* index, std::int64_t n,
                           const float* grad) {
    if (main_rows == 0) throw Error("native step: add_entity_gradient() before forward()");
    for_entity_blocks(kind, index, n, [&](Table& t, std::int64_t r, std::int64_t at) {
      add_scaled(t.grad_row(index[r]), grad + at, 1.0f, t.param.dim);
    });
  }

  // ------------------------------------------------------------------ update

  std::int64_t next_step(Param& prm) {
    if (prm.adam == nullptr) return lazy->step_count();
    prm.adam->step(prm.adam->step() + 1);
    return prm.adam->step();
  }

  void update_dense(Param& prm, const float* g, double lr) {
    if (rule == Rule::kSgd) {
      sgd_apply(prm.w, g, prm.size(), static_cast<float>(lr), static_cast<float>(weight_decay));
      return;
    }
    AdamStep(lr, weight_decay, next_step(prm)).apply(prm.w, g, prm.m, prm.v, prm.size());
  }

  void update_table(Table& t, double lr) {
    Param& prm = t.param;
    const auto dim = prm.dim;
    if (rule == Rule::kLazyAdam) {
      const AdamStep a(lr, weight_decay, lazy->step_count());
      for (std::size_t s = 0; s < t.touched.size(); ++s) {
        const auto off = t.touched[s] * dim;
        a.apply(prm.w + off, t.grad.data() + static_cast<std::int64_t>(s) * dim, prm.m + off,
                prm.v + off, dim);
      }
      return;
    }
    // SGD and Adam see a dense gradient, zero outside the batch's rows: every row is updated
    // (SGD without weight decay leaves the others unchanged, so it skips them).
    const bool all_rows = rule == Rule::kAdam || weight_decay != 0;
    if (rule == Rule::kSgd && !all_rows) {
      for (std::size_t s = 0; s < t.touched.size(); ++s)
        sgd_apply(prm.w + t.touched[s] * dim, t.grad.data() + static_cast<std::int64_t>(s) * dim,
                  dim, static_cast<float>(lr), 0.0f);
      return;
    }
    const AdamStep adam(lr, weight_decay, rule == Rule::kAdam ? next_step(prm) : 1);
    for (std::int64_t r = 0; r < prm.rows; ++r) {
      const auto s = t.slot[static_cast<std::size_t>(r)];
      const float* g = s < 0 ? nullptr : t.grad.data() + static_cast<std::int64_t>(s) * dim;
      if (rule == Rule::kSgd)
        sgd_apply(prm.w + r * dim, g, dim, static_cast<float>(lr),
                  static_cast<float>(weight_decay));
      else
        adam.apply(prm.w + r * dim, g, prm.m + r * dim, prm.v + r * dim, dim);
    }
  }

  void update(double lr, bool step_counted) {
    if (has_head) backward_head();
    if (d > 0) backward_gmf();
    if (!weights.empty()) backward_tower();
    if (rule == Rule::kLazyAdam && !step_counted) ++lazy->step_count();
    for (auto* t : {&p, &q, &mu, &mi})
      if (t->bound()) update_table(*t, lr);
    for (std::size_t l = 0; l < weights.size(); ++l) {
      update_dense(weights[l], grad_w[l].data(), lr);
      update_dense(biases[l], grad_b[l].data(), lr);
    }
    if (has_head) {
      update_dense(head_w, grad_head.data(), lr);
      update_dense(head_b, grad_head.data() + head_w.size(), lr);
    }
    for (auto* t : {&p, &q, &mu, &mi}) t->clear();
    main_rows = rows = 0;
  }
};

NcfStep::NcfStep(TopNModel& model, torch::optim::Optimizer& optimizer,
                 const OptimizerConfig& config, LossKind loss, std::int64_t max_batch)
    : impl_(std::make_unique<Impl>()) {
  const std::string why = ncf_step_unsupported(model, optimizer, config.optimizer);
  if (!why.empty()) throw Error("native training step: " + why);
  if (max_batch < 1) throw Error("native training step: batch size must be >= 1");
  auto& s = *impl_;
  s.rule = config.optimizer == "sgd"    ? Rule::kSgd
           : config.optimizer == "adam" ? Rule::kAdam
                                        : Rule::kLazyAdam;
  s.weight_decay = config.weight_decay;
  s.loss = loss;
  s.optimizer = &optimizer;
  s.lazy = dynamic_cast<LazyAdam*>(&optimizer);
  if (s.rule == Rule::kLazyAdam && s.lazy == nullptr)
    throw Error("native training step: optimizer 'lazyadam' is not a LazyAdam");
  s.max_batch_rows = (loss == LossKind::kBpr ? 2 : 1) * max_batch;
  const auto parts = *model.ncf_parts();
  s.bind_table(s.p, parts.gmf_user);
  s.bind_table(s.q, parts.gmf_item);
  s.bind_table(s.mu, parts.mlp_user);
  s.bind_table(s.mi, parts.mlp_item);
  s.d = s.p.bound() ? s.p.param.dim : 0;
  s.e = s.mu.bound() ? s.mu.param.dim : 0;
  s.width.push_back(2 * s.e);
  for (const auto& layer : parts.tower) {
    s.weights.push_back(s.bind(layer->weight, 1));
    s.biases.push_back(s.bind(layer->bias, 1));
    s.width.push_back(layer->weight.size(0));
    if (layer->weight.size(1) != s.width[s.width.size() - 2])
      throw Error("native training step: tower layer widths do not chain");
  }
  s.has_head = parts.head_weight.defined();
  if (s.has_head) {
    s.head_w = s.bind(parts.head_weight, 1);
    s.head_b = s.bind(parts.head_bias, 1);
  }
  s.act.resize(s.width.size());
  s.reserve_rows(s.max_batch_rows);
  for (std::size_t l = 0; l < s.weights.size(); ++l) {
    s.grad_w.emplace_back(static_cast<std::size_t>(s.weights[l].size()));
    s.grad_b.emplace_back(static_cast<std::size_t>(s.biases[l].size()));
  }
  s.grad_head.resize(static_cast<std::size_t>(s.has_head ? s.head_w.size() + 1 : 0));
}

NcfStep::~NcfStep() = default;

double NcfStep::forward(const std::int64_t* users, const std::int64_t* items,
                        const std::int64_t* negatives, const float* labels, std::int64_t n) {
  return impl_->forward(users, items, negatives, labels, n);
}

void NcfStep::update(double lr, bool step_counted) {
  impl_->update(lr, step_counted);
}

std::int64_t NcfStep::entity_width(const std::string& kind) {
  return impl_->entity_width(kind);
}

void NcfStep::entity(const std::string& kind, const std::int64_t* index, std::int64_t n,
                     float* out) {
  impl_->entity(kind, index, n, out);
}

void NcfStep::add_entity_gradient(const std::string& kind, const std::int64_t* index,
                                  std::int64_t n, const float* grad) {
  impl_->add_entity_gradient(kind, index, n, grad);
}

std::int64_t NcfStep::add_rows(const std::int64_t* users, const std::int64_t* items, std::int64_t n,
                               float* scores, bool keep) {
  return impl_->add_rows(users, items, n, scores, keep);
}

void NcfStep::set_row_gradient(std::int64_t first, const float* grad, std::int64_t n) {
  impl_->set_row_gradient(first, grad, n);
}

}  // namespace recpress
