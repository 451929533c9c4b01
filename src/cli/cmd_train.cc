// recpress train / distill: train a top-N model (a teacher, or a student alone), or a student from
// a trained teacher, with early stopping, checkpoints and resume. Everything can also come from a
// YAML options file (--options); command-line options win. Examples:
//   recpress train --model neumf:dim=32 --data ml-1m --epochs 20 -o runs/neumf
//   recpress train --resume runs/neumf/last.pt -o runs/neumf
//   recpress train --model neumf:dim=32 --pretrain gmf/best.pt,mlp/best.pt --optimizer sgd
//   recpress distill --teacher runs/neumf/best.pt --student mf:dim=4 --method kd -o runs/kd
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/format.h"
#include "core/text_reader.h"
#include "data/split.h"
#include "distill/topn/ensemble.h"
#include "eval/popularity.h"
#include "eval/result.h"
#include "models/topn/neumf.h"
#include "models/topn/scorer.h"
#include "train/checkpoint.h"
#include "train/schemes.h"
#include "train/trainer.h"

namespace recpress::cli {
namespace {

struct TrainArgs {
  DataArgs data;
  std::string model = "neumf:dim=32";
  std::string split = "loo";
  std::string output = "runs/train";
  std::string resume;
  std::string pretrain;  // GMF.pt,MLP.pt
  double alpha = 0.5;
  std::string recipe;
  TrainConfig config;
  // distill
  std::vector<std::string> teachers;  // "run/best.pt" or "run/best.pt@0.7"; several: an ensemble
  std::string scheme = "offline";     // offline | online | self
  int generations = 2;                // self (born-again) distillation
  std::vector<std::string>
      methods;  // "kd:temperature=2" or "kd:temperature=2@0.5" (weight after @)
};

Distillation make_distillation(const TrainArgs& a, const TopNModelPtr& teacher) {
  if (a.scheme != "offline" && a.scheme != "online" && a.scheme != "self")
    throw Error("--scheme must be offline, online or self, not '" + a.scheme + "'");
  Distillation d;
  d.teacher = teacher;
  d.online = a.scheme == "online";
  d.terms = parse_distillation_terms(a.methods);
  if (d.terms.empty()) throw Error("distill: give at least one --method");
  return d;
}

// Self distillation (born-again networks, train/schemes.h) and its results table.
int run_born_again(const TrainArgs& a, const GlobalOptions& g, const Dataset& data,
                   const Split& split, TopNModelPtr teacher) {
  make_distillation(a, teacher);  // checks the scheme and methods before any training
  const auto generations =
      train_born_again(data, split, teacher, a.config, a.methods, a.generations, a.output, g.seed);
  nlohmann::ordered_json gens = nlohmann::ordered_json::array();
  std::vector<EvalResult> rows;
  for (const auto& gen : generations) {
    EvalResult row = gen.result.test;
    row.scorer = "generation " + std::to_string(gen.generation);
    rows.push_back(row);
    gens.push_back({{"generation", gen.generation},
                    {"best_epoch", gen.result.best_epoch},
                    {"test", nlohmann::ordered_json::parse(result_to_json(gen.result.test))}});
  }
  std::cout << "test (" << rows.front().protocol << "):\n" << results_table(rows);
  if (!a.output.empty()) {
    nlohmann::ordered_json out = {{"scheme", "self"},
                                  {"model", teacher->spec().to_string()},
                                  {"teacher", a.teachers},
                                  {"methods", a.methods},
                                  {"generations", gens}};
    write_file_atomic(a.output + "/results.json", out.dump(2) + "\n");
    std::cout << "wrote " << a.output << "/gen*/ and results.json\n";
  }
  return 0;
}

int run_train(TrainArgs& a, const GlobalOptions& g, const CLI::App& cmd) {
  if (!a.recipe.empty()) apply_options_file(a.recipe, cmd);
  if (cmd.get_name() == "distill") {
    if (a.teachers.empty())
      throw Error("distill: --teacher is required (or teacher: in the options file)");
    if (a.methods.empty())
      throw Error("distill: --method is required (or method: in the options file)");
  }
  a.config.seed = g.seed;
  a.config.show_progress = !g.quiet;
  if (!a.resume.empty()) {
    // A resumed run continues the same run: its options come from the checkpoint, and one given
    // here that differs is refused by the training loop, named.
    const Checkpoint ck = read_checkpoint(a.resume);
    if (!ck.header.contains("config"))
      throw DataError(a.resume, 0, "config", "checkpoint has no training configuration");
    const std::string engine = a.config.engine;  // how, not what: this command's choice
    a.config =
        TrainConfig::from_json(resumed_options(ck.header.at("config"), a.config.to_json(), cmd, g));
    a.config.show_progress = !g.quiet;
    a.config.engine = engine;
    a.model = resumed_model(ck.header, a.model, cmd, a.resume);
  }
  a.config.validate();
  prepare_output_dir(a.output, a.teachers);
  const ModelSpec spec = ModelSpec::parse(a.model);
  const SplitConfig split_config = SplitConfig::parse(a.split, g.seed);

  const Dataset data = load_data(a.data, g);
  const Split split = make_split(data, split_config);
  torch::manual_seed(g.seed);
  TopNModelPtr model = create_topn_model(spec, data.num_users(), data.num_items());
  if (!a.pretrain.empty() && cmd.get_option_no_throw("--pretrain") != nullptr)
    pretrain_neumf(*model, a.pretrain, a.alpha, data);
  std::cerr << "model " << spec.to_string() << ": " << with_commas(model->parameter_count())
            << " parameters, " << human_bytes(static_cast<double>(model->byte_size())) << "; data "
            << data.name << " (" << with_commas(static_cast<std::int64_t>(split.train.size()))
            << " training interactions)\n";

  Trainer trainer(data, split, model, a.config);
  TopNModelPtr teacher;
  if (!a.teachers.empty()) {
    teacher = load_topn_teachers(a.teachers, a.scheme == "online", data);
    std::cerr << "teacher " << teacher->spec().to_string() << ": "
              << with_commas(teacher->parameter_count()) << " parameters (student: "
              << fixed(100.0 * static_cast<double>(model->parameter_count()) /
                           static_cast<double>(teacher->parameter_count()),
                       1)
              << "% of it), " << a.scheme << " distillation\n";
    if (a.scheme == "self") return run_born_again(a, g, data, split, teacher);
    trainer.distill_from(make_distillation(a, teacher));
  }
  const TrainResult r = trainer.fit(a.output, a.resume);
  const PopularityScorer popularity(split.train, data.num_items());
  const Evaluator test(data, split, EvalTarget::kTest, Protocol::parse(a.config.protocol),
                       parse_metrics(a.config.metrics), g.seed);
  EvalResult pop = test.evaluate(popularity);
  EvalResult mine = r.test;
  mine.scorer = spec.to_string();
  std::cout << "test (" << mine.protocol << ", best epoch " << r.best_epoch << "):\n"
            << results_table({mine, pop});
  nlohmann::ordered_json out;
  out["model"] = spec.to_string();
  out["parameters"] = model->parameter_count();
  out["bytes"] = model->byte_size();
  out["best_epoch"] = r.best_epoch;
  out["epochs_run"] = r.epochs_run;
  out["seconds_per_epoch"] = r.seconds_per_epoch;
  out["samples_per_second"] = r.samples_per_second;
  out["engine"] = r.engine;
  out["config"] = a.config.to_json();
  out["test"] = nlohmann::ordered_json::parse(result_to_json(mine));
  out["best_valid"] = nlohmann::ordered_json::parse(result_to_json(r.best_valid));
  out["popularity_test"] = nlohmann::ordered_json::parse(result_to_json(pop));
  if (teacher) {
    EvalResult t = test.evaluate(TopNScorer(teacher));
    t.scorer = "teacher " + teacher->spec().to_string();
    std::cout << "teacher on the same test:\n" << results_table({t});
    out["teacher"] = a.teachers;
    out["scheme"] = a.scheme;
    out["methods"] = a.methods;
    out["teacher_test"] = nlohmann::ordered_json::parse(result_to_json(t));
    out["teacher_parameters"] = teacher->parameter_count();
  }
  if (!a.output.empty()) {
    write_file_atomic(a.output + "/results.json", out.dump(2) + "\n");
    std::cout << "wrote " << a.output << "/{best.pt,last.pt,history.json,results.json}\n";
  }
  return 0;
}

}  // namespace

nlohmann::json resumed_options(const nlohmann::json& saved, const nlohmann::json& current,
                               const CLI::App& cmd, const GlobalOptions& global) {
  nlohmann::json merged = saved;
  for (const auto& [key, value] : current.items()) {
    bool given = false;
    if (key == "seed") {
      given = global.seed_given;
    } else {
      std::string flag = "--" + key;
      std::replace(flag.begin(), flag.end(), '_', '-');
      const auto* option = cmd.get_option_no_throw(flag);
      given = option != nullptr && option->count() > 0;
    }
    if (given || !merged.contains(key)) merged[key] = value;
  }
  return merged;
}

std::string resumed_model(const nlohmann::json& header, const std::string& asked,
                          const CLI::App& cmd, const std::string& path) {
  const std::string saved = header.value("model", std::string());
  for (const char* flag : {"--model", "--student"}) {
    const auto* option = cmd.get_option_no_throw(flag);
    if (option != nullptr && option->count() > 0 && ModelSpec::parse(asked).to_string() != saved)
      throw DataError(path, 0, "model",
                      "the checkpoint is a " + saved + ", this run asks " + flag + " " + asked +
                          "; resume only the run it came from");
  }
  return saved;
}

namespace {

void add_training_options(CLI::App* cmd, TrainArgs& args) {
  add_data_options(cmd, args.data, false);
  cmd->add_option("--split", args.split,
                  "loo, loo_random, temporal[:train,valid], random[:train,valid]");
  add_train_option_flags(cmd, args.config);
  cmd->add_option("-o,--output", args.output, "run folder for checkpoints and results");
  cmd->add_option("--resume", args.resume, "continue the run saved in this last.pt");
  add_options_file_flag(cmd, args.recipe);
}

}  // namespace

void add_train_command(CLI::App& app, GlobalOptions& global, Action& action) {
  static TrainArgs args;
  auto* cmd =
      app.add_subcommand("train", "train a top-N model with early stopping and checkpoints");
  add_training_options(cmd, args);
  const std::string models = list_entries(topn_models());
  cmd->add_option("--model", args.model, "model spec NAME[:key=value,...]; models:" + models);
  cmd->add_option("--pretrain", args.pretrain,
                  "NeuMF: initialise from GMF.pt,MLP.pt (NCF Sec. 3.4.1)");
  cmd->add_option("--alpha", args.alpha, "NeuMF pre-training head mix (default 0.5)");
  cmd->callback([&action, &global, cmd] {
    action = [&global, cmd] { return run_train(args, global, *cmd); };
  });

  static TrainArgs dargs;
  dargs.model = "mf:dim=8";
  dargs.output = "runs/distill";
  auto* dcmd =
      app.add_subcommand("distill", "train a small student from a trained teacher (offline KD)");
  add_training_options(dcmd, dargs);
  dcmd->add_option("--teacher", dargs.teachers,
                   "the teacher's checkpoint (run/best.pt); repeat for an ensemble of teachers "
                   "(path@weight; without weights their mean); new:SPEC with --scheme online "
                   "for a peer trained from scratch (deep mutual learning)");
  dcmd->add_option("--scheme", dargs.scheme,
                   "offline (frozen teacher), online (mutual learning: the teacher trains too) or "
                   "self (born-again: the student has the teacher's architecture)");
  dcmd->add_option("--generations", dargs.generations, "self: born-again generations (2)");
  dcmd->add_option("--student", dargs.model, "student model spec, e.g. mf:dim=8");
  const std::string methods = list_entries(distillers());
  dcmd->add_option(
      "--method", dargs.methods,
      "method[:key=value,...][@weight], repeatable to combine methods; methods:" + methods);
  dcmd->callback([&action, &global, dcmd] {
    action = [&global, dcmd] { return run_train(dargs, global, *dcmd); };
  });
}

}  // namespace recpress::cli
