#include "train/options.h"

#include <algorithm>
#include <sstream>

#include "core/errors.h"
#include "core/format.h"
#include "data/negative_sampler.h"
#include "eval/metrics.h"
#include "eval/protocol.h"
#include "sys/launch.h"
#include "train/optimizer.h"

namespace recpress {
namespace {

using O = TrainOptions;
constexpr const char* kNo = nullptr;  // not an option of that task

void check_optimizer(const std::string& v) {
  validate_optimizer({v, 1e-3, 0, "constant"}, "optimizer");
}
void check_schedule(const std::string& v) {
  validate_optimizer({"adam", 1e-3, 0, v}, "schedule");
}
void check_sampler(const std::string& v) {
  NegativeSampler::parse_spec(v);
}
void check_protocol(const std::string& v) {
  Protocol::parse(v);
}
void check_metrics(const std::string& v) {
  parse_metrics(v);
}
void check_precision(const std::string& v) {
  if (v == "bf16" && !cpu_has_fast_bf16())
    throw Error(
        "bf16 needs a CPU with AVX512-BF16 or AMX, and this one has neither (`recpress doctor` "
        "lists its features): its bfloat16 products would run slower than fp32");
}

ParamDecl whole(const char* name, std::int64_t min, const char* doc) {
  return int_param(name, 0, min, doc);
}
ParamDecl real(const char* name, double min, bool min_open, const char* doc) {
  return real_param(name, 0, min, kUnbounded, min_open, false, doc);
}
ParamDecl text(const char* name, std::vector<std::string> choices, const char* doc) {
  return text_param(name, "", std::move(choices), doc);
}

// The table. Defaults are {top-N, CTR, next-item}.
std::vector<TrainOptionDecl> make_decls() {
  return {
      {text("loss", {"bce", "bpr", "multinomial"},
            "`bce` (pointwise, with `negatives` per positive), `bpr` (pairwise) or "
            "`multinomial` (batches of `batch_size` users, each user's whole training row "
            "against a softmax over the catalog: Mult-VAE's likelihood); CTR trains BCE on the "
            "labels, next-item the model's own loss (`sasrec:loss=ce`)"),
       {"bce", kNo, kNo},
       true,
       true,
       &O::loss},
      {whole("negatives", 1, "sampled negatives per positive"),
       {"4", kNo, kNo},
       true,
       true,
       &O::negatives},
      {text("sampler", {},
            "how negatives are drawn: `uniform` or `popularity[:alpha]` (count^alpha, "
            "word2vec's smoothing)"),
       {"uniform", kNo, kNo},
       true,
       true,
       &O::sampler,
       check_sampler},
      {whole("batch_size", 1,
             "mini-batch: (user, item) pairs for top-N (users under `loss multinomial`), rows for "
             "CTR, users for next-item"),
       {"256", "2048", "32"},
       true,
       true,
       &O::batch_size},
      {real_param("distill_share", 1.0, 0, 1, true, false,
                  "share of a mini-batch's distinct users and of its distinct items that the "
                  "distillation terms see, drawn uniformly each batch (1: all). A term is a mean "
                  "over them, so a smaller share is an unbiased, noisier estimate of the same "
                  "term at that share of its cost (issue 19; docs/results.md measures the "
                  "accuracy). Part of a run's identity when not 1"),
       {"1", kNo, kNo},
       true,
       true,
       &O::distill_share,
       nullptr,
       true,
       true},
      {whole("anneal_epochs", 0,
             "epochs over which the distillation schedules run: DE's and HTD's Gumbel "
             "temperature, CD's and RD's ramps reach their end after this many epochs and stay "
             "there (0: over the epoch cap, as the papers' fixed-length training). A converged "
             "study's cap is one no run reaches, so over the cap a schedule would barely move "
             "(issue 23). Part of a run's identity when not 0"),
       {"0", kNo, kNo},
       true,
       true,
       &O::anneal_epochs,
       nullptr,
       true,
       true},
      {whole("epochs", 1, "maximum epochs"), {"20", "10", "100"}, true, true, &O::epochs},
      {text("optimizer", {"adam", "lazyadam", "sgd", "adagrad"},
            "`lazyadam`: Adam with row-wise updates of sparse embedding gradients (faster)"),
       {"adam", "adam", "adam"},
       true,
       true,
       &O::optimizer,
       check_optimizer},
      {real("lr", 0, true, "learning rate"), {"0.001", "0.001", "0.002"}, true, true, &O::lr},
      {real("weight_decay", 0, false, "L2 weight decay"),
       {"0", "0", "0"},
       true,
       true,
       &O::weight_decay},
      {text("schedule", {},
            "learning rate over epochs: `constant`, `cosine` (Loshchilov & Hutter 2017) or "
            "`step:EVERY,GAMMA`"),
       {"constant", "constant", "constant"},
       true,
       true,
       &O::schedule,
       check_schedule},
      {whole("patience", 0,
             "early stopping: epochs without a better validation score; 0 turns it off"),
       {"5", "2", "10"},
       true,
       true,
       &O::patience},
      {text("monitor", {},
            "the validation metric that picks the best epoch (top-N, next-item: one of "
            "`metrics`; CTR: `auc` or `logloss`)"),
       {"NDCG@10", "auc", "NDCG@10"},
       false,
       true,
       &O::monitor},
      {text("protocol", {},
            "validation (and test) protocol: `full`, `sampled:uniform:N`, `sampled:popularity:N`"),
       {"sampled:uniform:99", kNo, "sampled:popularity:100"},
       false,
       true,
       &O::protocol,
       check_protocol},
      {text("metrics", {}, "metrics evaluated, e.g. `hr@5,10 ndcg@5,10`"),
       {"hr@5,10 ndcg@5,10 mrr@10", kNo, "hr@1,5,10 ndcg@5,10 mrr@1000"},
       false,
       true,
       &O::metrics,
       check_metrics},
      {whole("seed", 0, "every random draw of the run (the global `--seed`, a recipe's `seeds`)"),
       {"42", "42", "42"},
       false,
       false,
       &O::seed},
      {text("engine", {"auto", "native", "torch"},
            "how a step is computed, not what: `native` runs the NCF family's (mf, gmf, mlp, "
            "neumf) forward, backward and update without autograd (sgd, adam, lazyadam; alone or "
            "with methods that read only the student's scores: kd, rd, cd, rrd); `torch` always "
            "uses LibTorch's autograd; `auto` is native where it applies. Not part of a run's "
            "identity: both give the same run up to float rounding"),
       {"auto", kNo, kNo},
       true,
       true,
       &O::engine,
       nullptr,
       false},
      {text("precision", {"fp32", "bf16"},
            "`bf16` computes the matrix products and their gradients in bfloat16 (LibTorch's CPU "
            "autocast; parameters, optimiser state, losses and evaluation stay fp32) on CPUs with "
            "AVX512-BF16 or AMX, and is refused elsewhere; top-N's native engine is fp32 only, so "
            "`auto` then trains through autograd. Part of a run's identity when not `fp32`"),
       {"fp32", "fp32", "fp32"},
       true,
       true,
       &O::precision,
       check_precision,
       true,
       true},
  };
}

const char* task_label(TrainTask t) {
  return t == TrainTask::kTopN ? "top-N" : t == TrainTask::kCtr ? "CTR" : "next-item";
}
const char* error_prefix(TrainTask t) {
  return t == TrainTask::kTopN ? "train" : t == TrainTask::kCtr ? "ctr train" : "seq train";
}

}  // namespace

const char* task_name(TrainTask task) {
  return task == TrainTask::kTopN ? "topn" : task == TrainTask::kCtr ? "ctr" : "seq";
}

const std::vector<TrainOptionDecl>& train_option_decls() {
  static const std::vector<TrainOptionDecl> decls = make_decls();
  return decls;
}

const TrainOptionDecl* find_train_option(const std::string& name) {
  for (const auto& d : train_option_decls())
    if (d.param.name == name) return &d;
  return nullptr;
}

void TrainOptionDecl::check_value(const std::string& value) const {
  if (check != nullptr) {  // first: its message is the more specific one
    try {
      check(value);
    } catch (const Error& e) {
      const std::string what = e.what();
      throw Error(what.rfind(param.name + ":", 0) == 0 ? what : param.name + ": " + what);
    }
  }
  param.check(value);
}

TrainOptions::TrainOptions(TrainTask t) : task(t) {
  for (const auto& d : train_option_decls())
    if (d.used_by(t)) set(d.param.name, d.defaults[static_cast<int>(t)]);
}

bool TrainOptions::uses(const std::string& name) const {
  const TrainOptionDecl* d = find_train_option(name);
  return d != nullptr && d->used_by(task);
}

void TrainOptions::set(const std::string& name, const std::string& value) {
  const TrainOptionDecl* d = find_train_option(name);
  if (d == nullptr) throw Error(name + ": not a training option");
  if (!d->used_by(task)) throw Error(name + ": not an option of " + task_label(task) + " training");
  d->check_value(value);
  std::visit(
      [&](auto member) {
        auto& field = this->*member;
        using T = std::remove_reference_t<decltype(field)>;
        if constexpr (std::is_same_v<T, std::string>)
          field = value;
        else if constexpr (std::is_same_v<T, double>)
          field = d->param.real_value(value);
        else
          field = static_cast<T>(d->param.int_value(value));
      },
      d->field);
}

std::string TrainOptions::get(const std::string& name) const {
  const TrainOptionDecl* d = find_train_option(name);
  if (d == nullptr) throw Error(name + ": not a training option");
  return std::visit(
      [&](auto member) -> std::string {
        const auto& field = this->*member;
        using T = std::remove_cv_t<std::remove_reference_t<decltype(field)>>;
        if constexpr (std::is_same_v<T, std::string>)
          return field;
        else if constexpr (std::is_same_v<T, double>)
          return exact_text(field);
        else
          return std::to_string(field);
      },
      d->field);
}

void TrainOptions::validate() const {
  const std::string who = error_prefix(task);
  for (const auto& d : train_option_decls()) {
    if (!d.used_by(task)) continue;
    try {
      d.check_value(get(d.param.name));
    } catch (const Error& e) {
      throw Error(who + ": " + e.what());
    }
  }
  validate_optimizer(optimizer_config(), who);
  if (task == TrainTask::kCtr) {
    if (monitor != "auc" && monitor != "logloss")
      throw Error(who + ": monitor must be auc or logloss, got '" + monitor + "'");
    return;
  }
  bool found = false;
  for (const auto& m : parse_metrics(metrics)) found = found || m.name() == monitor;
  if (!found)
    throw Error(who + ": monitored metric '" + monitor + "' is not among the metrics '" + metrics +
                "'");
}

nlohmann::json TrainOptions::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& d : train_option_decls())
    if (d.used_by(task) && d.identity &&
        !(d.identity_unless_default && get(d.param.name) == d.defaults[static_cast<int>(task)]))
      std::visit([&](auto member) { j[d.param.name] = this->*member; }, d.field);
  return j;
}

