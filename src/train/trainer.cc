#include "train/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/format.h"
#include "core/rng.h"
#include "core/text_reader.h"
#include "data/interaction_matrix.h"
#include "data/negative_sampler.h"
#include "models/module_util.h"
#include "models/topn/scorer.h"
#include "train/lazy_adam.h"
#include "train/loop.h"
#include "train/losses.h"
#include "train/ncf_step.h"
#include "train/progress.h"

namespace recpress {

// ---------------------------------------------------------------- model files

nlohmann::json model_identity(const TopNModel& model, const Dataset& data) {
  return {{"format", "recpress-checkpoint"},
          {"version", 1},
          {"task", "topn"},
          {"model", model.spec().to_string()},
          {"num_users", model.num_users()},
          {"num_items", model.num_items()},
          {"parameters", model.parameter_count()},
          {"dataset", data.name},
          {"data_checksum", data.checksum()},
          {"user_ids", data.users.raw_ids()},
          {"item_ids", data.items.raw_ids()},
          {"data_args", data.open_arguments.empty() ? nlohmann::json()
                                                    : nlohmann::json::parse(data.open_arguments)}};
}

std::string save_model_archive(TopNModel& model) {
  return module_archive(model);
}

TopNModelPtr load_topn_checkpoint(const std::string& path, const Dataset* data) {
  const Checkpoint c = read_checkpoint(path);
  const auto& h = c.header;
  if (h.value("task", "") != "topn")
    throw DataError(path, 0, "task", "not a top-N model checkpoint");
  if (data != nullptr && h.value("data_checksum", "") != data->checksum()) {
    throw DataError(path, 0, "data_checksum",
                    "model was trained on '" + h.value("dataset", std::string("?")) +
                        "' (checksum " + h.value("data_checksum", std::string("?")) +
                        "), not on this data '" + data->name + "' (checksum " + data->checksum() +
                        "); id maps would not match");
  }
  auto model = create_topn_model(ModelSpec::parse(h.at("model").get<std::string>()),
                                 h.at("num_users").get<std::int64_t>(),
                                 h.at("num_items").get<std::int64_t>());
  load_module_archive(*model, c.archive, path);
  return model;
}

// ---------------------------------------------------------------- training

Trainer::Trainer(const Dataset& data, const Split& split, TopNModelPtr model, TrainConfig config)
    : data_(data), split_(split), model_(std::move(model)), config_(std::move(config)) {
  config_.validate();
  if (model_->num_users() != data.num_users() || model_->num_items() != data.num_items()) {
    throw Error("model has " + std::to_string(model_->num_users()) + " users x " +
                std::to_string(model_->num_items()) + " items, the data " +
                std::to_string(data.num_users()) + " x " + std::to_string(data.num_items()));
  }
  model_->set_training_interactions(split.train);
  if (split.valid.empty())
    throw Error("training needs a validation hold-out (use a split without +novalid)");
}

void Trainer::distill_from(Distillation distillation) {
  if (!distillation.teacher) throw Error("distillation needs a teacher model");
  if (distillation.teacher->num_users() != model_->num_users() ||
      distillation.teacher->num_items() != model_->num_items()) {
    throw Error("teacher has " + std::to_string(distillation.teacher->num_users()) + " users x " +
                std::to_string(distillation.teacher->num_items()) + " items, the student " +
                std::to_string(model_->num_users()) + " x " + std::to_string(model_->num_items()));
  }
  distillation_ = std::move(distillation);
  for (const auto& [d, w] : distillation_.terms)
    if (d->trains_teacher()) distillation_.online = true;  // bd: the teacher learns too
}

namespace {

// Top-N's part of the training loop: an epoch samples negatives for every training positive (BCE:
// N per positive, labels 0; BPR: N triples per positive), shuffles, and runs mini-batches through
// preallocated tensors with the distillation terms added; validation ranks the hold-out.
class TopNTrainingTask final : public TrainingTask {
 public:
  TopNTrainingTask(const Dataset& data, const Split& split, TopNModelPtr model,
                   const TrainConfig& config, Distillation& distillation)
      : data_(data),
        model_(std::move(model)),
        c_(config),
        d_(distillation),
        loss_kind_(parse_loss(config.loss)),
        valid_(data, split, EvalTarget::kValid, Protocol::parse(config.protocol),
               parse_metrics(config.metrics), config.seed),
        train_matrix_(split.train, data.num_users(), data.num_items()),
        sampler_(NegativeSampler::from_spec(train_matrix_, config.sampler)),
        positives_(split.train),
        identity_(model_identity(*model_, data)) {
    prepare_teacher();
    if (loss_kind_ == LossKind::kMultinomial) {
      // An epoch's samples are the users with a training row, each with all of it.
      for (std::int32_t u = 0; u < train_matrix_.num_users(); ++u)
        if (!train_matrix_.row(u).empty()) row_users_.push_back(u);
    }
    const std::size_t per_positive = loss_kind_ == LossKind::kBce
                                         ? static_cast<std::size_t>(c_.negatives) + 1
                                         : static_cast<std::size_t>(c_.negatives);
    samples_ =
        loss_kind_ == LossKind::kMultinomial ? row_users_.size() : positives_.size() * per_positive;
    const bool pairs = loss_kind_ != LossKind::kMultinomial;
    ep_users_.resize(pairs ? samples_ : 0);
    ep_items_.resize(pairs ? samples_ : 0);
    ep_negs_.resize(loss_kind_ == LossKind::kBpr ? samples_ : 0);
    ep_labels_.resize(loss_kind_ == LossKind::kBce ? samples_ : 0);
    order_.resize(samples_);
    seen_users_.assign(static_cast<std::size_t>(data.num_users()), 0);
    seen_items_.assign(static_cast<std::size_t>(data.num_items()), 0);
    neg_buf_.resize(static_cast<std::size_t>(c_.negatives));
    const auto B = c_.batch_size;
    t_users_ = torch::empty({B}, torch::kLong);
    t_items_ = torch::empty({B}, torch::kLong);
    t_negs_ = torch::empty({B}, torch::kLong);
    t_labels_ = torch::empty({B}, torch::kFloat);
  }

