// `bert4rec`: BERT4Rec (Sun et al., CIKM 2019). Item + learned position embeddings, layer norm and
// dropout, bidirectional transformer blocks (post-norm, GELU, as BERT), trained with the Cloze
// task: each item is replaced by [mask] with probability mask_prob and predicted from both sides
// (Sec. 3.6); at least one item per sequence is masked. The output layer is the paper's eq. 7: a
// GELU projection, then the inner product with the shared item embeddings plus an item bias,
// softmax over all items. At test time [mask] is appended to the history and its prediction is the
// next item.
#include "core/errors.h"
#include "models/module_util.h"
#include "models/seq/seq_model.h"
#include "train/losses.h"

namespace recpress {

class BERT4RecImpl : public SeqModel {
 public:
  BERT4RecImpl(const ModelSpec& spec, std::int64_t num_items) : SeqModel(spec, num_items) {
    mask_prob_ = spec.get_double("mask_prob");
    if (!(mask_prob_ > 0 && mask_prob_ < 1))
      throw Error("model '" + spec.to_string() + "': mask_prob must be in (0, 1)");
    embedding_norm = register_module("embedding_norm",
                                     torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden_})));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (std::int64_t l = 0; l < layers_; ++l)
      blocks->push_back(
          TransformerBlock(hidden_, heads_, dropout_, /*pre_norm=*/false, /*gelu=*/true));
    projection = register_module("projection", torch::nn::Linear(hidden_, hidden_));
    output_bias = register_parameter("output_bias", torch::zeros({num_items}));
  }

  std::string family() const override { return "bert4rec"; }

  SeqTrainingInput training_input(const torch::Tensor& sequences, Rng& rng) const override {
    const auto l = sequences.size(1) - 1;
    SeqTrainingInput b;
    b.input = sequences.narrow(1, 1, l).clone();  // the latest max_len items
    b.targets = torch::zeros_like(b.input);
    auto* in = b.input.data_ptr<std::int64_t>();
    auto* t = b.targets.data_ptr<std::int64_t>();
    for (std::int64_t r = 0; r < b.input.size(0); ++r) {
      bool any = false;
      for (std::int64_t c = 0; c < l; ++c) {
        const auto k = r * l + c;
        if (in[k] == 0 || rng.uniform() >= mask_prob_) continue;
        t[k] = in[k];
        in[k] = mask_token();
        any = true;
      }
      const auto last = r * l + l - 1;
      if (!any && in[last] != 0) {
        t[last] = in[last];
        in[last] = mask_token();
      }
    }
    return b;
  }

  SeqOutput encode(const torch::Tensor& input) override {
    const auto l = input.size(1);
    if (l > max_len_)
      throw Error("bert4rec: input of length " + std::to_string(l) + " > max_len " +
                  std::to_string(max_len_));
    const auto real = input.ne(0);
    auto x = embed_tokens(input) + positions(torch::arange(max_len_ - l, max_len_, torch::kLong));
    x = fast_dropout(embedding_norm(x), dropout_, is_training());
    // Bidirectional over real tokens; the diagonal keeps padded rows defined.
    const auto mask =
        real.unsqueeze(1).expand({input.size(0), l, l}) | torch::eye(l, torch::kBool).unsqueeze(0);
    SeqOutput out;
    for (const auto& block : *blocks) {
      torch::Tensor probs;
      x = block->as<TransformerBlock>()->forward(x, mask.unsqueeze(1), &probs);
      out.layers.push_back(x);
      out.attention.push_back(probs);
    }
    out.hidden = x;
    return out;
  }

  torch::Tensor item_logits(const torch::Tensor& hidden) override {
    return torch::matmul(torch::gelu(projection(hidden)),
                         token_table().narrow(0, 1, num_items_).t()) +
           output_bias;
  }

  torch::Tensor loss(const SeqOutput& out, const SeqTrainingInput& b) override {
    const auto where = b.targets.gt(0);
    return full_softmax_cross_entropy(item_logits(out.hidden.index({where})),
                                      b.targets.index({where}) - 1);
  }

  torch::Tensor inference_input(const torch::Tensor& histories) const override {
    const auto l = histories.size(1);
    return torch::cat({histories.narrow(1, 1, l - 1),
                       torch::full({histories.size(0), 1}, mask_token(), torch::kLong)},
                      1);
  }

  torch::nn::LayerNorm embedding_norm{nullptr};
  torch::nn::ModuleList blocks;
  torch::nn::Linear projection{nullptr};
  torch::Tensor output_bias;

 private:
  double mask_prob_ = 0.2;
};
TORCH_MODULE(BERT4Rec);

namespace {
SeqModelPtr make_bert4rec(const ModelSpec& s, std::int64_t n) {
  return BERT4Rec(s, n).ptr();
}
}  // namespace
RECPRESS_REGISTER_SEQ_MODEL(
    "bert4rec",
    "BERT4Rec (Sun et al., CIKM 2019): bidirectional, Cloze training (mask_prob), GELU output "
    "layer tied to the item embeddings + bias (eq. 7)",
    [] {
      auto p = transformer_params();
      p.push_back(
          real_param("mask_prob", 0.2, 0, 1, true, true, "share of positions masked (Cloze)"));
      return p;
    }(),
    make_bert4rec);

}  // namespace recpress
