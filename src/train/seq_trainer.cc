#include "train/seq_trainer.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/format.h"
#include "core/rng.h"
#include "eval/result.h"
#include "models/module_util.h"
#include "train/checkpoint.h"
#include "train/loop.h"
#include "train/progress.h"

namespace recpress {

// ---------------------------------------------------------------- sequences

namespace {

// Per user, the interactions of `part` sorted by time (stable: ties keep their order in `part`,
// which is file order).
void append_in_time_order(const std::vector<Interaction>& part,
                          std::vector<std::vector<std::pair<std::int64_t, std::int32_t>>>& out) {
  for (const auto& x : part)
    out[static_cast<std::size_t>(x.user)].emplace_back(x.timestamp, x.item);
}

std::vector<std::vector<std::int32_t>> items_only(
    std::vector<std::vector<std::pair<std::int64_t, std::int32_t>>>& timed) {
  std::vector<std::vector<std::int32_t>> out(timed.size());
  for (std::size_t u = 0; u < timed.size(); ++u) {
    std::stable_sort(timed[u].begin(), timed[u].end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [t, i] : timed[u]) out[u].push_back(i);
  }
  return out;
}

}  // namespace

std::vector<std::vector<std::int32_t>> training_sequences(const Dataset& data, const Split& split) {
  std::vector<std::vector<std::pair<std::int64_t, std::int32_t>>> timed(
      static_cast<std::size_t>(data.num_users()));
  append_in_time_order(split.train, timed);
  return items_only(timed);
}

std::vector<std::vector<std::int32_t>> evaluation_histories(const Dataset& data, const Split& split,
                                                            EvalTarget target) {
  auto histories = training_sequences(data, split);
  if (target == EvalTarget::kTest) {
    std::vector<std::vector<std::pair<std::int64_t, std::int32_t>>> timed(histories.size());
    append_in_time_order(split.valid, timed);
    const auto valid = items_only(timed);
    for (std::size_t u = 0; u < histories.size(); ++u)
      histories[u].insert(histories[u].end(), valid[u].begin(), valid[u].end());
  }
  return histories;
}

// ---------------------------------------------------------------- scorer

SeqScorer::SeqScorer(SeqModelPtr model, std::vector<std::vector<std::int32_t>> histories,
                     std::string name)
    : model_(std::move(model)),
      histories_(std::move(histories)),
      name_(name.empty() ? model_->spec().to_string() : std::move(name)) {}

torch::Tensor SeqScorer::scores(std::span<const std::int32_t> users) const {
  torch::NoGradGuard guard;
  model_->eval();
  std::vector<std::vector<std::int32_t>> h;
  h.reserve(users.size());
  for (auto u : users) h.push_back(histories_.at(static_cast<std::size_t>(u)));
  return model_->score_all_next(right_aligned_tokens(h, model_->max_len())).contiguous();
}

void SeqScorer::score(std::int32_t user, std::span<const std::int32_t> items,
                      std::span<float> out) const {
  const auto s = scores(std::span(&user, 1));
  const auto* p = s.data_ptr<float>();
  for (std::size_t k = 0; k < items.size(); ++k) out[k] = p[items[k]];
}

void SeqScorer::score_all(std::span<const std::int32_t> users, std::span<float> out) const {
  constexpr std::size_t kBatch = 256;
  const auto n = static_cast<std::size_t>(model_->num_items());
  for (std::size_t start = 0; start < users.size(); start += kBatch) {
    const auto count = std::min(kBatch, users.size() - start);
    const auto s = scores(users.subspan(start, count));
    std::copy_n(s.data_ptr<float>(), count * n,
                out.begin() + static_cast<std::ptrdiff_t>(start * n));
  }
}

void SeqScorer::score_lists(std::span<const std::int32_t> users,
                            std::span<const std::int64_t> offsets,
                            std::span<const std::int32_t> items, std::span<float> out) const {
  constexpr std::size_t kBatch = 256;
  const auto n = model_->num_items();
  const auto base = offsets[0];
  for (std::size_t start = 0; start < users.size(); start += kBatch) {
    const auto count = std::min(kBatch, users.size() - start);
    const auto s = scores(users.subspan(start, count));
    const auto* p = s.data_ptr<float>();
    for (std::size_t k = 0; k < count; ++k) {
      for (auto j = offsets[start + k]; j < offsets[start + k + 1]; ++j)
        out[static_cast<std::size_t>(j - base)] =
            p[static_cast<std::int64_t>(k) * n + items[static_cast<std::size_t>(j - base)]];
    }
  }
}

// ---------------------------------------------------------------- checkpoints

namespace {

nlohmann::json seq_identity(const SeqModel& model, const Dataset& data) {
  return {{"format", "recpress-checkpoint"},
          {"version", 1},
          {"task", "seq"},
          {"model", model.spec().to_string()},
          {"num_items", model.num_items()},
          {"parameters", model.parameter_count()},
          {"dataset", data.name},
          {"data_checksum", data.checksum()},
          {"user_ids", data.users.raw_ids()},
          {"item_ids", data.items.raw_ids()},
          {"data_args", data.open_arguments.empty() ? nlohmann::json()
                                                    : nlohmann::json::parse(data.open_arguments)}};
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

nlohmann::json eval_json(const EvalResult& r) {
  return nlohmann::json::parse(result_to_json(r));
}

// Median time to score the whole catalog for one user at a time (up to 200 users).
double single_user_latency_ms(SeqModel& model,
                              const std::vector<std::vector<std::int32_t>>& histories) {
  torch::NoGradGuard guard;
  model.eval();
  std::vector<double> ms;
  for (std::size_t u = 0; u < histories.size() && ms.size() < 200; ++u) {
    if (histories[u].empty()) continue;
    const auto input = right_aligned_tokens({histories[u]}, model.max_len());
    const auto t0 = std::chrono::steady_clock::now();
    const auto scores = model.score_all_next(input);
    (void)scores.data_ptr<float>();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  if (ms.empty()) return 0;
  std::nth_element(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(ms.size() / 2), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

SeqModelPtr load_seq_checkpoint(const std::string& path, const Dataset* data) {
  const Checkpoint c = read_checkpoint(path);
  const auto& h = c.header;
  if (h.value("task", "") != "seq")
    throw DataError(
        path, 0, "task",
        "not a next-item model checkpoint (task '" + h.value("task", std::string("?")) + "')");
  if (data != nullptr && h.value("data_checksum", "") != data->checksum())
    throw DataError(path, 0, "data_checksum",
                    "model was trained on '" + h.value("dataset", std::string("?")) +
                        "', not on this data '" + data->name + "'; item ids would not match");
  auto model = create_seq_model(ModelSpec::parse(h.at("model").get<std::string>()),
                                h.at("num_items").get<std::int64_t>());
  load_module_archive(*model, c.archive, path);
  return model;
}

// ---------------------------------------------------------------- training

SeqTrainer::SeqTrainer(const Dataset& data, const Split& split, SeqModelPtr model,
                       SeqTrainConfig config)
    : data_(data), split_(split), model_(std::move(model)), config_(std::move(config)) {
  config_.validate();
  if (model_->num_items() != data_.num_items())
    throw Error("seq train: the model has " + std::to_string(model_->num_items()) +
                " items, the data " + std::to_string(data_.num_items()));
}

void SeqTrainer::distill_from(SeqDistillation d) {
  if (!d.teacher) throw Error("seq distill: no teacher");
  if (d.terms.empty()) throw Error("seq distill: no distillation method");
  if (d.teacher->num_items() != model_->num_items())
    throw Error("seq distill: teacher and student have different catalogs");
  if (d.teacher->family() != model_->family())
    throw Error("seq distill: a " + d.teacher->family() + " teacher and a " + model_->family() +
                " student read different training inputs; use a student of the teacher's family");
  if (d.teacher->max_len() != model_->max_len())
    throw Error("seq distill: teacher max_len " + std::to_string(d.teacher->max_len()) +
                " differs from the student's " + std::to_string(model_->max_len()));
  distillation_ = std::move(d);
}

namespace {

// Next-item's part of the training loop: an epoch is every user with a training sequence once,
// in a shuffled order, one right-aligned window each (the model draws its own training targets:
// SASRec's shifted sequence, BERT4Rec's masks); validation ranks each user's held-out item.
class SeqTrainingTask final : public TrainingTask {
 public:
  SeqTrainingTask(const Dataset& data, const Split& split, SeqModelPtr model,
                  const SeqTrainConfig& c, SeqDistillation& d)
      : data_(data),
        model_(std::move(model)),
        c_(c),
        d_(d),
        sequences_(training_sequences(data, split)),
        valid_eval_(data, split, EvalTarget::kValid, Protocol::parse(c.protocol),
                    parse_metrics(c.metrics), c.seed),
        valid_scorer_(model_, evaluation_histories(data, split, EvalTarget::kValid)),
        split_(split) {
    for (std::size_t u = 0; u < sequences_.size(); ++u)
      if (!sequences_[u].empty()) users_.push_back(static_cast<std::int32_t>(u));
    if (users_.empty()) throw Error("seq train: no user has a training sequence");
    if (d_.teacher) {
      d_.teacher->eval();
      for (auto& [term, w] : d_.terms) term->prepare(*d_.teacher, *model_);
    }
  }
  torch::nn::Module& model() override { return *model_; }
  std::vector<torch::Tensor> trainable() override {
    return model_and_term_parameters(*model_, d_.terms);
  }
  nlohmann::json identity() const override { return seq_identity(*model_, data_); }
  Validation validate() override {
    last_ = valid_eval_.evaluate(valid_scorer_);
    const double score = last_.metrics.at(c_.monitor);
    return {score, last_.metrics, c_.monitor + " " + fixed(score, 4)};
  }
  void on_best() override { best_ = last_; }
  void write_best(const std::string& path, const nlohmann::json& state) override {
    Checkpoint ck;
    ck.header = seq_identity(*model_, data_);
    ck.header["config"] = c_.to_json();
    ck.header["best_epoch"] = state.at("best_epoch");
    ck.header["state"] = state;
    ck.archive = module_archive(*model_);
    write_checkpoint(path, ck);
  }
  void train_epoch(Rng& rng, BatchStep& step) override {
    // The order of this epoch, from a fresh copy: the same (seed, epoch) gives the same order
    // whether or not earlier epochs ran in this process.
    std::vector<std::int32_t> users = users_;
    shuffle(users.data(), users.size(), rng);
    model_->start_epoch(step.epoch());
    const auto B = static_cast<std::size_t>(c_.batch_size);
    for (std::size_t start = 0; start < users.size(); start += B) {
      const auto n = std::min(B, users.size() - start);
      window_.clear();
      for (std::size_t k = 0; k < n; ++k)
        window_.push_back(sequences_[static_cast<std::size_t>(users[start + k])]);
      const auto batch =
          model_->training_input(right_aligned_tokens(window_, model_->max_len() + 1), rng);
      const auto positions = batch.targets.gt(0).sum().item<std::int64_t>();
      if (positions == 0) continue;
      const SeqOutput out = model_->encode(batch.input);
      auto loss = model_->loss(out, batch);
      if (d_.teacher) {
        SeqOutput teacher_out;
        {
          torch::NoGradGuard guard;
          teacher_out = d_.teacher->encode(batch.input);
        }
        const SeqDistillBatch db{&batch, &teacher_out, &out};
        for (auto& [term, w] : d_.terms) loss = loss + w * term->loss(*d_.teacher, *model_, db);
      }
      step(loss, static_cast<std::size_t>(positions), start + n, users.size());
    }
  }
  const EvalResult& best_valid() const { return best_; }

 private:
  const Dataset& data_;
  SeqModelPtr model_;
  const SeqTrainConfig& c_;
  SeqDistillation& d_;
  std::vector<std::vector<std::int32_t>> sequences_;
  std::vector<std::int32_t> users_;
  Evaluator valid_eval_;
  SeqScorer valid_scorer_;
  const Split& split_;
  EvalResult last_, best_;
  std::vector<std::vector<std::int32_t>> window_;
};

}  // namespace

SeqTrainResult SeqTrainer::fit(const std::string& output_dir, const std::string& resume_from) {
  const auto& c = config_;
  SeqTrainingTask task(data_, split_, model_, c, distillation_);
  TrainingLoop loop(task, loop_config_of(c, distillation_.teacher ? " (student)" : ""));
  const LoopResult run = loop.run(output_dir, resume_from);
  const Protocol protocol = Protocol::parse(c.protocol);
  const auto metrics = parse_metrics(c.metrics);

  SeqTrainResult result;
  result.history = run.history;
  result.best_epoch = run.best_epoch;
  result.epochs_run = run.epochs_run;
  result.best_valid = task.best_valid();
  if (result.best_valid.metrics.empty()) {  // resumed after the best epoch: measure it again
    task.validate();
    task.on_best();
    result.best_valid = task.best_valid();
  }
  const Evaluator test_eval(data_, split_, EvalTarget::kTest, protocol, metrics, c.seed);
  result.test =
      test_eval.evaluate(SeqScorer(model_, evaluation_histories(data_, split_, EvalTarget::kTest)));
  result.seconds_per_epoch = run.seconds_per_epoch();
  result.samples_per_second = run.samples_per_second();
  result.wall_seconds = run.wall_seconds;
  result.peak_rss_mib = peak_rss_mib();
  result.latency_ms_p50 =
      single_user_latency_ms(*model_, evaluation_histories(data_, split_, EvalTarget::kTest));
  if (!output_dir.empty()) {
    nlohmann::json r = {{"task", "seq"},
                        {"model", model_->spec().to_string()},
                        {"parameters", model_->parameter_count()},
                        {"bytes", model_->byte_size()},
                        {"dataset", data_.name},
                        {"data_checksum", data_.checksum()},
                        {"split", split_.config.to_string()},
                        {"config", c.to_json()},
                        {"best_epoch", result.best_epoch},
                        {"epochs_run", result.epochs_run},
                        {"seconds_per_epoch", result.seconds_per_epoch},
                        {"samples_per_second", result.samples_per_second},
                        {"wall_seconds", result.wall_seconds},
                        {"peak_rss_mib", result.peak_rss_mib},
                        {"latency_ms_p50", result.latency_ms_p50},
                        {"valid", eval_json(result.best_valid)},
                        {"test", eval_json(result.test)}};
    if (distillation_.teacher) {
      nlohmann::json methods = nlohmann::json::array();
      for (const auto& [term, w] : distillation_.terms) methods.push_back({{term->name(), w}});
      r["distillation"] = {{"teacher", distillation_.teacher->spec().to_string()},
                           {"teacher_parameters", distillation_.teacher->parameter_count()},
                           {"methods", methods}};
    }
    write_file_atomic(output_dir + "/results.json", r.dump(2) + "\n");
  }
  return result;
}

}  // namespace recpress