  torch::nn::Module& model() override { return *model_; }
  std::vector<torch::Tensor> trainable() override {
    return model_and_term_parameters(*model_, d_.terms);
  }
  nlohmann::json identity() const override { return identity_; }
  Validation validate() override {
    last_ = valid_.evaluate(TopNScorer(model_));
    const double score = last_.metrics.at(c_.monitor);
    std::string note;
    if (teacher_optimizer_) note = validate_online_teacher();
    return {score, last_.metrics, c_.monitor + " " + fixed(score, 4) + note};
  }
  void on_best() override { best_ = last_; }
  // An online teacher (its parameters, its best state and optimiser) and the terms' own state.
  void save_extra(torch::serialize::OutputArchive& archive) override {
    if (d_.teacher && d_.online) {
      torch::serialize::OutputArchive teacher, best;
      d_.teacher->save(teacher);
      for (std::size_t i = 0; i < teacher_best_.size(); ++i)
        best.write(std::to_string(i), teacher_best_[i]);
      best.write("score", torch::tensor(teacher_best_score_, torch::kDouble));
      archive.write("teacher", teacher);
      archive.write("teacher_best", best);
      if (teacher_optimizer_) {
        torch::serialize::OutputArchive optimizer;
        teacher_optimizer_->save(optimizer);
        archive.write("teacher_optimizer", optimizer);
      }
    }
    for (std::size_t k = 0; k < d_.terms.size(); ++k) {
      torch::serialize::OutputArchive term;
      d_.terms[k].first->save(term);
      archive.write("term" + std::to_string(k), term);
    }
  }
  void load_extra(torch::serialize::InputArchive& archive) override {
    torch::serialize::InputArchive teacher, best, optimizer;
    if (d_.teacher && d_.online && archive.try_read("teacher", teacher) &&
        archive.try_read("teacher_best", best)) {
      d_.teacher->load(teacher);
      for (std::size_t i = 0; i < teacher_best_.size(); ++i)
        best.read(std::to_string(i), teacher_best_[i]);
      torch::Tensor score;
      best.read("score", score);
      teacher_best_score_ = score.item<double>();
      if (archive.try_read("teacher_optimizer", optimizer))
        teacher_optimizer_->load(optimizer);
      else
        freeze_teacher();  // it had stopped before the checkpoint
    }
    for (std::size_t k = 0; k < d_.terms.size(); ++k) {
      torch::serialize::InputArchive term;
      if (archive.try_read("term" + std::to_string(k), term)) d_.terms[k].first->load(term);
    }
  }
  void write_best(const std::string& path, const nlohmann::json& state) override {
    Checkpoint best;
    best.header = identity_;
    best.header["config"] = c_.to_json();
    best.header["state"] = state;
    best.archive = save_model_archive(*model_);
    write_checkpoint(path, best);
  }
  void train_epoch(Rng& rng, BatchStep& step) override;
  // The multinomial loss's epoch: batches of users, each with its whole training row.
  void user_batch_epoch(Rng& rng, BatchStep& step);
  // One autograd step: `own_loss` of the student plus the distillation terms on `db()`, and the
  // model's own penalty (taken after every pass of the step has run); under online distillation
  // the teacher then steps on its own loss and the terms with the roles swapped.
  void step_with_terms(const std::function<torch::Tensor(TopNModel&)>& own_loss,
                       const std::function<DistillBatch()>& db, std::size_t n, std::size_t done,
                       BatchStep& step);
  void native_epoch(NcfStep& native, Rng& rng, BatchStep& step);
  // What the distillation terms see of a batch: each user and item once (a BCE batch repeats a
  // user for the positive and its negatives), the epoch's generator and the training progress.
  DistillBatch distill_batch(const torch::Tensor& users, const torch::Tensor& items,
                             const torch::Tensor& negatives, Rng& rng, int epoch,
                             std::size_t start) const {
    auto distinct_users = distinct(users, seen_users_);
    auto distinct_items =
        distinct(items, seen_items_, loss_kind_ == LossKind::kBpr ? &negatives : nullptr);
    if (c_.distill_share < 1) {
      distinct_users = share_of(distinct_users, rng);
      distinct_items = share_of(distinct_items, rng);
    }
    return {distinct_users, distinct_items, &rng, schedule_progress(epoch, start)};
  }
  // How far the distillation schedules are, in [0, 1]: epochs done over anneal_epochs (the epoch
  // cap when 0), capped at 1 once the horizon is passed.
  double schedule_progress(int epoch, std::size_t start) const {
    const double horizon = c_.anneal_epochs > 0 ? c_.anneal_epochs : c_.epochs;
    const double done = epoch - 1 + static_cast<double>(start) / static_cast<double>(samples_);
    return std::min(1.0, done / horizon);
  }
  // The distinct ids of `ids` (and of `more`), sorted, as torch::_unique(sorted) gives them
  // without its hash set: `seen` is a flag per id, cleared again before returning.
  static torch::Tensor distinct(const torch::Tensor& ids, std::vector<std::uint8_t>& seen,
                                const torch::Tensor* more = nullptr) {
    const auto n = ids.size(0) + (more ? more->size(0) : 0);
    auto out = torch::empty({n}, torch::kLong);
    auto* o = out.data_ptr<std::int64_t>();
    std::int64_t m = 0;
    for (const auto* t : {&ids, more}) {
      if (t == nullptr) continue;
      const auto c = t->contiguous();
      const auto* p = c.data_ptr<std::int64_t>();
      for (std::int64_t k = 0; k < c.size(0); ++k) {
        auto& flag = seen[static_cast<std::size_t>(p[k])];
        if (!flag) flag = 1, o[m++] = p[k];
      }
    }
    for (std::int64_t k = 0; k < m; ++k) seen[static_cast<std::size_t>(o[k])] = 0;
    std::sort(o, o + m);
    return out.narrow(0, 0, m);
  }
  // distill_share of the ids (at least one), drawn without replacement, sorted.
  torch::Tensor share_of(const torch::Tensor& ids, Rng& rng) const {
    const auto n = ids.size(0);
    const auto m =
        std::clamp<std::int64_t>(std::llround(c_.distill_share * static_cast<double>(n)), 1, n);
    auto picked = ids.clone();
    auto* p = picked.data_ptr<std::int64_t>();
    for (std::int64_t k = 0; k < m; ++k)  // a partial Fisher-Yates shuffle
      std::swap(p[k], p[k + rng.below(static_cast<std::uint32_t>(n - k))]);
    auto out = picked.narrow(0, 0, m);
    std::sort(p, p + m);
    return out;
  }

