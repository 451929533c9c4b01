// Metrics for CTR prediction.
//   AUC      probability that a random positive scores above a random negative; ties count 1/2
//            (Mann-Whitney U with average ranks)
//   LogLoss  -mean(y log p + (1 - y) log(1 - p)), p clipped to [eps, 1 - eps], eps = 1e-7
//   GAUC     per-group AUC weighted by the group's number of samples, over groups that contain
//            both classes (Zhou et al., "Deep Interest Network", KDD 2018, eq. 9)
#pragma once

#include <cstdint>
#include <span>

namespace recpress {

// Throws Error if sizes differ, or if the labels are all of one class (AUC undefined).
double auc(std::span<const float> labels, std::span<const float> scores);
double log_loss(std::span<const float> labels, std::span<const float> probabilities,
                double eps = 1e-7);
// Throws Error if no group has both classes.
double gauc(std::span<const std::int64_t> groups, std::span<const float> labels,
            std::span<const float> scores);

}  // namespace recpress
