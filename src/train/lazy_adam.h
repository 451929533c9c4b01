// Lazy (row-wise) Adam for sparse embedding gradients.
//
// Dense Adam (Kingma & Ba, ICLR 2015, Algorithm 1) updates every row of every embedding table at
// every step, although a mini-batch touches only a few hundred rows: on NeuMF-64 at batch 256 that
// update is more than half of the step time (bench/throughput.sh). Here an embedding's gradient is
// sparse (only the rows looked up), and the first/second moments and the parameter are updated for
// those rows only, with the global step's bias correction, as TensorFlow Addons' LazyAdam does.
// Rows not in the batch keep their moments (they are not decayed), which is the one difference from
// dense Adam; dense gradients (MLP layers, heads) get exactly dense Adam's update.
#pragma once

#include <torch/torch.h>

namespace recpress {

struct LazyAdamOptions : public torch::optim::OptimizerCloneableOptions<LazyAdamOptions> {
  explicit LazyAdamOptions(double lr = 1e-3) : lr_(lr) {}
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(double, beta1) = 0.9;
  TORCH_ARG(double, beta2) = 0.999;
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0.0;  // L2 added to the gradient of the rows being updated
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

class LazyAdam : public torch::optim::Optimizer {
 public:
  LazyAdam(std::vector<torch::Tensor> params, LazyAdamOptions options);
  torch::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
  // The state of parameter k and the step count, for a native step that applies this update
  // itself (train/ncf_step.h).
  torch::Tensor& first_moment(std::size_t k) { return exp_avg_[k]; }
  torch::Tensor& second_moment(std::size_t k) { return exp_avg_sq_[k]; }
  std::int64_t& step_count() { return steps_; }

 private:
  std::vector<torch::Tensor> exp_avg_, exp_avg_sq_;
  std::int64_t steps_ = 0;
};

// Switch every nn::Embedding below `module` to sparse gradients (what LazyAdam expects).
void use_sparse_embedding_gradients(torch::nn::Module& module, bool sparse = true);

}  // namespace recpress
