#include "models/module_util.h"

#include <sstream>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "core/errors.h"
#include "core/rng.h"

namespace recpress {

std::int64_t count_parameters(const torch::nn::Module& module) {
  std::int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

std::int64_t parameter_bytes(const torch::nn::Module& module) {
  std::int64_t n = 0;
  for (const auto& p : module.parameters())
    n += p.numel() * static_cast<std::int64_t>(p.element_size());
  return n;
}

std::string module_archive(torch::nn::Module& module) {
  torch::serialize::OutputArchive archive;
  module.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

void load_module_archive(torch::nn::Module& module, const std::string& bytes,
                         const std::string& path) {
  try {
    torch::serialize::InputArchive archive;
    std::istringstream in(bytes);
    archive.load_from(in);
    module.load(archive);
  } catch (const c10::Error& e) {
    throw DataError(path, 0, "",
                    std::string("weights do not fit the model: ") + e.what_without_backtrace());
  }
}

void BestParameters::keep(const torch::nn::Module& module) {
  saved_.clear();
  for (const auto& p : module.parameters()) saved_.push_back(p.detach().clone());
}

void BestParameters::restore(torch::nn::Module& module) const {
  if (saved_.empty()) return;
  torch::NoGradGuard guard;
  auto current = module.parameters();
  for (std::size_t i = 0; i < current.size(); ++i) current[i].copy_(saved_[i]);
}

std::vector<torch::Tensor> parameters_of(const std::vector<torch::nn::Linear>& layers) {
  std::vector<torch::Tensor> out;
  for (const auto& l : layers) {
    for (const auto& p : l->parameters()) out.push_back(p);
  }
  return out;
}

namespace {

__attribute__((target_clones("avx2", "default"))) void fill_dropout_mask(const std::uint16_t* draws,
                                                                         std::int64_t n,
                                                                         std::uint16_t keep_below,
                                                                         float scale, float* m) {
  for (std::int64_t i = 0; i < n; ++i) m[i] = draws[i] < keep_below ? scale : 0.0f;
}

}  // namespace

torch::Tensor fast_dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p <= 0) return x;
  if (p >= 1) return x * 0;
  std::uint64_t seed = 0;
  {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    seed = generator.get<at::CPUGeneratorImpl>()->random64();
  }
  // The draws first (xoshiro is sequential), then a branch-free compare per unit that
  // vectorises: a per-unit branch on a random bit mispredicted half the time.
  const auto n = x.numel();
  thread_local std::vector<std::uint16_t> draws;
  draws.resize(static_cast<std::size_t>((n + 3) / 4 * 4));
  Rng rng(seed);
  for (std::size_t j = 0; j < draws.size(); j += 4) {
    const std::uint64_t r = rng.next();
    std::memcpy(draws.data() + j, &r, sizeof r);  // four 16-bit draws, low bits first
  }
  auto mask = torch::empty(x.sizes(), torch::kFloat);
  const auto keep_below =
      static_cast<std::uint16_t>(std::min<long>(65535, std::lround((1.0 - p) * 65536.0)));
  fill_dropout_mask(draws.data(), n, keep_below, static_cast<float>(1.0 / (1.0 - p)),
                    mask.data_ptr<float>());
  return x * (x.scalar_type() == torch::kFloat ? mask : mask.to(x.scalar_type()));
}

}  // namespace recpress
