#include "pipeline/recipe.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <sstream>

#include "core/errors.h"
#include "core/format.h"
#include "data/ctr_encoder.h"
#include "data/split.h"
#include "distill/ctr/distiller.h"
#include "distill/seq/distiller.h"
#include "distill/topn/distiller.h"
#include "eval/metrics.h"
#include "eval/protocol.h"
#include "models/ctr/ctr_model.h"
#include "models/model_spec.h"
#include "models/seq/seq_model.h"
#include "models/topn/model.h"
#include "train/optimizer.h"

namespace recpress::pipeline {
namespace {

// Where a value came from, for errors: "recipe.yaml", line, key.
struct Where {
  const std::string& file;
  std::size_t line;
  std::string key;
  [[noreturn]] void fail(const std::string& why) const { throw DataError(file, line, key, why); }
};

// A value another part of the library parses (a protocol, a split, a method): its error, re-thrown
// naming the recipe's file, line and key, before anything runs or is created.
template <typename F>
void check_value(const Where& w, F&& parse) {
  try {
    parse();
  } catch (const DataError&) {
    throw;
  } catch (const Error& e) {
    w.fail(e.what());
  }
}

std::int64_t at_least(std::int64_t v, std::int64_t lowest, const Where& w) {
  if (v < lowest) w.fail("must be >= " + std::to_string(lowest) + ", got " + std::to_string(v));
  return v;
}

std::size_t line_of(const YAML::Node& n) {
  return n.Mark().line >= 0 ? static_cast<std::size_t>(n.Mark().line) + 1 : 0;
}

template <typename T>
T scalar(const YAML::Node& n, const Where& w, const char* expected) {
  if (!n.IsScalar()) w.fail(std::string("expected ") + expected);
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    w.fail(std::string("expected ") + expected + ", got '" + n.Scalar() + "'");
  }
}

std::string as_string(const YAML::Node& n, const Where& w) {
  return scalar<std::string>(n, w, "a string");
}
std::int64_t as_int(const YAML::Node& n, const Where& w) {
  return scalar<std::int64_t>(n, w, "an integer");
}
double as_double(const YAML::Node& n, const Where& w) {
  return scalar<double>(n, w, "a number");
}
// A scalar or a list of scalars.
template <typename T>
std::vector<T> as_list(const YAML::Node& n, const Where& w,
                       T (*one)(const YAML::Node&, const Where&)) {
  std::vector<T> out;
  if (n.IsSequence()) {
    for (const auto& x : n) out.push_back(one(x, {w.file, line_of(x), w.key}));
    if (out.empty()) w.fail("expected at least one value");
  } else {
    out.push_back(one(n, w));
  }
  return out;
}

template <typename Target>
struct Key {
  std::string name;
  std::string type;  // for the reference
  std::string default_text;
  std::string doc;
  bool required;
  std::function<void(const YAML::Node&, const Where&, Target&)> set;
};

// `model` and `dim`, then every training option declared as a section key (train/options.h).
// Values are kept as written and applied over the task's defaults when the recipe is finished.
const std::vector<Key<TrainSection>>& train_keys() {
  static const std::vector<Key<TrainSection>> keys = [] {
    std::vector<Key<TrainSection>> k = {
        {"model", "string or list", "(required)",
         "model spec(s), e.g. `neumf:dim=32` or `[mf, gmf]`; a list is a grid dimension", true,
         [](const YAML::Node& n, const Where& w, TrainSection& t) {
           t.models = as_list<std::string>(n, w, as_string);
         }},
        {"dim", "integer or list", "(from `model`)",
         "embedding size(s) applied to every `model` spec; a list is a grid dimension", false,
         [](const YAML::Node& n, const Where& w, TrainSection& t) {
           t.dims = as_list<std::int64_t>(n, w, as_int);
           for (const auto d : t.dims)
             if (d < 1) w.fail("dim must be >= 1");
         }},
    };
    for (const auto& d : train_option_decls()) {
      if (!d.section) continue;
      const std::string name = d.param.name;
      const bool lr = name == "lr";
      std::string doc = d.param.doc;
      if (!d.param.range_text().empty()) doc += " (" + d.param.range_text() + ")";
      if (lr)
        doc +=
            "; a list is tuned: each is trained on the first seed and the best on validation is "
            "used for every seed";
      if (!d.used_by(TrainTask::kCtr) || !d.used_by(TrainTask::kSeq)) doc = "top-N only: " + doc;
      k.push_back(
          {name, lr ? "number or list" : d.param.type_text(), d.defaults_text(), doc, false,
           [name, lr, kind = d.param.kind](const YAML::Node& n, const Where& w, TrainSection& t) {
             if (lr) {
               for (const double v : as_list<double>(n, w, as_double))
                 t.written_lrs.push_back(exact_text(v));
               return;
             }
             if (!n.IsScalar()) w.fail("expected a single value");
             if (kind == ParamDecl::Kind::kInt) as_int(n, w);  // YAML type first
             if (kind == ParamDecl::Kind::kReal) as_double(n, w);
             t.written[name] = n.Scalar();
           }});
    }
    return k;
  }();
  return keys;
}

template <typename Target>
void apply(const std::vector<Key<Target>>& keys, const YAML::Node& map, const std::string& file,
           const std::string& prefix, Target& target) {
  if (!map.IsMap()) Where{file, line_of(map), prefix}.fail("expected a mapping of keys to values");
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    const Where where{file, line_of(kv.first), prefix.empty() ? key : prefix + "." + key};
    const Key<Target>* found = nullptr;
    for (const auto& k : keys)
      if (key == k.name) found = &k;
    if (found == nullptr) {
      std::string known;
      for (const auto& k : keys) known += (known.empty() ? "" : ", ") + std::string(k.name);
      where.fail("unknown key (known: " + known + ")");
    }
    found->set(kv.second, Where{file, line_of(kv.second), where.key}, target);
    if constexpr (requires { target.given; }) target.given[key] = line_of(kv.second);
    if constexpr (requires { target.lines; }) target.lines[key] = line_of(kv.second);
  }
  for (const auto& k : keys)
    if (k.required && !map[k.name])
      Where{file, line_of(map), prefix.empty() ? k.name : prefix + "." + k.name}.fail(
          "required key missing");
}

