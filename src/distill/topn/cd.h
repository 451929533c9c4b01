// `cd` (Lee et al., ICDM 2019); see cd.cc. The loss is exposed for hand-computed tests.
#pragma once

#include <torch/torch.h>

namespace recpress {

// Mean over entries of BCE(sigma(s), q) with the teacher's soft labels q = sigma(t / T).
torch::Tensor cd_soft_label_loss(const torch::Tensor& student_logits,
                                 const torch::Tensor& soft_labels);

}  // namespace recpress
