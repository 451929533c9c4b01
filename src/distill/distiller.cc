#include "distill/distiller.h"

#include <map>

#include "core/errors.h"

namespace recpress {
namespace {

struct Entry {
  std::string help;
  DistillerFactory factory;
};

std::map<std::string, Entry>& registry() {
  static std::map<std::string, Entry> r;
  return r;
}

}  // namespace

void register_distiller(const std::string& name, const std::string& help,
                        DistillerFactory factory) {
  registry()[name] = Entry{help, std::move(factory)};
}

DistillerPtr create_distiller(const ModelSpec& spec) {
  const auto it = registry().find(spec.name);
  if (it == registry().end()) {
    std::string known;
    for (const auto& [n, _] : registry()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown distillation method '" + spec.name + "' (known: " + known + ")");
  }
  return it->second.factory(spec);
}

std::vector<std::pair<std::string, std::string>> distillers() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [n, e] : registry()) out.emplace_back(n, e.help);
  return out;
}

torch::Tensor sample_candidates(std::int64_t batch, std::int64_t n, std::int64_t num_items,
                                Rng& rng) {
  auto out = torch::empty({batch, n}, torch::kLong);
  auto* p = out.data_ptr<std::int64_t>();
  for (std::int64_t k = 0; k < batch * n; ++k)
    p[k] = rng.below(static_cast<std::uint32_t>(num_items));
  return out;
}

}  // namespace recpress