const std::vector<Key<SearchSection>>& search_keys() {
  static const std::vector<Key<SearchSection>> keys = {
      {"candidates", "list of strings", "(required)",
       "the student models searched (specs of the task's models)", true,
       [](const YAML::Node& n, const Where& w, SearchSection& s) {
         s.candidates = as_list<std::string>(n, w, as_string);
         if (s.candidates.empty()) w.fail("list at least one candidate");
       }},
      {"budget_bytes", "number", "0",
       "the most bytes a candidate's values may take shipped in the first `export` dtype "
       "(parameters x 4, 2 or 1); 0: no bound",
       false,
       [](const YAML::Node& n, const Where& w, SearchSection& s) {
         s.budget_bytes = as_double(n, w);
         if (s.budget_bytes < 0) w.fail("budget_bytes must be >= 0");
       }},
      {"budget_us", "number", "0",
       "the most microseconds (p50) one query of a candidate may take, shipped as the study "
       "ships its students (the first `export` dtype); measured after the first rung, whose "
       "training the candidates over it still cost; 0: no bound",
       false,
       [](const YAML::Node& n, const Where& w, SearchSection& s) {
         s.budget_us = as_double(n, w);
         if (s.budget_us < 0) w.fail("budget_us must be >= 0");
       }},
      {"method", "string", "kd", "the distillation the candidates are compared under", false,
       [](const YAML::Node& n, const Where& w, SearchSection& s) { s.method = as_string(n, w); }},
      {"eta", "integer", "3", "successive halving: keep the best 1/eta, train eta times longer",
       false,
       [](const YAML::Node& n, const Where& w, SearchSection& s) {
         s.eta = at_least(as_int(n, w), 2, w);
       }},
      {"min_epochs", "integer", "2", "epochs of the first rung", false,
       [](const YAML::Node& n, const Where& w, SearchSection& s) {
         s.min_epochs = at_least(as_int(n, w), 1, w);
       }},
  };
  return keys;
}

