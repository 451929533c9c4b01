// `rrd` (Kang et al., CIKM 2020); see rrd.cc. The loss is exposed for hand-computed tests.
#pragma once

#include <torch/torch.h>

namespace recpress {

// Relaxed Plackett-Luce loss (DE-RRD eq. 8): `interesting` [B, K] student logits in the teacher's
// order (best first), `uninteresting` [B, L]. Averaged over rows.
torch::Tensor rrd_loss(const torch::Tensor& interesting, const torch::Tensor& uninteresting);

}  // namespace recpress
