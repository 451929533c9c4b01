#include "pipeline/runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/format.h"
#include "core/hash.h"
#include "data/split.h"
#include "distill/topn/distiller.h"
#include "eval/evaluator.h"
#include "eval/result.h"
#include "eval/runtime_scorer.h"
#include "export/rpm_export.h"
#include "git_commit.h"  // generated: RECPRESS_GIT_COMMIT
#include "models/topn/scorer.h"
#include "pipeline/report.h"
#include "runtime/model.h"
#include "runtime/topk.h"
#include "sys/doctor.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace recpress::pipeline {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

std::string short_hash(const json& key) {
  const std::string text = key.dump();
  Fnv1a h;
  h.add(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  std::ostringstream o;
  o << std::hex << std::setw(16) << std::setfill('0') << h.value();
  return o.str().substr(0, 12);
}

std::string folder_safe(const std::string& s) {
  std::string out;
  for (const char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' ? c : '-';
  return out;
}

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

// The recipe's section as the trainer's configuration.
TrainConfig train_config(const TrainSection& t, const Recipe& r, std::int64_t seed, bool quiet) {
  TrainConfig c;
  c.loss = t.loss;
  c.negatives = t.negatives;
  c.batch_size = t.batch_size;
  c.epochs = t.epochs;
  c.optimizer = t.optimizer;
  c.lr = t.lr;
  c.weight_decay = t.weight_decay;
  c.schedule = t.schedule;
  c.patience = t.patience;
  c.protocol = r.protocol;
  c.metrics = r.metrics;
  c.monitor = r.monitor;
  c.seed = static_cast<std::uint64_t>(seed);
  c.show_progress = !quiet;
  c.validate();
  return c;
}

json metrics_json(const EvalResult& e) {
  json m = json::object();
  for (const auto& [k, v] : e.metrics) m[k] = v;
  return m;
}

struct Trained {
  TopNModelPtr model;
  json record;
  std::string hash;
  fs::path dir;
};

// Everything one study needs while it runs.
struct Context {
  const Recipe& recipe;
  const Dataset& data;
  const RunOptions& options;
  fs::path root;
  int done = 0, total = 0;
};

// Train (or reuse, or resume) one model. `teacher` is null for the teacher and for students alone.
Trained train_or_reuse(Context& ctx, const std::string& role, const std::string& spec,
                       const TrainSection& section, const std::string& method,
                       const Trained* teacher, std::int64_t seed, const Split& split) {
  const TrainConfig config = train_config(section, ctx.recipe, seed, ctx.options.quiet);
  json key = {{"role", role},
              {"data", ctx.data.checksum()},
              {"split", split.config.to_string()},
              {"seed", seed},
              {"model", spec},
              {"config", config.to_json()},
              {"method", method},
              {"teacher", teacher ? teacher->hash : ""}};
  key["config"].erase("show_progress");
  Trained t;
  t.hash = short_hash(key);
  const bool alone = method.empty() || method == "none";
  std::ostringstream folder, what_text;
  folder << role << "-" << spec << (alone ? std::string() : "-" + method) << "-s" << seed << "-"
         << t.hash;
  t.dir = ctx.root / "runs" / folder_safe(folder.str());
  ++ctx.done;
  what_text << "[" << ctx.done << "/" << ctx.total << "] " << role << " " << spec
            << (alone ? std::string() : " + " + method) << ", seed " << seed;
  const std::string what = what_text.str();
  const fs::path record_path = t.dir / "record.json";
  if (fs::exists(record_path)) {
    std::cout << what << ": cached (" << t.dir.string() << ")\n" << std::flush;
    t.record = read_json(record_path);
    t.model = load_topn_checkpoint((t.dir / "best.pt").string(), &ctx.data);
    return t;
  }
  const bool resume = fs::exists(t.dir / "last.pt");
  std::cout << what << (resume ? ": resuming\n" : ": training\n") << std::flush;
  torch::manual_seed(static_cast<std::uint64_t>(seed));
  t.model = create_topn_model(ModelSpec::parse(spec), ctx.data.num_users(), ctx.data.num_items());
  Trainer trainer(ctx.data, split, t.model, config);
  if (teacher != nullptr)
    trainer.distill_from({teacher->model, parse_distillation_terms({method}), false});
  const TrainResult r = trainer.fit(t.dir.string(), resume ? (t.dir / "last.pt").string() : "");
  json test = json::object();
  test[ctx.recipe.protocol] = metrics_json(r.test);
  for (const auto& p : ctx.recipe.extra_protocols) {
    const Evaluator e(ctx.data, split, EvalTarget::kTest, Protocol::parse(p),
                      parse_metrics(ctx.recipe.metrics), static_cast<std::uint64_t>(seed));
    test[p] = metrics_json(e.evaluate(TopNScorer(t.model)));
  }
  json history = json::array();
  for (const auto& h : r.history)
    history.push_back(
        {{"epoch", h.value("epoch", 0)},
         {"valid", h.contains("valid") ? h["valid"].value(ctx.recipe.monitor, 0.0) : 0.0}});
  t.record = {{"role", role},
              {"seed", seed},
              {"model", spec},
              {"method", method.empty() ? "none" : method},
              {"parameters", t.model->parameter_count()},
              {"bytes", t.model->byte_size()},
              {"best_epoch", r.best_epoch},
              {"epochs_run", r.epochs_run},
              {"seconds_per_epoch", r.seconds_per_epoch},
              {"samples_per_second", r.samples_per_second},
              {"folder", t.dir.string()},
              {"hash", t.hash},
              {"test", test},
              {"history", history}};
  write_file_atomic(record_path.string(), t.record.dump(2) + "\n");
  std::cout << "    test " << ctx.recipe.monitor << " "
            << fixed(r.test.metrics.count(ctx.recipe.monitor)
                         ? r.test.metrics.at(ctx.recipe.monitor)
                         : 0.0,
                     4)
            << " (best epoch " << r.best_epoch << ")\n"
            << std::flush;
  return t;
}

struct Percentiles {
  double p50 = 0, p99 = 0;
};
template <typename F>
Percentiles time_users(std::size_t users, F&& query) {
  std::vector<double> us;
  for (std::size_t r = 0; r < users + 10; ++r) {  // the first 10 warm up
    const auto t0 = std::chrono::steady_clock::now();
    query(static_cast<std::uint32_t>(r % users));
    const double t =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    if (r >= 10) us.push_back(t);
  }
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[std::min(us.size() - 1,
                       static_cast<std::size_t>(q * static_cast<double>(us.size())))];
  };
  return {at(0.5), at(0.99)};
}

// The teacher in LibTorch: full-catalog top-10 latency per user, one thread.
json teacher_efficiency(Context& ctx, const Trained& t) {
  const fs::path cached = t.dir / "efficiency.json";
  if (fs::exists(cached)) return read_json(cached);
  torch::NoGradGuard guard;
  const auto users = static_cast<std::size_t>(
      std::min<std::int64_t>(ctx.recipe.latency_users, ctx.data.num_users()));
  const auto p = time_users(users, [&](std::uint32_t u) {
    const auto row = t.model->score_all(torch::tensor({static_cast<std::int64_t>(u)}, torch::kLong))
                         .contiguous();
    runtime::top_k({row.data_ptr<float>(), static_cast<std::size_t>(row.size(1))}, 10);
  });
  json e = {{"engine", "libtorch"},
            {"file_bytes", fs::file_size(t.dir / "best.pt")},
            {"flops_per_item", checkpoint_flops_per_item((t.dir / "best.pt").string())},
            {"p50_us", p.p50},
            {"p99_us", p.p99}};
  write_file_atomic(cached.string(), e.dump(2) + "\n");
  return e;
}

// A student exported per dtype and measured in the runtime: file size, accuracy after export
// (headline protocol), latency.
json student_efficiency(Context& ctx, const Trained& t, const Split& split, std::int64_t seed) {
  const fs::path cached = t.dir / "efficiency.json";
  if (fs::exists(cached)) return read_json(cached);
  json out = json::array();
  for (const auto& dtype : ctx.recipe.exports) {
    const fs::path file = t.dir / ("student-" + dtype + ".rpm");
    ExportOptions o;
    o.dtype = runtime::parse_dtype(dtype);
    o.seen_from = &ctx.data;
    try {
      export_model((t.dir / "best.pt").string(), file.string(), o);
    } catch (const Error& e) {
      out.push_back({{"dtype", dtype}, {"error", e.what()}});
      continue;
    }
    const runtime::Model m = runtime::Model::open(file.string());
    const Evaluator e(ctx.data, split, EvalTarget::kTest, Protocol::parse(ctx.recipe.protocol),
                      parse_metrics(ctx.recipe.metrics), static_cast<std::uint64_t>(seed));
    const EvalResult acc = e.evaluate(RuntimeScorer(m, dtype));
    const auto users = static_cast<std::size_t>(
        std::min<std::int64_t>(ctx.recipe.latency_users, ctx.data.num_users()));
    const auto p = time_users(users, [&](std::uint32_t u) { m.recommend(u, 10, false); });
    out.push_back({{"dtype", dtype},
                   {"file", file.string()},
                   {"file_bytes", m.file_bytes()},
                   {"flops_per_item", m.flops_per_item()},
                   {"test", metrics_json(acc)},
                   {"p50_us", p.p50},
                   {"p99_us", p.p99}});
  }
  write_file_atomic(cached.string(), out.dump(2) + "\n");
  return out;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (const double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}
double std_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean_of(v);
  double s = 0;
  for (const double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

// One row per (role, model, method): mean and std over seeds of every headline metric.
json summarise(const Recipe& r, const json& runs) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const json*>> groups;
  for (const auto& run : runs) {
    const std::string key = run["role"].get<std::string>() + "|" + run["model"].get<std::string>() +
                            "|" + run["method"].get<std::string>();
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(&run);
  }
  json rows = json::array();
  double teacher_headline = 0;
  std::map<std::string, double> alone;  // model -> headline of the student alone
  for (const auto& key : order) {
    const auto& g = groups[key];
    const json& first = *g.front();
    json row = {
        {"role", first["role"]}, {"model", first["model"]},           {"method", first["method"]},
        {"seeds", g.size()},     {"parameters", first["parameters"]}, {"bytes", first["bytes"]}};
    json metrics = json::object();
    for (const auto& [name, value] : first["test"][r.protocol].items()) {
      std::vector<double> v;
      for (const auto* run : g) v.push_back((*run)["test"][r.protocol][name].get<double>());
      metrics[name] = {{"mean", mean_of(v)}, {"std", std_of(v)}};
    }
    row["test"] = metrics;
    for (const char* field : {"best_epoch", "seconds_per_epoch"}) {
      std::vector<double> v;
      for (const auto* run : g) v.push_back((*run)[field].get<double>());
      row[field] = mean_of(v);
    }
    const double headline =
        metrics.contains(r.monitor) ? metrics[r.monitor]["mean"].get<double>() : 0;
    if (first["role"] == "teacher") teacher_headline = headline;
    if (first["role"] == "student" && first["method"] == "none")
      alone[first["model"].get<std::string>()] = headline;
    rows.push_back(row);
  }
  for (auto& row : rows) {
    const double h =
        row["test"].contains(r.monitor) ? row["test"][r.monitor]["mean"].get<double>() : 0;
    if (teacher_headline > 0) row["kept_percent"] = 100 * h / teacher_headline;
    const auto it = alone.find(row["model"].get<std::string>());
    if (row["role"] == "student" && it != alone.end() && it->second > 0)
      row["vs_alone_percent"] = 100 * (h / it->second - 1);
  }
  return rows;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace

json run_study(const Recipe& recipe, const Dataset& data, const RunOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  Context ctx{recipe, data, options, fs::path(options.output_root) / recipe.name};
  fs::create_directories(ctx.root / "runs");
  // Validate everything that can be checked without training: protocols, metrics, methods.
  Protocol::parse(recipe.protocol);
  for (const auto& p : recipe.extra_protocols) Protocol::parse(p);
  parse_metrics(recipe.metrics);
  for (const auto& m : recipe.methods)
    if (m != "none") parse_distillation_terms({m});
  const auto students = recipe.student.expanded_models();
  for (const auto& s : students) create_topn_model(ModelSpec::parse(s), 1, 1);
  const std::string teacher_spec = recipe.teacher.expanded_models().front();
  create_topn_model(ModelSpec::parse(teacher_spec), 1, 1);
  ctx.total = static_cast<int>(recipe.seeds.size() * (1 + students.size() * recipe.methods.size()));

  json runs = json::array(), efficiency = json::array();
  for (const auto seed : recipe.seeds) {
    const Split split =
        make_split(data, SplitConfig::parse(recipe.split, static_cast<std::uint64_t>(seed)));
    const Trained teacher =
        train_or_reuse(ctx, "teacher", teacher_spec, recipe.teacher, "none", nullptr, seed, split);
    runs.push_back(teacher.record);
    const bool measure = seed == recipe.seeds.front();  // efficiency: the first seed's models
    if (measure)
      efficiency.push_back({{"role", "teacher"},
                            {"model", teacher_spec},
                            {"method", "none"},
                            {"parameters", teacher.model->parameter_count()},
                            {"runs", json::array({teacher_efficiency(ctx, teacher)})}});
    for (const auto& spec : students) {
      for (const auto& method : recipe.methods) {
        const Trained s = train_or_reuse(ctx, "student", spec, recipe.student, method,
                                         method == "none" ? nullptr : &teacher, seed, split);
        runs.push_back(s.record);
        if (measure)
          efficiency.push_back({{"role", "student"},
                                {"model", spec},
                                {"method", method},
                                {"parameters", s.model->parameter_count()},
                                {"runs", student_efficiency(ctx, s, split, seed)}});
      }
    }
  }
  const auto versions = software_versions();
  json results = {
      {"recipe", recipe.name},
      {"recipe_path", recipe.path},
      {"description", recipe.description},
      {"created", utc_now()},
      {"git_commit", RECPRESS_GIT_COMMIT},
      {"versions",
       {{"recpress", versions.recpress}, {"libtorch", versions.torch}, {"blas", versions.blas}}},
      {"data",
       {{"name", data.name},
        {"checksum", data.checksum()},
        {"users", data.num_users()},
        {"items", data.num_items()},
        {"interactions", data.interactions.size()}}},
      {"split", recipe.split},
      {"protocol", recipe.protocol},
      {"extra_protocols", recipe.extra_protocols},
      {"monitor", recipe.monitor},
      {"seeds", recipe.seeds},
      {"summary", summarise(recipe, runs)},
      {"efficiency", efficiency},
      {"runs", runs},
      {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
  write_file_atomic((ctx.root / "results.json").string(), results.dump(2) + "\n");
  write_report(results, ctx.root.string());
  return results;
}

std::string summary_table(const json& results) {
  const std::string monitor = results["monitor"];
  std::ostringstream o;
  o << std::left << std::setw(9) << "role" << std::setw(24) << "model" << std::setw(16) << "method"
    << std::setw(20) << monitor << std::setw(12) << "params" << std::setw(11) << "kept"
    << "vs alone\n";
  for (const auto& row : results["summary"]) {
    const auto& m =
        row["test"].contains(monitor) ? row["test"][monitor] : json{{"mean", 0.0}, {"std", 0.0}};
    std::string value = fixed(m["mean"].get<double>(), 4);
    if (row["seeds"].get<int>() > 1) value += " +- " + fixed(m["std"].get<double>(), 4);
    o << std::setw(9) << row["role"].get<std::string>() << std::setw(24)
      << row["model"].get<std::string>() << std::setw(16) << row["method"].get<std::string>()
      << std::setw(20) << value << std::setw(12)
      << with_commas(row["parameters"].get<std::int64_t>()) << std::setw(11)
      << (row.contains("kept_percent") ? percent(row["kept_percent"].get<double>())
                                       : std::string("-"))
      << (row.contains("vs_alone_percent") ? signed_percent(row["vs_alone_percent"].get<double>())
                                           : std::string("-"))
      << "\n";
  }
  o << "\nshipped (runtime, one thread, full-catalog top-10):\n"
    << std::setw(40) << "model" << std::setw(10) << "dtype" << std::setw(12) << "file"
    << std::setw(10) << monitor.substr(0, 9) << std::setw(10) << "p50 us"
    << "p99 us\n";
  for (const auto& e : results["efficiency"]) {
    const std::string who = e["role"].get<std::string>() + " " + e["model"].get<std::string>() +
                            (e["method"] == "none" ? "" : " + " + e["method"].get<std::string>());
    for (const auto& r : e["runs"]) {
      if (r.contains("error")) continue;
      const std::string dtype = r.contains("dtype") ? r["dtype"].get<std::string>() : "libtorch";
      o << std::setw(40) << who << std::setw(10) << dtype << std::setw(12)
        << human_bytes(r["file_bytes"].get<double>()) << std::setw(10)
        << (r.contains("test") && r["test"].contains(monitor)
                ? fixed(r["test"][monitor].get<double>(), 4)
                : std::string("-"))
        << std::setw(10) << fixed(r["p50_us"].get<double>(), 1)
        << fixed(r["p99_us"].get<double>(), 1) << "\n";
    }
  }
  return o.str();
}

}  // namespace recpress::pipeline
