// Next-item (sequential) models: the common interface, the transformer layers they share, and the
// registry by name.
//
// Token ids: 0 pads, item i (0-based index) is token i + 1, token num_items + 1 is BERT4Rec's
// [mask]. Sequences are right-aligned: the latest item is in the last column, padding on the
// left, and a history longer than max_len keeps its latest max_len items.
//
// Every model exposes, per layer, its output hidden states and its attention probabilities
// [B, heads, L, L] (our own attention layer rather than torch::nn::MultiheadAttention, whose C++
// module averages the heads' maps), for hint and attention-transfer distillation.
//
// Add a model by adding one file under src/models/seq/ with a FooImpl : SeqModel, its
// TORCH_MODULE(Foo), and RECPRESS_REGISTER_SEQ_MODEL("foo", help, {params...}, factory).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/rng.h"
#include "models/model_spec.h"
#include "models/seq/tt_embedding.h"

namespace recpress {

struct SeqOutput {
  torch::Tensor hidden;                  // [B, L, H]: the final representation at each position
  std::vector<torch::Tensor> layers;     // per layer, its output [B, L, H]
  std::vector<torch::Tensor> attention;  // per layer, attention probabilities [B, heads, L, L]
};

// One training batch as the model wants it: the input tokens, where predictions are trained
// (`targets` > 0: the token to predict there), and for sampled losses a negative per position.
struct SeqTrainingInput {
  torch::Tensor input;      // int64 [B, L]
  torch::Tensor targets;    // int64 [B, L], 0 where nothing is predicted
  torch::Tensor negatives;  // int64 [B, L] (sampled-loss models) or undefined
};

class SeqModel : public torch::nn::Module {
 public:
  // Models whose training inputs agree (same masking/shift), so one input serves a teacher and
  // a student in distillation.
  virtual std::string family() const = 0;
  // The model's input for a batch of right-aligned training sequences [B, L + 1] (one longer
  // than max_len, so a causal model can shift by one). Random choices (masks, negatives) come
  // from `rng` so a run is reproducible.
  virtual SeqTrainingInput training_input(const torch::Tensor& sequences, Rng& rng) const = 0;
  virtual SeqOutput encode(const torch::Tensor& input) = 0;
  // Logits of every item (columns = 0-based item indices) for hidden states [..., H].
  virtual torch::Tensor item_logits(const torch::Tensor& hidden) = 0;
  // The model's own training loss for an encoded batch.
  virtual torch::Tensor loss(const SeqOutput& out, const SeqTrainingInput& batch) = 0;

  // Next-item scores after right-aligned histories [B, max_len] of tokens: [B, num_items].
  torch::Tensor score_all_next(const torch::Tensor& histories);
  // The same for given 0-based items [B, C]: [B, C].
  torch::Tensor score_next(const torch::Tensor& histories, const torch::Tensor& items);
  // Representations at the positions that predict the next item (for distillation at inference
  // time): the model's input for histories; BERT4Rec appends [mask].
  virtual torch::Tensor inference_input(const torch::Tensor& histories) const = 0;
  // Called by the trainer before each training epoch (1-based): schedules (AdaRec's Gumbel
  // temperature) follow it, so a resumed run continues them exactly.
  virtual void start_epoch(int /*epoch*/) {}

  const ModelSpec& spec() const { return spec_; }
  std::int64_t num_items() const { return num_items_; }
  std::int64_t max_len() const { return max_len_; }
  std::int64_t hidden_size() const { return hidden_; }
  // Typed options, for distillers (never re-read the spec with a copied default).
  std::int64_t num_layers() const { return layers_; }
  std::int64_t num_heads() const { return heads_; }
  std::int64_t mask_token() const { return num_items_ + 1; }
  std::int64_t parameter_count() const;
  std::int64_t byte_size() const;

  // The token table [num_items + 2, H] (row 0 pads, rows 1..num_items are the items, the last
  // BERT4Rec's [mask]): the plain `items` table, or the TT cores' product (tt_rank > 0).
  torch::Tensor token_table() const;
  // Embeddings of int64 tokens [..., H]; padding (token 0) embeds to zeros either way.
  torch::Tensor embed_tokens(const torch::Tensor& tokens);
  bool compressed_items() const { return !tt_items.is_empty(); }

  // Token embeddings (row 0 pads and stays zero; N(0, 0.02) as BERT) or, with tt_rank > 0, a
  // tensor-train table (OD-Rec), and learned positions, created by the base for every model.
  torch::nn::Embedding items{nullptr}, positions{nullptr};
  TTEmbedding tt_items{nullptr};

 protected:
  SeqModel(ModelSpec spec, std::int64_t num_items);

  ModelSpec spec_;
  std::int64_t num_items_;
  std::int64_t max_len_, hidden_, layers_, heads_;
  double dropout_;
};

using SeqModelPtr = std::shared_ptr<SeqModel>;
using SeqFactory = std::function<SeqModelPtr(const ModelSpec&, std::int64_t num_items)>;

// What every transformer next-item model declares: max_len, hidden, layers, heads, dropout.
ParamDecls transformer_params();

void register_seq_model(const std::string& name, const std::string& help, ParamDecls params,
                        SeqFactory factory);
// Throws Error for an unknown name (listing the known ones) or bad hyper-parameters.
SeqModelPtr create_seq_model(const ModelSpec& spec, std::int64_t num_items);
std::vector<std::pair<std::string, std::string>> seq_models();
std::vector<std::tuple<std::string, std::string, ParamDecls>> seq_model_params();

// A model file registers its factory with its declared parameters (core/params.h).
struct SeqRegistrar {
  SeqRegistrar(const std::string& name, const std::string& help, ParamDecls params,
               SeqFactory factory) {
    register_seq_model(name, help, std::move(params), std::move(factory));
  }
};
#define RECPRESS_REGISTER_SEQ_MODEL(name, help, params, factory)                             \
  static const ::recpress::SeqRegistrar recpress_seq_registrar_##factory(name, help, params, \
                                                                         factory)

// ---------------------------------------------------------------- shared layers

// Multi-head scaled dot-product self-attention (Vaswani et al. 2017, eq. 1) returning its
// probabilities. `mask` [B or 1, 1, L, L] is true where attention is allowed.
class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(std::int64_t hidden, std::int64_t heads, double dropout);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, torch::Tensor* probs);

 private:
  std::int64_t heads_;
  double dropout_;
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, output{nullptr};
};
TORCH_MODULE(SelfAttention);

// A transformer block: attention and a position-wise feed-forward network (4H, GELU or ReLU),
// each with a residual connection, dropout and layer norm; post-norm as BERT (BERT4Rec) or
// pre-norm as SASRec (Kang & McAuley 2018, Sec. III-B: x + Dropout(g(LayerNorm(x)))).
class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(std::int64_t hidden, std::int64_t heads, double dropout, bool pre_norm,
                       bool gelu);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, torch::Tensor* probs);

 private:
  bool pre_norm_, gelu_;
  double dropout_;
  SelfAttention attention{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Linear ff1{nullptr}, ff2{nullptr};
};
TORCH_MODULE(TransformerBlock);

// Right-aligns token histories into a [B, L] int64 tensor (latest item last, 0 padding on the
// left, only the latest L items kept). Items are 0-based indices; the tensor holds tokens.
torch::Tensor right_aligned_tokens(const std::vector<std::vector<std::int32_t>>& histories,
                                   std::int64_t length);

}  // namespace recpress