const std::vector<Key<FeatureSection>>& feature_keys() {
  static const std::vector<Key<FeatureSection>> keys = {
      {"threshold", "number", "4", "rated data: label = rating >= threshold", false,
       [](const YAML::Node& n, const Where& w, FeatureSection& f) {
         f.threshold = as_double(n, w);
       }},
      {"format", "string", "(detected)", "`ratings`, `criteo`, `avazu` or `csv`", false,
       [](const YAML::Node& n, const Where& w, FeatureSection& f) {
         f.format = as_string(n, w);
         if (f.format != "ratings" && f.format != "criteo" && f.format != "avazu" &&
             f.format != "csv")
           w.fail("format must be ratings, criteo, avazu or csv");
       }},
      {"schema", "string", "\"\"",
       "CSV schema `COLUMN=KIND,...` (kinds label, label>=T, cat, multi[/SEP], num, time, skip)",
       false,
       [](const YAML::Node& n, const Where& w, FeatureSection& f) { f.schema = as_string(n, w); }},
      {"crosses", "string", "\"\"", "wide-part cross features `FIELD*FIELD,...`", false,
       [](const YAML::Node& n, const Where& w, FeatureSection& f) {
         f.crosses = as_string(n, w);
         check_value(w, [&] { CtrEncoderConfig::parse_crosses(f.crosses); });
       }},
      {"numeric", "string", "log", "numeric fields: `log`, `bucket:N` or `criteo`", false,
       [](const YAML::Node& n, const Where& w, FeatureSection& f) { f.numeric = as_string(n, w); }},
      {"min_count", "integer", "2", "values seen fewer times in training go to the OOV bucket",
       false,
       [](const YAML::Node& n, const Where& w, FeatureSection& f) {
         f.min_count = static_cast<int>(at_least(as_int(n, w), 1, w));
       }},
      {"hash_buckets", "integer", "0",
       "hash fields with more distinct values than this into this many buckets (0: never)", false,
       [](const YAML::Node& n, const Where& w, FeatureSection& f) {
         f.hash_buckets = at_least(as_int(n, w), 0, w);
       }},
      {"max_tokens", "integer", "8", "values kept per multi-hot field", false,
       [](const YAML::Node& n, const Where& w, FeatureSection& f) {
         f.max_tokens = static_cast<int>(at_least(as_int(n, w), 1, w));
       }},
  };
  return keys;
}

