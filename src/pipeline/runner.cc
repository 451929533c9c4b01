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
#include <optional>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/format.h"
#include "core/hash.h"
#include "data/prepare.h"
#include "git_commit.h"  // generated: RECPRESS_GIT_COMMIT
#include "pipeline/report.h"
#include "pipeline/study_task.h"
#include "sys/doctor.h"
#include "train/loop.h"

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

struct Trained {
  json record;
  std::string hash;
  fs::path dir;
};

// Everything one study needs while it runs.
struct Context {
  const Recipe& recipe;
  StudyTask& task;
  const RunOptions& options;
  fs::path root;
  int done = 0, total = 0;
  std::map<std::string, double> chosen_lr;  // tuning key -> the learning rate chosen on seed 1
  json tuning = json::array();              // every learning rate tried, with its score
  json skipped = json::array();             // grid points a method cannot apply to
};

// "deepfm" for one teacher, "wide_deep:dropout=0.5 + deepfm" for an ensemble, "" for none.
std::string teachers_label(const std::vector<const Trained*>& teachers) {
  std::string out;
  for (const auto* t : teachers)
    out += (out.empty() ? "" : " + ") + t->record["model"].get<std::string>();
  return out;
}

std::string lr_text(double lr) {
  std::ostringstream o;
  o << lr;
  return o.str();
}

// Train (or reuse, or resume) one model at one learning rate.
Trained train_one(Context& ctx, RunRequest request, const std::vector<const Trained*>& teachers) {
  json teacher_hashes = json::array();
  for (const auto* t : teachers) {
    teacher_hashes.push_back(t->hash);
    request.teachers.push_back(t->dir.string());
  }
  json key = {{"task", ctx.recipe.task},
              {"role", request.role},
              {"data", ctx.task.data_summary().value("checksum", "")},
              {"split", ctx.task.split_key()},
              {"seed", request.seed},
              {"model", resolved_spec_text(request.model, ctx.task.model_declarations())},
              {"config", ctx.task.config_json(request)},
              {"method", resolved_spec_text(request.method, ctx.task.method_declarations())},
              {"teacher", teacher_hashes.size() == 1 ? teacher_hashes[0] : teacher_hashes}};
  if (teachers.empty()) key["teacher"] = "";
  // Top-N keys have no `task` (their hash predates it). The model and method are resolved (every
  // declared parameter written out), so a changed default is a new run, never a stale cache hit;
  // that change of the key made every earlier study's runs train anew once.
  if (ctx.recipe.task == "topn") key.erase("task");
  Trained t;
  t.hash = short_hash(key);
  const bool alone = request.method == "none";
  const bool tuned = request.section->lrs.size() > 1;
  const std::string ensemble = teachers.size() > 1 ? "-ensemble" : "";
  std::ostringstream folder, what_text;
  folder << request.role << "-" << request.model << (alone ? std::string() : "-" + request.method)
         << ensemble << (tuned ? "-lr" + lr_text(request.lr) : "") << "-s" << request.seed << "-"
         << t.hash;
  t.dir = ctx.root / "runs" / folder_safe(folder.str());
  ++ctx.done;
  what_text << "[" << ctx.done << "/" << ctx.total << "] " << request.role << " " << request.model
            << (alone ? std::string() : " + " + request.method)
            << (teachers.size() > 1 ? " from " + teachers_label(teachers) : "")
            << (tuned ? ", lr " + lr_text(request.lr) : "") << ", seed " << request.seed;
  const std::string what = what_text.str();
  const fs::path record_path = t.dir / "record.json";
  if (fs::exists(record_path)) {
    std::cout << what << ": cached (" << t.dir.string() << ")\n" << std::flush;
    t.record = read_json(record_path);
    return t;
  }
  const bool resume = fs::exists(t.dir / "last.pt");
  std::cout << what << (resume ? ": resuming\n" : ": training\n") << std::flush;
  const RunOutcome r = ctx.task.train(request, t.dir.string(), resume);
  t.record = {{"role", request.role},
              {"seed", request.seed},
              {"model", request.model},
              {"method", request.method},
              {"teachers", teachers_label(teachers)},
              {"lr", request.lr},
              {"parameters", r.parameters},
              {"bytes", r.bytes},
              {"valid_score", r.valid_score},
              {"best_epoch", r.best_epoch},
              {"epochs_run", r.epochs_run},
              // Issue 23: a run whose best epoch is its last was stopped while improving; the
              // report flags it, since its numbers may be a cap's, not the model's.
              {"still_improving", r.best_epoch == r.epochs_run},
              {"seconds_per_epoch", r.seconds_per_epoch},
              {"samples_per_second", r.samples_per_second},
              {"folder", t.dir.string()},
              {"hash", t.hash},
              {"test", r.test},
              {"history", r.history}};
  write_file_atomic(record_path.string(), t.record.dump(2) + "\n");
  const auto& headline = r.test[ctx.recipe.protocol];
  std::cout << "    test " << ctx.recipe.monitor << " "
            << fixed(headline.value(ctx.recipe.monitor, 0.0), 4) << " (best epoch " << r.best_epoch
            << (r.best_epoch == r.epochs_run ? ", the last: still improving" : "") << ")\n"
            << std::flush;
  return t;
}

