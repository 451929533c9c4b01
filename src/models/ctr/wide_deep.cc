// `wide_deep`: Wide & Deep (Cheng et al., DLRS 2016, eq. 3): a wide linear model over the raw
// sparse features and the cross-product transformations (--crosses), plus a deep ReLU network over
// the concatenated field embeddings, trained jointly; logit = wide + deep.
#include "models/ctr/ctr_model.h"

namespace recpress {

class WideDeepImpl : public CtrModel {
 public:
  WideDeepImpl(const ModelSpec& spec, const CtrLayout& layout) : CtrModel(spec, layout) {
    wide = register_module("wide", LinearTerm(layout));
  }
  CtrOutput run(const CtrBatch& batch) override {
    CtrOutput o;
    o.logits = wide(batch) + deep.run(batch, o).first;
    return o;
  }

  CtrParts parts() override { return {wide.get(), deep.embedding.get(), false, &deep}; }

  LinearTerm wide{nullptr};
  DeepComponent deep{*this, spec(), layout()};
};
TORCH_MODULE(WideDeep);

namespace {
CtrModelPtr make_wide_deep(const ModelSpec& s, const CtrLayout& l) {
  return WideDeep(s, l).ptr();
}
}  // namespace
RECPRESS_REGISTER_CTR_MODEL("wide_deep",
                            "Wide & Deep (Cheng et al., DLRS 2016, eq. 3): linear over features + "
                            "crosses, ReLU MLP over the embeddings",
                            deep_params(0.0), make_wide_deep);

}  // namespace recpress
