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
//
// One format for the three tasks: `task: topn | ctr | seq` (default topn) picks the models,
// methods, split, protocols and metrics that are valid, and their defaults. Checks that depend on
// the task run once the whole file is read and still name the line of the offending key.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "train/options.h"

namespace recpress::pipeline {

// How one model is trained (the teacher, or every student of the grid).
struct TrainSection {
  std::vector<std::string> models;  // model specs; a list is a grid dimension
  std::vector<std::int64_t> dims;   // optional grid over the specs' `dim`
  // The declared training options (train/options.h): the task's defaults with the keys written
  // in the section applied, once the whole recipe (and so its task) has been read.
  TrainOptions options{TrainTask::kTopN};
  // One learning rate, or several: then each is tried on the first seed and the one with the best
  // validation score is used for every seed (a tuned baseline, not a grid dimension).
  std::vector<double> lrs;
  std::map<std::string, std::size_t> given;    // keys written in the recipe -> their line
  std::map<std::string, std::string> written;  // training options as written (applied at the end)
  std::vector<std::string> written_lrs;
  // The specs with each grid dim applied ("mf" + dim 20 -> "mf:dim=20").
  std::vector<std::string> expanded_models() const;
};

// CTR only: how rows become features (data/ctr_encoder.h, train/ctr_trainer.h's CtrDataSpec).
struct FeatureSection {
  double threshold = 4.0;  // rated data: label = rating >= threshold
  std::string format;      // "" (detect), ratings, criteo, avazu, csv
  std::string schema;      // csv
  std::string crosses;     // "user_gender*item_genre,..."
  std::string numeric = "log";
  int min_count = 2;
  std::int64_t hash_buckets = 0;
  int max_tokens = 8;
};

// A budgeted student search (issue 17): which of `candidates` makes the best student within a
// budget, by successive halving over short distillation runs (Jamieson & Talwalkar, AISTATS
// 2016): every candidate within the budget is distilled for `min_epochs`, the best 1/eta (on
// validation) go on for eta times as many epochs, until one is left; it then joins the students
// and is trained as they are (converged, every method, every seed). The search runs on the first
// seed; the report shows every candidate's rung, score and size, and the accuracy-size front.
struct SearchSection {
  std::vector<std::string> candidates;  // model specs (empty: no search)
  double budget_bytes = 0;              // the values shipped in the first export dtype; 0: no bound
  // p50 microseconds of one shipped query (the first export dtype, measured as the study measures
  // its students) after the first rung; 0: no bound.
  double budget_us = 0;
  std::string method = "kd";
  std::int64_t eta = 3;
  std::int64_t min_epochs = 2;
};

struct Recipe {
  std::string path;  // where it was read from ("" for an embedded recipe)
  std::string name;
  std::string description;
  std::string task = "topn";  // topn | ctr | seq
  std::string data;
  // Empty before parsing ends: then the task's default (see recipe_reference()).
  std::string split;
  std::string protocol;
  std::vector<std::string> extra_protocols;
  std::string metrics;
  std::string monitor;
  std::vector<std::int64_t> seeds = {1};
  FeatureSection features;
  TrainSection teacher, student;
  // Models trained alone with the teacher's settings and reported beside it (e.g. LR and FM next
  // to a DeepFM teacher); they can be members of `ensemble`.
  std::vector<std::string> baselines;
  std::vector<std::string> methods = {"none"};  // "none": the student alone
  // Multi-teacher: the teacher and/or baselines (by spec) whose mean is the teacher of every
  // student for each of `ensemble_methods`.
  std::vector<std::string> ensemble;
  std::vector<std::string> ensemble_methods;
  SearchSection search;
  std::vector<std::string> exports;  // default: fp32, fp16, int8
  std::int64_t latency_users = 300;
  std::map<std::string, std::size_t> lines;  // top-level keys written -> their line

  // Parses and validates; throws DataError(file, line, key, why) for any problem.
  static Recipe parse_file(const std::string& path);
  static Recipe parse_text(const std::string& yaml, const std::string& name_for_errors);
};

// The recipe reference (Markdown), generated from the key table.
std::string recipe_reference();

}  // namespace recpress::pipeline
