// `unkd` (Chen et al., WSDM 2023); see unkd.cc. Its pieces are exposed for hand-computed tests.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace recpress {

// Pairs per popularity group: ~ w_g^lamda with w_g = (max + min of the groups' mean popularity) -
// the group's mean popularity, normalised and at least 0.1 (rarer groups more; lamda = 0: equal),
// rounded by largest remainder to sum to `pairs`.
std::vector<std::int64_t> unkd_pairs_per_group(const std::vector<double>& mean_popularity,
                                               std::int64_t pairs, double lamda);
// The rank r in [0, length) with P(r) ~ exp(-(r + 1) / T) whose CDF reaches u in [0, 1).
std::int64_t unkd_draw_rank(double u, double temperature, std::int64_t length);
// Mean over rows of the mean over pairs of -log sigmoid(positive - negative); [B, n] each.
torch::Tensor unkd_loss(const torch::Tensor& positive, const torch::Tensor& negative);

}  // namespace recpress
