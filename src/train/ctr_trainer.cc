#include "train/ctr_trainer.h"

#include <chrono>
#include <cmath>
#include <numeric>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/format.h"
#include "core/rng.h"
#include "eval/ctr_metrics.h"
#include "models/module_util.h"
#include "train/checkpoint.h"
#include "train/progress.h"

namespace recpress {

// ---------------------------------------------------------------- data

nlohmann::json CtrDataSpec::to_json() const {
  return {{"data", data},
          {"threshold", threshold},
          {"format", format},
          {"schema", schema},
          {"split", split},
          {"split_seed", split_seed},
          {"features", features.to_json()}};
}

CtrDataSpec CtrDataSpec::from_json(const nlohmann::json& j) {
  CtrDataSpec s;
  s.data = j.at("data");
  s.threshold = j.at("threshold");
  s.format = j.at("format");
  s.schema = j.at("schema");
  s.split = j.at("split");
  s.split_seed = j.at("split_seed");
  s.features = CtrEncoderConfig::from_json(j.at("features"));
  return s;
}

CtrData prepare_ctr_data(const CtrDataSpec& spec, const CtrEncoder* encoder,
                         const std::string& data_root) {
  CtrOpenOptions open;
  open.data_root = data_root;
  open.threshold = spec.threshold;
  open.format = spec.format;
  open.schema = spec.schema;
  const CtrTable table = open_ctr_table(spec.data, open);
  const CtrSplit split = split_ctr(table, spec.split, spec.split_seed);
  CtrData d{spec,
            table.name,
            table.checksum(),
            encoder != nullptr ? *encoder : CtrEncoder::fit(table, split.train, spec.features),
            {},
            {},
            {}};
  d.spec.split = split.spec;
  d.train = d.encoder.encode(table, split.train);
  d.valid = d.encoder.encode(table, split.valid);
  d.test = d.encoder.encode(table, split.test);
  return d;
}

// ---------------------------------------------------------------- configuration

void CtrTrainConfig::validate() const {
  if (batch_size < 1) throw Error("ctr train: batch size must be >= 1");
  if (epochs < 1) throw Error("ctr train: epochs must be >= 1");
  if (optimizer != "adam" && optimizer != "adagrad" && optimizer != "sgd")
    throw Error("ctr train: unknown optimizer '" + optimizer + "' (adam, adagrad, sgd)");
  if (!(lr > 0)) throw Error("ctr train: learning rate must be > 0");
  if (weight_decay < 0) throw Error("ctr train: weight decay must be >= 0");
  if (patience < 0) throw Error("ctr train: patience must be >= 0");
  if (monitor != "auc" && monitor != "logloss")
    throw Error("ctr train: monitor must be auc or logloss, got '" + monitor + "'");
}

nlohmann::json CtrTrainConfig::to_json() const {
  return {{"batch_size", batch_size},     {"epochs", epochs},
          {"optimizer", optimizer},       {"lr", lr},
          {"weight_decay", weight_decay}, {"patience", patience},
          {"monitor", monitor},           {"seed", seed}};
}

CtrTrainConfig CtrTrainConfig::from_json(const nlohmann::json& j) {
  CtrTrainConfig c;
  c.batch_size = j.at("batch_size");
  c.epochs = j.at("epochs");
  c.optimizer = j.at("optimizer");
  c.lr = j.at("lr");
  c.weight_decay = j.at("weight_decay");
  c.patience = j.at("patience");
  c.monitor = j.at("monitor");
  c.seed = j.at("seed");
  return c;
}

// ---------------------------------------------------------------- evaluation

nlohmann::json CtrEvalResult::to_json() const {
  nlohmann::json j = {
      {"AUC", auc}, {"LogLoss", logloss}, {"rows", rows}, {"rows_per_second", rows_per_second}};
  if (gauc >= 0) j["GAUC"] = gauc;
  return j;
}

std::string CtrEvalResult::summary() const {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(4);
  s << "AUC " << auc << "  LogLoss " << logloss;
  if (gauc >= 0) s << "  GAUC " << gauc;
  return s.str();
}

CtrEvalResult evaluate_ctr(CtrModel& model, const CtrRows& rows, std::int64_t batch) {
  if (rows.rows == 0) throw Error("ctr evaluate: no rows");
  const auto t0 = std::chrono::steady_clock::now();
  const auto logits = ctr_predict_logits(model, rows, batch);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto p = torch::sigmoid(logits).contiguous();
  const std::span<const float> probs(p.data_ptr<float>(), static_cast<std::size_t>(rows.rows));
  CtrEvalResult r;
  r.rows = rows.rows;
  r.rows_per_second = seconds > 0 ? static_cast<double>(rows.rows) / seconds : 0;
  r.logloss = log_loss(rows.labels, probs);
  const double rate = rows.positive_rate();
  r.auc = rate > 0 && rate < 1 ? auc(rows.labels, probs) : std::nan("");
  if (!rows.groups.empty()) {
    try {
      r.gauc = gauc(rows.groups, rows.labels, probs);
    } catch (const Error&) {
      r.gauc = -1;  // no group has both classes
    }
  }
  return r;
}

nlohmann::json CtrTrainResult::to_json() const {
  return {{"best_epoch", best_epoch},
          {"epochs_run", epochs_run},
          {"valid", best_valid.to_json()},
          {"test", test.to_json()},
          {"seconds_per_epoch", seconds_per_epoch},
          {"samples_per_second", samples_per_second},
          {"history", history}};
}

// ---------------------------------------------------------------- checkpoints

void save_ctr_checkpoint(const std::string& path, CtrModel& model, const CtrData& data,
                         const nlohmann::json& extra) {
  Checkpoint c;
  c.header = {{"format", "recpress-checkpoint"},
              {"version", 1},
              {"task", "ctr"},
              {"model", model.spec().to_string()},
              {"parameters", model.parameter_count()},
              {"dataset", data.name},
              {"data_checksum", data.checksum},
              {"data", data.spec.to_json()},
              {"encoder", data.encoder.to_json()}};
  for (const auto& [k, v] : extra.items()) c.header[k] = v;
  c.archive = module_archive(model);
  write_checkpoint(path, c);
}

CtrCheckpoint load_ctr_checkpoint(const std::string& path) {
  const Checkpoint c = read_checkpoint(path);
  if (c.header.value("task", "") != "ctr")
    throw DataError(
        path, 0, "task",
        "not a CTR model checkpoint (task '" + c.header.value("task", std::string("?")) + "')");
  CtrCheckpoint out;
  out.header = c.header;
  try {
    out.encoder = CtrEncoder::from_json(c.header.at("encoder"));
    out.data = CtrDataSpec::from_json(c.header.at("data"));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path, 0, "encoder", std::string("malformed CTR header: ") + e.what());
  }
  out.model = create_ctr_model(ModelSpec::parse(c.header.at("model").get<std::string>()),
                               out.encoder.layout());
  load_module_archive(*out.model, c.archive, path);
  return out;
}

