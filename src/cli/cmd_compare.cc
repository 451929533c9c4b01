// recpress compare: what the shipped student keeps and what it saves, side by side with its
// teacher, for every task. Accuracy on the same candidates / test rows (the teacher in LibTorch,
// the student through the LibTorch-free runtime from its .rpm file), bytes, the latency of one
// query (top-N: a full-catalog top-K for one user; CTR: one row; next item: the top-K after one
// user's history; p50/p95/p99, one thread, warm), batched throughput, and the start-up time and
// peak memory of a fresh process serving each.
//   recpress compare --data ml-1m --teacher runs/teacher/best.pt --student student.rpm
//   recpress compare --teacher runs/ctr-teacher/best.pt --student ctr.rpm        (CTR: its data)
//   recpress compare --data ml-1m --teacher runs/sasrec/best.pt --student seq.rpm

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/format.h"
#include "data/split.h"
#include "distill/ctr/distiller.h"
#include "eval/evaluator.h"
#include "eval/result.h"
#include "eval/runtime_scorer.h"
#include "export/rpm_export.h"
#include "models/topn/scorer.h"
#include "runtime/ctr_model.h"
#include "runtime/model.h"
#include "runtime/next_item_model.h"
#include "runtime/topk.h"
#include "serve/server.h"
#include "sys/latency.h"
#include "train/checkpoint.h"
#include "train/ctr_trainer.h"
#include "train/seq_trainer.h"
#include "train/trainer.h"

