// `deepfm`: DeepFM (Guo et al., IJCAI 2017, eq. 1-5): an FM component and a deep component that
// share the field embeddings; logit = first order + FM pairwise + MLP(concatenated embeddings).
// The paper's defaults: 400-400-400 ReLU layers, dropout 0.5.
#include "models/ctr/ctr_model.h"

namespace recpress {

class DeepFMImpl : public CtrModel {
 public:
  DeepFMImpl(const ModelSpec& spec, const CtrLayout& layout) : CtrModel(spec, layout) {
    linear = register_module("linear", LinearTerm(layout));
  }
  CtrOutput run(const CtrBatch& batch) override {
    CtrOutput o;
    const auto [deep_logit, embeddings] = deep.run(batch, o);
    o.logits = linear(batch) + fm_pairwise(embeddings) + deep_logit;
    return o;
  }

  CtrParts parts() override { return {linear.get(), deep.embedding.get(), true, &deep}; }

  LinearTerm linear{nullptr};
  DeepComponent deep{*this, spec(), layout()};
};
TORCH_MODULE(DeepFM);

namespace {
CtrModelPtr make_deepfm(const ModelSpec& s, const CtrLayout& l) {
  return DeepFM(s, l).ptr();
}
}  // namespace
RECPRESS_REGISTER_CTR_MODEL(
    "deepfm",
    "DeepFM (Guo et al., IJCAI 2017, eq. 1-5): first order + FM + MLP sharing the embeddings",
    deep_params(0.5), make_deepfm);

}  // namespace recpress