const std::vector<Key<Recipe>>& recipe_keys() {
  static const std::vector<Key<Recipe>> keys = {
      {"name", "string", "(required)", "the study's name: results go to `results/<name>/`", true,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.name = as_string(n, w);
         if (r.name.empty() || r.name.find_first_of("/\\ ") != std::string::npos)
           w.fail("name must be non-empty, without '/' or spaces");
       }},
      {"description", "string", "\"\"", "one line shown at the top of the report", false,
       [](const YAML::Node& n, const Where& w, Recipe& r) { r.description = as_string(n, w); }},
      {"task", "string", "topn",
       "`topn` (top-N recommendation), `ctr` (click-through rate) or `seq` (next item)", false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.task = as_string(n, w);
         if (r.task != "topn" && r.task != "ctr" && r.task != "seq")
           w.fail("task must be topn, ctr or seq");
       }},
      {"data", "string", "(required)",
       "dataset: `synthetic[:k=v,...]`, a name under the data root (`ml-100k`, `ml-1m`, ...) or a "
       "file",
       true, [](const YAML::Node& n, const Where& w, Recipe& r) { r.data = as_string(n, w); }},
      {"split", "string", "loo / random:0.8,0.1,0.1 / loo",
       "top-N: `loo`, `loo_random`, `temporal[:train,valid]`, `random[:...]`; CTR: "
       "`random:TRAIN,VALID,TEST` or `temporal:...`; next-item: `loo` (by time)",
       false, [](const YAML::Node& n, const Where& w, Recipe& r) { r.split = as_string(n, w); }},
      {"protocol", "string", "sampled:uniform:99 / - / sampled:popularity:100",
       "validation protocol (model selection) and the headline test protocol (not for CTR: every "
       "test row is scored)",
       false, [](const YAML::Node& n, const Where& w, Recipe& r) { r.protocol = as_string(n, w); }},
      {"extra_protocols", "list of strings", "[]",
       "more test protocols reported for every model, e.g. `[full]` (top-N, next-item)", false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.extra_protocols = as_list<std::string>(n, w, as_string);
       }},
      {"metrics", "string", "hr@5,10 ndcg@5,10 / AUC LogLoss GAUC / hr@1,5,10 ndcg@5,10 mrr@1000",
       "metrics to report (CTR: always AUC, LogLoss and GAUC)", false,
       [](const YAML::Node& n, const Where& w, Recipe& r) { r.metrics = as_string(n, w); }},
      {"monitor", "string", "NDCG@10 / AUC / NDCG@10",
       "validation metric for early stopping, learning-rate tuning and the headline (CTR: `AUC` or "
       "`LogLoss`)",
       false, [](const YAML::Node& n, const Where& w, Recipe& r) { r.monitor = as_string(n, w); }},
      {"seeds", "integer or list", "[1]",
       "seeds; every run is repeated per seed (mean +- std); CTR splits are drawn per seed", false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.seeds = as_list<std::int64_t>(n, w, as_int);
       }},
      {"features", "mapping", "(defaults below)", "CTR: how rows become features (keys below)",
       false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         apply(feature_keys(), n, w.file, "features", r.features);
       }},
      {"teacher", "mapping", "(required)", "how the teacher is trained (keys below)", true,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         apply(train_keys(), n, w.file, "teacher", r.teacher);
         if (r.teacher.models.size() * std::max<std::size_t>(1, r.teacher.dims.size()) != 1)
           w.fail("one teacher model (a grid of teachers is not supported)");
       }},
      {"baselines", "string or list", "[]",
       "models trained alone with the teacher's settings and reported beside it (e.g. `[lr, "
       "\"fm:dim=16\"]` next to a DeepFM teacher)",
       false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.baselines = as_list<std::string>(n, w, as_string);
       }},
      {"student", "mapping", "(required)", "how every student is trained (keys below)", true,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         apply(train_keys(), n, w.file, "student", r.student);
       }},
      {"methods", "string or list", "[none]",
       "distillation per student: `none` (alone), a method (`kd`, `derrd:de=0.1`), a weighted one "
       "(`de@0.1`), or several joined with `+` (`hint+kd`); a list is a grid dimension; `[]`: no "
       "student rows (the teacher and baselines only)",
       false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.methods = n.IsSequence() && n.size() == 0 ? std::vector<std::string>{}
                                                     : as_list<std::string>(n, w, as_string);
       }},
      {"ensemble", "list of strings", "[]",
       "multi-teacher: two or more of the teacher and baselines (their specs); their mean teaches "
       "every student with each of `ensemble_methods`",
       false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.ensemble = as_list<std::string>(n, w, as_string);
       }},
      {"ensemble_methods", "string or list", "[]", "the methods distilled from `ensemble`", false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.ensemble_methods = as_list<std::string>(n, w, as_string);
       }},
      {"search", "mapping", "(none)",
       "a budgeted student search before the students (keys below); its choice joins them", false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         apply(search_keys(), n, w.file, "search", r.search);
       }},
      {"export", "string or list", "[fp32, fp16, int8]",
       "dtypes each student is exported to (.rpm) and measured in the runtime (every task)", false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.exports = as_list<std::string>(n, w, as_string);
         for (const auto& d : r.exports)
           if (d != "fp32" && d != "fp16" && d != "int8") w.fail("export dtypes: fp32, fp16, int8");
       }},
      {"latency_users", "integer", "300", "queries timed for the latency columns", false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.latency_users = as_int(n, w);
         if (r.latency_users < 1) w.fail("latency_users must be >= 1");
       }},
  };
  return keys;
}

// ------------------------------------------------------------ checks that depend on the task

