// CTR prediction models: the common interface, the shared feature layers, and the registry.
//
// A model maps a batch of encoded rows (data/ctr_encoder.h) to click logits, and exposes its field
// embeddings and hidden layers by name ("embeddings" [B, F, d], "hidden1" [B, h1], ...) for
// feature-based distillation.
//
// Add a model by adding one file under src/models/ctr/ with a FooImpl : CtrModel, its
// TORCH_MODULE(Foo), and RECPRESS_REGISTER_CTR_MODEL("foo", help, {params...}, factory).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "data/ctr_encoder.h"
#include "models/model_spec.h"

namespace recpress {

struct CtrBatch {
  torch::Tensor ids;     // int64 [B, slots]; the layout's vocab_size pads unused slots
  torch::Tensor values;  // float [B, dense fields]
};

struct CtrOutput {
  torch::Tensor logits;  // [B]
  std::vector<std::pair<std::string, torch::Tensor>> representations;
  // The representation `name`; throws Error naming the model and what it has.
  const torch::Tensor& get(const std::string& name, const std::string& model) const;
};

class LinearTermImpl;
class FieldEmbeddingImpl;
class DeepComponent;

// What a model is made of, in the terms of the runtime's CTR kind (runtime/ctr_model.h):
// logit = [linear] + [fm over the embeddings] + [deep part]. Every pointer may be null.
struct CtrParts {
  LinearTermImpl* linear = nullptr;
  FieldEmbeddingImpl* embedding = nullptr;  // the FM's or the deep part's field embeddings
  bool fm = false;
  DeepComponent* deep = nullptr;
};

class CtrModel : public torch::nn::Module {
 public:
  // Its parts, for export to the runtime; a model made of nothing else returns them (the default,
  // no parts, means the model cannot be exported).
  virtual CtrParts parts() { return {}; }
  // Logits and named intermediate representations.
  virtual CtrOutput run(const CtrBatch& batch) = 0;
  torch::Tensor forward(const CtrBatch& batch) { return run(batch).logits; }

  const ModelSpec& spec() const { return spec_; }
  const CtrLayout& layout() const { return layout_; }
  std::int64_t parameter_count() const;
  std::int64_t byte_size() const;  // parameters as stored (fp32)

 protected:
  CtrModel(ModelSpec spec, CtrLayout layout);

 private:
  ModelSpec spec_;
  CtrLayout layout_;
};

using CtrModelPtr = std::shared_ptr<CtrModel>;
using CtrFactory = std::function<CtrModelPtr(const ModelSpec&, const CtrLayout&)>;

void register_ctr_model(const std::string& name, const std::string& help, ParamDecls params,
                        CtrFactory factory);
// Throws Error for an unknown name (listing the known ones) or bad hyper-parameters.
CtrModelPtr create_ctr_model(const ModelSpec& spec, const CtrLayout& layout);
std::vector<std::pair<std::string, std::string>> ctr_models();  // name, help
std::vector<std::tuple<std::string, std::string, ParamDecls>> ctr_model_params();

// A model file registers its factory with its declared parameters (core/params.h).
struct CtrRegistrar {
  CtrRegistrar(const std::string& name, const std::string& help, ParamDecls params,
               CtrFactory factory) {
    register_ctr_model(name, help, std::move(params), std::move(factory));
  }
};
#define RECPRESS_REGISTER_CTR_MODEL(name, help, params, factory)                             \
  static const ::recpress::CtrRegistrar recpress_ctr_registrar_##factory(name, help, params, \
                                                                         factory)

// ---------------------------------------------------------------- shared layers

// The sparse and dense features of a layout, embedded. One table holds every sparse id (the
// padding id's row stays zero); a multi-hot field is the mean of its tokens' vectors; a dense
// numeric field k contributes x_k * v_k (Guo et al. 2017, Sec. 2.1: "the field embedding of a
// continuous feature is the value times a vector"). Wide-only fields (crosses) are not embedded.
class FieldEmbeddingImpl : public torch::nn::Module {
 public:
  FieldEmbeddingImpl(const CtrLayout& layout, std::int64_t dim);
  torch::Tensor forward(const CtrBatch& batch);  // [B, F, dim], F = layout.embedded_fields()

  torch::nn::Embedding table{nullptr};
  torch::Tensor dense_vectors;  // [dense fields, dim]

 private:
  torch::Tensor pooling_;  // [slots, deep sparse fields]: 1 where the slot belongs to the field
  std::int64_t deep_slots_ = 0;
};
TORCH_MODULE(FieldEmbedding);

// First-order term: bias + sum over fields of the field's weight (mean over a multi-hot field's
// tokens), wide-only crosses included, + sum_k w_k x_k over dense fields. This is logistic
// regression and the "wide" part of Wide & Deep.
class LinearTermImpl : public torch::nn::Module {
 public:
  explicit LinearTermImpl(const CtrLayout& layout);
  torch::Tensor forward(const CtrBatch& batch);  // [B]

  torch::nn::Embedding weights{nullptr};
  torch::Tensor dense_weights, bias;

 private:
  torch::Tensor pooling_;  // [slots, sparse fields]
};
TORCH_MODULE(LinearTerm);

// Fully connected ReLU layers with dropout; records each layer's output for hint distillation.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(std::int64_t input, const std::vector<std::int64_t>& hidden, double dropout);
  torch::Tensor forward(torch::Tensor x, std::vector<torch::Tensor>* hidden = nullptr);
  std::int64_t output_size() const { return output_; }
  torch::nn::ModuleList layers;

 private:
  double dropout_;
  std::int64_t output_;
};
TORCH_MODULE(Mlp);

// The deep component Wide & Deep and DeepFM share: field embeddings, a ReLU MLP over their
// concatenation, and a linear output, registered on the owning model as "embedding", "deep" and
// "out". run() gives the deep logit and fills `out` with the representations ("embeddings",
// "hidden1", ...) the models expose.
class DeepComponent {
 public:
  // Reads dim, hidden and dropout (deep_params) from spec.
  DeepComponent(torch::nn::Module& owner, const ModelSpec& spec, const CtrLayout& layout);
  // Returns {deep logit [B], embeddings [B, F, d]}.
  std::pair<torch::Tensor, torch::Tensor> run(const CtrBatch& batch, CtrOutput& out);

  FieldEmbedding embedding{nullptr};
  Mlp deep{nullptr};
  torch::nn::Linear output{nullptr};
};

// FM's pairwise interactions sum_{i<j} <v_i, v_j> for [B, F, d] embeddings, in O(F d) as
// 0.5 * sum_d ((sum_i v_id)^2 - sum_i v_id^2) (Rendle, ICDM 2010, Lemma 3.1). Returns [B].
torch::Tensor fm_pairwise(const torch::Tensor& embeddings);

// "400-400-400" -> {400, 400, 400}; "" or "none" -> {}. Throws Error naming the model and key.
// The deep part's declared parameters (dim, hidden, dropout), with the model's dropout default.
ParamDecls deep_params(double dropout);
// `key`'s layer sizes ("400-400-400"; "none": no layer), a declared text parameter.
std::vector<std::int64_t> parse_hidden_sizes(const ModelSpec& spec, const std::string& key);

}  // namespace recpress
