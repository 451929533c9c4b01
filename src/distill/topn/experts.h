// Distillation experts (Kang et al., "DE-RRD", CIKM 2020, Sec. 3.1), shared by `de` and `htd`:
// M small networks map a student representation into the teacher's space, and a selection
// network reads the teacher's representation of an entity and picks one expert for it through a
// Gumbel-softmax whose temperature is annealed towards a one-hot choice.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/rng.h"
#include "distill/topn/distiller.h"
#include "models/topn/model.h"

namespace recpress {

class ExpertProjectionImpl : public torch::nn::Module {
 public:
  ExpertProjectionImpl(std::int64_t student_dim, std::int64_t teacher_dim, std::int64_t experts);
  // Gumbel-softmax selection [N, M]: softmax((log alpha + g) / tau), alpha = softmax(W h_t)
  // (DE-RRD eq. 4-5). The Gumbel noise comes from `rng` so runs are reproducible.
  torch::Tensor select(const torch::Tensor& teacher_rep, double tau, Rng& rng);
  // Every expert's image of the student representation: [N, M, d_t].
  torch::Tensor experts(const torch::Tensor& student_rep);
  // sum_m s_m E_m(h_s): [N, d_t].
  torch::Tensor project(const torch::Tensor& student_rep, const torch::Tensor& selection);
  std::int64_t count() const { return count_; }

  // The same selection and projection without an autograd graph, for a term that computes its
  // gradient by hand (the native step): forward_by_hand draws the Gumbel noise as select() does;
  // backward_by_hand takes d loss / d projected, adds the experts' and the selector's parameter
  // gradients, and returns d loss / d student_rep. Only the experts a row's selection weighs
  // above zero are computed (one of M once the selection is one-hot): exact, as in project().
  struct Pass {
    // alpha = softmax(W h_t); softmax: the Gumbel softmax before negligible weights are flushed
    torch::Tensor teacher, student, alpha, softmax, selection, projected;
    double tau = 1;
    std::vector<torch::Tensor> rows, hidden, out;  // per expert: its rows, relu layer, image
  };
  Pass forward_by_hand(const torch::Tensor& teacher_rep, const torch::Tensor& student_rep,
                       double tau, Rng& rng);
  // `d_selection`, when defined, is what the term itself adds to d loss / d selection (HTD's
  // memberships); the projection's own share is added here.
  torch::Tensor backward_by_hand(const Pass& pass, const torch::Tensor& d_projected,
                                 const torch::Tensor& d_selection = {});

 private:
  std::int64_t count_;
  std::int64_t hidden_dim_;
  torch::nn::Linear hidden_{nullptr}, selector_{nullptr};
  torch::Tensor out_weight_, out_bias_;  // expert m's output layer: [m] of [M, h, d_t], [M, 1, d_t]
};
TORCH_MODULE(ExpertProjection);

// The experts of a method for users and for items, each sized from the two models' "user" /
// "item" representations.
class EntityExperts {
 public:
  void create(TopNModel& teacher, TopNModel& student, std::int64_t experts);
  ExpertProjection& of(const std::string& kind) { return kind == "user" ? users_ : items_; }
  std::vector<torch::Tensor> parameters();

 private:
  ExpertProjection users_{nullptr}, items_{nullptr};
};

// The shape `de` and `htd` share: experts sized from both models in prepare(), a Gumbel
// temperature annealed from `tau` to `tau_end` over training, and one loss term for the batch's
// users plus one for its items, computed by term() from the teacher's representations, the
// student's projected into the teacher's space, and the expert selection.
class ExpertDistiller : public Distiller {
 public:
  void prepare(TopNModel& teacher, TopNModel& student, const InteractionMatrix& train) override;
  torch::Tensor loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch) override;
  std::vector<torch::Tensor> parameters() override { return experts_.parameters(); }
  bool student_through_batch() const override { return true; }

 protected:
  // Reads `count_key` (the number of experts / groups), tau and tau_end from `spec`, checked
  // against expert_params() by the registry.
  ExpertDistiller(const ModelSpec& spec, const std::string& count_key);
  virtual torch::Tensor term(const torch::Tensor& teacher, const torch::Tensor& projected,
                             const torch::Tensor& selection) = 0;
  // A term whose gradient is known by hand: its value, d value / d projected and, for a term
  // that reads the selection, d value / d selection (undefined: none). Called only when
  // has_term_by_hand(); otherwise the native step takes term() through autograd.
  struct TermGradient {
    double value = 0;
    torch::Tensor d_projected, d_selection;
  };
  virtual TermGradient term_by_hand(const torch::Tensor& teacher, const torch::Tensor& projected,
                                    const torch::Tensor& selection) {
    return {};
  }
  virtual bool has_term_by_hand() const { return false; }

 public:
  // With has_term_by_hand(): the experts' forward and backward by hand, no autograd graph.
  NativeTerm native_loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch,
                         StudentRows& rows, double weight) override;

 private:
  std::int64_t count_;
  double tau_, tau_end_;
  EntityExperts experts_;
};

// The parameters `de` and `htd` share: `count_key` experts (or groups), default 5, and the Gumbel
// temperature annealed from tau (1) to tau_end (1e-4), DE-RRD Sec. 3.1.
ParamDecls expert_params(const std::string& count_key, const std::string& count_doc);

// Standard Gumbel(0, 1) draws from `rng`: float of the given shape.
torch::Tensor gumbel_noise(torch::IntArrayRef shape, Rng& rng);

// Geometric annealing from `start` (progress 0) to `end` (progress 1).
double annealed_temperature(double progress, double start, double end);

// DE's reconstruction loss (eq. 6): ||h_t - projection||^2 summed over dimensions, mean over rows.
torch::Tensor de_reconstruction_loss(const torch::Tensor& teacher_rep,
                                     const torch::Tensor& projected);

}  // namespace recpress