Where where_of(const Recipe& r, const std::string& file, const std::string& key) {
  const auto it = r.lines.find(key);
  return {file, it == r.lines.end() ? 0 : it->second, key};
}

// The smallest inputs a model of each task can be built on: enough to run its own parameter
// checks (names, types, bounds) before any data is read.
void check_model(const std::string& task, const std::string& spec) {
  const ModelSpec s = ModelSpec::parse(spec);
  if (task == "topn") {
    create_topn_model(s, 2, 2);
  } else if (task == "seq") {
    create_seq_model(s, 2);
  } else {
    CtrLayout layout;
    CtrField field;
    field.name = "f";
    field.kind = "categorical";
    field.vocab = 2;
    layout.sparse.push_back(field);
    layout.vocab_size = 2;
    layout.slots = 1;
    create_ctr_model(s, layout);
  }
}

void check_methods(const std::string& task, const std::vector<std::string>& methods) {
  for (const auto& m : methods) {
    if (m == "none") continue;
    if (task == "topn")
      parse_distillation_terms({m});
    else if (task == "ctr")
      parse_ctr_distillation_terms({m});
    else
      parse_seq_distillation_terms({m});
  }
}

TrainTask train_task_of(const std::string& task) {
  return task == "ctr" ? TrainTask::kCtr : task == "seq" ? TrainTask::kSeq : TrainTask::kTopN;
}

// The section's options: the task's declared defaults with the written keys applied, each error
// naming the key's line; an option the task does not have is refused.
void finish_section(TrainSection& t, const Recipe& r, const std::string& file,
                    const std::string& prefix) {
  t.options = TrainOptions(train_task_of(r.task));
  auto where = [&](const std::string& key) {
    const auto it = t.given.find(key);
    return Where{file, it == t.given.end() ? 0 : it->second, prefix + "." + key};
  };
  for (const auto& [key, value] : t.written) {
    if (!t.options.uses(key))
      where(key).fail(r.task == "ctr" ? "not used by CTR (BCE on the labels)"
                                      : "not used by next-item (the model spec names its loss, "
                                        "e.g. sasrec:loss=ce)");
    check_value(where(key), [&] { t.options.set(key, value); });
  }
  t.lrs.clear();
  for (const auto& lr : t.written_lrs) {
    check_value(where("lr"), [&] { t.options.set("lr", lr); });
    t.lrs.push_back(t.options.lr);
  }
  if (t.lrs.empty()) t.lrs.push_back(t.options.lr);
  t.options.lr = t.lrs.front();
  check_value(where("optimizer"),
              [&] { validate_optimizer(t.options.optimizer_config(), prefix); });
  const auto line = t.given.count("model") ? t.given.at("model") : 0;
  for (const auto& m : t.expanded_models())
    check_value(Where{file, line, prefix + ".model"}, [&] { check_model(r.task, m); });
}

