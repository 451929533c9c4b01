#include "train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
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
#include "train/losses.h"
#include "train/progress.h"

namespace recpress {

// ---------------------------------------------------------------- configuration

void TrainConfig::validate() const {
  parse_loss(loss);
  if (negatives < 1) throw Error("train: negatives must be >= 1");
  if (batch_size < 1) throw Error("train: batch size must be >= 1");
  if (epochs < 1) throw Error("train: epochs must be >= 1");
  if (optimizer != "adam" && optimizer != "lazyadam" && optimizer != "sgd" &&
      optimizer != "adagrad") {
    throw Error("train: unknown optimizer '" + optimizer + "' (adam, lazyadam, sgd, adagrad)");
  }
  if (!(lr > 0)) throw Error("train: learning rate must be > 0");
  if (weight_decay < 0) throw Error("train: weight decay must be >= 0");
  if (patience < 0) throw Error("train: patience must be >= 0");
  if (schedule != "constant" && schedule != "cosine" && schedule.rfind("step:", 0) != 0) {
    throw Error("train: unknown schedule '" + schedule + "' (constant, cosine, step:EVERY,GAMMA)");
  }
  bool found = false;
  for (const auto& m : parse_metrics(metrics)) found = found || m.name() == monitor;
  if (!found)
    throw Error("train: monitored metric '" + monitor + "' is not among the metrics '" + metrics +
                "'");
  Protocol::parse(protocol);
  if (sampler != "uniform" && sampler.rfind("popularity", 0) != 0) {
    throw Error("train: unknown sampler '" + sampler + "' (uniform, popularity[:alpha])");
  }
}

nlohmann::json TrainConfig::to_json() const {
  return {{"loss", loss},
          {"negatives", negatives},
          {"sampler", sampler},
          {"batch_size", batch_size},
          {"epochs", epochs},
          {"optimizer", optimizer},
          {"lr", lr},
          {"weight_decay", weight_decay},
          {"schedule", schedule},
          {"patience", patience},
          {"monitor", monitor},
          {"protocol", protocol},
          {"metrics", metrics},
          {"seed", seed}};
}

TrainConfig TrainConfig::from_json(const nlohmann::json& j) {
  TrainConfig c;
  c.loss = j.at("loss");
  c.negatives = j.at("negatives");
  c.sampler = j.at("sampler");
  c.batch_size = j.at("batch_size");
  c.epochs = j.at("epochs");
  c.optimizer = j.at("optimizer");
  c.lr = j.at("lr");
  c.weight_decay = j.at("weight_decay");
  c.schedule = j.at("schedule");
  c.patience = j.at("patience");
  c.monitor = j.at("monitor");
  c.protocol = j.at("protocol");
  c.metrics = j.at("metrics");
  c.seed = j.at("seed");
  return c;
}

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
          {"item_ids", data.items.raw_ids()}};
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

namespace {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& c,
                                                        std::vector<torch::Tensor> params) {
  if (c.optimizer == "adam") {
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay));
  }
  if (c.optimizer == "lazyadam") {
    return std::make_unique<LazyAdam>(params, LazyAdamOptions(c.lr).weight_decay(c.weight_decay));
  }
  if (c.optimizer == "sgd") {
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(c.lr).weight_decay(c.weight_decay));
  }
  return std::make_unique<torch::optim::Adagrad>(
      params, torch::optim::AdagradOptions(c.lr).weight_decay(c.weight_decay));
}

double scheduled_lr(const TrainConfig& c, int epoch /* 1-based */) {
  if (c.schedule == "cosine") {
    // Cosine annealing to 0 over the run (Loshchilov & Hutter, ICLR 2017, without restarts).
    return 0.5 * c.lr * (1.0 + std::cos(M_PI * (epoch - 1) / static_cast<double>(c.epochs)));
  }
  if (c.schedule.rfind("step:", 0) == 0) {
    std::vector<std::string_view> parts;
    split_fields(std::string_view(c.schedule).substr(5), ',', parts);
    long long every = 0;
    double gamma = 0;
    if (parts.size() != 2 || !parse_int64(parts[0], every) || every < 1 ||
        !parse_double(parts[1], gamma)) {
      throw Error("train: bad schedule '" + c.schedule + "' (expected step:EVERY,GAMMA)");
    }
    return c.lr * std::pow(gamma, static_cast<double>((epoch - 1) / every));
  }
  return c.lr;
}

}  // namespace

