// `rkd` (Park et al., CVPR 2019); see rkd.cc. The relation terms are exposed for tests.
#pragma once

#include <torch/torch.h>

namespace recpress {

// Distance-wise relation loss (eq. 4-5): Huber between ||t_i - t_j|| / mu_t and the same for s,
// over all pairs i != j, mu = the mean pairwise distance of the batch.
torch::Tensor rkd_distance_loss(const torch::Tensor& teacher, const torch::Tensor& student);
// Angle-wise relation loss (eq. 6-7): Huber between cos of the angle t_i - t_j, t_k - t_j and the
// same for s, over all triplets.
torch::Tensor rkd_angle_loss(const torch::Tensor& teacher, const torch::Tensor& student);

}  // namespace recpress
