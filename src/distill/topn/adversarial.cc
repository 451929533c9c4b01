// `adversarial`: adversarial distillation of a teacher's ranking distribution.
//
// Published basis: KDGAN (Wang, Zhang, Zhang & Tian, "KDGAN: Knowledge Distillation with
// Generative Adversarial Networks", NeurIPS 2018): a classifier (our student) is trained with a
// distillation loss towards the teacher and adversarially against a discriminator that tells the
// true label distribution's samples from the classifier's; samples are made differentiable with
// the Gumbel-softmax relaxation (Jang et al., ICLR 2017; Maddison et al., ICLR 2017) so the
// adversarial gradient reaches the classifier with low variance. KDGAN trains the teacher too
// (three players); here the teacher is frozen and plays the "true" distribution (ours).
//
// What we implement, per batch user u (ours, fitted to top-N recommendation):
//   - candidates C_u: the teacher's top-`top` unobserved items (computed once per run) and
//     `random` items drawn uniformly from the user's unobserved items (new every batch);
//   - the two ranking distributions over C_u: p_T = softmax(s_T / T), p_S = softmax(s_S / T);
//   - a relaxed sample of each: y = softmax((log p + g) / tau), g standard Gumbel noise drawn from
//     the run's generator (reproducible), the same tau for both so that the discriminator cannot
//     tell them apart by their sharpness;
//   - the discriminator D(u, y) = <a_u, sum_j y_j b_j> + sum_j y_j c_j (its own user and item
//     embeddings of `d_dim` and an item bias), trained `d_steps` times per student step by its own
//     Adam (`d_lr`) on softplus(-D(u, y_T)) + softplus(D(u, y_S)): teacher's samples are real;
//   - the student's term: kl * KL(p_T || p_S) + adv * softplus(-D(u, y_S)) (the non-saturating
//     generator loss), the gradient reaching s_S through the relaxation.
// The discriminator and its optimiser are checkpointed (save/load), so a resumed run continues
// where it stopped.
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/errors.h"
#include "distill/topn/adversarial.h"
#include "distill/topn/distiller.h"
#include "distill/topn/experts.h"

namespace recpress {

DiscriminatorImpl::DiscriminatorImpl(std::int64_t users, std::int64_t items, std::int64_t dim) {
  user = register_parameter("user", torch::randn({users, dim}) * 0.1);
  item = register_parameter("item", torch::randn({items, dim}) * 0.1);
  bias = register_parameter("bias", torch::zeros({items}));
}

torch::Tensor DiscriminatorImpl::forward(const torch::Tensor& users,
                                         const torch::Tensor& candidates, const torch::Tensor& y) {
  const auto b = candidates.size(0), n = candidates.size(1);
  const auto flat = candidates.reshape({-1});
  const auto items = item.index_select(0, flat).view({b, n, -1});  // [b, n, d]
  const auto mixed = (y.unsqueeze(2) * items).sum(1);              // [b, d]
  const auto offset = (y * bias.index_select(0, flat).view({b, n})).sum(1);
  return (user.index_select(0, users) * mixed).sum(1) + offset;
}

torch::Tensor relaxed_sample(const torch::Tensor& log_p, const torch::Tensor& noise, double tau) {
  return torch::softmax((log_p + noise) / tau, 1);
}

namespace {

class AdversarialDistillation : public Distiller {
 public:
  explicit AdversarialDistillation(const ModelSpec& spec)
      : top_(spec.get_int("top")),
        random_(spec.get_int("random")),
        temperature_(spec.get_double("temperature")),
        tau_(spec.get_double("tau")),
        kl_(spec.get_double("kl")),
        adv_(spec.get_double("adv")),
        d_steps_(spec.get_int("d_steps")),
        d_dim_(spec.get_int("d_dim")),
        d_lr_(spec.get_double("d_lr")) {}
  std::string name() const override { return "adversarial"; }
  bool student_through_batch() const override { return true; }

  void prepare(TopNModel& teacher, TopNModel&, const InteractionMatrix& train) override {
    if (top_ >= teacher.num_items())
      throw Error("adversarial: top (" + std::to_string(top_) + ") must be below the catalog (" +
                  std::to_string(teacher.num_items()) + " items)");
    top_items_ = teacher_top_items(teacher, train, top_);
    train_ = train;
    scores_.compute(teacher, std::int64_t{512} << 20);
    discriminator_ = Discriminator(teacher.num_users(), teacher.num_items(), d_dim_);
    d_optimizer_ = std::make_unique<torch::optim::Adam>(discriminator_->parameters(),
                                                        torch::optim::AdamOptions(d_lr_));
  }

