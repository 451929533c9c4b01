#include "train/lazy_adam.h"

#include <cmath>

namespace recpress {

LazyAdam::LazyAdam(std::vector<torch::Tensor> params, LazyAdamOptions options)
    : torch::optim::Optimizer({torch::optim::OptimizerParamGroup(std::move(params))},
                              std::make_unique<LazyAdamOptions>(options)) {
  for (const auto& p : param_groups()[0].params()) {
    exp_avg_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    exp_avg_sq_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
  }
}

torch::Tensor LazyAdam::step(LossClosure closure) {
  torch::NoGradGuard guard;
  torch::Tensor loss;
  if (closure) {
    torch::AutoGradMode enable(true);
    loss = closure();
  }
  auto& group = param_groups()[0];
  const auto& o = static_cast<const LazyAdamOptions&>(group.options());
  ++steps_;
  const double bias1 = 1.0 - std::pow(o.beta1(), static_cast<double>(steps_));
  const double bias2 = 1.0 - std::pow(o.beta2(), static_cast<double>(steps_));
  const double step_size = o.lr() / bias1;
  const double sqrt_bias2 = std::sqrt(bias2);
  auto& params = group.params();
  for (std::size_t k = 0; k < params.size(); ++k) {
    auto& p = params[k];
    if (!p.grad().defined()) continue;
    const auto grad = p.grad();
    if (grad.is_sparse()) {
      const auto g = grad.coalesce();
      const auto rows = g._indices()[0];
      auto values = g._values();
      auto w = p.index_select(0, rows);
      if (o.weight_decay() != 0) values = values + o.weight_decay() * w;
      const auto m =
          exp_avg_[k].index_select(0, rows).mul_(o.beta1()).add_(values, 1.0 - o.beta1());
      const auto v = exp_avg_sq_[k].index_select(0, rows).mul_(o.beta2()).addcmul_(values, values,
                                                                                   1.0 - o.beta2());
      exp_avg_[k].index_copy_(0, rows, m);
      exp_avg_sq_[k].index_copy_(0, rows, v);
      const auto denom = (v.sqrt() / sqrt_bias2).add_(o.eps());
      p.index_copy_(0, rows, w.addcdiv_(m, denom, -step_size));
    } else {
      auto g = grad;
      if (o.weight_decay() != 0) g = g.add(p, o.weight_decay());
      exp_avg_[k].mul_(o.beta1()).add_(g, 1.0 - o.beta1());
      exp_avg_sq_[k].mul_(o.beta2()).addcmul_(g, g, 1.0 - o.beta2());
      const auto denom = (exp_avg_sq_[k].sqrt() / sqrt_bias2).add_(o.eps());
      p.addcdiv_(exp_avg_[k], denom, -step_size);
    }
  }
  return loss;
}

void LazyAdam::save(torch::serialize::OutputArchive& archive) const {
  archive.write("steps", torch::tensor(steps_, torch::kLong));
  for (std::size_t k = 0; k < exp_avg_.size(); ++k) {
    archive.write("exp_avg." + std::to_string(k), exp_avg_[k]);
    archive.write("exp_avg_sq." + std::to_string(k), exp_avg_sq_[k]);
  }
}

void LazyAdam::load(torch::serialize::InputArchive& archive) {
  torch::Tensor steps;
  archive.read("steps", steps);
  steps_ = steps.item<std::int64_t>();
  for (std::size_t k = 0; k < exp_avg_.size(); ++k) {
    archive.read("exp_avg." + std::to_string(k), exp_avg_[k]);
    archive.read("exp_avg_sq." + std::to_string(k), exp_avg_sq_[k]);
  }
}

void use_sparse_embedding_gradients(torch::nn::Module& module, bool sparse) {
  module.apply([sparse](torch::nn::Module& m) {
    if (auto* e = m.as<torch::nn::EmbeddingImpl>()) e->options.sparse(sparse);
  });
}

}  // namespace recpress
