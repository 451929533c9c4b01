#include "models/module_util.h"

#include <sstream>

#include "core/errors.h"

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

}  // namespace recpress