  const EvalResult& best_valid() const { return best_; }
  const char* engine() const { return used_native_ ? "native" : "torch"; }

 private:
  // The native step (train/ncf_step.h) when the engine option allows it and it applies: bound
  // anew each epoch, after a resume may have replaced the optimiser's state tensors.
  std::unique_ptr<NcfStep> native_step(BatchStep& step) {
    if (c_.engine == "torch") return nullptr;
    std::string why;
    if (c_.precision != "fp32") why = "it computes in fp32 (precision " + c_.precision + ")";
    if (why.empty() && d_.online) why = "online distillation trains the teacher through autograd";
    if (why.empty() && loss_kind_ == LossKind::kMultinomial)
      why = "the multinomial loss trains through autograd";
    for (const auto& [d, w] : d_.terms)
      if (why.empty() && !d->student_through_batch())
        why = "method '" + d->name() + "' reads a layer of the student (autograd)";
    if (why.empty()) why = ncf_step_unsupported(*model_, step.optimizer(), c_.optimizer);
    if (!why.empty()) {
      if (c_.engine == "native") throw Error("train: engine native: " + why + " (use engine auto)");
      return nullptr;
    }
    used_native_ = true;
    return std::make_unique<NcfStep>(*model_, step.optimizer(), c_.optimizer_config(), loss_kind_,
                                     c_.batch_size);
  }

