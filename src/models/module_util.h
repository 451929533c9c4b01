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

// Inverted dropout (Srivastava et al., JMLR 2014, Sec. 10: keep with probability 1 - p, scale
// kept units by 1 / (1 - p)): x itself when not training or p = 0. The mask is drawn by our
// xoshiro256** (core/rng.h), four 16-bit draws per 64-bit output, seeded by one draw from
// LibTorch's generator, so runs stay reproducible and resume exactly as with torch::dropout,
// whose Bernoulli draws took ~10% of a DeepFM epoch (one 64-bit Mersenne-twister draw and a
// double compare per unit). p is applied to 1/65536.
torch::Tensor fast_dropout(const torch::Tensor& x, double p, bool training);

}  // namespace recpress
