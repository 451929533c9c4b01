// `kd` (Hinton et al. 2015) over sampled candidates; see kd.cc.
#pragma once

#include <torch/torch.h>

namespace recpress {

// T^2 * KL(softmax(teacher / T) || softmax(student / T)), rows are users, averaged over rows.
torch::Tensor kd_soft_target_loss(const torch::Tensor& teacher_logits,
                                  const torch::Tensor& student_logits, double temperature);

}  // namespace recpress
