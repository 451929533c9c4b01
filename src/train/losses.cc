#include "train/losses.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "core/errors.h"

namespace recpress {

torch::Tensor pointwise_bce_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
  // The with-logits form is the numerically stable one: log(1 + exp(-|x|)) + max(x, 0) - x y.
  return torch::binary_cross_entropy_with_logits(logits, labels);
}

torch::Tensor bpr_loss(const torch::Tensor& positive_logits, const torch::Tensor& negative_logits) {
  // -log sigmoid(d) = softplus(-d), stable for large |d|.
  return torch::softplus(negative_logits - positive_logits).mean();
}

namespace {

typedef float Floats8 __attribute__((vector_size(32)));
typedef std::int32_t Ints8 __attribute__((vector_size(32)));

// e^x for 8 values x <= 0 (a logit minus its row's maximum), as Cephes' expf (Moshier 1989):
// x = n ln 2 + r with |r| <= ln 2 / 2 (ln 2 split in two constants so that r is exact), e^r by
// its degree-7 minimax polynomial, and 2^n put into the exponent bits; relative error ~1e-7.
// Below -87.3, where e^x leaves the normal floats, the result is 0. Written with GCC's vector
// extensions so that each clone of the caller runs it in its own vector width; in place (a
// 32-byte vector passed by value to a function compiled without AVX changes the ABI).
inline __attribute__((always_inline)) void exp_nonpositive(Floats8& x) {
  const Floats8 lowest = Floats8{} - 87.3f;
  const Ints8 underflow = x < lowest;
  x = x < lowest ? lowest : x;
  Floats8 n = x * 1.44269504088896341f + 0.5f;     // round(x / ln 2) via floor(. + 0.5)
  Ints8 ni = __builtin_convertvector(n, Ints8);    // truncates toward zero
  ni += __builtin_convertvector(ni, Floats8) > n;  // true is -1: floor for negative values
  n = __builtin_convertvector(ni, Floats8);
  const Floats8 r = x - n * 0.693359375f + n * 2.12194440e-4f;
  Floats8 p = Floats8{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const Floats8 er = p * r * r + r + 1.0f;
  const Ints8 bits = (ni + 127) << 23;
  Floats8 scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const Floats8 out = er * scale;
  x = underflow ? Floats8{} : out;
}

// One row: writes (softmax(x) - onehot(t)) * inv_n into g and returns -log softmax(x)[t].
__attribute__((target_clones("avx2", "default"))) double cross_entropy_row(const float* x,
                                                                           std::int64_t c,
                                                                           std::int64_t t,
                                                                           float inv_n, float* g) {
  std::int64_t j = 0;
  Floats8 m8 = Floats8{} - std::numeric_limits<float>::infinity();
  for (; j + 8 <= c; j += 8) {
    Floats8 v;
    std::memcpy(&v, x + j, sizeof v);
    m8 = v > m8 ? v : m8;
  }
  float m = -std::numeric_limits<float>::infinity();
  for (int l = 0; l < 8; ++l) m = m8[l] > m ? m8[l] : m;
  for (; j < c; ++j) m = x[j] > m ? x[j] : m;
  Floats8 s8 = Floats8{};
  for (j = 0; j + 8 <= c; j += 8) {
    Floats8 v;
    std::memcpy(&v, x + j, sizeof v);
    Floats8 e = v - m;
    exp_nonpositive(e);
    std::memcpy(g + j, &e, sizeof e);
    s8 += e;
  }
  double sum = 0;
  for (int l = 0; l < 8; ++l) sum += s8[l];
  for (; j < c; ++j) {
    Floats8 v = Floats8{} + (x[j] - m);
    exp_nonpositive(v);
    const float e = v[0];
    g[j] = e;
    sum += e;
  }
  const auto scale = static_cast<float>(inv_n / sum);
  for (j = 0; j < c; ++j) g[j] *= scale;
  g[t] -= inv_n;
  return std::log(sum) + m - x[t];
}

class FullSoftmaxCrossEntropy : public torch::autograd::Function<FullSoftmaxCrossEntropy> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& logits,
                               const torch::Tensor& targets) {
    if (logits.dim() != 2 || targets.dim() != 1 || targets.size(0) != logits.size(0))
      throw Error("cross-entropy: logits must be [N, C] and targets [N]");
    const auto x = logits.to(torch::kFloat).contiguous();
    const auto t = targets.to(torch::kLong).contiguous();
    const std::int64_t n = x.size(0), c = x.size(1);
    auto grad = torch::empty_like(x);
    const float* xp = x.data_ptr<float>();
    const std::int64_t* tp = t.data_ptr<std::int64_t>();
    float* gp = grad.data_ptr<float>();
    const float inv_n = n > 0 ? 1.0f / static_cast<float>(n) : 0.0f;
    double total = 0;
    for (std::int64_t r = 0; r < n; ++r) {
      if (tp[r] < 0 || tp[r] >= c)
        throw Error("cross-entropy: target " + std::to_string(tp[r]) + " of row " +
                    std::to_string(r) + " is outside [0, " + std::to_string(c) + ")");
      total += cross_entropy_row(xp + r * c, c, tp[r], inv_n, gp + r * c);
    }
    ctx->saved_data["grad"] = grad;
    ctx->saved_data["dtype"] = static_cast<std::int64_t>(logits.scalar_type());
    return torch::full({}, n > 0 ? total / static_cast<double>(n) : NAN, torch::kFloat);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const auto grad = ctx->saved_data["grad"].toTensor() * grad_out[0];
    const auto dtype = static_cast<torch::ScalarType>(ctx->saved_data["dtype"].toInt());
    return {dtype == torch::kFloat ? grad : grad.to(dtype), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor full_softmax_cross_entropy(const torch::Tensor& logits,
                                         const torch::Tensor& targets) {
  // Double logits (the finite-difference gradient checks) keep double precision through
  // LibTorch's own loss; the one-pass kernel computes in fp32.
  if (logits.scalar_type() == torch::kDouble)
    return torch::nn::functional::cross_entropy(logits, targets);
  return FullSoftmaxCrossEntropy::apply(logits, targets);
}

torch::Tensor multinomial_loss(const torch::Tensor& logits, const torch::Tensor& rows,
                               const torch::Tensor& items) {
  if (logits.dim() != 2 || rows.dim() != 1 || rows.sizes() != items.sizes())
    throw Error("multinomial loss: logits must be [B, I] and rows, items [N] alike");
  if (rows.numel() > 0 &&
      (rows.min().item<std::int64_t>() < 0 || rows.max().item<std::int64_t>() >= logits.size(0) ||
       items.min().item<std::int64_t>() < 0 || items.max().item<std::int64_t>() >= logits.size(1)))
    throw Error("multinomial loss: an observed (row, item) lies outside the logits' " +
                std::to_string(logits.size(0)) + " x " + std::to_string(logits.size(1)));
  const auto log_pi = torch::log_softmax(logits, 1);
  const auto flat = rows * logits.size(1) + items;
  return -log_pi.reshape({-1}).index_select(0, flat).sum() / static_cast<double>(logits.size(0));
}

LossKind parse_loss(const std::string& name) {
  if (name == "bce") return LossKind::kBce;
  if (name == "bpr") return LossKind::kBpr;
  if (name == "multinomial") return LossKind::kMultinomial;
  throw Error("unknown loss '" + name + "' (expected bce, bpr or multinomial)");
}

const char* to_string(LossKind kind) {
  return kind == LossKind::kBce ? "bce" : kind == LossKind::kBpr ? "bpr" : "multinomial";
}

}  // namespace recpress
