// `dnn`: the deep part alone, a ReLU network over the concatenated field embeddings (FNN, Zhang,
// Du & Wang, ECIR 2016, Sec. 3.1, without its FM pre-training; the "Deep" of Wide & Deep). A CTR
// model with no linear or FM term: what the deep component learns by itself.
#include "models/ctr/ctr_model.h"

namespace recpress {

class DnnImpl : public CtrModel {
 public:
  DnnImpl(const ModelSpec& spec, const CtrLayout& layout) : CtrModel(spec, layout) {}
  CtrOutput run(const CtrBatch& batch) override {
    CtrOutput o;
    o.logits = deep.run(batch, o).first;
    return o;
  }

  CtrParts parts() override { return {nullptr, deep.embedding.get(), false, &deep}; }

  DeepComponent deep{*this, spec(), layout()};
};
TORCH_MODULE(Dnn);

namespace {
CtrModelPtr make_dnn(const ModelSpec& s, const CtrLayout& l) {
  return Dnn(s, l).ptr();
}
}  // namespace
RECPRESS_REGISTER_CTR_MODEL("dnn",
                            "FNN (Zhang, Du & Wang, ECIR 2016) without its FM pre-training: the "
                            "ReLU MLP over the field embeddings alone",
                            deep_params(0.0), make_dnn);

}  // namespace recpress
