// Small helpers every LibTorch model family shares: sizes, (de)serialising parameters, keeping the
// best epoch's parameters, and collecting the parameters of a distiller's projections.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace recpress {

std::int64_t count_parameters(const torch::nn::Module& module);
std::int64_t parameter_bytes(const torch::nn::Module& module);  // as stored (fp32 here)

// LibTorch's archive of a module's parameters and buffers, as bytes (for checkpoints).
std::string module_archive(torch::nn::Module& module);
// Throws DataError naming `path` when the bytes do not fit the module.
void load_module_archive(torch::nn::Module& module, const std::string& bytes,
                         const std::string& path);

// A copy of a module's parameters (the best epoch so far), to be put back at the end.
class BestParameters {
 public:
  void keep(const torch::nn::Module& module);
  void restore(torch::nn::Module& module) const;  // no-op if nothing was kept
  bool empty() const { return saved_.empty(); }

 private:
  std::vector<torch::Tensor> saved_;
};

std::vector<torch::Tensor> parameters_of(const std::vector<torch::nn::Linear>& layers);

}  // namespace recpress
