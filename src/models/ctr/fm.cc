// `fm`: Factorization Machine (Rendle, ICDM 2010, eq. 1): bias + first-order weights + pairwise
// interactions <v_i, v_j> of the field embeddings, computed in O(F d) (ctr_model.h, fm_pairwise).
#include "models/ctr/ctr_model.h"

namespace recpress {

class FactorizationMachineImpl : public CtrModel {
 public:
  FactorizationMachineImpl(const ModelSpec& spec, const CtrLayout& layout)
      : CtrModel(spec, layout) {
    linear = register_module("linear", LinearTerm(layout));
    embedding = register_module("embedding", FieldEmbedding(layout, spec.get_int("dim")));
  }
  CtrOutput run(const CtrBatch& batch) override {
    const auto e = embedding(batch);
    return {linear(batch) + fm_pairwise(e), {{"embeddings", e}}};
  }

  CtrParts parts() override { return {linear.get(), embedding.get(), true, nullptr}; }

  LinearTerm linear{nullptr};
  FieldEmbedding embedding{nullptr};
};
TORCH_MODULE(FactorizationMachine);

namespace {
CtrModelPtr make_fm(const ModelSpec& s, const CtrLayout& l) {
  return FactorizationMachine(s, l).ptr();
}
}  // namespace
RECPRESS_REGISTER_CTR_MODEL(
    "fm", "Factorization Machines (Rendle, ICDM 2010, eq. 1 in the O(kn) form of Lemma 3.1)",
    {int_param("dim", 16, 1, "field embedding size")}, make_fm);

}  // namespace recpress