void TrainOptions::read_json(const nlohmann::json& j) {
  for (const auto& d : train_option_decls()) {
    if (!d.used_by(task) || !d.identity || !j.contains(d.param.name)) continue;
    std::visit(
        [&](auto member) {
          auto& field = this->*member;
          field = j.at(d.param.name).get<std::remove_reference_t<decltype(field)>>();
        },
        d.field);
  }
}

OptimizerConfig TrainOptions::optimizer_config() const {
  return {optimizer, lr, weight_decay, schedule};
}

std::string TrainOptionDecl::defaults_text() const {
  std::string all, first;
  bool same = true;
  for (std::size_t t = 0; t < defaults.size(); ++t) {
    if (defaults[t] == nullptr) continue;
    all += (all.empty() ? "" : " / ") + std::string(task_name(static_cast<TrainTask>(t))) + " `" +
           defaults[t] + "`";
    if (first.empty()) first = defaults[t];
    same = same && first == defaults[t];
  }
  return same ? "`" + first + "`" : all;
}

std::string train_options_reference() {
  std::ostringstream o;
  o << "| option | CLI flag | tasks | type | default | bounds | meaning |\n"
       "|---|---|---|---|---|---|---|\n";
  for (const auto& d : train_option_decls()) {
    std::string tasks;
    for (std::size_t t = 0; t < d.defaults.size(); ++t)
      if (d.defaults[t] != nullptr)
        tasks += (tasks.empty() ? "" : ", ") + std::string(task_name(static_cast<TrainTask>(t)));
    if (tasks == "topn, ctr, seq") tasks = "all";
    std::string flag = d.param.name;
    std::replace(flag.begin(), flag.end(), '_', '-');
    o << "| `" << d.param.name << "` | " << (d.flag ? "`--" + flag + "`" : "-") << " | " << tasks
      << " | " << d.param.type_text() << " | " << d.defaults_text() << " | " << d.param.range_text()
      << " | " << d.param.doc << " |\n";
  }
  return o.str();
}

}  // namespace recpress
