#include "models/seq/seq_model.h"

#include <cmath>

#include "core/errors.h"
#include "core/registry.h"
#include "models/module_util.h"

namespace recpress {

namespace {
NamedRegistry<SeqFactory>& registry() {
  static NamedRegistry<SeqFactory> r("next-item model");
  return r;
}
}  // namespace

ParamDecls transformer_params() {
  return {int_param("max_len", 50, 1, "history length (the latest items are kept)"),
          int_param("hidden", 64, 1, "hidden size (item embeddings)"),
          int_param("layers", 2, 1, "transformer blocks"),
          int_param("heads", 2, 1, "attention heads (must divide hidden)"),
          real_param("dropout", 0.2, 0, 1, false, true, "dropout"),
          int_param("tt_rank", 0, 0,
                    "0: a plain item table; r > 0: a tensor-train item table of rank r (OD-Rec, "
                    "Xia et al. SIGIR 2022), never stored whole"),
          int_param("stp", 1, 1,
                    "with tt_rank: the semi-tensor product's factor t (cores 2 and 3 of left rank "
                    "r/t, t^2 fewer numbers each; 1 = plain TT)")};
}

namespace {
bool declares(const ModelSpec& spec, const std::string& key) {
  if (spec.declared == nullptr) return spec.has(key);
  for (const auto& d : *spec.declared)
    if (d.name == key) return true;
  return false;
}
}  // namespace

SeqModel::SeqModel(ModelSpec spec, std::int64_t num_items)
    : spec_(std::move(spec)), num_items_(num_items) {
  if (num_items < 1) throw Error("model '" + spec_.name + "': needs at least one item");
  max_len_ = spec_.get_int("max_len");
  hidden_ = spec_.get_int("hidden");
  layers_ = spec_.get_int("layers");
  heads_ = declares(spec_, "heads") ? spec_.get_int("heads") : 1;  // attention-free models: 1
  dropout_ = spec_.get_double("dropout");
  if (hidden_ % heads_ != 0)
    throw Error("model '" + spec_.to_string() + "': hidden (" + std::to_string(hidden_) +
                ") must be a multiple of heads (" + std::to_string(heads_) + ")");
  if (dropout_ < 0 || dropout_ >= 1)
    throw Error("model '" + spec_.to_string() + "': dropout must be in [0, 1)");
  const auto tt_rank = spec_.get_int("tt_rank");
  if (tt_rank > 0) {
    try {
      tt_items = register_module(
          "tt_items", TTEmbedding(num_items + 2, hidden_, tt_rank, spec_.get_int("stp")));
    } catch (const Error& e) {
      throw Error("model '" + spec_.to_string() + "': " + e.what());
    }
  } else {
    if (spec_.get_int("stp") != 1)
      throw Error("model '" + spec_.to_string() + "': stp needs tt_rank > 0");
    items = register_module(
        "items",
        torch::nn::Embedding(torch::nn::EmbeddingOptions(num_items + 2, hidden_).padding_idx(0)));
  }
  positions = register_module("positions", torch::nn::Embedding(max_len_, hidden_));
  torch::NoGradGuard g;
  if (items) {
    items->weight.normal_(0, 0.02);
    items->weight[0].zero_();
  }
  positions->weight.normal_(0, 0.02);
}

torch::Tensor SeqModel::token_table() const {
  return tt_items ? tt_items->table() : items->weight;
}

torch::Tensor SeqModel::embed_tokens(const torch::Tensor& tokens) {
  if (!tt_items) return items->forward(tokens);
  auto shape = tokens.sizes().vec();
  shape.push_back(hidden_);
  const auto rows = tt_items->table().index_select(0, tokens.reshape({-1})).view(shape);
  return rows * tokens.ne(0).unsqueeze(-1).to(rows.dtype());
}

torch::Tensor SeqModel::score_all_next(const torch::Tensor& histories) {
  const auto out = encode(inference_input(histories));
  return item_logits(out.hidden.select(1, out.hidden.size(1) - 1));
}

torch::Tensor SeqModel::score_next(const torch::Tensor& histories, const torch::Tensor& items) {
  return score_all_next(histories).gather(1, items);
}

std::int64_t SeqModel::parameter_count() const {
  return count_parameters(*this);
}

std::int64_t SeqModel::byte_size() const {
  return parameter_bytes(*this);
}

void register_seq_model(const std::string& name, const std::string& help, ParamDecls params,
                        SeqFactory factory) {
  registry().add(name, help, std::move(params), std::move(factory));
}

SeqModelPtr create_seq_model(const ModelSpec& spec, std::int64_t num_items) {
  return registry().get(spec.name)(checked_spec(registry(), spec), num_items);
}

std::vector<std::pair<std::string, std::string>> seq_models() {
  return registry().list();
}

std::vector<std::tuple<std::string, std::string, ParamDecls>> seq_model_params() {
  return registry().declared();
}

// ---------------------------------------------------------------- layers

SelfAttentionImpl::SelfAttentionImpl(std::int64_t hidden, std::int64_t heads, double dropout)
    : heads_(heads), dropout_(dropout) {
  query = register_module("query", torch::nn::Linear(hidden, hidden));
  key = register_module("key", torch::nn::Linear(hidden, hidden));
  value = register_module("value", torch::nn::Linear(hidden, hidden));
  output = register_module("output", torch::nn::Linear(hidden, hidden));
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                         torch::Tensor* probs) {
  const auto b = x.size(0), l = x.size(1), h = x.size(2), d = h / heads_;
  auto split = [&](const torch::Tensor& t) { return t.view({b, l, heads_, d}).transpose(1, 2); };
  const auto q = split(query(x)), k = split(key(x)), v = split(value(x));  // [B, heads, L, d]
  auto scores = torch::matmul(q, k.transpose(2, 3)) / std::sqrt(static_cast<double>(d));
  scores = scores.masked_fill(mask.logical_not(), -1e9);
  auto p = torch::softmax(scores, -1);
  if (probs != nullptr) *probs = p;
  p = fast_dropout(p, dropout_, is_training());
  return output(torch::matmul(p, v).transpose(1, 2).reshape({b, l, h}));
}

TransformerBlockImpl::TransformerBlockImpl(std::int64_t hidden, std::int64_t heads, double dropout,
                                           bool pre_norm, bool gelu)
    : pre_norm_(pre_norm), gelu_(gelu), dropout_(dropout) {
  attention = register_module("attention", SelfAttention(hidden, heads, dropout));
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden})));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden})));
  ff1 = register_module("ff1", torch::nn::Linear(hidden, 4 * hidden));
  ff2 = register_module("ff2", torch::nn::Linear(4 * hidden, hidden));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                            torch::Tensor* probs) {
  auto drop = [&](const torch::Tensor& t) { return fast_dropout(t, dropout_, is_training()); };
  auto feed_forward = [&](const torch::Tensor& t) {
    const auto a = ff1(t);
    return ff2(drop(gelu_ ? torch::gelu(a) : torch::relu(a)));
  };
  if (pre_norm_) {
    auto y = x + drop(attention(norm1(x), mask, probs));
    return y + drop(feed_forward(norm2(y)));
  }
  auto y = norm1(x + drop(attention(x, mask, probs)));
  return norm2(y + drop(feed_forward(y)));
}

torch::Tensor right_aligned_tokens(const std::vector<std::vector<std::int32_t>>& histories,
                                   std::int64_t length) {
  auto out = torch::zeros({static_cast<std::int64_t>(histories.size()), length}, torch::kLong);
  auto* p = out.data_ptr<std::int64_t>();
  for (std::size_t b = 0; b < histories.size(); ++b) {
    const auto& h = histories[b];
    const auto n = std::min<std::int64_t>(length, static_cast<std::int64_t>(h.size()));
    for (std::int64_t k = 0; k < n; ++k)
      p[static_cast<std::int64_t>(b) * length + length - n + k] =
          h[h.size() - static_cast<std::size_t>(n) + static_cast<std::size_t>(k)] + 1;
  }
  return out;
}

}  // namespace recpress
