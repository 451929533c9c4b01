// `adarec` for next-item models: AdaRec's target-oriented distillation (Chen et al. 2021,
// arXiv 2107.07173; the abstract and the summary are what we had). Its loss is
//   (1 - gamma) CE + gamma (L_emb + L_emd + L_pred) + beta L_cost;
// the student's own loss carries CE (and, for a searching `adarec` student, beta L_cost), and this
// term adds  emb L_emb + emd L_emd + kl L_pred, so a recipe's weight w on it plays gamma / (1 -
// gamma) (w = 1: gamma = 0.5). The parts:
//   L_emb:  MSE between the student's token embeddings, projected H_s -> H_t, and the teacher's,
//           at the input's real positions;
//   L_emd:  many-to-many layer distillation by the Earth Mover's Distance (BERT-EMD, Li et al.
//           EMNLP 2020, eq. 5-8): D_ij = MSE(W S_i, T_j) between student layer i (projected by one
//           shared W) and teacher layer j at real positions, f* the optimal flow between uniform
//           layer weights 1/K and 1/M (distill/common/emd.h) for the current D (held fixed), and
//           L_emd = sum_ij f*_ij D_ij (the flows sum to 1). BERT-EMD also updates the layer
//           weights from the costs; ours stay uniform;
//   L_pred: Hinton KD on the next-item distribution, T^2 KL(softmax(z_t/T) || softmax(z_s/T)), at
//           every trained position (as `kd`).
// Any next-item student of the teacher's family works; its use is with the searchable `adarec`.
#include "core/errors.h"
#include "distill/common/emd.h"
#include "distill/common/soft_targets.h"
#include "distill/seq/distiller.h"
#include "models/module_util.h"

namespace recpress {

class SeqAdaRec : public SeqDistiller {
 public:
  explicit SeqAdaRec(const ModelSpec& spec)
      : emb_(spec.get_double("emb")),
        emd_(spec.get_double("emd")),
        kl_(spec.get_double("kl")),
        temperature_(spec.get_double("temperature")) {}
  std::string name() const override { return "adarec"; }

  void prepare(SeqModel& teacher, SeqModel& student) override {
    embedding_ = torch::nn::Linear(student.hidden_size(), teacher.hidden_size());
    layers_ = torch::nn::Linear(student.hidden_size(), teacher.hidden_size());
  }

  torch::Tensor loss(SeqModel& teacher, SeqModel& student, const SeqDistillBatch& b) override {
    auto total = torch::zeros({});
    const auto real = b.input->input.ne(0);
    if (emb_ > 0) {
      torch::Tensor target;
      {
        torch::NoGradGuard guard;
        target = teacher.embed_tokens(b.input->input.index({real}));
      }
      const auto mine = student.embed_tokens(b.input->input.index({real}));
      total = total + emb_ * torch::mse_loss(embedding_->forward(mine), target);
    }
    if (emd_ > 0) total = total + emd_ * layer_emd(*b.student, *b.teacher, real);
    if (kl_ > 0) {
      const auto where = b.input->targets.gt(0);
      torch::Tensor teacher_logits;
      {
        torch::NoGradGuard guard;
        teacher_logits = teacher.item_logits(b.teacher->hidden.index({where}));
      }
      total =
          total + kl_ * kd_soft_target_loss(teacher_logits,
                                            student.item_logits(b.student->hidden.index({where})),
                                            temperature_);
    }
    return total;
  }

  std::vector<torch::Tensor> parameters() override {
    auto p = embedding_->parameters();
    for (auto& t : layers_->parameters()) p.push_back(t);
    return p;
  }

 private:
  torch::Tensor layer_emd(const SeqOutput& student, const SeqOutput& teacher,
                          const torch::Tensor& real) {
    const auto k = student.layers.size(), m = teacher.layers.size();
    if (k == 0 || m == 0) throw Error("adarec: a model without layers to distil");
    std::vector<torch::Tensor> distances;
    std::vector<double> cost;
    for (const auto& s : student.layers) {
      const auto projected = layers_->forward(s.index({real}));
      for (const auto& t : teacher.layers) {
        distances.push_back(torch::mse_loss(projected, t.index({real})));
        cost.push_back(distances.back().item<double>());
      }
    }
    const auto flow = emd_flow(cost, std::vector<double>(k, 1.0 / static_cast<double>(k)),
                               std::vector<double>(m, 1.0 / static_cast<double>(m)));
    auto total = torch::zeros({});
    for (std::size_t p = 0; p < distances.size(); ++p)
      if (flow[p] > 0) total = total + flow[p] * distances[p];
    return total;
  }

  double emb_, emd_, kl_, temperature_;
  torch::nn::Linear embedding_{nullptr}, layers_{nullptr};
};

namespace {
SeqDistillerPtr make_seq_adarec(const ModelSpec& s) {
  return std::make_shared<SeqAdaRec>(s);
}
}  // namespace
RECPRESS_REGISTER_SEQ_DISTILLER(
    "adarec",
    "AdaRec (Chen et al. 2021): embedding MSE + EMD many-to-many layer distillation + KD on the "
    "next-item distribution; with the searchable `adarec` student its weight is gamma/(1-gamma)",
    (ParamDecls{real_param("emb", 1.0, 0, kUnbounded, false, false,
                           "weight of the projected token-embedding MSE"),
                real_param("emd", 1.0, 0, kUnbounded, false, false,
                           "weight of the EMD layer-to-layer MSE (BERT-EMD)"),
                real_param("kl", 1.0, 0, kUnbounded, false, false,
                           "weight of the KD term on the next-item distribution"),
                real_param("temperature", 1.0, 0, kUnbounded, true, false,
                           "the KD term's softening temperature")}),
    make_seq_adarec);

}  // namespace recpress
