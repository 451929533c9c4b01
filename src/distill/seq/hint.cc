// `hint` for next-item models: FitNets (Romero et al., ICLR 2015, eq. 2) on hidden states. Each
// mapped student layer, through a learned linear projection H_s -> H_t, regresses the teacher
// layer's hidden state at every real (non-padding) position; MSE. `layers`: "S>T/..." 1-based
// (common/hint.h); default: spread evenly, the student's last layer onto the teacher's last.
#include "distill/common/hint.h"
#include "core/errors.h"
#include "distill/seq/distiller.h"
#include "models/module_util.h"

namespace recpress {

class SeqHint : public SeqDistiller {
 public:
  explicit SeqHint(const ModelSpec& spec) { layers_ = spec.get_string("layers"); }
  std::string name() const override { return "hint"; }

  void prepare(SeqModel& teacher, SeqModel& student) override {
    mapping_ = layer_mapping(layers_, student.num_layers(), teacher.num_layers(), "hint");
    for (std::size_t k = 0; k < mapping_.size(); ++k)
      projections_.push_back(torch::nn::Linear(student.hidden_size(), teacher.hidden_size()));
  }

  torch::Tensor loss(SeqModel& teacher, SeqModel& student, const SeqDistillBatch& b) override {
    const auto real = b.input->input.ne(0);
    auto total = torch::zeros({});
    for (std::size_t k = 0; k < mapping_.size(); ++k) {
      const auto& s = b.student->layers[static_cast<std::size_t>(mapping_[k].first)];
      const auto& t = b.teacher->layers[static_cast<std::size_t>(mapping_[k].second)];
      total = total + torch::mse_loss(projections_[k]->forward(s.index({real})), t.index({real}));
    }
    return total / static_cast<double>(mapping_.size());
  }

  std::vector<torch::Tensor> parameters() override { return parameters_of(projections_); }

 private:
  std::string layers_;
  std::vector<std::pair<std::int64_t, std::int64_t>> mapping_;
  std::vector<torch::nn::Linear> projections_;
};

namespace {
SeqDistillerPtr make_seq_hint(const ModelSpec& s) {
  return std::make_shared<SeqHint>(s);
}
}  // namespace
RECPRESS_REGISTER_SEQ_DISTILLER(
    "hint",
    "FitNets (Romero et al. 2015): projected hidden states of mapped layers regress the teacher's, "
    "MSE",
    ParamDecls{text_param("layers", "", {},
                          "student>teacher layer pairs joined by '/' (default: the last student "
                          "layer to the last teacher layer, and so on)")},
    make_seq_hint);

}  // namespace recpress
