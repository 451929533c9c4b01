// Top-N (implicit feedback) models: the common interface, and the registry by name.
//
// A model maps (user, item) index pairs to a logit (higher = more likely to interact). It also
// scores a user against the whole catalog (`score_all`, batched over users) and exposes named
// intermediate representations that feature/relation distillers read.
//
// Add a model by adding one file under src/models/topn/ with a FooImpl : TopNModel, its
// TORCH_MODULE(Foo), and RECPRESS_REGISTER_TOPN_MODEL("foo", help, {params...}, factory).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "models/model_spec.h"

namespace recpress {

// The parameters of the NCF family (MF, GMF, MLP, NeuMF) seen as one shape, the one the native
// training step (train/ncf_step.h) computes without autograd:
//   s(u, i) = h_g^T (p_u * q_i) + h_m^T tower([m_u; n_i]) + b,  tower: Linear + ReLU layers.
// An undefined tensor is an absent part: MF has no head (h_g = 1, b = 0), GMF no tower, MLP no
// GMF part. The tensors are the model's own (updates through them train the model).
struct NcfParts {
  torch::Tensor gmf_user, gmf_item;  // p [U, d], q [I, d]
  torch::Tensor mlp_user, mlp_item;  // m [U, e], n [I, e]
  std::vector<torch::nn::Linear> tower;
  torch::Tensor head_weight, head_bias;  // [1, d + h] (the GMF columns first), [1]
};

class TopNModel : public torch::nn::Module {
 public:
  // Logits for pairs: users, items are int64 [B]; returns [B].
  virtual torch::Tensor forward(const torch::Tensor& users, const torch::Tensor& items) = 0;
  // Logits of every item for each user: users int64 [B] -> [B, num_items]. The default evaluates
  // forward() on all pairs in chunks; dot-product models override it with one GEMM.
  virtual torch::Tensor score_all(const torch::Tensor& users);
  // Named intermediate representations for pairs, e.g. {"user", [B, d]}, {"item", [B, d]},
  // {"hidden1", [B, h]}. Feature-based distillers pick layers by these names.
  virtual std::vector<std::pair<std::string, torch::Tensor>> representations(
      const torch::Tensor& users, const torch::Tensor& items) = 0;

  // The model as NCF parts when it is one of that family (native training), else nullopt.
  virtual std::optional<NcfParts> ncf_parts() { return std::nullopt; }
  // The training interactions, for a model whose scores depend on them (a graph model keeps its
  // graph; the others ignore them). The trainer calls it before training.
  virtual void set_training_interactions(std::span<const Interaction> train) {}
  // The model's own regularisation term (e.g. Mult-VAE's weighted KL divergence) accumulated by
  // the training-mode passes since the last call, which resets it; undefined when it has none.
  // The trainer adds it to the batch loss once per step.
  virtual torch::Tensor take_penalty() { return {}; }
  // The model as a dot product, score(u, i) = <U_u, V_i> for every pair, when it is one in eval
  // mode: {U [num_users, k], V [num_items, k]} (MF; LightGCN's propagated embeddings; an
  // autoencoder's user codes with its decoder). `export` ships such a model as MF.
  virtual std::optional<std::pair<torch::Tensor, torch::Tensor>> as_dot_product() {
    return std::nullopt;
  }

  const ModelSpec& spec() const { return spec_; }
  std::int64_t num_users() const { return num_users_; }
  std::int64_t num_items() const { return num_items_; }
  std::int64_t parameter_count() const;
  // Bytes of the parameters as stored (fp32).
  std::int64_t byte_size() const;

 protected:
  TopNModel(ModelSpec spec, std::int64_t num_users, std::int64_t num_items);
  // N(0, 0.01) embeddings, as the NCF paper (He et al. 2017, Sec. 4.1).
  torch::nn::Embedding make_embedding(const std::string& name, std::int64_t rows, std::int64_t dim);

 private:
  ModelSpec spec_;
  std::int64_t num_users_;
  std::int64_t num_items_;
};

using TopNModelPtr = std::shared_ptr<TopNModel>;
using TopNFactory =
    std::function<TopNModelPtr(const ModelSpec&, std::int64_t users, std::int64_t items)>;

// Registry. create_topn_model throws Error for an unknown name (listing the known ones) or bad
// hyper-parameters (e.g. dim <= 0).
void register_topn_model(const std::string& name, const std::string& help, ParamDecls params,
                         TopNFactory factory);
TopNModelPtr create_topn_model(const ModelSpec& spec, std::int64_t num_users,
                               std::int64_t num_items);
std::vector<std::pair<std::string, std::string>> topn_models();  // name, help
std::vector<std::tuple<std::string, std::string, ParamDecls>> topn_model_params();

// A model file registers its factory with its declared parameters (core/params.h): the spec
// the factory receives is checked against them and reads their defaults. Several parameters go
// in parentheses, `(ParamDecls{a, b})`, so the preprocessor sees one argument.
struct TopNRegistrar {
  TopNRegistrar(const std::string& name, const std::string& help, ParamDecls params,
                TopNFactory factory) {
    register_topn_model(name, help, std::move(params), std::move(factory));
  }
};
#define RECPRESS_REGISTER_TOPN_MODEL(name, help, params, factory)                              \
  static const ::recpress::TopNRegistrar recpress_topn_registrar_##factory(name, help, params, \
                                                                           factory)

}  // namespace recpress