namespace recpress::cli {
namespace {

struct CompareArgs {
  DataArgs data;
  std::string teacher, student, split = "loo";
  std::string protocol;  // default: sampled:uniform:99 (top-N), sampled:popularity:100 (next item)
  std::string metrics = "hr@10 ndcg@10";
  std::size_t users = 500;
  std::size_t k = 10;
  std::string output;
};

struct Latency {
  double p50 = 0, p95 = 0, p99 = 0, users_per_second = 0;
};

Latency summarise(std::vector<double> us, double batched_users_per_second) {
  const LatencyPercentiles p = percentiles_of(std::move(us));
  return {p.p50_us, p.p95_us, p.p99_us, batched_users_per_second};
}

template <typename F>
double microseconds(F&& f) {
  return microseconds_of(std::forward<F>(f));
}

// One model served by a fresh process: its start-up (process start to first answer, the wall
// time of a one-query probe) and its peak RSS while answering `users` queries.
struct ProcessCost {
  double startup_ms = 0;
  double load_ms = 0;
  double peak_rss_mib = 0;
  bool measured = false;
};

// Runs `command` (a probe printing one JSON line) and returns its output and wall time.
std::pair<nlohmann::json, double> run_probe(const std::string& command) {
  const auto t0 = std::chrono::steady_clock::now();
  FILE* pipe = popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return {nlohmann::json(), 0};
  std::string out;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  const int status = pclose(pipe);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (status != 0) return {nlohmann::json(), ms};
  const auto line = out.substr(out.rfind('{') == std::string::npos ? 0 : out.rfind('{'));
  return {nlohmann::json::parse(line, nullptr, false), ms};
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

ProcessCost process_cost(const std::string& probe_command, std::size_t users) {
  ProcessCost c;
  const auto [once, wall] = run_probe(probe_command + " 1");
  const auto [many, ignored] = run_probe(probe_command + " " + std::to_string(users));
  if (!once.is_object() || !many.is_object()) return c;
  c.startup_ms = wall;
  c.load_ms = once.value("load_ms", 0.0);
  c.peak_rss_mib = many.value("peak_rss_kib", 0.0) / 1024.0;
  c.measured = true;
  return c;
}

// One side of a comparison, as printed and written.
struct Side {
  std::string model, dtype = "fp32", path;
  double params = 0, bytes = 0, file = 0, flops = 0;  // flops per scored item / row (0: none)
  Latency latency;
  ProcessCost process;
  nlohmann::ordered_json test;
};

// The efficiency table, the one-sentence summary and (with -o) the JSON of a comparison.
// `metric` is the headline accuracy, `unit` what the throughput counts ("users", "rows").
void report(const CompareArgs& a, const std::string& title, const Side& t, const Side& s,
            const std::string& metric, double kept_t, double kept_s, const std::string& unit,
            const std::string& serve_exe) {
  std::cout << "\nefficiency (" << title << "):\n"
            << "                 params   model bytes   file bytes  FLOPs/item   p50 us   p95 us"
               "   p99 us  "
            << std::setw(9) << (unit + "/s") << "  start-up ms  peak RSS\n";
  auto line = [&](const char* who, const Side& x) {
    const Latency& l = x.latency;
    const ProcessCost& pc = x.process;
    std::cout << "  " << who << "  " << std::setw(11)
              << with_commas(static_cast<std::int64_t>(x.params)) << "  " << std::setw(11)
              << human_bytes(x.bytes) << "  " << std::setw(10) << human_bytes(x.file) << "  "
              << std::setw(10)
              << (x.flops > 0 ? with_commas(static_cast<std::int64_t>(x.flops)) : std::string("-"))
              << "  " << std::setw(7) << fixed(l.p50, 1) << "  " << std::setw(7) << fixed(l.p95, 1)
              << "  " << std::setw(7) << fixed(l.p99, 1) << "  " << std::setw(9)
              << with_commas(static_cast<std::int64_t>(l.users_per_second)) << "  " << std::setw(11)
              << (pc.measured ? fixed(pc.startup_ms, 0) : std::string("-")) << "  " << std::setw(8)
              << (pc.measured ? fixed(pc.peak_rss_mib, 1) + " MiB" : std::string("-")) << "\n";
  };
  line("teacher", t);
  line("student", s);
  if (!s.process.measured)
    std::cout << "  (student start-up and memory: " << serve_exe << " not found)\n";
  std::cout << "\nthe student keeps " << fixed(100 * kept_s / kept_t, 1) << "% of the teacher's "
            << metric << " in a file " << times(t.file, s.file, "smaller", "larger") << ", "
            << times(t.latency.p50, s.latency.p50, "faster", "slower") << " (p50 latency)\n";
  if (a.output.empty()) return;
  auto cost = [](const ProcessCost& c) {
    return c.measured ? nlohmann::ordered_json{{"startup_ms", c.startup_ms},
                                               {"load_ms", c.load_ms},
                                               {"peak_rss_mib", c.peak_rss_mib}}
                      : nlohmann::ordered_json();
  };
  auto side = [&](const Side& x, const char* path_key) {
    return nlohmann::ordered_json{{path_key, x.path},
                                  {"model", x.model},
                                  {"dtype", x.dtype},
                                  {"parameters", x.params},
                                  {"bytes", x.bytes},
                                  {"file_bytes", x.file},
                                  {"flops_per_item", x.flops},
                                  {"latency",
                                   {{"p50_us", x.latency.p50},
                                    {"p95_us", x.latency.p95},
                                    {"p99_us", x.latency.p99},
                                    {unit + "_per_second", x.latency.users_per_second}}},
                                  {"process", cost(x.process)},
                                  {"test", x.test}};
  };
  const nlohmann::ordered_json out = {{"teacher", side(t, "checkpoint")},
                                      {"student", side(s, "file")},
                                      {"metric", metric},
                                      {"kept_percent", 100 * kept_s / kept_t},
                                      {"bytes_ratio", t.file / s.file},
                                      {"speedup_p50", t.latency.p50 / s.latency.p50}};
  write_file_atomic(a.output, out.dump(2) + "\n");
}

// The fresh-process measurements: `recpress probe` for the LibTorch teacher, the runtime-only
// recpress-serve --probe for the student.
void measure_processes(const CompareArgs& a, std::size_t n, Side& t, Side& s,
                       std::filesystem::path& serve_exe) {
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe");
  serve_exe = exe.parent_path() / "recpress-serve";
  std::cout << "\nmeasuring start-up and peak memory in fresh processes...\n" << std::flush;
  t.process = process_cost(
      shell_quote(exe.string()) + " -q probe " + shell_quote(a.teacher) + " --users", n);
  if (std::filesystem::exists(serve_exe))
    s.process = process_cost(
        shell_quote(serve_exe.string()) + " " + shell_quote(a.student) + " --probe", n);
}

template <typename Model>
Model open_student(const std::string& path) {
  try {
    return Model::open(path);
  } catch (const runtime::ModelError& e) {
    throw Error(e.what());
  }
}

// CTR: the teacher's own data and features (from its checkpoint), every test row scored by both.
int compare_ctr(const CompareArgs& a, const GlobalOptions& g) {
  const CtrCheckpoint ck = load_ctr_checkpoint(a.teacher);
  const auto student = open_student<runtime::CtrModel>(a.student);
  const auto& layout = ck.encoder.layout();
  const auto& f = student.features();
  bool same = f.vocab_size() == layout.vocab_size &&
              f.slots() == static_cast<std::uint32_t>(layout.slots) &&
              f.fields().size() == layout.sparse.size() + layout.dense.size();
  for (std::size_t i = 0; same && i < layout.sparse.size(); ++i)
    same = f.fields()[i].name == layout.sparse[i].name;
  if (!same)
    throw Error(a.student + " was exported with other features than " + a.teacher +
                "'s (the field layouts differ)");
  std::cout << "encoding the teacher's data (" << ck.data.data << ")...\n" << std::flush;
  const CtrData data = prepare_ctr_data(ck.data, &ck.encoder, g.data_root);
  const CtrRows& test = data.test;
  // 1. Accuracy on every test row.
  const CtrEvalResult te = evaluate_ctr(*ck.model, test);
  std::vector<float> p(static_cast<std::size_t>(test.rows));
  const double s_batch_us = microseconds(
      [&] { student.predict(test.ids.data(), test.values.data(), p.size(), p.data()); });
  const CtrEvalResult se = ctr_eval_of(test, p);
  auto metrics = [](const CtrEvalResult& r) {
    nlohmann::ordered_json m = {{"AUC", r.auc}, {"LogLoss", r.logloss}};
    if (r.gauc >= 0) m["GAUC"] = r.gauc;
    return m;
  };
  std::cout << "accuracy (" << with_commas(test.rows) << " test rows):\n"
            << "           AUC       LogLoss   GAUC\n"
            << "  teacher  " << fixed(te.auc, 4) << "    " << fixed(te.logloss, 4) << "    "
            << (te.gauc >= 0 ? fixed(te.gauc, 4) : std::string("-")) << "\n"
            << "  student  " << fixed(se.auc, 4) << "    " << fixed(se.logloss, 4) << "    "
            << (se.gauc >= 0 ? fixed(se.gauc, 4) : std::string("-")) << "\n";
  // 2. One row per query, warm.
  const std::size_t n = std::min<std::size_t>(a.users, static_cast<std::size_t>(test.rows));
  std::vector<CtrRows> rows;
  for (std::size_t r = 0; r < n; ++r) rows.push_back(test.slice(static_cast<std::int64_t>(r), 1));
  std::vector<double> t_us, s_us;
  ck.model->eval();
  torch::NoGradGuard guard;
  float one = 0;
  for (std::size_t q = 0; q < n + 20; ++q) {
    const CtrRows& row = rows[q % n];
    const double tu = microseconds([&] { ctr_predict_logits(*ck.model, row, 1); });
    const double su =
        microseconds([&] { student.predict(row.ids.data(), row.values.data(), 1, &one); });
    if (q >= 20) t_us.push_back(tu), s_us.push_back(su);
  }
  Side t, s;
  t.model = ck.model->spec().to_string();
  t.path = a.teacher;
  t.params = static_cast<double>(ck.model->parameter_count());
  t.bytes = static_cast<double>(ck.model->byte_size());
  t.file = static_cast<double>(std::filesystem::file_size(a.teacher));
  t.latency = summarise(t_us, te.rows_per_second);
  t.test = metrics(te);
  s.model = student.source_model();
  s.dtype = runtime::dtype_name(student.dtype());
  s.path = a.student;
  s.params = static_cast<double>(student.parameter_count());
  s.bytes = s.file = static_cast<double>(student.file_bytes());
  s.flops = static_cast<double>(student.flops_per_row());
  s.latency = summarise(s_us, 1e6 * static_cast<double>(test.rows) / s_batch_us);
  s.test = metrics(se);
  std::filesystem::path serve_exe;
  measure_processes(a, n, t, s, serve_exe);
  report(a,
         "one row per query, one thread, " + std::to_string(n) + " rows; rows/s over the " +
             "test split",
         t, s, "AUC", te.auc, se.auc, "rows", serve_exe.string());
  return 0;
}

// Next item: the same users' histories and candidates for both.
int compare_seq(const CompareArgs& a, const GlobalOptions& g) {
  const Dataset data = load_data(a.data, g);
  const Split split = make_split(data, SplitConfig::parse("loo", g.seed));
  const SeqModelPtr teacher = load_seq_checkpoint(a.teacher, &data);
  teacher->eval();
  const auto student = open_student<runtime::NextItemModel>(a.student);
  if (student.num_items() != static_cast<std::uint32_t>(data.num_items()))
    throw Error(a.student + " has " + std::to_string(student.num_items()) + " items, the data " +
                std::to_string(data.num_items()));
  for (std::int32_t i = 0; i < data.num_items(); ++i)
    if (student.item_id(static_cast<std::uint32_t>(i)) != data.items.raw(i))
      throw Error(a.student + " was exported from other data (item ids differ)");
  const auto histories = evaluation_histories(data, split, EvalTarget::kTest);
  // 1. Accuracy on the same candidates.
  const std::string protocol = a.protocol.empty() ? "sampled:popularity:100" : a.protocol;
  const Evaluator evaluator(data, split, EvalTarget::kTest, Protocol::parse(protocol),
                            parse_metrics(a.metrics), g.seed);
  const EvalResult te =
      evaluator.evaluate(SeqScorer(teacher, histories, "teacher " + teacher->spec().to_string()));
  const EvalResult se = evaluator.evaluate(NextItemRuntimeScorer(
      student, histories,
      "student " + student.source_model() + " " + runtime::dtype_name(student.dtype())));
  std::cout << "accuracy (" << te.protocol << ", " << te.users << " users):\n"
            << results_table({te, se});
  // 2. One user's history per query: the teacher's all-item scores + top-K, the student's next().
  std::vector<std::int32_t> users;
  for (std::size_t u = 0; u < histories.size() && users.size() < a.users; ++u)
    if (!histories[u].empty()) users.push_back(static_cast<std::int32_t>(u));
  if (users.empty()) throw Error("no user has a history to time");
  const std::size_t n = users.size();
  std::vector<double> t_us, s_us;
  std::vector<float> scores(static_cast<std::size_t>(data.num_items()));
  std::vector<std::uint32_t> history;
  torch::NoGradGuard guard;
  for (std::size_t q = 0; q < n + 20; ++q) {
    const std::int32_t u = users[q % n];
    const auto& h = histories[static_cast<std::size_t>(u)];
    const double tu = microseconds([&] {
      teacher->score_all_next(right_aligned_tokens({h}, teacher->max_len())).contiguous();
    });
    history.assign(h.begin(), h.end());
    const double su = microseconds([&] { student.next(history, a.k, false); });
    if (q >= 20) t_us.push_back(tu), s_us.push_back(su);
  }
  const SeqScorer batched(teacher, histories);
  const double t_batch = microseconds([&] {
    for (std::size_t u0 = 0; u0 < n; u0 += 256) {
      const std::size_t b = std::min<std::size_t>(256, n - u0);
      std::vector<float> all(b * scores.size());
      batched.score_all({users.data() + u0, b}, all);
      for (std::size_t r = 0; r < b; ++r)
        runtime::top_k({all.data() + r * scores.size(), scores.size()}, a.k);
    }
  });
  const double s_batch = microseconds([&] {
    for (const auto u : users) {
      const auto& h = histories[static_cast<std::size_t>(u)];
      history.assign(h.begin(), h.end());
      student.next(history, a.k, false);
    }
  });
  Side t, s;
  t.model = teacher->spec().to_string();
  t.path = a.teacher;
  t.params = static_cast<double>(teacher->parameter_count());
  t.bytes = static_cast<double>(teacher->byte_size());
  t.file = static_cast<double>(std::filesystem::file_size(a.teacher));
  t.latency = summarise(t_us, 1e6 * static_cast<double>(n) / t_batch);
  t.test = nlohmann::ordered_json::parse(result_to_json(te));
  s.model = student.source_model();
  s.dtype = runtime::dtype_name(student.dtype());
  s.path = a.student;
  s.params = static_cast<double>(student.parameter_count());
  s.bytes = s.file = static_cast<double>(student.file_bytes());
  s.latency = summarise(s_us, 1e6 * static_cast<double>(n) / s_batch);
  s.test = nlohmann::ordered_json::parse(result_to_json(se));
  std::filesystem::path serve_exe;
  measure_processes(a, n, t, s, serve_exe);
  const std::string key = te.metrics.count("NDCG@10") ? "NDCG@10" : te.metrics.begin()->first;
  report(a,
         "top-" + std::to_string(a.k) + " after one user's history over " +
             with_commas(data.num_items()) + " items, one thread, " + std::to_string(n) + " users",
         t, s, key, te.metrics.at(key), se.metrics.at(key), "users", serve_exe.string());
  return 0;
}

int compare_topn(const CompareArgs& a, const GlobalOptions& g) {
  const Dataset data = load_data(a.data, g);
  const Split split = make_split(data, SplitConfig::parse(a.split, g.seed));
  const TopNModelPtr teacher = load_topn_checkpoint(a.teacher, &data);
  runtime::Model student;
  try {
    student = runtime::Model::open(a.student);
  } catch (const runtime::ModelError& e) {
    throw Error(e.what());
  }
  if (student.num_users() != static_cast<std::uint32_t>(data.num_users()) ||
      student.num_items() != static_cast<std::uint32_t>(data.num_items()))
    throw Error(a.student + " has " + std::to_string(student.num_users()) + " users x " +
                std::to_string(student.num_items()) + " items, the data " +
                std::to_string(data.num_users()) + " x " + std::to_string(data.num_items()));
  for (std::int32_t u = 0; u < data.num_users(); ++u)
    if (student.user_id(static_cast<std::uint32_t>(u)) != data.users.raw(u))
      throw Error(a.student + " was exported from other data (user ids differ)");
  for (std::int32_t i = 0; i < data.num_items(); ++i)
    if (student.item_id(static_cast<std::uint32_t>(i)) != data.items.raw(i))
      throw Error(a.student + " was exported from other data (item ids differ)");

  // 1. Accuracy on the same candidates.
  const Evaluator evaluator(data, split, EvalTarget::kTest,
                            Protocol::parse(a.protocol.empty() ? "sampled:uniform:99" : a.protocol),
                            parse_metrics(a.metrics), g.seed);
  EvalResult t = evaluator.evaluate(TopNScorer(teacher, "teacher " + teacher->spec().to_string()));
  EvalResult s = evaluator.evaluate(RuntimeScorer(
      student, "student " + student.source_model() + " " + runtime::dtype_name(student.dtype())));
  std::cout << "accuracy (" << t.protocol << ", " << t.users << " users):\n"
            << results_table({t, s});

  // 2. Latency of one full-catalog top-K query, per user, warm; and batched throughput.
  const std::size_t n = std::min<std::size_t>(a.users, static_cast<std::size_t>(data.num_users()));
  std::vector<double> t_us, s_us;
  std::vector<float> scores(static_cast<std::size_t>(data.num_items()));
  torch::NoGradGuard guard;
  for (std::size_t r = 0; r < n + 20; ++r) {  // the first 20 warm up and are not counted
    const auto u = static_cast<std::int64_t>(r % n);
    const double tu = microseconds([&] {
      const auto row = teacher->score_all(torch::tensor({u}, torch::kLong)).contiguous();
      const auto top = runtime::top_k({row.data_ptr<float>(), scores.size()}, a.k);
      if (top.empty()) throw Error("empty recommendation");
    });
    const double su = microseconds([&] {
      if (student.recommend(static_cast<std::uint32_t>(u), a.k, false).empty())
        throw Error("empty recommendation");
    });
    if (r >= 20) t_us.push_back(tu), s_us.push_back(su);
  }
  const double t_batch = microseconds([&] {
    for (std::size_t u0 = 0; u0 < n; u0 += 256) {
      const auto b = static_cast<std::int64_t>(std::min<std::size_t>(256, n - u0));
      const auto all = teacher
                           ->score_all(torch::arange(static_cast<std::int64_t>(u0),
                                                     static_cast<std::int64_t>(u0) + b))
                           .contiguous();
      for (std::int64_t r = 0; r < b; ++r)
        runtime::top_k({all.data_ptr<float>() + r * all.size(1), scores.size()}, a.k);
    }
  });
  const double s_batch = microseconds([&] {
    for (std::size_t u = 0; u < n; ++u)
      student.recommend(static_cast<std::uint32_t>(u), a.k, false);
  });
  const Latency tl = summarise(t_us, 1e6 * static_cast<double>(n) / t_batch);
  const Latency sl = summarise(s_us, 1e6 * static_cast<double>(n) / s_batch);

  Side ts, ss;
  ts.model = teacher->spec().to_string();
  ts.path = a.teacher;
  ts.params = static_cast<double>(teacher->parameter_count());
  ts.bytes = static_cast<double>(teacher->byte_size());
  ts.file = static_cast<double>(std::filesystem::file_size(a.teacher));
  ts.flops = checkpoint_flops_per_item(a.teacher);
  ts.latency = tl;
  ts.test = nlohmann::ordered_json::parse(result_to_json(t));
  ss.model = student.source_model();
  ss.dtype = runtime::dtype_name(student.dtype());
  ss.path = a.student;
  ss.params = static_cast<double>(student.parameter_count());
  ss.bytes = ss.file = static_cast<double>(student.file_bytes());
  ss.flops = static_cast<double>(student.flops_per_item());
  ss.latency = sl;
  ss.test = nlohmann::ordered_json::parse(result_to_json(s));
  std::filesystem::path serve_exe;
  measure_processes(a, n, ts, ss, serve_exe);
  // The headline metric: NDCG@10 when measured, else the first one.
  const std::string key = t.metrics.count("NDCG@10") ? "NDCG@10" : t.metrics.begin()->first;
  report(a,
         "top-" + std::to_string(a.k) + " over " + with_commas(data.num_items()) +
             " items, one thread, " + std::to_string(n) + " users",
         ts, ss, key, t.metrics.at(key), s.metrics.at(key), "users", serve_exe.string());
  return 0;
}

int run_compare(const CompareArgs& a, const GlobalOptions& g) {
  const std::string task = read_checkpoint(a.teacher).header.value("task", "topn");
  if (task == "ctr") return compare_ctr(a, g);
  if (task == "seq") return compare_seq(a, g);
  return compare_topn(a, g);
}

}  // namespace

// `recpress probe CHECKPOINT --users N` (internal, run by compare): load a LibTorch model in this
// fresh process, answer full-catalog top-10 for N users, print JSON like recpress-serve --probe.
struct ProbeArgs {
  std::string checkpoint;
  std::size_t users = 1;
};

int run_probe_teacher(const ProbeArgs& a) {
  torch::NoGradGuard guard;
  const std::string task = read_checkpoint(a.checkpoint).header.value("task", "topn");
  if (task == "ctr") {  // one row per query, every slot padded, as recpress-serve --probe
    CtrCheckpoint ck;
    CtrRows row;
    std::cout << serve::probe(
                     [&] {
                       ck = load_ctr_checkpoint(a.checkpoint);
                       ck.model->eval();
                       const auto& l = ck.encoder.layout();
                       row.rows = 1;
                       row.slots = l.slots;
                       row.dense = static_cast<int>(l.dense.size());
                       row.ids.assign(static_cast<std::size_t>(l.slots),
                                      static_cast<std::int32_t>(l.vocab_size));
                       row.values.assign(l.dense.size(), 0.0f);
                       row.labels = {0};
                       return a.users;
                     },
                     [&](std::uint32_t) { ctr_predict_logits(*ck.model, row, 1); }, a.users)
              << "\n";
    return 0;
  }
  if (task == "seq") {  // a max_len-item history per query, as recpress-serve --probe
    SeqModelPtr model;
    std::cout << serve::probe(
                     [&] {
                       model = load_seq_checkpoint(a.checkpoint);
                       model->eval();
                       return a.users;
                     },
                     [&](std::uint32_t u) {
                       std::vector<std::int32_t> h;
                       for (std::int64_t t = 0; t < model->max_len(); ++t)
                         h.push_back(static_cast<std::int32_t>((u + t) % model->num_items()));
                       const auto scores =
                           model->score_all_next(right_aligned_tokens({h}, model->max_len()))
                               .contiguous();
                       runtime::top_k(
                           {scores.data_ptr<float>(), static_cast<std::size_t>(scores.size(1))},
                           10);
                     },
                     a.users)
              << "\n";
    return 0;
  }
  TopNModelPtr model;
  std::cout
      << serve::probe(
             [&] {
               model = load_topn_checkpoint(a.checkpoint);
               return static_cast<std::size_t>(model->num_users());
             },
             [&](std::uint32_t u) {
               const auto row =
                   model->score_all(torch::tensor({static_cast<std::int64_t>(u)}, torch::kLong))
                       .contiguous();
               runtime::top_k({row.data_ptr<float>(), static_cast<std::size_t>(row.size(1))}, 10);
             },
             a.users)
      << "\n";
  return 0;
}

void add_compare_command(CLI::App& app, GlobalOptions& global, Action& action) {
  static ProbeArgs p;
  auto* probe = app.add_subcommand("probe", "");  // internal: no description, hidden from help
  probe->group("");
  probe->add_option("checkpoint", p.checkpoint)->required();
  probe->add_option("--users", p.users);
  probe->callback([&action] { action = [] { return run_probe_teacher(p); }; });

  static CompareArgs a;
  auto* cmd = app.add_subcommand(
      "compare",
      "teacher (LibTorch) vs shipped student (.rpm runtime), any task: accuracy, bytes, latency");
  add_data_options(cmd, a.data, false);
  cmd->add_option("--teacher", a.teacher, "the teacher's checkpoint")->required();
  cmd->add_option("--student", a.student, "the student's .rpm file")->required();
  cmd->add_option("--split", a.split, "split (as in training)");
  cmd->add_option("--protocol", a.protocol,
                  "evaluation protocol, the same candidates for both (default: sampled:uniform:99; "
                  "next item: sampled:popularity:100; CTR: every test row)");
  cmd->add_option("--metrics", a.metrics, "metrics");
  cmd->add_option("--users", a.users, "users (CTR: rows) timed for latency (default 500)");
  cmd->add_option("-k", a.k, "top-K of the timed queries");
  cmd->add_option("-o,--output", a.output, "write the comparison as JSON");
  cmd->callback([&action, &global] { action = [&global] { return run_compare(a, global); }; });
}

}  // namespace recpress::cli