bool better(const Context& ctx, double a, double b) {
  return ctx.task.higher_is_better() ? a > b : a < b;
}

// One row of the grid: at the section's learning rate, or, when it lists several, at each of them
// on the first seed (the best on validation is kept and reused for the later seeds).
Trained train_row(Context& ctx, const std::string& role, const std::string& model,
                  const TrainSection& section, const std::string& method,
                  const std::vector<const Trained*>& teachers, std::int64_t seed) {
  RunRequest request;
  request.role = role;
  request.model = model;
  request.method = method;
  request.section = &section;
  request.seed = seed;
  request.quiet = ctx.options.quiet;
  request.lr = section.lrs.front();
  if (section.lrs.size() == 1) return train_one(ctx, request, teachers);
  const std::string key = role + "|" + model + "|" + method + "|" + teachers_label(teachers);
  const auto chosen = ctx.chosen_lr.find(key);
  if (chosen != ctx.chosen_lr.end()) {
    request.lr = chosen->second;
    return train_one(ctx, request, teachers);
  }
  std::optional<Trained> best;
  for (const double lr : section.lrs) {
    request.lr = lr;
    Trained t = train_one(ctx, request, teachers);
    const double score = t.record["valid_score"].get<double>();
    ctx.tuning.push_back({{"role", role},
                          {"model", model},
                          {"method", method},
                          {"teachers", teachers_label(teachers)},
                          {"seed", seed},
                          {"lr", lr},
                          {"valid_score", score}});
    if (!best || better(ctx, score, best->record["valid_score"].get<double>())) best = t;
  }
  ctx.chosen_lr[key] = best->record["lr"].get<double>();
  std::cout << "    lr " << lr_text(ctx.chosen_lr[key]) << " chosen for " << role << " " << model
            << (method == "none" ? "" : " + " + method) << " (validation " << ctx.recipe.monitor
            << ")\n";
  return *best;
}

// A student with a method: a grid point the method cannot apply to (e.g. `hint` on a model
// without hidden layers) is recorded as skipped with the reason; divergence and Ctrl-C still stop
// the study.
std::optional<Trained> train_student(Context& ctx, const std::string& model,
                                     const std::string& method,
                                     const std::vector<const Trained*>& teachers,
                                     std::int64_t seed) {
  try {
    return train_row(ctx, "student", model, ctx.recipe.student, method, teachers, seed);
  } catch (const TrainingDiverged&) {
    throw;
  } catch (const TrainingInterrupted&) {
    throw;
  } catch (const Error& e) {
    if (method == "none") throw;
    std::cout << "    skipped: " << e.what() << "\n" << std::flush;
    ctx.skipped.push_back({{"model", model},
                           {"method", method},
                           {"teachers", teachers_label(teachers)},
                           {"seed", seed},
                           {"reason", e.what()}});
    return std::nullopt;
  }
}

json efficiency_of(Context& ctx, const Trained& t, bool as_teacher) {
  const std::string variant = ctx.task.efficiency_variant(as_teacher);
  const fs::path cached =
      t.dir / (variant.empty() ? "efficiency.json" : "efficiency-" + variant + ".json");
  if (fs::exists(cached)) return read_json(cached);
  const json e = as_teacher ? json::array({ctx.task.teacher_efficiency(t.dir.string())})
                            : ctx.task.student_efficiency(t.dir.string());
  write_file_atomic(cached.string(), e.dump(2) + "\n");
  return e;
}