  torch::Tensor loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch) override {
    const auto candidates = candidates_of(batch);  // [b, n]
    const auto b = candidates.size(0), n = candidates.size(1);
    const auto users = batch.users.unsqueeze(1).expand({b, n}).reshape({-1});
    const auto flat = candidates.reshape({-1});
    const auto log_p_t =
        torch::log_softmax(scores_.lookup(teacher, users, flat).view({b, n}) / temperature_, 1);
    const auto log_p_s =
        torch::log_softmax(batch.score(student, users, flat).view({b, n}) / temperature_, 1);
    for (std::int64_t k = 0; k < d_steps_; ++k)
      train_discriminator(batch, candidates, log_p_t, log_p_s);
    const auto kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(1).mean();
    const auto fake = relaxed_sample(log_p_s, gumbel_noise({b, n}, *batch.rng), tau_);
    const auto fool =
        torch::softplus(-discriminator_->forward(batch.users, candidates, fake)).mean();
    return kl_ * kl + adv_ * fool;
  }

  void save(torch::serialize::OutputArchive& archive) const override {
    if (!discriminator_) return;
    torch::serialize::OutputArchive d, o;
    discriminator_->save(d);
    d_optimizer_->save(o);
    archive.write("discriminator", d);
    archive.write("discriminator_optimizer", o);
  }
  void load(torch::serialize::InputArchive& archive) override {
    torch::serialize::InputArchive d, o;
    if (!discriminator_ || !archive.try_read("discriminator", d) ||
        !archive.try_read("discriminator_optimizer", o))
      return;
    discriminator_->load(d);
    d_optimizer_->load(o);
  }

 private:
  // One discriminator step on fresh relaxed samples: the teacher's are real, the student's fake.
  void train_discriminator(const DistillBatch& batch, const torch::Tensor& candidates,
                           const torch::Tensor& log_p_t, const torch::Tensor& log_p_s) {
    const auto b = candidates.size(0), n = candidates.size(1);
    const auto real = relaxed_sample(log_p_t.detach(), gumbel_noise({b, n}, *batch.rng), tau_);
    const auto fake = relaxed_sample(log_p_s.detach(), gumbel_noise({b, n}, *batch.rng), tau_);
    const auto loss = (torch::softplus(-discriminator_->forward(batch.users, candidates, real)) +
                       torch::softplus(discriminator_->forward(batch.users, candidates, fake)))
                          .mean();
    d_optimizer_->zero_grad();
    loss.backward();
    d_optimizer_->step();
  }

  // The teacher's top items and `random` unobserved ones per batch user: int64 [b, top + random].
  torch::Tensor candidates_of(const DistillBatch& batch) {
    const auto b = batch.users.size(0);
    auto random = torch::empty({b, random_}, torch::kLong);
    auto* r = random.data_ptr<std::int64_t>();
    const auto* u = batch.users.data_ptr<std::int64_t>();
    const auto items = static_cast<std::uint32_t>(train_.num_items());
    for (std::int64_t row = 0; row < b; ++row) {
      const auto user = static_cast<std::int32_t>(u[row]);
      const bool skip_own = static_cast<std::int64_t>(train_.row(user).size()) < items;
      for (std::int64_t k = 0; k < random_; ++k) {
        std::uint32_t j;
        do {
          j = batch.rng->below(items);
        } while (skip_own && train_.contains(user, static_cast<std::int32_t>(j)));
        r[row * random_ + k] = j;
      }
    }
    return torch::cat({top_items_.index_select(0, batch.users), random}, 1);
  }

  std::int64_t top_, random_;
  double temperature_, tau_, kl_, adv_;
  std::int64_t d_steps_, d_dim_;
  double d_lr_;
  torch::Tensor top_items_;
  InteractionMatrix train_;
  TeacherScores scores_;
  Discriminator discriminator_{nullptr};
  std::unique_ptr<torch::optim::Adam> d_optimizer_;
};

DistillerPtr make_adversarial(const ModelSpec& spec) {
  return std::make_shared<AdversarialDistillation>(spec);
}

}  // namespace

RECPRESS_REGISTER_DISTILLER(
    "adversarial",
    "adversarial distillation (after KDGAN, Wang et al., NeurIPS 2018): the student fools a "
    "discriminator of the teacher's ranking samples, Gumbel-softmax relaxed, plus KL to the "
    "teacher",
    (ParamDecls{
        int_param("top", 10, 1, "the teacher's top items among each user's candidates"),
        int_param("random", 10, 1, "uniformly drawn unobserved candidates per user and batch"),
        real_param("temperature", 1, 0, kUnbounded, true, false,
                   "softmax temperature of both ranking distributions"),
        real_param("tau", 0.5, 0, kUnbounded, true, false, "Gumbel-softmax temperature"),
        real_param("kl", 1, 0, kUnbounded, false, false, "weight of KL(teacher || student)"),
        real_param("adv", 0.2, 0, kUnbounded, false, false, "weight of the adversarial term"),
        int_param("d_steps", 1, 1, "discriminator steps per student step (k_D)"),
        int_param("d_dim", 16, 1, "the discriminator's embedding size"),
        real_param("d_lr", 1e-3, 0, kUnbounded, true, false, "the discriminator's learning rate"),
    }),
    make_adversarial);

}  // namespace recpress
