#include "train/loop.h"

#include <ATen/autocast_mode.h>

#include <cmath>
#include <csignal>
#include <sstream>

#include "core/atomic_file.h"
#include "core/format.h"
#include "train/checkpoint.h"

namespace recpress {
namespace {

// A batch loss this many times the run's first one is an explosion, not learning: the losses
// every task starts from (BCE ~0.69, BPR ~0.69, softmax CE ~ln(items)) only ever shrink by
// training, and a distillation term at its weight stays the same order.
constexpr double kExplosionFactor = 1e4;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// LibTorch's generator for epoch `epoch`: dropout and masks then depend on (seed, epoch) only.
void seed_torch_for_epoch(std::uint64_t seed, int epoch) {
  Rng r = Rng::derive(seed ^ 0x746f726368ULL /* "torch" */, static_cast<std::uint64_t>(epoch));
  torch::manual_seed(r.next() >> 1);
}

std::vector<torch::Tensor> copy_parameters(const torch::nn::Module& module) {
  std::vector<torch::Tensor> out;
  for (const auto& p : module.parameters()) out.push_back(p.detach().clone());
  return out;
}

// The options of this run that differ from the checkpoint's, as "key was -> now". `epochs` and
// `patience` may change: they decide only when the run stops.
bool may_change(const std::string& key) {
  return key == "epochs" || key == "patience";
}

std::string changed_options(const nlohmann::json& was, const nlohmann::json& now) {
  std::string out;
  auto add = [&](const std::string& key, const std::string& a, const std::string& b) {
    out += (out.empty() ? "" : ", ") + key + " " + a + " -> " + b;
  };
  for (const auto& [key, value] : now.items()) {
    if (may_change(key)) continue;
    if (!was.contains(key))
      add(key, "(unset)", value.dump());
    else if (was[key] != value)
      add(key, was[key].dump(), value.dump());
  }
  for (const auto& [key, value] : was.items())
    if (!may_change(key) && !now.contains(key)) add(key, value.dump(), "(unset)");
  return out;
}

volatile std::sig_atomic_t g_interrupted = 0;

void on_interrupt(int) {
  g_interrupted = 1;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

}  // namespace

void stop_training_on_interrupt() {
  std::signal(SIGINT, on_interrupt);
}

void TrainingLoop::check_interrupt(int epoch) const {
  if (g_interrupted == 0) return;
  g_interrupted = 0;
  std::string why = "training stopped during epoch " + std::to_string(epoch);
  if (output_dir_.empty())
    why += " (no output folder: nothing was saved)";
  else if (last_good_epoch_ == 0)
    why += "; no epoch had finished, nothing to resume";
  else
    why += "; " + output_dir_ + "/last.pt holds epoch " + std::to_string(last_good_epoch_) +
           ": continue with --resume " + output_dir_ + "/last.pt";
  throw TrainingInterrupted(why);
}

namespace {

// `precision: bf16`: the epoch's forward passes run under LibTorch's CPU autocast (matrix
// products in bfloat16, fp32 master weights). Restores the thread's previous state, and drops
// the autocast cache of bf16 weight copies, on every exit.
class Bf16Autocast {
 public:
  explicit Bf16Autocast(bool on)
      : on_(on),
        was_enabled_(at::autocast::is_cpu_enabled()),
        was_dtype_(at::autocast::get_autocast_cpu_dtype()) {
    if (!on_) return;
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
  ~Bf16Autocast() {
    if (!on_) return;
    at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(was_enabled_);
    at::autocast::set_autocast_cpu_dtype(was_dtype_);
  }
  Bf16Autocast(const Bf16Autocast&) = delete;
  Bf16Autocast& operator=(const Bf16Autocast&) = delete;

 private:
  bool on_, was_enabled_;
  at::ScalarType was_dtype_;
};

}  // namespace

AutocastPause::AutocastPause() : was_enabled_(at::autocast::is_cpu_enabled()) {
  if (was_enabled_) at::autocast::set_cpu_enabled(false);
}

AutocastPause::~AutocastPause() {
  if (!was_enabled_) return;
  at::autocast::clear_cache();
  at::autocast::set_cpu_enabled(true);
}

double BatchStep::operator()(const torch::Tensor& loss, std::size_t samples, std::size_t done,
                             std::size_t total) {
  const double value = loss.item<double>();
  before_step(value);
  auto& optimizer = *loop_.optimizer_;
  {
    const AutocastPause pause;
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  }
  after_step(value, samples, done, total);
  return value;
}

void BatchStep::before_step(double loss) {
  loop_.check_interrupt(epoch_);
  loop_.check_loss(loss, epoch_, batches_ + 1);  // before the step: the model stays good
}

void BatchStep::after_step(double loss, std::size_t samples, std::size_t done, std::size_t total) {
  loss_sum_ += loss;
  ++batches_;
  samples_ += samples;
  const double elapsed = seconds_since(start_);
  loop_.progress_.batch(epoch_, loop_.config_.epochs, done, total,
                        elapsed > 0 ? static_cast<double>(done) / elapsed : 0,
                        loss_sum_ / static_cast<double>(batches_), loop_.last_valid_);
}

torch::optim::Optimizer& BatchStep::optimizer() {
  return *loop_.optimizer_;
}

TrainingLoop::TrainingLoop(TrainingTask& task, LoopConfig config)
    : task_(task), config_(std::move(config)), progress_(config_.show_progress) {
  if (config_.epochs < 1) throw Error("train: epochs must be >= 1");
  if (config_.patience < 0) throw Error("train: patience must be >= 0");
  validate_optimizer(config_.optimizer);
  optimizer_ = make_training_optimizer(config_.optimizer, task_.model(), task_.trainable());
}

void TrainingLoop::check_loss(double loss, int epoch, std::size_t batch) {
  if (reference_loss_ < 0 && std::isfinite(loss)) reference_loss_ = std::max(std::abs(loss), 1e-3);
  const bool exploded = std::isfinite(loss) && std::abs(loss) > kExplosionFactor * reference_loss_;
  if (std::isfinite(loss) && !exploded) return;
  std::ostringstream why;
  why << "training diverged at epoch " << epoch << ", batch " << batch << ": loss "
      << (std::isfinite(loss)
              ? fixed(loss, 1) + " (" + fixed(loss / reference_loss_, 0) + "x the first batch's)"
              : std::string(std::isnan(loss) ? "nan" : "inf"))
      << "; lower the learning rate (lr " << config_.optimizer.lr << ")";
  if (!output_dir_.empty() && last_good_epoch_ > 0)
    why << "; " << output_dir_ << "/last.pt and best.pt hold epoch " << last_good_epoch_;
  else if (!output_dir_.empty())
    why << "; nothing was saved (no epoch finished)";
  throw TrainingDiverged(why.str());
}

void TrainingLoop::write_last(const std::string& path, const nlohmann::json& state) {
  Checkpoint last;
  last.header = task_.identity();
  last.header["config"] = config_.options;
  last.header["state"] = state;
  last.header["optimizer_state"] = true;
  torch::serialize::OutputArchive archive, model_part, optim_part, best_part, trainable_part,
      extra_part;
  task_.model().save(model_part);
  optimizer_->save(optim_part);
  for (std::size_t i = 0; i < best_params_.size(); ++i)
    best_part.write(std::to_string(i), best_params_[i]);
  // What the optimiser updates beyond the model (trainable() lists the model's parameters first):
  // the methods' own parameters (DE's experts, projections), which the model's archive alone left
  // at their initial values on resume.
  const auto trainable = task_.trainable();
  for (std::size_t i = task_.model().parameters().size(); i < trainable.size(); ++i)
    trainable_part.write(std::to_string(i), trainable[i]);
  task_.save_extra(extra_part);
  archive.write("model", model_part);
  archive.write("optimizer", optim_part);
  archive.write("best", best_part);
  archive.write("trainable", trainable_part);
  archive.write("extra", extra_part);
  std::ostringstream out;
  archive.save_to(out);
  last.archive = out.str();
  write_checkpoint(path, last);
}

void TrainingLoop::resume(const std::string& path, LoopResult& result) {
  const Checkpoint ck = read_checkpoint(path);
  const nlohmann::json identity = task_.identity();
  for (const char* key : {"task", "model", "data_checksum"}) {
    if (!identity.contains(key)) continue;
    if (ck.header.value(key, nlohmann::json()) != identity[key])
      throw DataError(path, 0, key,
                      std::string("checkpoint has ") + key + " " +
                          ck.header.value(key, nlohmann::json()).dump() + ", this run " +
                          identity[key].dump() + "; resume only the run it came from");
  }
  if (!ck.header.contains("optimizer_state"))
    throw DataError(path, 0, "", "not a resumable checkpoint (resume from last.pt)");
  const std::string changed =
      changed_options(ck.header.value("config", nlohmann::json::object()), config_.options);
  if (!changed.empty())
    throw DataError(
        path, 0, "config",
        "this run's options differ from the checkpoint's (" + changed +
            "); resume with the same options (only --epochs and --patience may change) or start "
            "a new run");
  torch::serialize::InputArchive archive, model_part, optim_part, best_part;
  std::istringstream in(ck.archive);
  try {
    archive.load_from(in);
    archive.read("model", model_part);
    archive.read("optimizer", optim_part);
    task_.model().load(model_part);
    optimizer_->load(optim_part);
    torch::serialize::InputArchive trainable_part, extra_part;
    if (archive.try_read("trainable", trainable_part)) {
      torch::NoGradGuard guard;
      auto trainable = task_.trainable();
      for (std::size_t i = task_.model().parameters().size(); i < trainable.size(); ++i) {
        torch::Tensor t;
        if (!trainable_part.try_read(std::to_string(i), t)) break;
        if (!t.sizes().equals(trainable[i].sizes()))
          throw DataError(path, 0, "trainable",
                          "tensor " + std::to_string(i) + " has another shape than this run's");
        trainable[i].copy_(t);
      }
    }
    if (archive.try_read("extra", extra_part)) task_.load_extra(extra_part);
    if (archive.try_read("best", best_part)) {
      best_params_.clear();
      const auto count = task_.model().parameters().size();
      for (std::size_t i = 0; i < count; ++i) {
        torch::Tensor t;
        if (!best_part.try_read(std::to_string(i), t)) break;
        best_params_.push_back(t);
      }
    }
  } catch (const c10::Error& e) {
    throw DataError(path, 0, "", std::string("cannot restore: ") + e.what_without_backtrace());
  }
  const auto& s = ck.header.at("state");
  result.best_epoch = s.at("best_epoch").get<int>();
  result.history = s.at("history");
  best_ = s.at("best").is_null() ? -INFINITY : s.at("best").get<double>();
  bad_epochs_ = s.at("bad_epochs").get<int>();
  reference_loss_ = s.value("reference_loss", -1.0);
  last_good_epoch_ = s.at("epoch").get<int>();
}

LoopResult TrainingLoop::run(const std::string& output_dir, const std::string& resume_from) {
  output_dir_ = output_dir;
  LoopResult result;
  if (!resume_from.empty()) resume(resume_from, result);
  const int start_epoch = last_good_epoch_ + 1;
  const auto start_wall = std::chrono::steady_clock::now();
  int epoch = start_epoch;
  for (; epoch <= config_.epochs; ++epoch) {
    const double lr = scheduled_lr(config_.optimizer, epoch, config_.epochs);
    for (auto& g : optimizer_->param_groups()) g.options().set_lr(lr);
    Rng rng = Rng::derive(config_.seed, static_cast<std::uint64_t>(epoch));
    seed_torch_for_epoch(config_.seed, epoch);
    BatchStep step(*this, epoch, lr);
    task_.model().train();
    {
      const Bf16Autocast autocast(config_.bf16);
      task_.train_epoch(rng, step);
    }
    const double seconds = seconds_since(step.start_);
    result.train_seconds += seconds;
    result.trained_samples += step.samples_;
    const double mean_loss =
        step.loss_sum_ / static_cast<double>(std::max<std::size_t>(1, step.batches_));

    const Validation v = task_.validate();
    const bool improved = v.score > best_ || result.best_epoch == 0;
    if (improved) {
      best_ = v.score;
      result.best_epoch = epoch;
      bad_epochs_ = 0;
      best_params_ = copy_parameters(task_.model());
      task_.on_best();
    } else {
      ++bad_epochs_;
    }
    result.history.push_back(
        {{"epoch", epoch},
         {"loss", mean_loss},
         {"lr", lr},
         {"train_seconds", seconds},
         {"samples_per_second", seconds > 0 ? static_cast<double>(step.samples_) / seconds : 0},
         {"wall_seconds", seconds_since(start_wall)},
         {"valid", v.metrics}});
    last_valid_ = v.summary;
    progress_.epoch_line("epoch " + std::to_string(epoch) + "/" + std::to_string(config_.epochs) +
                         config_.tag + "  loss " + fixed(mean_loss, 4) + "  " + fixed(seconds, 1) +
                         " s  " +
                         with_commas(static_cast<std::int64_t>(
                             seconds > 0 ? static_cast<double>(step.samples_) / seconds : 0)) +
                         " samples/s  valid " + v.summary + (improved ? "  *best" : ""));
    if (!output_dir.empty()) {
      const nlohmann::json state = {{"epoch", epoch},
                                    {"best", best_},
                                    {"best_epoch", result.best_epoch},
                                    {"bad_epochs", bad_epochs_},
                                    {"reference_loss", reference_loss_},
                                    {"history", result.history}};
      // best.pt first: a crash between the two writes leaves a last.pt that resumes correctly.
      if (improved) task_.write_best(output_dir + "/best.pt", state);
      write_last(output_dir + "/last.pt", state);
      write_file_atomic(output_dir + "/history.json", result.history.dump(2) + "\n");
    }
    last_good_epoch_ = epoch;
    ++result.epochs_run;
    if (config_.patience > 0 && bad_epochs_ >= config_.patience) {
      progress_.epoch_line("early stop: no improvement for " + std::to_string(config_.patience) +
                           " epochs");
      break;
    }
  }
  result.wall_seconds = seconds_since(start_wall);
  if (!best_params_.empty()) {
    torch::NoGradGuard guard;
    auto params = task_.model().parameters();
    for (std::size_t i = 0; i < params.size() && i < best_params_.size(); ++i)
      params[i].copy_(best_params_[i]);
  }
  return result;
}

}  // namespace recpress
