// `deepfm`: DeepFM (Guo et al., IJCAI 2017, eq. 1-5): an FM component and a deep component that
// share the field embeddings; logit = first order + FM pairwise + MLP(concatenated embeddings).
// The paper's defaults: 400-400-400 ReLU layers, dropout 0.5.
#include "models/ctr/ctr_model.h"

namespace recpress {

class DeepFMImpl : public CtrModel {
 public:
  DeepFMImpl(const ModelSpec& spec, const CtrLayout& layout) : CtrModel(spec, layout) {
    spec.allow_only({"dim", "hidden", "dropout"});
    const auto dim = spec.get_int("dim", 16);
    linear = register_module("linear", LinearTerm(layout));
    embedding = register_module("embedding", FieldEmbedding(layout, dim));
    deep = register_module("deep", Mlp(layout.embedded_fields() * dim,
                                       parse_hidden_sizes(spec, "hidden", "400-400-400"),
                                       spec.get_double("dropout", 0.5)));
    out = register_module("out", torch::nn::Linear(deep->output_size(), 1));
  }
  CtrOutput run(const CtrBatch& batch) override {
    const auto e = embedding(batch);
    std::vector<torch::Tensor> hidden;
    const auto h = deep(e.flatten(1), &hidden);
    CtrOutput o{linear(batch) + fm_pairwise(e) + out(h).squeeze(1), {{"embeddings", e}}};
    for (std::size_t l = 0; l < hidden.size(); ++l)
      o.representations.emplace_back("hidden" + std::to_string(l + 1), hidden[l]);
    return o;
  }

  LinearTerm linear{nullptr};
  FieldEmbedding embedding{nullptr};
  Mlp deep{nullptr};
  torch::nn::Linear out{nullptr};
};
TORCH_MODULE(DeepFM);

namespace {
CtrModelPtr make_deepfm(const ModelSpec& s, const CtrLayout& l) {
  return DeepFM(s, l).ptr();
}
}  // namespace
RECPRESS_REGISTER_CTR_MODEL("deepfm", "DeepFM (dim, hidden=400-400-400, dropout=0.5)", make_deepfm);

}  // namespace recpress
