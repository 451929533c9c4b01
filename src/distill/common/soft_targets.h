// Response-based distillation's soft targets (Hinton, Vinyals & Dean, "Distilling the Knowledge in
// a Neural Network", 2015), written once for every task: top-N `kd` (a user's sampled candidates),
// next-item `kd` (the catalog at each predicted position) and CTR `kd` (one click probability).
// The T^2 factor (Sec. 2.1 of the paper) keeps gradient magnitudes comparable across temperatures.
// The teacher's side never receives a gradient.
#pragma once

#include <torch/torch.h>

namespace recpress {

// T^2 * KL(softmax(teacher / T) || softmax(student / T)) over the last dimension, averaged over
// the rows (users, positions).
torch::Tensor kd_soft_target_loss(const torch::Tensor& teacher_logits,
                                  const torch::Tensor& student_logits, double temperature);

// The binary case: T^2 * BCE(sigmoid(student / T), sigmoid(teacher / T)), averaged over rows.
torch::Tensor kd_binary_soft_target_loss(const torch::Tensor& teacher_logits,
                                         const torch::Tensor& student_logits, double temperature);

}  // namespace recpress