void finish(Recipe& r, const std::string& file) {
  const bool ctr = r.task == "ctr", seq = r.task == "seq";
  auto at = [&](const std::string& key) { return where_of(r, file, key); };
  if (r.split.empty()) r.split = ctr ? "random:0.8,0.1,0.1" : "loo";
  if (r.monitor.empty()) r.monitor = ctr ? "AUC" : "NDCG@10";
  if (!r.lines.count("export")) r.exports = {"fp32", "fp16", "int8"};
  if (ctr) {
    for (const char* key : {"protocol", "extra_protocols", "metrics"})
      if (r.lines.count(key))
        at(key).fail("not used by CTR: every test row is scored and AUC, LogLoss, GAUC reported");
    if (r.split.rfind("random", 0) != 0 && r.split.rfind("temporal", 0) != 0)
      at("split").fail("CTR splits: random:TRAIN,VALID,TEST or temporal:TRAIN,VALID,TEST");
    std::string lower;
    for (const char c : r.monitor) lower += static_cast<char>(std::tolower(c));
    if (lower != "auc" && lower != "logloss") at("monitor").fail("CTR monitors: AUC or LogLoss");
    r.monitor = lower == "auc" ? "AUC" : "LogLoss";
    r.protocol = "rows";
    r.metrics = "AUC LogLoss GAUC";
  } else {
    if (r.lines.count("features")) at("features").fail("only for task ctr");
    if (r.protocol.empty()) r.protocol = seq ? "sampled:popularity:100" : "sampled:uniform:99";
    if (r.metrics.empty()) r.metrics = seq ? "hr@1,5,10 ndcg@5,10 mrr@1000" : "hr@5,10 ndcg@5,10";
    check_value(at("split"), [&] { SplitConfig::parse(r.split, 1); });
    if (seq && r.split != "loo")
      at("split").fail("next-item studies split leave-one-out by time: loo");
    check_value(at("protocol"), [&] { Protocol::parse(r.protocol); });
    for (const auto& p : r.extra_protocols)
      check_value(at("extra_protocols"), [&] { Protocol::parse(p); });
    bool monitored = false;
    check_value(at("metrics"), [&] {
      for (const auto& m : parse_metrics(r.metrics)) monitored = monitored || m.name() == r.monitor;
    });
    if (!monitored)
      at("monitor").fail("'" + r.monitor + "' is not among the metrics '" + r.metrics + "'");
  }
  finish_section(r.teacher, r, file, "teacher");
  finish_section(r.student, r, file, "student");
  for (const auto& b : r.baselines) check_value(at("baselines"), [&] { check_model(r.task, b); });
  check_value(at("methods"), [&] { check_methods(r.task, r.methods); });
  for (const auto& c : r.search.candidates)
    check_value(at("search"), [&] { check_model(r.task, c); });
  if (!r.search.candidates.empty())
    check_value(at("search"), [&] { check_methods(r.task, {r.search.method}); });
  check_value(at("ensemble_methods"), [&] { check_methods(r.task, r.ensemble_methods); });
  if (!r.ensemble.empty() || !r.ensemble_methods.empty()) {
    if (seq) at("ensemble").fail("next-item distillation takes one teacher (no ensembles yet)");
    if (r.ensemble.size() < 2) at("ensemble").fail("an ensemble needs two or more models");
    if (r.ensemble_methods.empty())
      at("ensemble").fail("say which methods distil from it: ensemble_methods: [kd]");
    for (const auto& m : r.ensemble) {
      const bool known = m == r.teacher.expanded_models().front() ||
                         std::find(r.baselines.begin(), r.baselines.end(), m) != r.baselines.end();
      if (!known) at("ensemble").fail("'" + m + "' is neither the teacher nor a baseline");
    }
    for (const auto& m : r.ensemble_methods)
      if (m == "none") at("ensemble_methods").fail("`none` trains no teacher; list methods");
  }
}

}  // namespace

std::vector<std::string> TrainSection::expanded_models() const {
  if (dims.empty()) return models;
  std::vector<std::string> out;
  for (const auto& m : models) {
    const auto colon = m.find(':');
    const std::string name = m.substr(0, colon);
    std::string params = colon == std::string::npos ? "" : m.substr(colon + 1);
    // Drop an existing dim=... so the grid's value wins.
    std::string kept;
    std::stringstream ss(params);
    std::string item;
    while (std::getline(ss, item, ','))
      if (item.rfind("dim=", 0) != 0 && !item.empty()) kept += "," + item;
    for (const auto d : dims) out.push_back(name + ":dim=" + std::to_string(d) + kept);
  }
  return out;
}

Recipe Recipe::parse_text(const std::string& yaml, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    throw DataError(file, static_cast<std::size_t>(e.mark.line) + 1, "", e.msg);
  }
  Recipe r;
  r.path = file;
  apply(recipe_keys(), root, file, "", r);
  finish(r, file);
  return r;
}

Recipe Recipe::parse_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot read the recipe");
  std::stringstream text;
  text << in.rdbuf();
  return parse_text(text.str(), path);
}

