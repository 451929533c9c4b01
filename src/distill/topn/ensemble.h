// Multi-teacher distillation: several trained teachers (e.g. NeuMF + MF + a differently seeded
// NeuMF) act as one. Any distiller can use the ensemble as its teacher.
#pragma once

#include <vector>

#include "models/topn/model.h"

namespace recpress {

// Logits are the weighted sum of the members' logits (weights default to 1 / M: the mean);
// representations are the members' representations of the same name, concatenated.
class EnsembleTeacherImpl : public TopNModel {
 public:
  EnsembleTeacherImpl(std::vector<TopNModelPtr> members, std::vector<double> weights);
  torch::Tensor forward(const torch::Tensor& users, const torch::Tensor& items) override;
  torch::Tensor score_all(const torch::Tensor& users) override;
  std::vector<std::pair<std::string, torch::Tensor>> representations(
      const torch::Tensor& users, const torch::Tensor& items) override;
  const std::vector<TopNModelPtr>& members() const { return members_; }

 private:
  std::vector<TopNModelPtr> members_;
  std::vector<double> weights_;
};
TORCH_MODULE(EnsembleTeacher);

}  // namespace recpress
