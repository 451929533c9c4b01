// `attention`: attention-transfer distillation for transformers, as MiniLM (Wang et al., NeurIPS
// 2020, eq. 3: KL between teacher and student self-attention distributions) and TinyBERT (Jiao et
// al., EMNLP 2020, eq. 7: MSE between attention matrices). For each mapped layer pair, every
// query row at a real position is a distribution over keys; the student's rows match the
// teacher's (loss=kl, default, or mse). When the student has fewer heads, each student head
// learns the mean of a group of teacher heads (heads must divide); `layers` maps layers as hint.
#include "core/errors.h"
#include "distill/common/hint.h"
#include "distill/seq/distiller.h"

namespace recpress {

class SeqAttention : public SeqDistiller {
 public:
  explicit SeqAttention(const ModelSpec& spec) {
    layers_ = spec.get_string("layers");
    kind_ = spec.get_string("loss");
  }
  std::string name() const override { return "attention"; }

  void prepare(SeqModel& teacher, SeqModel& student) override {
    const auto s_heads = student.num_heads(), t_heads = teacher.num_heads();
    if (t_heads % s_heads != 0)
      throw Error("attention: the teacher's " + std::to_string(t_heads) +
                  " heads cannot be grouped onto the student's " + std::to_string(s_heads));
    if (teacher.max_len() != student.max_len())
      throw Error("attention: teacher and student attend over different lengths (max_len " +
                  std::to_string(teacher.max_len()) + " vs " + std::to_string(student.max_len()) +
                  ")");
    group_ = t_heads / s_heads;
    mapping_ = layer_mapping(layers_, student.num_layers(), teacher.num_layers(), "attention");
  }

  torch::Tensor loss(SeqModel& teacher, SeqModel& student, const SeqDistillBatch& b) override {
    const auto real = b.input->input.ne(0);  // [B, L]
    auto total = torch::zeros({});
    for (const auto& [sl, tl] : mapping_) {
      const auto& s = b.student->attention[static_cast<std::size_t>(sl)];  // [B, hs, L, L]
      auto t = b.teacher->attention[static_cast<std::size_t>(tl)];         // [B, ht, L, L]
      if (group_ > 1) t = t.view({t.size(0), s.size(1), group_, t.size(2), t.size(3)}).mean(2);
      // Query rows at real positions: [N, heads, L].
      const auto s_rows = s.permute({0, 2, 1, 3}).index({real});
      const auto t_rows = t.permute({0, 2, 1, 3}).index({real});
      if (kind_ == "mse") {
        total = total + torch::mse_loss(s_rows, t_rows);
      } else {
        const auto log_s = torch::log(s_rows.clamp_min(1e-9));
        const auto log_t = torch::log(t_rows.clamp_min(1e-9));
        total = total + (t_rows * (log_t - log_s)).sum(-1).mean();
      }
    }
    return total / static_cast<double>(mapping_.size());
  }

 private:
  std::string layers_, kind_;
  std::int64_t group_ = 1;
  std::vector<std::pair<std::int64_t, std::int64_t>> mapping_;
};

namespace {
SeqDistillerPtr make_seq_attention(const ModelSpec& s) {
  return std::make_shared<SeqAttention>(s);
}
}  // namespace
RECPRESS_REGISTER_SEQ_DISTILLER(
    "attention",
    "MiniLM (Wang et al., NeurIPS 2020; KL) / TinyBERT (Jiao et al. 2020; MSE): attention rows of "
    "mapped layers, teacher heads averaged in groups onto fewer student heads",
    (ParamDecls{text_param("loss", "kl", {"kl", "mse"}, "how attention rows are compared"),
                text_param("layers", "", {},
                           "student>teacher layer pairs joined by '/' (default: the last student "
                           "layer to the last teacher layer, and so on)")}),
    make_seq_attention);

}  // namespace recpress