// ---------------------------------------------------------------- training

namespace {

std::unique_ptr<torch::optim::Optimizer> make_ctr_optimizer(const CtrTrainConfig& c,
                                                            std::vector<torch::Tensor> params) {
  if (c.optimizer == "adam")
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay));
  if (c.optimizer == "adagrad")
    return std::make_unique<torch::optim::Adagrad>(
        params, torch::optim::AdagradOptions(c.lr).weight_decay(c.weight_decay));
  return std::make_unique<torch::optim::SGD>(
      params, torch::optim::SGDOptions(c.lr).weight_decay(c.weight_decay));
}

// Higher is better; AUC is undefined on a one-class validation set, then LogLoss decides.
double monitored(const CtrEvalResult& r, const std::string& monitor) {
  if (monitor == "logloss" || std::isnan(r.auc)) return -r.logloss;
  return r.auc;
}

}  // namespace

CtrTrainer::CtrTrainer(const CtrData& data, CtrModelPtr model, CtrTrainConfig config)
    : data_(data), model_(std::move(model)), config_(std::move(config)) {
  config_.validate();
  if (!(model_->layout() == data_.encoder.layout()))
    throw Error("ctr train: the model was built for a different feature layout than the data");
  if (data_.train.rows == 0 || data_.valid.rows == 0)
    throw Error("ctr train: empty training or validation rows");
}

void CtrTrainer::distill_from(CtrDistillation distillation) {
  if (!distillation.teacher) throw Error("ctr distill: no teacher");
  if (!(distillation.teacher->layout() == model_->layout()))
    throw Error(
        "ctr distill: the teacher was trained on differently encoded data (feature "
        "layouts differ); distill with the teacher's data and features");
  if (distillation.terms.empty()) throw Error("ctr distill: no distillation method");
  distillation_ = std::move(distillation);
}

