#include "models/ctr/ctr_model.h"

#include <sstream>

#include "core/errors.h"
#include "core/registry.h"
#include "core/text_reader.h"
#include "models/module_util.h"

namespace recpress {

namespace {

NamedRegistry<CtrFactory>& registry() {
  static NamedRegistry<CtrFactory> r("CTR model");
  return r;
}

// [slots, fields] 0/1 matrix: column f has ones on field f's slots (fields [0, n) of the layout).
torch::Tensor slot_pooling(const CtrLayout& layout, std::size_t fields) {
  std::int64_t slots = 0;
  for (std::size_t f = 0; f < fields; ++f) slots += layout.sparse[f].slots;
  auto p = torch::zeros({slots, static_cast<std::int64_t>(fields)});
  for (std::size_t f = 0; f < fields; ++f) {
    const auto& field = layout.sparse[f];
    p.narrow(0, field.first_slot, field.slots).select(1, static_cast<std::int64_t>(f)).fill_(1);
  }
  return p;
}

// Per-field mean of slot values: x [B, S, d] (padding slots hold zeros), ids [B, S].
torch::Tensor pool_slots(const torch::Tensor& x, const torch::Tensor& ids, const torch::Tensor& p,
                         std::int64_t pad) {
  if (p.size(0) == p.size(1)) return x;  // one slot per field: nothing to pool
  // Masked rather than trusting the padding row to be zero, so a padded slot never contributes.
  const auto mask = ids.ne(pad).to(x.scalar_type());                            // [B, S]
  const auto counts = torch::matmul(mask, p).clamp_min(1).unsqueeze(2);         // [B, F, 1]
  const auto sums = torch::matmul((x * mask.unsqueeze(2)).transpose(1, 2), p);  // [B, d, F]
  return sums.transpose(1, 2) / counts;                                         // [B, F, d]
}

torch::nn::Embedding padded_embedding(std::int64_t vocab, std::int64_t dim, double std) {
  torch::nn::Embedding e(torch::nn::EmbeddingOptions(vocab + 1, dim).padding_idx(vocab));
  torch::NoGradGuard guard;
  if (std > 0) {
    e->weight.normal_(0.0, std);
  } else {
    e->weight.zero_();
  }
  e->weight[vocab].zero_();
  return e;
}

}  // namespace

const torch::Tensor& CtrOutput::get(const std::string& name, const std::string& model) const {
  std::string names;
  for (const auto& [n, t] : representations) {
    if (n == name) return t;
    names += (names.empty() ? "" : ", ") + n;
  }
  throw Error("model '" + model + "' has no representation '" + name + "' (it has: " + names + ")");
}

CtrModel::CtrModel(ModelSpec spec, CtrLayout layout)
    : spec_(std::move(spec)), layout_(std::move(layout)) {
  if (layout_.sparse.empty() && layout_.dense.empty())
    throw Error("model '" + spec_.name + "': the data has no feature fields");
}

std::int64_t CtrModel::parameter_count() const {
  return count_parameters(*this);
}

std::int64_t CtrModel::byte_size() const {
  return parameter_bytes(*this);
}

void register_ctr_model(const std::string& name, const std::string& help, ParamDecls params,
                        CtrFactory factory) {
  registry().add(name, help, std::move(params), std::move(factory));
}

CtrModelPtr create_ctr_model(const ModelSpec& spec, const CtrLayout& layout) {
  return registry().get(spec.name)(checked_spec(registry(), spec), layout);
}

std::vector<std::pair<std::string, std::string>> ctr_models() {
  return registry().list();
}

std::vector<std::tuple<std::string, std::string, ParamDecls>> ctr_model_params() {
  return registry().declared();
}

// ---------------------------------------------------------------- layers

FieldEmbeddingImpl::FieldEmbeddingImpl(const CtrLayout& layout, std::int64_t dim) {
  table = register_module("table", padded_embedding(layout.vocab_size, dim, 0.01));
  dense_vectors = register_parameter(
      "dense_vectors", torch::randn({static_cast<std::int64_t>(layout.dense.size()), dim}) * 0.01);
  pooling_ = register_buffer(
      "pooling", slot_pooling(layout, static_cast<std::size_t>(layout.deep_sparse_fields())));
  deep_slots_ = pooling_.size(0);
}

torch::Tensor FieldEmbeddingImpl::forward(const CtrBatch& batch) {
  const auto pad = table->weight.size(0) - 1;
  std::vector<torch::Tensor> parts;
  if (deep_slots_ > 0) {
    const auto ids = batch.ids.narrow(1, 0, deep_slots_);
    parts.push_back(pool_slots(table(ids), ids, pooling_, pad));
  }
  if (dense_vectors.size(0) > 0) parts.push_back(batch.values.unsqueeze(2) * dense_vectors);
  return parts.size() == 1 ? parts[0] : torch::cat(parts, 1);
}

LinearTermImpl::LinearTermImpl(const CtrLayout& layout) {
  weights = register_module("weights", padded_embedding(layout.vocab_size, 1, 0));
  dense_weights = register_parameter(
      "dense_weights", torch::zeros({static_cast<std::int64_t>(layout.dense.size())}));
  bias = register_parameter("bias", torch::zeros({1}));
  pooling_ = register_buffer("pooling", slot_pooling(layout, layout.sparse.size()));
}

torch::Tensor LinearTermImpl::forward(const CtrBatch& batch) {
  auto out = bias.expand({batch.ids.size(0)});
  if (pooling_.size(0) > 0) {
    const auto pad = weights->weight.size(0) - 1;
    out = out + pool_slots(weights(batch.ids), batch.ids, pooling_, pad).sum({1, 2});
  }
  if (dense_weights.size(0) > 0) out = out + torch::mv(batch.values, dense_weights);
  return out;
}

MlpImpl::MlpImpl(std::int64_t input, const std::vector<std::int64_t>& hidden, double dropout)
    : dropout_(dropout), output_(input) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (auto h : hidden) {
    layers->push_back(torch::nn::Linear(output_, h));
    output_ = h;
  }
}

