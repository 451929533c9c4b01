#include "pipeline/recipe.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "core/errors.h"
#include "data/split.h"
#include "distill/topn/distiller.h"
#include "eval/metrics.h"
#include "eval/protocol.h"
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
  const char* name;
  const char* type;  // for the reference
  const char* default_text;
  const char* doc;
  bool required;
  std::function<void(const YAML::Node&, const Where&, Target&)> set;
};

const std::vector<Key<TrainSection>>& train_keys() {
  static const std::vector<Key<TrainSection>> keys = {
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
      {"loss", "string", "bce", "`bce` (with `negatives` per positive) or `bpr`", false,
       [](const YAML::Node& n, const Where& w, TrainSection& t) {
         t.loss = as_string(n, w);
         if (t.loss != "bce" && t.loss != "bpr") w.fail("loss must be bce or bpr");
       }},
      {"negatives", "integer", "4", "sampled negatives per positive (bce)", false,
       [](const YAML::Node& n, const Where& w, TrainSection& t) {
         t.negatives = static_cast<int>(at_least(as_int(n, w), 1, w));
       }},
      {"batch_size", "integer", "256", "mini-batch size", false,
       [](const YAML::Node& n, const Where& w, TrainSection& t) {
         t.batch_size = at_least(as_int(n, w), 1, w);
       }},
      {"epochs", "integer", "20", "maximum epochs", false,
       [](const YAML::Node& n, const Where& w, TrainSection& t) {
         t.epochs = static_cast<int>(at_least(as_int(n, w), 1, w));
       }},
      {"optimizer", "string", "adam", "`adam`, `lazyadam`, `sgd` or `adagrad`", false,
       [](const YAML::Node& n, const Where& w, TrainSection& t) {
         t.optimizer = as_string(n, w);
         check_value(w, [&] {
           validate_optimizer({t.optimizer, 1e-3, 0, "constant"}, "optimizer");
         });
       }},
      {"lr", "number", "0.001", "learning rate", false,
       [](const YAML::Node& n, const Where& w, TrainSection& t) {
         t.lr = as_double(n, w);
         check_value(w, [&] { validate_optimizer({"adam", t.lr, 0, "constant"}, "lr"); });
       }},
      {"weight_decay", "number", "0", "L2 weight decay", false,
       [](const YAML::Node& n, const Where& w, TrainSection& t) {
         t.weight_decay = as_double(n, w);
         check_value(w, [&] {
           validate_optimizer({"adam", 1e-3, t.weight_decay, "constant"}, "weight_decay");
         });
       }},
      {"schedule", "string", "constant", "`constant`, `cosine` or `step:EVERY,GAMMA`", false,
       [](const YAML::Node& n, const Where& w, TrainSection& t) {
         t.schedule = as_string(n, w);
         check_value(w, [&] { validate_optimizer({"adam", 1e-3, 0, t.schedule}, "schedule"); });
       }},
      {"patience", "integer", "5", "early-stopping patience in epochs (0: off)", false,
       [](const YAML::Node& n, const Where& w, TrainSection& t) {
         t.patience = static_cast<int>(at_least(as_int(n, w), 0, w));
       }},
  };
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
  }
  for (const auto& k : keys)
    if (k.required && !map[k.name])
      Where{file, line_of(map), prefix.empty() ? k.name : prefix + "." + k.name}.fail(
          "required key missing");
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
      {"data", "string", "(required)",
       "dataset: `synthetic[:k=v,...]`, a name under the data root (`ml-100k`, `ml-1m`, ...) or a "
       "file",
       true, [](const YAML::Node& n, const Where& w, Recipe& r) { r.data = as_string(n, w); }},
      {"split", "string", "loo", "`loo`, `loo_random`, `temporal[:train,valid]`, `random[:...]`",
       false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.split = as_string(n, w);
         check_value(w, [&] { SplitConfig::parse(r.split, 1); });
       }},
      {"protocol", "string", "sampled:uniform:99",
       "validation protocol (model selection) and the headline test protocol", false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.protocol = as_string(n, w);
         check_value(w, [&] { Protocol::parse(r.protocol); });
       }},
      {"extra_protocols", "list of strings", "[]",
       "more test protocols reported for every model, e.g. `[full]`", false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.extra_protocols = as_list<std::string>(n, w, as_string);
         for (const auto& p : r.extra_protocols) check_value(w, [&] { Protocol::parse(p); });
       }},
      {"metrics", "string", "hr@5,10 ndcg@5,10", "metrics to report", false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.metrics = as_string(n, w);
         check_value(w, [&] { parse_metrics(r.metrics); });
       }},
      {"monitor", "string", "NDCG@10", "validation metric for early stopping and the headline",
       false, [](const YAML::Node& n, const Where& w, Recipe& r) { r.monitor = as_string(n, w); }},
      {"seeds", "integer or list", "[1]", "seeds; every run is repeated per seed (mean +- std)",
       false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.seeds = as_list<std::int64_t>(n, w, as_int);
       }},
      {"teacher", "mapping", "(required)", "how the teacher is trained (keys below)", true,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         apply(train_keys(), n, w.file, "teacher", r.teacher);
         if (r.teacher.models.size() * std::max<std::size_t>(1, r.teacher.dims.size()) != 1)
           w.fail("one teacher model (a grid of teachers is not supported)");
       }},
      {"student", "mapping", "(required)", "how every student is trained (keys below)", true,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         apply(train_keys(), n, w.file, "student", r.student);
       }},
      {"methods", "string or list", "[none]",
       "distillation per student: `none` (alone), a method (`kd`, `derrd:de=0.1`), a weighted one "
       "(`de@0.1`), or several joined with `+` (`hint+kd`); a list is a grid dimension",
       false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.methods = as_list<std::string>(n, w, as_string);
         for (const auto& m : r.methods)
           if (m != "none") check_value(w, [&] { parse_distillation_terms({m}); });
       }},
      {"export", "string or list", "[fp32, fp16, int8]",
       "dtypes each student is exported to (.rpm) and measured in the runtime", false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.exports = as_list<std::string>(n, w, as_string);
         for (const auto& d : r.exports)
           if (d != "fp32" && d != "fp16" && d != "int8") w.fail("export dtypes: fp32, fp16, int8");
       }},
      {"latency_users", "integer", "300", "users timed for the latency columns", false,
       [](const YAML::Node& n, const Where& w, Recipe& r) {
         r.latency_users = as_int(n, w);
         if (r.latency_users < 1) w.fail("latency_users must be >= 1");
       }},
  };
  return keys;
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
  return r;
}

Recipe Recipe::parse_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot read the recipe");
  std::stringstream text;
  text << in.rdbuf();
  return parse_text(text.str(), path);
}

std::string recipe_reference() {
  std::ostringstream o;
  o << "# Recipe reference\n\n"
       "Generated from the key table in `src/pipeline/recipe.cc` (`recpress run --reference`);\n"
       "a test checks this file against it. A recipe is validated completely before anything\n"
       "runs: unknown keys, wrong types and missing required keys are errors that name the file,\n"
       "the line and the key. Lists are grid dimensions: the runs are every combination of\n"
       "`seeds` x `student.model` x `student.dim` x `methods`.\n\n"
       "## Top-level keys\n\n| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& k : recipe_keys())
    o << "| `" << k.name << "` | " << k.type << " | " << k.default_text << " | " << k.doc << " |\n";
  o << "\n## `teacher` and `student` keys\n\n| key | type | default | meaning "
       "|\n|---|---|---|---|\n";
  for (const auto& k : train_keys())
    o << "| `" << k.name << "` | " << k.type << " | " << k.default_text << " | " << k.doc << " |\n";
  return o.str();
}

}  // namespace recpress::pipeline