  // An online teacher has early stopping of its own (issue 17: a converged teacher trained on
  // beside the student only overfitted, docs/results.md): after every epoch it is validated, and
  // the first time it does not improve on its best it goes back to its best state and is frozen
  // from then on (the student keeps learning from it; it stops learning). Returns the log's note.
  std::string validate_online_teacher() {
    const double score = teacher_score();
    if (keep_teacher_if_best(score)) return "  teacher " + fixed(score, 4);
    torch::NoGradGuard guard;
    const auto params = d_.teacher->parameters();
    for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(teacher_best_[i]);
    freeze_teacher();
    return "  teacher " + fixed(score, 4) + ": back to its best " + fixed(teacher_best_score_, 4) +
           ", frozen";
  }
  double teacher_score() {
    const bool was_training = d_.teacher->is_training();
    d_.teacher->eval();
    const double score = valid_.evaluate(TopNScorer(d_.teacher)).metrics.at(c_.monitor);
    if (was_training) d_.teacher->train();
    return score;
  }
  // Keeps a copy of the teacher's parameters when `score` beats its best so far.
  bool keep_teacher_if_best(double score) {
    if (!teacher_best_.empty() && !(score > teacher_best_score_)) return false;
    torch::NoGradGuard guard;
    teacher_best_.clear();
    for (const auto& p : d_.teacher->parameters()) teacher_best_.push_back(p.detach().clone());
    teacher_best_score_ = score;
    return true;
  }
  void freeze_teacher() {
    teacher_optimizer_.reset();
    d_.teacher->eval();
    for (auto& p : d_.teacher->parameters()) p.set_requires_grad(false);
  }

