// Recipes: the grid they describe, every validation error with its file, line and key, and the
// reference in docs/recipes.md generated from the same key table.
#include "pipeline/recipe.h"
#include "models/ctr/ctr_model.h"
#include "pipeline/catalogue.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"

namespace recpress::pipeline {
namespace {

constexpr const char* kGood = R"(name: grid
data: synthetic:users=50,items=60
seeds: [1, 2]
teacher: {model: "neumf:dim=16,layers=2", loss: bce, epochs: 3}
student:
  model: [mf, gmf]
  dim: [4, 8]
  loss: bpr
methods: [none, kd, "de@0.1+rrd"]
export: int8
)";

TEST(Recipe, ParsesAGridWithDefaults) {
  const Recipe r = Recipe::parse_text(kGood, "grid.yaml");
  EXPECT_EQ(r.name, "grid");
  EXPECT_EQ(r.seeds, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(r.student.expanded_models(),
            (std::vector<std::string>{"mf:dim=4", "mf:dim=8", "gmf:dim=4", "gmf:dim=8"}));
  EXPECT_EQ(r.teacher.expanded_models(), (std::vector<std::string>{"neumf:dim=16,layers=2"}));
  EXPECT_EQ(r.methods.size(), 3u);
  EXPECT_EQ(r.exports, (std::vector<std::string>{"int8"}));
  EXPECT_EQ(r.protocol, "sampled:uniform:99");  // default
  EXPECT_EQ(r.teacher.options.epochs, 3);
  EXPECT_EQ(r.student.options.epochs, 20);  // default
  // A grid dim replaces the spec's own dim and keeps its other parameters.
  TrainSection t;
  t.models = {"neumf:dim=8,layers=2"};
  t.dims = {16};
  EXPECT_EQ(t.expanded_models(), (std::vector<std::string>{"neumf:dim=16,layers=2"}));
}

// The error of parsing `yaml`, as "file:line: field ...".
std::string error_of(const std::string& yaml) {
  try {
    Recipe::parse_text(yaml, "r.yaml");
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Recipe, ErrorsNameTheFileLineAndKey) {
  const std::string base = "name: x\ndata: synthetic\nteacher: {model: mf}\nstudent: {model: mf}\n";
  EXPECT_NO_THROW(Recipe::parse_text(base, "r.yaml"));
  auto has = [](const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
  };
  const std::string unknown = error_of(base + "epochz: 3\n");
  EXPECT_TRUE(has(unknown, "r.yaml:5") && has(unknown, "epochz") && has(unknown, "unknown key"))
      << unknown;
  const std::string nested = error_of(
      "name: x\ndata: synthetic\nteacher: {model: mf}\nstudent:\n  model: mf\n  lr: fast\n");
  EXPECT_TRUE(has(nested, "r.yaml:6") && has(nested, "student.lr") && has(nested, "a number"))
      << nested;
  const std::string missing = error_of("name: x\ndata: synthetic\nstudent: {model: mf}\n");
  EXPECT_TRUE(has(missing, "teacher") && has(missing, "required key missing")) << missing;
  const std::string type = error_of(base + "seeds: [1, two]\n");
  EXPECT_TRUE(has(type, "r.yaml:5") && has(type, "seeds") && has(type, "an integer")) << type;
  EXPECT_TRUE(has(error_of(base + "export: [int4]\n"), "export dtypes"));
  EXPECT_TRUE(has(error_of(base + "name: a/b\n"), "name"));
  EXPECT_TRUE(has(error_of("name: [x\n"), "r.yaml:"));  // YAML syntax error with its line
  EXPECT_TRUE(has(error_of("- just\n- a list\n"), "mapping"));
  EXPECT_TRUE(has(error_of("name: x\ndata: s\nteacher: {model: [mf, gmf]}\nstudent: {model: mf}\n"),
                  "one teacher model"));
  // Regression: values the library parses (protocols, splits, methods, schedules, counts) failed
  // only when their run started, naming no file, line or key.
  const std::string protocol = error_of(base + "protocol: sampled:uniform:0\n");
  EXPECT_TRUE(has(protocol, "r.yaml:5") && has(protocol, "protocol")) << protocol;
  const std::string extra = error_of(base + "extra_protocols: [full, sampled:bogus:9]\n");
  EXPECT_TRUE(has(extra, "r.yaml:5") && has(extra, "extra_protocols")) << extra;
  const std::string split = error_of(base + "split: loo_sideways\n");
  EXPECT_TRUE(has(split, "r.yaml:5") && has(split, "split")) << split;
  const std::string method = error_of(base + "methods: [none, kd, derrrd]\n");
  EXPECT_TRUE(has(method, "r.yaml:5") && has(method, "methods") && has(method, "derrrd")) << method;
  const std::string schedule = error_of(
      "name: x\ndata: synthetic\nteacher: {model: mf}\nstudent:\n  model: mf\n  schedule: "
      "step:1,-1\n");
  EXPECT_TRUE(has(schedule, "r.yaml:6") && has(schedule, "student.schedule") &&
              has(schedule, "GAMMA"))
      << schedule;
  const std::string epochs =
      error_of("name: x\ndata: synthetic\nteacher: {model: mf, epochs: 0}\nstudent: {model: mf}\n");
  EXPECT_TRUE(has(epochs, "teacher.epochs") && has(epochs, ">= 1")) << epochs;
  const std::string metrics = error_of(base + "metrics: ndcg@ten\n");
  EXPECT_TRUE(has(metrics, "r.yaml:5") && has(metrics, "metrics")) << metrics;
}

// Task-specific checks run after the whole file is read and still name the line of the key.
TEST(Recipe, ChecksDependOnTheTask) {
  auto has = [](const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
  };
  const std::string ctr = "task: ctr\nname: x\ndata: synthetic\nteacher: {model: deepfm}\n";
  const Recipe good = Recipe::parse_text(
      ctr +
          "student: {model: \"fm:dim=4\", lr: [0.01, 0.003]}\nmethods: [none, \"kd:alpha=0.9\"]\n"
          "baselines: [lr]\nensemble: [deepfm, lr]\nensemble_methods: [kd]\n"
          "features: {crosses: \"user*item\", min_count: 1}\n",
      "r.yaml");
  EXPECT_EQ(good.monitor, "AUC");
  EXPECT_EQ(good.split, "random:0.8,0.1,0.1");
  EXPECT_EQ(good.student.lrs, (std::vector<double>{0.01, 0.003}));
  EXPECT_EQ(good.student.options.batch_size, 2048);
  EXPECT_EQ(good.exports, (std::vector<std::string>{"fp32", "fp16", "int8"}));  // CTR ships too
  EXPECT_EQ(good.features.min_count, 1);
  const std::string student = "student: {model: lr}\n";
  const std::string protocol = error_of(ctr + student + "protocol: full\n");
  EXPECT_TRUE(has(protocol, "r.yaml:6") && has(protocol, "protocol") && has(protocol, "CTR"))
      << protocol;
  const std::string monitor = error_of(ctr + student + "monitor: NDCG@10\n");
  EXPECT_TRUE(has(monitor, "r.yaml:6") && has(monitor, "AUC or LogLoss")) << monitor;
  const std::string method = error_of(ctr + student + "methods: [rrd]\n");  // a top-N method
  EXPECT_TRUE(has(method, "r.yaml:6") && has(method, "methods") && has(method, "rrd")) << method;
  const std::string loss = error_of(ctr + "student: {model: lr, loss: bpr}\n");
  EXPECT_TRUE(has(loss, "r.yaml:5") && has(loss, "student.loss")) << loss;
  const std::string member =
      error_of(ctr + student + "ensemble: [deepfm, fm]\nensemble_methods: kd\n");
  EXPECT_TRUE(has(member, "ensemble") && has(member, "'fm' is neither")) << member;
  const std::string model = error_of(ctr + "student: {model: \"deepfm:dropout=1.5\"}\n");
  EXPECT_TRUE(has(model, "r.yaml:5") && has(model, "student.model") && has(model, "dropout"))
      << model;
  const std::string seq = "task: seq\nname: x\ndata: synthetic\nteacher: {model: sasrec}\n";
  EXPECT_NO_THROW(Recipe::parse_text(seq + "student: {model: \"sasrec:hidden=8\"}\n"
                                           "methods: [none, kd+attention]\n",
                                     "r.yaml"));
  const std::string split = error_of(seq + "student: {model: sasrec}\nsplit: random\n");
  EXPECT_TRUE(has(split, "r.yaml:6") && has(split, "loo")) << split;
  const std::string features = error_of(
      "name: x\ndata: synthetic\nteacher: {model: mf}\nstudent: {model: mf}\n"
      "features: {min_count: 1}\n");
  EXPECT_TRUE(has(features, "r.yaml:5") && has(features, "only for task ctr")) << features;
  // Regression (issue 22): a model spec's bad value failed only when its run started.
  const std::string dim =
      error_of("name: x\ndata: synthetic\nteacher: {model: mf}\nstudent:\n  model: \"mf:dim=0\"\n");
  EXPECT_TRUE(has(dim, "r.yaml:5") && has(dim, "student.model") && has(dim, "dim")) << dim;
  const std::string monitored = error_of(
      "name: x\ndata: synthetic\nteacher: {model: mf}\nstudent: {model: mf}\nmonitor: MRR@10\n");
  EXPECT_TRUE(has(monitored, "r.yaml:5") && has(monitored, "not among the metrics")) << monitored;
}

// Every shipped study recipe is valid (the option files under recipes/options are not studies).
TEST(Recipe, ShippedRecipesAreValid) {
  int n = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(RECPRESS_SOURCE_DIR) + "/recipes")) {
    if (e.path().extension() != ".yaml") continue;
    EXPECT_NO_THROW(Recipe::parse_file(e.path().string())) << e.path();
    ++n;
  }
  EXPECT_GE(n, 3);
}

TEST(Recipe, ReferenceDocMatchesTheKeyTable) {
  std::ifstream in(std::string(RECPRESS_SOURCE_DIR) + "/docs/recipes.md");
  ASSERT_TRUE(in) << "docs/recipes.md is missing: build/recpress run --reference > docs/recipes.md";
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), recipe_reference())
      << "docs/recipes.md is stale: build/recpress run --reference > docs/recipes.md";
}

// docs/catalogue.md is generated from the registries, as docs/recipes.md from the key table.
TEST(Recipe, CatalogueDocMatchesTheRegistries) {
  std::ifstream in(std::string(RECPRESS_SOURCE_DIR) + "/docs/catalogue.md");
  ASSERT_TRUE(in) << "docs/catalogue.md is missing: build/recpress run --catalogue > "
                     "docs/catalogue.md";
  std::stringstream text;
  text << in.rdbuf();
  const std::string generated = catalogue_reference();
  EXPECT_EQ(text.str(), generated)
      << "docs/catalogue.md is stale: build/recpress run --catalogue > docs/catalogue.md";
  // Every registered model and method has its row.
  for (const auto& [name, help] : ctr_models())
    EXPECT_NE(generated.find("| `" + name + "` | " + help.substr(0, 10)), std::string::npos)
        << name;
}

}  // namespace
}  // namespace recpress::pipeline
