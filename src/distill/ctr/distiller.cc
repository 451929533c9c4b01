#include "distill/ctr/distiller.h"

#include "core/errors.h"
#include "core/registry.h"

namespace recpress {

namespace {
NamedRegistry<CtrDistillerFactory>& registry() {
  static NamedRegistry<CtrDistillerFactory> r("CTR distillation method");
  return r;
}
}  // namespace

void register_ctr_distiller(const std::string& name, const std::string& help,
                            std::optional<ParamDecls> params, CtrDistillerFactory factory) {
  registry().add(name, help, std::move(params), std::move(factory));
}

CtrDistillerPtr create_ctr_distiller(const ModelSpec& spec) {
  return registry().get(spec.name)(checked_spec(registry(), spec));
}

std::vector<std::pair<std::string, std::string>> ctr_distillers() {
  return registry().list();
}

std::vector<std::tuple<std::string, std::string, ParamDecls>> ctr_distiller_params() {
  return registry().declared();
}

std::vector<std::pair<CtrDistillerPtr, double>> parse_ctr_distillation_terms(
    const std::vector<std::string>& methods) {
  std::vector<std::pair<CtrDistillerPtr, double>> terms;
  for (const auto& [spec, weight] : parse_weighted_specs(methods))
    terms.emplace_back(create_ctr_distiller(spec), weight);
  return terms;
}

torch::Tensor ctr_predict_logits(CtrModel& model, const CtrRows& rows, std::int64_t batch) {
  torch::NoGradGuard guard;
  const bool was_training = model.is_training();
  model.eval();
  auto out = torch::empty({rows.rows});
  for (std::int64_t start = 0; start < rows.rows; start += batch) {
    const auto n = std::min(batch, rows.rows - start);
    CtrBatch b;
    b.ids = torch::from_blob(const_cast<std::int32_t*>(rows.ids.data()) + start * rows.slots,
                             {n, rows.slots}, torch::kInt)
                .to(torch::kLong);
    b.values = torch::from_blob(const_cast<float*>(rows.values.data()) + start * rows.dense,
                                {n, rows.dense}, torch::kFloat);
    out.narrow(0, start, n).copy_(model.forward(b));
  }
  model.train(was_training);
  return out;
}

// ---------------------------------------------------------------- ensemble

namespace {
ModelSpec ensemble_spec(const std::vector<CtrModelPtr>& members) {
  if (members.empty()) throw Error("multi-teacher: no teachers given");
  ModelSpec s;
  s.name = "ensemble";
  for (std::size_t i = 0; i < members.size(); ++i)
    s.params["m" + std::to_string(i + 1)] = members[i]->spec().name;
  return s;
}
}  // namespace

CtrEnsembleImpl::CtrEnsembleImpl(std::vector<CtrModelPtr> members)
    : CtrModel(ensemble_spec(members), members[0]->layout()), members_(std::move(members)) {
  for (std::size_t i = 0; i < members_.size(); ++i) {
    if (!(members_[i]->layout() == layout()))
      throw Error("multi-teacher: teacher " + std::to_string(i + 1) + " (" +
                  members_[i]->spec().to_string() +
                  ") was trained on differently encoded data than teacher 1");
    register_module("m" + std::to_string(i + 1), members_[i]);
  }
}

CtrOutput CtrEnsembleImpl::run(const CtrBatch& batch) {
  std::vector<torch::Tensor> logits;
  for (auto& m : members_) logits.push_back(m->forward(batch));
  return {torch::stack(logits).mean(0), {}};
}

}  // namespace recpress
