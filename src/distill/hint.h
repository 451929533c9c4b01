// `hint` (FitNets, Romero et al. 2015); see hint.cc. The loss is exposed for hand-computed tests.
#pragma once

#include <torch/torch.h>

namespace recpress {

// 1/2 ||teacher - regressed||^2 summed over dimensions, averaged over rows.
torch::Tensor hint_loss(const torch::Tensor& teacher_layer, const torch::Tensor& regressed);

}  // namespace recpress
