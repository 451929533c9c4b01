// The optimisers and learning-rate schedules every task trains with, made in one place.
//   optimizer: adam | lazyadam (Adam with sparse row updates, train/lazy_adam.h) | sgd | adagrad
//   schedule:  constant | cosine (Loshchilov & Hutter, ICLR 2017, no restarts) | step:EVERY,GAMMA
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace recpress {

struct OptimizerConfig {
  std::string optimizer = "adam";
  double lr = 1e-3;
  double weight_decay = 0.0;
  std::string schedule = "constant";
};

// Throws Error naming the field ("train: unknown optimizer 'adamw' (adam, lazyadam, sgd,
// adagrad)", "train: schedule 'step:1,-1': gamma must be in (0, 1]"); `who` prefixes messages.
void validate_optimizer(const OptimizerConfig& c, const std::string& who = "train");

// The optimiser over `params`. For lazyadam, call use_sparse_embedding_gradients on the modules
// whose embeddings it updates (make_training_optimizer does it).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& c,
                                                        std::vector<torch::Tensor> params);
// The same, after switching `module`'s embeddings to sparse gradients when lazyadam is asked.
std::unique_ptr<torch::optim::Optimizer> make_training_optimizer(const OptimizerConfig& c,
                                                                 torch::nn::Module& module,
                                                                 std::vector<torch::Tensor> params);

// The learning rate of 1-based `epoch` out of `epochs`.
double scheduled_lr(const OptimizerConfig& c, int epoch, int epochs);

}  // namespace recpress
