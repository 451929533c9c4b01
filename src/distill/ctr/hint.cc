// `hint` for CTR: FitNets (Romero et al., ICLR 2015, eq. 2): a learned linear projection of a
// student layer regresses the teacher's corresponding layer, MSE. Layers are named as the models
// expose them: "embeddings" (the field embeddings [B, F, d]; one projection d_s -> d_t shared by
// all fields), "hidden1", "hidden2", ... and "last" (the last hidden layer). `layers` lists the
// pairs joined by '/', each "student>teacher" or one name for both. By default the field embeddings
// are matched, and the last hidden layers too when both models have hidden layers.
#include <sstream>

#include "core/errors.h"
#include "distill/ctr/distiller.h"
#include "models/module_util.h"

namespace recpress {

namespace {

// "last" -> the model's last "hiddenN"; other names as they are.
std::string resolve_layer(const std::string& name, const CtrOutput& out, const ModelSpec& model) {
  if (name != "last") {
    out.get(name, model.to_string());  // throws, naming what the model has
    return name;
  }
  std::string last;
  for (const auto& [n, t] : out.representations) {
    if (n.rfind("hidden", 0) == 0) last = n;
  }
  if (last.empty())
    throw Error("hint: model '" + model.to_string() + "' has no hidden layer for 'last'");
  return last;
}

}  // namespace

class CtrHint : public CtrDistiller {
 public:
  explicit CtrHint(const ModelSpec& spec) {
    default_layers_ = !spec.has("layers");
    std::istringstream in(spec.get_string("layers"));
    std::string pair;
    while (std::getline(in, pair, '/')) {
      const auto gt = pair.find('>');
      pairs_.emplace_back(pair.substr(0, gt), gt == std::string::npos ? pair : pair.substr(gt + 1));
      if (pairs_.back().first.empty() || pairs_.back().second.empty())
        throw Error("hint: bad layer pair '" + pair + "' (expected student>teacher or a name)");
    }
    if (pairs_.empty()) throw Error("hint: no layers");
  }
  std::string name() const override { return "hint"; }

  void prepare(CtrModel& teacher, CtrModel& student, const CtrRows& train) override {
    if (dynamic_cast<CtrEnsembleImpl*>(&teacher) != nullptr)
      throw Error("hint: needs one teacher's layers; an ensemble of teachers has none (use kd)");
    // One row through both models gives the layers' shapes.
    CtrBatch one;
    one.ids =
        torch::from_blob(const_cast<std::int32_t*>(train.ids.data()), {1, train.slots}, torch::kInt)
            .to(torch::kLong);
    one.values =
        torch::from_blob(const_cast<float*>(train.values.data()), {1, train.dense}, torch::kFloat)
            .clone();
    torch::NoGradGuard guard;
    const auto t = teacher.run(one), s = student.run(one);
    const auto has_hidden = [](const CtrOutput& o) {
      for (const auto& [n, x] : o.representations) {
        if (n.rfind("hidden", 0) == 0) return true;
      }
      return false;
    };
    if (default_layers_ && has_hidden(t) && has_hidden(s)) pairs_.emplace_back("last", "last");
    for (auto& [sn, tn] : pairs_) {
      sn = resolve_layer(sn, s, student.spec());
      tn = resolve_layer(tn, t, teacher.spec());
      const auto& st = s.get(sn, student.spec().to_string());
      const auto& tt = t.get(tn, teacher.spec().to_string());
      if (st.dim() != tt.dim() || (st.dim() == 3 && st.size(1) != tt.size(1)))
        throw Error("hint: student layer '" + sn + "' " + c10::str(st.sizes()) +
                    " cannot be projected onto teacher layer '" + tn + "' " + c10::str(tt.sizes()));
      projections_.push_back(torch::nn::Linear(st.size(-1), tt.size(-1)));
    }
  }

  torch::Tensor loss(CtrModel& teacher, CtrModel& student, const CtrDistillBatch& b) override {
    CtrOutput t;
    {
      torch::NoGradGuard guard;
      teacher.eval();
      t = teacher.run(*b.batch);
    }
    auto total = torch::zeros({});
    for (std::size_t k = 0; k < pairs_.size(); ++k) {
      const auto& st = b.student->get(pairs_[k].first, student.spec().to_string());
      const auto& tt = t.get(pairs_[k].second, teacher.spec().to_string());
      total = total + torch::mse_loss(projections_[k]->forward(st), tt);
    }
    return total / static_cast<double>(pairs_.size());
  }

  std::vector<torch::Tensor> parameters() override { return parameters_of(projections_); }

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
  bool default_layers_ = true;
  std::vector<torch::nn::Linear> projections_;
};

namespace {
CtrDistillerPtr make_ctr_hint(const ModelSpec& s) {
  return std::make_shared<CtrHint>(s);
}
}  // namespace
RECPRESS_REGISTER_CTR_DISTILLER(
    "hint",
    "FitNets (Romero et al., ICLR 2015): projected field embeddings (and last hidden layers) "
    "regress the teacher's, MSE",
    ParamDecls{text_param(
        "layers", "embeddings", {},
        "layers to match: names or student>teacher pairs joined by '/' (embeddings/last)")},
    make_ctr_hint);

}  // namespace recpress
