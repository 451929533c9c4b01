// `sasrec`: Self-Attentive Sequential Recommendation (Kang & McAuley, ICDM 2018). Item embeddings
// scaled by sqrt(H) plus learned positions, causal self-attention blocks (pre-norm, ReLU
// feed-forward), a final layer norm; position t predicts item t + 1 by the inner product with the
// shared item embeddings (Sec. III-C, eq. 5). Loss: `bce`, the paper's binary cross-entropy
// with one sampled negative per position (eq. 6), or `ce`, full-softmax cross-entropy over all
// items, which trains faster and better (Klenitskiy & Vasilev, RecSys 2023, "gSASRec"/"SASRec vs
// BERT4Rec": Sec. 3).
#include <cmath>

#include "core/errors.h"
#include "models/module_util.h"
#include "models/seq/seq_model.h"
#include "train/losses.h"

namespace recpress {

class SASRecImpl : public SeqModel {
 public:
  SASRecImpl(const ModelSpec& spec, std::int64_t num_items) : SeqModel(spec, num_items) {
    loss_ = spec.get_string("loss");
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (std::int64_t l = 0; l < layers_; ++l)
      blocks->push_back(
          TransformerBlock(hidden_, heads_, dropout_, /*pre_norm=*/true, /*gelu=*/false));
    final_norm =
        register_module("final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden_})));
  }

  std::string family() const override { return "sasrec"; }

  SeqTrainingInput training_input(const torch::Tensor& sequences, Rng& rng) const override {
    const auto l = sequences.size(1) - 1;
    SeqTrainingInput b;
    b.input = sequences.narrow(1, 0, l).contiguous();
    b.targets = sequences.narrow(1, 1, l).clone();
    b.targets.masked_fill_(b.input.eq(0), 0);  // nothing to predict from padding
    if (loss_ == "bce") {
      b.negatives = torch::empty_like(b.targets);
      auto* neg = b.negatives.data_ptr<std::int64_t>();
      const auto* t = b.targets.data_ptr<std::int64_t>();
      const auto n = static_cast<std::uint32_t>(num_items_);
      for (std::int64_t k = 0; k < b.targets.numel(); ++k) {
        auto j = static_cast<std::int64_t>(rng.below(n)) + 1;
        if (j == t[k]) j = j % num_items_ + 1;  // never the positive itself
        neg[k] = j;
      }
    }
    return b;
  }

  SeqOutput encode(const torch::Tensor& input) override {
    const auto l = input.size(1);
    if (l > max_len_)
      throw Error("sasrec: input of length " + std::to_string(l) + " > max_len " +
                  std::to_string(max_len_));
    const auto real = input.ne(0);  // [B, L]
    auto x = embed_tokens(input) * std::sqrt(static_cast<double>(hidden_)) +
             positions(torch::arange(max_len_ - l, max_len_, torch::kLong));
    x = fast_dropout(x, dropout_, is_training()) * real.unsqueeze(2);
    // Causal (query t sees keys <= t), real keys only; the diagonal keeps padded rows defined.
    const auto causal = torch::ones({l, l}, torch::kBool).tril();
    const auto mask =
        (causal.unsqueeze(0) & real.unsqueeze(1)) | torch::eye(l, torch::kBool).unsqueeze(0);
    SeqOutput out;
    for (const auto& block : *blocks) {
      torch::Tensor probs;
      x = block->as<TransformerBlock>()->forward(x, mask.unsqueeze(1), &probs) * real.unsqueeze(2);
      out.layers.push_back(x);
      out.attention.push_back(probs);
    }
    out.hidden = final_norm(x);
    return out;
  }

  torch::Tensor item_logits(const torch::Tensor& hidden) override {
    return torch::matmul(hidden, token_table().narrow(0, 1, num_items_).t());
  }

  torch::Tensor loss(const SeqOutput& out, const SeqTrainingInput& b) override {
    const auto where = b.targets.gt(0);
    const auto h = out.hidden.index({where});  // [N, H]
    const auto target = b.targets.index({where});
    if (loss_ == "ce") return full_softmax_cross_entropy(item_logits(h), target - 1);
    const auto pos = (h * embed_tokens(target)).sum(1);
    const auto neg = (h * embed_tokens(b.negatives.index({where}))).sum(1);
    return torch::binary_cross_entropy_with_logits(pos, torch::ones_like(pos)) +
           torch::binary_cross_entropy_with_logits(neg, torch::zeros_like(neg));
  }

  torch::Tensor inference_input(const torch::Tensor& histories) const override { return histories; }

  torch::nn::ModuleList blocks;
  torch::nn::LayerNorm final_norm{nullptr};

 private:
  std::string loss_;
};
TORCH_MODULE(SASRec);

namespace {
SeqModelPtr make_sasrec(const ModelSpec& s, std::int64_t n) {
  return SASRec(s, n).ptr();
}
}  // namespace
RECPRESS_REGISTER_SEQ_MODEL(
    "sasrec",
    "SASRec (Kang & McAuley, ICDM 2018): causal, pre-norm blocks; loss=bce is the paper's (one "
    "sampled negative per position), loss=ce the full softmax (Klenitskiy & Vasilev, RecSys 2023)",
    [] {
      auto p = transformer_params();
      p.push_back(
          text_param("loss", "bce", {"bce", "ce"},
                     "bce: one sampled negative per position (the paper); ce: full softmax"));
      return p;
    }(),
    make_sasrec);

}  // namespace recpress
