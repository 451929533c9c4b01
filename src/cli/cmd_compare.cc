// recpress compare: what the shipped student keeps and what it saves, side by side with its
// teacher. Accuracy on the same candidates (the teacher in LibTorch, the student through the
// LibTorch-free runtime from its .rpm file), bytes, and the latency of a full-catalog top-K query
// for one user (p50/p95/p99 over many users, one thread, warm), and batched throughput.
//   recpress compare --data ml-1m --teacher runs/teacher/best.pt --student student.rpm

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
#include "eval/evaluator.h"
#include "eval/result.h"
#include "eval/runtime_scorer.h"
#include "export/rpm_export.h"
#include "models/topn/scorer.h"
#include "runtime/model.h"
#include "runtime/topk.h"
#include "serve/server.h"
#include "sys/latency.h"
#include "train/trainer.h"

namespace recpress::cli {
namespace {

struct CompareArgs {
  DataArgs data;
  std::string teacher, student, split = "loo", protocol = "sampled:uniform:99";
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

int run_compare(const CompareArgs& a, const GlobalOptions& g) {
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
  const Evaluator evaluator(data, split, EvalTarget::kTest, Protocol::parse(a.protocol),
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

  // 3. Bytes.
  const auto t_bytes = static_cast<double>(teacher->byte_size());
  const auto t_file = static_cast<double>(std::filesystem::file_size(a.teacher));
  const auto s_file = static_cast<double>(student.file_bytes());

  // 4. Fresh processes: start-up and peak memory (the LibTorch process for the teacher, the
  // runtime-only recpress-serve for the student).
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe");
  const auto serve_exe = exe.parent_path() / "recpress-serve";
  std::cout << "\nmeasuring start-up and peak memory in fresh processes...\n" << std::flush;
  const ProcessCost tc = process_cost(
      shell_quote(exe.string()) + " -q probe " + shell_quote(a.teacher) + " --users", n);
  const ProcessCost sc =
      std::filesystem::exists(serve_exe)
          ? process_cost(
                shell_quote(serve_exe.string()) + " " + shell_quote(a.student) + " --probe", n)
          : ProcessCost{};
  const double t_flops = checkpoint_flops_per_item(a.teacher);
  const auto s_flops = static_cast<double>(student.flops_per_item());

  // The headline metric: NDCG@10 when measured, else the first one.
  const std::string key = t.metrics.count("NDCG@10") ? "NDCG@10" : t.metrics.begin()->first;
  const double kept_t = t.metrics.at(key), kept_s = s.metrics.at(key);
  std::cout << "\nefficiency (top-" << a.k << " over " << with_commas(data.num_items())
            << " items, one thread, " << n << " users):\n"
            << "                 params   model bytes   file bytes  FLOPs/item   p50 us   p95 us"
               "   p99 us    users/s  start-up ms  peak RSS\n";
  auto line = [&](const char* who, double params, double bytes, double file, double flops,
                  const Latency& l, const ProcessCost& pc) {
    std::cout << "  " << who << "  " << std::setw(11)
              << with_commas(static_cast<std::int64_t>(params)) << "  " << std::setw(11)
              << human_bytes(bytes) << "  " << std::setw(10) << human_bytes(file) << "  "
              << std::setw(10) << with_commas(static_cast<std::int64_t>(flops)) << "  "
              << std::setw(7) << fixed(l.p50, 1) << "  " << std::setw(7) << fixed(l.p95, 1) << "  "
              << std::setw(7) << fixed(l.p99, 1) << "  " << std::setw(9)
              << with_commas(static_cast<std::int64_t>(l.users_per_second)) << "  " << std::setw(11)
              << (pc.measured ? fixed(pc.startup_ms, 0) : std::string("-")) << "  " << std::setw(8)
              << (pc.measured ? fixed(pc.peak_rss_mib, 1) + " MiB" : std::string("-")) << "\n";
  };
  const auto s_params = static_cast<double>(student.parameter_count());
  line("teacher", static_cast<double>(teacher->parameter_count()), t_bytes, t_file, t_flops, tl,
       tc);
  line("student", s_params, s_file, s_file, s_flops, sl, sc);
  if (!sc.measured)
    std::cout << "  (student start-up and memory: " << serve_exe.string() << " not found)\n";
  std::cout << "\nthe student keeps " << fixed(100 * kept_s / kept_t, 1) << "% of the teacher's "
            << key << " in a file " << times(t_file, s_file, "smaller", "larger") << ", "
            << times(tl.p50, sl.p50, "faster", "slower") << " (p50 latency)\n";

  if (!a.output.empty()) {
    auto cost = [](const ProcessCost& c) {
      return c.measured ? nlohmann::ordered_json{{"startup_ms", c.startup_ms},
                                                 {"load_ms", c.load_ms},
                                                 {"peak_rss_mib", c.peak_rss_mib}}
                        : nlohmann::ordered_json();
    };
    auto lat = [](const Latency& l) {
      return nlohmann::ordered_json{{"p50_us", l.p50},
                                    {"p95_us", l.p95},
                                    {"p99_us", l.p99},
                                    {"users_per_second", l.users_per_second}};
    };
    nlohmann::ordered_json out = {{"teacher",
                                   {{"checkpoint", a.teacher},
                                    {"model", teacher->spec().to_string()},
                                    {"parameters", teacher->parameter_count()},
                                    {"bytes", t_bytes},
                                    {"file_bytes", t_file},
                                    {"flops_per_item", t_flops},
                                    {"latency", lat(tl)},
                                    {"process", cost(tc)},
                                    {"test", nlohmann::ordered_json::parse(result_to_json(t))}}},
                                  {"student",
                                   {{"file", a.student},
                                    {"model", student.source_model()},
                                    {"dtype", runtime::dtype_name(student.dtype())},
                                    {"parameters", s_params},
                                    {"file_bytes", s_file},
                                    {"flops_per_item", s_flops},
                                    {"latency", lat(sl)},
                                    {"process", cost(sc)},
                                    {"test", nlohmann::ordered_json::parse(result_to_json(s))}}},
                                  {"kept_percent", 100 * kept_s / kept_t},
                                  {"bytes_ratio", t_file / s_file},
                                  {"speedup_p50", tl.p50 / sl.p50}};
    write_file_atomic(a.output, out.dump(2) + "\n");
  }
  return 0;
}

}  // namespace

// `recpress probe CHECKPOINT --users N` (internal, run by compare): load a LibTorch model in this
// fresh process, answer full-catalog top-10 for N users, print JSON like recpress-serve --probe.
struct ProbeArgs {
  std::string checkpoint;
  std::size_t users = 1;
};

int run_probe_teacher(const ProbeArgs& a) {
  TopNModelPtr model;
  torch::NoGradGuard guard;
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
      "compare", "teacher (LibTorch) vs shipped student (.rpm runtime): accuracy, bytes, latency");
  add_data_options(cmd, a.data, false);
  cmd->add_option("--teacher", a.teacher, "the teacher's checkpoint")->required();
  cmd->add_option("--student", a.student, "the student's .rpm file")->required();
  cmd->add_option("--split", a.split, "split (as in training)");
  cmd->add_option("--protocol", a.protocol, "evaluation protocol (same candidates for both)");
  cmd->add_option("--metrics", a.metrics, "metrics");
  cmd->add_option("--users", a.users, "users timed for latency (default 500)");
  cmd->add_option("-k", a.k, "top-K of the timed queries");
  cmd->add_option("-o,--output", a.output, "write the comparison as JSON");
  cmd->callback([&action, &global] { action = [&global] { return run_compare(a, global); }; });
}

}  // namespace recpress::cli
