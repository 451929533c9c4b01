// Feature-based distillation's regression (FitNets, Romero et al., "FitNets: Hints for Thin Deep
// Nets", ICLR 2015), shared by the tasks' `hint` methods, and the mapping of student layers onto
// teacher layers that `hint` and `attention` use.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace recpress {

// 1/2 ||teacher - regressed||^2 summed over the last dimension, averaged over rows (eq. 3 of the
// paper). The teacher's side never receives a gradient.
torch::Tensor hint_loss(const torch::Tensor& teacher_layer, const torch::Tensor& regressed);

// "2>1/3>2" (student layer > teacher layer, 1-based; "last" allowed) -> 0-based pairs; empty text:
// the student's layers spread evenly over the teacher's, the last onto the last. Throws Error
// naming `method` for a layer a model does not have.
std::vector<std::pair<std::int64_t, std::int64_t>> layer_mapping(const std::string& text,
                                                                 std::int64_t student_layers,
                                                                 std::int64_t teacher_layers,
                                                                 const std::string& method);

}  // namespace recpress
