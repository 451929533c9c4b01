#include "train/schemes.h"

#include <iostream>

#include "core/errors.h"
#include "core/text_reader.h"
#include "distill/topn/distiller.h"
#include "distill/topn/ensemble.h"
#include "models/topn/neumf.h"
#include "train/checkpoint.h"

namespace recpress {

TopNModelPtr load_topn_teachers(const std::vector<std::string>& sources, bool allow_untrained,
                                const Dataset& data) {
  if (sources.empty()) throw Error("give at least one teacher");
  std::vector<TopNModelPtr> members;
  std::vector<double> weights;
  for (const auto& t : sources) {
    const auto at = t.rfind('@');
    double w = 1.0;
    if (at != std::string::npos && !parse_double(t.substr(at + 1), w))
      throw Error("teacher '" + t + "': the weight after '@' must be a number");
    if (at != std::string::npos) weights.push_back(w);
    const std::string source = t.substr(0, at);
    if (source.rfind("new:", 0) == 0) {
      // A peer trained from scratch alongside the student (deep mutual learning).
      if (!allow_untrained)
        throw Error("teacher " + source +
                    ": an untrained teacher only makes sense with --scheme online");
      members.push_back(create_topn_model(ModelSpec::parse(source.substr(4)), data.num_users(),
                                          data.num_items()));
    } else {
      members.push_back(load_topn_checkpoint(source, &data));
    }
  }
  if (!weights.empty() && weights.size() != members.size())
    throw Error("teachers: give a weight (@w) to every teacher or to none");
  if (members.size() == 1) return members.front();
  return EnsembleTeacher(std::move(members), std::move(weights)).ptr();
}

void pretrain_neumf(TopNModel& model, const std::string& paths, double alpha, const Dataset& data) {
  auto* neumf = dynamic_cast<NeuMFImpl*>(&model);
  if (neumf == nullptr) throw Error("pre-training applies to neumf only");
  std::vector<std::string_view> parts;
  split_fields(paths, ',', parts);
  if (parts.size() != 2) throw Error("pre-training expects GMF.pt,MLP.pt, got '" + paths + "'");
  const auto gmf = load_topn_checkpoint(std::string(parts[0]), &data);
  const auto mlp = load_topn_checkpoint(std::string(parts[1]), &data);
  const auto* g = dynamic_cast<const GMFImpl*>(gmf.get());
  const auto* m = dynamic_cast<const MLPImpl*>(mlp.get());
  if (g == nullptr) throw Error("pre-training: " + std::string(parts[0]) + " is not a GMF model");
  if (m == nullptr) throw Error("pre-training: " + std::string(parts[1]) + " is not an MLP model");
  neumf->load_pretrained(*g, *m, alpha);
}

std::vector<Generation> train_born_again(const Dataset& data, const Split& split,
                                         TopNModelPtr teacher, const TrainConfig& config,
                                         const std::vector<std::string>& methods, int generations,
                                         const std::string& output, std::uint64_t seed) {
  if (generations < 1) throw Error("generations must be >= 1, got " + std::to_string(generations));
  std::vector<Generation> out;
  for (int k = 1; k <= generations; ++k) {
    torch::manual_seed(seed + static_cast<std::uint64_t>(k));
    auto student = create_topn_model(teacher->spec(), data.num_users(), data.num_items());
    Trainer trainer(data, split, student, config);
    trainer.distill_from({teacher, parse_distillation_terms(methods), false});
    const std::string dir = output.empty() ? "" : output + "/gen" + std::to_string(k);
    if (config.show_progress)
      std::cerr << "born-again generation " << k << "/" << generations << "\n";
    out.push_back({k, trainer.fit(dir, "")});
    teacher = student;
  }
  return out;
}

CtrTeachers load_ctr_teachers(const std::vector<std::string>& paths) {
  if (paths.empty()) throw Error("give at least one teacher checkpoint");
  CtrTeachers t;
  for (const auto& path : paths) t.checkpoints.push_back(load_ctr_checkpoint(path));
  const auto& first = t.checkpoints.front();
  for (std::size_t i = 1; i < t.checkpoints.size(); ++i) {
    if (t.checkpoints[i].header.at("data_checksum") != first.header.at("data_checksum") ||
        t.checkpoints[i].data.to_json() != first.data.to_json())
      throw Error("teacher " + paths[i] + " was trained on other data or features than " +
                  paths[0] + "; an ensemble needs the same encoded rows");
  }
  std::vector<CtrModelPtr> models;
  for (auto& c : t.checkpoints) models.push_back(c.model);
  t.model = models.size() == 1 ? models[0] : CtrEnsemble(models).ptr();
  return t;
}

}  // namespace recpress
