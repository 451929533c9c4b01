// `wide_deep`: Wide & Deep (Cheng et al., DLRS 2016, eq. 3): a wide linear model over the raw
// sparse features and the cross-product transformations (--crosses), plus a deep ReLU network over
// the concatenated field embeddings, trained jointly; logit = wide + deep.
#include "models/ctr/ctr_model.h"

namespace recpress {

class WideDeepImpl : public CtrModel {
 public:
  WideDeepImpl(const ModelSpec& spec, const CtrLayout& layout) : CtrModel(spec, layout) {
    spec.allow_only({"dim", "hidden", "dropout"});
    const auto dim = spec.get_int("dim", 16);
    wide = register_module("wide", LinearTerm(layout));
    embedding = register_module("embedding", FieldEmbedding(layout, dim));
    deep = register_module("deep", Mlp(layout.embedded_fields() * dim,
                                       parse_hidden_sizes(spec, "hidden", "400-400-400"),
                                       spec.get_double("dropout", 0.0)));
    out = register_module("out", torch::nn::Linear(deep->output_size(), 1));
  }
  CtrOutput run(const CtrBatch& batch) override {
    const auto e = embedding(batch);
    std::vector<torch::Tensor> hidden;
    const auto h = deep(e.flatten(1), &hidden);
    CtrOutput o{wide(batch) + out(h).squeeze(1), {{"embeddings", e}}};
    for (std::size_t l = 0; l < hidden.size(); ++l)
      o.representations.emplace_back("hidden" + std::to_string(l + 1), hidden[l]);
    return o;
  }

  LinearTerm wide{nullptr};
  FieldEmbedding embedding{nullptr};
  Mlp deep{nullptr};
  torch::nn::Linear out{nullptr};
};
TORCH_MODULE(WideDeep);

namespace {
CtrModelPtr make_wide_deep(const ModelSpec& s, const CtrLayout& l) {
  return WideDeep(s, l).ptr();
}
}  // namespace
RECPRESS_REGISTER_CTR_MODEL("wide_deep", "Wide & Deep (dim, hidden=400-400-400, dropout)",
                            make_wide_deep);

}  // namespace recpress
