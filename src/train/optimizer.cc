#include "train/optimizer.h"

#include <cmath>

#include "core/errors.h"
#include "core/text_reader.h"
#include "train/lazy_adam.h"

namespace recpress {
namespace {

struct StepSchedule {
  long long every = 0;
  double gamma = 0;
};

StepSchedule parse_step(const std::string& schedule, const std::string& who) {
  std::vector<std::string_view> parts;
  split_fields(std::string_view(schedule).substr(5), ',', parts);
  StepSchedule s;
  if (parts.size() != 2 || !parse_int64(parts[0], s.every) || !parse_double(parts[1], s.gamma))
    throw Error(who + ": bad schedule '" + schedule + "' (expected step:EVERY,GAMMA)");
  if (s.every < 1)
    throw Error(who + ": schedule '" + schedule + "': EVERY must be a positive number of epochs");
  // A non-positive gamma makes the learning rate zero or negative (gradient ascent).
  if (!(s.gamma > 0 && s.gamma <= 1))
    throw Error(who + ": schedule '" + schedule + "': GAMMA must be in (0, 1]");
  return s;
}

}  // namespace

void validate_optimizer(const OptimizerConfig& c, const std::string& who) {
  if (c.optimizer != "adam" && c.optimizer != "lazyadam" && c.optimizer != "sgd" &&
      c.optimizer != "adagrad")
    throw Error(who + ": unknown optimizer '" + c.optimizer + "' (adam, lazyadam, sgd, adagrad)");
  if (!(c.lr > 0) || !std::isfinite(c.lr))
    throw Error(who + ": learning rate must be a finite number > 0");
  if (!(c.weight_decay >= 0) || !std::isfinite(c.weight_decay))
    throw Error(who + ": weight decay must be a finite number >= 0");
  if (c.schedule.rfind("step:", 0) == 0)
    parse_step(c.schedule, who);
  else if (c.schedule != "constant" && c.schedule != "cosine")
    throw Error(who + ": unknown schedule '" + c.schedule +
                "' (constant, cosine, step:EVERY,GAMMA)");
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& c,
                                                        std::vector<torch::Tensor> params) {
  if (c.optimizer == "adam")
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay));
  if (c.optimizer == "lazyadam")
    return std::make_unique<LazyAdam>(params, LazyAdamOptions(c.lr).weight_decay(c.weight_decay));
  if (c.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(c.lr).weight_decay(c.weight_decay));
  if (c.optimizer == "adagrad")
    return std::make_unique<torch::optim::Adagrad>(
        params, torch::optim::AdagradOptions(c.lr).weight_decay(c.weight_decay));
  throw Error("unknown optimizer '" + c.optimizer + "'");
}

std::unique_ptr<torch::optim::Optimizer> make_training_optimizer(
    const OptimizerConfig& c, torch::nn::Module& module, std::vector<torch::Tensor> params) {
  // Lazy Adam updates only the embedding rows a batch touched: it needs sparse gradients.
  use_sparse_embedding_gradients(module, c.optimizer == "lazyadam");
  return make_optimizer(c, std::move(params));
}

double scheduled_lr(const OptimizerConfig& c, int epoch, int epochs) {
  if (c.schedule == "cosine")
    return 0.5 * c.lr * (1.0 + std::cos(M_PI * (epoch - 1) / static_cast<double>(epochs)));
  if (c.schedule.rfind("step:", 0) == 0) {
    const StepSchedule s = parse_step(c.schedule, "train");
    return c.lr * std::pow(s.gamma, static_cast<double>((epoch - 1) / s.every));
  }
  return c.lr;
}

}  // namespace recpress
