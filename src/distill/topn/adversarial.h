// `adversarial` (after KDGAN, Wang et al., NeurIPS 2018); see adversarial.cc. The discriminator
// and the relaxed sampling are exposed for hand-computed tests.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace recpress {

// D(u, y) = <a_u, sum_j y_j b_{c_j}> + sum_j y_j c_{c_j}: how much a (relaxed) sample y over a
// user's candidates c looks like the teacher's. users [b], candidates [b, n], y [b, n] -> [b].
class DiscriminatorImpl : public torch::nn::Module {
 public:
  DiscriminatorImpl(std::int64_t users, std::int64_t items, std::int64_t dim);
  torch::Tensor forward(const torch::Tensor& users, const torch::Tensor& candidates,
                        const torch::Tensor& y);
  torch::Tensor user, item, bias;
};
TORCH_MODULE(Discriminator);

// The Gumbel-softmax relaxation of a draw from exp(log_p): softmax((log_p + noise) / tau) by row.
torch::Tensor relaxed_sample(const torch::Tensor& log_p, const torch::Tensor& noise, double tau);

}  // namespace recpress