  void prepare_teacher() {
    TopNModel* teacher = d_.teacher.get();
    if (!teacher) return;
    if (d_.online) {
      keep_teacher_if_best(teacher_score());  // the state it starts from
      teacher->train();
      for (auto& p : teacher->parameters()) p.set_requires_grad(true);
      teacher_optimizer_ =
          make_training_optimizer(c_.optimizer_config(), *teacher, teacher->parameters());
    } else {
      teacher->eval();
      for (auto& p : teacher->parameters()) p.set_requires_grad(false);
    }
    for (auto& [d, w] : d_.terms) {
      if (d_.online && !d->supports_online())
        throw Error("method '" + d->name() +
                    "' needs a frozen teacher (it caches the teacher's rankings or projects into "
                    "the teacher's space): it cannot be used for online distillation (use kd or "
                    "rkd)");
      d->prepare(*teacher, *model_, train_matrix_);
    }
  }

  const Dataset& data_;
  TopNModelPtr model_;
  const TrainConfig& c_;
  Distillation& d_;
  LossKind loss_kind_;
  Evaluator valid_;
  InteractionMatrix train_matrix_;
  NegativeSampler sampler_;
  const std::vector<Interaction>& positives_;
  nlohmann::json identity_;
  std::unique_ptr<torch::optim::Optimizer> teacher_optimizer_;  // null: frozen (or offline)
  std::vector<torch::Tensor> teacher_best_;                     // an online teacher's best state
  double teacher_best_score_ = 0;
  bool used_native_ = false;
  EvalResult last_, best_;
  // Preallocated epoch buffers and batch tensors: no per-sample or per-batch allocation.
  std::size_t samples_ = 0;
  std::vector<std::int64_t> ep_users_, ep_items_, ep_negs_;
  std::vector<std::int32_t> row_users_;  // multinomial: the users with a training row
  std::vector<std::int64_t> bag_rows_, bag_items_;
  std::vector<float> ep_labels_;
  std::vector<std::uint32_t> order_;
  mutable std::vector<std::uint8_t> seen_users_, seen_items_;  // distinct()'s flags
  std::vector<std::int32_t> neg_buf_;
  torch::Tensor t_users_, t_items_, t_negs_, t_labels_;
};

void TopNTrainingTask::train_epoch(Rng& rng, BatchStep& step) {
  if (loss_kind_ == LossKind::kMultinomial) {
    user_batch_epoch(rng, step);
    return;
  }
  // 1. Samples of this epoch, from a generator that depends only on (seed, epoch).
  std::size_t k = 0;
  for (const auto& x : positives_) {
    sampler_.sample_many(&x.user, 1, c_.negatives, neg_buf_.data(), rng);
    if (loss_kind_ == LossKind::kBce) {
      ep_users_[k] = x.user, ep_items_[k] = x.item, ep_labels_[k] = 1.0f, ++k;
      for (auto j : neg_buf_) ep_users_[k] = x.user, ep_items_[k] = j, ep_labels_[k] = 0.0f, ++k;
    } else {
      for (auto j : neg_buf_) ep_users_[k] = x.user, ep_items_[k] = x.item, ep_negs_[k] = j, ++k;
    }
  }
  std::iota(order_.begin(), order_.end(), 0u);
  shuffle(order_.data(), order_.size(), rng);
  TopNModel* teacher = d_.teacher.get();
  if (teacher)
    for (auto& [d, w] : d_.terms) d->start_epoch(rng);

  // 2. Mini-batches.
  const auto B = static_cast<std::size_t>(c_.batch_size);
  if (auto native = native_step(step)) {
    native_epoch(*native, rng, step);
    return;
  }
  for (std::size_t start = 0; start < samples_; start += B) {
    const auto n = static_cast<std::int64_t>(std::min(B, samples_ - start));
    auto* u = t_users_.data_ptr<std::int64_t>();
    auto* it = t_items_.data_ptr<std::int64_t>();
    for (std::int64_t b = 0; b < n; ++b) {
      const auto s = order_[start + static_cast<std::size_t>(b)];
      u[b] = ep_users_[s];
      it[b] = ep_items_[s];
    }
    if (loss_kind_ == LossKind::kBce) {
      auto* y = t_labels_.data_ptr<float>();
      for (std::int64_t b = 0; b < n; ++b)
        y[b] = ep_labels_[order_[start + static_cast<std::size_t>(b)]];
    } else {
      auto* ng = t_negs_.data_ptr<std::int64_t>();
      for (std::int64_t b = 0; b < n; ++b)
        ng[b] = ep_negs_[order_[start + static_cast<std::size_t>(b)]];
    }
    const auto users = t_users_.narrow(0, 0, n), items = t_items_.narrow(0, 0, n);
    const auto negatives = t_negs_.narrow(0, 0, n);
    step_with_terms(
        [&](TopNModel& m) {
          return loss_kind_ == LossKind::kBce
                     ? pointwise_bce_loss(m.forward(users, items), t_labels_.narrow(0, 0, n))
                     : bpr_loss(m.forward(users, items), m.forward(users, negatives));
        },
        [&] { return distill_batch(users, items, negatives, rng, step.epoch(), start); },
        static_cast<std::size_t>(n), start + static_cast<std::size_t>(n), step);
  }
}

void TopNTrainingTask::user_batch_epoch(Rng& rng, BatchStep& step) {
  std::iota(order_.begin(), order_.end(), 0u);
  shuffle(order_.data(), order_.size(), rng);
  if (d_.teacher)
    for (auto& [d, w] : d_.terms) d->start_epoch(rng);
  const auto B = static_cast<std::size_t>(c_.batch_size);
  for (std::size_t start = 0; start < samples_; start += B) {
    const auto n = std::min(B, samples_ - start);
    auto* u = t_users_.data_ptr<std::int64_t>();
    bag_rows_.clear();
    bag_items_.clear();
    for (std::size_t b = 0; b < n; ++b) {
      const auto user = row_users_[order_[start + b]];
      u[b] = user;
      for (const auto i : train_matrix_.row(user))
        bag_rows_.push_back(static_cast<std::int64_t>(b)), bag_items_.push_back(i);
    }
    const auto users = t_users_.narrow(0, 0, static_cast<std::int64_t>(n));
    const auto count = static_cast<std::int64_t>(bag_rows_.size());
    const auto rows = torch::from_blob(bag_rows_.data(), {count}, torch::kLong);
    const auto items = torch::from_blob(bag_items_.data(), {count}, torch::kLong);
    step_with_terms([&](TopNModel& m) { return multinomial_loss(m.score_all(users), rows, items); },
                    [&] { return distill_batch(users, items, {}, rng, step.epoch(), start); }, n,
                    start + n, step);
  }
}

void TopNTrainingTask::step_with_terms(const std::function<torch::Tensor(TopNModel&)>& own_loss,
                                       const std::function<DistillBatch()>& db, std::size_t n,
                                       std::size_t done, BatchStep& step) {
  const auto with_penalty = [](TopNModel& m, torch::Tensor loss) {
    const auto penalty = m.take_penalty();
    return penalty.defined() ? loss + penalty : loss;
  };
  TopNModel* teacher = d_.teacher.get();
  torch::Tensor loss = own_loss(*model_), teacher_loss;
  if (teacher) {
    const DistillBatch batch = db();
    for (auto& [d, w] : d_.terms) loss = loss + w * d->loss(*teacher, *model_, batch);
    if (teacher_optimizer_) {
      teacher_loss = own_loss(*teacher);
      for (auto& [d, w] : d_.terms)
        teacher_loss = teacher_loss + w * d->loss(*model_, *teacher, batch);
      teacher_loss = with_penalty(*teacher, teacher_loss);
      teacher_optimizer_->zero_grad();
    }
  }
  loss = with_penalty(*model_, loss);
  step(loss, n, done, samples_);
  if (teacher_optimizer_) {
    // Deep mutual learning: the teacher steps on its own loss after the student (the same
    // learning rate, the same schedule).
    for (auto& g : teacher_optimizer_->param_groups()) g.options().set_lr(step.lr());
    const AutocastPause pause;  // as the student's step: outside bf16 autocast
    teacher_loss.backward();
    teacher_optimizer_->step();
  }
}

void TopNTrainingTask::native_epoch(NcfStep& native, Rng& rng, BatchStep& step) {
  const auto B = static_cast<std::size_t>(c_.batch_size);
  std::vector<std::int64_t> users(B), items(B), negs(B);
  std::vector<float> labels(B);
  TopNModel* teacher = d_.teacher.get();
  // What the terms read of the student with a gradient: the scored rows (the first row's index
  // and the logits' leaf) and the representations (kind, ids, leaf).
  std::vector<std::pair<std::int64_t, torch::Tensor>> scored;
  std::vector<std::tuple<std::string, torch::Tensor, torch::Tensor>> represented;
  DistillBatch db;
  // The rows of a term that computes its gradient by hand (Distiller::native_loss).
  struct Rows : StudentRows {
    explicit Rows(NcfStep& step) : native(step) {}
    std::int64_t score(const std::int64_t* users, const std::int64_t* items, std::int64_t n,
                       float* scores) override {
      return native.add_rows(users, items, n, scores, /*keep=*/true);
    }
    void add_gradient(std::int64_t first, const float* grad, std::int64_t n) override {
      native.set_row_gradient(first, grad, n);
    }
    void peek(const std::int64_t* users, const std::int64_t* items, std::int64_t n,
              float* scores) override {
      native.add_rows(users, items, n, scores, /*keep=*/false);
    }
    std::int64_t entity_width(const std::string& kind) override {
      return native.entity_width(kind);
    }
    void entity(const std::string& kind, const std::int64_t* ids, std::int64_t n,
                float* out) override {
      native.entity(kind, ids, n, out);
    }
    void add_entity_gradient(const std::string& kind, const std::int64_t* ids, std::int64_t n,
                             const float* grad) override {
      native.add_entity_gradient(kind, ids, n, grad);
    }
    NcfStep& native;
  } rows(native);
  if (teacher) {
    db.student_scores = [&](const torch::Tensor& u, const torch::Tensor& i) {
      const auto uc = u.contiguous(), ic = i.contiguous();
      auto logits = torch::empty({uc.numel()});
      const bool keep = torch::GradMode::is_enabled();
      const auto first = native.add_rows(uc.data_ptr<std::int64_t>(), ic.data_ptr<std::int64_t>(),
                                         uc.numel(), logits.data_ptr<float>(), keep);
      if (!keep) return logits;
      logits.requires_grad_(true);
      scored.emplace_back(first, logits);
      return logits;
    };
    db.student_entities = [&](const std::string& kind, const torch::Tensor& index) {
      const auto ic = index.contiguous();
      auto rep = torch::empty({ic.numel(), native.entity_width(kind)});
      native.entity(kind, ic.data_ptr<std::int64_t>(), ic.numel(), rep.data_ptr<float>());
      if (!torch::GradMode::is_enabled()) return rep;
      rep.requires_grad_(true);
      represented.emplace_back(kind, ic, rep);
      return rep;
    };
  }
  // A term's own parameters (DE's experts, a hint's regressor) train through autograd and
  // LibTorch's step; the model's through the native one.
  auto& optimizer = step.optimizer();
  const bool term_parameters = optimizer.param_groups()[0].params().size() !=
                               static_cast<std::size_t>(model_->parameters().size());
  for (std::size_t start = 0; start < samples_; start += B) {
    const std::size_t n = std::min(B, samples_ - start);
    for (std::size_t b = 0; b < n; ++b) {
      const auto s = order_[start + b];
      users[b] = ep_users_[s];
      items[b] = ep_items_[s];
      if (loss_kind_ == LossKind::kBce)
        labels[b] = ep_labels_[s];
      else
        negs[b] = ep_negs_[s];
    }
    double loss = native.forward(users.data(), items.data(), negs.data(), labels.data(),
                                 static_cast<std::int64_t>(n));
    torch::Tensor terms;
    if (teacher) {
      const auto as_tensor = [n](std::vector<std::int64_t>& v) {
        return torch::from_blob(v.data(), {static_cast<std::int64_t>(n)}, torch::kLong);
      };
      const DistillBatch shape = distill_batch(as_tensor(users), as_tensor(items), as_tensor(negs),
                                               rng, step.epoch(), start);
      db.users = shape.users;
      db.items = shape.items;
      db.rng = shape.rng;
      db.progress = shape.progress;
      scored.clear();
      represented.clear();
      // Before the terms: one that computes its gradient by hand adds its parameters' gradients
      // here, and autograd's backward adds the others' to them.
      if (term_parameters) optimizer.zero_grad();
      for (auto& [d, w] : d_.terms) {
        const auto term = d->native_loss(*teacher, *model_, db, rows, w);
        loss += term.by_hand;
        if (term.autograd.defined())
          terms = terms.defined() ? terms + term.autograd : term.autograd;
      }
      if (terms.defined()) loss += terms.item<double>();
    }
    step.native(
        loss,
        [&](double lr) {
          bool step_counted = false;
          if (terms.defined() && terms.requires_grad()) {
            terms.backward();
            for (auto& [first, logits] : scored)
              if (logits.grad().defined())
                native.set_row_gradient(first, logits.grad().contiguous().data_ptr<float>(),
                                        logits.numel());
            for (auto& [kind, index, rep] : represented)
              if (rep.grad().defined())
                native.add_entity_gradient(kind, index.data_ptr<std::int64_t>(), index.numel(),
                                           rep.grad().contiguous().data_ptr<float>());
          }
          if (teacher && term_parameters) {
            // The model's tensors have no gradient here: LibTorch's step updates only the
            // terms' (by hand or by autograd), and counts LazyAdam's shared step for both.
            optimizer.step();
            step_counted = true;
          }
          native.update(lr, step_counted);
        },
        n, start + n, samples_);
  }
}

}  // namespace

TrainResult Trainer::fit(const std::string& output_dir, const std::string& resume_from) {
  TopNTrainingTask task(data_, split_, model_, config_, distillation_);
  TrainingLoop loop(task, loop_config_of(config_));
  const LoopResult run = loop.run(output_dir, resume_from);

  TrainResult result;
  result.history = run.history;
  result.best_epoch = run.best_epoch;
  result.epochs_run = run.epochs_run;
  result.seconds_per_epoch = run.seconds_per_epoch();
  result.samples_per_second = run.samples_per_second();
  result.engine = task.engine();
  // Test with the best model (the loop put its parameters back).
  const auto metrics = parse_metrics(config_.metrics);
  const Evaluator test(data_, split_, EvalTarget::kTest, Protocol::parse(config_.protocol), metrics,
                       config_.seed);
  result.test = test.evaluate(TopNScorer(model_));
  result.best_valid = task.best_valid();
  if (result.best_valid.metrics.empty()) {
    const Evaluator valid(data_, split_, EvalTarget::kValid, Protocol::parse(config_.protocol),
                          metrics, config_.seed);
    result.best_valid = valid.evaluate(TopNScorer(model_));
  }
  return result;
}

}  // namespace recpress
