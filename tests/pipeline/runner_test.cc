// The runner end to end on a tiny synthetic study: results.json with every number and where it
// came from, the report with its plots, the cache (adding a method trains only that method) and
// resuming an interrupted run.
#include "pipeline/runner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/errors.h"
#include "data/synthetic.h"
#include "pipeline/report.h"
#include "test_util.h"

namespace recpress::pipeline {
namespace {
namespace fs = std::filesystem;

Recipe tiny(const std::string& methods) {
  return Recipe::parse_text(
      "name: tiny\n"
      "data: synthetic:users=60,items=80,mean=10,min=5\n"
      "protocol: sampled:uniform:20\n"
      "extra_protocols: [full]\n"
      "teacher: {model: \"mf:dim=8\", loss: bpr, lr: 0.01, epochs: 2}\n"
      "student: {model: \"mf:dim=2\", loss: bpr, lr: 0.01, epochs: 2}\n"
      "methods: " +
          methods +
          "\n"
          "export: [fp32, int8]\n"
          "latency_users: 20\n",
      "tiny.yaml");
}

fs::file_time_type mtime_of_record(const fs::path& runs, const std::string& prefix) {
  for (const auto& e : fs::directory_iterator(runs))
    if (e.path().filename().string().rfind(prefix, 0) == 0)
      return fs::last_write_time(e.path() / "record.json");
  ADD_FAILURE() << "no run folder starting with " << prefix;
  return {};
}

TEST(Runner, RunsAStudyWritesResultsAndReportAndCachesRuns) {
  const Dataset data =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=60,items=80,mean=10,min=5"));
  const std::string root = testing::scratch_dir("runner");
  RunOptions o;
  o.output_root = root;
  o.quiet = true;
  const auto results = run_study(tiny("[none, kd]"), data, o);
  // Where every number came from.
  EXPECT_EQ(results["data"]["checksum"], data.checksum());
  EXPECT_FALSE(results["versions"]["libtorch"].get<std::string>().empty());
  EXPECT_FALSE(results["git_commit"].get<std::string>().empty());
  ASSERT_EQ(results["summary"].size(), 3u);  // teacher, student alone, student + kd
  EXPECT_EQ(results["summary"][0]["role"], "teacher");
  EXPECT_NEAR(results["summary"][0]["kept_percent"].get<double>(), 100.0, 1e-9);
  EXPECT_TRUE(results["summary"][2].contains("vs_alone_percent"));
  ASSERT_EQ(results["runs"].size(), 3u);
  EXPECT_TRUE(results["runs"][1]["test"].contains("full"));
  // Every run's metrics for the popular head's and the rare tail's held-out items apart.
  EXPECT_TRUE(results["runs"][1]["test"]["full"].contains("tail NDCG@10"));
  EXPECT_TRUE(results["runs"][1]["test"]["full"].contains("head users"));
  EXPECT_EQ(results["runs"][1]["history"].size(), 2u);
  // Efficiency: the teacher in LibTorch and both students shipped in two dtypes.
  ASSERT_EQ(results["efficiency"].size(), 3u);
  EXPECT_EQ(results["efficiency"][1]["runs"].size(), 2u);
  EXPECT_GT(results["efficiency"][1]["runs"][1]["file_bytes"].get<double>(), 0);
  EXPECT_GT(results["efficiency"][0]["runs"][0]["p50_us"].get<double>(), 0);
  const fs::path study = fs::path(root) / "tiny";
  for (const char* f : {"results.json", "report.md", "report.html", "plots/pareto.dat",
                        "plots/front.dat", "plots/curves.gp"})
    EXPECT_TRUE(fs::exists(study / f)) << f;
  ASSERT_TRUE(gnuplot_available()) << "gnuplot-nox is not installed (run.sh installs it)";
  for (const char* f : {"plots/pareto.svg", "plots/curves.svg", "plots/latency.svg"})
    EXPECT_TRUE(fs::exists(study / f)) << f;
  std::ifstream html(study / "report.html");
  const std::string text((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("<table>"), std::string::npos);
  EXPECT_NE(text.find("<svg"), std::string::npos);  // plots inline: one self-contained file
  // Regression (issue 22, report): every test protocol the recipe asked for is shown, the
  // legend of kept / vs alone is in the HTML, the seen-items table is told apart from the model,
  // and the accuracy-vs-size plot names every point in its legend on an axis fitted to the sizes.
  EXPECT_NE(text.find("NDCG@10 full"), std::string::npos);
  EXPECT_NE(text.find("vs alone: change against"), std::string::npos);
  EXPECT_NE(text.find("of which seen items"), std::string::npos);
  EXPECT_GT(results["efficiency"][1]["runs"][0]["seen_bytes"].get<double>(), 0);
  EXPECT_TRUE(results["summary"][1]["test_by_protocol"].contains("full"));
  std::ifstream gp(study / "plots/pareto.gp");
  const std::string plot((std::istreambuf_iterator<char>(gp)), std::istreambuf_iterator<char>());
  EXPECT_EQ(plot.find("notitle"), std::string::npos) << plot;
  EXPECT_NE(plot.find("title \"student mf:dim=2 + kd\""), std::string::npos) << plot;
  double smallest = 1e300;
  for (const auto& row : results["summary"])
    smallest = std::min(smallest, row["parameters"].get<double>());
  std::ostringstream xrange;
  xrange << "set xrange [" << smallest / 2 << ":";
  EXPECT_NE(plot.find(xrange.str()), std::string::npos) << plot;
  // Tooltips name the series, not "gnuplot_plot_3".
  std::ifstream svg_in(study / "plots/pareto.svg");
  const std::string svg((std::istreambuf_iterator<char>(svg_in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(svg.find("<title>gnuplot_plot_"), std::string::npos);
  EXPECT_NE(svg.find("<title>student mf:dim=2 + kd</title>"), std::string::npos);

  // Adding a method trains only that method; the others come from the cache.
  const fs::path runs = study / "runs";
  const auto teacher_time = mtime_of_record(runs, "teacher-");
  const auto results2 = run_study(tiny("[none, kd, \"rd:k=5\"]"), data, o);
  EXPECT_EQ(mtime_of_record(runs, "teacher-"), teacher_time);
  EXPECT_EQ(results2["summary"].size(), 4u);
  EXPECT_EQ(std::distance(fs::directory_iterator(runs), fs::directory_iterator{}), 4);
  EXPECT_EQ(results2["runs"][1]["test"], results["runs"][1]["test"]);  // the cached numbers

  // An interrupted run (checkpoints, no record) resumes and ends with the same numbers.
  fs::path kd_dir;
  for (const auto& e : fs::directory_iterator(runs))
    if (e.path().filename().string().find("-kd-") != std::string::npos) kd_dir = e.path();
  ASSERT_FALSE(kd_dir.empty());
  fs::remove(kd_dir / "record.json");
  fs::remove(kd_dir / "efficiency.json");
  const auto results3 = run_study(tiny("[none, kd]"), data, o);
  EXPECT_TRUE(fs::exists(kd_dir / "record.json"));
  EXPECT_EQ(results3["runs"][2]["test"], results["runs"][2]["test"]);
}

// The budgeted student search: the candidates over the budget are left out, successive halving
// keeps the best on validation, the choice joins the students (every seed, every method) and the
// report shows the candidates and their front.
TEST(Runner, StudentSearchChoosesWithinTheBudgetAndTrainsTheChoice) {
  const Dataset data =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=60,items=80,mean=10,min=5"));
  const auto recipe = [](const std::string& budget) {
    return Recipe::parse_text(
        "name: tinysearch\n"
        "data: synthetic:users=60,items=80,mean=10,min=5\n"
        "protocol: sampled:uniform:20\n"
        "teacher: {model: \"mf:dim=8\", loss: bpr, lr: 0.01, epochs: 2}\n"
        "student: {model: \"mf:dim=2\", loss: bpr, lr: 0.01, epochs: 2}\n"
        "methods: [none, kd]\n"
        "search: {candidates: [\"mf:dim=1\", \"mf:dim=3\", \"mf:dim=5\", \"mf:dim=16\"], "
        "budget_bytes: " +
            budget +
            ", eta: 2, min_epochs: 1}\n"
            "export: [fp32]\n"
            "latency_users: 5\n",
        "tinysearch.yaml");
  };
  RunOptions o;
  o.output_root = testing::scratch_dir("runner-search");
  o.quiet = true;
  // ~140 users + items: dim 5 is ~700 parameters, ~2,800 bytes in fp32; dim 16 ~8,960.
  const auto results = run_study(recipe("3000"), data, o);
  const auto& search = results["search"];
  ASSERT_EQ(search["candidates"].size(), 4u);
  EXPECT_FALSE(search["candidates"][3]["within_budget"].get<bool>());
  EXPECT_TRUE(search["candidates"][3]["rungs"].empty());
  EXPECT_EQ(search["candidates"][2]["bytes"].get<double>(),
            4.0 * search["candidates"][2]["parameters"].get<double>());
  // Rung 1: the three in the budget for 1 epoch; rung 2: the best two for 2 epochs.
  int in_rung_two = 0;
  std::string best;
  double best_score = -1;
  for (const auto& c : search["candidates"]) {
    if (c["rungs"].size() == 2) {
      ++in_rung_two;
      EXPECT_EQ(c["rungs"][1]["epochs"], 2);
      if (c["score"].get<double>() > best_score) best = c["model"], best_score = c["score"];
    }
  }
  EXPECT_EQ(in_rung_two, 2);
  EXPECT_EQ(search["chosen"], best);
  for (const auto& c : search["candidates"]) {
    if (c["model"] == best) {
      EXPECT_TRUE(c["front"].get<bool>());
    }
  }
  // The choice is a student like the others: alone and with kd, every seed.
  int rows = 0;
  for (const auto& row : results["summary"]) rows += row["model"] == best ? 1 : 0;
  EXPECT_EQ(rows, 2);
  std::ifstream md(fs::path(o.output_root) / "tinysearch" / "report.md");
  const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("Student search"), std::string::npos);
  EXPECT_TRUE(fs::exists(fs::path(o.output_root) / "tinysearch" / "plots" / "search.svg"));
  // A latency budget: every candidate of the first rung shipped and timed; one no query can
  // meet is a clear error, one every query meets keeps the byte budget's choice.
  const auto timed = [&](const std::string& us) {
    std::string yaml =
        "name: tinysearch\n"
        "data: synthetic:users=60,items=80,mean=10,min=5\n"
        "protocol: sampled:uniform:20\n"
        "teacher: {model: \"mf:dim=8\", loss: bpr, lr: 0.01, epochs: 2}\n"
        "student: {model: \"mf:dim=2\", loss: bpr, lr: 0.01, epochs: 2}\n"
        "methods: [none]\n"
        "search: {candidates: [\"mf:dim=1\", \"mf:dim=3\", \"mf:dim=5\"], "
        "budget_us: " +
        us + ", eta: 2, min_epochs: 1}\n" + "export: [fp32]\nlatency_users: 5\n";
    return Recipe::parse_text(yaml, "tinysearch.yaml");
  };
  RunOptions fast = o;
  fast.output_root = testing::scratch_dir("runner-search-us");
  const auto within = run_study(timed("1e9"), data, fast)["search"];
  EXPECT_EQ(within["budget_us"].get<double>(), 1e9);
  for (const auto& c : within["candidates"]) {
    EXPECT_GT(c["p50_us"].get<double>(), 0) << c.dump();
    EXPECT_TRUE(c["within_budget"].get<bool>());
  }
  EXPECT_EQ(within["chosen"], best);  // the same rungs as the byte-budgeted search
  fast.output_root = testing::scratch_dir("runner-search-us-none");
  try {
    run_study(timed("0.0001"), data, fast);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no candidate fits budget_us 0.0"), std::string::npos)
        << e.what();
  }
  // Nothing fits: a clear error naming the budget.
  RunOptions none = o;
  none.output_root = testing::scratch_dir("runner-search-none");
  try {
    run_study(recipe("100"), data, none);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no candidate fits budget_bytes 100"), std::string::npos)
        << e.what();
  }
}

// bd trains the teacher beside the student: the run gets its own copy (the teacher's run and the
// other students' teacher stay as trained) and records the teacher's metrics after training.
TEST(Runner, BidirectionalDistillationTrainsItsOwnCopyOfTheTeacher) {
  const Dataset data =
      generate_synthetic(SyntheticConfig::parse("synthetic:users=60,items=80,mean=10,min=5"));
  RunOptions o;
  o.output_root = testing::scratch_dir("runner-bd");
  o.quiet = true;
  const auto results = run_study(tiny("[none, bd, kd]"), data, o);  // kd after bd
  ASSERT_EQ(results["summary"].size(), 4u);
  const auto& teacher_run = results["runs"][0]["test"]["sampled:uniform:20"];
  const auto& bd_run = results["runs"][2]["test"]["sampled:uniform:20"];
  ASSERT_TRUE(bd_run.contains("teacher NDCG@10"));
  EXPECT_NE(bd_run["teacher NDCG@10"], teacher_run["NDCG@10"]);  // it trained on
  EXPECT_FALSE(results["runs"][3]["test"]["sampled:uniform:20"].contains("teacher NDCG@10"));
  // The kd run's teacher was not touched by bd: the same numbers as without bd.
  RunOptions again = o;
  again.output_root = testing::scratch_dir("runner-bd-2");
  const auto without = run_study(tiny("[none, kd]"), data, again);
  EXPECT_EQ(without["runs"][2]["test"], results["runs"][3]["test"]);
}

// CTR through the same runner: the split per seed, a baseline, learning rates tuned on the first
// seed and reused, a multi-teacher ensemble, a grid point a method cannot apply to, the cache.
TEST(Runner, RunsACtrStudyWithTuningBaselinesAndAnEnsemble) {
  const Recipe recipe = Recipe::parse_text(
      "task: ctr\n"
      "name: tinyctr\n"
      "data: synthetic:users=200,items=60,mean=10,min=5\n"
      "seeds: [1, 2]\n"
      "teacher: {model: \"fm:dim=8\", lr: [0.01, 0.002], epochs: 2, batch_size: 512}\n"
      "baselines: [lr]\n"
      "student: {model: [\"fm:dim=2\", lr], lr: 0.01, epochs: 2, batch_size: 512}\n"
      "methods: [none, kd, hint]\n"
      "ensemble: [\"fm:dim=8\", lr]\n"
      "ensemble_methods: [kd]\n"
      "latency_users: 20\n",
      "tinyctr.yaml");
  const std::string root = testing::scratch_dir("runner-ctr");
  RunOptions o;
  o.output_root = root;
  o.quiet = true;
  StudyData data;
  const auto results = run_study(recipe, data, o);
  EXPECT_EQ(results["task"], "ctr");
  EXPECT_EQ(results["monitor"], "AUC");
  // Two learning rates for the teacher and for the baseline, tried on seed 1 only.
  ASSERT_EQ(results["lr_tuning"].size(), 4u);
  for (const auto& t : results["lr_tuning"]) EXPECT_EQ(t["seed"], 1);
  std::map<std::string, std::set<double>> lrs;  // role + model -> learning rates used
  for (const auto& run : results["runs"])
    lrs[run["role"].get<std::string>() + run["model"].get<std::string>()].insert(
        run["lr"].get<double>());
  EXPECT_EQ(lrs["teacherfm:dim=8"].size(), 1u);  // seed 2 reuses seed 1's choice
  // `hint` needs embeddings: the LR student cannot take it and is skipped with the reason.
  ASSERT_EQ(results["skipped"].size(), 2u);  // lr + hint, for both seeds
  EXPECT_EQ(results["skipped"][0]["method"], "hint");
  // teacher, baseline, fm:dim=2 x (none, kd, hint, ensemble kd), lr x (none, kd, ensemble kd).
  ASSERT_EQ(results["summary"].size(), 9u);
  bool ensemble_row = false;
  for (const auto& row : results["summary"]) {
    EXPECT_EQ(row["seeds"], 2);
    for (const char* m : {"AUC", "LogLoss"}) EXPECT_TRUE(row["test"].contains(m)) << row.dump();
    if (row["teachers"] == "fm:dim=8 + lr") ensemble_row = true;
    if (row["role"] == "student" && row["method"] != "none") {
      EXPECT_TRUE(row.contains("gap_closed_percent")) << row.dump();
    }
  }
  EXPECT_TRUE(ensemble_row);
  // Teacher and baseline measured in LibTorch, students as they ship: exported to the runtime in
  // three dtypes, with the same test AUC in fp32 as their run's (LibTorch) evaluation.
  std::size_t students = 0;
  for (const auto& e : results["efficiency"]) {
    const bool student = e["role"] == "student";
    ASSERT_EQ(e["runs"].size(), student ? 3u : 1u) << e.dump();
    for (const auto& r : e["runs"]) {
      EXPECT_EQ(r["engine"], student ? "runtime" : "libtorch") << e.dump();
      EXPECT_GT(r["rows_per_second"].get<double>(), 0);
      EXPECT_GT(r["p50_us"].get<double>(), 0);
    }
    if (!student) continue;
    ++students;
    EXPECT_EQ(e["runs"][2]["dtype"], "int8");
    EXPECT_LT(e["runs"][2]["file_bytes"].get<double>(), e["runs"][0]["file_bytes"].get<double>());
    for (const auto& run : results["runs"]) {
      if (run["seed"] != 1 || run["role"] != "student" || run["model"] != e["model"] ||
          run["method"] != e["method"] || run.value("teachers", "") != e["teachers"])
        continue;
      EXPECT_NEAR(e["runs"][0]["test"]["AUC"].get<double>(),
                  run["test"]["rows"]["AUC"].get<double>(), 1e-5)
          << e.dump();
    }
  }
  EXPECT_EQ(students, 7u);
  const fs::path study = fs::path(root) / "tinyctr";
  std::ifstream md(study / "report.md");
  const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("| LogLoss |"), std::string::npos);
  EXPECT_NE(text.find("Skipped: lr + hint"), std::string::npos);
  // A second run trains nothing and gives the same numbers.
  const auto again = run_study(recipe, data, o);
  EXPECT_EQ(again["summary"], results["summary"]);
  EXPECT_EQ(again["runs"], results["runs"]);
}

// Next-item through the same runner: teacher, a baseline of the other family, students with kd,
// extra protocols, the teacher's LibTorch latency, the students shipped in the runtime.
TEST(Runner, RunsANextItemStudy) {
  const Dataset data = generate_synthetic(
      SyntheticConfig::parse("synthetic:users=80,items=50,mean=12,min=6,markov=0.7"));
  const Recipe recipe = Recipe::parse_text(
      "task: seq\n"
      "name: tinyseq\n"
      "data: synthetic\n"
      "protocol: sampled:uniform:20\n"
      "extra_protocols: [full]\n"
      "metrics: hr@10 ndcg@10\n"
      "teacher: {model: \"sasrec:loss=ce,hidden=16,max_len=10\", epochs: 2, lr: 0.005}\n"
      "baselines: [\"bert4rec:hidden=16,max_len=10\"]\n"
      "student: {model: \"sasrec:loss=ce,hidden=8,layers=1,heads=1,max_len=10\", epochs: 2}\n"
      "methods: [none, kd]\n"
      "latency_users: 10\n",
      "tinyseq.yaml");
  const std::string root = testing::scratch_dir("runner-seq");
  RunOptions o;
  o.output_root = root;
  o.quiet = true;
  const auto results = run_study(recipe, data, o);
  EXPECT_EQ(results["task"], "seq");
  ASSERT_EQ(results["summary"].size(), 4u);  // teacher, baseline, student alone, student + kd
  EXPECT_EQ(results["summary"][1]["role"], "baseline");
  for (const auto& run : results["runs"]) {
    EXPECT_TRUE(run["test"].contains("sampled:uniform:20"));
    EXPECT_TRUE(run["test"].contains("full"));
    EXPECT_EQ(run["history"].size(), 2u);
  }
  EXPECT_TRUE(results["summary"][3].contains("vs_alone_percent"));
  ASSERT_EQ(results["efficiency"].size(), 4u);
  EXPECT_GT(results["efficiency"][2]["runs"][0]["p50_us"].get<double>(), 0);
  // Students ship as next-item files: three dtypes in the runtime, fp32 scoring as the run's own
  // LibTorch evaluation did (same protocol, same candidates).
  for (const auto& e : results["efficiency"]) {
    const bool student = e["role"] == "student";
    ASSERT_EQ(e["runs"].size(), student ? 3u : 1u) << e.dump();
    EXPECT_EQ(e["runs"][0]["engine"], student ? "runtime" : "libtorch");
    if (!student) continue;
    for (const auto& run : results["runs"]) {
      if (run["role"] != "student" || run["method"] != e["method"]) continue;
      EXPECT_NEAR(e["runs"][0]["test"]["NDCG@10"].get<double>(),
                  run["test"]["sampled:uniform:20"]["NDCG@10"].get<double>(), 1e-5)
          << e.dump();
    }
    EXPECT_LT(e["runs"][2]["file_bytes"].get<double>(), e["runs"][0]["file_bytes"].get<double>());
  }
  EXPECT_TRUE(fs::exists(fs::path(root) / "tinyseq" / "report.html"));
}

// AdaRec through the runner: the searching student trains with its distillation term, its derived
// architecture is trained next as a student of its own (same method and teacher) and ships in
// the runtime with the metrics of its LibTorch evaluation; the search space itself does not ship.
TEST(Runner, AdaRecSearchesThenTrainsAndShipsItsDerivedStudent) {
  const Dataset data = generate_synthetic(
      SyntheticConfig::parse("synthetic:users=80,items=50,mean=12,min=6,markov=0.7"));
  const Recipe recipe = Recipe::parse_text(
      "task: seq\n"
      "name: tinyada\n"
      "data: synthetic\n"
      "protocol: sampled:uniform:20\n"
      "metrics: hr@10 ndcg@10\n"
      "teacher: {model: \"sasrec:loss=ce,hidden=16,max_len=10\", epochs: 2, lr: 0.005}\n"
      "student: {model: \"adarec:hidden=8,layers=2,max_len=10\", epochs: 2}\n"
      "methods: [adarec]\n"
      "latency_users: 10\n",
      "tinyada.yaml");
  const std::string root = testing::scratch_dir("runner-adarec");
  RunOptions o;
  o.output_root = root;
  o.quiet = true;
  const auto results = run_study(recipe, data, o);
  ASSERT_EQ(results["runs"].size(), 3u);  // teacher, the search, its derived student
  const auto& search = results["runs"][1];
  const auto& derived = results["runs"][2];
  EXPECT_EQ(search["model"], "adarec:hidden=8,layers=2,max_len=10");
  const std::string spec = derived["model"];
  EXPECT_NE(spec.find("ops="), std::string::npos) << spec;
  EXPECT_EQ(derived["searched_by"], search["model"]);
  EXPECT_EQ(derived["method"], "adarec");
  EXPECT_LT(derived["parameters"].get<double>(), search["parameters"].get<double>());
  ASSERT_EQ(results["efficiency"].size(), 3u);
  EXPECT_TRUE(results["efficiency"][1]["runs"][0].contains("error"));
  EXPECT_NE(results["efficiency"][1]["runs"][0]["error"].get<std::string>().find("search space"),
            std::string::npos);
  const auto& shipped = results["efficiency"][2]["runs"][0];
  EXPECT_EQ(shipped["engine"], "runtime");
  EXPECT_NEAR(shipped["test"]["NDCG@10"].get<double>(),
              derived["test"]["sampled:uniform:20"]["NDCG@10"].get<double>(), 1e-5);
  // Two searches that differ only in a search setting (cost) and barely train (same seed, so
  // the same initial architecture weights) derive one student: trained and reported once.
  const Recipe twice = Recipe::parse_text(
      "task: seq\n"
      "name: tinyada2\n"
      "data: synthetic\n"
      "protocol: sampled:uniform:20\n"
      "metrics: hr@10 ndcg@10\n"
      "teacher: {model: \"sasrec:loss=ce,hidden=16,max_len=10\", epochs: 1, lr: 0.005}\n"
      "student: {model: [\"adarec:hidden=8,layers=1,nodes=1,max_len=10\", "
      "\"adarec:hidden=8,layers=1,nodes=1,max_len=10,cost=0\"], epochs: 1, lr: 1e-9}\n"
      "methods: [none]\n"
      "latency_users: 10\n",
      "tinyada2.yaml");
  const auto two = run_study(twice, data, o);
  ASSERT_EQ(two["runs"].size(), 4u);  // teacher, search, derived, search (whose derived is known)
  EXPECT_NE(two["runs"][2]["model"].get<std::string>().find("ops="),
            std::string::npos);  // after the first
  EXPECT_EQ(two["summary"].size(), 4u);
}

}  // namespace
}  // namespace recpress::pipeline
