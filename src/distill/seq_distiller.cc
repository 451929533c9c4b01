#include "distill/seq_distiller.h"

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
                            SeqDistillerFactory factory) {
  registry().add(name, help, std::move(factory));
}

SeqDistillerPtr create_seq_distiller(const ModelSpec& spec) {
  return registry().get(spec.name)(spec);
}

std::vector<std::pair<std::string, std::string>> seq_distillers() {
  return registry().list();
}

std::vector<std::pair<SeqDistillerPtr, double>> parse_seq_distillation_terms(
    const std::vector<std::string>& methods) {
  std::vector<std::pair<SeqDistillerPtr, double>> terms;
  for (const auto& [spec, weight] : parse_weighted_specs(methods))
    terms.emplace_back(create_seq_distiller(spec), weight);
  return terms;
}

std::vector<std::pair<std::int64_t, std::int64_t>> seq_layer_mapping(const std::string& text,
                                                                     std::int64_t student_layers,
                                                                     std::int64_t teacher_layers,
                                                                     const std::string& method) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  if (text.empty()) {
    // Student layer s (1-based) learns from teacher layer ceil(s * T / S): the last from the last.
    for (std::int64_t s = 1; s <= student_layers; ++s)
      out.emplace_back(s - 1, (s * teacher_layers + student_layers - 1) / student_layers - 1);
    return out;
  }
  auto layer = [&](const std::string& t, std::int64_t count, const char* who) {
    if (t == "last") return count - 1;
    long long v = 0;
    if (!parse_int64(t, v) || v < 1 || v > count)
      throw Error(method + ": " + who + " layer '" + t + "' does not exist (1.." +
                  std::to_string(count) + " or last)");
    return static_cast<std::int64_t>(v - 1);
  };
  std::istringstream in(text);
  std::string pair;
  while (std::getline(in, pair, '/')) {
    const auto gt = pair.find('>');
    if (gt == std::string::npos)
      throw Error(method + ": layer pair '" + pair + "' must be STUDENT>TEACHER (e.g. 1>2)");
    out.emplace_back(layer(pair.substr(0, gt), student_layers, "student"),
                     layer(pair.substr(gt + 1), teacher_layers, "teacher"));
  }
  return out;
}

}  // namespace recpress
