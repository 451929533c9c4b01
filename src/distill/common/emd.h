// The Earth Mover's Distance's optimal flow (Rubner et al., IJCV 2000): the transport plan
// f >= 0 with row sums `from`, column sums `to` minimising sum_ij f_ij cost_ij. BERT-EMD (Li et
// al., EMNLP 2020) and AdaRec (Chen et al. 2021) use it to map every student layer to every
// teacher layer ("many-to-many"), weighting each pair's distillation loss by its flow.
#pragma once

#include <vector>

namespace recpress {

// `cost` is m x n row-major (m = from.size(), n = to.size()); weights are >= 0 and both sum to
// the same total. Exact, by successive shortest paths over the residual network (meant for the
// few layers of two models). Throws Error for mismatched sizes, negative or unbalanced weights.
std::vector<double> emd_flow(const std::vector<double>& cost, const std::vector<double>& from,
                             const std::vector<double>& to);

}  // namespace recpress
