#include "distill/seq/distiller.h"

#include <sstream>

#include "core/errors.h"
#include "core/registry.h"
#include "core/text_reader.h"

namespace recpress {

namespace {
NamedRegistry<SeqDistillerFactory>& registry() {
  static NamedRegistry<SeqDistillerFactory> r("next-item distillation method");
  return r;
}
}  // namespace

void register_seq_distiller(const std::string& name, const std::string& help,
                            std::optional<ParamDecls> params, SeqDistillerFactory factory) {
  registry().add(name, help, std::move(params), std::move(factory));
}

SeqDistillerPtr create_seq_distiller(const ModelSpec& spec) {
  return registry().get(spec.name)(checked_spec(registry(), spec));
}

std::vector<std::pair<std::string, std::string>> seq_distillers() {
  return registry().list();
}

std::vector<std::tuple<std::string, std::string, ParamDecls>> seq_distiller_params() {
  return registry().declared();
}

std::vector<std::pair<SeqDistillerPtr, double>> parse_seq_distillation_terms(
    const std::vector<std::string>& methods) {
  std::vector<std::pair<SeqDistillerPtr, double>> terms;
  for (const auto& [spec, weight] : parse_weighted_specs(methods))
    terms.emplace_back(create_seq_distiller(spec), weight);
  return terms;
}

}  // namespace recpress
