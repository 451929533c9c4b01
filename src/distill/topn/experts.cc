#include "distill/topn/experts.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "distill/topn/distiller.h"

namespace recpress {

ExpertProjectionImpl::ExpertProjectionImpl(std::int64_t student_dim, std::int64_t teacher_dim,
                                           std::int64_t experts)
    : count_(experts), hidden_dim_((student_dim + teacher_dim) / 2) {
  if (student_dim <= 0 || teacher_dim <= 0 || experts <= 0)
    throw Error("distillation experts: dimensions and expert count must be > 0");
  // All experts in two batched layers: expert m is rows [m*h, (m+1)*h) of `hidden_` and the m-th
  // block of `out_`, with h = (d_s + d_t) / 2 as the paper's two-layer experts.
  const std::int64_t h = hidden_dim_;
  hidden_ = register_module("hidden", torch::nn::Linear(student_dim, experts * h));
  // One output layer per expert, stored as a [M, h, d_t] weight.
  out_weight_ = register_parameter(
      "out_weight", torch::randn({experts, h, teacher_dim}) / std::sqrt(static_cast<double>(h)));
  out_bias_ = register_parameter("out_bias", torch::zeros({experts, 1, teacher_dim}));
  selector_ = register_module("selector", torch::nn::Linear(teacher_dim, experts));
}

namespace {
// Selection weights below this are set to 0. As the temperature anneals, the Gumbel softmax's
// losing weights fall through the float range into subnormal numbers, and every product with
// one takes a slow microcode path: a by-hand DE epoch at tau ~0.2 measured 4x its first epoch
// (ml-1m). An expert weighed below 1e-7 changes the projection by less than the float rounding
// of its sum; with the weight at 0 it is not computed at all.
constexpr double kNegligibleWeight = 1e-7;

torch::Tensor gumbel_softmax_unflushed(const torch::Tensor& log_alpha, double tau, Rng& rng) {
  return torch::softmax(
      (log_alpha + gumbel_noise(log_alpha.sizes(), rng).to(log_alpha.dtype())) / tau, 1);
}

torch::Tensor flush_negligible(const torch::Tensor& y) {
  return y * (y >= kNegligibleWeight).to(y.dtype());
}

torch::Tensor gumbel_softmax(const torch::Tensor& log_alpha, double tau, Rng& rng) {
  return flush_negligible(gumbel_softmax_unflushed(log_alpha, tau, rng));
}
}  // namespace

torch::Tensor ExpertProjectionImpl::select(const torch::Tensor& teacher_rep, double tau, Rng& rng) {
  return gumbel_softmax(torch::log_softmax(selector_(teacher_rep), 1), tau, rng);
}

torch::Tensor ExpertProjectionImpl::experts(const torch::Tensor& student_rep) {
  const auto n = student_rep.size(0);
  // [N, M*h] -> [M, N, h] -> bmm with [M, h, d_t] -> [M, N, d_t] -> [N, M, d_t]
  const auto h = torch::relu(hidden_(student_rep)).view({n, count_, hidden_dim_}).transpose(0, 1);
  return (torch::bmm(h, out_weight_) + out_bias_).transpose(0, 1);
}

torch::Tensor ExpertProjectionImpl::project(const torch::Tensor& student_rep,
                                            const torch::Tensor& selection) {
  const auto chosen = selection.argmax(1);
  const auto one_hot = (selection > 0).sum(1) == 1;
  const auto mixed = (~one_hot).nonzero().squeeze(1);
  if (mixed.numel() == student_rep.size(0))
    return (experts(student_rep) * selection.unsqueeze(2)).sum(1);
  // Rows with one nonzero weight (the Gumbel softmax once tau has annealed towards 0) need only
  // their chosen expert, 1/M of the work. Exact: sum_m s_m E_m has that one term, value and
  // gradients alike (the chosen weight keeps its path). The other rows take the mixture.
  // The experts' weights are split once, not indexed per expert: each index's backward would
  // allocate and add a zero gradient the size of the whole parameter (profiled: at a few hundred
  // rows that cost 10x the experts' arithmetic); a split's backward assembles one.
  const auto hidden_weights = hidden_->weight.split(hidden_dim_, 0);
  const auto hidden_biases = hidden_->bias.split(hidden_dim_, 0);
  const auto out_weights = out_weight_.unbind(0), out_biases = out_bias_.unbind(0);
  std::vector<torch::Tensor> rows, parts;
  for (std::int64_t m = 0; m < count_; ++m) {
    const auto picked = (one_hot & (chosen == m)).nonzero().squeeze(1);
    if (picked.numel() == 0) continue;
    const auto mi = static_cast<std::size_t>(m);
    const auto hidden = torch::relu(torch::nn::functional::linear(
        student_rep.index_select(0, picked), hidden_weights[mi], hidden_biases[mi]));
    parts.push_back(torch::addmm(out_biases[mi], hidden, out_weights[mi]) *
                    selection.index_select(0, picked).select(1, m).unsqueeze(1));
    rows.push_back(picked);
  }
  if (mixed.numel() > 0) {
    parts.push_back((experts(student_rep.index_select(0, mixed)) *
                     selection.index_select(0, mixed).unsqueeze(2))
                        .sum(1));
    rows.push_back(mixed);
  }
  // Back into the rows' order.
  return torch::cat(parts).index_select(0, torch::argsort(torch::cat(rows)));
}

ExpertProjectionImpl::Pass ExpertProjectionImpl::forward_by_hand(const torch::Tensor& teacher_rep,
                                                                 const torch::Tensor& student_rep,
                                                                 double tau, Rng& rng) {
  torch::NoGradGuard guard;
  Pass p;
  p.teacher = teacher_rep;
  p.student = student_rep;
  p.tau = tau;
  const auto log_alpha = torch::log_softmax(selector_(teacher_rep), 1);
  p.alpha = log_alpha.exp();
  p.softmax = gumbel_softmax_unflushed(log_alpha, tau, rng);
  p.selection = flush_negligible(p.softmax);
  p.projected = torch::zeros({student_rep.size(0), out_weight_.size(2)}, student_rep.options());
  const auto h = hidden_dim_;
  for (std::int64_t m = 0; m < count_; ++m) {
    const auto weight = p.selection.select(1, m);
    const auto rows = (weight > 0).nonzero().squeeze(1);
    p.rows.push_back(rows);
    if (rows.numel() == 0) {
      p.hidden.emplace_back();
      p.out.emplace_back();
      continue;
    }
    const auto hidden = torch::relu(torch::addmm(hidden_->bias.narrow(0, m * h, h),
                                                 student_rep.index_select(0, rows),
                                                 hidden_->weight.narrow(0, m * h, h).t()));
    const auto out = torch::addmm(out_bias_[m], hidden, out_weight_[m]);
    p.projected.index_add_(0, rows, out * weight.index_select(0, rows).unsqueeze(1));
    p.hidden.push_back(hidden);
    p.out.push_back(out);
  }
  return p;
}

torch::Tensor ExpertProjectionImpl::backward_by_hand(const Pass& p,
                                                     const torch::Tensor& d_projected,
                                                     const torch::Tensor& d_term_selection) {
  torch::NoGradGuard guard;
  const auto h = hidden_dim_;
  auto d_student = torch::zeros_like(p.student);
  auto d_selection = torch::zeros_like(p.selection);
  auto g_hidden_w = torch::zeros_like(hidden_->weight),
       g_hidden_b = torch::zeros_like(hidden_->bias);
  auto g_out_w = torch::zeros_like(out_weight_), g_out_b = torch::zeros_like(out_bias_);
  for (std::int64_t m = 0; m < count_; ++m) {
    const auto& rows = p.rows[static_cast<std::size_t>(m)];
    if (rows.numel() == 0) continue;
    const auto& hidden = p.hidden[static_cast<std::size_t>(m)];
    const auto& out = p.out[static_cast<std::size_t>(m)];
    const auto d_rows = d_projected.index_select(0, rows);
    // projected = sum_m s_m E_m: d E_m = s_m d projected, d s_m = <E_m, d projected>.
    d_selection.select(1, m).index_copy_(0, rows, (out * d_rows).sum(1));
    const auto d_out = d_rows * p.selection.select(1, m).index_select(0, rows).unsqueeze(1);
    g_out_w[m].addmm_(hidden.t(), d_out);
    g_out_b[m].add_(d_out.sum(0, /*keepdim=*/true));
    const auto d_hidden = torch::mm(d_out, out_weight_[m].t()) * (hidden > 0);
    g_hidden_w.narrow(0, m * h, h).addmm_(d_hidden.t(), p.student.index_select(0, rows));
    g_hidden_b.narrow(0, m * h, h).add_(d_hidden.sum(0));
    d_student.index_add_(0, rows, torch::mm(d_hidden, hidden_->weight.narrow(0, m * h, h)));
  }
  if (d_term_selection.defined()) d_selection += d_term_selection;
  // selection = flush(softmax(y)), y = (log alpha + g) / tau, log alpha = log_softmax(W h_t + b):
  // the flushed weights pass no gradient, but the softmax's backward reads every weight.
  d_selection *= (p.selection > 0).to(d_selection.dtype());
  const auto d_y = p.softmax * (d_selection - (p.softmax * d_selection).sum(1, true));
  const auto d_log_alpha = d_y / p.tau;
  const auto d_logits = d_log_alpha - p.alpha * d_log_alpha.sum(1, true);
  add_gradient(selector_->weight, torch::mm(d_logits.t(), p.teacher));
  add_gradient(selector_->bias, d_logits.sum(0));
  add_gradient(hidden_->weight, g_hidden_w);
  add_gradient(hidden_->bias, g_hidden_b);
  add_gradient(out_weight_, g_out_w);
  add_gradient(out_bias_, g_out_b);
  return d_student;
}

void EntityExperts::create(TopNModel& teacher, TopNModel& student, std::int64_t experts) {
  const auto probe = torch::zeros({1}, torch::kLong);
  torch::NoGradGuard guard;
  const auto width = [&](TopNModel& m, const char* kind) {
    return entity_representation(m, kind, probe).size(1);
  };
  users_ = ExpertProjection(width(student, "user"), width(teacher, "user"), experts);
  items_ = ExpertProjection(width(student, "item"), width(teacher, "item"), experts);
}

std::vector<torch::Tensor> EntityExperts::parameters() {
  auto out = users_->parameters();
  for (auto& p : items_->parameters()) out.push_back(p);
  return out;
}

ExpertDistiller::ExpertDistiller(const ModelSpec& spec, const std::string& count_key)
    : count_(spec.get_int(count_key)),
      tau_(spec.get_double("tau")),
      tau_end_(spec.get_double("tau_end")) {}

ParamDecls expert_params(const std::string& count_key, const std::string& count_doc) {
  return {int_param(count_key, 5, 1, count_doc),
          real_param("tau", 1.0, 0, kUnbounded, true, false,
                     "Gumbel-softmax temperature at the start of training"),
          real_param("tau_end", 1e-4, 0, kUnbounded, true, false,
                     "the temperature it anneals to (geometrically) by the end")};
}

void ExpertDistiller::prepare(TopNModel& teacher, TopNModel& student,
                              const InteractionMatrix& train) {
  experts_.create(teacher, student, count_);
}

torch::Tensor ExpertDistiller::loss(TopNModel& teacher, TopNModel& student,
                                    const DistillBatch& batch) {
  const double tau = annealed_temperature(batch.progress, tau_, tau_end_);
  torch::Tensor out;
  for (const auto& [kind, index] : {std::pair{"user", batch.users}, {"item", batch.items}}) {
    const auto [t, s] = representation_pair(teacher, student, kind, index, batch);
    auto& e = experts_.of(kind);
    const auto selection = e->select(t, tau, *batch.rng);
    const auto l = term(t, e->project(s, selection), selection);
    out = out.defined() ? out + l : l;
  }
  return out;
}

NativeTerm ExpertDistiller::native_loss(TopNModel& teacher, TopNModel& student,
                                        const DistillBatch& batch, StudentRows& rows,
                                        double weight) {
  if (!has_term_by_hand()) return Distiller::native_loss(teacher, student, batch, rows, weight);
  torch::NoGradGuard guard;
  const double tau = annealed_temperature(batch.progress, tau_, tau_end_);
  double total = 0;
  // The same order as loss(): users, then items; each kind's Gumbel noise when it is selected.
  for (const auto& [kind, index] : {std::pair{"user", batch.users}, {"item", batch.items}}) {
    const auto ids = index.contiguous();
    const auto n = ids.numel();
    const auto* id = ids.data_ptr<std::int64_t>();
    const auto t = entity_representation(teacher, kind, ids);
    auto s = torch::empty({n, rows.entity_width(kind)});
    rows.entity(kind, id, n, s.data_ptr<float>());
    auto& e = experts_.of(kind);
    const auto pass = e->forward_by_hand(t, s, tau, *batch.rng);
    const auto g = term_by_hand(t, pass.projected, pass.selection);
    total += weight * g.value;
    const auto d_student =
        e->backward_by_hand(pass, weight * g.d_projected,
                            g.d_selection.defined() ? weight * g.d_selection : torch::Tensor())
            .contiguous();
    rows.add_entity_gradient(kind, id, n, d_student.data_ptr<float>());
  }
  return {total, {}};
}

torch::Tensor gumbel_noise(torch::IntArrayRef shape, Rng& rng) {
  auto g = torch::empty(shape, torch::kFloat);
  auto* gp = g.data_ptr<float>();
  for (std::int64_t k = 0; k < g.numel(); ++k) {
    double u = rng.uniform();
    while (u <= 0.0) u = rng.uniform();
    gp[k] = static_cast<float>(-std::log(-std::log(u)));
  }
  return g;
}

double annealed_temperature(double progress, double start, double end) {
  const double p = std::clamp(progress, 0.0, 1.0);
  return start * std::pow(end / start, p);
}

torch::Tensor de_reconstruction_loss(const torch::Tensor& teacher_rep,
                                     const torch::Tensor& projected) {
  return (teacher_rep - projected).pow(2).sum(1).mean();
}

}  // namespace recpress