torch::Tensor MlpImpl::forward(torch::Tensor x, std::vector<torch::Tensor>* hidden) {
  for (const auto& layer : *layers) {
    x = torch::relu(layer->as<torch::nn::Linear>()->forward(x));
    if (dropout_ > 0) x = fast_dropout(x, dropout_, is_training());
    if (hidden != nullptr) hidden->push_back(x);
  }
  return x;
}

DeepComponent::DeepComponent(torch::nn::Module& owner, const ModelSpec& spec,
                             const CtrLayout& layout) {
  const auto dim = spec.get_int("dim");
  embedding = owner.register_module("embedding", FieldEmbedding(layout, dim));
  deep = owner.register_module(
      "deep", Mlp(layout.embedded_fields() * dim, parse_hidden_sizes(spec, "hidden"),
                  spec.get_double("dropout")));
  output = owner.register_module("out", torch::nn::Linear(deep->output_size(), 1));
}

std::pair<torch::Tensor, torch::Tensor> DeepComponent::run(const CtrBatch& batch, CtrOutput& out) {
  const auto e = embedding(batch);
  std::vector<torch::Tensor> hidden;
  const auto h = deep(e.flatten(1), &hidden);
  out.representations.emplace_back("embeddings", e);
  for (std::size_t l = 0; l < hidden.size(); ++l)
    out.representations.emplace_back("hidden" + std::to_string(l + 1), hidden[l]);
  return {output(h).squeeze(1), e};
}

torch::Tensor fm_pairwise(const torch::Tensor& embeddings) {
  const auto sum = embeddings.sum(1);                      // [B, d]
  const auto sum_of_squares = embeddings.square().sum(1);  // [B, d]
  return 0.5 * (sum.square() - sum_of_squares).sum(1);
}

ParamDecls deep_params(double dropout) {
  return {
      int_param("dim", 16, 1, "field embedding size"),
      text_param("hidden", "400-400-400", {}, "deep layer sizes joined by '-' (none: no layer)"),
      real_param("dropout", dropout, 0, 1, false, true, "dropout after each deep layer")};
}

std::vector<std::int64_t> parse_hidden_sizes(const ModelSpec& spec, const std::string& key) {
  const std::string text = spec.get_string(key);
  std::vector<std::int64_t> out;
  if (text.empty() || text == "none") return out;
  std::istringstream in(text);
  std::string part;
  while (std::getline(in, part, '-')) {
    long long v = 0;
    if (!parse_int64(part, v) || v < 1 || v > 1000000) {
      throw Error("model '" + spec.name + "': " + key + "='" + text +
                  "' must be layer sizes joined by '-', e.g. 400-400-400");
    }
    out.push_back(v);
  }
  return out;
}

}  // namespace recpress