CtrTrainResult CtrTrainer::fit(const std::string& output_dir) {
  const auto& c = config_;
  torch::manual_seed(c.seed);
  const CtrRows& train = data_.train;
  if (distillation_.teacher) {
    distillation_.teacher->eval();
    for (auto& [term, w] : distillation_.terms)
      term->prepare(*distillation_.teacher, *model_, train);
  }
  std::vector<torch::Tensor> params = model_->parameters();
  for (auto& [term, w] : distillation_.terms) {
    for (auto& p : term->parameters()) params.push_back(p);
  }
  auto optimizer = make_ctr_optimizer(c, params);

  const std::int64_t B = c.batch_size, S = train.slots, K = train.dense;
  auto t_ids = torch::empty({B, S}, torch::kLong), t_values = torch::empty({B, K});
  auto t_labels = torch::empty({B}), t_rows = torch::empty({B}, torch::kLong);
  std::vector<std::int64_t> order(static_cast<std::size_t>(train.rows));

  CtrTrainResult result;
  BestParameters best_params;
  double best = -INFINITY, train_seconds = 0;
  int since_best = 0;
  Progress progress(c.show_progress);
  std::string last_valid;
  const std::string tag = distillation_.teacher ? " (student)" : "";
  for (int epoch = 1; epoch <= c.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    Rng rng = Rng::derive(c.seed, static_cast<std::uint64_t>(epoch));
    std::iota(order.begin(), order.end(), 0);
    shuffle(order.data(), order.size(), rng);
    model_->train();
    double loss_sum = 0;
    std::int64_t batches = 0;
    for (std::int64_t start = 0; start < train.rows; start += B) {
      const auto n = std::min(B, train.rows - start);
      auto* ids = t_ids.data_ptr<std::int64_t>();
      auto* values = t_values.data_ptr<float>();
      auto* labels = t_labels.data_ptr<float>();
      auto* rows = t_rows.data_ptr<std::int64_t>();
      for (std::int64_t k = 0; k < n; ++k) {
        const auto r = order[static_cast<std::size_t>(start + k)];
        rows[k] = r;
        labels[k] = train.labels[static_cast<std::size_t>(r)];
        const auto* src = train.ids.data() + r * S;
        for (std::int64_t s = 0; s < S; ++s) ids[k * S + s] = src[s];
        std::copy_n(train.values.data() + r * K, K, values + k * K);
      }
      CtrBatch batch{t_ids.narrow(0, 0, n), t_values.narrow(0, 0, n)};
      const auto y = t_labels.narrow(0, 0, n);
      const CtrOutput out = model_->run(batch);
      auto loss = torch::binary_cross_entropy_with_logits(out.logits, y);
      if (distillation_.teacher) {
        const CtrDistillBatch db{&batch, t_rows.narrow(0, 0, n), y, &out};
        for (auto& [term, w] : distillation_.terms)
          loss = loss + w * term->loss(*distillation_.teacher, *model_, db);
      }
      optimizer->zero_grad();
      loss.backward();
      optimizer->step();
      loss_sum += loss.item<double>();
      ++batches;
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress.batch(epoch, c.epochs, static_cast<std::size_t>(start + n),
                     static_cast<std::size_t>(train.rows),
                     elapsed > 0 ? static_cast<double>(start + n) / elapsed : 0,
                     loss_sum / static_cast<double>(batches), last_valid);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    train_seconds += seconds;
    const CtrEvalResult valid = evaluate_ctr(*model_, data_.valid);
    last_valid = valid.summary();
    result.history.push_back(
        {{"epoch", epoch},
         {"loss", loss_sum / static_cast<double>(std::max<std::int64_t>(1, batches))},
         {"seconds", seconds},
         {"valid", valid.to_json()}});
    result.epochs_run = epoch;
    const double score = monitored(valid, c.monitor);
    const bool improved = score > best;
    if (improved) {
      best = score;
      result.best_epoch = epoch;
      result.best_valid = valid;
      since_best = 0;
      best_params.keep(*model_);
    } else {
      ++since_best;
    }
    std::ostringstream line;
    line << "epoch " << epoch << "/" << c.epochs << tag << "  loss "
         << fixed(loss_sum / static_cast<double>(std::max<std::int64_t>(1, batches)), 4)
         << "  valid " << valid.summary() << "  " << fixed(seconds, 1) << " s"
         << (improved ? "  *" : "");
    progress.epoch_line(line.str());
    if (c.patience > 0 && since_best >= c.patience) break;
  }
  best_params.restore(*model_);
  result.test = evaluate_ctr(*model_, data_.test);
  result.seconds_per_epoch = train_seconds / result.epochs_run;
  result.samples_per_second =
      train_seconds > 0 ? static_cast<double>(train.rows) * result.epochs_run / train_seconds : 0;
  if (!output_dir.empty()) {
    nlohmann::json extra = {{"train", c.to_json()},
                            {"best_epoch", result.best_epoch},
                            {"valid", result.best_valid.to_json()},
                            {"test", result.test.to_json()}};
    if (distillation_.teacher) {
      nlohmann::json methods = nlohmann::json::array();
      for (const auto& [term, w] : distillation_.terms) methods.push_back({{term->name(), w}});
      extra["distillation"] = {{"teacher", distillation_.teacher->spec().to_string()},
                               {"methods", methods}};
    }
    save_ctr_checkpoint(output_dir + "/best.pt", *model_, data_, extra);
    write_file_atomic(output_dir + "/history.json", result.history.dump(2) + "\n");
    nlohmann::json summary = result.to_json();
    summary["model"] = model_->spec().to_string();
    summary["parameters"] = model_->parameter_count();
    summary["bytes"] = model_->byte_size();
    summary["data"] = data_.spec.to_json();
    summary["dataset"] = data_.name;
    summary["data_checksum"] = data_.checksum;
    summary["train"] = c.to_json();
    if (extra.contains("distillation")) summary["distillation"] = extra["distillation"];
    write_file_atomic(output_dir + "/result.json", summary.dump(2) + "\n");
  }
  return result;
}

}  // namespace recpress