json efficiency_entry(Context& ctx, const Trained& t, bool as_teacher) {
  return {{"role", t.record["role"]},
          {"model", t.record["model"]},
          {"method", t.record["method"]},
          {"teachers", t.record.value("teachers", "")},
          {"parameters", t.record["parameters"]},
          {"runs", efficiency_of(ctx, t, as_teacher)}};
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
json summarise(const Recipe& r, const json& runs, bool higher_is_better) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const json*>> groups;
  for (const auto& run : runs) {
    const std::string key = run["role"].get<std::string>() + "|" + run["model"].get<std::string>() +
                            "|" + run["method"].get<std::string>() + "|" +
                            run.value("teachers", std::string());
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(&run);
  }
  json rows = json::array();
  double teacher_headline = 0;
  std::map<std::string, double> alone;  // model -> headline of the student alone
  for (const auto& key : order) {
    const auto& g = groups[key];
    const json& first = *g.front();
    json row = {{"role", first["role"]},     {"model", first["model"]},
                {"method", first["method"]}, {"teachers", first.value("teachers", std::string())},
                {"seeds", g.size()},         {"parameters", first["parameters"]},
                {"bytes", first["bytes"]},   {"lr", first.value("lr", 0.0)}};
    // metric -> {mean, std} over the group's seeds, under one test protocol.
    auto aggregate = [&](const std::string& protocol) {
      json metrics = json::object();
      for (const auto& [name, value] : first["test"][protocol].items()) {
        std::vector<double> v;
        for (const auto* run : g) v.push_back((*run)["test"][protocol][name].get<double>());
        metrics[name] = {{"mean", mean_of(v)}, {"std", std_of(v)}};
      }
      return metrics;
    };
    const json metrics = aggregate(r.protocol);
    row["test"] = metrics;
    json others = json::object();  // the recipe's extra test protocols
    for (const auto& p : r.extra_protocols)
      if (first["test"].contains(p)) others[p] = aggregate(p);
    if (!others.empty()) row["test_by_protocol"] = others;
    for (const char* field : {"best_epoch", "seconds_per_epoch"}) {
      std::vector<double> v;
      for (const auto* run : g) v.push_back((*run)[field].get<double>());
      row[field] = mean_of(v);
    }
    int still_improving = 0;
    for (const auto* run : g) still_improving += run->value("still_improving", false) ? 1 : 0;
    row["still_improving"] = still_improving;  // runs of this row whose best epoch was the last
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
    // "kept" is a share of the teacher's score: meaningful for scores where higher is better.
    if (teacher_headline > 0 && higher_is_better) row["kept_percent"] = 100 * h / teacher_headline;
    const auto it = alone.find(row["model"].get<std::string>());
    if (row["role"] == "student" && it != alone.end() && it->second > 0) {
      row["vs_alone_percent"] = 100 * (h / it->second - 1);
      // The share of the teacher - student-alone gap this method closes; only where there is a
      // gap to close (a teacher better than the student alone, in the monitor's direction).
      const bool gap =
          higher_is_better ? teacher_headline > it->second : teacher_headline < it->second;
      if (row["method"] != "none" && gap)
        row["gap_closed_percent"] = 100 * (h - it->second) / (teacher_headline - it->second);
    }
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

double bytes_per_value(const std::string& dtype) {
  return dtype == "int8" ? 1 : dtype == "fp16" ? 2 : 4;
}

// Pareto front of (bytes, score): marks "front" on each candidate no smaller-or-equal one beats.
void mark_front(Context& ctx, json& candidates) {
  for (auto& c : candidates) {
    if (!c.contains("score")) continue;
    bool beaten = false;
    for (const auto& o : candidates) {
      if (&o == &c || !o.contains("score")) continue;
      const double ob = o["bytes"].get<double>(), cb = c["bytes"].get<double>();
      const double os = o["score"].get<double>(), cs = c["score"].get<double>();
      const bool no_bigger = ob <= cb, no_worse = !better(ctx, cs, os);
      if (no_bigger && no_worse && (ob < cb || better(ctx, os, cs))) beaten = true;
    }
    c["front"] = !beaten;
  }
}

// The budgeted student search (recipe `search`, recipe.h): successive halving over short
// distillation runs from `teacher` on the current seed. Returns the search record; "chosen" is
// the model that survived every rung.
json run_search(Context& ctx, const Trained& teacher, std::int64_t seed) {
  const auto t0 = std::chrono::steady_clock::now();
  const SearchSection& s = ctx.recipe.search;
  const std::string dtype = ctx.recipe.exports.empty() ? "fp32" : ctx.recipe.exports.front();
  json candidates = json::array();
  std::vector<std::size_t> alive;
  for (const auto& model : s.candidates) {
    const auto params = ctx.task.parameters_of(model);
    const double bytes = static_cast<double>(params) * bytes_per_value(dtype);
    const bool within = s.budget_bytes <= 0 || bytes <= s.budget_bytes;
    if (within) alive.push_back(candidates.size());
    candidates.push_back({{"model", model},
                          {"parameters", params},
                          {"bytes", bytes},
                          {"within_budget", within},
                          {"rungs", json::array()}});
  }
  if (alive.empty())
    throw Error("search: no candidate fits budget_bytes " + fixed(s.budget_bytes, 0) + " (" +
                dtype + ")");
  TrainSection section = ctx.recipe.student;  // each rung: its epoch count, no early stopping
  section.lrs = {section.lrs.front()};
  std::int64_t epochs = s.min_epochs;
  const auto eta = static_cast<std::size_t>(s.eta);
  for (std::size_t n = alive.size(); n > 1; n = (n + eta - 1) / eta)
    ctx.total += static_cast<int>(n);  // the progress count: every rung's runs
  // A latency budget needs the candidates shipped: measured on the first rung's models, so that
  // rung runs even for a single candidate.
  bool first = true;
  while (alive.size() > 1 || (first && s.budget_us > 0)) {
    section.options.epochs = static_cast<int>(epochs);
    section.options.patience = 0;
    for (const auto k : alive) {
      RunRequest request;
      request.role = "search";
      request.model = candidates[k]["model"];
      request.method = s.method;
      request.section = &section;
      request.seed = seed;
      request.quiet = ctx.options.quiet;
      request.lr = section.lrs.front();
      const Trained t = train_one(ctx, request, {&teacher});
      const double score = t.record["valid_score"].get<double>();
      candidates[k]["rungs"].push_back({{"epochs", epochs}, {"valid", score}});
      candidates[k]["score"] = score;
      if (first && s.budget_us > 0) {
        const json shipped = efficiency_of(ctx, t, false);
        if (shipped.empty() || !shipped[0].contains("p50_us"))
          throw Error("search: candidate " + request.model + " cannot be shipped to measure " +
                      "budget_us" +
                      (shipped.empty() ? std::string() : ": " + shipped[0].value("error", "")));
        const double us = shipped[0]["p50_us"].get<double>();
        candidates[k]["p50_us"] = us;
        candidates[k]["within_budget"] = us <= s.budget_us;
      }
    }
    if (first && s.budget_us > 0) {
      std::erase_if(alive, [&](std::size_t k) { return !candidates[k]["within_budget"]; });
      if (alive.empty())
        throw Error("search: no candidate fits budget_us " + fixed(s.budget_us, 1) + " (" + dtype +
                    ")");
    }
    first = false;
    std::stable_sort(alive.begin(), alive.end(), [&](std::size_t a, std::size_t b) {
      return better(ctx, candidates[a]["score"].get<double>(),
                    candidates[b]["score"].get<double>());
    });
    alive.resize((alive.size() + eta - 1) / eta);
    epochs *= s.eta;
  }
  mark_front(ctx, candidates);
  const std::string chosen = candidates[alive.front()]["model"];
  std::cout << "    search chose " << chosen << " (" << s.method << ", validation "
            << ctx.recipe.monitor << ")\n"
            << std::flush;
  return {
      {"method", s.method},
      {"budget_bytes", s.budget_bytes},
      {"budget_us", s.budget_us},
      {"dtype", dtype},
      {"eta", s.eta},
      {"seed", seed},
      {"candidates", candidates},
      {"chosen", chosen},
      {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
}

std::unique_ptr<StudyTask> make_task(const Recipe& recipe, const StudyData& data) {
  if (recipe.task == "ctr") return make_ctr_study(recipe, data);
  if (recipe.task == "seq") return make_seq_study(recipe, data);
  return make_topn_study(recipe, data);
}

}  // namespace

json run_study(const Recipe& recipe, const StudyData& data, const RunOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto task = make_task(recipe, data);
  Context ctx{
      recipe, *task,         options,      fs::path(options.output_root) / recipe.name, 0, 0,
      {},     json::array(), json::array()};
  fs::create_directories(ctx.root / "runs");
  // The recipe checked models, methods, protocols and metrics while it was parsed.
  auto students = recipe.student.expanded_models();
  const std::string teacher_spec = recipe.teacher.expanded_models().front();
  const auto extra_lrs = [&](const TrainSection& s, std::size_t rows) {
    return static_cast<int>(rows * (s.lrs.size() - 1));
  };
  const std::size_t student_rows =
      students.size() * (recipe.methods.size() + recipe.ensemble_methods.size());
  ctx.total = static_cast<int>(recipe.seeds.size() * (1 + recipe.baselines.size() + student_rows)) +
              extra_lrs(recipe.teacher, 1 + recipe.baselines.size()) +
              extra_lrs(recipe.student, student_rows);

  json runs = json::array(), efficiency = json::array(), search = json();
  std::set<std::string> derived_rows;  // (spec, method, seed) of derived students trained
  for (const auto seed : recipe.seeds) {
    task->begin_seed(seed);
    const bool measure = seed == recipe.seeds.front();  // efficiency: the first seed's models
    const Trained teacher =
        train_row(ctx, "teacher", teacher_spec, recipe.teacher, "none", {}, seed);
    runs.push_back(teacher.record);
    if (measure) efficiency.push_back(efficiency_entry(ctx, teacher, true));
    std::map<std::string, Trained> by_spec = {{teacher_spec, teacher}};
    for (const auto& spec : recipe.baselines) {
      const Trained b = train_row(ctx, "baseline", spec, recipe.teacher, "none", {}, seed);
      runs.push_back(b.record);
      if (measure) efficiency.push_back(efficiency_entry(ctx, b, true));
      by_spec.emplace(spec, b);
    }
    std::vector<const Trained*> ensemble;
    for (const auto& m : recipe.ensemble) ensemble.push_back(&by_spec.at(m));
    if (measure && !recipe.search.candidates.empty()) {
      search = run_search(ctx, teacher, seed);
      const std::string chosen = search["chosen"];
      if (std::find(students.begin(), students.end(), chosen) == students.end()) {
        students.push_back(chosen);  // trained as every student is, for every seed
        ctx.total += static_cast<int>(recipe.seeds.size() *
                                      (recipe.methods.size() + recipe.ensemble_methods.size()));
      }
    }
    for (const auto& spec : students) {
      auto student = [&](const std::string& method, const std::vector<const Trained*>& from) {
        const auto s = train_student(ctx, spec, method, from, seed);
        if (!s) return;
        runs.push_back(s->record);
        if (measure) efficiency.push_back(efficiency_entry(ctx, *s, false));
        // A searched architecture (AdaRec): its derived student, trained with the same method
        // and teachers from scratch.
        const std::string derived = ctx.task.derived_model(spec, s->dir.string());
        // Two searches may derive the same student: it is one row, trained and reported once.
        if (derived.empty() ||
            !derived_rows.insert(derived + "\n" + method + "\n" + std::to_string(seed)).second)
          return;
        std::cout << "    derived " << derived << "\n" << std::flush;
        ++ctx.total;
        auto d = train_student(ctx, derived, method, from, seed);
        if (!d) return;
        d->record["searched_by"] = spec;
        runs.push_back(d->record);
        if (measure) efficiency.push_back(efficiency_entry(ctx, *d, false));
      };
      for (const auto& method : recipe.methods)
        student(method, method == "none" ? std::vector<const Trained*>{}
                                         : std::vector<const Trained*>{&teacher});
      for (const auto& method : recipe.ensemble_methods) student(method, ensemble);
    }
  }
  const auto versions = software_versions();
  json results = {
      {"recipe", recipe.name},
      {"recipe_path", recipe.path},
      {"description", recipe.description},
      {"task", recipe.task},
      {"created", utc_now()},
      {"git_commit", RECPRESS_GIT_COMMIT},
      {"versions",
       {{"recpress", versions.recpress}, {"libtorch", versions.torch}, {"blas", versions.blas}}},
      {"data", task->data_summary()},
      {"split", recipe.split},
      {"protocol", recipe.protocol},
      {"extra_protocols", recipe.extra_protocols},
      {"monitor", recipe.monitor},
      {"higher_is_better", task->higher_is_better()},
      {"report_metrics", task->report_metrics()},
      {"efficiency_query", task->query_description()},
      {"seeds", recipe.seeds},
      {"summary", summarise(recipe, runs, task->higher_is_better())},
      {"efficiency", efficiency},
      {"lr_tuning", ctx.tuning},
      {"search", search},
      {"skipped", ctx.skipped},
      {"runs", runs},
      {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
  write_file_atomic((ctx.root / "results.json").string(), results.dump(2) + "\n");
  write_report(results, ctx.root.string());
  return results;
}

json run_recipe(const Recipe& recipe, const RecipeRunOptions& o) {
  StudyData data;
  data.data_root = o.data_root;
  std::optional<Dataset> interactions;
  if (recipe.task != "ctr") {  // CTR opens its own table, joined with the side features
    DataRequest request;
    request.spec = recipe.data;
    interactions.emplace(prepare_dataset(request, {o.data_root, o.use_cache, o.quiet}));
    data.interactions = &*interactions;
  }
  RunOptions options;
  options.output_root = o.output_root;
  options.quiet = o.quiet;
  return run_study(recipe, data, options);
}

json run_study(const Recipe& recipe, const Dataset& data, const RunOptions& options) {
  StudyData d;
  d.interactions = &data;
  return run_study(recipe, d, options);
}

std::string method_label(const json& row) {
  const std::string teachers = row.value("teachers", std::string());
  std::string m = row["method"].get<std::string>();
  if (teachers.find(" + ") != std::string::npos) m += " <- ensemble";
  return m;
}

std::string summary_table(const json& results) {
  const std::string monitor = results["monitor"];
  // Columns as wide as their longest entry.
  int model_w = 7, method_w = 8, who_w = 7;
  for (const auto& row : results["summary"]) {
    model_w = std::max(model_w, static_cast<int>(row["model"].get<std::string>().size()) + 2);
    method_w = std::max(method_w, static_cast<int>(method_label(row).size()) + 2);
  }
  for (const auto& e : results["efficiency"])
    who_w = std::max(
        who_w, static_cast<int>(e["role"].get<std::string>().size() +
                                e["model"].get<std::string>().size() + method_label(e).size()) +
                   6);
  std::ostringstream o;
  o << std::left << std::setw(9) << "role" << std::setw(model_w) << "model" << std::setw(method_w)
    << "method" << std::setw(20) << monitor << std::setw(12) << "params" << std::setw(9) << "kept"
    << std::setw(10) << "vs alone"
    << "best epoch\n";
  for (const auto& row : results["summary"]) {
    const auto& m =
        row["test"].contains(monitor) ? row["test"][monitor] : json{{"mean", 0.0}, {"std", 0.0}};
    std::string value = fixed(m["mean"].get<double>(), 4);
    if (row["seeds"].get<int>() > 1) value += " +- " + fixed(m["std"].get<double>(), 4);
    const int improving = row.value("still_improving", 0);
    o << std::setw(9) << row["role"].get<std::string>() << std::setw(model_w)
      << row["model"].get<std::string>() << std::setw(method_w) << method_label(row)
      << std::setw(20) << value << std::setw(12)
      << with_commas(row["parameters"].get<std::int64_t>()) << std::setw(9)
      << (row.contains("kept_percent") ? percent(row["kept_percent"].get<double>())
                                       : std::string("-"))
      << std::setw(10)
      << (row.contains("vs_alone_percent") ? signed_percent(row["vs_alone_percent"].get<double>())
                                           : std::string("-"))
      << fixed(row["best_epoch"].get<double>(), 1)
      << (improving > 0 ? " (still improving in " + std::to_string(improving) + ")" : "") << "\n";
  }
  std::set<std::string> skipped;  // once per grid point, not per seed
  for (const auto& s : results.value("skipped", json::array()))
    skipped.insert("skipped: student " + s["model"].get<std::string>() + " + " +
                   s["method"].get<std::string>() + ": " + s["reason"].get<std::string>());
  for (const auto& s : skipped) o << s << "\n";
  o << "\nshipped (" << results.value("efficiency_query", std::string()) << "):\n"
    << std::setw(who_w) << "model" << std::setw(20) << "engine" << std::setw(12) << "file"
    << std::setw(10) << monitor.substr(0, 9) << std::setw(10) << "p50 us"
    << "p99 us\n";
  for (const auto& e : results["efficiency"]) {
    const std::string who = e["role"].get<std::string>() + " " + e["model"].get<std::string>() +
                            (e["method"] == "none" ? "" : " + " + method_label(e));
    for (const auto& r : e["runs"]) {
      if (r.contains("error")) continue;
      const std::string engine =
          r.value("engine", std::string("runtime")) + " " + r.value("dtype", std::string());
      o << std::setw(who_w) << who << std::setw(20) << engine << std::setw(12)
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
