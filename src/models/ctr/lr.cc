// `lr`: logistic regression over every sparse feature (crosses included) and dense feature: the
// "wide" model of Cheng et al. 2016 on its own, the usual CTR baseline.
#include "models/ctr/ctr_model.h"

namespace recpress {

class LogisticRegressionImpl : public CtrModel {
 public:
  LogisticRegressionImpl(const ModelSpec& spec, const CtrLayout& layout) : CtrModel(spec, layout) {
    linear = register_module("linear", LinearTerm(layout));
  }
  CtrOutput run(const CtrBatch& batch) override { return {linear(batch), {}}; }
  CtrParts parts() override { return {linear.get(), nullptr, false, nullptr}; }

  LinearTerm linear{nullptr};
};
TORCH_MODULE(LogisticRegression);

namespace {
CtrModelPtr make_lr(const ModelSpec& s, const CtrLayout& l) {
  return LogisticRegression(s, l).ptr();
}
}  // namespace
RECPRESS_REGISTER_CTR_MODEL(
    "lr", "logistic regression over every feature and cross (the wide part alone)", {}, make_lr);

}  // namespace recpress