Trainer::Trainer(const Dataset& data, const Split& split, TopNModelPtr model, TrainConfig config)
    : data_(data), split_(split), model_(std::move(model)), config_(std::move(config)) {
  config_.validate();
  if (model_->num_users() != data.num_users() || model_->num_items() != data.num_items()) {
    throw Error("model has " + std::to_string(model_->num_users()) + " users x " +
                std::to_string(model_->num_items()) + " items, the data " +
                std::to_string(data.num_users()) + " x " + std::to_string(data.num_items()));
  }
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
}

TrainResult Trainer::fit(const std::string& output_dir, const std::string& resume_from) {
  const TrainConfig& c = config_;
  const LossKind loss_kind = parse_loss(c.loss);
  const auto metrics = parse_metrics(c.metrics);
  const Evaluator valid(data_, split_, EvalTarget::kValid, Protocol::parse(c.protocol), metrics,
                        c.seed);
  const InteractionMatrix train_matrix(split_.train, data_.num_users(), data_.num_items());
  const NegativeSampler sampler = NegativeSampler::from_spec(train_matrix, c.sampler);
  // Lazy Adam updates only the embedding rows a batch touched: it needs sparse gradients.
  use_sparse_embedding_gradients(*model_, c.optimizer == "lazyadam");
  std::vector<torch::Tensor> trainable = model_->parameters();
  std::unique_ptr<torch::optim::Optimizer> teacher_optimizer;
  TopNModel* teacher = distillation_.teacher.get();
  if (teacher) {
    if (distillation_.online) {
      use_sparse_embedding_gradients(*teacher, c.optimizer == "lazyadam");
      teacher->train();
      for (auto& p : teacher->parameters()) p.set_requires_grad(true);
      teacher_optimizer = make_optimizer(c, teacher->parameters());
    } else {
      teacher->eval();
      for (auto& p : teacher->parameters()) p.set_requires_grad(false);
    }
    for (auto& [d, w] : distillation_.terms) {
      if (distillation_.online && !d->supports_online())
        throw Error("method '" + d->name() +
                    "' needs a frozen teacher (it caches the teacher's rankings or projects into "
                    "the teacher's space): it cannot be used for online distillation (use kd or "
                    "rkd)");
      d->prepare(*teacher, *model_, train_matrix);
      for (auto& p : d->parameters()) trainable.push_back(p);
    }
  }
  auto optimizer = make_optimizer(c, trainable);
  const nlohmann::json identity = model_identity(*model_, data_);

  TrainResult result;
  int start_epoch = 1, bad_epochs = 0;
  double best = -1.0;
  if (!resume_from.empty()) {
    const Checkpoint ck = read_checkpoint(resume_from);
    if (ck.header.value("data_checksum", "") != identity["data_checksum"] ||
        ck.header.value("model", "") != identity["model"]) {
      throw DataError(resume_from, 0, "",
                      "checkpoint is for " + ck.header.value("model", std::string("?")) +
                          " on data " + ck.header.value("data_checksum", std::string("?")) +
                          ", not this run");
    }
    if (!ck.header.contains("optimizer_state"))
      throw DataError(resume_from, 0, "", "not a resumable checkpoint (use last.pt)");
    torch::serialize::InputArchive archive, model_part, optim_part;
    std::istringstream in(ck.archive);
    try {
      archive.load_from(in);
      archive.read("model", model_part);
      archive.read("optimizer", optim_part);
      model_->load(model_part);
      optimizer->load(optim_part);
    } catch (const c10::Error& e) {
      throw DataError(resume_from, 0, "",
                      std::string("cannot restore: ") + e.what_without_backtrace());
    }
    const auto& s = ck.header.at("state");
    start_epoch = s.at("epoch").get<int>() + 1;
    best = s.at("best").get<double>();
    bad_epochs = s.at("bad_epochs").get<int>();
    result.best_epoch = s.at("best_epoch").get<int>();
    result.history = s.at("history");
  }

  // Preallocated epoch buffers and batch tensors: no per-sample or per-batch allocation.
  const std::size_t positives = split_.train.size();
  const std::size_t per_positive = loss_kind == LossKind::kBce
                                       ? static_cast<std::size_t>(c.negatives) + 1
                                       : static_cast<std::size_t>(c.negatives);
  const std::size_t samples = positives * per_positive;
  std::vector<std::int64_t> ep_users(samples), ep_items(samples),
      ep_negs(loss_kind == LossKind::kBpr ? samples : 0);
  std::vector<float> ep_labels(loss_kind == LossKind::kBce ? samples : 0);
  std::vector<std::uint32_t> order(samples);
  std::vector<std::int32_t> neg_buf(static_cast<std::size_t>(c.negatives));
  const auto B = c.batch_size;
  auto t_users = torch::empty({B}, torch::kLong), t_items = torch::empty({B}, torch::kLong);
  auto t_negs = torch::empty({B}, torch::kLong);
  auto t_labels = torch::empty({B}, torch::kFloat);

  std::vector<torch::Tensor> best_params;
  auto snapshot = [&] {
    best_params.clear();
    for (const auto& p : model_->parameters()) best_params.push_back(p.detach().clone());
  };
  if (!resume_from.empty() && !output_dir.empty() && file_exists(output_dir + "/best.pt")) {
    auto best_model = load_topn_checkpoint(output_dir + "/best.pt", &data_);
    for (const auto& p : best_model->parameters()) best_params.push_back(p.detach().clone());
  }

  Progress progress(c.show_progress);
  double train_seconds = 0;
  std::size_t trained_samples = 0;
  std::string last_valid;
  int epoch = start_epoch;
  for (; epoch <= c.epochs; ++epoch) {
    const double lr = scheduled_lr(c, epoch);
    for (auto& g : optimizer->param_groups()) g.options().set_lr(lr);
    const auto t0 = std::chrono::steady_clock::now();

    // 1. Samples of this epoch, from a generator that depends only on (seed, epoch).
    Rng rng = Rng::derive(c.seed, static_cast<std::uint64_t>(epoch));
    std::size_t k = 0;
    for (const auto& x : split_.train) {
      sampler.sample_many(&x.user, 1, c.negatives, neg_buf.data(), rng);
      if (loss_kind == LossKind::kBce) {
        ep_users[k] = x.user, ep_items[k] = x.item, ep_labels[k] = 1.0f, ++k;
        for (auto j : neg_buf) ep_users[k] = x.user, ep_items[k] = j, ep_labels[k] = 0.0f, ++k;
      } else {
        for (auto j : neg_buf) ep_users[k] = x.user, ep_items[k] = x.item, ep_negs[k] = j, ++k;
      }
    }
    std::iota(order.begin(), order.end(), 0u);
    shuffle(order.data(), order.size(), rng);
    if (teacher)
      for (auto& [d, w] : distillation_.terms) d->start_epoch(rng);

    // 2. Mini-batches.
    model_->train();
    double loss_sum = 0;
    std::size_t batches = 0;
    for (std::size_t start = 0; start < samples; start += static_cast<std::size_t>(B)) {
      const auto n = static_cast<std::int64_t>(
          std::min<std::size_t>(static_cast<std::size_t>(B), samples - start));
      auto* u = t_users.data_ptr<std::int64_t>();
      auto* it = t_items.data_ptr<std::int64_t>();
      for (std::int64_t b = 0; b < n; ++b) {
        const auto s = order[start + static_cast<std::size_t>(b)];
        u[b] = ep_users[s];
        it[b] = ep_items[s];
      }
      if (loss_kind == LossKind::kBce) {
        auto* y = t_labels.data_ptr<float>();
        for (std::int64_t b = 0; b < n; ++b)
          y[b] = ep_labels[order[start + static_cast<std::size_t>(b)]];
      } else {
        auto* ng = t_negs.data_ptr<std::int64_t>();
        for (std::int64_t b = 0; b < n; ++b)
          ng[b] = ep_negs[order[start + static_cast<std::size_t>(b)]];
      }
      const auto users = t_users.narrow(0, 0, n), items = t_items.narrow(0, 0, n);
      auto own_loss = [&](TopNModel& m) {
        return loss_kind == LossKind::kBce
                   ? pointwise_bce_loss(m.forward(users, items), t_labels.narrow(0, 0, n))
                   : bpr_loss(m.forward(users, items), m.forward(users, t_negs.narrow(0, 0, n)));
      };
      torch::Tensor loss = own_loss(*model_), teacher_loss;
      if (teacher) {
        // Each user and item once per batch: a BCE batch repeats a user for the positive and its
        // negatives.
        const auto batch_items =
            loss_kind == LossKind::kBce ? items : torch::cat({items, t_negs.narrow(0, 0, n)});
        const DistillBatch db{
            std::get<0>(torch::_unique(users, /*sorted=*/true)),
            std::get<0>(torch::_unique(batch_items, /*sorted=*/true)), &rng,
            (epoch - 1 + static_cast<double>(start) / static_cast<double>(samples)) / c.epochs};
        for (auto& [d, w] : distillation_.terms) loss = loss + w * d->loss(*teacher, *model_, db);
        if (teacher_optimizer) {
          teacher_loss = own_loss(*teacher);
          for (auto& [d, w] : distillation_.terms)
            teacher_loss = teacher_loss + w * d->loss(*model_, *teacher, db);
          teacher_optimizer->zero_grad();
        }
      }
      optimizer->zero_grad();
      loss.backward();
      optimizer->step();
      if (teacher_optimizer) {
        teacher_loss.backward();
        teacher_optimizer->step();
      }
      loss_sum += loss.item<double>();
      ++batches;
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress.batch(
          epoch, c.epochs, start + static_cast<std::size_t>(n), samples,
          static_cast<double>(start + static_cast<std::size_t>(n)) / std::max(elapsed, 1e-9),
          loss_sum / static_cast<double>(batches), last_valid);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    train_seconds += seconds;
    trained_samples += samples;
    const double mean_loss = loss_sum / static_cast<double>(std::max<std::size_t>(batches, 1));
    if (!std::isfinite(mean_loss))
      throw Error("training diverged at epoch " + std::to_string(epoch) +
                  " (loss is not finite); lower the learning rate");

    // 3. Validation, best model, early stopping.
    const EvalResult v = valid.evaluate(TopNScorer(model_));
    const double score = v.metrics.at(c.monitor);
    const bool improved = score > best;
    if (improved) {
      best = score;
      result.best_epoch = epoch;
      result.best_valid = v;
      bad_epochs = 0;
      snapshot();
    } else {
      ++bad_epochs;
    }
    nlohmann::json row = {{"epoch", epoch},
                          {"loss", mean_loss},
                          {"lr", lr},
                          {"train_seconds", seconds},
                          {"samples_per_second", static_cast<double>(samples) / seconds},
                          {"valid", v.metrics}};
    result.history.push_back(row);
    last_valid = c.monitor + " " + fixed(score, 4);
    progress.epoch_line(
        "epoch " + std::to_string(epoch) + "/" + std::to_string(c.epochs) + "  loss " +
        fixed(mean_loss, 4) + "  " + fixed(seconds, 1) + " s  " +
        with_commas(static_cast<std::int64_t>(static_cast<double>(samples) / seconds)) +
        " samples/s  valid " + c.monitor + " " + fixed(score, 4) + (improved ? "  *best" : ""));

    const bool stop = c.patience > 0 && bad_epochs >= c.patience;
    if (!output_dir.empty()) {
      nlohmann::json state = {{"epoch", epoch},
                              {"best", best},
                              {"best_epoch", result.best_epoch},
                              {"bad_epochs", bad_epochs},
                              {"history", result.history}};
      Checkpoint last;
      last.header = identity;
      last.header["config"] = c.to_json();
      last.header["state"] = state;
      last.header["optimizer_state"] = true;
      torch::serialize::OutputArchive archive, model_part, optim_part;
      model_->save(model_part);
      optimizer->save(optim_part);
      archive.write("model", model_part);
      archive.write("optimizer", optim_part);
      std::ostringstream out;
      archive.save_to(out);
      last.archive = out.str();
      if (improved) {
        Checkpoint best_ck;
        best_ck.header = identity;
        best_ck.header["config"] = c.to_json();
        best_ck.header["state"] = state;
        best_ck.archive = save_model_archive(*model_);
        write_checkpoint(output_dir + "/best.pt", best_ck);
      }
      write_checkpoint(output_dir + "/last.pt", last);
      write_file_atomic(output_dir + "/history.json", result.history.dump(2) + "\n");
    }
    if (stop) {
      progress.epoch_line("early stop: no improvement of " + c.monitor + " for " +
                          std::to_string(c.patience) + " epochs");
      break;
    }
  }
  result.epochs_run = std::min(epoch, c.epochs) - start_epoch + 1;
  result.seconds_per_epoch = result.epochs_run > 0 ? train_seconds / result.epochs_run : 0;
  result.samples_per_second =
      train_seconds > 0 ? static_cast<double>(trained_samples) / train_seconds : 0;

  // 4. Test with the best model.
  if (!best_params.empty()) {
    torch::NoGradGuard guard;
    auto params = model_->parameters();
    for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(best_params[i]);
  }
  const Evaluator test(data_, split_, EvalTarget::kTest, Protocol::parse(c.protocol), metrics,
                       c.seed);
  result.test = test.evaluate(TopNScorer(model_));
  if (result.best_valid.metrics.empty()) result.best_valid = valid.evaluate(TopNScorer(model_));
  return result;
}

}  // namespace recpress