namespace {

using Declared = std::vector<std::tuple<std::string, std::string, ParamDecls>>;

// One table per task of every entry's declared parameters (`what`: "model" or "method"). A model
// without parameters gets a row saying so; a method without declared ones (derrd) none.
void param_tables(std::ostringstream& o, const std::string& what,
                  const std::vector<std::pair<std::string, Declared>>& groups) {
  for (const auto& [title, entries] : groups) {
    o << "\n### " << title << "\n\n| " << what
      << " | parameter | type | default | range | meaning |\n"
      << "|---|---|---|---|---|---|\n";
    for (const auto& [name, help, params] : entries) {
      if (params.empty() && what == "model")
        o << "| `" << name << "` | - | | | | " << help << " (no parameters) |\n";
      for (const auto& p : params)
        o << "| `" << name << "` | `" << p.name << "` | " << p.type_text() << " | "
          << (p.default_value.empty() ? "(see meaning)" : "`" + p.default_value + "`") << " | "
          << p.range_text() << " | " << p.doc << " |\n";
    }
  }
}

}  // namespace

std::string recipe_reference() {
  std::ostringstream o;
  o << "# Recipe reference\n\n"
       "Generated from the key table in `src/pipeline/recipe.cc` (`recpress run --reference`);\n"
       "a test checks this file against it. A recipe is validated completely before anything\n"
       "runs: unknown keys, wrong types and missing required keys are errors that name the file,\n"
       "the line and the key. Lists are grid dimensions: the runs are every combination of\n"
       "`seeds` x `student.model` x `student.dim` x `methods` (plus `ensemble_methods`), except\n"
       "a list of `lr`, which is tuned on the first seed. `task` selects what is valid; where\n"
       "defaults differ they read top-N / CTR / next-item.\n\n"
       "## Top-level keys\n\n| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& k : recipe_keys())
    o << "| `" << k.name << "` | " << k.type << " | " << k.default_text << " | " << k.doc << " |\n";
  o << "\n## `teacher` and `student` keys\n\n| key | type | default | meaning "
       "|\n|---|---|---|---|\n";
  for (const auto& k : train_keys())
    o << "| `" << k.name << "` | " << k.type << " | " << k.default_text << " | " << k.doc << " |\n";
  o << "\n## Training options\n\n"
       "Declared once (`src/train/options.cc`): the `teacher`/`student` keys above, the flags of\n"
       "`recpress train`/`distill`, `ctr train`/`ctr distill` and `seq train`/`seq distill`, the\n"
       "keys of their options files (`--options FILE`) and the `config` stored in checkpoints all\n"
       "come from this table. In a recipe, `monitor`, `protocol` and `metrics` are top-level keys\n"
       "(one per study) and `seed` comes from `seeds`.\n\n"
    << train_options_reference();
  o << "\n## `features` keys (CTR)\n\n| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& k : feature_keys())
    o << "| `" << k.name << "` | " << k.type << " | " << k.default_text << " | " << k.doc << " |\n";
  o << "\n## `search` keys\n\n| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& k : search_keys())
    o << "| `" << k.name << "` | " << k.type << " | " << k.default_text << " | " << k.doc << " |\n";
  o << "\n## Model parameters\n\n"
       "What a `model:` spec (`name:key=value,...`) may set, from each model file's declaration\n"
       "(`core/params.h`); an unknown key, a wrong type or a value out of range is an error "
       "naming\n"
       "the model and the key, raised while the recipe is read.\n";
  param_tables(o, "model",
               {{"Top-N (`task: topn`)", topn_model_params()},
                {"CTR (`task: ctr`)", ctr_model_params()},
                {"Next item (`task: seq`)", seq_model_params()}});
  o << "\n## Distillation method parameters\n\n"
       "What a method spec (`kd:temperature=2`) may set, from each method file's declaration.\n"
       "`derrd` is not listed: its keys are `de` and `rrd` (the two weights, default 1) and\n"
       "`de.X` / `rrd.X`, which pass parameter X to its `de` or `rrd` part (checked there).\n";
  param_tables(o, "method",
               {{"Top-N", distiller_params()},
                {"CTR", ctr_distiller_params()},
                {"Next item", seq_distiller_params()}});
  return o.str();
}

}  // namespace recpress::pipeline
