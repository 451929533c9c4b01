// `contrastive` for next-item models: OD-Rec's contrastive self-supervised distillation (Xia et
// al., SIGIR 2022, "On-Device Next-Item Recommendation with Self-Supervised Knowledge
// Distillation"). The student's and the frozen teacher's representations of the same sequence are
// a positive pair, the teacher's representations of the batch's other sequences its negatives;
// InfoNCE (van den Oord et al. 2018, eq. 4) over cosine similarities at temperature tau:
//   L = -1/B sum_i log( exp(cos(W s_i, t_i) / tau) / sum_j exp(cos(W s_i, t_j) / tau) ),
// where s_i, t_i are the hidden states at the last position of sequence i (the position that
// predicts its next item; BERT4Rec: the last input position) and W a learned linear map from the
// student's hidden size to the teacher's (the identity, and no parameters, when they agree).
//
// What is published: the abstract names a contrastive self-supervised distillation term between
// teacher and student next to soft-target KD; the released code (github.com/xiaxin1998/OD-Rec,
// student.py, read for this header) computes InfoNCE at temperature 0.2 with in-batch negatives
// on cosine similarities, but between *recombined* session views: each session's items are split
// into hot and cold ones, each model pools each part of its item embeddings with a gated
// attention, and the student's view is an MLP of [its hot part; the teacher's cold part], the
// teacher's view the mirror (sessions with one kind only use the other model's whole-session
// representation); a "predictive" term makes both recombined views predict the next item.
// What is ours: the plain form above (the transformer's last-position representations, no
// hot/cold recombination, no predictive term), which needs no item popularity in the term and
// works when the teacher is wider than the student (W); the recombination is not built.
// OD-Rec's weights CE 0.2, KD 0.8, CL 0.2 are, with our trainer's loss CE + sum of w * term,
// `kd@4+contrastive@1` (the same ratios; Adam is invariant to the common factor 5; the code's KD
// is the full-catalog KL at temperature 1, our seq `kd`'s default).
#include "core/errors.h"
#include "distill/seq/distiller.h"

namespace recpress {

class SeqContrastive : public SeqDistiller {
 public:
  explicit SeqContrastive(const ModelSpec& spec) { temperature_ = spec.get_double("temperature"); }
  std::string name() const override { return "contrastive"; }

  void prepare(SeqModel& teacher, SeqModel& student) override {
    if (teacher.hidden_size() != student.hidden_size())
      projection_ = torch::nn::Linear(student.hidden_size(), teacher.hidden_size());
  }

  torch::Tensor loss(SeqModel& teacher, SeqModel& student, const SeqDistillBatch& b) override {
    const auto last = b.student->hidden.size(1) - 1;
    auto s = b.student->hidden.select(1, last);  // [B, H_s]
    if (projection_) s = projection_->forward(s);
    const auto t = b.teacher->hidden.select(1, last).detach();  // [B, H_t]
    const auto cos = torch::matmul(
        torch::nn::functional::normalize(s, torch::nn::functional::NormalizeFuncOptions().dim(1)),
        torch::nn::functional::normalize(t, torch::nn::functional::NormalizeFuncOptions().dim(1))
            .t());
    const auto positives = torch::arange(s.size(0), torch::kLong);
    return torch::nn::functional::cross_entropy(cos / temperature_, positives);
  }

  std::vector<torch::Tensor> parameters() override {
    return projection_ ? projection_->parameters() : std::vector<torch::Tensor>{};
  }

 private:
  double temperature_ = 0.2;
  torch::nn::Linear projection_{nullptr};
};

namespace {
SeqDistillerPtr make_seq_contrastive(const ModelSpec& s) {
  return std::make_shared<SeqContrastive>(s);
}
}  // namespace
RECPRESS_REGISTER_SEQ_DISTILLER(
    "contrastive",
    "OD-Rec (Xia et al. SIGIR 2022): InfoNCE between the student's and the teacher's last-position "
    "representations, the batch's other sequences as negatives (cosine / temperature)",
    ParamDecls{real_param("temperature", 0.2, 0, kUnbounded, true, false,
                          "InfoNCE temperature (OD-Rec's code: 0.2)")},
    make_seq_contrastive);

}  // namespace recpress
