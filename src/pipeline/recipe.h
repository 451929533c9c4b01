// A study recipe: one YAML file that says what to compare. The keys, their types, defaults and
// documentation live in one table (recipe.cc), which validates every recipe before anything runs
// (unknown keys, wrong types and missing required keys are errors naming the file, line and key)
// and generates docs/recipes.md, so the reference cannot drift from the code.
//
//   name: ml1m-derrd
//   data: ml-1m
//   seeds: [1, 2, 3]
//   teacher: {model: "mf:dim=200", loss: bpr, optimizer: lazyadam}
//   student: {model: "mf", dim: [10, 20], loss: bpr}
//   methods: [none, kd, derrd]
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace recpress::pipeline {

// How one model is trained (the teacher, or every student of the grid).
struct TrainSection {
  std::vector<std::string> models;  // model specs; a list is a grid dimension
  std::vector<std::int64_t> dims;   // optional grid over the specs' `dim`
  std::string loss = "bce";
  int negatives = 4;
  std::int64_t batch_size = 256;
  int epochs = 20;
  std::string optimizer = "adam";
  double lr = 1e-3;
  double weight_decay = 0;
  std::string schedule = "constant";
  int patience = 5;
  // The specs with each grid dim applied ("mf" + dim 20 -> "mf:dim=20").
  std::vector<std::string> expanded_models() const;
};

struct Recipe {
  std::string path;  // where it was read from ("" for an embedded recipe)
  std::string name;
  std::string description;
  std::string data;
  std::string split = "loo";
  std::string protocol = "sampled:uniform:99";
  std::vector<std::string> extra_protocols;
  std::string metrics = "hr@5,10 ndcg@5,10";
  std::string monitor = "NDCG@10";
  std::vector<std::int64_t> seeds = {1};
  TrainSection teacher, student;
  std::vector<std::string> methods = {"none"};  // "none": the student alone
  std::vector<std::string> exports = {"fp32", "fp16", "int8"};
  std::int64_t latency_users = 300;

  // Parses and validates; throws DataError(file, line, key, why) for any problem.
  static Recipe parse_file(const std::string& path);
  static Recipe parse_text(const std::string& yaml, const std::string& name_for_errors);
};

// The recipe reference (Markdown), generated from the key table.
std::string recipe_reference();

}  // namespace recpress::pipeline
