// `hint`: feature-based distillation (Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR
// 2015). A learned regressor r maps the student's "guided" layer to the teacher's "hint" layer:
//   L_hint = 1/2 || h_teacher - r(h_student) ||^2     (eq. 3; r linear here, the paper's
//   convolutional
// regressor being for images), summed over dimensions and averaged over the batch's entities.
// `layer` names the teacher representation (user, item, or any name the model exposes, such as
// hidden1); `student_layer` the student's (default: the same name). For user / item layers the
// batch's users / items are used; for pair layers, each batch user with a batch item.
// Without a projection (projection=0) the two layers must have the same width.
// Parameters: layer (user), student_layer (= layer), projection (1).
#include "distill/common/hint.h"

#include "core/errors.h"
#include "distill/topn/distiller.h"

namespace recpress {

namespace {

class HintDistillation : public Distiller {
 public:
  explicit HintDistillation(const ModelSpec& spec) {
    layer_ = spec.get_string("layer");
    student_layer_ = spec.has("student_layer") ? spec.get_string("student_layer") : layer_;
    projection_ = spec.get_int("projection") != 0;
  }
  std::string name() const override { return "hint"; }
  bool student_through_batch() const override {
    return student_layer_ == "user" || student_layer_ == "item";
  }

  void prepare(TopNModel& teacher, TopNModel& student, const InteractionMatrix& train) override {
    torch::NoGradGuard guard;
    const auto probe = torch::zeros({2}, torch::kLong);
    const auto t = layer_of(teacher, layer_, probe, probe).size(1);
    const auto s = layer_of(student, student_layer_, probe, probe).size(1);
    if (projection_) {
      regressor_ = torch::nn::Linear(s, t);
    } else if (s != t) {
      throw Error("hint: the teacher's '" + layer_ + "' has " + std::to_string(t) +
                  " dimensions, the student's '" + student_layer_ + "' " + std::to_string(s) +
                  ": use projection=1 (a learned regressor) or layers of equal width");
    }
  }

  torch::Tensor loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch) override {
    // Pair each user with an item of the batch (cycled) for layers defined on pairs.
    const auto n = batch.users.size(0);
    const auto items =
        batch.items.index_select(0, torch::arange(n, torch::kLong).remainder(batch.items.size(0)));
    torch::Tensor t;
    {
      torch::NoGradGuard guard;
      t = layer_of(teacher, layer_, batch.users, items, batch.items);
    }
    auto s = student_layer_ == "user"   ? batch.entity(student, "user", batch.users)
             : student_layer_ == "item" ? batch.entity(student, "item", batch.items)
                                        : layer_of(student, student_layer_, batch.users, items);
    if (regressor_) s = regressor_(s);
    return hint_loss(t, s);
  }

  // By hand for a student layer that is a representation (user / item): with y = W s + b (or s),
  // L = 1/(2N) sum_i ||t_i - y_i||^2, so d L / d y = (y - t) / N, d W = dy^T s, d b = sum dy and
  // d L / d s = dy W; the regressor's gradients go into its .grad() for the optimiser's step.
  NativeTerm native_loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch,
                         StudentRows& rows, double weight) override {
    if (!student_through_batch())
      return Distiller::native_loss(teacher, student, batch, rows, weight);
    torch::NoGradGuard guard;
    const auto n = batch.users.size(0);
    const auto items =
        batch.items.index_select(0, torch::arange(n, torch::kLong).remainder(batch.items.size(0)));
    const auto t = layer_of(teacher, layer_, batch.users, items, batch.items);
    const auto ids = (student_layer_ == "user" ? batch.users : batch.items).contiguous();
    const auto* id = ids.data_ptr<std::int64_t>();
    auto s = torch::empty({ids.numel(), rows.entity_width(student_layer_)});
    rows.entity(student_layer_, id, ids.numel(), s.data_ptr<float>());
    const auto y = regressor_ ? regressor_(s) : s;
    const auto diff = y - t;
    const double rows_n = static_cast<double>(diff.size(0));
    const double value = 0.5 * diff.pow(2).sum().item<double>() / rows_n;
    const auto d_y = diff * (weight / rows_n);
    torch::Tensor d_s = d_y;
    if (regressor_) {
      add_gradient(regressor_->weight, torch::mm(d_y.t(), s));
      add_gradient(regressor_->bias, d_y.sum(0));
      d_s = torch::mm(d_y, regressor_->weight);
    }
    d_s = d_s.contiguous();
    rows.add_entity_gradient(student_layer_, id, ids.numel(), d_s.data_ptr<float>());
    return {weight * value, {}};
  }

  std::vector<torch::Tensor> parameters() override {
    return regressor_ ? regressor_->parameters() : std::vector<torch::Tensor>{};
  }

 private:
  static torch::Tensor layer_of(TopNModel& m, const std::string& layer, const torch::Tensor& users,
                                const torch::Tensor& items, const torch::Tensor& batch_items = {}) {
    if (layer == "user") return entity_representation(m, "user", users);
    if (layer == "item")
      return entity_representation(m, "item", batch_items.defined() ? batch_items : items);
    std::string known;
    for (auto& [name, t] : m.representations(users, items)) {
      if (name == layer) return t;
      known += (known.empty() ? "" : ", ") + name;
    }
    throw Error("hint: model " + m.spec().to_string() + " has no layer '" + layer +
                "' (it has: " + known + ")");
  }

  std::string layer_, student_layer_;
  bool projection_;
  torch::nn::Linear regressor_{nullptr};
};

DistillerPtr make_hint(const ModelSpec& spec) {
  return std::make_shared<HintDistillation>(spec);
}

}  // namespace

RECPRESS_REGISTER_DISTILLER("hint",
                            "FitNets (Romero et al., ICLR 2015): a named teacher layer, regressed "
                            "from a student layer through a learned projection",
                            (ParamDecls{text_param("layer", "user", {},
                                                   "the teacher's layer (user, item, or a "
                                                   "model's named hidden layer)"),
                                        text_param("student_layer", "", {},
                                                   "the student's layer (default: `layer`)"),
                                        [] {
                                          ParamDecl p =
                                              int_param("projection", 1, 0,
                                                        "1: through a learned linear map; 0: the "
                                                        "layers must have equal widths");
                                          p.max = 1;
                                          return p;
                                        }()}),
                            make_hint);

}  // namespace recpress
