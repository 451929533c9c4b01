#include "distill/common/soft_targets.h"

namespace recpress {

torch::Tensor kd_soft_target_loss(const torch::Tensor& teacher_logits,
                                  const torch::Tensor& student_logits, double temperature) {
  const auto t = teacher_logits.detach() / temperature;
  const auto p = torch::softmax(t, -1);
  const auto log_p = torch::log_softmax(t, -1);
  const auto log_q = torch::log_softmax(student_logits / temperature, -1);
  return (p * (log_p - log_q)).sum(-1).mean() * temperature * temperature;
}

torch::Tensor kd_binary_soft_target_loss(const torch::Tensor& teacher_logits,
                                         const torch::Tensor& student_logits, double temperature) {
  const auto soft_target = torch::sigmoid(teacher_logits.detach() / temperature);
  return temperature * temperature *
         torch::binary_cross_entropy_with_logits(student_logits / temperature, soft_target);
}

}  // namespace recpress
